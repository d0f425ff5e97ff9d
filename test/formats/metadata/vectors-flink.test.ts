/**
 * Test vectors written by Flink itself (fixtures/vectors/, see its README.md): for every Flink line
 * that writes a metadata version, `CheckpointMetadata` objects with every handle kind were built in
 * Java and serialized with Flink's own `Checkpoints.storeCheckpointMetadata`; each
 * `<vector>.metadata` comes with `<vector>.json`, what Flink's `Checkpoints.loadCheckpointMetadata`
 * reads back from it.
 *
 * For every vector:
 *  - `readMetadata` gives a model that matches the JSON field by field (every JSON key is checked;
 *    an unknown key fails the test, so the JSON and this comparer cannot drift apart);
 *  - the order in which Flink wrote its hash maps (`writtenOrder`) is the model's order;
 *  - `writeMetadata(readMetadata(bytes))` is byte-identical to Flink's bytes.
 * A vector listed in {@link EXPECTED_VECTORS} but missing on disk fails (it is not skipped).
 *
 * Where Flink's loader does not reproduce the bytes the comparison follows what the loader does, as in
 * test/fixtures-expected.test.ts: map-derived lists (subtasks, operator state names, the shared and
 * private state of incremental handles up to Flink 1.15) are compared sorted by key, with their file
 * order checked against `writtenOrder`; fields a Flink version does not have are `null` in the JSON
 * and hold the model's documented placeholder (Flink 1.14 changelog bodies: -1 / "").
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { UnsupportedVersionError } from "../../../src/errors.js";
import {
  decodeCheckpointProperties,
  readMetadata,
  writeMetadata,
} from "../../../src/formats/metadata/index.js";
import type {
  ChannelInfo,
  CheckpointMetadata,
  HandleAndLocalPath,
  InputChannelStateHandle,
  KeyedStateHandle,
  OperatorState,
  OperatorStateHandle,
  ResultSubpartitionStateHandle,
  StreamStateHandle,
  SubtaskStateEntry,
} from "../../../src/formats/metadata/model.js";
import {
  arr,
  flinkRange,
  type Json,
  type JsonObject,
  keyedSize,
  obj,
  streamSize,
} from "../../helpers/flink-view.js";
import { REPO_ROOT } from "./helpers.js";

const VECTORS_DIR = join(REPO_ROOT, "fixtures", "vectors");

/**
 * The vectors the generator writes (fixtures/vectors/generate.sh), per Flink version. Keep in sync
 * with fixtures/vectors/README.md.
 */
const V2_VECTORS = ["basic", "incremental"];
/** Flink 1.3 also wrote legacy operator state (see {@link REFUSED_VECTORS}). */
const V2_13_VECTORS = [...V2_VECTORS, "legacy-state"];
const V3_VECTORS = ["basic", "incremental", "channel"];
const V3_114_VECTORS = [...V3_VECTORS, "finished", "changelog"];
const V4_VECTORS = [...V3_114_VECTORS, "no-properties", "full-checkpoint", "suspend-savepoint"];
const V4_120_VECTORS = [...V4_VECTORS, "file-merging"];
export const EXPECTED_VECTORS: Readonly<Record<string, { version: number; vectors: string[] }>> = {
  "1.3.3": { version: 2, vectors: V2_13_VECTORS },
  "1.4.2": { version: 2, vectors: V2_VECTORS },
  "1.5.6": { version: 2, vectors: V2_VECTORS },
  "1.6.4": { version: 2, vectors: V2_VECTORS },
  "1.7.2": { version: 2, vectors: V2_VECTORS },
  "1.8.3": { version: 2, vectors: V2_VECTORS },
  "1.9.3": { version: 2, vectors: V2_VECTORS },
  "1.10.3": { version: 2, vectors: V2_VECTORS },
  "1.11.6": { version: 3, vectors: V3_VECTORS },
  "1.12.7": { version: 3, vectors: V3_VECTORS },
  "1.13.6": { version: 3, vectors: V3_VECTORS },
  "1.14.6": { version: 3, vectors: V3_114_VECTORS },
  "1.15.4": { version: 3, vectors: V3_114_VECTORS },
  "1.16.3": { version: 4, vectors: V4_VECTORS },
  "1.17.2": { version: 4, vectors: V4_VECTORS },
  "1.18.1": { version: 4, vectors: V4_VECTORS },
  "1.19.3": { version: 4, vectors: V4_VECTORS },
  "1.20.5": { version: 4, vectors: V4_120_VECTORS },
  "2.0.2": { version: 5, vectors: V4_120_VECTORS },
  "2.1.3": { version: 6, vectors: V4_120_VECTORS },
  "2.2.1": { version: 6, vectors: V4_120_VECTORS },
  "2.3.0": { version: 6, vectors: V4_120_VECTORS },
};

/**
 * Vectors Flink wrote that we refuse to read, as every later Flink does, with why. Flink 1.3 still
 * wrote the legacy operator state of operators using the `Checkpointed` interface (legacy-state count
 * 1 and a stream handle); Flink 1.4+ refuses to load it (`SavepointV2Serializer`:
 * FAIL_WHEN_LEGACY_STATE_DETECTED) and so does our V2 reader, with an UnsupportedVersionError at the
 * count.
 */
