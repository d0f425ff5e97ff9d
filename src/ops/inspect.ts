/**
 * `inspect`: a complete, plain-data picture of a snapshot: what kind it is, every operator with its
 * identity, parallelism and state sizes, and every handle of every subtask with the files it uses.
 *
 * The report is JSON-ready except for `bigint` values (Java longs: ids, byte counts), which the CLI
 * writes as decimal strings; its JSON form is described by `schemas/inspect.schema.json`.
 */

import { decodeCheckpointProperties } from "../formats/metadata/index.js";
import type {
  CheckpointMetadata,
  KeyGroupRange,
  OperatorState,
  OperatorStateDistributionMode,
} from "../formats/metadata/model.js";
import { filePointer } from "../formats/metadata/pointers.js";
import {
  SLOT_FAMILY,
  type StateFamily,
  type SubtaskHandle,
  type SubtaskSlot,
  stateSize,
  streamHandleSize,
  streamLeaves,
  subtaskHandles,
} from "../formats/metadata/traverse.js";
import { operatorIdFromUid } from "../formats/operator-id.js";
import type { StoreRegistry } from "../storage/registry.js";
import { loadSnapshot } from "./locate.js";

/** Byte counts of an operator's (or the whole snapshot's) state, all in bytes. */
export interface StateBytes {
  keyed: bigint;
  operator: bigint;
  coordinator: bigint;
  channel: bigint;
  /** Bytes stored inline in `_metadata` (ByteStreamStateHandles, coordinator state included). */
  inline: bigint;
  /** Bytes of state in files (as the handles claim them). */
  files: bigint;
  /** keyed + operator + coordinator + channel. */
  total: bigint;
}

/** A file a handle uses. */
export interface HandleFile {
  /** Role in the handle, e.g. `delegate`, `meta`, `shared/000012.sst`. */
  role: string;
  /** Pointer as stored in `_metadata`. */
  stored: string;
  relative: boolean;
  /** Resolved, normalised URI. */
  uri: string;
  /** Bytes of state the handle claims in the file. */
  stateSize: bigint;
}

/** One top-level handle of a subtask. */
export interface HandleReport {
  slot: SubtaskSlot;
  /** Flink class simple name, e.g. `KeyGroupsSavepointStateHandle`. */
  kind: string;
  keyGroupRange: KeyGroupRange | null;
  /** `getStateSize()` in bytes. */
  stateSize: bigint;
  /** Incremental handles: bytes this checkpoint added; otherwise null. */
  checkpointedSize: bigint | null;
  /** Operator handles: the named states with their distribution mode. */
  stateNames: { name: string; mode: OperatorStateDistributionMode }[];
  files: HandleFile[];
  /** Inline ByteStreamStateHandles under this handle. */
  inline: { role: string; bytes: bigint }[];
}

/** One subtask record. */
export interface SubtaskReport {
  index: number;
  /** A FinishedOperatorSubtaskState (no state). */
  finished: boolean;
  handles: HandleReport[];
}

/** One operator. */
export interface OperatorReport {
  operatorId: string;
  /** The uid stored in `_metadata` (V5+) or matched from uids the caller supplied; null if unknown. */
  uid: string | null;
  /** Where `uid` came from. */
  uidSource: "stored" | "supplied" | null;
  name: string | null;
  parallelism: number;
  maxParallelism: number;
  fullyFinished: boolean;
  /** Number of subtask records in the file. */
  subtasks: number;
  subtasksWithState: number;
  finishedSubtasks: number;
  hasCoordinatorState: boolean;
  stateBytes: StateBytes;
  /** Distinct files this operator's handles use. */
  fileCount: number;
  /** Operator (non-keyed) state names across subtasks, with distribution mode. */
  operatorStateNames: { name: string; mode: OperatorStateDistributionMode }[];
  subtaskStates: SubtaskReport[];
}

/** What kind of snapshot this is, as far as the metadata says. */
export interface SnapshotKind {
  type: "savepoint" | "checkpoint" | null;
  formatType: "CANONICAL" | "NATIVE" | null;
  /** Flink's name of the snapshot type (e.g. `Savepoint`, `Checkpoint`, `Full Checkpoint`), where stored. */
  typeName: string | null;
  /** From the CheckpointProperties trailer (V4+) or inferred from handle kinds; null when unknown. */
  source: "properties" | "handles" | null;
  /** The decoded CheckpointProperties flags, where the trailer could be decoded. */
  properties: Record<string, unknown> | null;
}

