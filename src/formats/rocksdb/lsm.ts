/**
 * The merged view of one column family: what a RocksDB iterator at the latest sequence number
 * returns, computed from the live table files (`db/db_iter.cc`, `table/merging_iterator.cc`,
 * `db/range_del_aggregator.cc`, `db/merge_helper.cc`).
 *
 * The files form sorted runs: each level-0 file is a run (level-0 files overlap), each level >= 1
 * is one run (its files do not overlap and are read one after the other). A k-way merge over the
 * runs yields every internal entry in internal key order (user key ascending, sequence
 * descending); for each user key the versions are resolved newest first:
 *
 * - a range tombstone with a larger sequence number that covers the key hides this version and
 *   every older one (it acts as a delete at its sequence number);
 * - put: the value (combined with the merge operands met so far, if any);
 * - delete, single delete: the key is gone (or, with merge operands above it, their merge without
 *   a base value);
 * - merge: the operand is kept and older versions are read on; at the end, the operands are merged
 *   without a base value.
 *
 * Memory: one decoded data block per run plus the range tombstones of the open files, whatever
 * the size of the column family. Flink's merge operator is `StringAppendTESTOperator` with the
 * delimiter `,` (`RocksDBKeyedStateBackend.MERGE_OPERATOR_NAME = "stringappendtest"`), used by
 * list state (`ListDelimitedSerializer`); {@link StringAppendOperator} implements its full merge.
 */

import { CorruptSnapshotError, UnsupportedVersionError } from "../../errors.js";
import { READ_AHEAD_CHUNK } from "./block-io.js";
import { compareBytes, toHex } from "./coding.js";
import { MAX_SEQUENCE, VALUE_TYPE_NAMES, ValueType } from "./format.js";
import type { FileMetaData } from "./manifest.js";
import type { RangeTombstone, SstEntry, SstReader } from "./sst-reader.js";

/** A merge operator's full merge (`MergeOperator::FullMergeV2`). */
export interface MergeOperator {
  /** The name RocksDB records, e.g. "StringAppendTESTOperator". */
  readonly name: string;
  /**
   * Combines a base value (null when the key had none, or was deleted) with merge operands,
   * oldest operand first.
   */
  fullMerge(key: Uint8Array, existing: Uint8Array | null, operands: Uint8Array[]): Uint8Array;
}

/**
 * RocksDB's string-append operators (`utilities/merge_operators/string_append/stringappend2.cc`
 * `StringAppendTESTOperator::FullMergeV2`, and the associative `StringAppendOperator`): the base
 * value (if any) and the operands joined with the delimiter; one operand without base is
 * returned as is.
 */
export class StringAppendOperator implements MergeOperator {
  private readonly delimiter: Uint8Array;

  /**
   * @param name "StringAppendTESTOperator" (Flink's) or "StringAppendOperator".
   * @param delimiter the delimiter (default `,`, one byte 0x2C).
   */
  constructor(
    readonly name: string = "StringAppendTESTOperator",
    delimiter: string | Uint8Array = ",",
  ) {
    this.delimiter = typeof delimiter === "string" ? new TextEncoder().encode(delimiter) : delimiter;
  }

  fullMerge(_key: Uint8Array, existing: Uint8Array | null, operands: Uint8Array[]): Uint8Array {
    if (existing === null && operands.length === 1) return operands[0] as Uint8Array;
    const parts = existing === null ? operands : [existing, ...operands];
    const d = this.delimiter.byteLength;
    const total = parts.reduce((n, p) => n + p.byteLength, 0) + d * Math.max(0, parts.length - 1);
    const out = new Uint8Array(total);
    let at = 0;
    for (const [i, p] of parts.entries()) {
      if (i > 0) {
        out.set(this.delimiter, at);
        at += d;
      }
      out.set(p, at);
      at += p.byteLength;
    }
    return out;
  }
}

/**
 * The merge operator for a name as RocksDB records it (table property "rocksdb.merge.operator",
 * OPTIONS `merge_operator`), or null for "nullptr", "" and unknown names.
 */
