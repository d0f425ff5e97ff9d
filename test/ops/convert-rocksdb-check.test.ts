/**
 * `writeRocksDbSubtask` (the RocksDB target of `convert`): the check of the written instance
 * (`checkInstance`: MANIFEST, table properties and index, first and last data blocks, read through the
 * store) finds tables that the store keeps with other bytes than written, at the head or at the tail of
 * a table, which is what the full re-read used to catch there; tables streamed into a local target are
 * removed when the records fail part way.
 */

import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { CorruptSnapshotError } from "../../src/errors.js";
import type { KeyGroupsStateHandle } from "../../src/formats/metadata/model.js";
import { readCanonicalRecords } from "../../src/formats/state/canonical-records.js";
import type { CanonicalRecord } from "../../src/formats/state/canonical-writer.js";
import { readKeyedHeader } from "../../src/formats/state/keyed.js";
import { memoryStateFile } from "../../src/formats/state/stream.js";
import { writeRocksDbSubtask } from "../../src/ops/convert-rocksdb.js";
import { LocalStore } from "../../src/storage/local.js";
import { StoreRegistry } from "../../src/storage/registry.js";
import type { WriteOptions } from "../../src/storage/store.js";
import { normalizeUri } from "../../src/storage/uri.js";
import { canonicalKeyedFiles } from "../formats/state/helpers.js";

