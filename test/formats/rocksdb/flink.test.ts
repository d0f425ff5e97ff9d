/**
 * The RocksDB reader end to end on the committed Flink fixtures: every RocksDB subtask of the
 * native savepoints and the retained incremental checkpoints of both Flink lines is opened from
 * `_metadata` (inline and file handles, absolute pointers into `shared/`), every column family is
 * iterated, and the contents are checked against the job model (`fixtures/flink-<x.y>/job-data.json`).
 *
 * During development the same merged contents (every key and value of all 32 instances) were
 * compared with `ldb --ignore_unknown_options scan --hex` of Debian's rocksdb-tools 7.8.3, and the
 * raw entries of all 80 fixture SST files with `sst_dump --command=scan --output_hex`: identical.
 * The tests do not need those tools.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  DEFAULT_COLUMN_FAMILY,
  type FlinkRocksDbState,
  keyGroupOf,
  keyGroupPrefixLength,
  keyGroupRangeBounds,
  openFlinkRocksDb,
} from "../../../src/formats/rocksdb/flink.js";
import type { KeyValue } from "../../../src/formats/rocksdb/index.js";
import { StoreRegistry } from "../../../src/storage/registry.js";
import { FIXTURES_ROOT } from "../../helpers/fixtures.js";
import { type RocksDbSubtask, rocksDbSubtasks } from "./helpers.js";

const stores = new StoreRegistry();
after(() => stores.close());

interface KeyModel {
  keyGroup: number;
  subtask: number;
  "word-count": number;
  "word-timestamps": number[];
  "bucket-counts": Record<string, number>;
  "max-ts": number;
  "min-ts": number;
}
interface JobData {
  maxParallelism: number;
  keys: Record<string, KeyModel>;
  windows: { open: { key: string; start: number; end: number; count: number; timer: number }[] };
}

function jobData(line: string): JobData {
  return JSON.parse(readFileSync(join(FIXTURES_ROOT, line, "job-data.json"), "utf8")) as JobData;
}

/** Flink's `StringValue` encoding of a short ASCII string: varint (length + 1), then the chars. */
function readFlinkString(b: Uint8Array, at: number): { value: string; next: number } {
  let len = 0;
  let shift = 0;
  let p = at;
  for (;;) {
    const x = b[p++] as number;
    len |= (x & 0x7f) << shift;
    if ((x & 0x80) === 0) break;
    shift += 7;
  }
  len -= 1;
  return { value: Buffer.from(b.subarray(p, p + len)).toString("latin1"), next: p + len };
}

function long(b: Uint8Array, at = 0): number {
  return Number(new DataView(b.buffer, b.byteOffset + at, 8).getBigInt64(0));
}

async function all(state: FlinkRocksDbState, cf: string): Promise<KeyValue[]> {
  const out: KeyValue[] = [];
  for await (const batch of state.db.entryBatches(cf)) out.push(...batch);
  return out;
}

/** What the model says each column family of an operator's subtask holds: cf -> entry count. */
function expectedCounts(uid: string | null, subtask: number, model: JobData): Record<string, number> {
  const keys = Object.values(model.keys).filter((k) => k.subtask === subtask);
  const open = model.windows.open.filter((w) => model.keys[w.key]?.subtask === subtask);
  switch (uid) {
    case "word-stats":
      return {
        "word-count": keys.length,
        "word-timestamps": keys.length,
        "bucket-counts": keys.reduce((n, k) => n + Object.keys(k["bucket-counts"]).length, 0),
        "_timer_state/processing_user-timers": 0,
        "_timer_state/event_user-timers": 0,
      };
    case "word-windows":
      return {
        "window-contents": open.length,
        "_timer_state/processing_window-timers": 0,
        "_timer_state/event_window-timers": open.length,
      };
    case "rule-applier":
      return {
        "max-ts": keys.length,
        "_timer_state/processing_user-timers": 0,
        "_timer_state/event_user-timers": 0,
      };
    case null:
      return {
        "min-ts": keys.length,
        "_timer_state/processing_user-timers": 0,
        "_timer_state/event_user-timers": 0,
      };
    default:
      throw new Error(`unexpected RocksDB operator ${uid}`);
  }
}

