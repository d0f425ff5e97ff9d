/**
 * Table properties: the "rocksdb.properties" meta block of a table (`table/meta_blocks.cc`
 * `ReadTablePropertiesHelper`, names in `table/table_properties.cc`).
 *
 * The block is a normal block (restart interval 1) mapping property names to values: the
 * predefined integer properties are varint64s, the others strings; user-collected properties
 * (e.g. "rocksdb.block.based.table.index.type", a fixed32) are kept as raw bytes.
 */

import type { BlockEntry } from "./block.js";
import { type ByteOrigin, ByteReader, compareBytes, corrupt, latin1String, utf8String } from "./coding.js";

/** Property names (`TablePropertiesNames`, `BlockBasedTablePropertyNames`, `ExternalSstFilePropertyNames`). */
export const PROPERTY = {
  ORIGINAL_FILE_NUMBER: "rocksdb.original.file.number",
  DATA_SIZE: "rocksdb.data.size",
  INDEX_SIZE: "rocksdb.index.size",
  INDEX_PARTITIONS: "rocksdb.index.partitions",
  TOP_LEVEL_INDEX_SIZE: "rocksdb.top-level.index.size",
  INDEX_KEY_IS_USER_KEY: "rocksdb.index.key.is.user.key",
  INDEX_VALUE_IS_DELTA_ENCODED: "rocksdb.index.value.is.delta.encoded",
  FILTER_SIZE: "rocksdb.filter.size",
  RAW_KEY_SIZE: "rocksdb.raw.key.size",
  RAW_VALUE_SIZE: "rocksdb.raw.value.size",
  NUM_DATA_BLOCKS: "rocksdb.num.data.blocks",
  NUM_ENTRIES: "rocksdb.num.entries",
  NUM_FILTER_ENTRIES: "rocksdb.num.filter_entries",
  DELETED_KEYS: "rocksdb.deleted.keys",
  MERGE_OPERANDS: "rocksdb.merge.operands",
  NUM_RANGE_DELETIONS: "rocksdb.num.range-deletions",
  FORMAT_VERSION: "rocksdb.format.version",
  FIXED_KEY_LEN: "rocksdb.fixed.key.length",
  COLUMN_FAMILY_ID: "rocksdb.column.family.id",
  CREATION_TIME: "rocksdb.creation.time",
  OLDEST_KEY_TIME: "rocksdb.oldest.key.time",
  FILE_CREATION_TIME: "rocksdb.file.creation.time",
  SLOW_COMPRESSION_ESTIMATED_DATA_SIZE: "rocksdb.sample_for_compression.slow.data.size",
  FAST_COMPRESSION_ESTIMATED_DATA_SIZE: "rocksdb.sample_for_compression.fast.data.size",
  TAIL_START_OFFSET: "rocksdb.tail.start.offset",
  USER_DEFINED_TIMESTAMPS_PERSISTED: "rocksdb.user.defined.timestamps.persisted",
  DB_ID: "rocksdb.creating.db.identity",
  DB_SESSION_ID: "rocksdb.creating.session.identity",
  DB_HOST_ID: "rocksdb.creating.host.identity",
  FILTER_POLICY: "rocksdb.filter.policy",
  COLUMN_FAMILY_NAME: "rocksdb.column.family.name",
  COMPARATOR: "rocksdb.comparator",
  MERGE_OPERATOR: "rocksdb.merge.operator",
  PREFIX_EXTRACTOR_NAME: "rocksdb.prefix.extractor.name",
  PROPERTY_COLLECTORS: "rocksdb.property.collectors",
  COMPRESSION: "rocksdb.compression",
  COMPRESSION_OPTIONS: "rocksdb.compression_options",
  SEQNO_TIME_MAP: "rocksdb.seqno.time.map",
  INDEX_TYPE: "rocksdb.block.based.table.index.type",
  WHOLE_KEY_FILTERING: "rocksdb.block.based.table.whole.key.filtering",
  PREFIX_FILTERING: "rocksdb.block.based.table.prefix.filtering",
  EXTERNAL_SST_VERSION: "rocksdb.external_sst_file.version",
  EXTERNAL_SST_GLOBAL_SEQNO: "rocksdb.external_sst_file.global_seqno",
} as const;

