/**
 * The decoded keyed-state entries of a subtask's RocksDB native state (`IncrementalRemoteKeyedStateHandle`
 * of a native RocksDB savepoint or a RocksDB checkpoint), in the same shape as the canonical and heap
 * readers of `./keyed.ts`: one entry per key/namespace for value, list, reducing and aggregating states,
 * one per map entry, one per timer.
 *
 * The column families are read as `./rocksdb-canonical.ts` reads them for a conversion (the merged LSM
 * view of each state's column family, clipped to the subtask's key groups, key groups ascending and in a
 * key group by kvStateId), and each RocksDB entry is decoded as a canonical record: Flink's
 * `FullSnapshotAsyncWriter` writes a RocksDB job's canonical savepoint from exactly these bytes, and its
 * `RocksDBKeyedStateBackend` states (`RocksDBValueState`, `RocksDBListState`, `RocksDBMapState`, the
 * RocksDB timer queue `RocksDBCachingPriorityQueueSet`) serialize keys with `SerializedCompositeKeyBuilder`
 * as the canonical layout does.
 *
 * Memory: one reader batch per column family plus one output batch, whatever the state size.
 */

import type { KeyGroupRange } from "../metadata/model.js";
import type { FlinkRocksDbState } from "../rocksdb/flink.js";
import { decodeCanonicalRecord, type KeyedStateEntry, keyedStates, keyGroupPrefixBytes } from "./keyed.js";
import { readRocksDbCanonicalRecords } from "./rocksdb-canonical.js";
import { serializerOf } from "./serializers/snapshots.js";

/** Options of {@link readRocksDbKeyedEntryBatches}. */
export interface RocksDbKeyedReadOptions {
  /** Only these kvStateIds (indices in the meta file's header); other column families are not read. */
  stateIds?: ReadonlySet<number>;
  /** Only key groups in this inclusive range (intersected with the subtask's). */
  keyGroups?: KeyGroupRange;
  /** Entries read per column family at a time (the RocksDB reader's batch size). */
  batchSize?: number;
  /** Label for errors, e.g. the URI of the handle's meta file. */
  uri?: string;
}

/**
 * The entries of one subtask's RocksDB state, in batches (at most `RECORD_BATCH` each), key groups
 * ascending. `bytes` of an entry is its RocksDB key plus value length.
 *
 * @param state the opened instance (`openFlinkRocksDb`).
 * @param maxParallelism the operator's max parallelism (decides the key-group prefix width).
 * @throws CorruptSnapshotError for damaged files (SST blocks, checksums, MANIFEST), keys or values that
 *   do not decode, and column families with entries that are no state of the meta file;
 *   UnsupportedSerializerError when a selected state's serializers are not supported; the reader's
 *   errors.
 */
export async function* readRocksDbKeyedEntryBatches(
  state: FlinkRocksDbState,
  maxParallelism: number,
  options: RocksDbKeyedReadOptions = {},
): AsyncGenerator<KeyedStateEntry[]> {
  const states = keyedStates(state.header);
  const keySer = serializerOf(state.header.keySerializer);
  const prefixBytes = keyGroupPrefixBytes(maxParallelism);
  for await (const batch of readRocksDbCanonicalRecords(state, maxParallelism, {
    ...(options.stateIds ? { stateIds: options.stateIds } : {}),
    ...(options.keyGroups ? { keyGroups: options.keyGroups } : {}),
    ...(options.batchSize ? { batchSize: options.batchSize } : {}),
  })) {
    const out: KeyedStateEntry[] = [];
    for (const r of batch) {
      const info = states[r.stateId];
      if (!info) continue; // cannot happen: the records come from the header's states
      out.push(decodeCanonicalRecord(r, info, keySer, prefixBytes, options.uri));
    }
    yield out;
  }
}
