/**
 * Issue #8, "Proof with real Flink": snapshots converted by `convertSnapshot` are restored by real Flink
 * (both lines: 1.20 writes metadata V4, 2.3 writes V6) and the restored state equals the model
 * (`fixtures/flink-<x.y>/job-data.json`): keyed value/list/map (TTL) state per key, window contents and
 * timers, operator, union and broadcast state, and the sources' enumerator and reader state.
 *
 * - the native hashmap savepoint converted to canonical (uncompressed, as the source, and with Snappy)
 *   is restored with the hashmap backend (`HeapSavepointRestoreOperation`) and with RocksDB
 *   (`RocksDBFullRestoreOperation`);
 * - Flink's canonical savepoints (hashmap and RocksDB) converted to native hashmap, and the native
 *   savepoint converted to canonical and back, are restored with the hashmap backend (`HeapRestoreOperation`);
 * - RocksDB native state converted to canonical: the native RocksDB savepoint (uncompressed, as its meta
 *   files, and with Snappy) and the retained incremental RocksDB checkpoint (its shared/ pointers mapped
 *   onto fixtures/ first) are restored with the hashmap backend and with RocksDB;
 * - canonical savepoints (hashmap- and RocksDB-written; Snappy table blocks and uncompressed), the native
 *   hashmap savepoint, and the native RocksDB savepoint taken to canonical and back, converted to native
 *   RocksDB (`IncrementalRemoteKeyedStateHandle`: our SST, MANIFEST and CURRENT files) are restored with
 *   RocksDB (`RocksDBIncrementalRestoreOperation` opens the instances as they are);
 * - the hard RocksDB cases (SST files over several levels with LZ4 and with ZSTD, merge operands and
 *   deletions above older versions, range deletions and keys outside the key-group range after a
 *   rescale; fixtures/README.md) converted to canonical are restored with the hashmap backend and with
 *   RocksDB, and converted on to native RocksDB are restored with RocksDB;
 * - the changelog state backend's checkpoints (never materialized, with Snappy-framed changelog files,
 *   and materialized with changes since) converted to canonical are restored with the hashmap backend
 *   and with RocksDB, and converted to native RocksDB with RocksDB, all without the changelog state
 *   backend;
 * - controls: a converted savepoint with one state's records removed from one subtask restores with
 *   differences (canonical, and converted to native RocksDB), so the oracle does see the converted keyed
 *   data.
 *
 * All restores of a line run in one JVM (`fixtures/harness.sh <line> restore`).
 */

import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { readMetadata, writeMetadata } from "../../src/formats/metadata/index.js";
import type { CheckpointMetadata, KeyGroupsStateHandle } from "../../src/formats/metadata/model.js";
import { readCanonicalRecords } from "../../src/formats/state/canonical-records.js";
import { type CanonicalRecord, encodeCanonicalKeyGroups } from "../../src/formats/state/canonical-writer.js";
import { readKeyedHeader } from "../../src/formats/state/keyed.js";
import { snapshotFileResolver } from "../../src/formats/state/stream.js";
import { type ConvertOptions, convertSnapshot } from "../../src/ops/convert.js";
import { relocateSnapshot } from "../../src/ops/relocate.js";
import { StoreRegistry } from "../../src/storage/registry.js";
import { normalizeUri } from "../../src/storage/uri.js";
import { FIXTURES_ROOT, listFixtures } from "../helpers/fixtures.js";
import {
  describeRun,
  flinkLines,
  flinkSkipReason,
  type RestoreReport,
  type RestoreRun,
  requireFlinkTools,
  restoreWithFlink,
  runResult,
} from "../helpers/flink.js";

/** Where Flink wrote the fixtures; the repo's fixtures/ stands for it (fixtures/README.md). */
const GENERATED_ROOT = "/tmp/savepoint-kit-fixtures";

