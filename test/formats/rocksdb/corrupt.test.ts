/**
 * Damaged RocksDB files give typed errors (CorruptSnapshotError with the file, the byte offset
 * and the structure; UnsupportedVersionError; NotFoundError), never a crash, a RangeError or a hang.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CorruptSnapshotError, NotFoundError, SavepointKitError } from "../../../src/errors.js";
import {
  type BlockHandle,
  memoryFile,
  type RandomAccessFile,
  RocksDbInstance,
  readManifest,
  SstReader,
} from "../../../src/formats/rocksdb/index.js";
import { dataBytes, dataDirFiles, mutate } from "./helpers.js";

async function readAll(bytes: Uint8Array, verifyChecksums = true): Promise<number> {
  const t = await SstReader.open(memoryFile(bytes, "test.sst"), { verifyChecksums });
  let n = 0;
  for await (const _ of t.entries()) n++;
  n += (await t.rangeTombstones()).length;
  return n;
}

function isCorrupt(path: RegExp, message: RegExp, offset?: number) {
  return (err: unknown) => {
    assert.ok(err instanceof CorruptSnapshotError, `not a CorruptSnapshotError: ${err}`);
    assert.equal(err.uri, "test.sst");
    assert.match(err.path ?? "", path);
    assert.match(err.message, message);
    if (offset !== undefined) assert.equal(err.offset, offset);
    return true;
  };
}

describe("corrupt SST files", () => {
  const good = dataBytes("tables/v5-xxh3-zstd.sst");
  const size = good.byteLength;

  it("a file too short for a footer", async () => {
    await assert.rejects(readAll(good.subarray(0, 30)), isCorrupt(/sst footer/, /too short/, 0));
  });

  it("a truncated file: the magic number is not at the end", async () => {
    await assert.rejects(
      readAll(good.subarray(0, size - 3)),
      isCorrupt(/sst footer/, /bad table magic/, size - 11),
    );
    await assert.rejects(readAll(good.subarray(0, size / 2)), isCorrupt(/sst footer/, /bad table magic/));
  });

  it("a bad magic number", async () => {
    const bad = mutate(good, (b) => {
      b[size - 1] = 0x12;
    });
    await assert.rejects(readAll(bad), isCorrupt(/sst footer/, /bad table magic/, size - 8));
  });

  it("a bad data block checksum names the block and its trailer", async () => {
    const t = await SstReader.open(memoryFile(good, "test.sst"));
    let first = { offset: 0, size: 0 };
    for await (const h of t.dataBlockHandles()) {
      first = h;
      break;
    }
    const bad = mutate(good, (b) => {
      b[first.offset + 3] = (b[first.offset + 3] as number) ^ 0x40;
    });
    await assert.rejects(
      readAll(bad),
      isCorrupt(/data block at 0/, /block checksum mismatch \(kXXH3\)/, first.offset + first.size + 1),
    );
  });

  it("a bad checksum in the properties block fails at open", async () => {
    const t = await SstReader.open(memoryFile(good, "test.sst"));
    const props = t.metaindex.get("rocksdb.properties");
    assert.ok(props);
    const bad = mutate(good, (b) => {
      b[props.offset + 5] = (b[props.offset + 5] as number) ^ 1;
    });
    await assert.rejects(
      SstReader.open(memoryFile(bad, "test.sst")),
      isCorrupt(/properties block/, /checksum/),
    );
  });

  it("format_version 6: a damaged footer checksum, a block moved to another offset", async () => {
    const v6 = dataBytes("tables/v6-xxh3-lz4.sst");
    const n = v6.byteLength;
    // The footer starts 53 bytes before the end; its checksum is at +5.
    const badFooter = mutate(v6, (b) => {
      b[n - 53 + 6] = (b[n - 53 + 6] as number) ^ 1;
    });
    await assert.rejects(readAll(badFooter), isCorrupt(/sst footer/, /footer checksum mismatch/, n - 53 + 5));
    // Two data blocks of one size swapped: each block's own checksum still matches its bytes, but
    // the context (offset) modifier of format_version 6 catches a block at another offset.
    const t = await SstReader.open(memoryFile(v6, "test.sst"));
    const handles: BlockHandle[] = [];
    for await (const h of t.dataBlockHandles()) handles.push(h);
    const a = handles.find((h, i) => handles.some((o, j) => j > i && o.size === h.size));
    const b = handles.find((o) => a && o !== a && o.size === a.size);
    assert.ok(a && b, "two data blocks of one size");
    const swapped = mutate(v6, (x) => {
      const first = v6.slice(a.offset, a.offset + a.size + 5);
      x.set(v6.subarray(b.offset, b.offset + b.size + 5), a.offset);
      x.set(first, b.offset);
    });
    await assert.rejects(
      readAll(swapped),
      isCorrupt(new RegExp(`data block at ${a.offset}`), /block checksum mismatch \(kXXH3\)/),
    );
  });

  it("a CRC32c checksum mismatch shows unmasked CRCs", async () => {
    const v0 = dataBytes("tables/v0-crc32c-snappy.sst");
    const bad = mutate(v0, (b) => {
      b[10] = (b[10] as number) ^ 0xff;
    });
    await assert.rejects(readAll(bad), isCorrupt(/data block at 0/, /kCRC32c/));
  });

  it("damaged bytes anywhere, checked or not: a typed error or a result, never a crash", async () => {
    const files = [
      dataBytes("tables/v5-xxh3-zstd.sst"),
      dataBytes("tables/v0-crc32c-snappy.sst"),
      dataBytes("tables/v3-xxhash64-lz4.sst"),
      dataBytes("tables/v2-xxhash-zlib.sst"),
      dataBytes("tables/v5-xxh3-zstd-partitioned.sst"),
      dataBytes("tables/v5-crc32c-snappy-rangedel.sst"),
      dataBytes("tables/v6-crc32c-zstd.sst"),
    ];
    let typed = 0;
    let read = 0;
    for (const f of files) {
      const stride = Math.max(1, Math.floor(f.byteLength / 97));
      for (let at = 0; at < f.byteLength; at += stride) {
        for (const verify of [true, false]) {
          const bad = mutate(f, (b) => {
            b[at] = (b[at] as number) ^ (0x5a + (at % 7));
          });
          try {
            await readAll(bad, verify);
            read++;
          } catch (err) {
            assert.ok(
              err instanceof SavepointKitError,
              `byte ${at} (verify ${verify}): ${(err as Error).stack}`,
            );
            typed++;
          }
        }
      }
      for (const cut of [1, 7, 53, 100, f.byteLength >> 1, f.byteLength - 1]) {
        await assert.rejects(readAll(f.subarray(0, f.byteLength - cut)), SavepointKitError);
      }
    }
    assert.ok(typed > 500, `${typed} typed errors, ${read} reads`);
  });
});

describe("corrupt MANIFEST, CURRENT and database files", () => {
  const manifest = dataBytes("lsm/MANIFEST-000073");

  it("a bad record CRC", () => {
    const bad = mutate(manifest, (b) => {
      b[20] = (b[20] as number) ^ 1;
    });
    assert.throws(
      () => readManifest(bad, { uri: "MANIFEST-000073" }),
      (err: unknown) => {
        assert.ok(err instanceof CorruptSnapshotError);
        assert.equal(err.uri, "MANIFEST-000073");
        assert.equal(err.offset, 0);
        assert.match(err.path ?? "", /manifest record/);
        assert.match(err.message, /record checksum mismatch/);
        return true;
      },
    );
  });

  it("a truncated MANIFEST", () => {
    for (const cut of [1, 5, 100, 40000]) {
      assert.throws(
        () => readManifest(manifest.subarray(0, manifest.byteLength - cut), { uri: "M" }),
        CorruptSnapshotError,
        `cut ${cut}`,
      );
    }
  });

  it("damaged bytes anywhere, with or without CRC checks: typed errors only", () => {
    let typed = 0;
    for (let at = 0; at < manifest.byteLength; at += 211) {
      for (const verifyChecksums of [true, false]) {
        const bad = mutate(manifest, (b) => {
          b[at] = (b[at] as number) ^ 0x81;
        });
        try {
          readManifest(bad, { uri: "M" }, { verifyChecksums });
        } catch (err) {
          assert.ok(err instanceof SavepointKitError, `byte ${at}: ${(err as Error).stack}`);
          typed++;
        }
      }
    }
    assert.ok(typed > 300);
  });

  it("a database whose CURRENT, MANIFEST or table is missing or of the wrong size", async () => {
    const files = dataDirFiles("lsm");
    const without = (name: string) => new Map([...files].filter(([n]) => n !== name));
    await assert.rejects(RocksDbInstance.open(without("CURRENT")), NotFoundError);
    await assert.rejects(RocksDbInstance.open(without("MANIFEST-000073")), NotFoundError);
    const db = await RocksDbInstance.open(without("000022.sst"));
    await assert.rejects(
      (async () => {
        for await (const _ of db.entries("values"));
      })(),
      NotFoundError,
    );
    const short = new Map(files);
    const f = files.get("000022.sst") as RandomAccessFile;
    short.set("000022.sst", { ...f, size: f.size - 1, read: f.read });
    const db2 = await RocksDbInstance.open(short);
    await assert.rejects(
      (async () => {
        for await (const _ of db2.entries("values"));
      })(),
      /MANIFEST says/,
    );
    const badCurrent = new Map(files);
    badCurrent.set("CURRENT", memoryFile(new TextEncoder().encode("garbage"), "CURRENT"));
    await assert.rejects(RocksDbInstance.open(badCurrent), CorruptSnapshotError);
  });
});