export function mergeOperatorByName(
  name: string | null | undefined,
  delimiter?: string,
): MergeOperator | null {
  switch (name) {
    case "StringAppendTESTOperator":
    case "stringappendtest":
      return new StringAppendOperator("StringAppendTESTOperator", delimiter ?? ",");
    case "StringAppendOperator":
    case "stringappend":
      return new StringAppendOperator("StringAppendOperator", delimiter ?? ",");
    default:
      return null;
  }
}

/** One table file of a column family, opened on demand. */
export interface LsmFile {
  /** File name, e.g. `000042.sst` (for errors). */
  name: string;
  /** The file's MANIFEST entry, used to truncate its range tombstones to its key range. */
  meta?: FileMetaData;
  open(): Promise<SstReader>;
}

/** A sorted run: one level-0 file, or all files of a level >= 1 in key order. */
export interface LsmRun {
  /** e.g. `L0 000042.sst`, `L3`. */
  label: string;
  files: LsmFile[];
  /** Bytes of its files (from the MANIFEST), when known: its share of the merge's read-ahead. */
  bytes?: number;
}

/** How many sorted runs {@link sortedRuns} makes of these levels (each level-0 file, each non-empty level). */
export function sortedRunCount(levels: FileMetaData[][]): number {
  let n = 0;
  for (const [level, files] of levels.entries()) n += level === 0 ? files.length : files.length > 0 ? 1 : 0;
  return n;
}

/** The sorted runs of a column family's levels (level-0 files newest first, then L1, L2, ...). */
export function sortedRuns(levels: FileMetaData[][], fileOf: (f: FileMetaData) => LsmFile): LsmRun[] {
  const runs: LsmRun[] = [];
  for (const [level, files] of levels.entries()) {
    if (files.length === 0) continue;
    if (level === 0) {
      for (const f of files)
        runs.push({ label: `L0 ${fileOf(f).name}`, files: [fileOf(f)], bytes: f.fileSize });
    } else {
      const bytes = files.reduce((n, f) => n + f.fileSize, 0);
      runs.push({ label: `L${level}`, files: files.map(fileOf), bytes });
    }
  }
  return runs;
}

/** A resolved key and its value. */
export interface KeyValue {
  key: Uint8Array;
  value: Uint8Array;
}

/** Options of {@link mergeRuns}. */
export interface MergeOptions {
  /** First user key (inclusive). */
  from?: Uint8Array;
  /** User key where iteration stops (exclusive). */
  to?: Uint8Array;
  /** The merge operator; required only when merge operands are met. */
  mergeOperator?: MergeOperator | null;
  /** Entries per yielded batch (default 1024). */
  batchSize?: number;
  /** Label for errors, e.g. the column family name. */
  label?: string;
  /**
   * Bytes of read-ahead for the whole merge (default {@link MERGE_READ_AHEAD}): every run's table is
   * read at once, each through two chunks, the runs sharing this in proportion to their sizes
   * ({@link runReadAheadChunks}; at most `READ_AHEAD_CHUNK`, at least {@link MIN_READ_AHEAD_CHUNK} per
   * chunk). Memory then stays the same however many runs (level-0 files) a larger state has.
   */
  readAheadBytes?: number;
}

/** Default read-ahead of one {@link mergeRuns} (bytes): 8 MiB, i.e. 1 MiB chunks for up to 4 runs. */
export const MERGE_READ_AHEAD = 8 * 1024 * 1024;

/** Smallest read-ahead chunk of a run (bytes): a few data blocks per read. */
export const MIN_READ_AHEAD_CHUNK = 64 * 1024;

/** The read-ahead chunk of each of `runs` runs sharing `budget` bytes (see {@link MergeOptions.readAheadBytes}). */
export function runReadAheadChunk(runs: number, budget: number = MERGE_READ_AHEAD): number {
  const share = Math.floor(budget / (2 * Math.max(1, runs)));
  return Math.max(MIN_READ_AHEAD_CHUNK, Math.min(READ_AHEAD_CHUNK, share));
}

