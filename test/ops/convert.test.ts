/**
 * Issue #8, `convert` as an operation and a CLI command, on the fixtures: heap native -> canonical and
 * canonical (hashmap and RocksDB savepoints) -> heap native keep every keyed entry (decoded by the
 * project's reader, per operator), copy the rest, rewrite the savepoint format type, write `_metadata`
 * last, never touch the source; dry runs write nothing; RocksDB native state to a native target and
 * other refusals are typed errors (RocksDB native -> canonical: `convert-rocksdb.test.ts`). That Flink restores the results is `test/flink/convert.test.ts`.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { runCli } from "../../src/cli/main.js";
import { AlreadyExistsError, InvalidArgumentError } from "../../src/errors.js";
import { readMetadata, writeMetadata } from "../../src/formats/metadata/index.js";
import type { CheckpointMetadata, KeyGroupsStateHandle } from "../../src/formats/metadata/model.js";
import { decodeCheckpointProperties } from "../../src/formats/metadata/properties.js";
import { allHandles } from "../../src/formats/metadata/traverse.js";
import { readCanonicalRecords } from "../../src/formats/state/canonical-records.js";
import { keyGroupPrefixBytes, readKeyedEntries, readKeyedHeader } from "../../src/formats/state/keyed.js";
import { snapshotFileResolver } from "../../src/formats/state/stream.js";
import { convertSnapshot, UnsupportedConversionError } from "../../src/ops/convert.js";
import { dumpState, stateValueJson } from "../../src/ops/dump.js";
import { LocalStore } from "../../src/storage/local.js";
import { StoreRegistry } from "../../src/storage/registry.js";
import { normalizeUri } from "../../src/storage/uri.js";
import { listChangelogOpsFixtures, listFixtures, readableFixtureDir } from "../helpers/fixtures.js";

const stores = new StoreRegistry();
const tmp = mkdtempSync(join(tmpdir(), "sk-convert-"));
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
const json = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? `${x}n` : x));

/** Every record of every operator's keyed state (`dump`), as sorted JSON lines. */
async function dumped(dir: string, keyType?: string): Promise<string[]> {
  const m = readMetadata(readFileSync(join(dir, "_metadata")));
  const out: string[] = [];
  for (const op of m.operatorStates) {
    const keyed = op.subtaskStates.some((s) => s.kind === "OperatorSubtaskState" && s.managedKeyedState);
    if (!keyed) continue;
    for await (const r of dumpState(dir, {
      stores,
      operator: op.operatorId,
      ...(keyType ? { keyType } : {}),
    }))
      if (r.keyGroup !== null) out.push(`${op.operatorId} ${stateValueJson(r)}`);
  }
  return out.sort();
}

/**
 * The canonical records of every keyed subtask of a canonical snapshot, per operator and subtask, as
 * sorted `state key-group key-hex value-hex` lines (state by name: the two files may number them apart).
 */
async function canonicalRecords(dir: string): Promise<Map<string, string[]>> {
  const m = readMetadata(readFileSync(join(dir, "_metadata")));
  const resolver = snapshotFileResolver(normalizeUri(dir), (u) => stores.storeFor(u));
  const out = new Map<string, string[]>();
  for (const op of m.operatorStates)
    for (const s of op.subtaskStates) {
      if (s.kind !== "OperatorSubtaskState" || !s.managedKeyedState) continue;
      const h = s.managedKeyedState as KeyGroupsStateHandle;
      assert.equal(h.kind, "KeyGroupsSavepointStateHandle");
      const file = await resolver.open(h.delegate);
      const { header } = await readKeyedHeader(file);
      const lines: string[] = [];
      for await (const b of readCanonicalRecords(file, h, header))
        for (const r of b)
          lines.push(
            `${header.states[r.stateId]?.name} ${r.keyGroup} ${Buffer.from(r.key).toString("hex")} ${Buffer.from(r.value).toString("hex")}`,
          );
      out.set(`${op.operatorId}[${s.subtaskIndex}]`, lines.sort());
    }
  return out;
}

