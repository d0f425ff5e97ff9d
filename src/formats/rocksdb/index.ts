/**
 * Reading RocksDB files offline in pure TypeScript: block-based tables (`sst-reader.ts`), the
 * MANIFEST and CURRENT (`manifest.ts`, `log-reader.ts`), OPTIONS files (`options-file.ts`), the
 * merged view of a column family (`lsm.ts`), a database directory (`instance.ts`) and Flink's
 * RocksDB snapshot handles (`flink.ts`). And writing them: tables (`sst-writer.ts`,
 * `block-builder.ts`), the MANIFEST and CURRENT (`manifest-writer.ts`, `log-writer.ts`).
 */

export {
  type BlockEntry,
  decodeBlock,
  decodeIndexBlock,
  IndexBlock,
  type IndexBlockFormat,
  type IndexEntry,
} from "./block.js";
export { BlockBuilder, type BlockBuilderOptions } from "./block-builder.js";
export { verifyBlockTrailer } from "./block-io.js";
export { ByteWriter } from "./byte-writer.js";
export {
  builtinChecksum,
  CHECKSUM_NAMES,
  ChecksumType,
  contextModifier,
  maskCrc,
  unmaskCrc,
} from "./checksum.js";
export { type ByteOrigin, ByteReader, compareBytes, toHex } from "./coding.js";
export { COMPRESSION_NAMES, CompressionType, decompressBlock } from "./compression.js";
export {
  FLINK_LIST_DELIMITER,
  FLINK_MERGE_OPERATOR,
  FLINK_MERGE_OPERATOR_CLASS,
  type FlinkRocksDbState,
  keyGroupOf,
  keyGroupPrefix,
  keyGroupPrefixLength,
  keyGroupRangeBounds,
  openFlinkRocksDb,
  rocksDbFilesOf,
} from "./flink.js";
export {
  BLOCK_BASED_TABLE_MAGIC,
  type BlockHandle,
  compareInternal,
  decodeFooter,
  encodeInternalKey,
  type Footer,
  type InternalKey,
  LEGACY_BLOCK_BASED_TABLE_MAGIC,
  parseInternalKey,
  VALUE_TYPE_NAMES,
  ValueType,
} from "./format.js";
export {
  type ColumnFamilyInfo,
  type ColumnFamilyReadOptions,
  RocksDbInstance,
  type RocksDbOpenOptions,
} from "./instance.js";
export { type LogRecord, LogRecordType, readLogRecords } from "./log-reader.js";
export { encodeLog, LogWriter } from "./log-writer.js";
export {
  type KeyValue,
  type LsmFile,
  type LsmRun,
  type MergeOperator,
  type MergeOptions,
  mergeOperatorByName,
  mergeRuns,
  StringAppendOperator,
  sortedRuns,
} from "./lsm.js";
export {
  type ColumnFamilyVersion,
  decodeVersionEdit,
  EditTag,
  type FileMetaData,
  type ManifestVersion,
  parseCurrentFile,
  readManifest,
  tableFileName,
  type VersionEdit,
} from "./manifest.js";
export {
  currentFileContents,
  encodeManifest,
  encodeVersionEdit,
  type ManifestColumnFamily,
  type ManifestOptions,
  manifestFileName,
  type NewFileEntry,
  type VersionEditInput,
} from "./manifest-writer.js";
export {
  type ColumnFamilyOptionsSection,
  type ColumnFamilyOptionsSummary,
  type OptionsFile,
  parseOptionStruct,
  parseOptionsFile,
  summarizeColumnFamilyOptions,
} from "./options-file.js";
export { IndexType, PROPERTY, type TableProperties } from "./properties.js";
export {
  MIN_BATCH_ENTRIES,
  memoryFile,
  type RandomAccessFile,
  type RangeTombstone,
  type SstEntry,
  type SstOpenOptions,
  type SstRangeOptions,
  SstReader,
} from "./sst-reader.js";
export {
  encodeBlockHandle,
  encodeSst,
  SST_WRITER_FORMAT_VERSION,
  type SstCompression,
  type SstFileInfo,
  SstWriter,
  type SstWriterOptions,
} from "./sst-writer.js";
