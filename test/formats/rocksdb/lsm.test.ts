/**
 * The merged view of column families: on the checkpoint of a RocksDB 7.8.3 database with L0..L3
 * files, overwrites, deletes, single deletes, range deletions and stringappendtest merges
 * (`data/lsm`), compared with what RocksDB's own iterator returned (`data/lsm.json`).
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { UnsupportedVersionError } from "../../../src/errors.js";
import { READ_AHEAD_CHUNK } from "../../../src/formats/rocksdb/block-io.js";
import {
  type KeyValue,
  mergeOperatorByName,
  RocksDbInstance,
  StringAppendOperator,
} from "../../../src/formats/rocksdb/index.js";
import {
  type LsmRun,
  MIN_READ_AHEAD_CHUNK,
  runReadAheadChunk,
  runReadAheadChunks,
  sortedRunCount,
} from "../../../src/formats/rocksdb/lsm.js";
import { abbreviateKey, dataDirFiles, dataJson } from "./helpers.js";

const expected = dataJson("lsm.json");
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const enc = (s: string) => new TextEncoder().encode(s);

async function collect(it: AsyncIterable<KeyValue>): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for await (const kv of it) out.push([abbreviateKey(kv.key), hex(kv.value)]);
  return out;
}

describe("merged column families (lsm/)", () => {
  it("every column family equals RocksDB's iterator", async () => {
    const db = await RocksDbInstance.open(dataDirFiles("lsm"), { label: "lsm" });
    const counts: Record<string, number> = {};
    for (const cf of db.columnFamilies()) {
      const want = expected.columnFamilies.find((c: any) => c.name === cf.name);
      const got = await collect(db.entries(cf.name));
      assert.deepEqual(got, want.merged, cf.name);
      counts[cf.name] = got.length;
    }
    assert.deepEqual(counts, { default: 1, values: 161, lists: 36, partitioned: 400, "long-keys": 24 });
  });

  it("the cases of the values family: overwrite, delete, single delete, range delete, merges", async () => {
    const db = await RocksDbInstance.open(dataDirFiles("lsm"));
    const m = new Map<string, string>();
    for await (const kv of db.entries("values"))
      m.set(Buffer.from(kv.key).toString(), Buffer.from(kv.value).toString());
    assert.deepEqual(
      db.columnFamily("values")?.levels.map((l) => l.length),
      [3, 1, 1],
    );
    assert.equal(m.get("k00000"), "v2-0"); // L1 over L2
    assert.equal(m.get("k00001"), "v5-after-reopen"); // L0 over L1
    assert.equal(m.get("k00005"), "v4"); // L0 over L1 over L2
    assert.equal(m.has("k00055"), false); // delete
    assert.equal(m.has("k00065"), false); // single delete
    assert.equal(m.has("k00105"), false); // range delete [k00100, k00120)
    assert.equal(m.get("k00110"), "v3-after-range"); // written after the range delete
    assert.equal(m.has("k00150"), false); // range delete [k00150, k00151)
    assert.equal(m.get("k00151"), "v1-151");
    assert.equal(m.get("k00130"), "v1-130,m1,m2"); // merges on a put
    assert.equal(m.get("k00131"), "x"); // merge after a delete
    assert.equal(m.get("k00300"), "a,b,c"); // merges only, over two files
  });

  it("key ranges and batch sizes give slices of the same view", async () => {
    const db = await RocksDbInstance.open(dataDirFiles("lsm"));
    const full = expected.columnFamilies.find((c: any) => c.name === "partitioned").merged as [
      string,
      string,
    ][];
    const from = enc("p00100");
    const to = enc("p00200");
    const part = await collect(db.entries("partitioned", { from, to, batchSize: 7 }));
    assert.deepEqual(
      part,
      full.filter(([k]) => k >= hex(from) && k < hex(to)),
    );
    assert.equal(part.length, 100);
    const values = expected.columnFamilies.find((c: any) => c.name === "values").merged as [string, string][];
    assert.deepEqual(
      await collect(db.entries("values", { from: enc("k00100"), to: enc("k00200"), batchSize: 1 })),
      values.filter(([k]) => k >= hex(enc("k00100")) && k < hex(enc("k00200"))),
    );
  });

  it("a merge's read-ahead is shared by its runs in proportion to their sizes, within the chunk limits", () => {
    const run = (bytes?: number): LsmRun => ({
      label: "r",
      files: [],
      ...(bytes === undefined ? {} : { bytes }),
    });
    const budget = 8 * 1024 * 1024;
    // a bottom level of 300 MB and 28 level-0 files of 6 MB: the bottom level reads 1 MiB at a time
    const runs = [run(300e6), ...Array.from({ length: 28 }, () => run(6e6))];
    const chunks = runReadAheadChunks(runs, budget);
    assert.equal(chunks[0], READ_AHEAD_CHUNK);
    const small = Math.floor((budget * 6e6) / (2 * (300e6 + 28 * 6e6)));
    assert.deepEqual(chunks.slice(1), Array(28).fill(Math.max(MIN_READ_AHEAD_CHUNK, small)));
    assert.ok(2 * chunks.reduce((n, c) => n + c, 0) <= budget + 2 * 28 * MIN_READ_AHEAD_CHUNK);
    // equal runs: the even share; a run of unknown size: the even share for all
    assert.deepEqual(
      runReadAheadChunks([run(5e6), run(5e6), run(5e6)], 3 * 2 * 100_000),
      [100_000, 100_000, 100_000],
    );
    assert.deepEqual(runReadAheadChunks([run(9e6), run()], budget), [
      runReadAheadChunk(2, budget),
      runReadAheadChunk(2, budget),
    ]);
    assert.deepEqual(runReadAheadChunks([run(0), run(0)], budget), [READ_AHEAD_CHUNK, READ_AHEAD_CHUNK]);
  });

  it("a merge's read-ahead is shared by its runs: the chunk shrinks with more runs, the view stays", async () => {
    assert.equal(runReadAheadChunk(1), READ_AHEAD_CHUNK);
    assert.equal(runReadAheadChunk(4), READ_AHEAD_CHUNK);
    assert.equal(runReadAheadChunk(29), Math.floor((8 * 1024 * 1024) / 58));
    assert.equal(runReadAheadChunk(10_000), MIN_READ_AHEAD_CHUNK);
    assert.equal(runReadAheadChunk(3, 3 * 2 * 100_000), 100_000);
    const db = await RocksDbInstance.open(dataDirFiles("lsm"));
    const levels = db.columnFamily("values")?.levels ?? [];
    assert.equal(sortedRunCount(levels), 5); // three level-0 files, L1, L2
    for (const cf of ["values", "partitioned"]) {
      const want = expected.columnFamilies.find((c: any) => c.name === cf).merged;
      // the smallest chunks (64 KiB, blocks straddling chunks) read the same entries
      assert.deepEqual(await collect(db.entries(cf, { readAheadBytes: 1 })), want, cf);
    }
  });

  it("merge operands without a merge operator are refused", async () => {
    const db = await RocksDbInstance.open(dataDirFiles("lsm"));
    await assert.rejects(collect(db.entries("lists", { mergeOperator: null })), UnsupportedVersionError);
  });
});

describe("StringAppendTESTOperator", () => {
  const op = new StringAppendOperator();
  const s = (b: Uint8Array) => Buffer.from(b).toString();
  it("joins the base and the operands with ',' (0x2C), oldest first; one operand alone is itself", () => {
    assert.equal(op.name, "StringAppendTESTOperator");
    assert.equal(s(op.fullMerge(enc("k"), null, [enc("a")])), "a");
    assert.equal(s(op.fullMerge(enc("k"), null, [enc("a"), enc("b"), enc("c")])), "a,b,c");
    assert.equal(s(op.fullMerge(enc("k"), enc("x"), [enc("a")])), "x,a");
    assert.equal(s(op.fullMerge(enc("k"), enc(""), [enc("a")])), ",a");
    assert.deepEqual([...op.fullMerge(enc("k"), null, [Uint8Array.of(1), Uint8Array.of(2)])], [1, 0x2c, 2]);
  });
  it("is found by the names RocksDB records", () => {
    for (const n of ["StringAppendTESTOperator", "stringappendtest", "StringAppendOperator"]) {
      assert.ok(mergeOperatorByName(n));
    }
    assert.equal(mergeOperatorByName("nullptr"), null);
    assert.equal(mergeOperatorByName(""), null);
  });
});
