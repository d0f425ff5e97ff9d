/**
 * A writer of RocksDB block-based table files (`*.sst`), in pure TypeScript: the writing twin of
 * {@link SstReader} (`./sst-reader.ts`). Mirrors `table/block_based/block_based_table_builder.cc`
 * (`BlockBasedTableBuilder::Add`, `Flush`, `WriteBlock`, `Finish`), `table/format.cc`
 * (`BlockHandle::EncodeTo`, `FooterBuilder`), `table/meta_blocks.cc` (`PropertyBlockBuilder`,
 * `MetaIndexBuilder`) and `table/block_based/index_builder.cc` (`ShortenedIndexBuilder`).
 *
 * ```
 * [data block]*  [index block]  [properties block "rocksdb.properties"]  [metaindex block]  footer
 * ```
 *
 * What is written (the table RocksDB's defaults give for Flink, readable by the RocksDB of every Flink
 * line: frocksdb 6.20.3 of Flink 1.x, frocksdb 8.10.0 of Flink 2.x):
 * - format_version 5, block checksums kCRC32c (masked CRC-32C of `contents ‖ compression type`);
 * - data blocks of about `blockSize` bytes (default 4 KiB), restart interval 16, keys prefix-compressed,
 *   no hash index, no filter; each block Snappy-compressed when `compression: "snappy"` and the result
 *   is at least 1/8 smaller (`GoodCompressionRatio`), else stored (type 0);
 * - a binary-search index (`kBinarySearch`) whose keys are user keys (the last user key of each data
 *   block: a valid separator, not shortened) and whose values are BlockHandles without value lengths
 *   ("rocksdb.index.key.is.user.key" = 1, "rocksdb.index.value.is.delta.encoded" = 1, restart interval 1,
 *   so every handle is stored whole);
 * - the table properties RocksDB writes (sizes, counts, column family id and name, comparator
 *   `leveldb.BytewiseComparator`, merge operator, compression, creation times, index type, ...).
 *
 * Every entry is a put (`kTypeValue`) with sequence number 0: the internal key is the user key followed
 * by the fixed64 `0 << 8 | 1`, as RocksDB stores keys of the bottommost level after compaction. User keys
 * must come strictly ascending (bytewise).
 *
 * The writer is push-based: {@link SstWriter.add} entries, {@link SstWriter.take} the bytes produced so
 * far (whole blocks; memory is one data block plus one index entry per data block), then
 * {@link SstWriter.finish} and take the tail.
 */

import { InvalidArgumentError } from "../../errors.js";
import { snappy } from "../native-libs.js";
import { BlockBuilder } from "./block-builder.js";
import { ByteWriter } from "./byte-writer.js";
import { builtinChecksum, ChecksumType } from "./checksum.js";
import { compareBytes } from "./coding.js";
import { CompressionType } from "./compression.js";
import { BLOCK_BASED_TABLE_MAGIC, BLOCK_TRAILER_SIZE, type BlockHandle, ValueType } from "./format.js";
import { IndexType, PROPERTY } from "./properties.js";
import { BYTEWISE_COMPARATOR, META_BLOCK } from "./sst-reader.js";

/** The table format_version written (read by RocksDB 5.16 and later, including frocksdb 6.20 and 8.10). */
export const SST_WRITER_FORMAT_VERSION = 5;

/** Block compression of {@link SstWriter}. */
export type SstCompression = "none" | "snappy";

/** Options of an {@link SstWriter}. */
export interface SstWriterOptions {
  /** "rocksdb.column.family.id". */
  columnFamilyId: number;
  /** "rocksdb.column.family.name". */
  columnFamilyName: string;
  /** "rocksdb.merge.operator" (e.g. Flink's `StringAppendTESTOperator`); default "nullptr" (none). */
  mergeOperator?: string;
  /** Data block compression (default "none"). */
  compression?: SstCompression;
  /** Target uncompressed data block size in bytes (RocksDB's `block_size`, default 4096). */
  blockSize?: number;
  /** Restart interval of data blocks (RocksDB's `block_restart_interval`, default 16). */
  restartInterval?: number;
  /** Creation time in seconds since the epoch ("rocksdb.creation.time" and friends); default now. */
  creationTime?: number;
  /** "rocksdb.creating.db.identity" (default ""). */
  dbId?: string;
  /** "rocksdb.creating.session.identity" (default ""). */
  dbSessionId?: string;
  /** "rocksdb.creating.host.identity" (default ""). */
  dbHostId?: string;
}