/** The properties `ReadTablePropertiesHelper` decodes as varint64. */
const UINT64_PROPERTIES = new Set<string>([
  PROPERTY.ORIGINAL_FILE_NUMBER,
  PROPERTY.DATA_SIZE,
  PROPERTY.INDEX_SIZE,
  PROPERTY.INDEX_PARTITIONS,
  PROPERTY.TOP_LEVEL_INDEX_SIZE,
  PROPERTY.INDEX_KEY_IS_USER_KEY,
  PROPERTY.INDEX_VALUE_IS_DELTA_ENCODED,
  PROPERTY.FILTER_SIZE,
  PROPERTY.RAW_KEY_SIZE,
  PROPERTY.RAW_VALUE_SIZE,
  PROPERTY.NUM_DATA_BLOCKS,
  PROPERTY.NUM_ENTRIES,
  PROPERTY.NUM_FILTER_ENTRIES,
  PROPERTY.DELETED_KEYS,
  PROPERTY.MERGE_OPERANDS,
  PROPERTY.NUM_RANGE_DELETIONS,
  PROPERTY.FORMAT_VERSION,
  PROPERTY.FIXED_KEY_LEN,
  PROPERTY.COLUMN_FAMILY_ID,
  PROPERTY.CREATION_TIME,
  PROPERTY.OLDEST_KEY_TIME,
  PROPERTY.FILE_CREATION_TIME,
  PROPERTY.SLOW_COMPRESSION_ESTIMATED_DATA_SIZE,
  PROPERTY.FAST_COMPRESSION_ESTIMATED_DATA_SIZE,
  PROPERTY.TAIL_START_OFFSET,
  PROPERTY.USER_DEFINED_TIMESTAMPS_PERSISTED,
]);

/** `TableProperties::kUnknownColumnFamily` (the table was written outside a column family). */
export const UNKNOWN_COLUMN_FAMILY = 0x7fffffff;

/** `BlockBasedTableOptions::IndexType`. */
export const IndexType = {
  BINARY_SEARCH: 0,
  HASH_SEARCH: 1,
  TWO_LEVEL_INDEX_SEARCH: 2,
  BINARY_SEARCH_WITH_FIRST_KEY: 3,
} as const;

/** The properties of one table, with the ones this reader needs typed. */
export interface TableProperties {
  /** Entries in the table: point entries and range deletions (RocksDB counts both). */
  numEntries: number;
  numDataBlocks: number;
  numRangeDeletions: number;
  /** Delete, single-delete and range deletion entries. */
  numDeletions: number;
  numMergeOperands: number;
  rawKeySize: number;
  rawValueSize: number;
  dataSize: number;
  indexSize: number;
  filterSize: number;
  /** Column family id, or {@link UNKNOWN_COLUMN_FAMILY}. */
  columnFamilyId: number;
  /** Column family name ("" when unknown). */
  columnFamilyName: string;
  /** Comparator name, e.g. "leveldb.BytewiseComparator". */
  comparator: string;
  /** Merge operator name, e.g. "StringAppendTESTOperator", or "nullptr". */
  mergeOperator: string;
  /** Compression name as RocksDB writes it, e.g. "Snappy", "LZ4", "ZSTD", "NoCompression". */
  compression: string;
  compressionOptions: string;
  filterPolicy: string;
  prefixExtractor: string;
  /** Index type (`IndexType`) from "rocksdb.block.based.table.index.type"; 0 when absent. */
  indexType: number;
  /** Index keys are user keys (no 8-byte trailer). */
  indexKeyIsUserKey: boolean;
  /** Index values are delta encoded (format_version >= 4). */
  indexValueIsDeltaEncoded: boolean;
  /** Number of index partitions (partitioned index) or 0. */
  indexPartitions: number;
  creationTime: number;
  fileCreationTime: number;
  originalFileNumber: number;
  dbId: string;
  dbSessionId: string;
  dbHostId: string;
  /** External (SstFileWriter) files: "rocksdb.external_sst_file.version", else null. */
  externalSstVersion: number | null;
  /** External files: "rocksdb.external_sst_file.global_seqno", else null. */
  externalSstGlobalSeqno: bigint | null;
  /** Every property, integers as bigint, known strings as strings, the rest as raw bytes. */
  all: Map<string, bigint | string | Uint8Array>;
}

/**
 * Builds {@link TableProperties} from the decoded entries of a properties block.
 * @throws CorruptSnapshotError when names are not strictly sorted.
 */