const skip = flinkSkipReason();
const fixtures = listFixtures();
const stores = new StoreRegistry();
const scratch = mkdtempSync(join(tmpdir(), "savepoint-flink-convert-"));
after(async () => {
  await stores.close();
  rmSync(scratch, { recursive: true, force: true });
});

/**
 * The RocksDB cases made to be hard to read (many levels, compression, merges, deletions, rescale, SST
 * and meta files as segments of file-merging physical files, shared files of another job's directory).
 */
const HARD_ROCKSDB_CASES = [
  "checkpoint-rocksdb-file-merging",
  "checkpoint-rocksdb-levels-lz4",
  "savepoint-native-rocksdb-zstd",
  "checkpoint-rocksdb-rescaled",
  "checkpoint-rocksdb-claimed",
] as const;

/**
 * The checkpoints of the changelog state backend: converted to canonical (the changelog replayed) and on
 * to native RocksDB, restored without the changelog state backend. Those never materialized record no
 * key serializer but in their timers' (word-windows'): the key type is given.
 */
const CHANGELOG_CASES = [
  ["checkpoint-rocksdb-changelog", "String"],
  ["checkpoint-rocksdb-changelog-snappy", "String"],
  ["checkpoint-rocksdb-changelog-materialized", undefined],
] as const;

/** OperatorID of `word-stats` (uid hash; the same on both lines). */
const WORD_STATS = "d0a4e4912796d2114f5e0db4e8dcf52a";

/**
 * A copy of the canonical snapshot at `dir` whose word-stats subtask 0 lost every `word-count` record:
 * the control run, which must restore with differences.
 */
async function withoutWordCount(dir: string, out: string): Promise<void> {
  cpSync(dir, out, { recursive: true });
  const m = readMetadata(readFileSync(join(out, "_metadata")));
  const resolver = snapshotFileResolver(normalizeUri(out), (u) => stores.storeFor(u));
  const op = m.operatorStates.find((o) => o.operatorId === WORD_STATS);
  const sub = op?.subtaskStates.find((s) => s.kind === "OperatorSubtaskState" && s.subtaskIndex === 0);
  assert.ok(sub?.kind === "OperatorSubtaskState");
  const h = sub.managedKeyedState as KeyGroupsStateHandle;
  assert.equal(h.kind, "KeyGroupsSavepointStateHandle");
  const file = await resolver.open(h.delegate);
  const { header } = await readKeyedHeader(file);
  const id = header.states.findIndex((s) => s.name === "word-count");
  assert.ok(id >= 0);
  const kept: CanonicalRecord[] = [];
  let dropped = 0;
  for await (const b of readCanonicalRecords(file, h, header)) {
    for (const r of b) {
      if (r.stateId === id) dropped++;
      else kept.push(r);
    }
  }
  assert.ok(dropped > 0);
  const enc = encodeCanonicalKeyGroups(
    { header, keyGroupRange: h.keyGroupRange, keyGroupPrefixBytes: 1 },
    kept,
  );
  writeFileSync(join(out, "control-word-stats-0"), enc.bytes);
  const edited: CheckpointMetadata = {
    ...m,
    operatorStates: m.operatorStates.map((o) =>
      o.operatorId !== WORD_STATS
        ? o
        : {
            ...o,
            subtaskStates: o.subtaskStates.map((s) =>
              s === sub
                ? {
                    ...sub,
                    managedKeyedState: {
                      ...h,
                      offsets: enc.offsets,
                      delegate: {
                        kind: "RelativeFileStateHandle",
                        relativePath: "control-word-stats-0",
                        stateSize: BigInt(enc.size),
                      },
                    },
                  }
                : s,
            ),
          },
    ),
  };
  writeFileSync(join(out, "_metadata"), writeMetadata(edited));
}

