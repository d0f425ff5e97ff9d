/**
 * A growable big-endian writer mirroring `java.io.DataOutputStream` method for method; the pair of
 * {@link DataInput}. Java `long`s are taken as `bigint` and range-checked.
 */

import { InvalidArgumentError } from "../../errors.js";
import { GrowableBuffer } from "./growable-buffer.js";

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Strings of at least this many characters are checked and copied by Node's native code in
 * {@link DataOutput.writeAsciiChars} (a loop here is cheaper for short ones than the calls).
 */
const NATIVE_ASCII_MIN_CHARS = 64;

/**
 * `Buffer#latin1Write` works on any Uint8Array: the bytes of a string's code units, natively (where the
 * runtime has it; else {@link DataOutput.writeAsciiChars} loops).
 */
const latin1Write = (
  Buffer.prototype as unknown as {
    latin1Write?: (this: Uint8Array, s: string, offset: number, length: number) => number;
  }
).latin1Write;

export class DataOutput extends GrowableBuffer {
  /** The bytes written so far (a copy-free view; do not keep it across further writes). */
  toBytes(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  /** `writeByte`: the low 8 bits of `v`. */
  writeByte(v: number): this {
    this.ensure(1);
    this.view.setUint8(this.pos, v & 0xff);
    this.pos += 1;
    return this;
  }

  /**
   * The UTF-16 code units of `s` as a byte each, when every one is in 0x00..0x7F: Flink's `StringValue`
   * encoding of such a string (after its length). True when written; false, with nothing written, when
   * `s` has another character (the caller then encodes it another way).
   */
  writeAsciiChars(s: string): boolean {
    const n = s.length;
    if (n >= NATIVE_ASCII_MIN_CHARS && latin1Write) {
      // natively: a string is ASCII exactly when its UTF-8 encoding has a byte per code unit
      if (Buffer.byteLength(s, "utf8") !== n) return false;
      this.ensure(n);
      latin1Write.call(this.buf, s, this.pos, n);
      this.pos += n;
      return true;
    }
    this.ensure(n);
    const b = this.buf;
    const start = this.pos;
    for (let k = 0; k < n; k++) {
      const c = s.charCodeAt(k);
      if (c >= 0x80) return false;
      b[start + k] = c;
    }
    this.pos = start + n;
    return true;
  }

  /** `writeBoolean`: 1 or 0. */
  writeBoolean(v: boolean): this {
    return this.writeByte(v ? 1 : 0);
  }

  /** `writeShort`: the low 16 bits of `v`. */
  writeShort(v: number): this {
    this.ensure(2);
    this.view.setUint16(this.pos, v & 0xffff);
    this.pos += 2;
    return this;
  }

  /** `writeChar`: one UTF-16 code unit. */
  writeChar(v: number): this {
    return this.writeShort(v);
  }

  /** `writeInt`: a 32-bit integer; must be within the Java int range. */
  writeInt(v: number): this {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0xffffffff) {
      throw new InvalidArgumentError(`writeInt: ${v} is not a 32-bit integer`);
    }
    this.ensure(4);
    this.view.setInt32(this.pos, v | 0);
    this.pos += 4;
    return this;
  }

  /** `writeLong`: a 64-bit signed integer. */
  writeLong(v: bigint): this {
    if (v < INT64_MIN || v > INT64_MAX) {
      throw new InvalidArgumentError(`writeLong: ${v} is outside the Java long range`);
    }
    this.ensure(8);
    this.view.setBigInt64(this.pos, v);
    this.pos += 8;
    return this;
  }

  /** `writeFloat`. */
  writeFloat(v: number): this {
    this.ensure(4);
    this.view.setFloat32(this.pos, v);
    this.pos += 4;
    return this;
  }

  /** `writeDouble`. */
  writeDouble(v: number): this {
    this.ensure(8);
    this.view.setFloat64(this.pos, v);
    this.pos += 8;
    return this;
  }

  /** `write(byte[])`: raw bytes. */
  write(bytes: Uint8Array): this {
    this.ensure(bytes.byteLength);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.byteLength;
    return this;
  }

  /**
   * `writeUTF`: u16 byte length, then modified UTF-8. Throws like Java's `UTFDataFormatException` when
   * the encoding is longer than 65535 bytes.
   */
  writeUTF(s: string): this {
    const encoded = encodeModifiedUtf8(s);
    if (encoded.byteLength > 0xffff) {
      throw new InvalidArgumentError(`writeUTF: encoded string is ${encoded.byteLength} bytes, over 65535`);
    }
    this.writeShort(encoded.byteLength);
    return this.write(encoded);
  }
}

/** Encodes a JS string as Java's modified UTF-8 (without the length prefix). */
export function encodeModifiedUtf8(s: string): Uint8Array {
  let size = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    size += c >= 0x0001 && c <= 0x007f ? 1 : c <= 0x07ff ? 2 : 3;
  }
  const out = new Uint8Array(size);
  let p = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x0001 && c <= 0x007f) {
      out[p++] = c;
    } else if (c <= 0x07ff) {
      out[p++] = 0xc0 | ((c >> 6) & 0x1f);
      out[p++] = 0x80 | (c & 0x3f);
    } else {
      out[p++] = 0xe0 | ((c >> 12) & 0x0f);
      out[p++] = 0x80 | ((c >> 6) & 0x3f);
      out[p++] = 0x80 | (c & 0x3f);
    }
  }
  return out;
}