/** Every keyed entry of a snapshot (decoded, TTL timestamps kept), per operator, sorted; and the handle kinds. */
async function keyedEntries(dir: string): Promise<{ entries: Map<string, string[]>; kinds: Set<string> }> {
  const m = readMetadata(readFileSync(join(dir, "_metadata")));
  const resolver = snapshotFileResolver(normalizeUri(dir), (u) => stores.storeFor(u));
  const entries = new Map<string, string[]>();
  const kinds = new Set<string>();
  for (const v of allHandles(m)) {
    const h = v.handle;
    if (v.slot !== "managedKeyedState") continue;
    assert.ok(h.kind === "KeyGroupsStateHandle" || h.kind === "KeyGroupsSavepointStateHandle", h.kind);
    kinds.add(h.kind);
    const file = await resolver.open(h.delegate);
    const { header } = await readKeyedHeader(file);
    const list = entries.get(v.operator.operatorId) ?? [];
    for await (const e of readKeyedEntries(file, h, header, {
      keyGroupPrefixBytes: keyGroupPrefixBytes(v.operator.maxParallelism),
    })) {
      const { bytes: _, ...rest } = e;
      list.push(json(rest));
    }
    entries.set(v.operator.operatorId, list);
  }
  for (const l of entries.values()) l.sort();
  return { entries, kinds };
}

/** Operator state and coordinator state of a model, pointers aside. */
function nonKeyed(m: CheckpointMetadata): string {
  return json(
    m.operatorStates.map((o) => ({
      id: o.operatorId,
      coordinator: o.coordinatorState,
      subtasks: o.subtaskStates.map((s) =>
        s.kind === "OperatorSubtaskState"
          ? { i: s.subtaskIndex, op: s.managedOperatorState && { ...s.managedOperatorState, delegate: null } }
          : s,
      ),
    })),
  );
}

/** SHA-256 of every file under `dir`, by name. */
function digest(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!f.isFile()) continue;
    const p = join(f.parentPath, f.name);
    out[p] = createHash("sha256").update(readFileSync(p)).digest("hex");
  }
  return out;
}

