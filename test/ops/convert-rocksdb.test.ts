/**
 * `convert --to canonical` of RocksDB native state (native RocksDB savepoints and retained incremental
 * RocksDB checkpoints): every subtask's RocksDB instance, read with the pure-TS reader, becomes canonical
 * key groups that decode to the same entries as Flink's own canonical RocksDB savepoint of the same job
 * (TTL timestamps aside), with the same header bytes (compression on, as Flink's) and, per key group,
 * the same raw records.
 *
 * `convert --to native --backend rocksdb`: every canonical fixture (written by hashmap and by RocksDB)
 * and the native hashmap savepoint become native RocksDB savepoints whose instances hold the same
 * records (read back with our reader, and opened and scanned by real RocksDB: Debian's `ldb`); native
 * RocksDB state is kept. That Flink restores the results is `test/flink/convert.test.ts`.
 */

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { readMetadata } from "../../src/formats/metadata/index.js";
import type {
  IncrementalRemoteKeyedStateHandle,
  KeyGroupsStateHandle,
} from "../../src/formats/metadata/model.js";
import { decodeCheckpointProperties } from "../../src/formats/metadata/properties.js";
import { allHandles } from "../../src/formats/metadata/traverse.js";
import { openFlinkRocksDb } from "../../src/formats/rocksdb/flink.js";
import { readCanonicalRecords } from "../../src/formats/state/canonical-records.js";
import type { CanonicalRecord } from "../../src/formats/state/canonical-writer.js";
import {
  keyedStates,
  keyGroupPrefixBytes,
  readKeyedEntries,
  readKeyedHeader,
} from "../../src/formats/state/keyed.js";
import { readRocksDbCanonicalRecords } from "../../src/formats/state/rocksdb-canonical.js";
import { snapshotFileResolver } from "../../src/formats/state/stream.js";
import { convertSnapshot, UnsupportedConversionError } from "../../src/ops/convert.js";
import { relocateSnapshot } from "../../src/ops/relocate.js";
import { StoreRegistry } from "../../src/storage/registry.js";
import { normalizeUri } from "../../src/storage/uri.js";
import { checkpointJobId, FIXTURES_ROOT, listFixtures } from "../helpers/fixtures.js";

/** Where Flink wrote the fixtures; the repo's fixtures/ stands for it (fixtures/README.md). */
const GENERATED_ROOT = "/tmp/savepoint-kit-fixtures";

const stores = new StoreRegistry();
const tmp = mkdtempSync(join(tmpdir(), "sk-convert-rocksdb-"));
after(async () => {
  await stores.close();
  rmSync(tmp, { recursive: true, force: true });
});
const fixtures = listFixtures();
const lines = [...new Set(fixtures.map((f) => f.id.split("/")[0]?.replace("flink-", "") as string))].sort();
const dirOf = (line: string, c: string) => {
  const f = fixtures.find((x) => x.id === `flink-${line}/${c}`);
  assert.ok(f, `${line}/${c}`);
  return f.metadataDir;
};
const json = (v: unknown) =>
  JSON.stringify(v, (k, x) => (k === "lastAccessTimestamp" ? "ttl" : typeof x === "bigint" ? `${x}n` : x));

interface SubtaskKeyed {
  header: Uint8Array;
  /** Decoded entries (TTL timestamps masked), sorted. */
  entries: string[];
  /** Raw records `keyGroup state key value` (TTL values: their length), sorted. */
  records: string[];
  /** Key groups with data. */
  keyGroups: number[];
  compressed: boolean;
}

