/**
 * `writeRocksDbInstance`: canonical records into a Flink RocksDB instance (one column family per state),
 * read back with the RocksDB reader (`RocksDbInstance`, `readRocksDbCanonicalRecords`): runs in hash order
 * are sorted, large column families roll over into several tables at the bottommost level, a run past
 * the memory bound is sorted externally (also Flink's hashmap-written key groups, with a bound that
 * spills every run), and records out of place are refused.
 */

import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CorruptSnapshotError } from "../../../src/errors.js";
import { DataInput } from "../../../src/formats/io/data-input.js";
import type { KeyGroupsStateHandle } from "../../../src/formats/metadata/model.js";
import {
  memoryFile,
  type RandomAccessFile,
  RocksDbInstance,
  readManifest,
} from "../../../src/formats/rocksdb/index.js";
import {
  canonicalKeyLayout,
  heapEntryToCanonical,
  readHeapRawEntries,
} from "../../../src/formats/state/canonical-heap.js";
import { readCanonicalRecords } from "../../../src/formats/state/canonical-records.js";
import type { CanonicalRecord } from "../../../src/formats/state/canonical-writer.js";
import { type KeyedBackendHeader, readKeyedBackendHeader } from "../../../src/formats/state/headers.js";
import { readKeyedHeader } from "../../../src/formats/state/keyed.js";
import { readRocksDbCanonicalRecords } from "../../../src/formats/state/rocksdb-canonical.js";
import { memoryStateFile } from "../../../src/formats/state/stream.js";
import {
  type RocksDbInstanceFiles,
  type RocksDbInstanceOptions,
  RunOrderError,
  writeRocksDbInstance,
} from "../../../src/formats/state/write-rocksdb.js";
import { canonicalKeyedFiles } from "./helpers.js";

/** A real header (Flink's canonical savepoint of the fixture job, word-stats: 3 states). */
async function realHeader(): Promise<KeyedBackendHeader> {
  const f = (await canonicalKeyedFiles()).find((x) => x.id.includes("word-stats"));
  assert.ok(f);
  return (await readKeyedHeader(memoryStateFile(f.bytes, "file:///h"))).header;
}

