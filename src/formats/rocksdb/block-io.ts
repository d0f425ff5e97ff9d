/**
 * Verifying a block trailer (`table/block_based/reader_common.cc` `VerifyBlockChecksum`).
 *
 * A block of `size` bytes is followed by its compression type byte and a fixed32 checksum of
 * `contents ‖ type`; for format_version 6 the stored value includes the context modifier of the
 * block's offset (see `./checksum.ts`).
 */

import type { RangeReader } from "../../storage/store.js";
import { concatBytes } from "../io/concat.js";
import { builtinChecksumOf, CHECKSUM_NAMES, ChecksumType, contextModifier, unmaskCrc } from "./checksum.js";
import { type ByteOrigin, corrupt } from "./coding.js";
import type { BlockHandle, Footer } from "./format.js";
import type { RandomAccessFile } from "./sst-reader.js";

/** RocksDB's name of a checksum type, e.g. "kCRC32c". */
export function checksumTypeName(t: number): string {
  return CHECKSUM_NAMES[t] ?? `checksum type ${t}`;
}

/**
 * Checks the checksum in a block's trailer.
 *
 * @param bytes the block contents followed by the 5-byte trailer (`handle.size + 5` bytes).
 * @throws CorruptSnapshotError at the trailer's offset when the checksums differ.
 */
export function verifyBlockTrailer(
  bytes: Uint8Array,
  handle: BlockHandle,
  footer: Footer,
  origin: ByteOrigin,
): void {
  const type = footer.checksumType;
  if (type === ChecksumType.NONE) return;
  const n = handle.size + 1;
  const fixed32 =
    ((bytes[n] as number) |
      ((bytes[n + 1] as number) << 8) |
      ((bytes[n + 2] as number) << 16) |
      ((bytes[n + 3] as number) << 24)) >>>
    0;
  const stored = (fixed32 - contextModifier(footer.baseContextChecksum, handle.offset)) >>> 0;
  const computed = builtinChecksumOf(type, bytes, n);
  if (stored !== computed) {
    const show = (v: number) =>
      `0x${(type === ChecksumType.CRC32C ? unmaskCrc(v) : v).toString(16).padStart(8, "0")}`;
    throw corrupt(
      `block checksum mismatch (${checksumTypeName(type)}): stored ${show(stored)}, computed ${show(computed)} ` +
        `for the ${handle.size}-byte block at ${handle.offset}`,
      origin,
      handle.offset + n,
    );
  }
}

/**
 * Bytes of the arenas blocks straddling two read-ahead chunks are joined in (64 KiB, shared by the
 * thread's read-aheads): one allocation per several joins instead of one per block (a fresh ArrayBuffer
 * costs far more than the copy of a 4 KiB block). An arena lives as long as any block of it.
 */
const JOIN_ARENA_BYTES = 64 * 1024;
let joinArena = new Uint8Array(0);
let joinArenaUsed = 0;

/** Room for `n` bytes of a joined block: in the shared arena, or its own array when large. */
function joinSpace(n: number): Uint8Array {
  if (n > JOIN_ARENA_BYTES / 4) return new Uint8Array(n);
  if (joinArenaUsed + n > joinArena.byteLength) {
    joinArena = new Uint8Array(JOIN_ARENA_BYTES);
    joinArenaUsed = 0;
  }
  const out = joinArena.subarray(joinArenaUsed, joinArenaUsed + n);
  joinArenaUsed += n;
  return out;
}

/** Bytes a {@link ReadAhead} fetches per request (1 MiB): hundreds of 4 KiB blocks per read; two per sorted run in memory. */
export const READ_AHEAD_CHUNK = 1024 * 1024;

/**
 * Sequential reads of a file's blocks through large read-ahead chunks: each request fetches
 * {@link READ_AHEAD_CHUNK} bytes (or more for a larger block), blocks are views sliced out of it, and the
 * next chunk is requested while the current one is decoded (double buffering), so the decoder rarely
 * waits for the disk. The file is held open for the whole iteration where it can be (`file.open`, a
 * local file handle), instead of an open and a close per block.
 *
 * Reads outside `[start, end)` and reads going backwards are served too (a fresh chunk); memory is two
 * chunks. Call {@link close} when done (it waits for a read still in flight).
 */
