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
export { decodeCheckpointProperties, readMetadata, writeMetadata } from "./formats/metadata/index.js";
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
  buildInspectReport,
  type HandleFile,
  type HandleReport,
  type InspectOptions,
  type InspectReport,
  inspectSnapshot,
  type OperatorReport,
  type SnapshotKind,
  type StateBytes,
  type SubtaskReport,
} from "./ops/inspect.js";
export {
  type LoadedSnapshot,
  loadSnapshot,
  locateSnapshot,
  METADATA_FILE_NAME,
  type SnapshotLocation,
} from "./ops/locate.js";
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
