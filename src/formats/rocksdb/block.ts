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
import { BLOCK_TRAILER_SIZE, type BlockHandle, internalKeySequence, readBlockHandle } from "./format.js";

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

/**
 * Decodes every entry of a data or meta block (contents without trailer, decompressed).
 *
 * Keys stored whole are views into the block itself, keys that share a prefix views into an arena
 * (one per block, rarely more; sized for the keys, not the block: the arena lives as long as any of its
 * keys, and all of it is garbage the collector must catch up with), values views into the block: no
 * per-entry allocation besides the views.
 * @throws CorruptSnapshotError (label and absolute offset from `origin`) for bad lengths.
 */
export function decodeBlock(contents: Uint8Array, origin: ByteOrigin): BlockEntry[] {
  const { entriesEnd, numRestarts } = blockLayout(contents, origin);
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
        // First arena: room for the block's entries at most (restart interval 16, RocksDB's default)
        // with keys about this long, never more than the block: a block of a few large values (4 KiB
        // blocks of 1 KiB values: 4 entries) needs a few hundred bytes, not the block's size.
        const size =
          arena === EMPTY ? Math.min(entriesEnd, numRestarts * 16 * (n + 8)) : 2 * arena.byteLength;
        arena = new Uint8Array(Math.max(size, n));
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

/** A point entry of a data block: its internal key's parts and its value (views into the block). */
export interface DataBlockEntry {
  userKey: Uint8Array;
  /** Sequence number (56 bits). */
  sequence: bigint;
  /** Value type (a `ValueType`, or another byte for a corrupt file). */
  type: number;
  value: Uint8Array;
}

/**
 * Bytes of the key arenas {@link decodeDataBlockInto} carves rebuilt keys out of, across blocks and
 * calls (16 KiB): an arena per block (a zeroed allocation per 4 KiB block) cost more than the keys'
 * copies. An arena lives as long as any key of it, as a read-ahead chunk lives as long as any value.
 */
const KEY_ARENA_BYTES = 16 * 1024;
let keyArena = new Uint8Array(0);
let keyArenaUsed = 0;

/** Where {@link varint32At} stopped (module state: no result object per varint). */
let varintEnd = 0;

/** A varint32 at `p` (before `end`); leaves its end in {@link varintEnd}. */
function varint32At(b: Uint8Array, p: number, end: number, origin: ByteOrigin, what: string): number {
  let result = 0;
  for (let shift = 0; shift <= 28; shift += 7) {
    if (p >= end) throw corrupt(`${what}: truncated varint32`, origin, (origin.baseOffset ?? 0) + p);
    const x = b[p++] as number;
    result += (x & 0x7f) * 2 ** shift;
    if (x < 0x80) {
      varintEnd = p;
      return result;
    }
  }
  throw corrupt(`${what}: varint32 longer than 5 bytes`, origin, (origin.baseOffset ?? 0) + p);
}

/**
 * Decodes the point entries of a data block (contents without trailer, decompressed) straight into
 * {@link DataBlockEntry}s appended to `out`: {@link decodeBlock} and `parseInternalKey`
 * (`./format.ts`) in one pass, with the same checks and errors, and per entry only the entry, its user
 * key view and its value view (plus a BigInt for a non-zero sequence number). Keys sharing a prefix are
 * rebuilt in shared arenas ({@link KEY_ARENA_BYTES}). Mirrors RocksDB's `DataBlockIter` (`block.cc`) and
 * `ParseInternalKey` (`db/dbformat.h`).
 *
 * @param globalSeqno the sequence number of every entry (an ingested file's global one), or null for
 *   the keys' own.
 * @returns the number of entries appended.
 * @throws CorruptSnapshotError (label and absolute offset from `origin`) for bad lengths and internal
 *   keys shorter than 8 bytes.
 */
export function decodeDataBlockInto(
  contents: Uint8Array,
  origin: ByteOrigin,
  globalSeqno: bigint | null,
  out: DataBlockEntry[],
): number {
  const { entriesEnd } = blockLayout(contents, origin);
  const b = contents;
  const base = origin.baseOffset ?? 0;
  // the previous key: bytes [prevStart, prevStart + prevLength) of prevBytes (the block or an arena)
  let prevBytes = b;
  let prevStart = 0;
  let prevLength = 0;
  let count = 0;
  for (let p = 0; p < entriesEnd; ) {
    const at = p;
    // one-byte varints inline (the usual lengths of shared and unshared key bytes)
    let shared = b[p] as number;
    if (shared < 0x80) p++;
    else {
      shared = varint32At(b, p, entriesEnd, origin, "shared key length");
      p = varintEnd;
    }
    let nonShared = p < entriesEnd ? (b[p] as number) : 0x80;
    if (nonShared < 0x80) p++;
    else {
      nonShared = varint32At(b, p, entriesEnd, origin, "unshared key length");
      p = varintEnd;
    }
    let valueLength: number;
    let keyStart: number;
    const v0 = p < entriesEnd ? (b[p] as number) : 0x80;
    const v1 = p + 1 < entriesEnd ? (b[p + 1] as number) : 0x80;
    if (v0 < 0x80) {
      valueLength = v0;
      keyStart = p + 1;
    } else if (v1 < 0x80) {
      valueLength = (v0 & 0x7f) | (v1 << 7);
      keyStart = p + 2;
    } else {
      valueLength = varint32At(b, p, entriesEnd, origin, "value length");
      keyStart = varintEnd;
    }
    if (shared > prevLength) {
      throw corrupt(
        `entry shares ${shared} key bytes but the previous key has ${prevLength}`,
        origin,
        base + at,
      );
    }
    if (keyStart + nonShared + valueLength > entriesEnd) {
      throw corrupt(
        `entry of ${nonShared} key and ${valueLength} value bytes overruns the block`,
        origin,
        base + at,
      );
    }
    const keyLength = shared + nonShared;
    if (keyLength < 8) throw corrupt(`internal key of ${keyLength} bytes (at least 8)`, origin, base + at);
    let kb: Uint8Array;
    let ks: number;
    if (shared === 0) {
      kb = b;
      ks = keyStart;
    } else {
      if (keyArenaUsed + keyLength > keyArena.byteLength) {
        keyArena = new Uint8Array(Math.max(KEY_ARENA_BYTES, keyLength));
        keyArenaUsed = 0;
      }
      const arena = keyArena;
      const used = keyArenaUsed;
      for (let i = 0; i < shared; i++) arena[used + i] = prevBytes[prevStart + i] as number;
      for (let i = 0; i < nonShared; i++) arena[used + shared + i] = b[keyStart + i] as number;
      kb = arena;
      ks = used;
      keyArenaUsed = used + keyLength;
    }
    // the 8-byte trailer (sequence and type) after the user key
    const t = ks + keyLength - 8;
    const sequence = globalSeqno ?? internalKeySequence(kb, t);
    const valueStart = keyStart + nonShared;
    out.push({
      userKey: new Uint8Array(kb.buffer, kb.byteOffset + ks, keyLength - 8),
      sequence,
      type: kb[t] as number,
      value: new Uint8Array(b.buffer, b.byteOffset + valueStart, valueLength),
    });
    count++;
    prevBytes = kb;
    prevStart = ks;
    prevLength = keyLength;
    p = valueStart + valueLength;
  }
  return count;
}

/**
 * The entries of a decoded index block in flat arrays: every separator key copied into one arena, the
 * block handles in two `Float64Array`s (offsets and sizes, bytes; below 2^53). An open table keeps its
 * index for as long as it is read; as {@link IndexEntry} objects (three objects and a key view per data
 * block, a few hundred bytes) the indexes of the 30-odd tables a 1 GiB subtask merges at once held
 * tens of MiB of heap; flat, about 16 bytes plus the key per data block. Mirrors what RocksDB's
 * `IndexBlockIter` reads out of the index block (`table/block_based/block.cc`), decoded once.
 */
export class IndexBlock {
  private constructor(
    /** Number of entries. */
    readonly length: number,
    private readonly offsets: Float64Array,
    private readonly sizes: Float64Array,
    /** Entry i's key is `keys[keyEnds[i-1] .. keyEnds[i])` (first keys of kBinarySearchWithFirstKey after). */
    private readonly keyEnds: Uint32Array,
    private readonly keys: Uint8Array,
    /** kBinarySearchWithFirstKey: entry i's first key is `firstKeys[firstKeyEnds[i-1] .. firstKeyEnds[i])`. */
    private readonly firstKeyEnds: Uint32Array | null,
    private readonly firstKeys: Uint8Array | null,
  ) {}

  /**
   * Decodes an index block (contents without trailer, decompressed); see {@link decodeIndexBlock}.
   * @throws CorruptSnapshotError for bad lengths, handles or deltas (file offset from `origin`).
   */
  static decode(contents: Uint8Array, origin: ByteOrigin, format: IndexBlockFormat): IndexBlock {
    const { entriesEnd, numRestarts } = blockLayout(contents, origin);
    const r = new ByteReader(contents, origin, 0, entriesEnd);
    // Capacity guesses, grown by doubling: an entry takes at least 3 bytes of the block.
    let cap = Math.max(numRestarts, 16);
    let offsets = new Float64Array(cap);
    let sizes = new Float64Array(cap);
    let keyEnds = new Uint32Array(cap);
    let keys = new Uint8Array(Math.max(64, entriesEnd));
    let usedKeys = 0;
    let firstKeyEnds: Uint32Array | null = format.hasFirstKey ? new Uint32Array(cap) : null;
    let firstKeys: Uint8Array | null = format.hasFirstKey ? new Uint8Array(Math.max(64, entriesEnd)) : null;
    let usedFirst = 0;
    let n = 0;
    let prevStart = 0;
    let prevEnd = 0;
    let prevOffset = -1;
    let prevSize = 0;
    const grow = <T extends Float64Array | Uint32Array | Uint8Array>(a: T, size: number): T => {
      const b = new (a.constructor as new (n: number) => T)(size);
      b.set(a);
      return b;
    };
    while (!r.atEnd) {
      const at = r.pos;
      const shared = r.varint32("shared key length");
      const nonShared = r.varint32("unshared key length");
      const valueLength = format.valueDeltaEncoded ? -1 : r.varint32("value length");
      if (shared > prevEnd - prevStart) {
        throw r.corrupt(
          `entry shares ${shared} key bytes but the previous key has ${prevEnd - prevStart}`,
          at,
        );
      }
      const delta = r.bytesN(nonShared, "key bytes");
      if (n === cap) {
        cap *= 2;
        offsets = grow(offsets, cap);
        sizes = grow(sizes, cap);
        keyEnds = grow(keyEnds, cap);
        if (firstKeyEnds) firstKeyEnds = grow(firstKeyEnds, cap);
      }
      const keyLength = shared + nonShared;
      if (usedKeys + keyLength > keys.byteLength)
        keys = grow(keys, Math.max(2 * keys.byteLength, usedKeys + keyLength));
      keys.copyWithin(usedKeys, prevStart, prevStart + shared);
      keys.set(delta, usedKeys + shared);
      const valueEnd = valueLength >= 0 ? r.pos + valueLength : -1;
      if (valueEnd > entriesEnd) throw r.corrupt(`index value of ${valueLength} bytes past the entries`, at);
      let offset: number;
      let size: number;
      if (format.valueDeltaEncoded && shared > 0) {
        if (prevOffset < 0) throw r.corrupt("delta-encoded index value without a previous handle", at);
        const d = r.varsigned64("index size delta");
        offset = prevOffset + prevSize + BLOCK_TRAILER_SIZE;
        size = prevSize + d;
        if (size < 0) throw r.corrupt(`negative block size ${size} in index`, at);
      } else {
        ({ offset, size } = readBlockHandle(r, "index block handle"));
      }
      if (firstKeys && firstKeyEnds) {
        const first = r.lengthPrefixed("first key of block");
        if (usedFirst + first.byteLength > firstKeys.byteLength) {
          firstKeys = grow(firstKeys, Math.max(2 * firstKeys.byteLength, usedFirst + first.byteLength));
        }
        firstKeys.set(first, usedFirst);
        usedFirst += first.byteLength;
        firstKeyEnds[n] = usedFirst;
      }
      if (valueEnd >= 0) {
        if (r.pos > valueEnd) throw r.corrupt("index value longer than its length", at);
        r.pos = valueEnd;
      }
      offsets[n] = offset;
      sizes[n] = size;
      prevStart = usedKeys;
      usedKeys += keyLength;
      prevEnd = usedKeys;
      keyEnds[n] = usedKeys;
      prevOffset = offset;
      prevSize = size;
      n++;
    }
    // Trimmed copies: the table keeps these for as long as it is open.
    return new IndexBlock(
      n,
      offsets.slice(0, n),
      sizes.slice(0, n),
      keyEnds.slice(0, n),
      keys.slice(0, usedKeys),
      firstKeyEnds ? firstKeyEnds.slice(0, n) : null,
      firstKeys ? firstKeys.slice(0, usedFirst) : null,
    );
  }

  /** Entry `i`'s separator key (a view; do not modify). */
  key(i: number): Uint8Array {
    return this.keys.subarray(i === 0 ? 0 : (this.keyEnds[i - 1] as number), this.keyEnds[i] as number);
  }

  /** Entry `i`'s block handle (a new object). */
  handle(i: number): BlockHandle {
    return { offset: this.offsets[i] as number, size: this.sizes[i] as number };
  }

  /** Entry `i` as an {@link IndexEntry} (new objects; the keys are views). */
  entry(i: number): IndexEntry {
    const f = this.firstKeys;
    const e = this.firstKeyEnds;
    return {
      key: this.key(i),
      handle: this.handle(i),
      firstInternalKey: f && e ? f.subarray(i === 0 ? 0 : (e[i - 1] as number), e[i] as number) : null,
    };
  }

  /** Bytes held by the arrays (for memory accounting and tests). */
  get byteLength(): number {
    return (
      this.offsets.byteLength +
      this.sizes.byteLength +
      this.keyEnds.byteLength +
      this.keys.byteLength +
      (this.firstKeyEnds?.byteLength ?? 0) +
      (this.firstKeys?.byteLength ?? 0)
    );
  }
}

/**
 * Decodes every entry of an index block (contents without trailer, decompressed), as objects (see
 * {@link IndexBlock} for the flat form an open table keeps).
 * @throws CorruptSnapshotError for bad lengths, handles or deltas.
 */
export function decodeIndexBlock(
  contents: Uint8Array,
  origin: ByteOrigin,
  format: IndexBlockFormat,
): IndexEntry[] {
  const index = IndexBlock.decode(contents, origin, format);
  return Array.from({ length: index.length }, (_, i) => index.entry(i));
}
