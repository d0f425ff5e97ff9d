/**
 * The model of a Flink `_metadata` file: plain, immutable data mirroring Flink's classes
 * (`CheckpointMetadata`, `OperatorState`, `OperatorSubtaskState` and the state-handle family), with
 * every Java `long` as `bigint` and OperatorIDs as 32-character lower-case hex strings.
 *
 * Handles are discriminated unions on `kind`, which is the simple name of the Flink class the handle
 * mirrors. A handle keeps its file pointer exactly as stored (a relative name for
 * `RelativeFileStateHandle`, the absolute path string otherwise); resolving pointers against the
 * snapshot directory is a separate step (`./pointers.ts`), so the model reads and writes byte-exactly.
 *
 * Where Flink has several wire tags for one class (legacy and current forms), the handle records the
 * `tag` it was read with, so that a rewrite keeps the form the file had.
 *
 * Mirrors: org.apache.flink.runtime.checkpoint.metadata.CheckpointMetadata and the classes it holds,
 * as (de)serialised by MetadataV2V3SerializerBase and MetadataV2..V7Serializer.
 */

/** `CheckpointMetadata`: the whole `_metadata` file. */
export interface CheckpointMetadata {
  /** Metadata format version (2..7), the int after the magic number. */
  version: number;
  /** Checkpoint (or savepoint) id. */
  checkpointId: bigint;
  /** Master states (from master hooks); usually empty. */
  masterStates: MasterState[];
  /** Operator states in file order. */
  operatorStates: OperatorState[];
  /**
   * V4+: the Java-serialized `CheckpointProperties` trailer, kept byte for byte; null before V4.
   * Decoded for display by `./properties.ts`.
   */
  properties: Uint8Array | null;
}

/** `MasterState`: opaque state of a master hook. */
export interface MasterState {
  name: string;
  version: number;
  bytes: Uint8Array;
}

/** `OperatorState`: the state of one operator (one OperatorID) across its subtasks. */
export interface OperatorState {
  /** OperatorID as 32 hex chars: the 16 bytes lowerPart||upperPart, big-endian, as Flink prints it. */
  operatorId: string;
  /** V5+: operator name as stored; null when absent or the version does not store it. */
  name: string | null;
  /** V5+: operator uid as stored; null when absent or the version does not store it. */
  uid: string | null;
  parallelism: number;
  maxParallelism: number;
  /** V3+: the operator coordinator's state (a ByteStreamStateHandle), or null. */
  coordinatorState: ByteStreamStateHandle | null;
  /** V3+ (1.14+): the operator finished on every subtask (written as subtask count -1). */
  fullyFinished: boolean;
  /** Subtask states in file order (Flink's map iteration order when it wrote them). */
  subtaskStates: SubtaskStateEntry[];
  /**
   * V2 only: the former "chain length" int written after `maxParallelism` (Flink 1.3+ writes 1 and
   * ignores it on read). Set by the reader only when the file holds a value other than 1; the V2
   * writer writes `v2ChainLength ?? 1`.
   */
  v2ChainLength?: number;
}

/** One subtask record of an operator. */
export type SubtaskStateEntry = OperatorSubtaskState | FinishedOperatorSubtaskState;

/** `FinishedOperatorSubtaskState` (V3+, 1.14+): a subtask that had finished; it carries no state. */
export interface FinishedOperatorSubtaskState {
  kind: "FinishedOperatorSubtaskState";
  subtaskIndex: number;
}

/** `OperatorSubtaskState`: the state handles of one subtask of one operator. */
export interface OperatorSubtaskState {
  kind: "OperatorSubtaskState";
  subtaskIndex: number;
  managedOperatorState: OperatorStateHandle | null;
  rawOperatorState: OperatorStateHandle | null;
  managedKeyedState: KeyedStateHandle | null;
  rawKeyedState: KeyedStateHandle | null;
  /** V3+: unaligned-checkpoint input channel state. */
  inputChannelState: InputChannelStateHandle[];
  /** V3+: unaligned-checkpoint result subpartition state. */
  resultSubpartitionState: ResultSubpartitionStateHandle[];
  /** V7: the checkpoint id this subtask's state was taken in, when it differs; undefined before V7. */
  refCheckpointId?: bigint | null;
  /**
   * V2 only: the legacy per-subtask "duration" long (Flink writes -1 and ignores it on read). Set by
   * the reader only when the file holds a value other than -1; the V2 writer writes `duration ?? -1`.
   * `chainLength` is not used: the chain length is a per-operator field, see
   * {@link OperatorState.v2ChainLength}.
   */
  v2Legacy?: {
    duration: bigint;
    /** @deprecated ignored by reader and writer; see OperatorState.v2ChainLength. */
    chainLength?: number;
  };
}