/** The whole report. */
export interface InspectReport {
  metadataUri: string;
  directory: string;
  /** Size of `_metadata`, bytes. */
  metadataBytes: number;
  metadataVersion: number;
  /** Flink releases that write this metadata version. */
  writtenBy: string;
  checkpointId: bigint;
  snapshot: SnapshotKind;
  masterStates: { name: string; version: number; bytes: number }[];
  operators: OperatorReport[];
  /** Supplied uids that match no operator in the snapshot. */
  unmatchedUids: { uid: string; operatorId: string }[];
  totals: {
    operators: number;
    operatorsWithState: number;
    stateBytes: StateBytes;
    /** Distinct files referenced by the whole snapshot. */
    fileCount: number;
  };
}

/** Options of {@link inspectSnapshot}. */
export interface InspectOptions {
  /** Stores to read from (local, S3, HDFS). */
  stores: StoreRegistry;
  /** uids of the job's operators, to label operators whose metadata stores no uid (matched by hash). */
  uids?: readonly string[];
}

/** Flink releases writing each metadata version (`MetadataV<n>Serializer`). */
export const METADATA_VERSION_WRITERS: Record<number, string> = {
  2: "Flink 1.3 to 1.10",
  3: "Flink 1.11 to 1.15",
  4: "Flink 1.16 to 1.20",
  5: "Flink 2.0",
  6: "Flink 2.1 and later",
  7: "Flink 2.x, unreleased",
};

/**
 * Loads the snapshot at `input` (a directory or its `_metadata`, on any store) and reports on it.
 *
 * @throws NotASnapshotError, CorruptSnapshotError, UnsupportedVersionError, PointerEscapeError and the
 *   store's errors (see `loadSnapshot`).
 */
export async function inspectSnapshot(input: string, options: InspectOptions): Promise<InspectReport> {
  const loaded = await loadSnapshot(input, options.stores);
  return buildInspectReport(loaded.metadata, {
    metadataUri: loaded.metadataUri,
    directory: loaded.directory,
    metadataBytes: loaded.metadataSize,
    uids: options.uids ?? [],
  });
}

/**
 * Builds the report for already-parsed metadata (pure; no I/O).
 *
 * @param where the `_metadata` URI and directory (relative pointers resolve against `directory`).
 */
export function buildInspectReport(
  m: CheckpointMetadata,
  where: { metadataUri: string; directory: string; metadataBytes: number; uids?: readonly string[] },
): InspectReport {
  const supplied = new Map<string, string>();
  for (const uid of where.uids ?? []) supplied.set(operatorIdFromUid(uid), uid);

  const allFiles = new Set<string>();
  const operators = m.operatorStates.map((op) => operatorReport(op, where.directory, supplied, allFiles));
  const present = new Set(m.operatorStates.map((o) => o.operatorId));
  const totals = sumBytes(operators.map((o) => o.stateBytes));
  return {
    metadataUri: where.metadataUri,
    directory: where.directory,
    metadataBytes: where.metadataBytes,
    metadataVersion: m.version,
    writtenBy: METADATA_VERSION_WRITERS[m.version] ?? "unknown",
    checkpointId: m.checkpointId,
    snapshot: snapshotKind(m),
    masterStates: m.masterStates.map((s) => ({
      name: s.name,
      version: s.version,
      bytes: s.bytes.byteLength,
    })),
    operators,
    unmatchedUids: [...supplied]
      .filter(([id]) => !present.has(id))
      .map(([operatorId, uid]) => ({ uid, operatorId })),
    totals: {
      operators: operators.length,
      operatorsWithState: operators.filter((o) => o.stateBytes.total > 0n || o.subtasksWithState > 0).length,
      stateBytes: totals,
      fileCount: allFiles.size,
    },
  };
}

function emptyBytes(): StateBytes {
  return { keyed: 0n, operator: 0n, coordinator: 0n, channel: 0n, inline: 0n, files: 0n, total: 0n };
}

function sumBytes(all: StateBytes[]): StateBytes {
  const s = emptyBytes();
  for (const b of all) {
    for (const k of Object.keys(s) as (keyof StateBytes)[]) s[k] += b[k];
  }
  return s;
}