describe("Flink RocksDB snapshots (native savepoints, incremental checkpoints)", () => {
  let subtasks: RocksDbSubtask[] = [];
  before(async () => {
    subtasks = await rocksDbSubtasks(stores);
  });

  it("finds every RocksDB subtask: 4 operators x 2 subtasks x 7 cases x 2 lines", () => {
    assert.equal(subtasks.length, 112);
    const cases = new Set(subtasks.map((s) => s.fixture.id));
    assert.deepEqual(
      [...cases].sort(),
      ["1.20", "2.3"].flatMap((line) =>
        [
          "checkpoint-rocksdb-claimed",
          "checkpoint-rocksdb-file-merging",
          "checkpoint-rocksdb-incremental",
          "checkpoint-rocksdb-levels-lz4",
          "checkpoint-rocksdb-rescaled",
          "savepoint-native-rocksdb",
          "savepoint-native-rocksdb-zstd",
        ].map((c) => `flink-${line}/${c}`),
      ),
    );
  });

  it("every subtask: column families = the meta file's states + default; contents match the job model", async () => {
    let entries = 0;
    let families = 0;
    for (const s of subtasks) {
      const line = s.fixture.id.split("/")[0] as string;
      const model = jobData(line);
      const prefix = keyGroupPrefixLength(s.operator.maxParallelism);
      assert.equal(prefix, 1, "max parallelism 128: one-byte key-group prefix");
      const state = await openFlinkRocksDb(s.handle, s.resolver, { label: s.id });
      const cfNames = state.db.columnFamilies().map((c) => c.name);
      assert.deepEqual(
        cfNames.filter((n) => n !== DEFAULT_COLUMN_FAMILY).sort(),
        state.header.states.map((st) => st.name).sort(),
        `${s.id}: column families`,
      );
      assert.ok(cfNames.includes(DEFAULT_COLUMN_FAMILY), `${s.id}: default column family`);
      assert.deepEqual(await all(state, DEFAULT_COLUMN_FAMILY), [], `${s.id}: Flink leaves default empty`);

      const counts = expectedCounts(s.uid, s.subtask, model);
      const { start, end } = state.keyGroupRange;
      assert.deepEqual({ start, end }, s.subtask === 0 ? { start: 0, end: 63 } : { start: 64, end: 127 });
      for (const st of state.header.states) {
        const kvs = await all(state, st.name);
        families++;
        entries += kvs.length;
        assert.equal(kvs.length, counts[st.name], `${s.id} ${st.name}: entries`);
        for (const kv of kvs) {
          const kg = keyGroupOf(kv.key, prefix);
          assert.ok(kg >= start && kg <= end, `${s.id} ${st.name}: key group ${kg} outside ${start}-${end}`);
        }
        // Iterating only the subtask's key-group range gives the same (nothing outside it).
        const bounded: KeyValue[] = [];
        for await (const kv of state.db.entries(st.name, keyGroupRangeBounds(state.keyGroupRange, prefix))) {
          bounded.push(kv);
        }
        assert.deepEqual(bounded, kvs, `${s.id} ${st.name}: key-group bounded iteration`);
        checkValues(s, st.name, kvs, model);
      }
    }
    // 112 subtasks (14 snapshots) with 5 (word-stats) or 3 states; entries per family as the job model says.
    assert.equal(families, 28 * (5 + 3 + 3 + 3));
    assert.equal(entries, 14 * (2 + 2 + 4 + 5 + 5 + 14 + 1 + 1 + 5 + 5 + 2 + 5 + 2 + 5));
  });

  it("file formats: FRocksDB 6.20.3 (Flink 1.20) writes CRC32c, 8.10.0 (Flink 2.3) XXH3; both format_version 5, Snappy unless configured", async () => {
    for (const s of subtasks) {
      const line = s.fixture.id.split("/")[0];
      // state.backend.rocksdb.compression.per.level of the levels cases (fixtures/README.md)
      const compression = s.fixture.id.endsWith("-lz4")
        ? "LZ4"
        : s.fixture.id.endsWith("-zstd")
          ? "ZSTD"
          : "Snappy";
      const state = await openFlinkRocksDb(s.handle, s.resolver, { label: s.id });
      assert.equal(state.db.options?.rocksdbVersion, line === "flink-1.20" ? "6.20.3" : "8.10.0");
      for (const cf of state.db.columnFamilies()) {
        assert.equal(cf.comparator, "leveldb.BytewiseComparator");
        assert.equal(cf.options?.mergeOperator, "StringAppendTESTOperator", `${s.id} ${cf.name}`);
        assert.equal(cf.options?.checksum, line === "flink-1.20" ? "kCRC32c" : "kXXH3");
        assert.equal(cf.options?.formatVersion, 5);
        assert.equal(cf.options?.compression, "kSnappyCompression");
        for (const f of cf.levels.flat()) {
          const t = await state.db.openTable(f);
          assert.equal(t.formatVersion, 5);
          assert.equal(t.checksumName, line === "flink-1.20" ? "kCRC32c" : "kXXH3");
          assert.equal(t.properties.compression, compression, `${s.id} ${cf.name}`);
          assert.equal(t.properties.columnFamilyName, cf.name);
          assert.equal(t.properties.columnFamilyId, cf.id);
          assert.equal(t.properties.mergeOperator, "StringAppendTESTOperator");
          assert.equal(t.properties.comparator, "leveldb.BytewiseComparator");
          assert.equal(t.properties.numEntries, t.properties.numEntries);
          let n = 0;
          for await (const _ of t.entries()) n++;
          // RocksDB counts range deletions among the entries (and the deletions) too
          assert.equal(n + (await t.rangeTombstones()).length, t.properties.numEntries);
        }
      }
    }
  });

  it("the incremental checkpoints hold several SSTs per family (one per checkpoint), merged newest first", async () => {
    const s = subtasks.find(
      (x) =>
        x.fixture.id === "flink-2.3/checkpoint-rocksdb-incremental" &&
        x.uid === "word-stats" &&
        x.subtask === 0,
    );
    assert.ok(s);
    const state = await openFlinkRocksDb(s.handle, s.resolver);
    const wc = state.db.columnFamily("word-count");
    assert.ok(wc);
    // chk-1 flushed the first counts, chk-2 the later ones: two level-0 files.
    assert.deepEqual(
      wc.levels.map((l) => l.length),
      [2],
    );
    const raw = [];
    for (const f of wc.levels.flat())
      for await (const e of (await state.db.openTable(f)).entries()) raw.push(e);
    assert.equal(raw.length, 4, "two versions of each of cherry and elderberry");
    // List state is built by merge operands in both files; the merge joins them with ','.
    const ts = state.db.columnFamily("word-timestamps");
    assert.ok(ts);
    const types = [];
    for (const f of ts.levels.flat())
      for await (const e of (await state.db.openTable(f)).entries()) types.push(e.type);
    assert.deepEqual(types, [2, 2, 2, 2]);
  });
});