/** A deterministic shuffle (xorshift32). */
function shuffle<T>(xs: T[], seed: number): T[] {
  let x = seed;
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const j = (x >>> 0) % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** Records of key groups `kgs` for states `states`: `perRun` keys each, in hash (shuffled) order per run. */
function records(
  kgs: number[],
  states: number[],
  perRun: number,
  prefix: 1 | 2,
  sorted = false,
): CanonicalRecord[] {
  const out: CanonicalRecord[] = [];
  for (const kg of kgs) {
    for (const stateId of states) {
      const run: CanonicalRecord[] = [];
      for (let i = 0; i < perRun; i++) {
        const body = new TextEncoder().encode(`key-${stateId}-${(i * 7919) % 100003}`);
        const key = new Uint8Array(prefix + body.byteLength);
        if (prefix === 2) key.set([kg >> 8, kg & 0xff]);
        else key[0] = kg;
        key.set(body, prefix);
        run.push({ keyGroup: kg, stateId, key, value: new TextEncoder().encode(`v${kg}/${stateId}/${i}`) });
      }
      out.push(
        ...(sorted ? run.sort((a, b) => Buffer.compare(a.key, b.key)) : shuffle(run, kg * 31 + stateId + 1)),
      );
    }
  }
  return out;
}

async function* batches(rs: CanonicalRecord[], size = 100): AsyncGenerator<CanonicalRecord[]> {
  for (let i = 0; i < rs.length; i += size) yield rs.slice(i, i + size);
}

/** Writes into memory; returns the files by name and the result. */
async function write(
  rs: CanonicalRecord[],
  options: Omit<RocksDbInstanceOptions, "openTable">,
): Promise<{ files: Map<string, RandomAccessFile>; result: RocksDbInstanceFiles }> {
  const tables = new Map<string, Uint8Array[]>();
  const result = await writeRocksDbInstance(batches(rs), {
    ...options,
    openTable: async (name) => {
      const parts: Uint8Array[] = [];
      tables.set(name, parts);
      return {
        write: async (b) => {
          parts.push(b.slice());
        },
        close: async () => {},
      };
    },
  });
  const files = new Map<string, RandomAccessFile>();
  for (const [n, parts] of tables) files.set(n, memoryFile(new Uint8Array(Buffer.concat(parts)), n));
  files.set(result.manifestName, memoryFile(result.manifest, result.manifestName));
  files.set("CURRENT", memoryFile(result.current, "CURRENT"));
  return { files, result };
}

/** Reads the instance back as canonical records (key group, state, key, value), in reader order. */
async function readBack(
  files: Map<string, RandomAccessFile>,
  header: KeyedBackendHeader,
  range: { start: number; end: number },
  maxParallelism: number,
): Promise<string[]> {
  const db = await RocksDbInstance.open(files);
  const out: string[] = [];
  for await (const b of readRocksDbCanonicalRecords({ db, header, keyGroupRange: range }, maxParallelism)) {
    for (const r of b) {
      out.push(
        `${r.keyGroup} ${r.stateId} ${Buffer.from(r.key).toString("hex")} ${Buffer.from(r.value).toString("hex")}`,
      );
    }
  }
  return out;
}

const show = (rs: CanonicalRecord[]) =>
  [...rs]
    .sort((a, b) => a.keyGroup - b.keyGroup || a.stateId - b.stateId || Buffer.compare(a.key, b.key))
    .map(
      (r) =>
        `${r.keyGroup} ${r.stateId} ${Buffer.from(r.key).toString("hex")} ${Buffer.from(r.value).toString("hex")}`,
    );

describe("writeRocksDbInstance", () => {
  it("sorts runs in hash order; one column family per state; the meta file is the header", async () => {
    const header = await realHeader();
    const range = { start: 0, end: 63 };
    const rs = records([1, 5, 63], [0, 2], 50, 1);
    const { files, result } = await write(rs, { header, keyGroupRange: range, keyGroupPrefixBytes: 1 });
    assert.equal(result.records, rs.length);
    assert.equal(result.keyGroups, 3);
    assert.deepEqual(
      result.tables.map((t) => t.columnFamily),
      [header.states[0]?.name, header.states[2]?.name],
      "tables only for states with entries",
    );
    assert.deepEqual(await readBack(files, header, range, 128), show(rs));
    const again = readKeyedBackendHeader(new DataInput(result.meta, "meta"));
    assert.deepEqual(again, header);
    const m = readManifest(result.manifest, { uri: result.manifestName });
    assert.deepEqual(
      m.columnFamilies.map((c) => c.name),
      ["default", ...header.states.map((s) => s.name)],
    );
    assert.ok(m.nextFileNumber > BigInt(Number(result.manifestName.slice(9))));
  });

  it("rolls over into several non-overlapping tables at the bottommost level; 2-byte key-group prefixes", async () => {
    const header = await realHeader();
    const range = { start: 200, end: 300 };
    const rs = records([200, 255, 256, 300], [1], 400, 2);
    const { files, result } = await write(rs, {
      header,
      keyGroupRange: range,
      keyGroupPrefixBytes: 2,
      targetFileSize: 2048,
      compression: "none",
    });
    assert.ok(result.tables.length > 5, `${result.tables.length} tables`);
    const db = await RocksDbInstance.open(files);
    const cf = db.columnFamily(header.states[1]?.name as string);
    assert.ok(cf);
    assert.equal(cf.levels[6]?.length, result.tables.length);
    assert.ok(cf.levels.slice(0, 6).every((l) => l.length === 0));
    assert.deepEqual(await readBack(files, header, range, 1024), show(rs));
  });

  it("sorts a run past the memory bound externally (spilled chunks, k-way merge), in order or not", async () => {
    const header = await realHeader();
    const range = { start: 0, end: 127 };
    const spillDirectory = mkdtempSync(join(tmpdir(), "sk-write-rocksdb-spill-"));
    try {
      for (const sorted of [true, false]) {
        const rs = [...records([7, 8], [0, 1], 300, 1, sorted), ...records([9], [0], 3, 1, sorted)];
        const { files, result } = await write(rs, {
          header,
          keyGroupRange: range,
          keyGroupPrefixBytes: 1,
          maxRunBytes: 2000,
          spillDirectory,
        });
        assert.equal(result.records, rs.length);
        assert.equal(result.externalRuns, 4, "the four runs of 300 records, not the one of 3");
        assert.deepEqual(await readBack(files, header, range, 128), show(rs));
        assert.deepEqual(readdirSync(spillDirectory), [], "chunk files removed");
      }
      // A repeated key is found after the merge, and the chunks are removed all the same.
      const rs = records([7], [0], 300, 1);
      await assert.rejects(
        write([...rs, rs[5] as CanonicalRecord], {
          header,
          keyGroupRange: range,
          keyGroupPrefixBytes: 1,
          maxRunBytes: 2000,
          spillDirectory,
        }),
        (e: unknown) => e instanceof CorruptSnapshotError && /appears twice/.test(e.message),
      );
      assert.deepEqual(readdirSync(spillDirectory), []);
    } finally {
      rmSync(spillDirectory, { recursive: true, force: true });
    }
  });

  it("writes the records of Flink's hashmap snapshots (hash order) with a bound that spills every run", async () => {
    // Canonical savepoints of the hashmap backend, and heap native ones through their canonical records.
    const sources = (await canonicalKeyedFiles()).filter((f) =>
      /savepoint-(canonical|native)-hashmap$/.test(f.fixture.id),
    );
    assert.ok(sources.length > 0);
    const spillDirectory = mkdtempSync(join(tmpdir(), "sk-write-rocksdb-spill-"));
    try {
      let unsortedRuns = 0;
      for (const f of sources) {
        const file = memoryStateFile(f.bytes, `file:///${f.id}`);
        const { header } = await readKeyedHeader(file);
        const handle = f.handle as KeyGroupsStateHandle;
        const rs: CanonicalRecord[] = [];
        if (f.fixture.id.endsWith("canonical-hashmap")) {
          for await (const b of readCanonicalRecords(file, handle, header)) rs.push(...b);
        } else {
          const layout = canonicalKeyLayout(header, f.operator.maxParallelism);
          for await (const b of readHeapRawEntries(file, handle, header)) {
            for (const e of b) rs.push(...heapEntryToCanonical(e, layout));
          }
        }
        const runs = new Set(rs.map((r) => `${r.keyGroup}/${r.stateId}`)).size;
        // As Flink wrote them, and with every run reversed (the fixtures' runs are short: 1 to 3 records).
        const reversed: CanonicalRecord[] = [];
        for (let i = 0; i < rs.length; ) {
          let j = i;
          while (j < rs.length && rs[j]?.keyGroup === rs[i]?.keyGroup && rs[j]?.stateId === rs[i]?.stateId)
            j++;
          reversed.push(...rs.slice(i, j).reverse());
          if (j - i > 1) unsortedRuns++;
          i = j;
        }
        for (const input of [rs, reversed]) {
          const { files: db, result } = await write(input, {
            header,
            keyGroupRange: handle.keyGroupRange,
            keyGroupPrefixBytes: f.operator.maxParallelism > 128 ? 2 : 1,
            maxRunBytes: 1,
            spillDirectory,
          });
          assert.equal(result.externalRuns, runs, `${f.id}: every run through the external sort`);
          assert.equal(result.records, rs.length, f.id);
          assert.deepEqual(
            await readBack(db, header, handle.keyGroupRange, f.operator.maxParallelism),
            show(rs),
            f.id,
          );
        }
      }
      assert.ok(unsortedRuns > 0, "some reversed runs are out of order");
      assert.deepEqual(readdirSync(spillDirectory), []);
    } finally {
      rmSync(spillDirectory, { recursive: true, force: true });
    }
  });

  it("streams runs in key order past streamRunsAfterBytes: the same tables as buffering them", async () => {
    const header = await realHeader();
    const range = { start: 0, end: 63 };
    const rs = records([1, 5, 63], [0, 2], 300, 1, true);
    const opts = {
      header,
      keyGroupRange: range,
      keyGroupPrefixBytes: 1 as const,
      dbId: "d",
      dbSessionId: "s",
    };
    const buffered = await write(rs, opts);
    const streamed = await write(rs, { ...opts, streamRunsAfterBytes: 1000 });
    assert.equal(streamed.result.records, rs.length);
    assert.deepEqual(await readBack(streamed.files, header, range, 128), show(rs));
    // Byte for byte, but for the creation time in the properties (seconds): same sizes, same data blocks.
    assert.deepEqual(
      streamed.result.tables.map((t) => [t.fileName, t.info.size, t.info.dataSize, t.info.entries]),
      buffered.result.tables.map((t) => [t.fileName, t.info.size, t.info.dataSize, t.info.entries]),
    );
    for (const t of buffered.result.tables) {
      const a = await (buffered.files.get(t.fileName) as RandomAccessFile).read(0, t.info.dataSize);
      const b = await (streamed.files.get(t.fileName) as RandomAccessFile).read(0, t.info.dataSize);
      assert.deepEqual(b, a, t.fileName);
    }
    // Runs in hash order are never streamed (out of order before the bound): written as before.
    const hashed = records([1, 5], [0], 300, 1);
    const h = await write(hashed, { ...opts, streamRunsAfterBytes: 1000 });
    assert.deepEqual(await readBack(h.files, header, range, 128), show(hashed));
  });

  it("ends with RunOrderError when a streamed run turns out of order; a repeated key stays corrupt", async () => {
    const header = await realHeader();
    const range = { start: 0, end: 63 };
    const run = records([7], [1], 200, 1, true);
    // In order for well past the bound, then one key that belongs earlier.
    const late = [...run.slice(0, 150), ...run.slice(151), run[150] as CanonicalRecord];
    const opts = {
      header,
      keyGroupRange: range,
      keyGroupPrefixBytes: 1 as const,
      streamRunsAfterBytes: 1000,
    };
    await assert.rejects(write(late, opts), (e: unknown) => e instanceof RunOrderError && e.keyGroup === 7);
    // Without streaming, the same run is sorted and written.
    const { streamRunsAfterBytes: _, ...buffering } = opts;
    const { files } = await write(late, buffering);
    assert.deepEqual(await readBack(files, header, range, 128), show(run));
    const twice = [...run, run[199] as CanonicalRecord];
    await assert.rejects(
      write(twice, opts),
      (e: unknown) => e instanceof CorruptSnapshotError && /appears twice/.test(e.message),
    );
  });

  it("refuses records out of place", async () => {
    const header = await realHeader();
    const range = { start: 0, end: 63 };
    const opts = { header, keyGroupRange: range, keyGroupPrefixBytes: 1 as const, source: "file:///src" };
    const ok = records([3], [0], 2, 1);
    const bad: [string, CanonicalRecord[], RegExp][] = [
      ["outside the range", records([64], [0], 1, 1), /outside the key groups 0-63/],
      ["unknown state", records([3], [9], 1, 1), /state id 9/],
      [
        "key-group prefix",
        [{ ...(ok[0] as CanonicalRecord), keyGroup: 4 }],
        /does not start with its key-group prefix/,
      ],
      [
        "key groups descending",
        [...records([5], [0], 1, 1), ...records([3], [0], 1, 1)],
        /key group 3 after key group 5/,
      ],
      ["a key twice", [ok[0] as CanonicalRecord, ok[0] as CanonicalRecord], /appears twice/],
      [
        "a state's run split",
        [...records([3], [0], 1, 1), ...records([3], [1], 1, 1), ...records([3], [0], 1, 1)],
        /appears twice|not in one run/,
      ],
    ];
    for (const [what, rs, message] of bad) {
      await assert.rejects(
        write(rs, opts),
        (e: unknown) =>
          e instanceof CorruptSnapshotError && message.test(e.message) && e.uri === "file:///src",
        what,
      );
    }
  });

  it("writes an instance without entries: every column family, no table", async () => {
    const header = await realHeader();
    const { files, result } = await write([], {
      header,
      keyGroupRange: { start: 0, end: 63 },
      keyGroupPrefixBytes: 1,
    });
    assert.deepEqual(result.tables, []);
    assert.equal(result.records, 0);
    const db = await RocksDbInstance.open(files);
    assert.equal(db.columnFamilies().length, header.states.length + 1);
    assert.deepEqual(await readBack(files, header, { start: 0, end: 63 }, 128), []);
  });
});