/** The canonical keyed state of every subtask of a snapshot, by `operatorId/subtaskIndex`. */
async function canonicalKeyed(dir: string): Promise<Map<string, SubtaskKeyed>> {
  const m = readMetadata(readFileSync(join(dir, "_metadata")));
  const resolver = snapshotFileResolver(normalizeUri(dir), (u) => stores.storeFor(u));
  const out = new Map<string, SubtaskKeyed>();
  for (const v of allHandles(m)) {
    if (v.slot !== "managedKeyedState") continue;
    const h = v.handle as KeyGroupsStateHandle;
    assert.equal(h.kind, "KeyGroupsSavepointStateHandle");
    const file = await resolver.open(h.delegate);
    const { header, dataStart } = await readKeyedHeader(file);
    const states = keyedStates(header);
    const entries: string[] = [];
    for await (const e of readKeyedEntries(file, h, header, {
      keyGroupPrefixBytes: keyGroupPrefixBytes(v.operator.maxParallelism),
    })) {
      const { bytes: _, ...rest } = e;
      entries.push(json(rest));
    }
    const records: string[] = [];
    for await (const b of readCanonicalRecords(file, h, header)) {
      for (const r of b) {
        const s = states[r.stateId];
        const val = Buffer.from(r.value).toString("hex");
        records.push(
          `${r.keyGroup} ${s?.name} ${Buffer.from(r.key).toString("hex")} ${s?.ttl ? val.length : val}`,
        );
      }
    }
    const key = `${v.operator.operatorId}/${v.subtask.subtaskIndex}`;
    out.set(key, {
      header: await file.read(0, dataStart),
      entries: entries.sort(),
      records: records.sort(),
      keyGroups: h.offsets.flatMap((o, i) => (o > 0n ? [h.keyGroupRange.start + i] : [])),
      compressed: header.compressed,
    });
  }
  return out;
}

/** SHA-256 of every file under `dir`. */
function digest(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!f.isFile()) continue;
    const p = join(f.parentPath, f.name);
    out[p] = createHash("sha256").update(readFileSync(p)).digest("hex");
  }
  return out;
}

/** Asserts that `ours` holds the same keyed state as Flink's canonical savepoint `flink`. */
function assertSameKeyed(ours: Map<string, SubtaskKeyed>, flink: Map<string, SubtaskKeyed>, label: string) {
  assert.deepEqual([...ours.keys()].sort(), [...flink.keys()].sort(), label);
  let entries = 0;
  for (const [k, a] of ours) {
    const b = flink.get(k) as SubtaskKeyed;
    assert.deepEqual(a.entries, b.entries, `${label} ${k}: decoded entries`);
    assert.deepEqual(a.records, b.records, `${label} ${k}: raw records`);
    assert.deepEqual(a.keyGroups, b.keyGroups, `${label} ${k}: key groups with data`);
    entries += a.entries.length;
  }
  assert.ok(entries > 0, `${label}: there are entries`);
}

