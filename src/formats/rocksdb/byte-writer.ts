/**
 * Writing RocksDB's primitive encodings (`util/coding.h`): little-endian fixed-width integers,
 * varints (7 bits per byte, low bits first, high bit = more bytes follow) and length-prefixed slices.
 * The writing twin of {@link ByteReader} (`./coding.ts`).
 */

import { InvalidArgumentError } from "../../errors.js";
import { GrowableBuffer } from "../io/growable-buffer.js";

const U64_MAX = (1n << 64n) - 1n;

/** A growable little-endian byte buffer (RocksDB's `PutFixed32`, `PutVarint64`, ...). */
export class ByteWriter extends GrowableBuffer {
  /** The bytes written so far (a view: do not keep it across further writes or {@link reset}). */
  current(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  /** A copy of the bytes written so far. */
  toBytes(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }

  /** Makes room for `n` more bytes, so that the unchecked writes below may follow. */
  reserve(n: number): this {
    this.ensure(n);
    return this;
  }

  /**
   * `PutVarint32` without checks, for lengths the caller knows are in [0, 2^31): after
   * {@link reserve} of 5 bytes (the hot path of block building).
   */
  varint32Unchecked(v: number): this {
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
    return this;
  }

  /** `src[start, end)`, after {@link reserve}; short ranges are copied byte by byte (cheaper than a view). */
  rangeUnchecked(src: Uint8Array, start: number, end: number): this {
    const n = end - start;
    if (n < 48) {
      const buf = this.buf;
      let p = this.pos;
      for (let i = start; i < end; i++) buf[p++] = src[i] as number;
      this.pos = p;
    } else {
      this.buf.set(start === 0 && end === src.byteLength ? src : src.subarray(start, end), this.pos);
      this.pos += n;
    }
    return this;
  }

  /** One byte (the low 8 bits of `v`). */
  u8(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  /** `PutFixed16`. */
  fixed16(v: number): this {
    this.ensure(2);
    this.view.setUint16(this.pos, v, true);
    this.pos += 2;
    return this;
  }

  /** `PutFixed32`: unsigned 32-bit little-endian. */
  fixed32(v: number): this {
    this.ensure(4);
    this.view.setUint32(this.pos, v >>> 0, true);
    this.pos += 4;
    return this;
  }

  /**
   * `PutFixed64`: unsigned 64-bit little-endian.
   * @throws InvalidArgumentError outside [0, 2^64).
   */
  fixed64(v: bigint): this {
    if (v < 0n || v > U64_MAX) throw new InvalidArgumentError(`fixed64 value ${v} out of range`);
    this.ensure(8);
    this.view.setBigUint64(this.pos, v, true);
    this.pos += 8;
    return this;
  }

  /**
   * `PutVarint32` / `PutVarint64` for a non-negative integer below 2^53.
   * @throws InvalidArgumentError for a negative, fractional or too large number.
   */
  varint(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new InvalidArgumentError(`varint value ${v} out of range`);
    this.ensure(8);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
    return this;
  }

  /**
   * `PutVarint64` for a bigint in [0, 2^64).
   * @throws InvalidArgumentError outside that range.
   */
  varint64(v: bigint): this {
    if (v < 0n || v > U64_MAX) throw new InvalidArgumentError(`varint64 value ${v} out of range`);
    if (v <= BigInt(Number.MAX_SAFE_INTEGER)) return this.varint(Number(v));
    this.ensure(10);
    while (v >= 0x80n) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
    return this;
  }

  /** Raw bytes. */
  bytes(b: Uint8Array): this {
    this.ensure(b.byteLength);
    this.buf.set(b, this.pos);
    this.pos += b.byteLength;
    return this;
  }

  /** `PutLengthPrefixedSlice`: varint32 length, then the bytes. */
  lengthPrefixed(b: Uint8Array): this {
    return this.varint(b.byteLength).bytes(b);
  }

  /** Zero bytes. */
  zeros(n: number): this {
    this.ensure(n);
    this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
    return this;
  }
}

/** The encoded length of a varint (1 to 10 bytes). */
export function varintLength(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}