/** What {@link SstWriter.finish} reports about the table. */
export interface SstFileInfo {
  /** File size in bytes. */
  size: number;
  entries: number;
  dataBlocks: number;
  /** Smallest and largest user key (null for an empty table). */
  smallestKey: Uint8Array | null;
  largestKey: Uint8Array | null;
  /** Sequence numbers of the entries (all 0). */
  smallestSeqno: bigint;
  largestSeqno: bigint;
  /** Bytes of data blocks with their trailers ("rocksdb.data.size"). */
  dataSize: number;
  rawKeySize: number;
  rawValueSize: number;
}

/** The 8-byte trailer of every internal key written: sequence 0, kTypeValue. */
const VALUE_TRAILER = (() => {
  const t = new Uint8Array(8);
  t[0] = ValueType.VALUE;
  return t;
})();

/** `BlockHandle::EncodeTo`: varint64 offset, varint64 size. */
export function encodeBlockHandle(h: BlockHandle, out: ByteWriter = new ByteWriter(20)): ByteWriter {
  return out.varint(h.offset).varint(h.size);
}

/** Bytes of table output buffered before {@link SstWriter.take} is expected (the output buffer's start size). */
const OUTPUT_CAPACITY = 320 << 10;

/** Writes one table; see the module doc. */
export class SstWriter {
  private readonly options: Required<SstWriterOptions>;
  private readonly data: BlockBuilder;
  private readonly index = new BlockBuilder({ restartInterval: 1, valueLengths: false });
  /** Table bytes produced and not yet taken. */
  private out = new ByteWriter(OUTPUT_CAPACITY);
  private offset = 0;
  /** The previous user key: `lastKey[0, lastLength)` (a reused buffer, not a copy per entry). */
  private lastKey = new Uint8Array(64);
  private lastLength = -1;
  private firstUserKey: Uint8Array | null = null;
  private entries = 0;
  private dataBlocks = 0;
  private rawKeySize = 0;
  private rawValueSize = 0;
  private finished = false;
  private readonly handleScratch = new ByteWriter(24);

  /** @throws InvalidArgumentError for a bad block size, restart interval or column family id. */
  constructor(options: SstWriterOptions) {
    const blockSize = options.blockSize ?? 4096;
    if (!Number.isInteger(blockSize) || blockSize < 64) {
      throw new InvalidArgumentError(`SST block size ${blockSize} (at least 64 bytes)`);
    }
    if (!Number.isInteger(options.columnFamilyId) || options.columnFamilyId < 0) {
      throw new InvalidArgumentError(`column family id ${options.columnFamilyId}`);
    }
    this.options = {
      mergeOperator: "nullptr",
      compression: "none",
      blockSize,
      restartInterval: 16,
      creationTime: Math.floor(Date.now() / 1000),
      dbId: "",
      dbSessionId: "",
      dbHostId: "",
      ...options,
    };
    this.data = new BlockBuilder({ restartInterval: this.options.restartInterval });
  }

  /** Bytes produced and not yet taken. */
  get buffered(): number {
    return this.out.length;
  }

  /** Bytes produced so far (taken or not): the offset of the next block. */
  get written(): number {
    return this.offset;
  }

  /** Entries added so far. */
  get count(): number {
    return this.entries;
  }

  /**
   * Adds a put of `value` under `userKey` (sequence 0). Neither array is kept: both may be reused
   * once the call returns.
   * @throws InvalidArgumentError when `userKey` is not greater than the previous one, or after finish.
   */
  add(userKey: Uint8Array, value: Uint8Array): void {
    if (this.finished) throw new InvalidArgumentError("SST writer already finished");
    const len = userKey.byteLength;
    // The common prefix with the previous key gives both the order check and the shared length.
    let shared = 0;
    const last = this.lastKey;
    const lastLength = this.lastLength;
    if (lastLength >= 0) {
      const n = len < lastLength ? len : lastLength;
      while (shared < n && userKey[shared] === last[shared]) shared++;
      if (shared === n ? len <= lastLength : (userKey[shared] as number) < (last[shared] as number)) {
        throw new InvalidArgumentError(
          `SST keys must be strictly ascending: ${Buffer.from(userKey).toString("hex")} after ${Buffer.from(last.subarray(0, lastLength)).toString("hex")}`,
        );
      }
    }
    const ikeyLength = len + 8;
    if (
      !this.data.empty &&
      this.data.estimateSizeAfter(ikeyLength, value.byteLength) > this.options.blockSize
    ) {
      this.flushDataBlock();
    }
    this.data.addKeyParts(userKey, shared, VALUE_TRAILER, value);
    if (len > last.byteLength) {
      this.lastKey = new Uint8Array(Math.max(len, 2 * last.byteLength));
      this.lastKey.set(userKey);
    } else {
      for (let i = shared; i < len; i++) last[i] = userKey[i] as number;
    }
    this.lastLength = len;
    if (!this.firstUserKey) this.firstUserKey = userKey.slice();
    this.entries++;
    this.rawKeySize += ikeyLength;
    this.rawValueSize += value.byteLength;
  }

