/**
 * The canonical records of a subtask's RocksDB native state (`IncrementalRemoteKeyedStateHandle` of a
 * native RocksDB savepoint or a RocksDB checkpoint): the reading half of converting it into canonical
 * savepoint key groups, as Flink's `FullSnapshotAsyncWriter` does for a canonical savepoint of a
 * RocksDB job (over `RocksDBFullSnapshotResources` and `RocksStatesPerKeyGroupMergeIterator`).
 *
 * Flink writes each RocksDB entry as it is: the canonical key is the RocksDB key WITH its key-group
 * prefix (`writeKeyValuePair(mergeIterator.key(), mergeIterator.value(), ...)`, the first byte only
 * carrying the 0x80 "meta data follows" flag on the last pair of a state run), the value is RocksDB's
 * merged value (list state: elements joined by `,`; map state: one entry per map entry with the
 * null-flagged user value; timers: the `_timer_state/...` column family's key, value empty). The
 * kvStateId is the state's index in the keyed header of the snapshot's meta file, which is the header
 * Flink writes into the canonical file (same states, same order: checked against Flink's own canonical
 * RocksDB savepoints of the fixture job). `RocksDBFullRestoreOperation` and
 * `HeapSavepointRestoreOperation` restore those bytes.
 *
 * Records come per key group ascending, and in a key group per state id ascending (each state's run
 * once), as Flink's merge iterator orders them; entries of key groups outside the handle's range (after
 * a rescale, a RocksDB instance may hold them) are left out, as Flink's clipping does. Memory is one
 * reader batch per column family plus one output batch.
 */

import { CorruptSnapshotError } from "../../errors.js";
import type { KeyGroupRange } from "../metadata/model.js";
import { DEFAULT_COLUMN_FAMILY, type FlinkRocksDbState } from "../rocksdb/flink.js";
import { keyGroupOf, keyGroupPrefixLength, keyGroupRangeBounds } from "../rocksdb/index.js";
import { type KeyValue, settleAll, sortedRunCount } from "../rocksdb/lsm.js";
import { RECORD_BATCH } from "./canonical-records.js";
import type { CanonicalRecord } from "./canonical-writer.js";

/** Options of {@link readRocksDbCanonicalRecords}. */
export interface RocksDbCanonicalOptions {
  /** Entries read per column family at a time (the reader's batch size). */
  batchSize?: number;
  /**
   * Only these key groups (inclusive, intersected with the instance's range): the column families are
   * read from the range's first key-group prefix to the one after its last, nothing else.
   */
  keyGroups?: KeyGroupRange;
  /** Only the states with these kvStateIds (indices in the header); other column families are not read. */
  stateIds?: ReadonlySet<number>;
  /**
   * Read-ahead bytes of the whole read (default {@link CANONICAL_READ_AHEAD}), shared by the column
   * families in proportion to their table bytes, and by a family's sorted runs in proportion to theirs
   * (every run of every state is open at once; see `runReadAheadChunks`).
   */
  readAheadBytes?: number;
}

/**
 * Default read-ahead of {@link readRocksDbCanonicalRecords} (bytes): 8 MiB however many tables the
 * instance has. A 1 GiB bench instance (Flink 2.3.0) holds up to 29 sorted runs open at once: with a
 * fixed 1 MiB chunk per run (two in memory) that was 58 MiB of read-ahead per subtask, 20 MiB at 256
 * MiB (10 runs), i.e. memory growing with the state; shared, each of 29 runs reads 141 KiB at a time
 * (at least `MIN_READ_AHEAD_CHUNK`). 16 MiB against 8 (native -> canonical, 2 workers, loaded machine,
 * 2026-11-22, back to back): 1 GiB 363 -> 346 MiB peak RSS, CPU 20.6 -> 19.0 s (medians of 3);
 * 256 MiB 344 -> 315 MiB, CPU 6.9 -> 6.9 s (2 runs).
 */
export const CANONICAL_READ_AHEAD = 8 * 1024 * 1024;

/** Bytes of a column family's live table files (MANIFEST sizes). */
function liveBytes(levels: readonly { fileSize: number }[][]): number {
  let n = 0;
  for (const files of levels) for (const f of files) n += f.fileSize;
  return n;
}

/** A column family being read: its current batch and position. */
class FamilyCursor {
  private batch: KeyValue[] = [];
  private index = 0;
  private done = false;

  constructor(
    readonly stateId: number,
    readonly name: string,
    private readonly source: AsyncIterator<KeyValue[]>,
  ) {}

  /** The current entry when it is in the batch at hand (no await), else null: then {@link peek}. */
  current(): KeyValue | null {
    return this.index < this.batch.length ? (this.batch[this.index] as KeyValue) : null;
  }

  /** The current entry, or null at the end. */
  async peek(): Promise<KeyValue | null> {
    while (this.index >= this.batch.length) {
      if (this.done) return null;
      const next = await this.source.next();
      if (next.done) {
        this.done = true;
        return null;
      }
      this.batch = next.value;
      this.index = 0;
    }
    return this.batch[this.index] as KeyValue;
  }

  advance(): void {
    this.index++;
  }

