/**
 * The inside of a table block: prefix-compressed entries, restart points and the optional data
 * block hash index (`table/block_based/block.cc`, `block_builder.cc`, `data_block_footer.cc`,
 * `data_block_hash_index.cc`; `table/format.cc` for `IndexValue`).
 *
 * ```
 * block    := entry* restart* [hash map: u8 bucket* , fixed16 num_buckets] fixed32 footer
 * footer   := num_restarts | (index_type << 31)       index_type 1 = kDataBlockBinaryAndHash
 * restart  := fixed32 offset of an entry whose key is stored whole (shared = 0)
 * entry    := varint32 shared, varint32 non_shared, varint32 value_length,
 *             key bytes [shared..shared+non_shared) (the first `shared` come from the previous key),
 *             value
 * ```
 *
 * Index blocks of format_version >= 4 ("rocksdb.index.value.is.delta.encoded" = 1) omit
 * `value_length`; the value is an `IndexValue`: a BlockHandle when the entry's key has `shared`
 * = 0, otherwise only a zigzag varint64 size delta, the offset being the previous block's end
 * plus its 5-byte trailer; followed, for kBinarySearchWithFirstKey indexes, by the block's first
 * internal key (length-prefixed).
 */

import { type ByteOrigin, ByteReader, corrupt } from "./coding.js";
import { BLOCK_TRAILER_SIZE, type BlockHandle, readBlockHandle } from "./format.js";

/** One entry of a data or meta block. Keys and values are views into (or copies from) the block. */
export interface BlockEntry {
  key: Uint8Array;
  value: Uint8Array;
  /** Offset of the entry within the block contents. */
  at: number;
}

/** One entry of an index block. */
export interface IndexEntry {
  /** Separator key: every key of the block is <= it (an internal key, or a user key). */
  key: Uint8Array;
  /** The data block (or, in a partitioned index's top level, the index partition). */
  handle: BlockHandle;
  /** kBinarySearchWithFirstKey: the block's first internal key. */
  firstInternalKey: Uint8Array | null;
}

/** How an index block's values are encoded (from the table properties and index type). */
export interface IndexBlockFormat {
  /** "rocksdb.index.value.is.delta.encoded". */
  valueDeltaEncoded: boolean;
  /** Index type kBinarySearchWithFirstKey (3): each value carries the block's first key. */
  hasFirstKey: boolean;
}

const EMPTY = new Uint8Array(0);

/** Where the entries end and how many restarts there are (`Block::Block`). */
function blockLayout(contents: Uint8Array, origin: ByteOrigin): { entriesEnd: number; numRestarts: number } {
  const size = contents.byteLength;
  if (size < 4) throw corrupt(`block of ${size} bytes has no restart count`, origin, origin.baseOffset ?? 0);
  const view = new DataView(contents.buffer, contents.byteOffset, size);
  const packed = view.getUint32(size - 4, true);
  const numRestarts = packed & 0x7fffffff;
  const hashIndex = packed >>> 31 === 1;
  let restartsEnd = size - 4;
  if (hashIndex) {
    if (size < 6) throw corrupt("hash-indexed block too short", origin, (origin.baseOffset ?? 0) + size - 4);
    const numBuckets = view.getUint16(size - 6, true);
    restartsEnd = size - 6 - numBuckets;
  }
  const entriesEnd = restartsEnd - numRestarts * 4;
  if (entriesEnd < 0 || numRestarts === 0) {
    throw corrupt(
      `block of ${size} bytes cannot hold ${numRestarts} restart points`,
      origin,
      (origin.baseOffset ?? 0) + size - 4,
    );
  }
  return { entriesEnd, numRestarts };
}

/** Reads the shared/non-shared key header and rebuilds the key from the previous one. */
function readKey(r: ByteReader, prev: Uint8Array, withValueLength: boolean) {
  const at = r.pos;
  const shared = r.varint32("shared key length");
  const nonShared = r.varint32("unshared key length");
  const valueLength = withValueLength ? r.varint32("value length") : -1;
  if (shared > prev.byteLength) {
    throw r.corrupt(`entry shares ${shared} key bytes but the previous key has ${prev.byteLength}`, at);
  }
  const delta = r.bytesN(nonShared, "key bytes");
  let key: Uint8Array;
  if (shared === 0) key = delta;
  else {
    key = new Uint8Array(shared + nonShared);
    key.set(prev.subarray(0, shared), 0);
    key.set(delta, shared);
  }
  return { at, shared, key, valueLength };
}

