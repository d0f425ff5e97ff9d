/**
 * A reader of RocksDB block-based table files (`*.sst`), in pure TypeScript, reading by ranges.
 *
 * Mirrors `table/block_based/block_based_table_reader.cc` (`BlockBasedTable::Open`: footer ->
 * metaindex -> properties -> index; iteration: index -> data blocks), `table/format.cc` (block
 * reading, trailer checksum, decompression) and `table/meta_blocks.cc`. Layout:
 *
 * ```
 * [data block]*  [meta blocks: filter, "rocksdb.range_del", "rocksdb.properties", ...]
 * [metaindex block: meta block name -> BlockHandle]  [index block]  footer
 * ```
 *
 * Every block is read with its 5-byte trailer; the trailer's checksum is verified (unless
 * `verifyChecksums: false`) before the block is decompressed and decoded. Nothing but the footer,
 * the metaindex, the properties and the top-level index is kept in memory: data blocks are read
 * one at a time as the iteration reaches them.
 *
 * What is read: footer formats of format_version 0 (legacy magic) to 6; checksums kNoChecksum,
 * kCRC32c, kxxHash, kxxHash64, kXXH3 (and the format_version 6 context modifier); compression
 * None, Snappy, Zlib, LZ4, LZ4HC, ZSTD; index types kBinarySearch, kHashSearch (read as a binary
 * search index), kTwoLevelIndexSearch (partitioned) and kBinarySearchWithFirstKey; delta-encoded
 * index values and user-key index keys (format_version >= 3/4); data block hash indexes; range
 * deletion blocks; global sequence numbers of ingested external files (SstFileWriter).
 * Refused with UnsupportedVersionError: other table formats (plain, cuckoo), comparators other
 * than the bytewise one, dictionary compression, BZip2 and Xpress blocks.
 */

import { UnsupportedVersionError } from "../../errors.js";
import type { RangeReader } from "../../storage/store.js";
import { decodeBlock, decodeDataBlockInto, IndexBlock, type IndexBlockFormat } from "./block.js";
import { checksumTypeName, READ_AHEAD_CHUNK, ReadAhead, verifyBlockTrailer } from "./block-io.js";
import { loadBlockChecksum } from "./checksum.js";
import { type ByteOrigin, ByteReader, compareBytes, corrupt, latin1String } from "./coding.js";
import { DEFAULT_MAX_BLOCK_BYTES, decompressBlock } from "./compression.js";
import {
  BLOCK_TRAILER_SIZE,
  type BlockHandle,
  decodeFooter,
  FOOTER_LENGTH,
  type Footer,
  type InternalKey,
  parseInternalKey,
  readBlockHandle,
  ValueType,
} from "./format.js";
import { IndexType, readTableProperties, type TableProperties } from "./properties.js";

/**
 * Random access to the bytes of one file: a local or remote file through a store, or bytes in
 * memory. Structurally the same as `StateFile` (`src/formats/state/stream.ts`), so a state file
 * resolver's result can be passed as is.
 */
export interface RandomAccessFile {
  /** URI or `inline:<name>`; used in errors. */
  readonly uri: string;
  /** Size in bytes. */
  readonly size: number;
  /** Exactly `length` bytes from `offset` (within `size`). */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Optional: the file held open for many reads (see `StateFile.open`); the caller closes it. */
  open?(): Promise<RangeReader>;
}

/** A {@link RandomAccessFile} over bytes in memory. */
export function memoryFile(bytes: Uint8Array, uri = "inline:<bytes>"): RandomAccessFile {
  return {
    uri,
    size: bytes.byteLength,
    read: async (offset, length) => bytes.subarray(offset, offset + length),
  };
}

/** Options of {@link SstReader.open}. */
export interface SstOpenOptions {
  /** Verify every block's trailer checksum (default true). */
  verifyChecksums?: boolean;
  /**
   * The file's largest sequence number from the MANIFEST, used as the global sequence number of
   * an ingested external file whose property says 0 (`GetGlobalSequenceNumber`). Default: unknown.
   */
  largestSeqno?: bigint;
  /** Largest decompressed block accepted (bytes; default 1 GiB). */
  maxBlockBytes?: number;
}

