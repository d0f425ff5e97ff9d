/**
 * Writing a subtask's keyed state as a RocksDB instance the way Flink's RocksDB backend snapshots it
 * natively: the writing half of converting canonical savepoint key groups into a native RocksDB
 * savepoint (`IncrementalRemoteKeyedStateHandle`), the inverse of `./rocksdb-canonical.ts`.
 *
 * Flink keeps one column family per state (`RocksDBKeyedStateBackend`, named after the state, timers
 * in `_timer_state/...` families with the default RocksDB timer service), keys prefixed by the key
 * group (`CompositeKeySerializationUtils.writeKeyGroup`). A canonical record is exactly such an entry:
 * its key is the RocksDB key (key-group prefix included) and its value the RocksDB value (list state:
 * elements joined by `,`; map state: one record per map entry; timers: empty value), see
 * `FullSnapshotAsyncWriter` / `RocksDBFullRestoreOperation`, which puts the canonical bytes into RocksDB
 * as they are. So each record goes, unchanged, into the column family of its state.
 *
 * What is produced (the files `RocksDBIncrementalRestoreOperation` downloads and opens, for a handle
 * whose key-group range is the subtask's: it opens the database directly, with a column family
 * descriptor per state of the meta file):
 * - the meta file: the `KeyedBackendSerializationProxy` header, as `RocksDBSnapshotStrategyBase`
 *   materializes it (the states, in the canonical file's order, are the column families);
 * - per state with entries, one or more table files (`000008.sst`, ...; a new one after
 *   `targetFileSize` bytes) at the bottommost level, sequence number 0 (`../rocksdb/sst-writer.ts`);
 * - `MANIFEST-<n>` adding a column family per state (ids 1, 2, ... in header order; `default` is 0 and
 *   empty) with its tables, and `CURRENT` naming it (`../rocksdb/manifest-writer.ts`).
 *
 * Order: records come per key group ascending and, in a key group, per state run (each state once), as
 * canonical files hold them. RocksDB needs each column family's keys ascending bytewise; within a key
 * group and state, canonical order is RocksDB's key order when a RocksDB backend wrote the savepoint,
 * but hash order when the hashmap backend did. So each run (one key group of one state) is buffered up
 * to `maxRunBytes` and sorted unless it is already in order (checked as it comes); a longer run goes
 * through an external merge sort (`./external-sort.ts`: sorted chunks spilled to `spillDirectory`, then
 * a k-way merge; a run in order makes a single chunk that is only read back). Memory is bounded by
 * `maxRunBytes` whatever the run, and so whatever the state size. With `streamRunsAfterBytes`, a run in
 * key order is written as it comes once past that many bytes (memory no longer follows the runs' size,
 * which grows with the state's), and a streamed run found out of order ends the write with
 * {@link RunOrderError} for the caller to start over without streaming.
 */

import { tmpdir } from "node:os";
import { CorruptSnapshotError } from "../../errors.js";
import { DataOutput } from "../io/data-output.js";
import type { KeyGroupRange } from "../metadata/model.js";
import { compareBytes } from "../rocksdb/coding.js";
import { FLINK_MERGE_OPERATOR_CLASS, keyGroupOf } from "../rocksdb/flink.js";
import { tableFileName } from "../rocksdb/manifest.js";
import {
  currentFileContents,
  encodeManifest,
  type ManifestColumnFamily,
  manifestFileName,
} from "../rocksdb/manifest-writer.js";
import { type SstCompression, type SstFileInfo, SstWriter } from "../rocksdb/sst-writer.js";
import type { CanonicalRecord } from "./canonical-writer.js";
import { ExternalSorter, RECORD_OVERHEAD } from "./external-sort.js";
import { type KeyedBackendHeader, writeKeyedBackendHeader } from "./headers.js";

/** Where one table file's bytes go (a local spool file, an upload). */
export interface TableSink {
  write(bytes: Uint8Array): Promise<void>;
  /** Called once, after the last write. */
  close(): Promise<void>;
}