/** `KeyGroupRange`: inclusive key-group interval. Empty ranges have `end < start` (Flink uses 0,-1). */
export interface KeyGroupRange {
  start: number;
  /** Inclusive end. */
  end: number;
}

// ---------------------------------------------------------------------------------------------------
// Stream handles (serializeStreamStateHandle)

/** `ByteStreamStateHandle` (tag 1): state bytes inline in `_metadata`. */
export interface ByteStreamStateHandle {
  kind: "ByteStreamStateHandle";
  /** The name Flink gave it: the path the bytes would have had as a file. */
  handleName: string;
  data: Uint8Array;
}

/** `FileStateHandle` (tag 2): a file by absolute path string. */
export interface FileStateHandle {
  kind: "FileStateHandle";
  /** Path as stored (e.g. `file:/tmp/x/shared/uuid`, `s3://bucket/key`). */
  filePath: string;
  /** Bytes of state in the file (may be less than the file size). */
  stateSize: bigint;
}

/** `RelativeFileStateHandle` (tag 6): a file named relative to the directory holding `_metadata`. */
export interface RelativeFileStateHandle {
  kind: "RelativeFileStateHandle";
  /** Relative path as stored (normally just a file name). */
  relativePath: string;
  stateSize: bigint;
}

/** `SegmentFileStateHandle` (tag 15, 1.20+ file merging): a segment of a shared physical file. */
export interface SegmentFileStateHandle {
  kind: "SegmentFileStateHandle";
  startPos: bigint;
  stateSize: bigint;
  /** `CheckpointedStateScope` ordinal: 0 EXCLUSIVE, 1 SHARED. */
  scope: number;
  /** Absolute path of the physical file. */
  physicalFilePath: string;
  logicalFileId: string;
}

/** `EmptySegmentFileStateHandle` (tag 16): file merging's empty segment. */
export interface EmptySegmentFileStateHandle {
  kind: "EmptySegmentFileStateHandle";
}

/** Every `StreamStateHandle` kind the metadata can hold. */
export type StreamStateHandle =
  | ByteStreamStateHandle
  | FileStateHandle
  | RelativeFileStateHandle
  | SegmentFileStateHandle
  | EmptySegmentFileStateHandle
  | KeyGroupsStateHandle;

// ---------------------------------------------------------------------------------------------------
// Keyed handles (serializeKeyedStateHandle)

/**
 * `KeyGroupsStateHandle` (tag 12, legacy 3) and `KeyGroupsSavepointStateHandle` (tag 7): one stream
 * with an offset per key group.
 */
export interface KeyGroupsStateHandle {
  kind: "KeyGroupsStateHandle" | "KeyGroupsSavepointStateHandle";
  /** Wire tag read: 12 (with id), 3 (legacy, no id) or 7 (savepoint, no id). */
  tag: 3 | 7 | 12;
  keyGroupRange: KeyGroupRange;
  /** Offset of each key group's data in the delegate stream, one per key group in the range. */
  offsets: bigint[];
  delegate: StreamStateHandle;
  /** Tag 12 only. */
  stateHandleId: string | null;
}

/** One entry of an incremental handle's shared or private state: RocksDB file name and its handle. */
export interface HandleAndLocalPath {
  /** The file's name in the RocksDB instance directory, e.g. `000042.sst`, `MANIFEST-000003`. */
  localPath: string;
  handle: StreamStateHandle;
}

/** `IncrementalRemoteKeyedStateHandle` (tag 11, legacy 5): a RocksDB incremental/native snapshot. */
export interface IncrementalRemoteKeyedStateHandle {
  kind: "IncrementalRemoteKeyedStateHandle";
  tag: 5 | 11;
  checkpointId: bigint;
  /** The backend's UUID, as stored. */
  backendIdentifier: string;
  keyGroupRange: KeyGroupRange;
  /** Tag 11 only: bytes this checkpoint added (incremental size); null for tag 5. */
  checkpointedSize: bigint | null;
  metaStateHandle: StreamStateHandle | null;
  sharedState: HandleAndLocalPath[];
  privateState: HandleAndLocalPath[];
  /** Tag 11 only. */
  stateHandleId: string | null;
}

/** `ChangelogStateBackendHandleImpl` (tag 14, legacy 8). */
export interface ChangelogStateBackendHandle {
  kind: "ChangelogStateBackendHandle";
  tag: 8 | 14;
  keyGroupRange: KeyGroupRange;
  checkpointedSize: bigint;
  materialized: KeyedStateHandle[];
  nonMaterialized: KeyedStateHandle[];
  materializationId: bigint;
  /** Tag 14 only; null for tag 8. */
  checkpointId: bigint | null;
  stateHandleId: string;
  /**
   * V3 only: the handle has Flink 1.14's short body (read from a Flink 1.14 file; see
   * `keyed-handles.ts`). The fields that body lacks hold placeholders (-1n, "").
   */
  flink114Body?: true;
}