/** A point entry of a table: internal key parts and the value (a view into the block). */
export interface SstEntry extends InternalKey {
  value: Uint8Array;
}

/** A range deletion: user keys in `[start, end)` with a smaller sequence number are deleted. */
export interface RangeTombstone {
  start: Uint8Array;
  end: Uint8Array;
  sequence: bigint;
}

/** Options of {@link SstReader.entryBatches}. */
export interface SstRangeOptions {
  /** First user key (inclusive); default the first key of the table. */
  from?: Uint8Array;
  /** User key where iteration stops (exclusive); default the end of the table. */
  to?: Uint8Array;
  /**
   * Bytes per read-ahead request of {@link SstReader.entryBatches} (default {@link READ_AHEAD_CHUNK});
   * two such chunks are held while the table is read. Smaller when many tables are read at once.
   */
  readAheadChunk?: number;
}

/**
 * Entries {@link SstReader.entryBatches} gathers per batch (consecutive data blocks' entries until at
 * least this many): fewer awaits and yields than a batch per 4 KiB block (a few entries of 1 KiB values).
 */
export const MIN_BATCH_ENTRIES = 128;

/** Names of meta blocks (`table/meta_blocks.cc`). */
export const META_BLOCK = {
  PROPERTIES: "rocksdb.properties",
  PROPERTIES_OLD: "rocksdb.stats",
  RANGE_DEL: "rocksdb.range_del",
  INDEX: "rocksdb.index",
  COMPRESSION_DICT: "rocksdb.compression_dict",
} as const;

/** The name of the only comparator the reader supports (Flink's). */
export const BYTEWISE_COMPARATOR = "leveldb.BytewiseComparator";

/** An open table. Create with {@link SstReader.open}. */
export class SstReader {
  /** The top-level index, flat (see {@link IndexBlock}): kept while the table is open. */
  private topIndex: IndexBlock | null = null;
  private indexFormat: IndexBlockFormat = { valueDeltaEncoded: false, hasFirstKey: false };
  /** The global sequence number of an ingested external file, or null. */
  globalSeqno: bigint | null = null;

  private constructor(
    readonly file: RandomAccessFile,
    readonly footer: Footer,
    readonly metaindex: Map<string, BlockHandle>,
    readonly properties: TableProperties,
    private readonly options: Required<Omit<SstOpenOptions, "largestSeqno">>,
  ) {}