/**
 * The read-ahead chunks of runs sharing `budget` bytes in proportion to their sizes (two chunks each,
 * at least {@link MIN_READ_AHEAD_CHUNK}, at most `READ_AHEAD_CHUNK`): a merge reads every run from
 * start to end over the same time, so a run's bytes are consumed at a rate proportional to its size.
 * The large run (the bottom level) then reads ahead far enough to rarely wait for its next chunk, the
 * small level-0 files less (they are consumed slowly); an even split made the large run wait. Runs
 * without a known size get {@link runReadAheadChunk}'s even share.
 * @returns one chunk size per run (bytes).
 */
export function runReadAheadChunks(runs: readonly LsmRun[], budget: number = MERGE_READ_AHEAD): number[] {
  const even = runReadAheadChunk(runs.length, budget);
  const total = runs.reduce((n, r) => n + (r.bytes ?? 0), 0);
  if (total <= 0 || runs.some((r) => r.bytes === undefined)) return runs.map(() => even);
  return runs.map((r) =>
    Math.max(
      MIN_READ_AHEAD_CHUNK,
      Math.min(READ_AHEAD_CHUNK, Math.floor((budget * (r.bytes ?? 0)) / (2 * total))),
    ),
  );
}

/** A run's position: the current batch of entries of its current file. */
class RunCursor {
  private fileIndex = -1;
  private batches: AsyncIterator<SstEntry[]> | null = null;
  batch: SstEntry[] = [];
  pos = 0;
  uri = "";

  constructor(
    readonly run: LsmRun,
    /** Lower is newer: level-0 files newest first, then levels in order. */
    readonly rank: number,
    private readonly range: { from?: Uint8Array; to?: Uint8Array; readAheadChunk?: number },
    private readonly onOpen: (tombstones: RangeTombstone[]) => void,
  ) {}

  get current(): SstEntry {
    return this.batch[this.pos] as SstEntry;
  }

  /** Moves to the next entry; false when the batch is used up (call {@link refill}). */
  advance(): boolean {
    this.pos++;
    return this.pos < this.batch.length;
  }

  /** Ends the current file's iteration (releasing its read-ahead) before the run is used up. */
  async close(): Promise<void> {
    const b = this.batches;
    this.batches = null;
    this.fileIndex = this.run.files.length;
    if (b) await b.return?.(undefined);
  }

  /** Loads the next non-empty batch (opening the next files as needed); false at the end. */
  async refill(): Promise<boolean> {
    for (;;) {
      if (this.batches) {
        const next = await this.batches.next();
        if (!next.done) {
          this.batch = next.value;
          this.pos = 0;
          if (this.batch.length > 0) return true;
          continue;
        }
        this.batches = null;
      }
      this.fileIndex++;
      const file = this.run.files[this.fileIndex];
      if (!file) {
        this.batch = [];
        this.pos = 0;
        return false;
      }
      if (file.meta && !overlaps(file.meta, this.range)) continue;
      const reader = await file.open();
      this.uri = reader.file.uri;
      this.onOpen(truncate(await reader.rangeTombstones(), file.meta));
      this.batches = reader.entryBatches(this.range)[Symbol.asyncIterator]();
    }
  }
}

/** Whether a file's key range meets `[from, to)`. */
function overlaps(meta: FileMetaData, range: { from?: Uint8Array; to?: Uint8Array }): boolean {
  if (range.from && compareBytes(meta.largest.userKey, range.from) < 0) return false;
  if (range.to && compareBytes(meta.smallest.userKey, range.to) >= 0) return false;
  return true;
}

/**
 * Truncates range tombstones to the file's key range, as RocksDB's `TruncatedRangeDelIterator`
 * does: a tombstone never reaches beyond the file it is in (the end is exclusive when the file's
 * largest key is a range deletion sentinel, inclusive of the largest user key otherwise).
 */