describe("convertSnapshot", () => {
  for (const line of lines) {
    it(`${line}: native hashmap -> canonical keeps every entry, copies the rest, rewrites the format type`, async () => {
      const src = dirOf(line, "savepoint-native-hashmap");
      const before = digest(src);
      const target = join(tmp, line, "n2c");
      const r = await convertSnapshot(src, target, { stores, to: "canonical" });
      assert.deepEqual(digest(src), before, "the source is not modified");
      assert.equal(r.totals.converted, 8);
      assert.equal(r.totals.kept + r.totals.relabelled, 0);
      assert.equal(r.copies.length, 7, "the operator state files");
      assert.deepEqual(r.referenced, []);
      assert.deepEqual(r.formatType, { before: "NATIVE", after: "CANONICAL" });
      for (const k of r.keyed) {
        assert.equal(k.from.layout, "heap");
        assert.equal(k.to.handleKind, "KeyGroupsSavepointStateHandle");
        assert.ok(k.to.uri && existsSync(new URL(k.to.uri)));
        assert.deepEqual(k.problems, []);
      }
      const m = readMetadata(readFileSync(join(target, "_metadata")));
      const sm = readMetadata(readFileSync(join(src, "_metadata")));
      assert.equal(m.version, sm.version);
      assert.equal(decodeCheckpointProperties(m.properties as Uint8Array)?.formatType, "CANONICAL");
      assert.equal(nonKeyed(m), nonKeyed(sm), "operator and coordinator state unchanged");
      for (const v of allHandles(m)) {
        if (v.slot !== "managedKeyedState") continue;
        const h = v.handle as KeyGroupsStateHandle;
        assert.equal(h.kind, "KeyGroupsSavepointStateHandle");
        assert.equal(h.stateHandleId, null);
        assert.equal(h.delegate.kind, "RelativeFileStateHandle");
      }
      // every file of the target is referenced, and only files of the target
      const names = readdirSync(target)
        .filter((n) => n !== "_metadata")
        .sort();
      const referenced = new Set<string>();
      for (const v of allHandles(m)) {
        const d = (v.handle as { delegate?: { kind: string; relativePath?: string } }).delegate;
        if (d?.kind === "RelativeFileStateHandle") referenced.add(d.relativePath as string);
      }
      assert.deepEqual([...referenced].sort(), names);
      const a = await keyedEntries(src);
      const b = await keyedEntries(target);
      assert.deepEqual(b.entries, a.entries);
      assert.deepEqual([...b.kinds], ["KeyGroupsSavepointStateHandle"]);

      // and back to native: the same entries again, in heap files Flink's HeapRestoreOperation reads
      const back = join(tmp, line, "n2c2n");
      const r2 = await convertSnapshot(target, back, { stores, to: "native", backend: "hashmap" });
      assert.equal(r2.totals.converted, 8);
      assert.deepEqual(r2.formatType, { before: "CANONICAL", after: "NATIVE" });
      const c = await keyedEntries(back);
      assert.deepEqual(c.entries, a.entries);
      assert.deepEqual([...c.kinds], ["KeyGroupsStateHandle"]);
      const mb = readMetadata(readFileSync(join(back, "_metadata")));
      for (const v of allHandles(mb)) {
        if (v.slot === "managedKeyedState")
          assert.match((v.handle as KeyGroupsStateHandle).stateHandleId ?? "", /^[0-9a-f-]{36}$/);
      }
      // the trailer is the source's again
      assert.deepEqual(
        Uint8Array.from(mb.properties as Uint8Array),
        Uint8Array.from(sm.properties as Uint8Array),
      );
    });

    for (const c of ["savepoint-canonical-hashmap", "savepoint-canonical-rocksdb"]) {
      it(`${line}: ${c} -> native hashmap keeps every entry; compression as the source unless told`, async () => {
        const src = dirOf(line, c);
        const target = join(tmp, line, `${c}-native`);
        const r = await convertSnapshot(src, target, { stores, to: "native", backend: "hashmap" });
        assert.equal(r.totals.converted, 8);
        assert.ok(r.keyed.every((k) => k.from.compressed && k.to.compressed));
        assert.deepEqual((await keyedEntries(target)).entries, (await keyedEntries(src)).entries);
        const plain = join(tmp, line, `${c}-native-plain`);
        const r2 = await convertSnapshot(src, plain, {
          stores,
          to: "native",
          backend: "hashmap",
          compression: false,
        });
        assert.ok(r2.keyed.every((k) => !k.to.compressed));
        assert.deepEqual((await keyedEntries(plain)).entries, (await keyedEntries(src)).entries);
        // canonical -> canonical: nothing to convert, everything kept and copied
        const same = join(tmp, line, `${c}-canonical`);
        const r3 = await convertSnapshot(src, same, { stores, to: "canonical" });
        assert.equal(r3.totals.converted, 0);
        assert.equal(r3.totals.kept, 8);
        assert.deepEqual(r3.formatType, { before: "CANONICAL", after: "CANONICAL" });
        assert.deepEqual((await keyedEntries(same)).entries, (await keyedEntries(src)).entries);
      });
    }
  }

  it("canonical data in a plain KeyGroupsStateHandle (RocksDB full checkpoints before 1.15) is relabelled", async () => {
    const src = join(tmp, "relabel-src");
    cpSync(dirOf("1.20", "savepoint-canonical-rocksdb"), src, { recursive: true });
    const m = readMetadata(readFileSync(join(src, "_metadata")));
    const edited: CheckpointMetadata = {
      ...m,
      operatorStates: m.operatorStates.map((o) => ({
        ...o,
        subtaskStates: o.subtaskStates.map((s) =>
          s.kind === "OperatorSubtaskState" && s.managedKeyedState?.kind === "KeyGroupsSavepointStateHandle"
            ? {
                ...s,
                managedKeyedState: {
                  ...s.managedKeyedState,
                  kind: "KeyGroupsStateHandle",
                  tag: 12,
                  stateHandleId: "x",
                },
              }
            : s,
        ),
      })),
    };
    writeFileSync(join(src, "_metadata"), writeMetadata(edited));
    const target = join(tmp, "relabel-out");
    const r = await convertSnapshot(src, target, { stores, to: "canonical" });
    assert.equal(r.totals.relabelled, 8);
    const out = await keyedEntries(target);
    assert.deepEqual([...out.kinds], ["KeyGroupsSavepointStateHandle"]);
    assert.deepEqual(out.entries, (await keyedEntries(src)).entries);
  });

  it("a dry run reads headers and writes nothing", async () => {
    const target = join(tmp, "dry");
    const r = await convertSnapshot(dirOf("2.3", "savepoint-native-hashmap"), target, {
      stores,
      to: "canonical",
      dryRun: true,
    });
    assert.equal(r.dryRun, true);
    assert.equal(r.keyed.length, 8);
    assert.ok(r.keyed.every((k) => k.action === "convert" && k.to.uri === null));
    assert.equal(existsSync(target), false);
  });

  it("refuses RocksDB native state to native hashmap, an unknown backend, no backend, a target inside the source, an existing _metadata", async () => {
    for (const c of ["savepoint-native-rocksdb", "checkpoint-rocksdb-incremental"]) {
      await assert.rejects(
        convertSnapshot(dirOf("2.3", c), join(tmp, "refused"), { stores, to: "native", backend: "hashmap" }),
        (e: unknown) =>
          e instanceof UnsupportedConversionError &&
          e.code === "UNSUPPORTED_VERSION" &&
          e.handleKind === "IncrementalRemoteKeyedStateHandle" &&
          /convert it to canonical first/.test(e.message),
      );
    }
    assert.equal(existsSync(join(tmp, "refused")), false);
    const src = dirOf("1.20", "savepoint-native-hashmap");
    await assert.rejects(
      convertSnapshot(src, join(tmp, "x"), {
        stores,
        to: "native",
        backend: "memory" as unknown as "rocksdb",
      }),
      InvalidArgumentError,
    );
    await assert.rejects(
      convertSnapshot(src, join(tmp, "x"), { stores, to: "native" }),
      InvalidArgumentError,
    );
    await assert.rejects(
      convertSnapshot(src, join(src, "inside"), { stores, to: "canonical" }),
      InvalidArgumentError,
    );
    const target = join(tmp, "twice");
    await convertSnapshot(src, target, { stores, to: "canonical" });
    await assert.rejects(convertSnapshot(src, target, { stores, to: "canonical" }), AlreadyExistsError);
    await convertSnapshot(src, target, { stores, to: "canonical", overwrite: true });
  });

  it("changelog state backend: converts the replayed state to canonical and native RocksDB; refuses native hashmap, writing nothing", async () => {
    for (const line of ["1.20", "2.3"]) {
      const f = fixtures.find((x) => x.id === `flink-${line}/checkpoint-rocksdb-changelog-materialized`);
      assert.ok(f);
      const src = await readableFixtureDir(f, stores, tmp);
      const target = join(tmp, `changelog-hashmap-${line}`);
      await assert.rejects(
        convertSnapshot(src, target, { stores, to: "native", backend: "hashmap" }),
        (e: unknown) =>
          e instanceof UnsupportedConversionError &&
          e.handleKind === "ChangelogStateBackendHandle" &&
          /changelog state, not converted to native hashmap directly: convert it to canonical first/.test(
            e.message,
          ),
      );
      assert.equal(existsSync(target), false, `${target} not created`);
      const replayed = await dumped(src);
      for (const opts of [{ to: "canonical" }, { to: "native", backend: "rocksdb" }] as const) {
        const out = join(tmp, `changelog-${opts.to}-${line}`);
        const report = await convertSnapshot(src, out, { stores, ...opts });
        const changelog = report.keyed.filter((k) => k.from.layout === "changelog");
        assert.equal(changelog.length, 8, "every keyed subtask");
        assert.ok(changelog.every((k) => k.action === "convert" && k.problems.length === 0));
        assert.deepEqual(await dumped(out), replayed, `${line} ${opts.to}`);
      }
    }
  });

  it("changelog never materialized: the key type is named, else refused before anything is written", async () => {
    const f = fixtures.find((x) => x.id === "flink-2.3/checkpoint-rocksdb-changelog");
    assert.ok(f);
    const src = await readableFixtureDir(f, stores, tmp);
    const target = join(tmp, "changelog-no-key");
    await assert.rejects(convertSnapshot(src, target, { stores, to: "canonical" }), (e: Error) =>
      /never materialized and its changes record no key type; name it \(convert --key-type/.test(e.message),
    );
    assert.equal(existsSync(join(target, "_metadata")), false);
    await convertSnapshot(src, target, { stores, to: "canonical", keyType: "String" });
    assert.deepEqual(await dumped(target), await dumped(src, "String"));
    const r = await runCli(
      ["convert", src, join(tmp, "changelog-cli"), "--to", "canonical", "--key-type", "String"],
      {
        stores,
      },
    );
    assert.equal(r.exitCode, 0, r.stderr);
  });

  it("changelog-ops: the converted records are the ones Flink wrote into its savepoint after restoring the checkpoint", async () => {
    for (const f of listChangelogOpsFixtures()) {
      const src = await readableFixtureDir(f, stores, tmp);
      const out = join(tmp, `changelog-ops-${f.id.replace("/", "-")}`);
      await convertSnapshot(src, out, { stores, to: "canonical" });
      const ours = await canonicalRecords(out);
      const flink = await canonicalRecords(join(f.caseDir, String(f.expected.savepointDir)));
      assert.ok(ours.size >= 2);
      assert.deepEqual(ours, flink, f.id);
    }
  });

  it("every converted file is on stable storage (fdatasync) before _metadata is written", async () => {
    const events: string[] = [];
    const local = new LocalStore({
      sync: async (path, kind) => {
        events.push(`${kind} ${path}`);
      },
    });
    const recording = new StoreRegistry({ file: () => local });
    for (const [c, to] of [
      ["savepoint-native-hashmap", "canonical"],
      ["savepoint-canonical-rocksdb", "native"],
    ] as const) {
      events.length = 0;
      const target = join(tmp, "durable", c);
      const r = await convertSnapshot(dirOf(lines[0] as string, c), target, {
        stores: recording,
        to,
        ...(to === "native" ? { backend: "hashmap" as const } : {}),
        workers: false,
      });
      const metadataSync = events.findIndex((e) => e.startsWith("file ") && e.includes("_metadata"));
      assert.ok(metadataSync > 0, events.join("\n"));
      assert.ok(r.keyed.length > 0);
      for (const k of r.keyed) {
        const path = new URL(k.to.uri as string).pathname;
        const synced = events.indexOf(`file ${path}`);
        assert.ok(synced >= 0 && synced < metadataSync, `${path} synced before _metadata`);
      }
    }
    await recording.close();
  });
});

describe("CLI convert", () => {
  it("converts, prints a summary, --json the report; --dry-run writes nothing", async () => {
    const src = dirOf("2.3", "savepoint-native-hashmap");
    const dry = await runCli(["convert", src, join(tmp, "cli-dry"), "--to", "canonical", "--dry-run"], {
      stores,
    });
    assert.equal(dry.exitCode, 0, dry.stderr);
    assert.match(dry.stdout, /Plan \(dry run, nothing written\) to canonical/);
    assert.match(dry.stdout, /8 subtasks converted/);
    assert.equal(existsSync(join(tmp, "cli-dry")), false);
    const r = await runCli(["convert", src, join(tmp, "cli"), "--to", "canonical", "--json"], { stores });
    assert.equal(r.exitCode, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.totals.converted, 8);
    assert.equal(report.formatType.after, "CANONICAL");
    const bad = await runCli(
      [
        "convert",
        dirOf("2.3", "savepoint-native-rocksdb"),
        join(tmp, "cli-bad"),
        "--to",
        "native",
        "--backend",
        "hashmap",
      ],
      {
        stores,
      },
    );
    assert.notEqual(bad.exitCode, 0);
    assert.match(bad.stderr, /RocksDB native state/);
    const usage = await runCli(["convert", src, join(tmp, "cli-usage")], { stores });
    assert.equal(usage.exitCode, 64, "--to is required");
  });

  it("--to native --backend rocksdb: RocksDB handles, Snappy tables unless --no-compression", async () => {
    const src = dirOf("1.20", "savepoint-canonical-hashmap");
    const r = await runCli(
      ["convert", src, join(tmp, "cli-rocksdb"), "--to", "native", "--backend", "rocksdb"],
      {
        stores,
      },
    );
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /Converted to native rocksdb/);
    assert.match(r.stdout, /-> IncrementalRemoteKeyedStateHandle \(rocksdb, snappy, /);
    const plain = await runCli(
      [
        "convert",
        src,
        join(tmp, "cli-rocksdb-plain"),
        "--to",
        "native",
        "--backend",
        "rocksdb",
        "--no-compression",
        "--json",
      ],
      { stores },
    );
    assert.equal(plain.exitCode, 0, plain.stderr);
    const report = JSON.parse(plain.stdout);
    assert.equal(report.backend, "rocksdb");
    assert.equal(report.totals.converted, 8);
    for (const k of report.keyed) {
      assert.equal(k.to.handleKind, "IncrementalRemoteKeyedStateHandle");
      assert.equal(k.to.compressed, false);
    }
  });
});