describe("convertSnapshot, RocksDB native -> canonical", () => {
  for (const line of lines) {
    it(`${line}: the native RocksDB savepoint converts to the entries of Flink's canonical RocksDB savepoint`, async () => {
      const src = dirOf(line, "savepoint-native-rocksdb");
      const before = digest(src);
      const flink = await canonicalKeyed(dirOf(line, "savepoint-canonical-rocksdb"));

      const plain = join(tmp, line, "native-rocksdb-canonical");
      const r = await convertSnapshot(src, plain, { stores, to: "canonical" });
      assert.deepEqual(digest(src), before, "the source is not modified");
      assert.equal(r.totals.converted, 8);
      assert.deepEqual(r.formatType, { before: "NATIVE", after: "CANONICAL" });
      assert.deepEqual(r.referenced, []);
      for (const k of r.keyed) {
        assert.equal(k.from.handleKind, "IncrementalRemoteKeyedStateHandle");
        assert.equal(k.from.layout, "rocksdb-native");
        assert.ok(k.from.bytes > 0);
        assert.equal(k.to.handleKind, "KeyGroupsSavepointStateHandle");
        assert.equal(k.to.compressed, false, "as the meta file's header");
        assert.ok((k.to.records ?? 0) > 0);
      }
      const m = readMetadata(readFileSync(join(plain, "_metadata")));
      assert.equal(decodeCheckpointProperties(m.properties as Uint8Array)?.formatType, "CANONICAL");
      for (const v of allHandles(m)) {
        assert.notEqual(v.handle.kind, "IncrementalRemoteKeyedStateHandle");
      }
      const ours = await canonicalKeyed(plain);
      assertSameKeyed(ours, flink, `${line} plain`);

      // with Snappy, as Flink's canonical savepoints of the fixture job: the very same header bytes
      const snappy = join(tmp, line, "native-rocksdb-canonical-snappy");
      await convertSnapshot(src, snappy, { stores, to: "canonical", compression: true });
      const z = await canonicalKeyed(snappy);
      assertSameKeyed(z, flink, `${line} snappy`);
      for (const [k, a] of z) {
        assert.ok(a.compressed);
        assert.deepEqual(a.header, (flink.get(k) as SubtaskKeyed).header, `${k}: header bytes`);
      }
    });

    it(`${line}: the retained incremental RocksDB checkpoint converts to the same entries`, async () => {
      const f = fixtures.find((x) => x.id === `flink-${line}/checkpoint-rocksdb-incremental`);
      assert.ok(f);
      const jobId = checkpointJobId(f);
      const chk = f.metadataDir.split("/").pop() as string;
      const mapped = join(tmp, line, "mapped", jobId, chk);
      await relocateSnapshot(f.metadataDir, mapped, {
        stores,
        maps: [{ from: `file:${GENERATED_ROOT}`, to: FIXTURES_ROOT }],
      });
      const target = join(tmp, line, "incremental-canonical");
      const r = await convertSnapshot(mapped, target, { stores, to: "canonical" });
      assert.equal(r.totals.converted, 8);
      assert.deepEqual(r.formatType, { before: null, after: null }, "a checkpoint has no format type");
      const flink = await canonicalKeyed(dirOf(line, "savepoint-canonical-rocksdb"));
      assertSameKeyed(await canonicalKeyed(target), flink, `${line} incremental`);
    });
  }

  it("readRocksDbCanonicalRecords: key groups ascending, state runs by id, whatever the reader's batch size", async () => {
    const dir = dirOf("2.3", "savepoint-native-rocksdb");
    const m = readMetadata(readFileSync(join(dir, "_metadata")));
    const resolver = snapshotFileResolver(normalizeUri(dir), (u) => stores.storeFor(u));
    let total = 0;
    for (const v of allHandles(m)) {
      if (v.slot !== "managedKeyedState") continue;
      const h = v.handle as IncrementalRemoteKeyedStateHandle;
      const state = await openFlinkRocksDb(h, resolver);
      const all = async (batchSize?: number) => {
        const out: CanonicalRecord[] = [];
        for await (const b of readRocksDbCanonicalRecords(
          state,
          v.operator.maxParallelism,
          batchSize ? { batchSize } : {},
        )) {
          assert.ok(b.length > 0);
          out.push(...b);
        }
        return out;
      };
      const a = await all();
      const one = await all(1);
      assert.deepEqual(one, a);
      for (let i = 1; i < a.length; i++) {
        const p = a[i - 1] as CanonicalRecord;
        const r = a[i] as CanonicalRecord;
        assert.ok(
          p.keyGroup < r.keyGroup || (p.keyGroup === r.keyGroup && p.stateId <= r.stateId),
          "key-group, then state order",
        );
      }
      for (const r of a) {
        assert.ok(r.keyGroup >= h.keyGroupRange.start && r.keyGroup <= h.keyGroupRange.end);
        assert.equal(r.key[0], r.keyGroup, "the RocksDB key, key-group prefix included");
      }
      total += a.length;
    }
    assert.equal(total, 58);
  });

  it("still refuses RocksDB native state to native hashmap, and unreachable shared files", async () => {
    await assert.rejects(
      convertSnapshot(dirOf("2.3", "savepoint-native-rocksdb"), join(tmp, "refused"), {
        stores,
        to: "native",
        backend: "hashmap",
      }),
      (e: unknown) =>
        e instanceof UnsupportedConversionError &&
        e.handleKind === "IncrementalRemoteKeyedStateHandle" &&
        /convert it to canonical first/.test(e.message),
    );
    // A checkpoint whose absolute shared/ pointers lead to files that are gone. (Not the fixture
    // itself: its pointers lead to where Flink wrote it, /tmp/savepoint-kit-fixtures, which exists
    // on a machine that generated fixtures.) Its shared/ files are mapped onto a copy, then deleted.
    const chk = dirOf("2.3", "checkpoint-rocksdb-incremental");
    const jobDir = dirname(chk);
    const copy = join(tmp, "gone", "snapshot");
    cpSync(dirname(jobDir), copy, { recursive: true });
    const mapped = join(tmp, "gone-mapped", basename(jobDir), basename(chk));
    await relocateSnapshot(chk, mapped, {
      stores,
      maps: [{ from: `file:${dirname(jobDir).replace(FIXTURES_ROOT, GENERATED_ROOT)}`, to: copy }],
    });
    rmSync(join(copy, basename(jobDir), "shared"), { recursive: true });
    await assert.rejects(
      convertSnapshot(mapped, join(tmp, "refused2"), {
        stores,
        to: "canonical",
      }),
      (e: unknown) => (e as { code?: string }).code === "NOT_FOUND",
    );
  });
});