function truncate(tombstones: RangeTombstone[], meta: FileMetaData | undefined): RangeTombstone[] {
  if (!meta || tombstones.length === 0) return tombstones;
  const lo = meta.smallest.userKey;
  const sentinel = meta.largest.type === ValueType.RANGE_DELETION && meta.largest.sequence === MAX_SEQUENCE;
  const hi = sentinel ? meta.largest.userKey : successor(meta.largest.userKey);
  const out: RangeTombstone[] = [];
  for (const t of tombstones) {
    const start = compareBytes(t.start, lo) < 0 ? lo : t.start;
    const end = compareBytes(t.end, hi) > 0 ? hi : t.end;
    if (compareBytes(start, end) < 0) out.push({ start, end, sequence: t.sequence });
  }
  return out;
}

/** The smallest key greater than `k`: `k ‖ 0x00`. */
function successor(k: Uint8Array): Uint8Array {
  const out = new Uint8Array(k.byteLength + 1);
  out.set(k, 0);
  return out;
}

/** Range tombstones seen so far, queried with ascending keys. */
class TombstoneSet {
  private pending: RangeTombstone[] = [];
  private sorted = true;
  private active: RangeTombstone[] = [];

  add(ts: RangeTombstone[]): void {
    if (ts.length === 0) return;
    this.pending.push(...ts);
    this.sorted = false;
  }

  /** The largest sequence number of a tombstone covering `key` (keys must not decrease), or -1n. */
  maxCovering(key: Uint8Array): bigint {
    if (this.pending.length === 0 && this.active.length === 0) return -1n;
    if (!this.sorted) {
      this.pending.sort((a, b) => compareBytes(b.start, a.start)); // descending: pop() takes the smallest
      this.sorted = true;
    }
    while (
      this.pending.length > 0 &&
      compareBytes((this.pending[this.pending.length - 1] as RangeTombstone).start, key) <= 0
    ) {
      this.active.push(this.pending.pop() as RangeTombstone);
    }
    let max = -1n;
    let keep = 0;
    for (const t of this.active) {
      if (compareBytes(t.end, key) <= 0) continue;
      this.active[keep++] = t;
      if (t.sequence > max) max = t.sequence;
    }
    this.active.length = keep;
    return max;
  }
}

/** Heap order: internal key order, then newer run first. */
function cursorLess(a: RunCursor, b: RunCursor): boolean {
  const x = a.current;
  const y = b.current;
  const c = compareBytes(x.userKey, y.userKey);
  if (c !== 0) return c < 0;
  if (x.sequence !== y.sequence) return x.sequence > y.sequence;
  if (x.type !== y.type) return x.type > y.type;
  return a.rank < b.rank;
}

class CursorHeap {
  readonly items: RunCursor[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): RunCursor {
    return this.items[0] as RunCursor;
  }

  push(c: RunCursor): void {
    const a = this.items;
    a.push(c);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!cursorLess(a[i] as RunCursor, a[p] as RunCursor)) break;
      [a[i], a[p]] = [a[p] as RunCursor, a[i] as RunCursor];
      i = p;
    }
  }

  /** Restores the order after the top changed. */
  siftDown(): void {
    const a = this.items;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && cursorLess(a[l] as RunCursor, a[m] as RunCursor)) m = l;
      if (r < a.length && cursorLess(a[r] as RunCursor, a[m] as RunCursor)) m = r;
      if (m === i) return;
      [a[i], a[m]] = [a[m] as RunCursor, a[i] as RunCursor];
      i = m;
    }
  }

  pop(): void {
    const a = this.items;
    const last = a.pop() as RunCursor;
    if (a.length > 0) {
      a[0] = last;
      this.siftDown();
    }
  }
}

/**
 * The merged, resolved entries of sorted runs (one column family), in key order, as batches.
 *
 * @throws CorruptSnapshotError for unknown value types; UnsupportedVersionError for blob
 *   references and wide-column entities, and for merge operands without a merge operator; and
 *   whatever the table reader throws.
 */