  /** The previous user key (a copy), or null. */
  private lastUserKey(): Uint8Array | null {
    return this.lastLength < 0 ? null : this.lastKey.slice(0, this.lastLength);
  }

  /** The bytes produced since the last take (whole blocks), and forgets them. */
  take(): Uint8Array {
    const bytes = this.out.current();
    this.out = new ByteWriter(Math.max(OUTPUT_CAPACITY, bytes.byteLength));
    return bytes;
  }

  /**
   * `WriteMaybeCompressedBlock`: contents (compressed when worth it), then the 5-byte trailer, into
   * the output. `contents` may be a view that is reused afterwards.
   */
  private writeBlock(contents: Uint8Array, compress: boolean): BlockHandle {
    let stored = contents;
    let type: number = CompressionType.NONE;
    if (compress && this.options.compression === "snappy") {
      const c = snappy().compressSync(Buffer.from(contents.buffer, contents.byteOffset, contents.byteLength));
      // GoodCompressionRatio: at least 12.5% smaller.
      if (c.byteLength < contents.byteLength - contents.byteLength / 8) {
        stored = c;
        type = CompressionType.SNAPPY;
      }
    }
    const handle = { offset: this.offset, size: stored.byteLength };
    const out = this.out;
    const start = out.length;
    out
      .reserve(stored.byteLength + BLOCK_TRAILER_SIZE)
      .bytes(stored)
      .u8(type);
    const checksum = builtinChecksum(ChecksumType.CRC32C, out.current().subarray(start));
    out.fixed32(checksum);
    this.offset += stored.byteLength + BLOCK_TRAILER_SIZE;
    return handle;
  }

  private emit(bytes: Uint8Array): void {
    this.out.bytes(bytes);
    this.offset += bytes.byteLength;
  }

  private flushDataBlock(): void {
    if (this.data.empty) return;
    const handle = this.writeBlock(this.data.finishView(), true);
    this.data.reset();
    this.dataBlocks++;
    // The separator: the block's last user key (>= every key of the block, < the next block's first).
    // (Both are copied by the index builder: views of reused buffers do.)
    const encoded = encodeBlockHandle(handle, this.handleScratch.reset()).current();
    this.index.add(this.lastKey.subarray(0, this.lastLength), encoded);
  }

  /**
   * Writes the last data block, the index, the properties, the metaindex and the footer; take the
   * rest of the bytes with {@link take} afterwards.
   * @returns what was written.
   * @throws InvalidArgumentError when called twice.
   */
  finish(): SstFileInfo {
    if (this.finished) throw new InvalidArgumentError("SST writer already finished");
    this.flushDataBlock();
    this.finished = true;
    const dataSize = this.offset;
    const indexContents = this.index.finish();
    const indexHandle = this.writeBlock(indexContents, false);
    const propsHandle = this.writeBlock(this.propertiesBlock(dataSize, indexContents.byteLength), false);
    const meta = new BlockBuilder({ restartInterval: 1 });
    meta.add(new TextEncoder().encode(META_BLOCK.PROPERTIES), encodeBlockHandle(propsHandle).toBytes());
    const metaindexHandle = this.writeBlock(meta.finish(), false);
    // Footer (format_version 1..5): checksum type, metaindex and index handles padded to 40 bytes,
    // format_version, magic.
    const footer = new ByteWriter(53);
    footer.u8(ChecksumType.CRC32C);
    encodeBlockHandle(metaindexHandle, footer);
    encodeBlockHandle(indexHandle, footer);
    footer.zeros(41 - footer.length);
    footer.fixed32(SST_WRITER_FORMAT_VERSION).fixed64(BLOCK_BASED_TABLE_MAGIC);
    this.emit(footer.toBytes());
    return {
      size: this.offset,
      entries: this.entries,
      dataBlocks: this.dataBlocks,
      smallestKey: this.firstUserKey,
      largestKey: this.lastUserKey(),
      smallestSeqno: 0n,
      largestSeqno: 0n,
      dataSize,
      rawKeySize: this.rawKeySize,
      rawValueSize: this.rawValueSize,
    };
  }

