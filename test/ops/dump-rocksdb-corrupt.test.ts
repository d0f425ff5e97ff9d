/**
 * `dump` and `state` on RocksDB native state with damaged SST files (a copy of the retained incremental
 * checkpoint fixture, one of its shared SST files truncated or with a flipped byte in a data block): a
 * CorruptSnapshotError naming that file and a byte offset in it, never a crash, a RangeError, a hang or
 * wrong records. (`test/formats/rocksdb/corrupt.test.ts` damages tables and MANIFESTs byte by byte; this
 * is the same through the operations, with the file coming from a snapshot.)
 */

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { CorruptSnapshotError } from "../../src/errors.js";
import { readMetadata } from "../../src/formats/metadata/index.js";
import type { IncrementalRemoteKeyedStateHandle } from "../../src/formats/metadata/model.js";
import { filePointer } from "../../src/formats/metadata/pointers.js";
import { allHandles } from "../../src/formats/metadata/traverse.js";
import { dumpState } from "../../src/ops/dump.js";
import { relocateSnapshot } from "../../src/ops/relocate.js";
import { describeState } from "../../src/ops/state.js";
import { StoreRegistry } from "../../src/storage/registry.js";
import { normalizeUri } from "../../src/storage/uri.js";
import { FIXTURES_ROOT, GENERATED_ROOT, listFixtures } from "../helpers/fixtures.js";

const stores = new StoreRegistry();
const tmp = mkdtempSync(join(tmpdir(), "sk-dump-rocksdb-corrupt-"));
after(async () => {
  await stores.close();
  rmSync(tmp, { recursive: true, force: true });
});

const fixture = listFixtures().find((f) => f.id === "flink-2.3/checkpoint-rocksdb-incremental");

async function drain(dir: string, operator: string, verifyChecksums?: boolean): Promise<number> {
  let n = 0;
  for await (const _ of dumpState(dir, {
    stores,
    operator,
    ...(verifyChecksums === undefined ? {} : { verifyChecksums }),
  })) {
    n++;
  }
  return n;
}

describe("dump of RocksDB native state with damaged SST files", () => {
  /** A fresh copy of the checkpoint (chk-2 and its shared files) per test. */
  let n = 0;
  let dir = "";
  /** The largest shared SST file of word-stats (subtask 1: 5 of the 7 keys) and its uri. */
  let sst = { path: "", uri: "", size: 0 };

  async function freshCopy(): Promise<void> {
    assert.ok(fixture);
    const jobId = fixture.metadataDir.split("/").at(-2) as string;
    dir = join(tmp, `copy-${n++}`, jobId, "chk-2");
    await relocateSnapshot(fixture.metadataDir, dir, {
      stores,
      maps: [{ from: `file:${GENERATED_ROOT}`, to: FIXTURES_ROOT }],
    });
    // the mapped pointers lead into fixtures/: copy the whole thing again, this time with every file
    const copy = join(tmp, `copy-${n++}`, jobId, "chk-2");
    await relocateSnapshot(dir, copy, { stores });
    dir = copy;
    const m = readMetadata(readFileSync(join(dir, "_metadata")));
    sst = { path: "", uri: "", size: 0 };
    for (const v of allHandles(m)) {
      if (v.slot !== "managedKeyedState" || v.operator.uid !== "word-stats") continue;
      const h = v.handle as IncrementalRemoteKeyedStateHandle;
      for (const e of h.sharedState) {
        const p = filePointer(e.handle, normalizeUri(dir));
        if (!p || !e.localPath.endsWith(".sst")) continue;
        const size = Number(p.stateSize);
        if (size > sst.size) sst = { path: fileURLToPath(p.uri), uri: p.uri, size };
      }
    }
    assert.ok(sst.size > 0, "word-stats has a shared SST file");
    assert.ok(sst.path.startsWith(tmp), "the copy's SST file, not the fixture's");
  }

  function corruptIn(uri: string) {
    return (err: unknown) => {
      assert.ok(err instanceof CorruptSnapshotError, `not a CorruptSnapshotError: ${err}`);
      assert.equal(err.uri, uri);
      assert.ok(Number.isInteger(err.offset) && (err.offset as number) >= 0, `offset ${err.offset}`);
      return true;
    };
  }

  it("the undamaged copy dumps", async () => {
    await freshCopy();
    assert.equal(await drain(dir, "word-stats"), 32);
  });

  it("a truncated SST file", async () => {
    await freshCopy();
    truncateSync(sst.path, Math.floor(sst.size / 2));
    await assert.rejects(drain(dir, "word-stats"), corruptIn(sst.uri));
    await assert.rejects(describeState(dir, { stores, operator: "word-stats" }), corruptIn(sst.uri));
    // other operators' state is not in that file
    assert.equal(await drain(dir, "word-windows"), 12);
  });

  it("a bad data block checksum names the file and the block's offset", async () => {
    await freshCopy();
    const bytes = readFileSync(sst.path);
    bytes[8] = (bytes[8] as number) ^ 0xff; // inside the first data block (at offset 0)
    writeFileSync(sst.path, bytes);
    await assert.rejects(drain(dir, "word-stats"), (err: unknown) => {
      corruptIn(sst.uri)(err);
      assert.match((err as Error).message, /checksum/i);
      return true;
    });
    // without checksum verification: a typed error or records, never a crash
    try {
      await drain(dir, "word-stats", false);
    } catch (err) {
      assert.ok(err instanceof CorruptSnapshotError, `not a CorruptSnapshotError: ${err}`);
    }
  });
});