/** Options of {@link writeRocksDbInstance}. */
export interface RocksDbInstanceOptions {
  /** The keyed header: its states become the column families, in order; written as the meta file. */
  header: KeyedBackendHeader;
  /** The subtask's key groups: every record must be in it. */
  keyGroupRange: KeyGroupRange;
  /** Key-group prefix bytes of the keys (1 up to max parallelism 128, else 2). */
  keyGroupPrefixBytes: 1 | 2;
  /** Opens the sink of a new table file (`000008.sst`). */
  openTable: (fileName: string) => Promise<TableSink>;
  /** Block compression of the tables (default "snappy", RocksDB's and Flink's default). */
  compression?: SstCompression;
  /** A table is closed and a new one started once it has this many bytes (default 64 MiB). */
  targetFileSize?: number;
  /**
   * Bytes of one run (key group of one state; keys + values + 64 per record) held in memory at most
   * (default {@link DEFAULT_MAX_RUN_BYTES}). Past it, a run in key order so far is written as it comes,
   * and a run out of order is sorted externally in chunks of this size under `spillDirectory`.
   */
  maxRunBytes?: number;
  /** Local directory for the external sort's chunk files (default the OS temporary directory). */
  spillDirectory?: string;
  /**
   * Stream runs in key order: once a run's records so far are strictly ascending and hold more than
   * this many bytes (counted as for `maxRunBytes`), they are written at once and the rest of the run
   * as it comes, so that memory does not follow the run's size. A later record out of order then ends
   * the write with {@link RunOrderError}: the caller starts over without this option (the run is sorted
   * in memory or externally). Default: runs are buffered whole (`maxRunBytes`).
   */
  streamRunsAfterBytes?: number;
  /** `rocksdb.creating.db.identity` and the session id written into the tables. */
  dbId?: string;
  dbSessionId?: string;
  /** The source (file URI) named in errors. */
  source?: string;
}

/** One table file written by {@link writeRocksDbInstance}. */
export interface WrittenTable {
  fileName: string;
  columnFamily: string;
  info: SstFileInfo;
}

/** The result of {@link writeRocksDbInstance}: the tables written, and the small files in memory. */
export interface RocksDbInstanceFiles {
  tables: WrittenTable[];
  /** The meta file (`KeyedBackendSerializationProxy`). */
  meta: Uint8Array;
  manifestName: string;
  manifest: Uint8Array;
  /** `CURRENT`'s bytes. */
  current: Uint8Array;
  /** Records (RocksDB entries) written. */
  records: number;
  /** Key groups with at least one record. */
  keyGroups: number;
  /** Runs larger than `maxRunBytes`, which went through the external sort. */
  externalRuns: number;
}

/**
 * Thrown by {@link writeRocksDbInstance} with `streamRunsAfterBytes` when a run that was streamed (in
 * key order so far) has a record out of order: the tables written so far are not usable, the write is
 * to be started over without streaming. Not a fault of the input (the hashmap backend's canonical
 * savepoints hold runs in hash order).
 */
export class RunOrderError extends Error {
  constructor(
    readonly state: string,
    readonly keyGroup: number,
  ) {
    super(
      `state ${JSON.stringify(state)}, key group ${keyGroup}: a run written as it came is not in key order`,
    );
    this.name = "RunOrderError";
  }
}

/** Default {@link RocksDbInstanceOptions.maxRunBytes}: 16 MiB. */
export const DEFAULT_MAX_RUN_BYTES = 16 * 1024 * 1024;

/**
 * Table bytes handed to the sink at a time (256 KiB): small enough that a store's stream buffering a
 * few pieces ahead stays small, large enough to cost few writes.
 */
const TABLE_PIECE_BYTES = 256 * 1024;

/** Table file numbers start here (RocksDB's own first tables of a new database get similar numbers). */
const FIRST_TABLE_NUMBER = 8;

/** A column family being written: its current table and the last key it got. */
class FamilyWriter {
  files: WrittenTable[] = [];
  private writer: SstWriter | null = null;
  private sink: TableSink | null = null;
  private fileName = "";
  lastKey: Uint8Array | null = null;
  private readonly targetFileSize: number;

  constructor(
    readonly id: number,
    readonly name: string,
    private readonly options: RocksDbInstanceOptions,
    private readonly nextNumber: () => number,
  ) {
    this.targetFileSize = options.targetFileSize ?? 64 * 1024 * 1024;
  }

  /**
   * Adds an entry (keys strictly ascending); returns a promise only when bytes go to the sink (every
   * MiB, and when a table is full), so that the common case costs no microtask.
   */
  add(key: Uint8Array, value: Uint8Array): Promise<void> | undefined {
    const w = this.writer;
    if (!w) return this.start().then(() => this.add(key, value));
    w.add(key, value);
    this.lastKey = key;
    if (w.written >= this.targetFileSize) return this.close();
    if (w.buffered >= TABLE_PIECE_BYTES) return (this.sink as TableSink).write(w.take());
    return undefined;
  }

