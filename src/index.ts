/**
 * savepoint-kit: open Apache Flink savepoints and checkpoints offline, without a JVM.
 *
 * The public API. Operations take a `StoreRegistry` (`createDefaultRegistry()` serves local paths,
 * `file://`, and the remote stores configured from the environment) and URIs or paths.
 *
 * @example
 * import { createDefaultRegistry, inspectSnapshot } from "savepoint-kit";
 * const stores = createDefaultRegistry();
 * const report = await inspectSnapshot("s3://bucket/savepoints/savepoint-1a2b3c-0123456789ab", { stores });
 * for (const op of report.operators) console.log(op.operatorId, op.uid, op.stateBytes.total);
 * await stores.close();
 */

export * from "./errors.js";
export {
  decodeCheckpointProperties,
  type MetadataStream,
  openMetadata,
  readMetadata,
  writeMetadata,
} from "./formats/metadata/index.js";
export type * from "./formats/metadata/model.js";
export { type FilePointer, filePointer } from "./formats/metadata/pointers.js";
export {
  allHandles,
  stateSize,
  streamLeaves,
  subtaskHandles,
  subtaskHasState,
} from "./formats/metadata/traverse.js";
export { isOperatorIdHex, operatorIdFromUid, parseOperatorId } from "./formats/operator-id.js";
export {
  type CanonicalKeyLayout,
  canonicalKeyLayout,
  type HeapRawEntry,
  heapConversionProblems,
  heapEntryToCanonical,
  readHeapRawEntries,
} from "./formats/state/canonical-heap.js";
export {
  type KeyGroupSpan,
  keyGroupSpans,
  type RawReadOptions,
  readCanonicalRecords,
} from "./formats/state/canonical-records.js";
export {
  CanonicalKeyGroupsWriter,
  type CanonicalRecord,
  type CanonicalWriteResult,
  type CanonicalWriterOptions,
  type CompositeKeyParts,
  compositeKey,
  encodeCanonicalKeyGroups,
  joinListElements,
  keyGroupPrefix,
  LIST_DELIMITER,
  mapEntryValue,
  timerKey,
  variableIntBytes,
} from "./formats/state/canonical-writer.js";
export {
  type ChangelogChanges,
  type ChangelogLog,
  type ChangelogLogFilter,
  ChangelogReplayError,
  type DecodedChange,
  decodeChanges,
  keyGroupParts,
  type LoggedDataChange,
  readChangelogLog,
  replayChangelog,
  selectChanges,
  timerKeySerializer,
  timerKeySnapshot,
} from "./formats/state/changelog-replay.js";
export {
  CHANGELOG_STREAM_CACHE_BYTES,
  ChangelogStreamCache,
  type ChangelogStreams,
} from "./formats/state/changelog-streams.js";
export {
  type BackendStateType,
  type KeyedBackendHeader,
  type OperatorBackendHeader,
  readKeyedBackendHeader,
  readOperatorBackendHeader,
  readStateMetaInfo,
  type StateMetaInfo,
  writeKeyedBackendHeader,
  writeOperatorBackendHeader,
  writeStateMetaInfo,
} from "./formats/state/headers.js";
export {
  detectKeyedLayout,
  type KeyedLayout,
  type KeyedReadOptions,
  type KeyedStateEntry,
  type KeyedStateInfo,
  type KeyedStateKind,
  keyedStates,
  readKeyedEntries,
  readKeyedHeader,
} from "./formats/state/keyed.js";
export { LoggedChanges } from "./formats/state/logged-changes.js";
export {
  type OperatorReadOptions,
  type OperatorStateEntry,
  operatorStates,
  readOperatorEntries,
  readOperatorHeader,
} from "./formats/state/operator.js";
export { BASIC_TYPE_NAMES, basicSerializer, basicSnapshot } from "./formats/state/serializers/basic-types.js";
export {
  type LogicalField,
  type LogicalType,
  logicalTypeFromJava,
  logicalTypeString,
} from "./formats/state/serializers/logical-type.js";
export {
  type KryoProtobufPayload,
  kryoProtobufPayload,
  type ProtobufDecodeOptions,
  protobufValueDecoder,
} from "./formats/state/serializers/protobuf.js";
export {
  knownSnapshotClasses,
  readSerializerSnapshot,
  registerSnapshotCodec,
  type SnapshotCodec,
  serializerOf,
  writeSerializerSnapshot,
} from "./formats/state/serializers/snapshots.js";
export {
  arrayDataSerializer,
  binaryRowDataSerializer,
  decimalDataSerializer,
  mapDataSerializer,
  rawValueDataSerializer,
  rowDataSerializer,
  STRING_DATA,
  timestampDataSerializer,
} from "./formats/state/serializers/table.js";
export {
  type SerializerSnapshot,
  type StateValue,
  type TypeSerializer,
  UnsupportedSerializerError,
} from "./formats/state/serializers/types.js";
export {
  decodeSnappyFramed,
  encodeSnappyFramed,
  maskedCrc32c,
  SnappyFramedWriter,
} from "./formats/state/snappy.js";
export { memoryStateFile, type StateFile, snapshotFileResolver } from "./formats/state/stream.js";
export {
  canonicalToHeapProblems,
  canonicalToHeapSections,
  HeapKeyGroupsWriter,
  type HeapKeyLayout,
  type HeapStateSection,
  type HeapWriteResult,
  type HeapWriterOptions,
  heapKeyLayout,
} from "./formats/state/write-heap.js";
export {
  type ConvertOptions,
  type ConvertProgress,
  type ConvertReport,
  type ConvertTarget,
  convertLoaded,
  convertSnapshot,
  type KeyedConversion,
  setSavepointFormatType,
  UnsupportedConversionError,
} from "./ops/convert.js";
export {
  type DumpFormat,
  type DumpOptions,
  type DumpRecord,
  dumpState,
  formatDump,
  parseKeyGroupRange,
  stateValueJson,
} from "./ops/dump.js";
export {
  dropOperators,
  pruneMetadata,
  renameOperator,
  type WriteEditedOptions,
  type WriteEditedReport,
  writeEdited,
} from "./ops/edit.js";
export {
  type FilesOptions,
  type FilesReport,
  listSnapshotFiles,
  type VerifyProblem,
  type VerifyReport,
  verifySnapshot,
} from "./ops/files.js";
export {
  buildInspectReport,
  type HandleFile,
  type HandleReport,
  type InspectHead,
  type InspectOptions,
  type InspectReport,
  type InspectStream,
  type InspectSummary,
  inspectSnapshot,
  type OperatorReport,
  openInspect,
  type SnapshotKind,
  type StateBytes,
  type SubtaskReport,
} from "./ops/inspect.js";
export {
  type JobOperator,
  type JobSpec,
  jobOperatorIds,
  jobSpecFromRefs,
  type OperatorRef,
  parseJobSpec,
  parseOperatorRef,
  readJobSpec,
} from "./ops/job-spec.js";
export {
  type KeyedEntries,
  type KeyedEntryOptions,
  type KeyedReadContext,
  keyedEntries,
} from "./ops/keyed-entries.js";
export {
  type LoadedSnapshot,
  loadSnapshot,
  locateSnapshot,
  METADATA_FILE_NAME,
  type SnapshotLocation,
} from "./ops/locate.js";
export { loadProtobufDecoder, type ProtobufValueDecoder } from "./ops/protobuf.js";
export {
  type PlannedCopy,
  type PrefixMap,
  parsePrefixMap,
  type RelocatedPointer,
  type RelocateOptions,
  type RelocateProgress,
  type RelocateReport,
  relocateLoaded,
  relocateSnapshot,
} from "./ops/relocate.js";
export {
  type OperatorFate,
  operatorHasState,
  type PlannedJobOperator,
  type PlannedOperator,
  planRestore,
  type RestorePlan,
} from "./ops/restore-plan.js";
export {
  findSnapshotsBelow,
  SNAPSHOTS_BELOW_LIST_LIMIT,
  type SnapshotBelow,
  type SnapshotsBelow,
} from "./ops/snapshots-below.js";
export {
  describeState,
  findOperator,
  type KeyedStateDescription,
  type OperatorStateDescription,
  type OperatorStateReport,
  type SerializerDescription,
  type StateOptions,
  type StateReport,
  UnsupportedStateLayoutError,
} from "./ops/state.js";
export { createDefaultRegistry } from "./storage/defaults.js";
export { LocalStore } from "./storage/local.js";
export { type StoreFactory, StoreRegistry } from "./storage/registry.js";
export type {
  FileStatus,
  ReadStreamOptions,
  Store,
  StoreCapabilities,
  WriteOptions,
} from "./storage/store.js";
export { normalizeUri, parseUri } from "./storage/uri.js";