export class ReadAhead {
  private buf: Uint8Array = new Uint8Array(0);
  /** File offset of `buf[0]`. */
  private bufStart = 0;
  private pending: { start: number; bytes: Promise<Uint8Array> } | null = null;
  private reader: Promise<RangeReader> | null = null;
  private closed = false;

  /**
   * @param file the file (its `open` is used when present, else its `read`).
   * @param end offset where read-ahead stops (e.g. the end of the data blocks); default the file size.
   * @param chunk bytes per request (default {@link READ_AHEAD_CHUNK}).
   */
  constructor(
    private readonly file: RandomAccessFile,
    private readonly end: number = file.size,
    private readonly chunk: number = READ_AHEAD_CHUNK,
  ) {}

  private open(): Promise<RangeReader> {
    if (this.closed) return Promise.reject(new Error(`read-ahead of ${this.file.uri} used after close`));
    this.reader ??= this.file.open
      ? this.file.open()
      : Promise.resolve({ read: (o: number, n: number) => this.file.read(o, n), close: async () => {} });
    return this.reader;
  }

  private fetch(from: number, length: number): Promise<Uint8Array> {
    return this.open().then((r) => r.read(from, length));
  }

  /**
   * The `length` bytes at `offset` when they are in the current chunk (a view; do not modify), else null
   * (then {@link read}). Synchronous: most blocks are in the chunk, and need no await.
   */
  readBuffered(offset: number, length: number): Uint8Array | null {
    const start = offset - this.bufStart;
    if (start < 0 || start + length > this.buf.byteLength) return null;
    return this.buf.subarray(start, start + length);
  }

  /**
   * Exactly `length` bytes at `offset` (a view into a chunk; do not modify).
   * @throws the file's read errors (StoreFaultError for a short file, ...).
   */
  async read(offset: number, length: number): Promise<Uint8Array> {
    const bufEnd = this.bufStart + this.buf.byteLength;
    if (offset >= this.bufStart && offset + length <= bufEnd) {
      return this.buf.subarray(offset - this.bufStart, offset - this.bufStart + length);
    }
    const want = offset + length;
    const limit = Math.max(want, Math.min(this.end, this.file.size));
    // The usual miss: a block straddling the end of the buffer, the next chunk already requested. Only
    // the block's bytes are joined; the chunk becomes the buffer as it is.
    const p0 = this.pending;
    if (p0 && p0.start === bufEnd && offset >= this.bufStart && offset < bufEnd) {
      this.pending = null;
      const next = await p0.bytes;
      if (want <= bufEnd + next.byteLength) {
        const out = joinSpace(length);
        out.set(this.buf.subarray(offset - this.bufStart), 0);
        out.set(next.subarray(0, want - bufEnd), bufEnd - offset);
        this.buf = next;
        this.bufStart = bufEnd;
        this.prefetch(bufEnd + next.byteLength, limit);
        return out;
      }
      this.pending = { start: bufEnd, bytes: Promise.resolve(next) };
    }
    const parts: Uint8Array[] = [];
    let from = offset;
    if (offset >= this.bufStart && offset < bufEnd) {
      parts.push(this.buf.subarray(offset - this.bufStart));
      from = bufEnd;
    }
    while (from < want) {
      let got: Uint8Array;
      const p = this.pending;
      this.pending = null;
      if (p && p.start === from) got = await p.bytes;
      else {
        if (p) await p.bytes.catch(() => {});
        got = await this.fetch(from, Math.min(Math.max(this.chunk, want - from), limit - from));
      }
      parts.push(got);
      from += got.byteLength;
    }
    this.buf = parts.length === 1 ? (parts[0] as Uint8Array) : concatBytes(parts);
    this.bufStart = offset;
    this.prefetch(from, limit);
    return this.buf.subarray(0, length);
  }

  /** Requests the chunk at `from` (below `limit`) unless a request is under way. */
  private prefetch(from: number, limit: number): void {
    if (from >= limit || this.pending !== null) return;
    const bytes = this.fetch(from, Math.min(this.chunk, limit - from));
    bytes.catch(() => {}); // surfaced when awaited
    this.pending = { start: from, bytes };
  }

  /** Releases the file (after a read in flight has settled). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const p = this.pending;
    this.pending = null;
    if (p) await p.bytes.catch(() => {});
    this.buf = new Uint8Array(0);
    const r = this.reader;
    this.reader = null;
    if (r) await (await r.catch(() => null))?.close();
  }
}