export async function* mergeRuns(runs: LsmRun[], options: MergeOptions = {}): AsyncGenerator<KeyValue[]> {
  const chunks = runReadAheadChunks(runs, options.readAheadBytes);
  const tombstones = new TombstoneSet();
  const heap = new CursorHeap();
  const cursors: RunCursor[] = [];
  try {
    for (const [rank, run] of runs.entries()) {
      const range = {
        ...(options.from ? { from: options.from } : {}),
        ...(options.to ? { to: options.to } : {}),
        readAheadChunk: chunks[rank] as number,
      };
      cursors.push(new RunCursor(run, rank, range, (ts) => tombstones.add(ts)));
    }
    // The runs' first files open and read their first block concurrently (each open is a few reads in
    // turn: footer, metaindex, properties, index), rather than one run after the other.
    await settleAll(cursors.map((c) => c.refill()));
    for (const c of cursors) if (c.batch.length > 0) heap.push(c);
    yield* mergeHeap(heap, tombstones, options);
  } finally {
    // files still open when the consumer stops early (or an error ends the merge)
    for (const c of cursors) await c.close();
  }
}

/**
 * Waits for every promise to settle (none left running), then throws the first rejection in order, if
 * any; resolves to the values otherwise.
 */
export async function settleAll<T>(promises: Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((s) => s.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}

/** The merge loop of {@link mergeRuns} over its filled cursor heap. */
async function* mergeHeap(
  heap: CursorHeap,
  tombstones: TombstoneSet,
  options: MergeOptions,
): AsyncGenerator<KeyValue[]> {
  const batchSize = options.batchSize ?? 1024;
  const what = options.label ? ` in ${options.label}` : "";
  let out: KeyValue[] = [];
  const operands: Uint8Array[] = [];
  while (heap.size > 0) {
    const key = heap.peek().current.userKey;
    const covering = tombstones.maxCovering(key);
    if (operands.length > 0) operands.length = 0;
    let resolved = false;
    let base: Uint8Array | null = null;
    let visible = false;
    // Every version of `key`, newest first.
    while (heap.size > 0 && compareBytes(heap.peek().current.userKey, key) === 0) {
      const top = heap.peek();
      const e = top.current;
      if (!resolved) {
        if (e.sequence < covering) {
          resolved = true;
          visible = operands.length > 0;
        } else {
          switch (e.type) {
            case ValueType.VALUE:
              base = e.value;
              visible = true;
              resolved = true;
              break;
            case ValueType.DELETION:
            case ValueType.SINGLE_DELETION:
            case ValueType.DELETION_WITH_TIMESTAMP:
              visible = operands.length > 0;
              resolved = true;
              break;
            case ValueType.MERGE:
              operands.push(e.value);
              break;
            case ValueType.BLOB_INDEX:
            case ValueType.WIDE_COLUMN_ENTITY:
            case ValueType.VALUE_PREFERRED_SEQNO:
              throw new UnsupportedVersionError(
                `${VALUE_TYPE_NAMES[e.type]} entries (value type ${e.type}) are not supported${what} (key ${toHex(key)})`,
                { uri: top.uri, version: e.type, offset: 0 },
              );
            default:
              throw new CorruptSnapshotError(`unknown value type ${e.type} for key ${toHex(key)}${what}`, {
                uri: top.uri,
                offset: 0,
              });
          }
        }
      }
      if (top.advance()) heap.siftDown();
      else if (await top.refill()) heap.siftDown();
      else heap.pop();
    }
    if (!resolved) visible = operands.length > 0;
    if (!visible) continue;
    let value: Uint8Array;
    if (operands.length === 0) value = base as Uint8Array;
    else {
      const op = options.mergeOperator;
      if (!op) {
        throw new UnsupportedVersionError(
          `merge operands for key ${toHex(key)}${what} but no merge operator is known`,
          { uri: heap.size > 0 ? heap.peek().uri : "", version: 0, offset: 0 },
        );
      }
      value = op.fullMerge(key, base, operands.slice().reverse());
    }
    out.push({ key, value });
    if (out.length >= batchSize) {
      yield out;
      out = [];
    }
  }
  if (out.length > 0) yield out;
}