const tmp = mkdtempSync(join(tmpdir(), "sk-convert-rocksdb-check-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A local store that flips one byte of every streamed write (the table files) at `at(size)`. */
class FlippingStore extends LocalStore {
  constructor(private readonly at: (size: number) => number) {
    super();
  }

  override async write(
    uri: string,
    source: Uint8Array | AsyncIterable<Uint8Array>,
    options?: WriteOptions,
  ): Promise<number> {
    if (source instanceof Uint8Array) return super.write(uri, source, options);
    const parts: Uint8Array[] = [];
    for await (const p of source) parts.push(p.slice());
    const bytes = new Uint8Array(Buffer.concat(parts));
    const i = this.at(bytes.byteLength);
    bytes[i] = (bytes[i] as number) ^ 0x01;
    return super.write(uri, bytes, options);
  }
}

/** The records and header of the biggest keyed subtask of Flink 2.3's canonical RocksDB savepoint. */
async function source() {
  const f = (await canonicalKeyedFiles())
    .filter((x) => x.fixture.id === "flink-2.3/savepoint-canonical-rocksdb")
    .sort((a, b) => b.bytes.byteLength - a.bytes.byteLength)[0];
  assert.ok(f);
  const file = memoryStateFile(f.bytes, `file:///${f.id}`);
  const { header } = await readKeyedHeader(file);
  const handle = f.handle as KeyGroupsStateHandle;
  const records: CanonicalRecord[] = [];
  for await (const b of readCanonicalRecords(file, handle, header)) records.push(...b);
  assert.ok(records.length > 0);
  return { header, handle, records, maxParallelism: f.operator.maxParallelism };
}

async function* batches(rs: CanonicalRecord[], failAfter?: number): AsyncGenerator<CanonicalRecord[]> {
  for (let i = 0; i < rs.length; i += 3) {
    if (failAfter !== undefined && i >= failAfter) {
      throw new CorruptSnapshotError("the source broke", { uri: "file:///src", offset: 7 });
    }
    yield rs.slice(i, i + 3);
  }
}

/** The options of a Snappy-compressed write of `src` into directory `dir`. */
function options(src: Awaited<ReturnType<typeof source>>, dir: string, stores: StoreRegistry) {
  return {
    header: src.header,
    keyGroupRange: src.handle.keyGroupRange,
    maxParallelism: src.maxParallelism,
    checkpointId: 1n,
    targetDir: normalizeUri(dir),
    stores,
    compression: "snappy" as const,
    spoolDirectory: tmp,
  };
}

describe("writeRocksDbSubtask: the check of the written instance", () => {
  it("passes a faithful store, finds a flipped byte at a table's head or tail", async () => {
    const src = await source();
    let n = 0;
    const run = (store: LocalStore, verify = true) => {
      const dir = join(tmp, `t${n++}`);
      const stores = new StoreRegistry();
      stores.register(["file"], () => store);
      return writeRocksDbSubtask(batches(src.records), { ...options(src, dir, stores), verify });
    };
    const ok = await run(new LocalStore());
    assert.equal(ok.records, src.records.length);
    assert.ok(ok.tables > 0);
    // Byte 0 lies in the first data block; size - 1 in the footer's magic number.
    for (const at of [() => 0, (size: number) => size - 1]) {
      await assert.rejects(run(new FlippingStore(at)), CorruptSnapshotError);
      // Without the check, the damage goes unnoticed here: it is the check that finds it.
      const unchecked = await run(new FlippingStore(at), false);
      assert.equal(unchecked.records, src.records.length);
    }
  });

  it("removes the tables it streamed into a local target when the records fail part way", async () => {
    const src = await source();
    const dir = join(tmp, "failing");
    const stores = new StoreRegistry();
    await assert.rejects(
      writeRocksDbSubtask(
        batches(src.records, Math.floor(src.records.length / 2)),
        options(src, dir, stores),
      ),
      (e: unknown) => e instanceof CorruptSnapshotError && /the source broke/.test(e.message),
    );
    let left: string[] = [];
    try {
      left = readdirSync(dir);
    } catch {
      // never created: nothing left either
    }
    assert.deepEqual(left, []);
    await stores.close();
  });

  it("closes the spooled tables' files when the records fail part way (a target that is not local)", async () => {
    // Local files, but declared under another scheme: the subtask spools its tables, as for S3 or HDFS.
    class SpoolingStore extends LocalStore {
      override readonly schemes = ["x-remote"] as unknown as readonly ["file"];
    }
    const src = await source();
    const stores = new StoreRegistry();
    stores.register(["file"], () => new SpoolingStore());
    const openFiles = () => readdirSync("/proc/self/fd").length;
    const before = openFiles();
    await assert.rejects(
      writeRocksDbSubtask(
        batches(src.records, Math.floor(src.records.length / 2)),
        options(src, join(tmp, "spooled"), stores),
      ),
      (e: unknown) => e instanceof CorruptSnapshotError && /the source broke/.test(e.message),
    );
    assert.equal(openFiles(), before, "a spooled table's file handle was left open");
    await stores.close();
  });

  it("streams runs in key order; a streamed run out of order is written again from a fresh read", async () => {
    const src = await source();
    // One long run (key group and state of the source's first record), in key order, then the same
    // with one record moved to the run's end: in order for more than the bound, then not.
    const first = src.records[0] as CanonicalRecord;
    const prefix = src.maxParallelism > 128 ? 2 : 1;
    const run: CanonicalRecord[] = [];
    for (let i = 0; i < 300; i++) {
      const key = new Uint8Array([
        ...first.key.subarray(0, prefix),
        ...new TextEncoder().encode(`k${1000 + i}`),
      ]);
      run.push({ keyGroup: first.keyGroup, stateId: first.stateId, key, value: new Uint8Array(40).fill(i) });
    }
    const rest = src.records.filter((r) => r.keyGroup !== first.keyGroup);
    const ordered = [...run, ...rest];
    const records = [...run.slice(0, 200), ...run.slice(201), run[200] as CanonicalRecord, ...rest];
    const bound = 50 * (run[0] as CanonicalRecord).key.byteLength + 50 * 40;
    const outcome = async (recs: CanonicalRecord[], name: string) => {
      const dir = join(tmp, name);
      let reads = 0;
      const stores = new StoreRegistry();
      const r = await writeRocksDbSubtask(
        () => {
          reads++;
          return batches(recs);
        },
        { ...options(src, dir, stores), streamRunsAfterBytes: Math.max(1, bound) },
      );
      // Only the files of the handle are left in the target directory.
      const names = r.handle.privateState.map((p) => (p.handle as { relativePath: string }).relativePath);
      const meta = (r.handle.metaStateHandle as { relativePath: string }).relativePath;
      assert.deepEqual(readdirSync(dir).sort(), [...names, meta].sort());
      await stores.close();
      return { r, reads };
    };
    const inOrder = await outcome(ordered, "streamed");
    assert.equal(inOrder.reads, 1);
    assert.equal(inOrder.r.records, ordered.length);
    const again = await outcome(records, "streamed-again");
    assert.equal(again.reads, 2);
    assert.equal(again.r.records, ordered.length);
    assert.equal(again.r.bytes, inOrder.r.bytes);
  });
});