describe("the hard RocksDB cases hold what they were made for (fixtures/README.md)", () => {
  let subtasks: RocksDbSubtask[] = [];
  before(async () => {
    subtasks = await rocksDbSubtasks(stores);
  });
  const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

  for (const line of ["1.20", "2.3"]) {
    const of = (c: string) => subtasks.filter((x) => x.fixture.id === `flink-${line}/${c}`);

    // the OPTIONS file names them as RocksDB's CompressionType enum does
    for (const [c, compression, optionName] of [
      ["checkpoint-rocksdb-levels-lz4", "LZ4", "kLZ4Compression"],
      ["savepoint-native-rocksdb-zstd", "ZSTD", "kZSTD"],
    ] as const) {
      it(`${line}/${c}: ${compression} SST files over several levels, newer entries above older ones of the same keys`, async () => {
        const levels = new Set<number>();
        let stacked = 0;
        let merges = 0;
        let deletions = 0;
        for (const s of of(c)) {
          const state = await openFlinkRocksDb(s.handle, s.resolver, { label: s.id });
          for (const cf of state.db.columnFamilies()) {
            assert.equal(cf.options?.compressionPerLevel, optionName, `${s.id} ${cf.name}`);
            // level of the newest entry of each user key: an entry at a deeper level is an older version
            const newest = new Map<string, number>();
            for (const f of cf.levels.flat()) {
              levels.add(f.level);
              const t = await state.db.openTable(f);
              merges += t.properties.numMergeOperands;
              deletions += t.properties.numDeletions;
              for await (const e of t.entries()) {
                const at = newest.get(hex(e.userKey));
                if (at === undefined) newest.set(hex(e.userKey), f.level);
                else if (at < f.level) stacked++;
              }
            }
          }
        }
        assert.equal(of(c).length, 8);
        assert.ok(levels.size >= 3 && Math.max(...levels) >= 2, `levels ${[...levels]}`);
        assert.ok(stacked > 0, "keys with versions at two levels");
        assert.ok(merges > 0, "list state appends kept as merge operands");
        assert.ok(deletions > 0, "window contents and timers deleted after firing");
      });
    }

    it(`${line}/checkpoint-rocksdb-rescaled: range deletions in every subtask, over keys outside its key-group range`, async () => {
      assert.equal(of("checkpoint-rocksdb-rescaled").length, 8);
      let withOutside = 0;
      for (const s of of("checkpoint-rocksdb-rescaled")) {
        const state = await openFlinkRocksDb(s.handle, s.resolver, { label: s.id });
        const { start, end } = state.keyGroupRange;
        let outside = 0;
        let tombstones = 0;
        for (const cf of state.db.columnFamilies()) {
          for (const f of cf.levels.flat()) {
            const t = await state.db.openTable(f);
            for (const r of await t.rangeTombstones()) {
              tombstones++;
              // Flink clips to [start, end]: the deleted ranges lie outside it
              assert.ok((r.start[0] as number) > end || (r.end[0] as number) <= start, `${s.id} ${cf.name}`);
            }
            for await (const e of t.entries()) {
              const kg = keyGroupOf(e.userKey, 1);
              if (kg < start || kg > end) outside++;
            }
          }
        }
        assert.ok(tombstones > 0, `${s.id}: range deletions`);
        if (outside > 0) withOutside++;
      }
      // a compaction after the clip may already have dropped them in a few instances
      assert.ok(withOutside >= 6, `${withOutside} subtasks hold keys of other key groups`);
    });
  }
});