  /**
   * Opens a table: reads and checks the footer, the metaindex, the properties and the top-level
   * index block.
   *
   * @throws CorruptSnapshotError (with file, byte offset and the structure) for truncated files,
   *   bad magic numbers, checksum mismatches, undecodable blocks; UnsupportedVersionError for the
   *   table features listed in the module description.
   */
  static async open(file: RandomAccessFile, options: SstOpenOptions = {}): Promise<SstReader> {
    const opts = {
      verifyChecksums: options.verifyChecksums ?? true,
      maxBlockBytes: options.maxBlockBytes ?? DEFAULT_MAX_BLOCK_BYTES,
    };
    const tailLength = Math.min(file.size, FOOTER_LENGTH);
    const tailOffset = file.size - tailLength;
    const tail = await file.read(tailOffset, tailLength);
    const footer = decodeFooter(tail, tailOffset, { uri: file.uri });
    if (opts.verifyChecksums) await loadBlockChecksum(footer.checksumType);

    const raw = { file, footer, opts } as const;
    const metaContents = await readBlockContents(raw, footer.metaindexHandle, "metaindex block");
    const metaindex = new Map<string, BlockHandle>();
    const metaOrigin = { uri: file.uri, baseOffset: footer.metaindexHandle.offset, label: "metaindex block" };
    for (const e of decodeBlock(metaContents, metaOrigin)) {
      const r = new ByteReader(e.value, { ...metaOrigin, baseOffset: metaOrigin.baseOffset + e.at });
      metaindex.set(latin1String(e.key), readBlockHandle(r, "meta block handle"));
    }

    const propsHandle = metaindex.get(META_BLOCK.PROPERTIES) ?? metaindex.get(META_BLOCK.PROPERTIES_OLD);
    if (!propsHandle)
      throw corrupt("table has no properties block", metaOrigin, footer.metaindexHandle.offset);
    const propsContents = await readBlockContents(raw, propsHandle, "properties block");
    const propsOrigin = { uri: file.uri, baseOffset: propsHandle.offset, label: "properties block" };
    const properties = readTableProperties(decodeBlock(propsContents, propsOrigin), propsOrigin);

    const unsupported = (message: string, version = footer.formatVersion) =>
      new UnsupportedVersionError(message, { uri: file.uri, version, offset: propsHandle.offset });
    if (properties.comparator !== "" && properties.comparator !== BYTEWISE_COMPARATOR) {
      throw unsupported(
        `comparator ${JSON.stringify(properties.comparator)} is not supported (only ${BYTEWISE_COMPARATOR}, which Flink uses)`,
      );
    }
    const dict = metaindex.get(META_BLOCK.COMPRESSION_DICT);
    if (dict && dict.size > 0)
      throw unsupported("dictionary compression (rocksdb.compression_dict) is not supported");
    if (properties.indexType > IndexType.BINARY_SEARCH_WITH_FIRST_KEY) {
      throw unsupported(`unknown index type ${properties.indexType}`, properties.indexType);
    }

    const reader = new SstReader(file, footer, metaindex, properties, opts);
    if (properties.externalSstVersion !== null && properties.externalSstVersion >= 2) {
      let g = properties.externalSstGlobalSeqno ?? 0n;
      if (g === 0n && options.largestSeqno !== undefined) g = options.largestSeqno;
      reader.globalSeqno = g;
    }
    reader.indexFormat = {
      valueDeltaEncoded: properties.indexValueIsDeltaEncoded,
      hasFirstKey: properties.indexType === IndexType.BINARY_SEARCH_WITH_FIRST_KEY,
    };
    const indexHandle = footer.indexHandle ?? metaindex.get(META_BLOCK.INDEX);
    if (!indexHandle) throw corrupt("table has no index block", metaOrigin, footer.footerOffset);
    reader.topIndex = await reader.readIndexBlock(indexHandle, "index block");
    return reader;
  }

  /** The format_version of the table (0 for the legacy footer). */
  get formatVersion(): number {
    return this.footer.formatVersion;
  }

  /** Name of the block checksum type, e.g. "kXXH3". */
  get checksumName(): string {
    return checksumTypeName(this.footer.checksumType);
  }

  /**
   * Reads one block: checks its trailer checksum, decompresses it.
   * @returns the block contents (no trailer).
   */
  async readBlock(handle: BlockHandle, label: string): Promise<Uint8Array> {
    return readBlockContents({ file: this.file, footer: this.footer, opts: this.options }, handle, label);
  }

  private async readIndexBlock(handle: BlockHandle, label: string): Promise<IndexBlock> {
    const contents = await this.readBlock(handle, label);
    return IndexBlock.decode(
      contents,
      { uri: this.file.uri, baseOffset: handle.offset, label },
      this.indexFormat,
    );
  }

  /** The top-level index (read by {@link open}). */
  private index(): IndexBlock {
    return this.topIndex as IndexBlock;
  }

  /** The user key of an index separator (index keys are internal keys unless "is user key"). */
  private separatorUserKey(key: Uint8Array): Uint8Array {
    if (this.properties.indexKeyIsUserKey) return key;
    return key.byteLength >= 8 ? key.subarray(0, key.byteLength - 8) : key;
  }

