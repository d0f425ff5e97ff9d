/**
 * Building the inside of a table block: prefix-compressed entries with restart points, the writing
 * twin of `./block.ts` (`decodeBlock`, `decodeIndexBlock`). Mirrors RocksDB's
 * `table/block_based/block_builder.cc` (`BlockBuilder::Add`, `Finish`) without the data block hash
 * index (`kDataBlockBinarySearch`, RocksDB's default):
 *
 * ```
 * block    := entry* restart* fixed32 num_restarts
 * restart  := fixed32 offset of an entry whose key is stored whole (shared = 0)
 * entry    := varint32 shared, varint32 non_shared, [varint32 value_length], key delta, value
 * ```
 *
 * Every `restartInterval` entries the key is stored whole and its offset recorded. With
 * `valueLengths: false` (index blocks of format_version >= 4, "rocksdb.index.value.is.delta.encoded"
 * = 1) the value length is left out: the reader knows the value's shape (a BlockHandle). This builder
 * then writes every value whole, which is what RocksDB does at restart points; with an index restart
 * interval of 1 (RocksDB's default `index_block_restart_interval`) every entry is one.
 */

import { InvalidArgumentError } from "../../errors.js";
import { ByteWriter } from "./byte-writer.js";

/** Options of a {@link BlockBuilder}. */
export interface BlockBuilderOptions {
  /** Entries between restart points (RocksDB: 16 for data blocks, 1 for index and meta blocks). */
  restartInterval: number;
  /** Write each entry's value length (default true; false for delta-encoded index blocks). */
  valueLengths?: boolean;
}

/** Builds one block; reusable after {@link BlockBuilder.reset}. */
export class BlockBuilder {
  private readonly out = new ByteWriter(4096);
  private restarts: number[] = [0];
  private counter = 0;
  private entries = 0;
  private lastKey: Uint8Array = new Uint8Array(0);
  private readonly restartInterval: number;
  private readonly valueLengths: boolean;

  constructor(options: BlockBuilderOptions) {
    if (!Number.isInteger(options.restartInterval) || options.restartInterval < 1) {
      throw new InvalidArgumentError(`block restart interval ${options.restartInterval} (at least 1)`);
    }
    this.restartInterval = options.restartInterval;
    this.valueLengths = options.valueLengths ?? true;
  }

  /** True when no entry was added since the last reset. */
  get empty(): boolean {
    return this.entries === 0;
  }

  /** Entries added since the last reset. */
  get count(): number {
    return this.entries;
  }

  /** The size the block would have if finished now (bytes, without the 5-byte trailer). */
  get estimatedSize(): number {
    return this.out.length + this.restarts.length * 4 + 4;
  }

  /** The size after adding an entry of these lengths (`BlockBuilder::EstimateSizeAfterKV`, roughly). */
  estimateSizeAfter(keyLength: number, valueLength: number): number {
    return this.estimatedSize + keyLength + valueLength + 3 * 5 + 4;
  }

  /**
   * Appends an entry. The caller adds keys in the order of the block's comparator (internal key order
   * for data blocks, bytewise for meta blocks); the builder does not compare them.
   */
  add(key: Uint8Array, value: Uint8Array): void {
    let shared = 0;
    if (this.counter >= this.restartInterval) {
      this.restarts.push(this.out.length);
      this.counter = 0;
    } else {
      const max = Math.min(key.byteLength, this.lastKey.byteLength);
      while (shared < max && key[shared] === this.lastKey[shared]) shared++;
    }
    this.out.varint(shared).varint(key.byteLength - shared);
    if (this.valueLengths) this.out.varint(value.byteLength);
    this.out.bytes(shared === 0 ? key : key.subarray(shared)).bytes(value);
    // With a restart at every entry (index and meta blocks) no key is ever shared.
    if (this.restartInterval > 1) this.lastKey = key.slice();
    this.counter++;
    this.entries++;
  }

  /**
   * Appends a data block entry whose key is `userKey ‖ suffix` (an internal key: the user key and its
   * 8-byte trailer) without building the key, given `shared`: the length of the prefix `userKey` has in
   * common with the previous entry's user key (the caller knows it from its order check; it is used
   * unless this entry is a restart point). Any shared length up to the true common prefix decodes to
   * the same key (`DecodeEntry`); RocksDB may share a few bytes more when one user key is a prefix of
   * the next. A builder takes entries from this method or from {@link add}, not both.
   */
  addKeyParts(userKey: Uint8Array, shared: number, suffix: Uint8Array, value: Uint8Array): void {
    if (this.counter >= this.restartInterval) {
      this.restarts.push(this.out.length);
      this.counter = 0;
      shared = 0;
    } else if (this.entries === 0) {
      shared = 0;
    }
    const keyLength = userKey.byteLength + suffix.byteLength;
    const o = this.out.reserve(15 + keyLength - shared + value.byteLength);
    o.varint32Unchecked(shared).varint32Unchecked(keyLength - shared);
    if (this.valueLengths) o.varint32Unchecked(value.byteLength);
    o.rangeUnchecked(userKey, shared, userKey.byteLength)
      .rangeUnchecked(suffix, 0, suffix.byteLength)
      .rangeUnchecked(value, 0, value.byteLength);
    this.counter++;
    this.entries++;
  }

  /** The finished block contents (restart array and count appended); call {@link reset} before reuse. */
  finish(): Uint8Array {
    return this.finishView().slice();
  }

  /**
   * {@link finish} without the copy: a view of the builder's buffer, valid until the next
   * {@link reset} (the block is compressed and checksummed at once, then the builder reused).
   */
  finishView(): Uint8Array {
    this.out.reserve(4 * this.restarts.length + 4);
    for (const r of this.restarts) this.out.fixed32(r);
    this.out.fixed32(this.restarts.length);
    return this.out.current();
  }

  /** Empties the builder for the next block. */
  reset(): void {
    this.out.reset();
    this.restarts = [0];
    this.counter = 0;
    this.entries = 0;
    this.lastKey = new Uint8Array(0);
  }
}
