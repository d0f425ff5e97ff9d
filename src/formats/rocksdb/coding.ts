/**
 * RocksDB's primitive encodings (`util/coding.h`): little-endian fixed-width integers, LEB128-style
 * varints (7 bits per byte, low bits first, high bit = more bytes follow), zigzag "varsigned" ints
 * and length-prefixed slices (varint32 length, then the bytes).
 *
 * {@link ByteReader} reads them from a byte array with bounds checks: every problem is a
 * {@link CorruptSnapshotError} naming the file, the absolute byte offset and the structure being
 * read, never a `RangeError` or a silently wrong value.
 */

import { CorruptSnapshotError } from "../../errors.js";

/** Where a byte range came from, for error messages. */
export interface ByteOrigin {
  /** The file (URI or `inline:<name>`) the bytes belong to. */
  uri?: string;
  /** Absolute offset of the first byte in that file. */
  baseOffset?: number;
  /** The structure being read, e.g. `sst footer`, `data block at 1234`. */
  label?: string;
}

/** Builds a {@link CorruptSnapshotError} for a problem at `offset` (absolute, in the file). */
export function corrupt(message: string, origin: ByteOrigin, offset: number): CorruptSnapshotError {
  return new CorruptSnapshotError(message, {
    ...(origin.uri === undefined ? {} : { uri: origin.uri }),
    offset,
    ...(origin.label === undefined ? {} : { path: origin.label }),
  });
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const utf8 = new TextDecoder("utf-8");
const latin1 = new TextDecoder("latin1");

/** Decodes bytes as UTF-8 (RocksDB stores names as raw bytes; invalid sequences become U+FFFD). */
export function utf8String(bytes: Uint8Array): string {
  return utf8.decode(bytes);
}

/** Decodes bytes as Latin-1: one character per byte, lossless for any bytes. */
export function latin1String(bytes: Uint8Array): string {
  return latin1.decode(bytes);
}

/** Lower-case hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** Bytes {@link compareBytes} compares in JavaScript before it hands longer keys to `Buffer.compare`. */
const JS_COMPARE_BYTES = 32;

/**
 * Bytewise comparison (RocksDB's `BytewiseComparator`, memcmp then length): negative, 0 or positive.
 * The first {@link JS_COMPARE_BYTES} bytes are compared in a JavaScript loop (Flink's keys mostly differ
 * there: a native `Buffer.compare` call costs about as much as 40 bytes of loop); longer common prefixes
 * go to `Buffer.compare`.
 */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  if (a === b) return 0;
  const n = Math.min(a.byteLength, b.byteLength);
  const m = n < JS_COMPARE_BYTES ? n : JS_COMPARE_BYTES;
  for (let i = 0; i < m; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  if (n > JS_COMPARE_BYTES) return Buffer.compare(a, b);
  return a.byteLength === b.byteLength ? 0 : a.byteLength < b.byteLength ? -1 : 1;
}

/**
 * A bounds-checked little-endian reader over `bytes` (RocksDB's `Slice` + `GetVarint32`,
 * `GetFixed64`, `GetLengthPrefixedSlice`, ...). Offsets in errors are absolute file offsets:
 * `origin.baseOffset` + position.
 */
export class ByteReader {
  /** Current position, relative to the start of `bytes`. */
  pos: number;
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    readonly origin: ByteOrigin = {},
    start = 0,
    /** Position (relative) where reading must stop; default the end of `bytes`. */
    readonly limit: number = bytes.byteLength,
  ) {
    this.pos = start;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Bytes left before {@link limit}. */
  get remaining(): number {
    return this.limit - this.pos;
  }

  /** True when the position has reached {@link limit}. */
  get atEnd(): boolean {
    return this.pos >= this.limit;
  }

  /** Absolute file offset of a relative position (default: the current one). */
  fileOffset(at: number = this.pos): number {
    return (this.origin.baseOffset ?? 0) + at;
  }

  /** The typed error for a problem at a relative position (default: the current one). */
  corrupt(message: string, at: number = this.pos): CorruptSnapshotError {
    return corrupt(message, this.origin, this.fileOffset(at));
  }

  private need(n: number, what: string): void {
    if (n < 0 || this.pos + n > this.limit) {
      throw this.corrupt(`${what}: needs ${n} bytes, ${Math.max(0, this.limit - this.pos)} left`);
    }
  }

  /** One unsigned byte. */
  u8(what = "byte"): number {
    this.need(1, what);
    return this.bytes[this.pos++] as number;
  }

  /** `DecodeFixed16`: unsigned 16-bit little-endian. */
  fixed16(what = "fixed16"): number {
    this.need(2, what);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }

  /** `DecodeFixed32`: unsigned 32-bit little-endian. */
  fixed32(what = "fixed32"): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** `DecodeFixed64`: unsigned 64-bit little-endian, as a bigint. */
  fixed64(what = "fixed64"): bigint {
    this.need(8, what);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** `GetVarint32`: at most 5 bytes, value below 2^32. */
  varint32(what = "varint32"): number {
    const at = this.pos;
    let result = 0;
    for (let shift = 0; shift <= 28; shift += 7) {
      if (this.pos >= this.limit) throw this.corrupt(`${what}: truncated varint32`, at);
      const b = this.bytes[this.pos++] as number;
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) {
        if (result > 0xffffffff) throw this.corrupt(`${what}: varint32 overflows 32 bits`, at);
        return result;
      }
    }
    throw this.corrupt(`${what}: varint32 longer than 5 bytes`, at);
  }

  /** `GetVarint64`: at most 10 bytes, as a bigint. */
  varint64(what = "varint64"): bigint {
    const at = this.pos;
    // Fast path: values below 2^49 fit 7 bytes and a double exactly.
    let small = 0;
    for (let shift = 0; shift < 49; shift += 7) {
      if (this.pos >= this.limit) throw this.corrupt(`${what}: truncated varint64`, at);
      const b = this.bytes[this.pos++] as number;
      small += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return BigInt(small);
    }
    let result = BigInt(small);
    for (let shift = 49n; shift <= 63n; shift += 7n) {
      if (this.pos >= this.limit) throw this.corrupt(`${what}: truncated varint64`, at);
      const b = this.bytes[this.pos++] as number;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) {
        if (result > 0xffffffffffffffffn) throw this.corrupt(`${what}: varint64 overflows 64 bits`, at);
        return result;
      }
    }
    throw this.corrupt(`${what}: varint64 longer than 10 bytes`, at);
  }

  /**
   * A varint64 of at most 7 bytes (below 2^49) as a number, without a BigInt; -1 (position unchanged)
   * for a longer or truncated one, which {@link varint64Number} then reads (or refuses) in full.
   */
  smallVarint64(): number {
    const b = this.bytes;
    let p = this.pos;
    let v = 0;
    let scale = 1;
    for (let i = 0; i < 7 && p < this.limit; i++) {
      const x = b[p++] as number;
      v += (x & 0x7f) * scale;
      if (x < 0x80) {
        this.pos = p;
        return v;
      }
      scale *= 128;
    }
    return -1;
  }

  /** A varint64 that must fit a JS number exactly (sizes, offsets, counts). */
  varint64Number(what = "varint64"): number {
    const small = this.smallVarint64();
    if (small >= 0) return small;
    const at = this.pos;
    const v = this.varint64(what);
    if (v > MAX_SAFE) throw this.corrupt(`${what}: ${v} is larger than 2^53`, at);
    return Number(v);
  }

  /** `GetVarsignedint64`: a zigzag-encoded signed varint64, as a number (must fit exactly). */
  varsigned64(what = "varsigned64"): number {
    const small = this.smallVarint64();
    if (small >= 0) return small % 2 === 1 ? -((small - 1) / 2) - 1 : small / 2;
    const at = this.pos;
    const u = this.varint64(what);
    const v = u & 1n ? -((u >> 1n) + 1n) : u >> 1n;
    if (v > MAX_SAFE || v < -MAX_SAFE) throw this.corrupt(`${what}: ${v} does not fit 2^53`, at);
    return Number(v);
  }

  /** `n` raw bytes (a view, not a copy). */
  bytesN(n: number, what = "bytes"): Uint8Array {
    this.need(n, what);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** `GetLengthPrefixedSlice`: varint32 length, then that many bytes (a view). */
  lengthPrefixed(what = "slice"): Uint8Array {
    const n = this.varint32(`${what} length`);
    return this.bytesN(n, what);
  }

  /** Skips `n` bytes. */
  skip(n: number, what = "bytes"): void {
    this.need(n, what);
    this.pos += n;
  }
}