/** `InMemoryChangelogStateHandle` (tag 9). */
export interface InMemoryChangelogStateHandle {
  kind: "InMemoryChangelogStateHandle";
  keyGroupRange: KeyGroupRange;
  from: bigint;
  to: bigint;
  changes: { keyGroup: number; data: Uint8Array }[];
  stateHandleId: string;
  /**
   * V3 only: the handle has Flink 1.14's short body (read from a Flink 1.14 file; see
   * `keyed-handles.ts`). The fields that body lacks hold placeholders (-1n, "").
   */
  flink114Body?: true;
}

/** `ChangelogStateHandleStreamImpl` (tag 13, legacy 10). */
export interface ChangelogStateHandleStreamImpl {
  kind: "ChangelogStateHandleStreamImpl";
  tag: 10 | 13;
  keyGroupRange: KeyGroupRange;
  handlesAndOffsets: { offset: bigint; handle: StreamStateHandle }[];
  size: bigint;
  checkpointedSize: bigint;
  stateHandleId: string;
  /** Tag 13 only (tag 10 reads as "filesystem"). */
  storageIdentifier: string | null;
  /**
   * V3 only: the handle has Flink 1.14's short body (read from a Flink 1.14 file; see
   * `keyed-handles.ts`). The fields that body lacks hold placeholders (-1n, "").
   */
  flink114Body?: true;
}

/** Every `KeyedStateHandle` kind the metadata can hold. */
export type KeyedStateHandle =
  | KeyGroupsStateHandle
  | IncrementalRemoteKeyedStateHandle
  | ChangelogStateBackendHandle
  | InMemoryChangelogStateHandle
  | ChangelogStateHandleStreamImpl;

// ---------------------------------------------------------------------------------------------------
// Operator handles (serializeOperatorStateHandle)

/** `OperatorStateHandle.Mode`, by ordinal. */
export type OperatorStateDistributionMode = "SPLIT_DISTRIBUTE" | "UNION" | "BROADCAST";

/** One named operator state inside an operator handle: its mode and element offsets. */
export interface OperatorStateEntry {
  name: string;
  mode: OperatorStateDistributionMode;
  /** Start offset of each list element partition in the delegate stream. */
  offsets: bigint[];
}

/** `OperatorStreamStateHandle` (tag 4). Entry order is the order in the file. */
export interface OperatorStreamStateHandle {
  kind: "OperatorStreamStateHandle";
  states: OperatorStateEntry[];
  delegate: StreamStateHandle;
}

/** `FileMergingOperatorStreamStateHandle` (tag 17, 1.20+), or its empty variant (`isEmpty`). */
export interface FileMergingOperatorStreamStateHandle {
  kind: "FileMergingOperatorStreamStateHandle";
  states: OperatorStateEntry[];
  taskOwnedDirPath: string;
  sharedDirPath: string;
  isEmpty: boolean;
  delegate: StreamStateHandle;
}

export type OperatorStateHandle = OperatorStreamStateHandle | FileMergingOperatorStreamStateHandle;

// ---------------------------------------------------------------------------------------------------
// Channel state (unaligned checkpoints)

/** `InputChannelInfo` (gate, channel) / `ResultSubpartitionInfo` (partition, subpartition). */
export interface ChannelInfo {
  a: number;
  b: number;
}

/** One channel's state in a delegate stream (V1 body). */
export interface ChannelStateHandleBody {
  /**
   * Null in the Flink 1.11 layout of V3, which had no subtask index (see `channel-handles.ts`); all
   * channel handles of one file have it or none does.
   */
  subtaskIndex: number | null;
  info: ChannelInfo;
  offsets: bigint[];
  stateSize: bigint;
  delegate: StreamStateHandle;
}

/** `InputChannelStateHandle` or the V6 `MergedInputChannelStateHandle`. */
export type InputChannelStateHandle =
  | ({ kind: "InputChannelStateHandle" } & ChannelStateHandleBody)
  | ({ kind: "MergedInputChannelStateHandle" } & MergedChannelStateHandleBody);

/** `ResultSubpartitionStateHandle` or the V6 `MergedResultSubpartitionStateHandle`. */
export type ResultSubpartitionStateHandle =
  | ({ kind: "ResultSubpartitionStateHandle" } & ChannelStateHandleBody)
  | ({ kind: "MergedResultSubpartitionStateHandle" } & MergedChannelStateHandleBody);

/** The V6 merged channel handle: several channels of one subtask sharing one delegate file. */
export interface MergedChannelStateHandleBody {
  subtaskIndex: number;
  stateSize: bigint;
  delegate: StreamStateHandle;
  /** The serialized per-channel offsets blob, kept as stored. */
  serializedChannelOffsets: Uint8Array;
}

export type ChannelStateHandle = InputChannelStateHandle | ResultSubpartitionStateHandle;