  async close(): Promise<void> {
    if (!this.done) await this.source.return?.();
    this.done = true;
  }
}

/**
 * The column families of a Flink RocksDB instance that are not states of its header (besides RocksDB's
 * `default`), and have entries: Flink would not restore them, so they are reported rather than lost.
 */
async function strayFamilies(state: FlinkRocksDbState): Promise<string[]> {
  const names = new Set(state.header.states.map((s) => s.name));
  const out: string[] = [];
  for (const cf of state.db.columnFamilies()) {
    if (names.has(cf.name) || cf.name === DEFAULT_COLUMN_FAMILY) continue;
    for await (const b of state.db.entryBatches(cf.name)) {
      if (b.length > 0) {
        out.push(cf.name);
        break;
      }
    }
  }
  return out;
}

/**
 * The canonical records of one subtask's RocksDB state (see the module doc), in batches of at most
 * {@link RECORD_BATCH} records.
 *
 * @param state the opened instance (`openFlinkRocksDb`).
 * @param maxParallelism the operator's max parallelism (decides the key-group prefix width).
 * @throws CorruptSnapshotError for a column family with entries that is no state of the header, or a
 *   key without a full key-group prefix; the reader's errors.
 */
export async function* readRocksDbCanonicalRecords(
  state: FlinkRocksDbState,
  maxParallelism: number,
  options: RocksDbCanonicalOptions = {},
): AsyncGenerator<CanonicalRecord[]> {
  const stray = await strayFamilies(state);
  if (stray.length > 0) {
    throw new CorruptSnapshotError(
      `the RocksDB instance has column families with entries that are no state of its meta file: ${stray.map((s) => JSON.stringify(s)).join(", ")}`,
      { offset: 0 },
    );
  }
  const prefixLength = keyGroupPrefixLength(maxParallelism);
  const own = state.keyGroupRange;
  const range = options.keyGroups
    ? { start: Math.max(own.start, options.keyGroups.start), end: Math.min(own.end, options.keyGroups.end) }
    : own;
  if (range.end < range.start) return;
  const bounds = keyGroupRangeBounds(range, prefixLength);
  const present = new Set(state.db.columnFamilies().map((c) => c.name));
  const read: { stateId: number; name: string; runs: number; bytes: number }[] = [];
  for (const [stateId, s] of state.header.states.entries()) {
    // A state without a column family has no entries (Flink creates the family when it registers one).
    if (!present.has(s.name)) continue;
    if (options.stateIds && !options.stateIds.has(stateId)) continue;
    const levels = state.db.columnFamily(s.name)?.levels ?? [];
    read.push({ stateId, name: s.name, runs: sortedRunCount(levels), bytes: liveBytes(levels) });
  }
  // shared in proportion to the families' table bytes (each merge shares its part by its runs' sizes)
  const totalBytes = read.reduce((n, r) => n + r.bytes, 0);
  const totalRuns = read.reduce((n, r) => n + r.runs, 0);
  const budget = options.readAheadBytes ?? CANONICAL_READ_AHEAD;
  const cursors: FamilyCursor[] = [];
  for (const { stateId, name, runs, bytes } of read) {
    const share = totalBytes > 0 ? bytes / totalBytes : runs / Math.max(1, totalRuns);
    const it = state.db.entryBatches(name, {
      ...bounds,
      ...(options.batchSize ? { batchSize: options.batchSize } : {}),
      readAheadBytes: Math.max(1, Math.floor(budget * share)),
    });
    cursors.push(new FamilyCursor(stateId, name, it[Symbol.asyncIterator]()));
  }
  const keyGroupOfEntry = (c: FamilyCursor, e: KeyValue): number => {
    const kg = keyGroupOf(e.key, prefixLength);
    if (kg < range.start || kg > range.end) {
      throw new CorruptSnapshotError(
        `column family ${JSON.stringify(c.name)}: key ${Buffer.from(e.key).toString("hex")} is outside key groups ${range.start}-${range.end}`,
        { offset: 0 },
      );
    }
    return kg;
  };
  let batch: CanonicalRecord[] = [];
  try {
    // Every column family opens its tables and reads its first blocks concurrently.
    await settleAll(cursors.map((c) => c.peek()));
    for (;;) {
      // The smallest key group any state still has.
      let kg = Number.POSITIVE_INFINITY;
      for (const c of cursors) {
        const e = c.current() ?? (await c.peek());
        if (e) kg = Math.min(kg, keyGroupOfEntry(c, e));
      }
      if (kg === Number.POSITIVE_INFINITY) break;
      for (const c of cursors) {
        // an await only when the cursor's batch is used up
        for (
          let e = c.current() ?? (await c.peek());
          e && keyGroupOfEntry(c, e) === kg;
          e = c.current() ?? (await c.peek())
        ) {
          batch.push({ keyGroup: kg, stateId: c.stateId, key: e.key, value: e.value });
          c.advance();
          if (batch.length >= RECORD_BATCH) {
            yield batch;
            batch = [];
          }
        }
      }
    }
    if (batch.length > 0) yield batch;
  } finally {
    for (const c of cursors) await c.close();
  }
}