for (const line of flinkLines(fixtures.map((f) => f.id))) {
  const fixture = (c: string) => {
    const f = fixtures.find((x) => x.id === `flink-${line}/${c}`);
    assert.ok(f, `${line}/${c}`);
    return f;
  };

  describe(`convert, restored by real Flink ${line}`, () => {
    let report: RestoreReport;
    const runs: RestoreRun[] = [];
    const convertMs: Record<string, number> = {};

    before(async () => {
      if (skip) return;
      requireFlinkTools();
      const root = join(scratch, line);
      const native = fixture("savepoint-native-hashmap").metadataDir;
      const convert = async (name: string, src: string, opts: Omit<ConvertOptions, "stores">) => {
        const t0 = Date.now();
        const target = join(root, name);
        await convertSnapshot(src, target, { stores, ...opts });
        convertMs[name] = Date.now() - t0;
        return target;
      };
      const n2c = await convert("native-to-canonical", native, { to: "canonical" });
      const n2cz = await convert("native-to-canonical-snappy", native, {
        to: "canonical",
        compression: true,
      });
      const c2n = await convert(
        "canonical-hashmap-to-native",
        fixture("savepoint-canonical-hashmap").metadataDir,
        {
          to: "native",
          backend: "hashmap",
        },
      );
      const r2n = await convert(
        "canonical-rocksdb-to-native",
        fixture("savepoint-canonical-rocksdb").metadataDir,
        {
          to: "native",
          backend: "hashmap",
        },
      );
      const n2c2n = await convert("native-to-canonical-to-native", n2c, { to: "native", backend: "hashmap" });
      const rocks = fixture("savepoint-native-rocksdb").metadataDir;
      const r2c = await convert("native-rocksdb-to-canonical", rocks, { to: "canonical" });
      const r2cz = await convert("native-rocksdb-to-canonical-snappy", rocks, {
        to: "canonical",
        compression: true,
      });
      // the incremental checkpoint: its shared/ pointers mapped onto fixtures/ first, then converted
      const chk = fixture("checkpoint-rocksdb-incremental").metadataDir;
      const mapped = join(root, "incremental-mapped", chk.split("/").pop() as string);
      await relocateSnapshot(chk, mapped, {
        stores,
        maps: [{ from: `file:${GENERATED_ROOT}`, to: FIXTURES_ROOT }],
      });
      const i2c = await convert("incremental-rocksdb-to-canonical", mapped, { to: "canonical" });
      const control = join(root, "control");
      await withoutWordCount(n2c, control);
      const rocksdb = { to: "native", backend: "rocksdb" } as const;
      const ch2r = await convert(
        "canonical-hashmap-to-native-rocksdb",
        fixture("savepoint-canonical-hashmap").metadataDir,
        rocksdb,
      );
      const cr2r = await convert(
        "canonical-rocksdb-to-native-rocksdb",
        fixture("savepoint-canonical-rocksdb").metadataDir,
        rocksdb,
      );
      const cr2rPlain = await convert(
        "canonical-rocksdb-to-native-rocksdb-uncompressed",
        fixture("savepoint-canonical-rocksdb").metadataDir,
        { ...rocksdb, compression: false },
      );
      const h2r = await convert("native-hashmap-to-native-rocksdb", native, rocksdb);
      const r2c2r = await convert("native-rocksdb-to-canonical-to-native-rocksdb", r2c, rocksdb);
      const controlRocks = await convert("control-to-native-rocksdb", control, rocksdb);
      for (const c of HARD_ROCKSDB_CASES) {
        let src = fixture(c).metadataDir;
        if (fixture(c).expected.snapshotType === "checkpoint") {
          // its shared/ pointers mapped onto fixtures/ first
          const mappedHard = join(root, `${c}-mapped`, src.split("/").pop() as string);
          await relocateSnapshot(src, mappedHard, {
            stores,
            maps: [{ from: `file:${GENERATED_ROOT}`, to: FIXTURES_ROOT }],
          });
          src = mappedHard;
        }
        const canonical = await convert(`${c}-to-canonical`, src, { to: "canonical" });
        const back = await convert(`${c}-to-canonical-to-native-rocksdb`, canonical, rocksdb);
        for (const backend of ["hashmap", "rocksdb"] as const) {
          runs.push({ name: `${c} -> canonical, ${backend}`, snapshot: canonical, backend });
        }
        runs.push({
          name: `${c} -> canonical -> native rocksdb, rocksdb`,
          snapshot: back,
          backend: "rocksdb",
        });
      }
      for (const [c, keyType] of CHANGELOG_CASES) {
        // its pointers (changelog and materialized files) mapped onto fixtures/ first
        const src = fixture(c).metadataDir;
        const mappedChangelog = join(root, `${c}-mapped`, src.split("/").pop() as string);
        await relocateSnapshot(src, mappedChangelog, {
          stores,
          maps: [{ from: `file:${GENERATED_ROOT}`, to: FIXTURES_ROOT }],
        });
        const key = keyType ? { keyType } : {};
        const canonical = await convert(`${c}-to-canonical`, mappedChangelog, { to: "canonical", ...key });
        const toRocks = await convert(`${c}-to-native-rocksdb`, mappedChangelog, { ...rocksdb, ...key });
        for (const backend of ["hashmap", "rocksdb"] as const) {
          runs.push({ name: `${c} -> canonical, ${backend}`, snapshot: canonical, backend });
        }
        runs.push({ name: `${c} -> native rocksdb, rocksdb`, snapshot: toRocks, backend: "rocksdb" });
      }
      for (const backend of ["hashmap", "rocksdb"] as const) {
        runs.push({ name: `native -> canonical, ${backend}`, snapshot: n2c, backend });
        runs.push({ name: `native -> canonical (snappy), ${backend}`, snapshot: n2cz, backend });
        runs.push({ name: `native rocksdb -> canonical, ${backend}`, snapshot: r2c, backend });
        runs.push({ name: `native rocksdb -> canonical (snappy), ${backend}`, snapshot: r2cz, backend });
        runs.push({
          name: `incremental rocksdb checkpoint -> canonical, ${backend}`,
          snapshot: i2c,
          backend,
        });
      }
      runs.push(
        { name: "canonical hashmap -> native, hashmap", snapshot: c2n, backend: "hashmap" },
        { name: "canonical rocksdb -> native, hashmap", snapshot: r2n, backend: "hashmap" },
        { name: "native -> canonical -> native, hashmap", snapshot: n2c2n, backend: "hashmap" },
        { name: "canonical hashmap -> native rocksdb, rocksdb", snapshot: ch2r, backend: "rocksdb" },
        { name: "canonical rocksdb -> native rocksdb, rocksdb", snapshot: cr2r, backend: "rocksdb" },
        {
          name: "canonical rocksdb -> native rocksdb (uncompressed), rocksdb",
          snapshot: cr2rPlain,
          backend: "rocksdb",
        },
        { name: "native hashmap -> native rocksdb, rocksdb", snapshot: h2r, backend: "rocksdb" },
        {
          name: "native rocksdb -> canonical -> native rocksdb, rocksdb",
          snapshot: r2c2r,
          backend: "rocksdb",
        },
        {
          name: "control: word-count removed from word-stats[0], native rocksdb",
          snapshot: controlRocks,
          backend: "rocksdb",
          expect: { stateMatches: false },
        },
        {
          name: "control: word-count removed from word-stats[0]",
          snapshot: control,
          backend: "rocksdb",
          expect: { stateMatches: false },
        },
      );
      report = await restoreWithFlink(line, runs);
      const took = report.runs.map((r) => `${r.name} ${r.durationMs} ms`).join("; ");
      console.log(
        `# convert: ${Object.entries(convertMs)
          .map(([k, v]) => `${k} ${v} ms`)
          .join(", ")}`,
      );
      console.log(`# Flink ${report.flinkVersion}: ${runs.length} restores in ${report.wallMs} ms (${took})`);
    });

    const expected: (readonly [string, string, string])[] = [
      ["native -> canonical", "HeapKeyedStateBackend", "hashmap"],
      ["native -> canonical", "RocksDBKeyedStateBackend", "rocksdb"],
      ["native -> canonical (snappy)", "HeapKeyedStateBackend", "hashmap"],
      ["native -> canonical (snappy)", "RocksDBKeyedStateBackend", "rocksdb"],
      ["native rocksdb -> canonical", "HeapKeyedStateBackend", "hashmap"],
      ["native rocksdb -> canonical", "RocksDBKeyedStateBackend", "rocksdb"],
      ["native rocksdb -> canonical (snappy)", "HeapKeyedStateBackend", "hashmap"],
      ["native rocksdb -> canonical (snappy)", "RocksDBKeyedStateBackend", "rocksdb"],
      ["incremental rocksdb checkpoint -> canonical", "HeapKeyedStateBackend", "hashmap"],
      ["incremental rocksdb checkpoint -> canonical", "RocksDBKeyedStateBackend", "rocksdb"],
      ["canonical hashmap -> native", "HeapKeyedStateBackend", "hashmap"],
      ["canonical rocksdb -> native", "HeapKeyedStateBackend", "hashmap"],
      ["native -> canonical -> native", "HeapKeyedStateBackend", "hashmap"],
      ["canonical hashmap -> native rocksdb", "RocksDBKeyedStateBackend", "rocksdb"],
      ["canonical rocksdb -> native rocksdb", "RocksDBKeyedStateBackend", "rocksdb"],
      ["canonical rocksdb -> native rocksdb (uncompressed)", "RocksDBKeyedStateBackend", "rocksdb"],
      ["native hashmap -> native rocksdb", "RocksDBKeyedStateBackend", "rocksdb"],
      ["native rocksdb -> canonical -> native rocksdb", "RocksDBKeyedStateBackend", "rocksdb"],
      ...CHANGELOG_CASES.flatMap(([c]) => [
        [`${c} -> canonical`, "HeapKeyedStateBackend", "hashmap"] as const,
        [`${c} -> canonical`, "RocksDBKeyedStateBackend", "rocksdb"] as const,
        [`${c} -> native rocksdb`, "RocksDBKeyedStateBackend", "rocksdb"] as const,
      ]),
      ...HARD_ROCKSDB_CASES.flatMap((c) => [
        [`${c} -> canonical`, "HeapKeyedStateBackend", "hashmap"] as const,
        [`${c} -> canonical`, "RocksDBKeyedStateBackend", "rocksdb"] as const,
        [`${c} -> canonical -> native rocksdb`, "RocksDBKeyedStateBackend", "rocksdb"] as const,
      ]),
    ];
    for (const [what, backendClass, backend] of expected) {
      it(`${what}: Flink restores it with ${backend} and the state equals the model`, { skip }, () => {
        const r = runResult(report, `${what}, ${backend}`);
        assert.equal(r.outcome, "restored", describeRun(r));
        assert.equal(r.stateMatches, true, describeRun(r));
        assert.deepEqual(r.differences, []);
        assert.ok(r.expectationMet, describeRun(r));
        assert.deepEqual(r.jobOperators, fixture("savepoint-native-hashmap").expected.jobOperators);
        assert.ok(JSON.stringify(r.observed).includes(backendClass), `restored by ${backendClass}`);
      });
    }

    for (const name of [
      "control: word-count removed from word-stats[0]",
      "control: word-count removed from word-stats[0], native rocksdb",
    ]) {
      it(`${name}: the oracle notices a state missing from a converted file`, { skip }, () => {
        const r = runResult(report, name);
        assert.equal(r.outcome, "restored", describeRun(r));
        assert.equal(r.stateMatches, false);
        assert.ok(
          r.differences.some((d) => d.includes("count")),
          describeRun(r),
        );
        assert.ok(r.expectationMet, describeRun(r));
      });
    }
  });
}
