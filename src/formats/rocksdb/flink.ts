/**
 * Flink's RocksDB snapshots (native savepoints and incremental checkpoints): one
 * `IncrementalRemoteKeyedStateHandle` per subtask holds the files of a RocksDB checkpoint
 * (`sharedState` and `privateState`, each a `{localPath, handle}`: SSTs, MANIFEST, CURRENT,
 * OPTIONS) and the meta state handle, a `KeyedBackendSerializationProxy` whose states are the
 * column families (one per state, plus RocksDB's unused "default").
 *
 * Keys in every keyed column family start with the key-group prefix
 * (`CompositeKeySerializationUtils.writeKeyGroup`): the key group big-endian in 1 byte when the
 * maximum parallelism is at most 128, else 2 bytes (`computeRequiredBytesInKeyGroupPrefix`).
 */

import { NotFoundError } from "../../errors.js";
import { DataInput } from "../io/data-input.js";
import type { IncrementalRemoteKeyedStateHandle, KeyGroupRange } from "../metadata/model.js";
import { type KeyedBackendHeader, readKeyedBackendHeader } from "../state/headers.js";
import type { StateFileResolver } from "../state/stream.js";
import { RocksDbInstance, type RocksDbOpenOptions } from "./instance.js";
import type { RandomAccessFile } from "./sst-reader.js";

/** Flink's merge operator name (`RocksDBKeyedStateBackend.MERGE_OPERATOR_NAME`). */
export const FLINK_MERGE_OPERATOR = "stringappendtest";
/** The name RocksDB records for Flink's merge operator (`StringAppendTESTOperator::Name()`), in tables and OPTIONS. */
export const FLINK_MERGE_OPERATOR_CLASS = "StringAppendTESTOperator";
/** The delimiter Flink's list state uses between elements (`ListDelimitedSerializer`). */
export const FLINK_LIST_DELIMITER = 0x2c;
/** RocksDB's default column family, which Flink leaves empty. */
export const DEFAULT_COLUMN_FAMILY = "default";

/** A subtask's RocksDB state, opened. */
export interface FlinkRocksDbState {
  /** The RocksDB files of the handle, read through the instance. */
  db: RocksDbInstance;
  /** The keyed backend header from the meta state handle (state names = column families). */
  header: KeyedBackendHeader;
  /** The key groups this subtask owns; keys outside it may be in the files (after a rescale). */
  keyGroupRange: KeyGroupRange;
}

/**
 * The files of an incremental RocksDB handle by local file name (shared and private).
 * @throws the resolver's errors (NotFoundError for a missing file, ...).
 */
export async function rocksDbFilesOf(
  handle: IncrementalRemoteKeyedStateHandle,
  resolver: StateFileResolver,
): Promise<Map<string, RandomAccessFile>> {
  const files = new Map<string, RandomAccessFile>();
  for (const e of [...handle.sharedState, ...handle.privateState]) {
    files.set(e.localPath, await resolver.open(e.handle));
  }
  return files;
}

/**
 * Opens the RocksDB state of one subtask: the meta file's keyed header and the RocksDB instance.
 *
 * @throws CorruptSnapshotError / UnsupportedVersionError from the header, MANIFEST or OPTIONS;
 *   NotFoundError when files are missing (or the handle has no meta state handle).
 */
export async function openFlinkRocksDb(
  handle: IncrementalRemoteKeyedStateHandle,
  resolver: StateFileResolver,
  options: RocksDbOpenOptions = {},
): Promise<FlinkRocksDbState> {
  if (!handle.metaStateHandle) {
    throw new NotFoundError("meta state handle", { message: "the RocksDB handle has no meta state handle" });
  }
  const meta = await resolver.open(handle.metaStateHandle);
  const input = new DataInput(await meta.read(0, meta.size), meta.uri);
  const keyed = input.within("RocksDB meta file", () => readKeyedBackendHeader(input));
  const db = await RocksDbInstance.open(await rocksDbFilesOf(handle, resolver), options);
  return { db, header: keyed, keyGroupRange: handle.keyGroupRange };
}

/** `CompositeKeySerializationUtils.computeRequiredBytesInKeyGroupPrefix`: 1 up to 128 key groups, else 2. */
export function keyGroupPrefixLength(maxParallelism: number): 1 | 2 {
  return maxParallelism > 128 ? 2 : 1;
}

/** The key group a RocksDB key starts with (big-endian, 1 or 2 bytes), or -1 for a shorter key. */
export function keyGroupOf(key: Uint8Array, prefixLength: 1 | 2): number {
  if (key.byteLength < prefixLength) return -1;
  return prefixLength === 1 ? (key[0] as number) : ((key[0] as number) << 8) | (key[1] as number);
}

/** The key-group prefix bytes of a key group. */
export function keyGroupPrefix(keyGroup: number, prefixLength: 1 | 2): Uint8Array {
  return prefixLength === 1
    ? Uint8Array.of(keyGroup & 0xff)
    : Uint8Array.of((keyGroup >> 8) & 0xff, keyGroup & 0xff);
}

/**
 * The user-key bounds `[from, to)` of a key-group range, for {@link RocksDbInstance.entryBatches}
 * (Flink's `RocksDBIncrementalCheckpointUtils` clips databases the same way).
 */
export function keyGroupRangeBounds(
  range: KeyGroupRange,
  prefixLength: 1 | 2,
): { from: Uint8Array; to?: Uint8Array } {
  const from = keyGroupPrefix(range.start, prefixLength);
  const next = range.end + 1;
  // No upper bound past the largest prefix value.
  if (next >= (prefixLength === 1 ? 0x100 : 0x10000)) return { from };
  return { from, to: keyGroupPrefix(next, prefixLength) };
}