export const REFUSED_VECTORS: Readonly<Record<string, string>> = {
  "1.3.3/legacy-state": "legacy operator state (Flink <= 1.3 'Checkpointed' interface)",
};

interface Vector {
  flinkVersion: string;
  name: string;
  metadataFile: string;
  jsonFile: string;
}

/** The expected vectors plus any other `<name>.json` found under a version directory. */
function listVectors(): Vector[] {
  const out = new Map<string, Vector>();
  const add = (flinkVersion: string, name: string) =>
    out.set(`${flinkVersion}/${name}`, {
      flinkVersion,
      name,
      metadataFile: join(VECTORS_DIR, flinkVersion, `${name}.metadata`),
      jsonFile: join(VECTORS_DIR, flinkVersion, `${name}.json`),
    });
  for (const [v, e] of Object.entries(EXPECTED_VECTORS)) for (const n of e.vectors) add(v, n);
  if (existsSync(VECTORS_DIR)) {
    for (const d of readdirSync(VECTORS_DIR, { withFileTypes: true })) {
      if (!d.isDirectory() || !/^\d+\.\d+\.\d+$/.test(d.name)) continue;
      for (const f of readdirSync(join(VECTORS_DIR, d.name))) {
        if (f.endsWith(".json")) add(d.name, f.slice(0, -".json".length));
      }
    }
  }
  return [...out.values()].sort((a, b) => compareVersions(a, b));
}