  /** The "rocksdb.properties" block (`PropertyBlockBuilder`): names sorted, restart interval 1. */
  private propertiesBlock(dataSize: number, indexContentsSize: number): Uint8Array {
    const o = this.options;
    const props = new Map<string, Uint8Array>();
    const enc = new TextEncoder();
    const num = (name: string, v: number) => props.set(name, new ByteWriter(10).varint(v).toBytes());
    const str = (name: string, v: string) => props.set(name, enc.encode(v));
    num(PROPERTY.RAW_KEY_SIZE, this.rawKeySize);
    num(PROPERTY.RAW_VALUE_SIZE, this.rawValueSize);
    num(PROPERTY.DATA_SIZE, dataSize);
    num(PROPERTY.INDEX_SIZE, indexContentsSize + BLOCK_TRAILER_SIZE);
    num(PROPERTY.INDEX_KEY_IS_USER_KEY, 1);
    num(PROPERTY.INDEX_VALUE_IS_DELTA_ENCODED, 1);
    num(PROPERTY.NUM_ENTRIES, this.entries);
    num(PROPERTY.NUM_RANGE_DELETIONS, 0);
    num(PROPERTY.NUM_DATA_BLOCKS, this.dataBlocks);
    num(PROPERTY.FILTER_SIZE, 0);
    num(PROPERTY.FORMAT_VERSION, 0);
    num(PROPERTY.FIXED_KEY_LEN, 0);
    num(PROPERTY.COLUMN_FAMILY_ID, o.columnFamilyId);
    num(PROPERTY.CREATION_TIME, o.creationTime);
    num(PROPERTY.OLDEST_KEY_TIME, o.creationTime);
    num(PROPERTY.FILE_CREATION_TIME, o.creationTime);
    num(PROPERTY.SLOW_COMPRESSION_ESTIMATED_DATA_SIZE, 0);
    num(PROPERTY.FAST_COMPRESSION_ESTIMATED_DATA_SIZE, 0);
    num(PROPERTY.TAIL_START_OFFSET, dataSize);
    num(PROPERTY.DELETED_KEYS, 0);
    num(PROPERTY.MERGE_OPERANDS, 0);
    str(PROPERTY.DB_ID, o.dbId);
    str(PROPERTY.DB_SESSION_ID, o.dbSessionId);
    str(PROPERTY.DB_HOST_ID, o.dbHostId);
    str(PROPERTY.COLUMN_FAMILY_NAME, o.columnFamilyName);
    str(PROPERTY.COMPARATOR, BYTEWISE_COMPARATOR);
    str(PROPERTY.MERGE_OPERATOR, o.mergeOperator);
    str(PROPERTY.PREFIX_EXTRACTOR_NAME, "nullptr");
    str(PROPERTY.PROPERTY_COLLECTORS, "[]");
    str(PROPERTY.COMPRESSION, o.compression === "snappy" ? "Snappy" : "NoCompression");
    str(
      PROPERTY.COMPRESSION_OPTIONS,
      "window_bits=-14; level=32767; strategy=0; max_dict_bytes=0; zstd_max_train_bytes=0; enabled=0; max_dict_buffer_bytes=0; ",
    );
    props.set(PROPERTY.INDEX_TYPE, new ByteWriter(4).fixed32(IndexType.BINARY_SEARCH).toBytes());
    str(PROPERTY.WHOLE_KEY_FILTERING, "1");
    str(PROPERTY.PREFIX_FILTERING, "0");
    const block = new BlockBuilder({ restartInterval: 1 });
    const names = [...props.keys()].map((n) => [enc.encode(n), n] as const);
    names.sort((a, b) => compareBytes(a[0], b[0]));
    for (const [bytes, name] of names) block.add(bytes, props.get(name) as Uint8Array);
    return block.finish();
  }
}

/**
 * Writes a whole table in memory (tests and small tables).
 * @param entries user keys strictly ascending, with their values.
 * @throws as {@link SstWriter.add}.
 */
export function encodeSst(
  entries: Iterable<readonly [Uint8Array, Uint8Array]>,
  options: SstWriterOptions,
): { bytes: Uint8Array; info: SstFileInfo } {
  const w = new SstWriter(options);
  const parts: Uint8Array[] = [];
  for (const [k, v] of entries) {
    w.add(k, v);
    if (w.buffered >= 1 << 20) parts.push(w.take());
  }
  const info = w.finish();
  parts.push(w.take());
  const bytes = new Uint8Array(Buffer.concat(parts));
  return { bytes, info };
}
