/**
 * A RocksDB database directory read offline: `CURRENT` -> `MANIFEST-*` -> the live table files of
 * every column family -> their merged contents; `OPTIONS-*` for the merge operator and table
 * options. This is what a Flink RocksDB snapshot holds per subtask (a RocksDB checkpoint: no WAL,
 * memtables flushed), with the files coming from anywhere (a store, inline handle bytes).
 */

import { CorruptSnapshotError, NotFoundError } from "../../errors.js";
import {
  type KeyValue,
  type LsmFile,
  type MergeOperator,
  mergeOperatorByName,
  mergeRuns,
  sortedRuns,
} from "./lsm.js";
import {
  type ColumnFamilyVersion,
  type FileMetaData,
  type ManifestReadOptions,
  type ManifestVersion,
  parseCurrentFile,
  readManifest,
  tableFileName,
} from "./manifest.js";
import {
  type ColumnFamilyOptionsSummary,
  type OptionsFile,
  parseOptionsFile,
  summarizeColumnFamilyOptions,
} from "./options-file.js";
import { type RandomAccessFile, type SstOpenOptions, SstReader } from "./sst-reader.js";

/** Largest MANIFEST / OPTIONS / CURRENT file read into memory (bytes). */
export const MAX_METADATA_FILE_BYTES = 256 * 1024 * 1024;

/** Options of {@link RocksDbInstance.open}. */
export interface RocksDbOpenOptions extends ManifestReadOptions {
  /** Passed to every table (checksum verification, block size cap). */
  table?: Omit<SstOpenOptions, "largestSeqno">;
  /** Label for errors, e.g. `word-stats[0]`. */
  label?: string;
}

/** Options of {@link RocksDbInstance.entryBatches}. */
export interface ColumnFamilyReadOptions {
  /** First user key (inclusive). */
  from?: Uint8Array;
  /** User key where iteration stops (exclusive). */
  to?: Uint8Array;
  /** Entries per batch (default 1024). */
  batchSize?: number;
  /** Overrides the merge operator found in OPTIONS / table properties. */
  mergeOperator?: MergeOperator | null;
  /** Read-ahead of the whole merge in bytes (see `MergeOptions.readAheadBytes`; default 8 MiB). */
  readAheadBytes?: number;
}

/** A column family as the instance knows it: MANIFEST state plus OPTIONS summary. */
export interface ColumnFamilyInfo extends ColumnFamilyVersion {
  /** The family's options from the OPTIONS file, or null when there is none (or no section). */
  options: ColumnFamilyOptionsSummary | null;
  /** Number of live table files over all levels. */
  fileCount: number;
}

async function readWhole(file: RandomAccessFile, what: string): Promise<Uint8Array> {
  if (file.size > MAX_METADATA_FILE_BYTES) {
    throw new CorruptSnapshotError(`${what} of ${file.size} bytes is larger than expected`, {
      uri: file.uri,
      offset: 0,
    });
  }
  return file.read(0, file.size);
}

/** A RocksDB database (a checkpoint directory) opened for reading. */
export class RocksDbInstance {
  private readonly tables = new Map<number, Promise<SstReader>>();

  private constructor(
    /** The database's files by name (`000042.sst`, `MANIFEST-000005`, `CURRENT`, `OPTIONS-000013`). */
    readonly files: ReadonlyMap<string, RandomAccessFile>,
    /** Name of the live MANIFEST (from CURRENT). */
    readonly manifestName: string,
    /** The replayed MANIFEST. */
    readonly manifest: ManifestVersion,
    /** The newest OPTIONS file, parsed; null when the directory has none. */
    readonly options: OptionsFile | null,
    private readonly openOptions: RocksDbOpenOptions,
  ) {}

  /**
   * Reads CURRENT, replays the MANIFEST it names and parses the newest OPTIONS file.
   *
   * @param files the database's files by name; only CURRENT, the MANIFEST and OPTIONS are read
   *   here, table files when iterated.
   * @throws NotFoundError when CURRENT or the MANIFEST is missing; CorruptSnapshotError for damaged
   *   files; UnsupportedVersionError for comparators other than the bytewise one.
   */
  static async open(
    files: ReadonlyMap<string, RandomAccessFile>,
    options: RocksDbOpenOptions = {},
  ): Promise<RocksDbInstance> {
    const where = options.label ? ` (${options.label})` : "";
    const current = files.get("CURRENT");
    if (!current) throw new NotFoundError("CURRENT", { message: `RocksDB files without CURRENT${where}` });
    const manifestName = parseCurrentFile(await readWhole(current, "CURRENT"), {
      uri: current.uri,
      label: "CURRENT",
    });
    const manifestFile = files.get(manifestName);
    if (!manifestFile) {
      throw new NotFoundError(manifestName, {
        message: `CURRENT names ${manifestName}, which is not among the files${where}`,
      });
    }
    const manifest = readManifest(
      await readWhole(manifestFile, manifestName),
      { uri: manifestFile.uri, label: manifestName },
      options,
    );
    let optionsFile: OptionsFile | null = null;
    const optionNames = [...files.keys()]
      .filter((n) => /^OPTIONS-\d+$/.test(n))
      .sort((a, b) => Number(a.slice(8)) - Number(b.slice(8)));
    const newest = optionNames[optionNames.length - 1];
    if (newest) {
      const f = files.get(newest) as RandomAccessFile;
      optionsFile = parseOptionsFile(await readWhole(f, newest), { uri: f.uri, label: newest });
    }
    return new RocksDbInstance(files, manifestName, manifest, optionsFile, options);
  }