export function readTableProperties(entries: BlockEntry[], origin: ByteOrigin): TableProperties {
  const all = new Map<string, bigint | string | Uint8Array>();
  let prev: Uint8Array | null = null;
  const base = origin.baseOffset ?? 0;
  for (const e of entries) {
    if (prev && compareBytes(e.key, prev) <= 0)
      throw corrupt("table properties are not sorted", origin, base + e.at);
    prev = e.key;
    const name = latin1String(e.key);
    if (UINT64_PROPERTIES.has(name)) {
      // RocksDB skips a malformed integer property (it logs an error); so do we.
      try {
        all.set(name, new ByteReader(e.value, { ...origin, label: name }).varint64(name));
      } catch {}
    } else if (name === PROPERTY.EXTERNAL_SST_VERSION && e.value.byteLength === 4) {
      all.set(name, BigInt(new DataView(e.value.buffer, e.value.byteOffset, 4).getUint32(0, true)));
    } else if (name === PROPERTY.EXTERNAL_SST_GLOBAL_SEQNO && e.value.byteLength === 8) {
      all.set(name, new DataView(e.value.buffer, e.value.byteOffset, 8).getBigUint64(0, true));
    } else if (name.startsWith("rocksdb.") && !name.startsWith("rocksdb.block.based.table.")) {
      all.set(name, utf8String(e.value));
    } else {
      all.set(name, e.value);
    }
  }
  const num = (k: string): number => {
    const v = all.get(k);
    return typeof v === "bigint" ? Number(v) : 0;
  };
  const str = (k: string): string => {
    const v = all.get(k);
    return typeof v === "string" ? v : "";
  };
  const indexTypeRaw = all.get(PROPERTY.INDEX_TYPE);
  const indexType =
    indexTypeRaw instanceof Uint8Array && indexTypeRaw.byteLength === 4
      ? new DataView(indexTypeRaw.buffer, indexTypeRaw.byteOffset, 4).getUint32(0, true)
      : 0;
  const ext = all.get(PROPERTY.EXTERNAL_SST_VERSION);
  const gs = all.get(PROPERTY.EXTERNAL_SST_GLOBAL_SEQNO);
  return {
    numEntries: num(PROPERTY.NUM_ENTRIES),
    numDataBlocks: num(PROPERTY.NUM_DATA_BLOCKS),
    numRangeDeletions: num(PROPERTY.NUM_RANGE_DELETIONS),
    numDeletions: num(PROPERTY.DELETED_KEYS),
    numMergeOperands: num(PROPERTY.MERGE_OPERANDS),
    rawKeySize: num(PROPERTY.RAW_KEY_SIZE),
    rawValueSize: num(PROPERTY.RAW_VALUE_SIZE),
    dataSize: num(PROPERTY.DATA_SIZE),
    indexSize: num(PROPERTY.INDEX_SIZE),
    filterSize: num(PROPERTY.FILTER_SIZE),
    columnFamilyId: all.has(PROPERTY.COLUMN_FAMILY_ID)
      ? num(PROPERTY.COLUMN_FAMILY_ID)
      : UNKNOWN_COLUMN_FAMILY,
    columnFamilyName: str(PROPERTY.COLUMN_FAMILY_NAME),
    comparator: str(PROPERTY.COMPARATOR),
    mergeOperator: str(PROPERTY.MERGE_OPERATOR),
    compression: str(PROPERTY.COMPRESSION),
    compressionOptions: str(PROPERTY.COMPRESSION_OPTIONS),
    filterPolicy: str(PROPERTY.FILTER_POLICY),
    prefixExtractor: str(PROPERTY.PREFIX_EXTRACTOR_NAME),
    indexType,
    indexKeyIsUserKey: num(PROPERTY.INDEX_KEY_IS_USER_KEY) !== 0,
    indexValueIsDeltaEncoded: num(PROPERTY.INDEX_VALUE_IS_DELTA_ENCODED) !== 0,
    indexPartitions: num(PROPERTY.INDEX_PARTITIONS),
    creationTime: num(PROPERTY.CREATION_TIME),
    fileCreationTime: num(PROPERTY.FILE_CREATION_TIME),
    originalFileNumber: num(PROPERTY.ORIGINAL_FILE_NUMBER),
    dbId: str(PROPERTY.DB_ID),
    dbSessionId: str(PROPERTY.DB_SESSION_ID),
    dbHostId: str(PROPERTY.DB_HOST_ID),
    externalSstVersion: typeof ext === "bigint" ? Number(ext) : null,
    externalSstGlobalSeqno: typeof gs === "bigint" ? gs : null,
    all,
  };
}