  private async start(): Promise<void> {
    this.fileName = tableFileName(this.nextNumber());
    this.sink = await this.options.openTable(this.fileName);
    this.writer = new SstWriter({
      columnFamilyId: this.id,
      columnFamilyName: this.name,
      mergeOperator: FLINK_MERGE_OPERATOR_CLASS,
      compression: this.options.compression ?? "snappy",
      ...(this.options.dbId === undefined ? {} : { dbId: this.options.dbId }),
      ...(this.options.dbSessionId === undefined ? {} : { dbSessionId: this.options.dbSessionId }),
    });
  }

  /** Finishes the current table, if any. */
  async close(): Promise<void> {
    if (!this.writer || !this.sink) return;
    const info = this.writer.finish();
    await this.sink.write(this.writer.take());
    await this.sink.close();
    this.files.push({ fileName: this.fileName, columnFamily: this.name, info });
    this.writer = null;
    this.sink = null;
  }
}

/**
 * Writes the records of one subtask as a RocksDB instance (see the module doc). Table bytes go to
 * `options.openTable` sinks as they are produced; memory is one data block (and up to 256 KiB of table
 * bytes) and one index per column family plus `maxRunBytes` of one run.
 *
 * @param records canonical records in canonical order (key groups ascending, one run per state and
 *   key group), keys without the 0x80 meta-data flag (as `readCanonicalRecords` hands them out).
 * @throws CorruptSnapshotError for a record outside the key-group range, a key whose key-group prefix
 *   is not its key group, key groups out of order, a state id outside the header, a key repeated in a
 *   state, or a run that comes back after another state's (keys then are out of order); the file
 *   system's errors of the external sort's chunk files.
 */