/** `ldb` (Debian rocksdb-tools), or why the real RocksDB checks are skipped. */
const noLdb = spawnSync("ldb", ["--help"], { stdio: "ignore" }).error
  ? "ldb (Debian rocksdb-tools) is not installed: the real RocksDB checks are skipped"
  : false;

/** The converted RocksDB handles of a snapshot with their operator and subtask. */
function rocksHandles(dir: string) {
  const m = readMetadata(readFileSync(join(dir, "_metadata")));
  return {
    metadata: m,
    handles: [...allHandles(m)]
      .filter((v) => v.slot === "managedKeyedState")
      .map((v) => ({
        key: `${v.operator.operatorId}/${v.subtask.subtaskIndex}`,
        maxParallelism: v.operator.maxParallelism,
        handle: v.handle as IncrementalRemoteKeyedStateHandle,
      })),
  };
}

describe("convertSnapshot, canonical and heap native -> native RocksDB", () => {
  for (const line of lines) {
    for (const c of ["savepoint-canonical-rocksdb", "savepoint-canonical-hashmap"]) {
      it(`${line}: ${c} -> native rocksdb holds the same records; back to canonical, the same keyed state`, async () => {
        const src = dirOf(line, c);
        const before = digest(src);
        const target = join(tmp, line, `${c}-to-rocksdb`);
        const r = await convertSnapshot(src, target, { stores, to: "native", backend: "rocksdb" });
        assert.deepEqual(digest(src), before, "the source is not modified");
        assert.equal(r.backend, "rocksdb");
        assert.equal(r.totals.converted, 8);
        assert.deepEqual(r.formatType, { before: "CANONICAL", after: "NATIVE" });
        for (const k of r.keyed) {
          assert.equal(k.from.layout, "canonical");
          assert.equal(k.to.handleKind, "IncrementalRemoteKeyedStateHandle");
          assert.equal(k.to.compressed, true, "Snappy table blocks by default");
          assert.ok((k.to.records ?? 0) > 0 && (k.to.bytes ?? 0) > 0);
        }
        const { metadata, handles } = rocksHandles(target);
        assert.equal(decodeCheckpointProperties(metadata.properties as Uint8Array)?.formatType, "NATIVE");
        const source = readMetadata(readFileSync(join(src, "_metadata")));
        for (const { handle: h } of handles) {
          assert.equal(h.kind, "IncrementalRemoteKeyedStateHandle");
          assert.equal(h.tag, 11);
          assert.equal(h.checkpointId, source.checkpointId);
          assert.deepEqual(h.sharedState, [], "a native savepoint's files are all private");
          const names = h.privateState.map((e) => e.localPath);
          assert.ok(names.includes("CURRENT") && names.some((n) => /^MANIFEST-\d{6}$/.test(n)), names.join());
          assert.ok(names.some((n) => /^\d{6}\.sst$/.test(n)));
          let total = 0;
          for (const e of [...h.privateState, { localPath: "meta", handle: h.metaStateHandle }]) {
            assert.equal(e.handle?.kind, "RelativeFileStateHandle");
            const rel = e.handle as { relativePath: string; stateSize: bigint };
            assert.equal(BigInt(statSync(join(target, rel.relativePath)).size), rel.stateSize, e.localPath);
            total += Number(rel.stateSize);
          }
          assert.equal(h.checkpointedSize, BigInt(total));
        }
        // the instances hold exactly the source's records (the reader's canonical view of them)
        const srcKeyed = await canonicalKeyed(src);
        const back = join(tmp, line, `${c}-to-rocksdb-to-canonical`);
        await convertSnapshot(target, back, { stores, to: "canonical" });
        assertSameKeyed(await canonicalKeyed(back), srcKeyed, `${line} ${c} round trip`);
      });
    }

    it(`${line}: native hashmap -> native rocksdb, through canonical records; native rocksdb is kept; the chain native rocksdb -> canonical -> native rocksdb`, async () => {
      const heap = dirOf(line, "savepoint-native-hashmap");
      const viaCanonical = join(tmp, line, "heap-canonical");
      await convertSnapshot(heap, viaCanonical, { stores, to: "canonical" });
      const target = join(tmp, line, "heap-to-rocksdb");
      const r = await convertSnapshot(heap, target, {
        stores,
        to: "native",
        backend: "rocksdb",
        compression: false,
      });
      assert.equal(r.totals.converted, 8);
      assert.ok(r.keyed.every((k) => k.from.layout === "heap" && !k.to.compressed));
      const back = join(tmp, line, "heap-to-rocksdb-to-canonical");
      await convertSnapshot(target, back, { stores, to: "canonical" });
      assertSameKeyed(await canonicalKeyed(back), await canonicalKeyed(viaCanonical), `${line} heap`);

      // native RocksDB to native RocksDB: nothing to convert, the files are copied
      const kept = join(tmp, line, "rocksdb-kept");
      const k = await convertSnapshot(dirOf(line, "savepoint-native-rocksdb"), kept, {
        stores,
        to: "native",
        backend: "rocksdb",
      });
      assert.equal(k.totals.kept, 8);
      assert.equal(k.totals.converted, 0);
      assert.deepEqual(k.formatType, { before: "NATIVE", after: "NATIVE" });
      const keptBack = join(tmp, line, "rocksdb-kept-canonical");
      await convertSnapshot(kept, keptBack, { stores, to: "canonical" });
      assertSameKeyed(
        await canonicalKeyed(keptBack),
        await canonicalKeyed(dirOf(line, "savepoint-canonical-rocksdb")),
        `${line} kept`,
      );

      // the chain: Flink's native RocksDB savepoint -> canonical -> our native RocksDB -> canonical
      const r2c = join(tmp, line, "chain-canonical");
      await convertSnapshot(dirOf(line, "savepoint-native-rocksdb"), r2c, { stores, to: "canonical" });
      const r2c2r = join(tmp, line, "chain-native-rocksdb");
      await convertSnapshot(r2c, r2c2r, { stores, to: "native", backend: "rocksdb" });
      const again = join(tmp, line, "chain-canonical-again");
      await convertSnapshot(r2c2r, again, { stores, to: "canonical" });
      assertSameKeyed(await canonicalKeyed(again), await canonicalKeyed(r2c), `${line} chain`);
    });

    it(`${line}: real RocksDB (ldb) opens every converted instance and scans the same entries`, {
      skip: noLdb,
    }, async () => {
      const target = join(tmp, line, "ldb-source");
      await convertSnapshot(dirOf(line, "savepoint-canonical-hashmap"), target, {
        stores,
        to: "native",
        backend: "rocksdb",
      });
      const resolver = snapshotFileResolver(normalizeUri(target), (u) => stores.storeFor(u));
      let scanned = 0;
      for (const { key, handle, maxParallelism } of rocksHandles(target).handles) {
        const dbDir = join(tmp, line, "ldb", key.replace("/", "-"));
        mkdirSync(dbDir, { recursive: true });
        for (const e of handle.privateState) {
          const f = await resolver.open(e.handle);
          writeFileSync(join(dbDir, e.localPath), await f.read(0, f.size));
        }
        const state = await openFlinkRocksDb(handle, resolver);
        const ours = new Map<string, string[]>();
        for await (const b of readRocksDbCanonicalRecords(state, maxParallelism)) {
          for (const r of b) {
            const name = state.header.states[r.stateId]?.name as string;
            const hex = (x: Uint8Array) => Buffer.from(x).toString("hex").toUpperCase();
            ours.set(name, [...(ours.get(name) ?? []), `0x${hex(r.key)} : 0x${hex(r.value)}`]);
          }
        }
        const ldb = (...args: string[]) => {
          const out = spawnSync("ldb", [`--db=${dbDir}`, ...args], { encoding: "utf8" });
          assert.equal(out.status, 0, `${key}: ldb ${args.join(" ")}: ${out.stderr}`);
          return out.stdout;
        };
        const families = ldb("list_column_families");
        for (const s of state.header.states) {
          assert.ok(families.includes(s.name), `${key}: column family ${s.name} in ${families}`);
          const lines = ldb(`--column_family=${s.name}`, "--hex", "scan")
            .split("\n")
            .filter((l) => l.startsWith("0x"));
          assert.deepEqual(lines, ours.get(s.name) ?? [], `${key} ${s.name}`);
          scanned += lines.length;
        }
      }
      assert.ok(scanned > 0);
    });
  }
});