/**
 * Decodes every entry of a data or meta block (contents without trailer, decompressed).
 *
 * Keys stored whole are views into the block itself, keys that share a prefix views into an arena
 * (one per block, rarely more), values views into the block: no per-entry allocation besides the views.
 * @throws CorruptSnapshotError (label and absolute offset from `origin`) for bad lengths.
 */
export function decodeBlock(contents: Uint8Array, origin: ByteOrigin): BlockEntry[] {
  const { entriesEnd } = blockLayout(contents, origin);
  const b = contents;
  const base = origin.baseOffset ?? 0;
  const fail = (message: string, at: number) => corrupt(message, origin, base + at);
  // varint32 at p: returns the value and leaves the end in `next`.
  let next = 0;
  const varint = (p: number, what: string): number => {
    let result = 0;
    for (let shift = 0; shift <= 28; shift += 7) {
      if (p >= entriesEnd) throw fail(`${what}: truncated varint32`, p);
      const x = b[p++] as number;
      result += (x & 0x7f) * 2 ** shift;
      if (x < 0x80) {
        next = p;
        return result;
      }
    }
    throw fail(`${what}: varint32 longer than 5 bytes`, p);
  };
  // One pass: check each entry and build it. Keys that share a prefix are rebuilt in an arena, which is
  // replaced by a larger one when it fills (keys already built keep the old one).
  let arena = EMPTY;
  let used = 0;
  const out: BlockEntry[] = [];
  let prev: Uint8Array = b.subarray(0, 0);
  for (let p = 0; p < entriesEnd; ) {
    const at = p;
    const shared = varint(p, "shared key length");
    const nonShared = varint(next, "unshared key length");
    const valueLength = varint(next, "value length");
    if (shared > prev.byteLength) {
      throw fail(`entry shares ${shared} key bytes but the previous key has ${prev.byteLength}`, p);
    }
    const keyStart = next;
    if (keyStart + nonShared + valueLength > entriesEnd) {
      throw fail(`entry of ${nonShared} key and ${valueLength} value bytes overruns the block`, p);
    }
    let key: Uint8Array;
    if (shared === 0) key = b.subarray(keyStart, keyStart + nonShared);
    else {
      const n = shared + nonShared;
      if (used + n > arena.byteLength) {
        arena = new Uint8Array(Math.max(2 * arena.byteLength, entriesEnd, n));
        used = 0;
      }
      arena.set(prev.subarray(0, shared), used);
      arena.set(b.subarray(keyStart, keyStart + nonShared), used + shared);
      key = arena.subarray(used, used + n);
      used += n;
    }
    const valueStart = keyStart + nonShared;
    out.push({ key, value: b.subarray(valueStart, valueStart + valueLength), at });
    prev = key;
    p = valueStart + valueLength;
  }
  return out;
}

/**
 * Decodes every entry of an index block (contents without trailer, decompressed).
 * @throws CorruptSnapshotError for bad lengths, handles or deltas.
 */
export function decodeIndexBlock(
  contents: Uint8Array,
  origin: ByteOrigin,
  format: IndexBlockFormat,
): IndexEntry[] {
  const { entriesEnd } = blockLayout(contents, origin);
  const r = new ByteReader(contents, origin, 0, entriesEnd);
  const out: IndexEntry[] = [];
  let prev: Uint8Array = new Uint8Array(0);
  let prevHandle: BlockHandle | null = null;
  while (!r.atEnd) {
    const { at, shared, key, valueLength } = readKey(r, prev, !format.valueDeltaEncoded);
    const valueEnd = valueLength >= 0 ? r.pos + valueLength : -1;
    if (valueEnd > entriesEnd) throw r.corrupt(`index value of ${valueLength} bytes past the entries`, at);
    let handle: BlockHandle;
    if (format.valueDeltaEncoded && shared > 0) {
      if (!prevHandle) throw r.corrupt("delta-encoded index value without a previous handle", at);
      const delta = r.varsigned64("index size delta");
      handle = {
        offset: prevHandle.offset + prevHandle.size + BLOCK_TRAILER_SIZE,
        size: prevHandle.size + delta,
      };
      if (handle.size < 0) throw r.corrupt(`negative block size ${handle.size} in index`, at);
    } else {
      handle = readBlockHandle(r, "index block handle");
    }
    const firstInternalKey = format.hasFirstKey ? r.lengthPrefixed("first key of block") : null;
    if (valueEnd >= 0) {
      if (r.pos > valueEnd) throw r.corrupt("index value longer than its length", at);
      r.pos = valueEnd;
    }
    out.push({ key, handle, firstInternalKey });
    prev = key;
    prevHandle = handle;
  }
  return out;
}