function compareVersions(a: Vector, b: Vector): number {
  const pa = a.flinkVersion.split(".").map(Number);
  const pb = b.flinkVersion.split(".").map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------------
// Comparer

const hexOf = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
const byName = <T extends { name: string }>(a: T, b: T): number =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

const SCOPES = ["EXCLUSIVE", "SHARED"];

/** A Flink version string ("1.3.3") is before `major.minor`. */
function flinkBefore(version: Json | undefined, major: number, minor: number): boolean {
  const [a = 0, b = 0] = String(version).split(".").map(Number);
  return a < major || (a === major && b < minor);
}

/**
 * The Java class name of a model handle kind in the Flink version that wrote the vector: the same
 * wire tags had other class names before Flink 1.5 (tag 4: the concrete `OperatorStateHandle`) and
 * 1.8 (tag 5: `IncrementalKeyedStateHandle`).
 */
function javaKind(kind: string, flinkVersion: Json | undefined): string {
  if (kind === "OperatorStreamStateHandle" && flinkBefore(flinkVersion, 1, 5)) return "OperatorStateHandle";
  if (kind === "IncrementalRemoteKeyedStateHandle" && flinkBefore(flinkVersion, 1, 8))
    return "IncrementalKeyedStateHandle";
  return kind;
}

/**
 * The Java name of an operator state mode in the Flink version that wrote the vector. The mode is
 * written as its ordinal; Flink 1.3/1.4 named ordinal 1 `BROADCAST` (union redistribution), which 1.5
 * renamed `UNION` when it added a new `BROADCAST` as ordinal 2.
 */
function javaMode(mode: string, flinkVersion: Json | undefined): string {
  return mode === "UNION" && flinkBefore(flinkVersion, 1, 5) ? "BROADCAST" : mode;
}

/** Flink's `EmptySegmentFileStateHandle.INSTANCE`, as the loader describes it. */
const EMPTY_SEGMENT = {
  filePath: "empty",
  startPos: "0",
  stateSize: "0",
  scope: "EXCLUSIVE",
  logicalFileId: "DUMMY",
};

/** Decodes a merged channel handle's offsets blob (`AbstractMergedChannelStateHandle`). */
function decodeChannelOffsets(b: Uint8Array): { info: ChannelInfo; stateSize: bigint; offsets: bigint[] }[] {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let p = 0;
  const n = v.getInt32(p);
  p += 4;
  const out: { info: ChannelInfo; stateSize: bigint; offsets: bigint[] }[] = [];
  for (let i = 0; i < n; i++) {
    const a = v.getInt32(p);
    const bb = v.getInt32(p + 4);
    const stateSize = v.getBigInt64(p + 8);
    const k = v.getInt32(p + 16);
    p += 20;
    const offsets: bigint[] = [];
    for (let j = 0; j < k; j++, p += 8) offsets.push(v.getBigInt64(p));
    out.push({ info: { a, b: bb }, stateSize, offsets });
  }
  assert.equal(p, b.byteLength, "trailing bytes in merged channel offsets");
  return out;
}

class Comparer {
  readonly problems: string[] = [];
  /** Java simple class names of the handles met (compared with the JSON's `handleKinds`). */
  readonly kinds = new Set<string>();
  private readonly writtenOrder: JsonObject;
  private readonly usedOrders = new Set<string>();

  constructor(private readonly json: JsonObject) {
    this.writtenOrder = obj(json.writtenOrder) ?? {};
  }

  eq(path: string, expected: Json | undefined, actual: unknown): void {
    const a = typeof actual === "bigint" ? actual.toString() : actual;
    if (expected === undefined) {
      this.problems.push(`${path}: missing in the JSON (ours: ${JSON.stringify(a)})`);
    } else if (JSON.stringify(expected) !== JSON.stringify(a)) {
      this.problems.push(`${path}: Flink ${JSON.stringify(expected)}, ours ${JSON.stringify(a)}`);
    }
  }

  /** The JSON object has exactly these keys (so every field of the ground truth is compared). */
  keys(path: string, x: JsonObject, keys: string[]): void {
    const extra = Object.keys(x).filter((k) => !keys.includes(k));
    const missing = keys.filter((k) => !(k in x));
    if (extra.length > 0) this.problems.push(`${path}: JSON keys not compared: ${extra.join(", ")}`);
    if (missing.length > 0) this.problems.push(`${path}: JSON keys missing: ${missing.join(", ")}`);
  }

  fail(path: string, message: string): void {
    this.problems.push(`${path}: ${message}`);
  }

  /** Checks the file order of a map-derived list against `writtenOrder[path]` (when recorded). */
  order(path: string, ours: (string | number)[]): boolean {
    const w = this.writtenOrder[path];
    if (w === undefined) return false;
    this.usedOrders.add(path);
    this.eq(`writtenOrder[${path}]`, w, ours);
    return true;
  }

  metadata(m: CheckpointMetadata): void {
    const e = this.json;
    this.keys("", e, [
      "flinkVersion",
      "vector",
      "description",
      "metadataVersion",
      "size",
      "sha256",
      "externalPointer",
      "exclusiveDir",
      "flinkRewritesIdentically",
      "loaderMatchesBuilt",
      "checkpointId",
      "masterStates",
      "properties",
      "operators",
      "writtenOrder",
      "handleKinds",
    ]);
    this.eq("metadataVersion", e.metadataVersion, m.version);
    this.eq("checkpointId", e.checkpointId, m.checkpointId);
    const masters = arr(e.masterStates);
    this.eq("masterStates.length", masters.length, m.masterStates.length);
    m.masterStates.forEach((ms, i) => {
      const x = obj(masters[i]);
      if (!x) return;
      const p = `masterStates[${i}]`;
      this.keys(p, x, ["name", "version", "bytes", "dataHex"]);
      this.eq(`${p}.name`, x.name, ms.name);
      this.eq(`${p}.version`, x.version, ms.version);
      this.eq(`${p}.bytes`, x.bytes, ms.bytes.length);
      this.eq(`${p}.dataHex`, x.dataHex, hexOf(ms.bytes));
    });
    this.properties(obj(e.properties), m);
    const ops = arr(e.operators);
    this.eq("operators.length", ops.length, m.operatorStates.length);
    m.operatorStates.forEach((op, i) => {
      const x = obj(ops[i]);
      if (x) this.operator(`operators[${i}]`, x, op);
    });
    this.eq("handleKinds", e.handleKinds, [...this.kinds].sort());
    for (const path of Object.keys(this.writtenOrder)) {
      if (!this.usedOrders.has(path))
        this.fail(`writtenOrder[${path}]`, "no such map-derived list in our model");
    }
  }

  private properties(e: JsonObject | null, m: CheckpointMetadata): void {
    if (e === null) {
      // V2/V3 have no trailer; V4+ without properties carry writeObject(null)
      if (m.version < 4) this.eq("properties(trailer)", null, m.properties);
      else if (m.properties === null || decodeCheckpointProperties(m.properties) !== null)
        this.fail("properties", "Flink read no properties; ours are not a serialized null");
      return;
    }
    this.keys("properties", e, [
      "forced",
      "checkpointType",
      "isSavepoint",
      "formatType",
      "sharingFilesStrategy",
      "discardSubsumed",
      "discardFinished",
      "discardCancelled",
      "discardFailed",
      "discardSuspended",
      "unclaimed",
      "javaClass",
      "typeClass",
    ]);
    if (m.properties === null) {
      this.fail("properties", "Flink read properties, ours has no trailer");
      return;
    }
    const p = decodeCheckpointProperties(m.properties);
    if (p === null) {
      this.fail("properties", "our decoder returned null for the trailer");
      return;
    }
    this.eq("properties.forced", e.forced, p.forced);
    this.eq("properties.checkpointType", e.checkpointType, p.typeName);
    this.eq("properties.isSavepoint", e.isSavepoint, p.snapshotType === "savepoint");
    this.eq(
      "properties.typeClass",
      e.typeClass,
      `org.apache.flink.runtime.checkpoint.${p.snapshotType === "savepoint" ? "SavepointType" : "CheckpointType"}`,
    );
    this.eq("properties.formatType", e.formatType, p.formatType);
    // SavepointType.getSharingFilesStrategy() is a constant NO_SHARING, not a field
    this.eq(
      "properties.sharingFilesStrategy",
      e.sharingFilesStrategy,
      p.sharingFilesStrategy ?? "NO_SHARING",
    );
    for (const k of [
      "discardSubsumed",
      "discardFinished",
      "discardCancelled",
      "discardFailed",
      "discardSuspended",
      "unclaimed",
    ] as const) {
      this.eq(`properties.${k}`, e[k], p[k]);
    }
  }

  private operator(path: string, e: JsonObject, op: OperatorState): void {
    this.keys(path, e, [
      "kind",
      "operatorId",
      "name",
      "uid",
      "parallelism",
      "maxParallelism",
      "coordinatorState",
      "fullyFinished",
      "subtasks",
    ]);
    this.eq(`${path}.kind`, e.kind, op.fullyFinished ? "FullyFinishedOperatorState" : "OperatorState");
    this.eq(`${path}.operatorId`, e.operatorId, op.operatorId);
    this.eq(`${path}.name`, e.name, op.name);
    this.eq(`${path}.uid`, e.uid, op.uid);
    this.eq(`${path}.parallelism`, e.parallelism, op.parallelism);
    this.eq(`${path}.maxParallelism`, e.maxParallelism, op.maxParallelism);
    this.eq(`${path}.fullyFinished`, e.fullyFinished, op.fullyFinished);
    this.stream(`${path}.coordinatorState`, e.coordinatorState, op.coordinatorState);
    this.order(
      `${path}.subtasks`,
      op.subtaskStates.map((s) => s.subtaskIndex),
    );
    const expected = arr(e.subtasks);
    const ours = [...op.subtaskStates].sort((a, b) => a.subtaskIndex - b.subtaskIndex);
    this.eq(`${path}.subtasks.length`, expected.length, ours.length);
    ours.forEach((s, i) => {
      const x = obj(expected[i]);
      if (x) this.subtask(`${path}.subtasks[${i}]`, x, s);
    });
  }

  private subtask(path: string, e: JsonObject, s: SubtaskStateEntry): void {
    // Flink 1.3's OperatorSubtaskState also has the legacy operator state (a vector we read has none)
    const legacy = flinkBefore(this.json.flinkVersion, 1, 4);
    this.keys(path, e, [
      "index",
      "kind",
      "finished",
      ...(legacy ? ["legacyOperatorState"] : []),
      "managedOperatorState",
      "rawOperatorState",
      "managedKeyedState",
      "rawKeyedState",
      "inputChannelState",
      "resultSubpartitionState",
    ]);
    this.eq(`${path}.index`, e.index, s.subtaskIndex);
    this.eq(`${path}.kind`, e.kind, s.kind);
    this.eq(`${path}.finished`, e.finished, s.kind === "FinishedOperatorSubtaskState");
    if (legacy) this.eq(`${path}.legacyOperatorState`, e.legacyOperatorState, null);
    const r = s.kind === "OperatorSubtaskState" ? s : null;
    this.slot(
      `${path}.managedOperatorState`,
      e.managedOperatorState,
      r?.managedOperatorState ?? null,
      (p, x, h) => this.operatorHandle(p, x, h),
    );
    this.slot(`${path}.rawOperatorState`, e.rawOperatorState, r?.rawOperatorState ?? null, (p, x, h) =>
      this.operatorHandle(p, x, h),
    );
    this.slot(`${path}.managedKeyedState`, e.managedKeyedState, r?.managedKeyedState ?? null, (p, x, h) =>
      this.keyed(p, x, h),
    );
    this.slot(`${path}.rawKeyedState`, e.rawKeyedState, r?.rawKeyedState ?? null, (p, x, h) =>
      this.keyed(p, x, h),
    );
    this.channels(`${path}.inputChannelState`, e.inputChannelState, r?.inputChannelState ?? []);
    this.channels(
      `${path}.resultSubpartitionState`,
      e.resultSubpartitionState,
      r?.resultSubpartitionState ?? [],
    );
  }

  private slot<T>(
    path: string,
    e: Json | undefined,
    h: T | null,
    compare: (p: string, x: JsonObject, h: T) => void,
  ) {
    const expected = arr(e);
    this.eq(`${path}.length`, expected.length, h === null ? 0 : 1);
    const x = obj(expected[0]);
    if (h !== null && x) compare(`${path}[0]`, x, h);
  }

  // ------------------------------------------------------------------------------- operator handles

  private operatorHandle(path: string, e: JsonObject, h: OperatorStateHandle): void {
    const merging = h.kind === "FileMergingOperatorStreamStateHandle";
    const kind =
      merging && h.isEmpty
        ? "EmptyFileMergingOperatorStreamStateHandle"
        : javaKind(h.kind, this.json.flinkVersion);
    this.kinds.add(kind);
    this.keys(
      path,
      e,
      merging
        ? ["kind", "states", "taskOwnedDirPath", "sharedDirPath", "stateSize", "delegate"]
        : ["kind", "states", "stateSize", "delegate"],
    );
    this.eq(`${path}.kind`, e.kind, kind);
    this.order(
      `${path}.states`,
      h.states.map((s) => s.name),
    );
    const ours = [...h.states].sort(byName);
    const expected = arr(e.states);
    this.eq(`${path}.states.length`, expected.length, ours.length);
    ours.forEach((st, i) => {
      const x = obj(expected[i]);
      if (!x) return;
      this.keys(`${path}.states[${i}]`, x, ["name", "mode", "offsets"]);
      this.eq(`${path}.states[${i}].name`, x.name, st.name);
      this.eq(`${path}.states[${i}].mode`, x.mode, javaMode(st.mode, this.json.flinkVersion));
      this.eq(`${path}.states[${i}].offsets`, x.offsets, st.offsets.map(String));
    });
    if (merging) {
      this.eq(`${path}.taskOwnedDirPath`, e.taskOwnedDirPath, h.taskOwnedDirPath);
      this.eq(`${path}.sharedDirPath`, e.sharedDirPath, h.sharedDirPath);
    }
    this.eq(`${path}.stateSize`, e.stateSize, streamSize(h.delegate));
    this.stream(`${path}.delegate`, e.delegate, h.delegate);
  }

  // ------------------------------------------------------------------------------- keyed handles

  private keyedList(path: string, e: Json | undefined, list: KeyedStateHandle[]): void {
    const expected = arr(e);
    this.eq(`${path}.length`, expected.length, list.length);
    list.forEach((h, i) => {
      const x = obj(expected[i]);
      if (x) this.keyed(`${path}[${i}]`, x, h);
    });
  }

  /** A JSON `null` (field absent in that Flink version) stands for the model's placeholder. */
  private eqOrPlaceholder(path: string, e: Json | undefined, ours: unknown, placeholder: unknown): void {
    if (e === null) {
      const str = (v: unknown) => (typeof v === "bigint" ? v.toString() : v);
      this.eq(
        `${path} (absent in this Flink version: the model's placeholder)`,
        str(placeholder) as Json,
        ours,
      );
    } else {
      this.eq(path, e, ours);
    }
  }

  private keyed(path: string, e: JsonObject, h: KeyedStateHandle): void {
    switch (h.kind) {
      case "KeyGroupsStateHandle":
      case "KeyGroupsSavepointStateHandle":
        this.kinds.add(h.kind);
        this.keys(path, e, ["kind", "keyGroupRange", "offsets", "stateHandleId", "delegate"]);
        this.eq(`${path}.kind`, e.kind, h.kind);
        this.eq(`${path}.keyGroupRange`, e.keyGroupRange, flinkRange(h.keyGroupRange));
        this.eq(`${path}.offsets`, e.offsets, h.offsets.map(String));
        this.eq(`${path}.stateHandleId`, e.stateHandleId, h.stateHandleId);
        this.stream(`${path}.delegate`, e.delegate, h.delegate);
        return;
      case "IncrementalRemoteKeyedStateHandle": {
        const kind = javaKind(h.kind, this.json.flinkVersion);
        this.kinds.add(kind);
        this.keys(path, e, [
          "kind",
          "checkpointId",
          "backendIdentifier",
          "keyGroupRange",
          "checkpointedSize",
          "stateSize",
          "stateHandleId",
          "metaStateHandle",
          "sharedState",
          "privateState",
        ]);
        this.eq(`${path}.kind`, e.kind, kind);
        this.eq(`${path}.checkpointId`, e.checkpointId, h.checkpointId);
        this.eq(`${path}.backendIdentifier`, e.backendIdentifier, h.backendIdentifier);
        this.eq(`${path}.keyGroupRange`, e.keyGroupRange, flinkRange(h.keyGroupRange));
        this.eq(`${path}.checkpointedSize`, e.checkpointedSize, h.checkpointedSize);
        this.eq(`${path}.stateSize`, e.stateSize, keyedSize(h));
        this.eq(`${path}.stateHandleId`, e.stateHandleId, h.stateHandleId);
        this.stream(`${path}.metaStateHandle`, e.metaStateHandle, h.metaStateHandle);
        this.localPaths(`${path}.sharedState`, e.sharedState, h.sharedState);
        this.localPaths(`${path}.privateState`, e.privateState, h.privateState);
        return;
      }
      case "ChangelogStateBackendHandle":
        this.kinds.add("ChangelogStateBackendHandleImpl");
        this.keys(path, e, [
          "kind",
          "keyGroupRange",
          "checkpointedSize",
          "materializationId",
          "checkpointId",
          "stateHandleId",
          "stateSize",
          "materialized",
          "nonMaterialized",
        ]);
        this.eq(`${path}.kind`, e.kind, "ChangelogStateBackendHandleImpl");
        this.eq(`${path}.keyGroupRange`, e.keyGroupRange, flinkRange(h.keyGroupRange));
        this.eqOrPlaceholder(`${path}.checkpointedSize`, e.checkpointedSize, h.checkpointedSize, -1n);
        this.eqOrPlaceholder(`${path}.materializationId`, e.materializationId, h.materializationId, -1n);
        // Flink 1.14/1.15 have no checkpoint id (null); 1.16+ reads tag 8 with checkpointId = materializationId
        if (e.checkpointId === null)
          this.eq(`${path}.checkpointId (absent in this Flink version)`, null, h.checkpointId);
        else this.eq(`${path}.checkpointId`, e.checkpointId, h.checkpointId ?? h.materializationId);
        this.eqOrPlaceholder(`${path}.stateHandleId`, e.stateHandleId, h.stateHandleId, "");
        this.eq(`${path}.stateSize`, e.stateSize, keyedSize(h));
        this.keyedList(`${path}.materialized`, e.materialized, h.materialized);
        this.keyedList(`${path}.nonMaterialized`, e.nonMaterialized, h.nonMaterialized);
        return;
      case "InMemoryChangelogStateHandle": {
        this.kinds.add(h.kind);
        this.keys(path, e, ["kind", "keyGroupRange", "from", "to", "changes", "stateHandleId", "stateSize"]);
        this.eq(`${path}.kind`, e.kind, h.kind);
        this.eq(`${path}.keyGroupRange`, e.keyGroupRange, flinkRange(h.keyGroupRange));
        this.eq(`${path}.from`, e.from, h.from);
        this.eq(`${path}.to`, e.to, h.to);
        this.eq(
          `${path}.changes`,
          e.changes,
          h.changes.map((c) => ({ keyGroup: c.keyGroup, dataHex: hexOf(c.data) })),
        );
        this.eqOrPlaceholder(`${path}.stateHandleId`, e.stateHandleId, h.stateHandleId, "");
        this.eq(`${path}.stateSize`, e.stateSize, keyedSize(h));
        return;
      }
      case "ChangelogStateHandleStreamImpl": {
        this.kinds.add(h.kind);
        this.keys(path, e, [
          "kind",
          "keyGroupRange",
          "handlesAndOffsets",
          "stateSize",
          "checkpointedSize",
          "stateHandleId",
          "storageIdentifier",
        ]);
        this.eq(`${path}.kind`, e.kind, h.kind);
        this.eq(`${path}.keyGroupRange`, e.keyGroupRange, flinkRange(h.keyGroupRange));
        const expected = arr(e.handlesAndOffsets);
        this.eq(`${path}.handlesAndOffsets.length`, expected.length, h.handlesAndOffsets.length);
        h.handlesAndOffsets.forEach((ho, i) => {
          const x = obj(expected[i]);
          if (!x) return;
          this.keys(`${path}.handlesAndOffsets[${i}]`, x, ["offset", "handle"]);
          this.eq(`${path}.handlesAndOffsets[${i}].offset`, x.offset, ho.offset);
          this.stream(`${path}.handlesAndOffsets[${i}].handle`, x.handle, ho.handle);
        });
        this.eq(`${path}.stateSize`, e.stateSize, h.size);
        this.eqOrPlaceholder(`${path}.checkpointedSize`, e.checkpointedSize, h.checkpointedSize, -1n);
        this.eqOrPlaceholder(`${path}.stateHandleId`, e.stateHandleId, h.stateHandleId, "");
        // Flink <= 1.15 has no storage identifier (null); 1.16+ reads tag 10 as "filesystem"
        if (e.storageIdentifier === null) this.eq(`${path}.storageIdentifier`, null, h.storageIdentifier);
        else this.eq(`${path}.storageIdentifier`, e.storageIdentifier, h.storageIdentifier ?? "filesystem");
        return;
      }
    }
  }

  private localPaths(path: string, e: Json | undefined, list: HandleAndLocalPath[]): void {
    // up to Flink 1.15 a Map<StateHandleID, StreamStateHandle>: the JSON is sorted by key and the
    // file order is in writtenOrder; from 1.16 a List, in file order
    const sorted = this.order(
      path,
      list.map((x) => x.localPath),
    );
    const ours = sorted
      ? [...list].sort((a, b) => (a.localPath < b.localPath ? -1 : a.localPath > b.localPath ? 1 : 0))
      : list;
    const expected = arr(e);
    this.eq(`${path}.length`, expected.length, ours.length);
    ours.forEach((entry, i) => {
      const x = obj(expected[i]);
      if (!x) return;
      this.keys(`${path}[${i}]`, x, ["localPath", "handle"]);
      this.eq(`${path}[${i}].localPath`, x.localPath, entry.localPath);
      this.stream(`${path}[${i}].handle`, x.handle, entry.handle);
    });
  }

  // ------------------------------------------------------------------------------- channel handles

  private channels(
    path: string,
    e: Json | undefined,
    list: (InputChannelStateHandle | ResultSubpartitionStateHandle)[],
  ): void {
    const expected = arr(e);
    this.eq(`${path}.length`, expected.length, list.length);
    list.forEach((h, i) => {
      const x = obj(expected[i]);
      if (x) this.channel(`${path}[${i}]`, x, h);
    });
  }

  private info(path: string, e: Json | undefined, kind: string, info: ChannelInfo): void {
    const input = kind.includes("InputChannel");
    this.eq(
      path,
      e,
      input
        ? { gateIdx: info.a, inputChannelIdx: info.b }
        : { partitionIdx: info.a, subPartitionIdx: info.b },
    );
  }

  private channel(
    path: string,
    e: JsonObject,
    h: InputChannelStateHandle | ResultSubpartitionStateHandle,
  ): void {
    this.kinds.add(h.kind);
    this.eq(`${path}.kind`, e.kind, h.kind);
    if (h.kind === "InputChannelStateHandle" || h.kind === "ResultSubpartitionStateHandle") {
      this.keys(path, e, ["kind", "subtaskIndex", "info", "offsets", "stateSize", "delegate"]);
      this.eq(`${path}.subtaskIndex`, e.subtaskIndex, h.subtaskIndex);
      this.info(`${path}.info`, e.info, h.kind, h.info);
      this.eq(`${path}.offsets`, e.offsets, h.offsets.map(String));
      this.eq(`${path}.stateSize`, e.stateSize, h.stateSize);
      this.stream(`${path}.delegate`, e.delegate, h.delegate);
      return;
    }
    this.keys(path, e, [
      "kind",
      "subtaskIndex",
      "stateSize",
      "delegate",
      "serializedChannelOffsetsHex",
      "channels",
    ]);
    this.eq(`${path}.subtaskIndex`, e.subtaskIndex, h.subtaskIndex);
    this.eq(`${path}.stateSize`, e.stateSize, h.stateSize);
    this.stream(`${path}.delegate`, e.delegate, h.delegate);
    this.eq(
      `${path}.serializedChannelOffsetsHex`,
      e.serializedChannelOffsetsHex,
      hexOf(h.serializedChannelOffsets),
    );
    const unmergedKind =
      h.kind === "MergedInputChannelStateHandle"
        ? "InputChannelStateHandle"
        : "ResultSubpartitionStateHandle";
    const ours = decodeChannelOffsets(h.serializedChannelOffsets);
    const expected = arr(e.channels);
    this.eq(`${path}.channels.length`, expected.length, ours.length);
    ours.forEach((c, i) => {
      const x = obj(expected[i]);
      if (!x) return;
      const p = `${path}.channels[${i}]`;
      this.keys(p, x, ["kind", "subtaskIndex", "info", "offsets", "stateSize"]);
      this.eq(`${p}.kind`, x.kind, unmergedKind);
      this.eq(`${p}.subtaskIndex`, x.subtaskIndex, h.subtaskIndex);
      this.info(`${p}.info`, x.info, unmergedKind, c.info);
      this.eq(`${p}.offsets`, x.offsets, c.offsets.map(String));
      this.eq(`${p}.stateSize`, x.stateSize, c.stateSize);
    });
  }

  // ------------------------------------------------------------------------------- stream handles

  private stream(path: string, e: Json | undefined, h: StreamStateHandle | null): void {
    if (h === null || e === null || e === undefined) {
      this.eq(path, e ?? null, h === null ? null : `<${h.kind}>`);
      return;
    }
    const x = obj(e);
    if (!x) {
      this.fail(path, `expected ${JSON.stringify(e)}`);
      return;
    }
    this.kinds.add(h.kind);
    this.eq(`${path}.kind`, x.kind, h.kind);
    switch (h.kind) {
      case "ByteStreamStateHandle":
        this.keys(path, x, ["kind", "handleName", "size", "dataHex"]);
        this.eq(`${path}.handleName`, x.handleName, h.handleName);
        this.eq(`${path}.size`, x.size, String(h.data.length));
        this.eq(`${path}.dataHex`, x.dataHex, hexOf(h.data));
        return;
      case "FileStateHandle":
        this.keys(path, x, ["kind", "filePath", "stateSize", "fileSize"]);
        this.eq(`${path}.filePath`, x.filePath, h.filePath);
        this.eq(`${path}.stateSize`, x.stateSize, h.stateSize);
        return;
      case "RelativeFileStateHandle":
        this.keys(path, x, ["kind", "relativePath", "filePath", "stateSize", "fileSize"]);
        this.eq(`${path}.relativePath`, x.relativePath, h.relativePath);
        this.eq(`${path}.filePath`, x.filePath, `${String(this.json.exclusiveDir)}/${h.relativePath}`);
        this.eq(`${path}.stateSize`, x.stateSize, h.stateSize);
        return;
      case "SegmentFileStateHandle":
        this.keys(path, x, ["kind", "filePath", "startPos", "stateSize", "scope", "logicalFileId"]);
        this.eq(`${path}.filePath`, x.filePath, h.physicalFilePath);
        this.eq(`${path}.startPos`, x.startPos, h.startPos);
        this.eq(`${path}.stateSize`, x.stateSize, h.stateSize);
        this.eq(`${path}.scope`, x.scope, SCOPES[h.scope]);
        this.eq(`${path}.logicalFileId`, x.logicalFileId, h.logicalFileId);
        return;
      case "EmptySegmentFileStateHandle":
        this.keys(path, x, ["kind", "filePath", "startPos", "stateSize", "scope", "logicalFileId"]);
        this.eq(path, x, { kind: "EmptySegmentFileStateHandle", ...EMPTY_SEGMENT });
        return;
      case "KeyGroupsStateHandle":
      case "KeyGroupsSavepointStateHandle":
        // a key-groups handle in a stream position: tag 3, no state handle id
        this.keys(path, x, ["kind", "keyGroupRange", "offsets", "stateHandleId", "delegate"]);
        this.eq(`${path}.keyGroupRange`, x.keyGroupRange, flinkRange(h.keyGroupRange));
        this.eq(`${path}.offsets`, x.offsets, h.offsets.map(String));
        this.eq(`${path}.stateHandleId`, x.stateHandleId, h.stateHandleId);
        this.stream(`${path}.delegate`, x.delegate, h.delegate);
        return;
    }
  }
}

/** First differing offset of two byte arrays, with hex context, or null if equal. */
function firstDifference(ours: Uint8Array, flink: Uint8Array): string | null {
  const n = Math.min(ours.length, flink.length);
  let i = 0;
  while (i < n && ours[i] === flink[i]) i++;
  if (i === n && ours.length === flink.length) return null;
  const ctx = (b: Uint8Array) => hexOf(b.subarray(Math.max(0, i - 8), i + 24));
  return (
    `first difference at offset ${i} (0x${i.toString(16)}) of ${flink.length} bytes ` +
    `(ours ${ours.length} bytes); from offset ${Math.max(0, i - 8)}:\n  Flink ${ctx(flink)}\n  ours  ${ctx(ours)}`
  );
}

// ---------------------------------------------------------------------------------------------------

const vectors = listVectors();

describe("metadata vectors written by Flink itself (fixtures/vectors)", () => {
  it("every expected vector is present (metadata + json)", () => {
    const missing = vectors
      .filter((v) => EXPECTED_VECTORS[v.flinkVersion]?.vectors.includes(v.name))
      .flatMap((v) => [v.metadataFile, v.jsonFile].filter((f) => !existsSync(f)));
    assert.deepStrictEqual(missing, [], "missing vectors: run fixtures/vectors/generate.sh");
  });

  for (const v of vectors) {
    describe(`Flink ${v.flinkVersion} ${v.name}`, () => {
      const load = (): { bytes: Uint8Array; json: JsonObject } => {
        assert.ok(existsSync(v.metadataFile), `missing ${v.metadataFile}`);
        assert.ok(existsSync(v.jsonFile), `missing ${v.jsonFile}`);
        const bytes = new Uint8Array(readFileSync(v.metadataFile));
        const json = JSON.parse(readFileSync(v.jsonFile, "utf8")) as JsonObject;
        assert.equal(json.flinkVersion, v.flinkVersion);
        assert.equal(json.vector, v.name);
        assert.equal(json.size, bytes.length, "JSON and .metadata disagree on the size");
        assert.equal(
          json.sha256,
          createHash("sha256").update(bytes).digest("hex"),
          "JSON and .metadata disagree",
        );
        const expectedVersion = EXPECTED_VECTORS[v.flinkVersion]?.version;
        if (expectedVersion !== undefined) assert.equal(json.metadataVersion, expectedVersion);
        return { bytes, json };
      };

      const refused = REFUSED_VECTORS[`${v.flinkVersion}/${v.name}`];
      if (refused !== undefined) {
        it(`is refused like later Flink versions refuse it: ${refused}`, () => {
          const { bytes, json } = load();
          // the vector really holds legacy state: Flink's loader of that version read some
          const legacy = arr(json.operators).flatMap((op) =>
            arr(obj(op)?.subtasks).filter((st) => obj(st)?.legacyOperatorState != null),
          );
          assert.ok(legacy.length > 0, "the JSON shows no legacy operator state");
          assert.throws(
            () => readMetadata(bytes, v.metadataFile),
            (e: unknown) => {
              assert.ok(e instanceof UnsupportedVersionError, String(e));
              assert.equal(e.version, 2);
              // at the legacy-state count 1, after the subtask's duration -1
              assert.equal(hexOf(bytes.subarray(e.offset - 8, e.offset + 4)), `${"ff".repeat(8)}00000001`);
              return true;
            },
          );
        });
        return;
      }

      it("reads what Flink's loader reads", () => {
        const { bytes, json } = load();
        const m = readMetadata(bytes, v.metadataFile);
        const c = new Comparer(json);
        c.metadata(m);
        assert.deepStrictEqual(c.problems, [], `${c.problems.length} difference(s)`);
      });

      it("writes Flink's bytes back exactly", () => {
        const { bytes } = load();
        const written = writeMetadata(readMetadata(bytes, v.metadataFile));
        const diff = firstDifference(written, bytes);
        assert.equal(diff, null, diff ?? "");
      });
    });
  }

  it("the comparer notices differences", () => {
    const v = vectors.find((x) => x.flinkVersion === "2.3.0" && x.name === "basic");
    assert.ok(v && existsSync(v.jsonFile), "fixtures/vectors/2.3.0/basic is missing");
    const json = JSON.parse(readFileSync(v.jsonFile, "utf8")) as JsonObject;
    const m = readMetadata(new Uint8Array(readFileSync(v.metadataFile)));
    const op = m.operatorStates[0] as OperatorState;
    op.parallelism += 1;
    op.name = "renamed";
    const s0 = op.subtaskStates.find((s) => s.subtaskIndex === 0);
    if (s0?.kind === "OperatorSubtaskState" && s0.managedOperatorState)
      s0.managedOperatorState.states.reverse();
    const c = new Comparer(json);
    c.metadata(m);
    for (const p of [
      /^operators\[0\]\.parallelism/,
      /^operators\[0\]\.name/,
      /^writtenOrder\[operators\[0\]\.subtasks\[0\]\.managedOperatorState\[0\]\.states\]/,
    ]) {
      assert.ok(
        c.problems.some((x) => p.test(x)),
        `expected a problem matching ${p}:\n${c.problems.join("\n")}`,
      );
    }
  });
});