  /** The live column families (including "default"), by id. */
  columnFamilies(): ColumnFamilyInfo[] {
    return this.manifest.columnFamilies.map((cf) => this.info(cf));
  }

  /** A column family by name, or null. */
  columnFamily(name: string): ColumnFamilyInfo | null {
    const cf = this.manifest.columnFamilies.find((c) => c.name === name);
    return cf ? this.info(cf) : null;
  }

  private info(cf: ColumnFamilyVersion): ColumnFamilyInfo {
    const section = this.options?.columnFamilies.find((s) => s.name === cf.name);
    return {
      ...cf,
      options: section ? summarizeColumnFamilyOptions(section) : null,
      fileCount: cf.levels.reduce((n, l) => n + l.length, 0),
    };
  }

  /**
   * Opens a live table file (cached: each file is opened once).
   * @throws NotFoundError when the file is not among the files; the table reader's errors.
   */
  openTable(meta: FileMetaData): Promise<SstReader> {
    let p = this.tables.get(meta.number);
    if (!p) {
      p = this.loadTable(meta);
      this.tables.set(meta.number, p);
    }
    return p;
  }

  /**
   * Opens a live table file without keeping it: what a scan uses, so that a table's index is in memory
   * only while the scan is in that table, whatever the number and size of the tables.
   * @throws as {@link openTable}.
   */
  private loadTable(meta: FileMetaData): Promise<SstReader> {
    const name = tableFileName(meta.number);
    const file = this.files.get(name) ?? this.files.get(name.replace(/\.sst$/, ".ldb"));
    if (!file) {
      const where = this.openOptions.label ? ` (${this.openOptions.label})` : "";
      return Promise.reject(
        new NotFoundError(name, {
          message: `the MANIFEST lists ${name}, which is not among the files${where}`,
        }),
      );
    }
    if (file.size !== meta.fileSize) {
      return Promise.reject(
        new CorruptSnapshotError(`${name} has ${file.size} bytes, the MANIFEST says ${meta.fileSize}`, {
          uri: file.uri,
          offset: 0,
        }),
      );
    }
    return SstReader.open(file, { ...this.openOptions.table, largestSeqno: meta.largestSeqno });
  }

  /**
   * The merge operator of a column family: from its OPTIONS section, else from the
   * "rocksdb.merge.operator" property of its first table, else null.
   */
  async mergeOperatorOf(cf: ColumnFamilyInfo): Promise<MergeOperator | null> {
    const fromOptions = mergeOperatorByName(
      cf.options?.mergeOperator,
      cf.options?.mergeDelimiter ?? undefined,
    );
    if (fromOptions) return fromOptions;
    const first = cf.levels.flat()[0];
    if (!first) return null;
    return mergeOperatorByName((await this.openTable(first)).properties.mergeOperator);
  }

  /**
   * The merged contents of a column family (what RocksDB's iterator returns), in key order, in
   * batches; memory bounded by one table's index and read-ahead per sorted run (tables are opened for
   * the scan and dropped after it, not cached).
   * @throws NotFoundError for an unknown column family; the merge's and the table reader's errors.
   */
  async *entryBatches(
    columnFamily: string,
    options: ColumnFamilyReadOptions = {},
  ): AsyncGenerator<KeyValue[]> {
    const cf = this.columnFamily(columnFamily);
    if (!cf)
      throw new NotFoundError(columnFamily, { message: `no column family ${JSON.stringify(columnFamily)}` });
    const mergeOperator =
      options.mergeOperator !== undefined ? options.mergeOperator : await this.mergeOperatorOf(cf);
    const fileOf = (meta: FileMetaData): LsmFile => ({
      name: tableFileName(meta.number),
      meta,
      open: () => this.tables.get(meta.number) ?? this.loadTable(meta),
    });
    yield* mergeRuns(sortedRuns(cf.levels, fileOf), {
      ...(options.from ? { from: options.from } : {}),
      ...(options.to ? { to: options.to } : {}),
      ...(options.batchSize ? { batchSize: options.batchSize } : {}),
      ...(options.readAheadBytes ? { readAheadBytes: options.readAheadBytes } : {}),
      mergeOperator,
      label: `column family ${JSON.stringify(cf.name)}${this.openOptions.label ? ` of ${this.openOptions.label}` : ""}`,
    });
  }

  /** The merged contents of a column family one entry at a time (see {@link entryBatches}). */
  async *entries(columnFamily: string, options: ColumnFamilyReadOptions = {}): AsyncGenerator<KeyValue> {
    for await (const batch of this.entryBatches(columnFamily, options)) yield* batch;
  }
}