export async function writeRocksDbInstance(
  records: AsyncIterable<CanonicalRecord[]>,
  options: RocksDbInstanceOptions,
): Promise<RocksDbInstanceFiles> {
  const { header, keyGroupRange: range, keyGroupPrefixBytes: prefix } = options;
  const maxRunBytes = options.maxRunBytes ?? DEFAULT_MAX_RUN_BYTES;
  let number = FIRST_TABLE_NUMBER;
  const nextNumber = () => number++;
  const families = header.states.map((s, i) => new FamilyWriter(i + 1, s.name, options, nextNumber));
  const fail = (message: string) =>
    new CorruptSnapshotError(message, {
      ...(options.source === undefined ? {} : { uri: options.source }),
      offset: 0,
    });
  const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

  let count = 0;
  let keyGroups = 0;
  let externalRuns = 0;
  let runKeyGroup = -1;
  let runState = -1;
  /** The current run's records while they are buffered (mode "buffer"). */
  let run: CanonicalRecord[] = [];
  let runBytes = 0;
  /** Whether the buffered records are strictly ascending so far. */
  let runSorted = true;
  /** buffer: in memory; spill: past the bound, in the external sorter; stream: written as it comes. */
  let mode: "buffer" | "spill" | "stream" = "buffer";
  const streamAfter =
    options.streamRunsAfterBytes === undefined ? Number.POSITIVE_INFINITY : options.streamRunsAfterBytes;
  let sorter: ExternalSorter | null = null;
  /** Refuses `key` unless it is above the family's last key (a repeated key, a state's run split). */
  const checkOrder = (fam: FamilyWriter, key: Uint8Array) => {
    if (!fam.lastKey) return;
    const c = compareBytes(key, fam.lastKey);
    if (c === 0) throw fail(`state ${JSON.stringify(fam.name)}: key ${hex(key)} appears twice`);
    if (c < 0) {
      throw fail(
        `state ${JSON.stringify(fam.name)}: key ${hex(key)} after ${hex(fam.lastKey)} (a state's records of one key group are not in one run)`,
      );
    }
  };
  /**
   * Writes records of the current run in key order. `ascending`: they were seen to be strictly
   * ascending as they came, so only the first needs checking against what the family holds.
   */
  const writeAll = async (rs: readonly { key: Uint8Array; value: Uint8Array }[], ascending: boolean) => {
    const fam = families[runState] as FamilyWriter;
    for (let i = 0; i < rs.length; i++) {
      const r = rs[i] as { key: Uint8Array; value: Uint8Array };
      if (i === 0 || !ascending) checkOrder(fam, r.key);
      const p = fam.add(r.key, r.value);
      if (p) await p;
    }
    count += rs.length;
  };
  const endRun = async () => {
    if (mode === "buffer") {
      if (!runSorted) run.sort((a, b) => compareBytes(a.key, b.key));
      await writeAll(run, runSorted);
    } else if (mode === "spill") {
      const s = sorter as ExternalSorter;
      try {
        for await (const batch of s.sorted()) await writeAll(batch, false);
      } finally {
        await s.close();
      }
      sorter = null;
    }
    run = [];
    runBytes = 0;
    runSorted = true;
    mode = "buffer";
  };
  try {
    for await (const batch of records) {
      for (const r of batch) {
        if (r.keyGroup !== runKeyGroup || r.stateId !== runState) {
          if (r.keyGroup < range.start || r.keyGroup > range.end) {
            throw fail(
              `record of key group ${r.keyGroup} outside the key groups ${range.start}-${range.end}`,
            );
          }
          if (r.stateId < 0 || r.stateId >= families.length) {
            throw fail(`state id ${r.stateId}, but the header has ${families.length} states`);
          }
          if (r.keyGroup < runKeyGroup) throw fail(`key group ${r.keyGroup} after key group ${runKeyGroup}`);
          await endRun();
          if (r.keyGroup !== runKeyGroup) keyGroups++;
          runKeyGroup = r.keyGroup;
          runState = r.stateId;
        }
        if (keyGroupOf(r.key, prefix) !== r.keyGroup) {
          throw fail(`key ${hex(r.key)} of key group ${r.keyGroup} does not start with its key-group prefix`);
        }
        if (mode === "spill") {
          await (sorter as ExternalSorter).add(r);
          continue;
        }
        if (mode === "stream") {
          const fam = families[runState] as FamilyWriter;
          const c = compareBytes(r.key, fam.lastKey as Uint8Array);
          if (c < 0) throw new RunOrderError(fam.name, runKeyGroup);
          if (c === 0) checkOrder(fam, r.key); // throws: the key appears twice
          const p = fam.add(r.key, r.value);
          if (p) await p;
          count++;
          continue;
        }
        if (
          runSorted &&
          run.length > 0 &&
          compareBytes(r.key, (run[run.length - 1] as CanonicalRecord).key) <= 0
        ) {
          runSorted = false;
        }
        run.push(r);
        runBytes += r.key.byteLength + r.value.byteLength + RECORD_OVERHEAD;
        if (runSorted && runBytes > streamAfter && runBytes <= maxRunBytes) {
          // In order so far and large: written now, the rest of the run as it comes.
          await writeAll(run, true);
          run = [];
          runBytes = 0;
          mode = "stream";
        } else if (runBytes > maxRunBytes) {
          // Past the bound: the external sorter (one chunk, never merged, when the run is in order).
          sorter = new ExternalSorter({
            memoryBytes: maxRunBytes,
            directory: options.spillDirectory ?? tmpdir(),
          });
          mode = "spill";
          externalRuns++;
          for (const x of run) await sorter.add(x);
          run = [];
          runBytes = 0;
        }
      }
    }
    await endRun();
  } finally {
    await (sorter as ExternalSorter | null)?.close();
  }
  for (const f of families) await f.close();

  const tables = families.flatMap((f) => f.files);
  const manifestNumber = number;
  const cfs: ManifestColumnFamily[] = [
    { id: 0, name: "default", files: [] },
    ...families.map((f) => ({
      id: f.id,
      name: f.name,
      files: f.files.map((t) => ({
        level: 6,
        number: Number(t.fileName.slice(0, -4)),
        fileSize: t.info.size,
        smallest: { userKey: t.info.smallestKey as Uint8Array, sequence: 0n, type: 1 },
        largest: { userKey: t.info.largestKey as Uint8Array, sequence: 0n, type: 1 },
        smallestSeqno: t.info.smallestSeqno,
        largestSeqno: t.info.largestSeqno,
      })),
    })),
  ];
  const manifestName = manifestFileName(manifestNumber);
  const manifest = encodeManifest(cfs, { nextFileNumber: BigInt(manifestNumber + 1) });
  const meta = new DataOutput(1024);
  writeKeyedBackendHeader(meta, header);
  return {
    tables,
    meta: meta.toBytes().slice(),
    manifestName,
    manifest,
    current: currentFileContents(manifestName),
    records: count,
    keyGroups,
    externalRuns,
  };
}