function operatorReport(
  op: OperatorState,
  directory: string,
  supplied: Map<string, string>,
  allFiles: Set<string>,
): OperatorReport {
  const bytes = emptyBytes();
  const files = new Set<string>();
  const names = new Map<string, OperatorStateDistributionMode>();
  let withState = 0;
  let finished = 0;
  const subtaskStates: SubtaskReport[] = [];

  if (op.coordinatorState) {
    const n = BigInt(op.coordinatorState.data.byteLength);
    bytes.coordinator += n;
    bytes.inline += n;
  }
  for (const s of op.subtaskStates) {
    if (s.kind === "FinishedOperatorSubtaskState") {
      finished++;
      subtaskStates.push({ index: s.subtaskIndex, finished: true, handles: [] });
      continue;
    }
    const handles = subtaskHandles(s).map(({ slot, handle }) => handleReport(slot, handle, directory));
    if (handles.length > 0) withState++;
    for (const h of handles) {
      const family: StateFamily = SLOT_FAMILY[h.slot];
      bytes[family] += h.stateSize;
      for (const f of h.files) {
        bytes.files += f.stateSize;
        files.add(f.uri);
        allFiles.add(f.uri);
      }
      for (const i of h.inline) bytes.inline += i.bytes;
      for (const n of h.stateNames) names.set(n.name, n.mode);
    }
    subtaskStates.push({ index: s.subtaskIndex, finished: false, handles });
  }
  bytes.total = bytes.keyed + bytes.operator + bytes.coordinator + bytes.channel;

  const suppliedUid = supplied.get(op.operatorId);
  const uid = op.uid ?? suppliedUid ?? null;
  return {
    operatorId: op.operatorId,
    uid,
    uidSource: op.uid !== null ? "stored" : suppliedUid !== undefined ? "supplied" : null,
    name: op.name,
    parallelism: op.parallelism,
    maxParallelism: op.maxParallelism,
    fullyFinished: op.fullyFinished,
    subtasks: op.subtaskStates.length,
    subtasksWithState: withState,
    finishedSubtasks: finished,
    hasCoordinatorState: op.coordinatorState !== null,
    stateBytes: bytes,
    fileCount: files.size,
    operatorStateNames: [...names]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, mode]) => ({ name, mode })),
    subtaskStates,
  };
}

function handleReport(slot: SubtaskSlot, handle: SubtaskHandle, directory: string): HandleReport {
  const files: HandleFile[] = [];
  const inline: { role: string; bytes: bigint }[] = [];
  for (const leaf of streamLeaves(handle)) {
    const p = filePointer(leaf.handle, directory);
    if (p) {
      files.push({
        role: leaf.role,
        stored: p.stored,
        relative: p.relative,
        uri: p.uri,
        stateSize: p.stateSize,
      });
    } else if (leaf.handle.kind === "ByteStreamStateHandle") {
      inline.push({ role: leaf.role, bytes: streamHandleSize(leaf.handle) });
    }
  }
  return {
    slot,
    kind: handle.kind,
    keyGroupRange: "keyGroupRange" in handle ? handle.keyGroupRange : null,
    stateSize: stateSize(handle),
    checkpointedSize: handle.kind === "IncrementalRemoteKeyedStateHandle" ? handle.checkpointedSize : null,
    stateNames:
      handle.kind === "OperatorStreamStateHandle" || handle.kind === "FileMergingOperatorStreamStateHandle"
        ? handle.states.map((s) => ({ name: s.name, mode: s.mode }))
        : [],
    files,
    inline,
  };
}

function snapshotKind(m: CheckpointMetadata): SnapshotKind {
  if (m.properties) {
    try {
      const p = decodeCheckpointProperties(m.properties);
      if (p) {
        return {
          type: p.snapshotType,
          formatType: p.formatType,
          typeName: p.typeName,
          source: "properties",
          properties: { ...p },
        };
      }
    } catch {
      // An undecodable trailer is shown as unknown; the bytes are still carried through on rewrites.
    }
  }
  const canonical = m.operatorStates.some((op) =>
    op.subtaskStates.some(
      (s) =>
        s.kind === "OperatorSubtaskState" &&
        (s.managedKeyedState?.kind === "KeyGroupsSavepointStateHandle" ||
          s.rawKeyedState?.kind === "KeyGroupsSavepointStateHandle"),
    ),
  );
  if (canonical) {
    return {
      type: "savepoint",
      formatType: "CANONICAL",
      typeName: null,
      source: "handles",
      properties: null,
    };
  }
  return { type: null, formatType: null, typeName: null, source: null, properties: null };
}