  /** First index position whose separator's user key is >= `from` (binary search). */
  private lowerBound(index: IndexBlock, from: Uint8Array | undefined): number {
    if (!from) return 0;
    let lo = 0;
    let hi = index.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareBytes(this.separatorUserKey(index.key(mid)), from) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * The handles of the data blocks, in key order, starting with the first block that can hold
   * user key `from` (binary search in the index, and in each partition of a partitioned index).
   */
  async *dataBlockHandles(from?: Uint8Array): AsyncGenerator<BlockHandle> {
    const partitioned = this.properties.indexType === IndexType.TWO_LEVEL_INDEX_SEARCH;
    const top = this.index();
    const start = this.lowerBound(top, from);
    for (let i = start; i < top.length; i++) {
      const handle = top.handle(i);
      if (!partitioned) {
        yield handle;
        continue;
      }
      const partition = await this.readIndexBlock(handle, `index partition at ${handle.offset}`);
      const first = i === start ? this.lowerBound(partition, from) : 0;
      for (let j = first; j < partition.length; j++) yield partition.handle(j);
    }
  }

  /**
   * Where the data blocks end: the end of the last one (single-level index), else the metaindex (data
   * blocks come first in a block-based table). Read-ahead stops there.
   */
  private dataEnd(): number {
    const top = this.index();
    if (top.length > 0 && this.properties.indexType !== IndexType.TWO_LEVEL_INDEX_SEARCH) {
      const last = top.handle(top.length - 1);
      return Math.min(this.file.size, last.offset + last.size + BLOCK_TRAILER_SIZE);
    }
    return this.footer.metaindexHandle.offset;
  }

  /**
   * Decodes the point entries of one data block.
   * @param source where to read the block (default the file).
   */
  async readDataBlock(handle: BlockHandle, source?: ReadAhead): Promise<SstEntry[]> {
    const origin = new DataBlockOrigin(this.file.uri, handle.offset);
    const contents = await readBlockContents(
      { file: this.file, footer: this.footer, opts: this.options, ...(source ? { source } : {}) },
      handle,
      origin.label,
    );
    const out: SstEntry[] = [];
    decodeDataBlockInto(contents, origin, this.globalSeqno, out);
    return out;
  }

  /**
   * The table's point entries in internal key order, limited to user keys in `[from, to)`, in batches
   * of the entries of consecutive data blocks (at least {@link MIN_BATCH_ENTRIES} but for the last).
   * Memory: the batch's blocks (views into the read-ahead chunks).
   */
  async *entryBatches(range: SstRangeOptions = {}): AsyncGenerator<SstEntry[]> {
    const { from, to } = range;
    const source = new ReadAhead(this.file, this.dataEnd(), range.readAheadChunk ?? READ_AHEAD_CHUNK);
    try {
      yield* this.blockBatches(source, from, to);
    } finally {
      await source.close();
    }
  }

  /** The index blocks to walk and the position to start at in each: the top level, or its partitions. */
  private async *indexBlocks(from?: Uint8Array): AsyncGenerator<[IndexBlock, number]> {
    const top = this.index();
    const start = this.lowerBound(top, from);
    if (this.properties.indexType !== IndexType.TWO_LEVEL_INDEX_SEARCH) {
      yield [top, start];
      return;
    }
    for (let i = start; i < top.length; i++) {
      const handle = top.handle(i);
      const partition = await this.readIndexBlock(handle, `index partition at ${handle.offset}`);
      yield [partition, i === start ? this.lowerBound(partition, from) : 0];
    }
  }

  private async *blockBatches(
    source: ReadAhead,
    from?: Uint8Array,
    to?: Uint8Array,
  ): AsyncGenerator<SstEntry[]> {
    const src: BlockSource = { file: this.file, footer: this.footer, opts: this.options, source };
    let batch: SstEntry[] = [];
    for await (const [index, start] of this.indexBlocks(from)) {
      for (let i = start; i < index.length; i++) {
        const handle = index.handle(i);
        const origin = new DataBlockOrigin(this.file.uri, handle.offset);
        const n = checkBlockHandle(src, handle, origin);
        // a block in the current read-ahead chunk is taken without an await
        const raw = source.readBuffered(handle.offset, n) ?? (await source.read(handle.offset, n));
        const contents = blockFromBytes(src, handle, origin, raw);
        const first = batch.length;
        decodeDataBlockInto(contents, origin, this.globalSeqno, batch);
        if (from && batch.length > first && compareBytes((batch[first] as SstEntry).userKey, from) < 0) {
          let k = first;
          while (k < batch.length && compareBytes((batch[k] as SstEntry).userKey, from) < 0) k++;
          batch.splice(first, k - first);
        }
        if (
          to &&
          batch.length > first &&
          compareBytes((batch[batch.length - 1] as SstEntry).userKey, to) >= 0
        ) {
          let k = first;
          while (compareBytes((batch[k] as SstEntry).userKey, to) < 0) k++;
          batch.length = k;
          if (batch.length > 0) yield batch;
          return;
        }
        if (batch.length >= MIN_BATCH_ENTRIES) {
          yield batch;
          batch = [];
        }
      }
    }
    if (batch.length > 0) yield batch;
  }

  /** The table's point entries one by one (see {@link entryBatches}). */
  async *entries(range: SstRangeOptions = {}): AsyncGenerator<SstEntry> {
    for await (const batch of this.entryBatches(range)) yield* batch;
  }

  /**
   * The range deletions of the table ("rocksdb.range_del" block), in start key order; empty when
   * the table has none.
   * @throws CorruptSnapshotError for a malformed block or an entry of another type.
   */
  async rangeTombstones(): Promise<RangeTombstone[]> {
    const handle = this.metaindex.get(META_BLOCK.RANGE_DEL);
    if (!handle) return [];
    const label = "range deletion block";
    const contents = await this.readBlock(handle, label);
    const origin: ByteOrigin = { uri: this.file.uri, baseOffset: handle.offset, label };
    return decodeBlock(contents, origin).map((e) => {
      const k = parseInternalKey(e.key, origin, handle.offset + e.at);
      if (k.type !== ValueType.RANGE_DELETION) {
        throw corrupt(`range deletion block holds an entry of type ${k.type}`, origin, handle.offset + e.at);
      }
      return { start: k.userKey, end: e.value, sequence: this.globalSeqno ?? k.sequence };
    });
  }
}

/** What reading a block needs. */
interface BlockSource {
  file: RandomAccessFile;
  footer: Footer;
  opts: { verifyChecksums: boolean; maxBlockBytes: number };
  /** Read through this instead of `file.read` (sequential data blocks). */
  source?: ReadAhead;
}

/**
 * Where a data block's bytes come from, for errors: its label (`data block at <offset>`) is only
 * formatted when an error needs it (one origin per block read).
 */
class DataBlockOrigin implements ByteOrigin {
  constructor(
    readonly uri: string,
    readonly baseOffset: number,
  ) {}

