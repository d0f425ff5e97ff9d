/**
 * The RocksDB writers (`sst-writer.ts`, `log-writer.ts`, `manifest-writer.ts`) against the readers of
 * this library and against real RocksDB: Debian's `sst_dump` and `ldb` (rocksdb-tools) read the tables
 * and open the databases we write. Those checks are skipped, with a message, when the tools are absent.
 */

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { InvalidArgumentError } from "../../../src/errors.js";
import {
  memoryFile,
  type RandomAccessFile,
  RocksDbInstance,
  readLogRecords,
  readManifest,
  SstReader,
  tableFileName,
} from "../../../src/formats/rocksdb/index.js";
import { encodeLog } from "../../../src/formats/rocksdb/log-writer.js";
import {
  currentFileContents,
  encodeManifest,
  type ManifestColumnFamily,
  manifestFileName,
} from "../../../src/formats/rocksdb/manifest-writer.js";
import { encodeSst, type SstCompression, SstWriter } from "../../../src/formats/rocksdb/sst-writer.js";

const scratch = mkdtempSync(join(tmpdir(), "savepoint-rocksdb-writer-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** Whether a RocksDB tool runs here; the reason it does not otherwise. */
function toolMissing(tool: string): string | false {
  const r = spawnSync(tool, ["--help"], { stdio: "ignore" });
  return r.error ? `${tool} (Debian rocksdb-tools) is not installed: real RocksDB checks skipped` : false;
}
const noSstDump = toolMissing("sst_dump");
const noLdb = toolMissing("ldb");

function run(tool: string, args: string[]): string {
  const r = spawnSync(tool, args, { encoding: "utf8", maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `${tool} ${args.join(" ")}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** A deterministic pseudo-random generator (xorshift32). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

/** `n` distinct keys, sorted bytewise, with prefix relations (`k`, `k\0`, `k\0\0`) and random bytes. */
function sortedEntries(n: number, seed: number): [Uint8Array, Uint8Array][] {
  const r = rng(seed);
  const keys = new Map<string, Uint8Array>();
  while (keys.size < n) {
    const len = 1 + Math.floor(r() * 24);
    const k = Uint8Array.from({ length: len }, () => (r() < 0.3 ? 0 : Math.floor(r() * 256)));
    keys.set(Buffer.from(k).toString("hex"), k);
    if (keys.size < n && r() < 0.2) {
      const ext = new Uint8Array(len + 1);
      ext.set(k);
      keys.set(Buffer.from(ext).toString("hex"), ext);
    }
  }
  const sorted = [...keys.values()].sort((a, b) => Buffer.compare(a, b));
  return sorted.map((k, i) => {
    const vlen = Math.floor(r() * (i % 50 === 0 ? 9000 : 60));
    const v = Uint8Array.from({ length: vlen }, (_, j) =>
      j % 7 === 0 ? Math.floor(r() * 256) : 0x61 + (j % 3),
    );
    return [k, v];
  });
}

async function readAll(file: RandomAccessFile): Promise<[string, string][]> {
  const t = await SstReader.open(file);
  const out: [string, string][] = [];
  for await (const e of t.entries()) {
    assert.equal(e.sequence, 0n);
    assert.equal(e.type, 1);
    out.push([Buffer.from(e.userKey).toString("hex"), Buffer.from(e.value).toString("hex")]);
  }
  return out;
}

const hex = (entries: [Uint8Array, Uint8Array][]) =>
  entries.map(([k, v]) => [Buffer.from(k).toString("hex"), Buffer.from(v).toString("hex")]);

describe("SstWriter", () => {
  for (const compression of ["none", "snappy"] as SstCompression[]) {
    for (const [n, blockSize] of [
      [1, 4096],
      [3000, 4096],
      [500, 64],
    ] as const) {
      it(`${n} entries, ${compression}, ${blockSize}-byte blocks: our reader and sst_dump read them back`, async () => {
        const entries = sortedEntries(n, n * 31 + blockSize);
        const { bytes, info } = encodeSst(entries, {
          columnFamilyId: 3,
          columnFamilyName: "word-count",
          mergeOperator: "StringAppendTESTOperator",
          compression,
          blockSize,
        });
        assert.equal(info.size, bytes.byteLength);
        assert.equal(info.entries, n);
        assert.deepEqual(info.smallestKey, entries[0]?.[0]);
        assert.deepEqual(info.largestKey, entries[n - 1]?.[0]);
        const file = memoryFile(bytes, "inline:test.sst");
        const t = await SstReader.open(file);
        assert.equal(t.formatVersion, 5);
        assert.equal(t.checksumName, "kCRC32c");
        assert.equal(t.properties.numEntries, n);
        assert.equal(t.properties.numDataBlocks, info.dataBlocks);
        assert.equal(t.properties.columnFamilyId, 3);
        assert.equal(t.properties.columnFamilyName, "word-count");
        assert.equal(t.properties.comparator, "leveldb.BytewiseComparator");
        assert.equal(t.properties.mergeOperator, "StringAppendTESTOperator");
        assert.equal(t.properties.compression, compression === "snappy" ? "Snappy" : "NoCompression");
        assert.ok(t.properties.indexKeyIsUserKey && t.properties.indexValueIsDeltaEncoded);
        if (blockSize === 64 && n > 1) assert.ok(info.dataBlocks > n / 4, "small blocks: many data blocks");
        assert.deepEqual(await readAll(file), hex(entries));
        // a range read: binary search in the index
        if (n > 10) {
          const from = entries[Math.floor(n / 2)]?.[0] as Uint8Array;
          const got: string[] = [];
          for await (const e of t.entries({ from })) got.push(Buffer.from(e.userKey).toString("hex"));
          assert.deepEqual(
            got,
            entries.slice(Math.floor(n / 2)).map(([k]) => Buffer.from(k).toString("hex")),
          );
        }
        if (noSstDump) return;
        const path = join(scratch, `t-${compression}-${n}-${blockSize}.sst`);
        writeFileSync(path, bytes);
        assert.match(run("sst_dump", [`--file=${path}`, "--command=verify"]), /The file is ok/);
        const scan = run("sst_dump", [`--file=${path}`, "--command=scan", "--output_hex"])
          .split("\n")
          .filter((l) => l.includes(" => "));
        assert.equal(scan.length, n);
        // sst_dump prints `'<key hex>' seq:0, type:1 => <value hex>`
        const want = hex(entries);
        scan.forEach((line, i) => {
          const m = /^'([0-9A-F]*)' seq:(\d+), type:(\d+) => ([0-9A-F]*)$/.exec(line);
          assert.ok(m, line);
          const [k, v] = (want[i] as string[]).map((s) => s.toUpperCase());
          assert.deepEqual([m[1], m[2], m[3], m[4]], [k, "0", "1", v]);
        });
      });
    }
  }

  it("writes an empty table that both readers accept", async () => {
    const { bytes, info } = encodeSst([], { columnFamilyId: 0, columnFamilyName: "default" });
    assert.equal(info.entries, 0);
    assert.equal(info.smallestKey, null);
    assert.deepEqual(await readAll(memoryFile(bytes)), []);
    if (noSstDump) return;
    const path = join(scratch, "empty.sst");
    writeFileSync(path, bytes);
    assert.match(run("sst_dump", [`--file=${path}`, "--command=verify"]), /The file is ok/);
  });

  it("refuses keys out of order or repeated", () => {
    const w = new SstWriter({ columnFamilyId: 1, columnFamilyName: "x" });
    w.add(Uint8Array.of(1, 2), Uint8Array.of());
    assert.throws(() => w.add(Uint8Array.of(1, 2), Uint8Array.of()), InvalidArgumentError);
    assert.throws(() => w.add(Uint8Array.of(1), Uint8Array.of()), InvalidArgumentError);
    w.add(Uint8Array.of(1, 2, 0), Uint8Array.of());
    w.finish();
    assert.throws(() => w.add(Uint8Array.of(9), Uint8Array.of()), InvalidArgumentError);
  });
});

describe("LogWriter", () => {
  it("fragments records across 32 KiB blocks as the reader expects", () => {
    const r = rng(7);
    // sizes that hit block ends exactly, leave < 7 bytes, and span several blocks
    const sizes = [0, 1, 32768 - 7 - 1 - 7, 3, 32761, 100000, 5, 32768 * 2, 17];
    const records = sizes.map((n) => Uint8Array.from({ length: n }, () => Math.floor(r() * 256)));
    const log = encodeLog(records);
    const back = readLogRecords(log, { uri: "inline:log" });
    assert.equal(back.length, records.length);
    for (const [i, b] of back.entries()) assert.deepEqual(b.payload, records[i]);
  });
});

/** Writes a database of column families (name -> sorted entries) into `dir`; returns its files. */
function writeDatabase(
  dir: string,
  families: [string, [Uint8Array, Uint8Array][]][],
): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  const cfs: ManifestColumnFamily[] = [{ id: 0, name: "default", files: [] }];
  let number = 10;
  for (const [i, [name, entries]] of families.entries()) {
    const id = i + 1;
    const cf: ManifestColumnFamily = { id, name, files: [] };
    // two tables per family when it has entries, split in the middle: non-overlapping at L6
    const half = Math.ceil(entries.length / 2);
    for (const part of entries.length > 1 ? [entries.slice(0, half), entries.slice(half)] : [entries]) {
      if (part.length === 0) continue;
      const { bytes, info } = encodeSst(part, {
        columnFamilyId: id,
        columnFamilyName: name,
        compression: "snappy",
      });
      files.set(tableFileName(number), bytes);
      cf.files.push({
        level: 6,
        number,
        fileSize: info.size,
        smallest: { userKey: info.smallestKey as Uint8Array, sequence: 0n, type: 1 },
        largest: { userKey: info.largestKey as Uint8Array, sequence: 0n, type: 1 },
        smallestSeqno: 0n,
        largestSeqno: 0n,
      });
      number++;
    }
    cfs.push(cf);
  }
  const manifest = manifestFileName(2);
  files.set(manifest, encodeManifest(cfs, { nextFileNumber: BigInt(number) }));
  files.set("CURRENT", currentFileContents(manifest));
  mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of files) writeFileSync(join(dir, name), bytes);
  return files;
}

describe("MANIFEST writer", () => {
  const families: [string, [Uint8Array, Uint8Array][]][] = [
    ["word-count", sortedEntries(2000, 1)],
    ["_timer_state/event_user-timers", sortedEntries(3, 2)],
    ["empty-state", []],
    ["bucket-counts", sortedEntries(1, 3)],
  ];
  const dir = join(scratch, "db");
  const files = writeDatabase(dir, families);

  it("replays to the column families and files written; the instance reads every entry", async () => {
    const m = readManifest(files.get("MANIFEST-000002") as Uint8Array, { uri: "inline:MANIFEST-000002" });
    assert.deepEqual(
      m.columnFamilies.map((c) => [c.id, c.name, c.comparator]),
      [
        [0, "default", "leveldb.BytewiseComparator"],
        ...families.map(([n], i) => [i + 1, n, "leveldb.BytewiseComparator"]),
      ],
    );
    assert.equal(m.lastSequence, 0n);
    assert.equal(m.maxColumnFamily, families.length);
    assert.equal(m.nextFileNumber, 15n);
    const db = await RocksDbInstance.open(new Map([...files].map(([n, b]) => [n, memoryFile(b, n)])));
    for (const [name, entries] of families) {
      const cf = db.columnFamily(name);
      assert.ok(cf);
      assert.equal(cf.levels[6]?.length ?? 0, entries.length > 1 ? 2 : entries.length);
      const got: [string, string][] = [];
      for await (const e of db.entries(name)) {
        got.push([Buffer.from(e.key).toString("hex"), Buffer.from(e.value).toString("hex")]);
      }
      assert.deepEqual(got, hex(entries));
    }
  });

  it("ldb opens the database, scans every column family, finds keys by lookup, checks consistency", {
    skip: noLdb,
  }, () => {
    // ldb writes into the database it opens: work on a copy
    const copy = join(scratch, "db-ldb");
    cpSync(dir, copy, { recursive: true });
    const listed = run("ldb", [`--db=${copy}`, "list_column_families"]);
    for (const [name] of families) assert.ok(listed.includes(name), listed);
    for (const [name, entries] of families) {
      const out = run("ldb", [`--db=${copy}`, `--column_family=${name}`, "--hex", "scan"])
        .split("\n")
        .filter((l) => l.startsWith("0x"));
      assert.deepEqual(
        out,
        hex(entries).map(([k, v]) => `0x${(k as string).toUpperCase()} : 0x${(v as string).toUpperCase()}`),
      );
    }
    // point lookups go through the index (2000 entries: many data blocks); a missing key is not found
    const [name, entries] = families[0] as [string, [Uint8Array, Uint8Array][]];
    for (const i of [0, 1, 777, 1999]) {
      const [k, v] = hex(entries)[i] as string[];
      const got = run("ldb", [`--db=${copy}`, `--column_family=${name}`, "--hex", "get", `0x${k}`]).trim();
      assert.equal(got, `0x${(v as string).toUpperCase()}`);
    }
    const missing = spawnSync(
      "ldb",
      [`--db=${copy}`, `--column_family=${name}`, "--hex", "get", "0xFFFFFFFFFFFFFFFFFFFFFFFFFFFF"],
      {
        encoding: "utf8",
      },
    );
    assert.match(`${missing.stdout}${missing.stderr}`, /NotFound/);
    assert.match(run("ldb", [`--db=${copy}`, "checkconsistency"]), /OK/);
  });
});
