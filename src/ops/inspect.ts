/**
 * `inspect`: a complete, plain-data picture of a snapshot: what kind it is, every operator with its
 * identity, parallelism and state sizes, and every handle of every subtask with the files it uses.
 *
 * The report is JSON-ready except for `bigint` values (Java longs: ids, byte counts), which the CLI
 * writes as decimal strings; its JSON form is described by `schemas/inspect.schema.json`.
 */

import { InvalidArgumentError } from "../errors.js";
import { ExactSum } from "../formats/io/exact-sum.js";
import { decodeCheckpointProperties, openMetadata } from "../formats/metadata/index.js";
import type {
  ChannelStateHandle,
  CheckpointMetadata,
  KeyGroupRange,
  MasterState,
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
import { DistinctCounter } from "./distinct-count.js";
import { locateSnapshot, MAX_METADATA_BYTES } from "./locate.js";

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

/** The part of the report known before any operator is read. */
export interface InspectHead {
  metadataUri: string;
  directory: string;
  /** Size of `_metadata`, bytes. */
  metadataBytes: number;
  metadataVersion: number;
  /** Flink releases that write this metadata version. */
  writtenBy: string;
  checkpointId: bigint;
  masterStates: { name: string; version: number; bytes: number }[];
}

/** The part of the report known only after the last operator (the trailer follows the operators). */
export interface InspectSummary {
  snapshot: SnapshotKind;
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

/**
 * The whole report: {@link InspectHead}, the operators in file order, then {@link InspectSummary}
 * (the key order of the JSON form, which a streaming writer can produce one operator at a time).
 */
export interface InspectReport extends InspectHead, InspectSummary {
  operators: OperatorReport[];
}

/**
 * A report produced one operator at a time ({@link openInspect}): memory stays at the `_metadata`
 * bytes plus one operator's model and report (plus the set of distinct file URIs for the totals),
 * however many operators the snapshot has.
 */
export interface InspectStream {
  head: InspectHead;
  /**
   * The operator reports in file order, each parsed and built when the iteration reaches it. Can be
   * iterated once.
   * @throws CorruptSnapshotError / UnsupportedVersionError (with file and byte offset) when an
   *   operator record or the trailer is malformed.
   */
  operators(): Generator<OperatorReport>;
  /**
   * Kind, unmatched uids and totals.
   * @throws InvalidArgumentError before `operators()` has been iterated to the end.
   */
  summary(): InspectSummary;
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
  const stream = await openInspect(input, options);
  const operators = [...stream.operators()];
  return { ...stream.head, operators, ...stream.summary() };
}

/**
 * Opens the snapshot at `input` for a report produced one operator at a time (what `savepoint inspect
 * --json` streams). The `_metadata` file is read whole; its operators are parsed as the iteration
 * reaches them.
 *
 * @throws NotASnapshotError, UnsupportedVersionError, CorruptSnapshotError for the header, and the
 *   store's errors; operator records are checked by the iteration (see {@link InspectStream}).
 */
export async function openInspect(input: string, options: InspectOptions): Promise<InspectStream> {
  const location = await locateSnapshot(input, options.stores);
  const bytes = await location.store.readAll(location.metadataUri, { maxBytes: MAX_METADATA_BYTES });
  const metadata = openMetadata(bytes, location.metadataUri);
  const builder = new ReportBuilder(location.directory, options.uids ?? []);
  let finished = false;
  return {
    head: headOf(metadata, {
      metadataUri: location.metadataUri,
      directory: location.directory,
      metadataBytes: location.metadataSize,
    }),
    *operators() {
      // The model of an operator is not kept while its report is written (no variable holds it).
      const models = metadata.operators()[Symbol.iterator]();
      const next = () => {
        const n = models.next();
        return n.done ? undefined : builder.add(n.value);
      };
      for (let r = next(); r !== undefined; r = next()) yield r;
      finished = true;
    },
    summary() {
      if (!finished) {
        throw new InvalidArgumentError("InspectStream.summary() is known only after the last operator");
      }
      return builder.summary(metadata.properties());
    },
  };
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
  const builder = new ReportBuilder(where.directory, where.uids ?? []);
  const operators = m.operatorStates.map((op) => builder.add(op));
  return { ...headOf(m, where), operators, ...builder.summary(m.properties) };
}

function headOf(
  m: { version: number; checkpointId: bigint; masterStates: readonly MasterState[] },
  where: { metadataUri: string; directory: string; metadataBytes: number },
): InspectHead {
  return {
    metadataUri: where.metadataUri,
    directory: where.directory,
    metadataBytes: where.metadataBytes,
    metadataVersion: m.version,
    writtenBy: METADATA_VERSION_WRITERS[m.version] ?? "unknown",
    checkpointId: m.checkpointId,
    masterStates: m.masterStates.map((s) => ({
      name: s.name,
      version: s.version,
      bytes: s.bytes.byteLength,
    })),
  };
}

/** Reports operators one at a time and keeps what the summary needs. */
class ReportBuilder {
  private readonly supplied = new Map<string, string>();
  private readonly present = new Set<string>();
  /** The distinct files of the whole snapshot (counted by digest: see `distinct-count.ts`). */
  private readonly allFiles = new DistinctCounter();
  private readonly bytes = emptyBytes();
  private operators = 0;
  private withState = 0;
  /** Some operator has a KeyGroupsSavepointStateHandle (a canonical savepoint, when nothing else says). */
  private canonicalHandles = false;

  constructor(
    private readonly directory: string,
    uids: readonly string[],
  ) {
    for (const uid of uids) this.supplied.set(operatorIdFromUid(uid), uid);
  }

  add(op: OperatorState): OperatorReport {
    const r = operatorReport(op, this.directory, this.supplied, this.allFiles);
    this.present.add(op.operatorId);
    this.operators++;
    if (r.stateBytes.total > 0n || r.subtasksWithState > 0) this.withState++;
    for (const k of Object.keys(this.bytes) as (keyof StateBytes)[]) this.bytes[k] += r.stateBytes[k];
    if (!this.canonicalHandles && hasCanonicalHandle(op)) this.canonicalHandles = true;
    return r;
  }

  summary(properties: Uint8Array | null): InspectSummary {
    return {
      snapshot: snapshotKind(properties, this.canonicalHandles),
      unmatchedUids: [...this.supplied]
        .filter(([id]) => !this.present.has(id))
        .map(([operatorId, uid]) => ({ uid, operatorId })),
      totals: {
        operators: this.operators,
        operatorsWithState: this.withState,
        stateBytes: { ...this.bytes },
        fileCount: this.allFiles.size,
      },
    };
  }
}

function emptyBytes(): StateBytes {
  return { keyed: 0n, operator: 0n, coordinator: 0n, channel: 0n, inline: 0n, files: 0n, total: 0n };
}

function operatorReport(
  op: OperatorState,
  directory: string,
  supplied: Map<string, string>,
  allFiles: DistinctCounter,
): OperatorReport {
  const bytes = emptyBytes();
  /** bytes.files, summed without a bigint addition per file. */
  const fileBytes = new ExactSum();
  const names = new Map<string, OperatorStateDistributionMode>();
  let withState = 0;
  let finished = 0;
  const subtaskStates: SubtaskReport[] = [];

  if (op.coordinatorState) {
    const n = BigInt(op.coordinatorState.data.byteLength);
    bytes.coordinator += n;
    bytes.inline += n;
  }
  let fileRecords = 0;
  for (const s of op.subtaskStates) {
    if (s.kind === "FinishedOperatorSubtaskState") {
      finished++;
      subtaskStates.push({ index: s.subtaskIndex, finished: true, handles: [] });
      continue;
    }
    const handles = subtaskHandles(s).map(({ slot, handle }) => handleReport(slot, handle, directory));
    if (handles.length > 0) withState++;
    for (const h of handles) fileRecords += h.files.length;
    subtaskStates.push({ index: s.subtaskIndex, finished: false, handles });
  }
  // Sized for every file record at once (the distinct files are at most that many).
  const files = new DistinctCounter(fileRecords);
  for (const s of subtaskStates) {
    for (const h of s.handles) {
      const family: StateFamily = SLOT_FAMILY[h.slot];
      bytes[family] += h.stateSize;
      for (const f of h.files) {
        fileBytes.add(f.stateSize);
        files.add(f.uri, allFiles);
      }
      for (const i of h.inline) bytes.inline += i.bytes;
      for (const n of h.stateNames) names.set(n.name, n.mode);
    }
  }
  bytes.files = fileBytes.value;
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
  const leaves = streamLeaves(handle);
  // A channel state handle claims its own channels' bytes of the file its delegate names
  // (AbstractChannelStateHandle / AbstractMergedChannelStateHandle.getStateSize); the delegate's size is the
  // whole file, which holds the channels of other subtasks too (ChannelStateCheckpointWriter).
  const channelBytes = isChannelStateHandle(handle) ? handle.stateSize : null;
  for (const leaf of leaves) {
    const p = filePointer(leaf.handle, directory);
    if (p) {
      files.push({
        role: leaf.role,
        stored: p.stored,
        relative: p.relative,
        uri: p.uri,
        stateSize: channelBytes ?? p.stateSize,
      });
    } else if (leaf.handle.kind === "ByteStreamStateHandle") {
      inline.push({ role: leaf.role, bytes: streamHandleSize(leaf.handle) });
    }
  }
  return {
    slot,
    kind: handle.kind,
    keyGroupRange: "keyGroupRange" in handle ? handle.keyGroupRange : null,
    stateSize: stateSize(handle, leaves),
    checkpointedSize: handle.kind === "IncrementalRemoteKeyedStateHandle" ? handle.checkpointedSize : null,
    stateNames:
      handle.kind === "OperatorStreamStateHandle" || handle.kind === "FileMergingOperatorStreamStateHandle"
        ? handle.states.map((s) => ({ name: s.name, mode: s.mode }))
        : [],
    files,
    inline,
  };
}

const CHANNEL_KINDS: ReadonlySet<string> = new Set<ChannelStateHandle["kind"]>([
  "InputChannelStateHandle",
  "ResultSubpartitionStateHandle",
  "MergedInputChannelStateHandle",
  "MergedResultSubpartitionStateHandle",
]);

function isChannelStateHandle(h: SubtaskHandle): h is ChannelStateHandle {
  return CHANNEL_KINDS.has(h.kind);
}

function hasCanonicalHandle(op: OperatorState): boolean {
  return op.subtaskStates.some(
    (s) =>
      s.kind === "OperatorSubtaskState" &&
      (s.managedKeyedState?.kind === "KeyGroupsSavepointStateHandle" ||
        s.rawKeyedState?.kind === "KeyGroupsSavepointStateHandle"),
  );
}

function snapshotKind(properties: Uint8Array | null, canonicalHandles: boolean): SnapshotKind {
  if (properties) {
    try {
      const p = decodeCheckpointProperties(properties);
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
  if (canonicalHandles) {
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