  get label(): string {
    return `data block at ${this.baseOffset}`;
  }
}

/**
 * Checks that a block and its trailer lie in the file and that the block is not over the size limit.
 * @returns the bytes to read (block and trailer).
 */
function checkBlockHandle(src: BlockSource, handle: BlockHandle, origin: ByteOrigin): number {
  const end = handle.offset + handle.size + BLOCK_TRAILER_SIZE;
  if (end > src.file.size) {
    throw corrupt(
      `${origin.label} [${handle.offset}, +${handle.size}) and its trailer end at ${end}, past the end of the ${src.file.size}-byte file`,
      origin,
      handle.offset,
    );
  }
  if (handle.size > src.opts.maxBlockBytes) {
    throw corrupt(`${origin.label} of ${handle.size} bytes is over the limit`, origin, handle.offset);
  }
  return handle.size + BLOCK_TRAILER_SIZE;
}

/** A block read with its trailer: length checked, checksum verified, decompressed. */
function blockFromBytes(
  src: BlockSource,
  handle: BlockHandle,
  origin: ByteOrigin,
  read: Uint8Array,
): Uint8Array {
  // A plain Uint8Array view (a Buffer's subarray is much slower, and entries are views of this).
  const bytes = new Uint8Array(read.buffer, read.byteOffset, read.byteLength);
  if (bytes.byteLength !== handle.size + BLOCK_TRAILER_SIZE) {
    throw corrupt(
      `${origin.label}: read ${bytes.byteLength} bytes, expected ${handle.size + BLOCK_TRAILER_SIZE}`,
      origin,
      handle.offset,
    );
  }
  if (src.opts.verifyChecksums) verifyBlockTrailer(bytes, handle, src.footer, origin);
  const type = bytes[handle.size] as number;
  return decompressBlock(
    type,
    bytes.subarray(0, handle.size),
    src.footer.formatVersion,
    origin,
    src.opts.maxBlockBytes,
  );
}

/** Reads a block and its trailer, verifies the checksum, decompresses. */
async function readBlockContents(src: BlockSource, handle: BlockHandle, label: string): Promise<Uint8Array> {
  const origin: ByteOrigin = { uri: src.file.uri, baseOffset: handle.offset, label };
  const n = checkBlockHandle(src, handle, origin);
  const read = await (src.source ?? src.file).read(handle.offset, n);
  return blockFromBytes(src, handle, origin, read);
}