/** Decodes the values of a state and compares them with the model. */
function checkValues(s: RocksDbSubtask, cf: string, kvs: KeyValue[], model: JobData): void {
  const at = (kv: KeyValue) => {
    const { value: word, next } = readFlinkString(kv.key, 1);
    const m = model.keys[word];
    assert.ok(m, `${s.id} ${cf}: unknown key ${word}`);
    assert.equal(kv.key[0], m.keyGroup, `${s.id} ${cf}: key group of ${word}`);
    return { word, next, m };
  };
  for (const kv of kvs) {
    switch (cf) {
      case "word-count": {
        const { next, m } = at(kv);
        assert.equal(kv.key.byteLength, next + 1, "VoidNamespace: one byte");
        assert.equal(long(kv.value), m["word-count"]);
        break;
      }
      case "min-ts":
      case "max-ts": {
        const { m } = at(kv);
        assert.equal(long(kv.value), m[cf]);
        break;
      }
      case "word-timestamps": {
        const { m } = at(kv);
        // ListDelimitedSerializer: 8-byte elements joined by ',' (0x2C): the merged operands.
        const list: number[] = [];
        for (let p = 0; p < kv.value.byteLength; p += 9) {
          list.push(long(kv.value, p));
          if (p + 8 < kv.value.byteLength) assert.equal(kv.value[p + 8], 0x2c);
        }
        assert.deepEqual(list, m["word-timestamps"]);
        break;
      }
      case "bucket-counts": {
        const { next, m } = at(kv);
        const bucket = long(kv.key, next + 1);
        // Map value with TTL: null flag, then TtlValue (timestamp, value).
        assert.equal(kv.value[0], 0);
        assert.equal(long(kv.value, kv.value.byteLength - 8), m["bucket-counts"][String(bucket)]);
        break;
      }
      case "window-contents": {
        const { word, next } = at(kv);
        const w = model.windows.open.find((o) => o.key === word);
        assert.ok(w);
        assert.equal(long(kv.key, next), w.start);
        assert.equal(long(kv.key, next + 8), w.end);
        assert.equal(long(kv.value), w.count);
        break;
      }
      case "_timer_state/event_window-timers": {
        // TimerSerializer: key group, timestamp with the sign bit flipped, key, namespace.
        const ts = Number(
          new DataView(kv.key.buffer, kv.key.byteOffset + 1, 8).getBigUint64(0) ^ (1n << 63n),
        );
        const { value: word, next } = readFlinkString(kv.key, 9);
        const w = model.windows.open.find((o) => o.key === word);
        assert.ok(w, `timer for ${word}`);
        assert.equal(ts, w.timer);
        assert.equal(long(kv.key, next + 8), w.end);
        assert.equal(kv.value.byteLength, 0);
        break;
      }
      default:
        assert.fail(`${s.id}: unexpected entries in ${cf}`);
    }
  }
}
