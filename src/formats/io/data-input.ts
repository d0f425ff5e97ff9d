/**
 * A bounds-checked, big-endian reader over bytes, mirroring `java.io.DataInputStream` (and Flink's
 * `DataInputView`) method for method, so code ported from Flink's serializers reads like the Java.
 *
 * Every read checks that the bytes are there first and throws {@link CorruptSnapshotError} naming the
 * file and the absolute byte offset otherwise: never a bare `RangeError`, never a zero-filled value.
 * Java `long`s come back as `bigint`.
 */

import { CorruptSnapshotError } from "../../errors.js";

const asciiDecoder = new TextDecoder("utf-8");

export class DataInput {
  private readonly view: DataView;
  private pos = 0;
  private readonly context: string[] = [];

  /**
   * @param bytes the bytes to read.
   * @param uri label for error messages (the file the bytes came from).
   * @param baseOffset absolute offset of `bytes[0]` in that file, so errors name file offsets.
   */
  constructor(
    readonly bytes: Uint8Array,
    readonly uri?: string,
    readonly baseOffset = 0,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Current position, relative to the start of `bytes`. */
  get position(): number {
    return this.pos;
  }

  /** Current position as an absolute offset in the file. */
  get fileOffset(): number {
    return this.baseOffset + this.pos;
  }

  /** Bytes left to read. */
  get remaining(): number {
    return this.bytes.byteLength - this.pos;
  }

  /** True when every byte has been read. */
  get atEnd(): boolean {
    return this.pos >= this.bytes.byteLength;
  }

  /** Moves the position to `position` (relative to the start of `bytes`); must be within the bytes. */
  seek(position: number): void {
    if (!Number.isInteger(position) || position < 0 || position > this.bytes.byteLength) {
      throw this.corrupt(`seek to ${position} outside ${this.bytes.byteLength} bytes`);
    }
    this.pos = position;
  }

  /**
   * Runs `fn` with `label` on the context stack, so that errors thrown inside say which structure was
   * being read (e.g. `operator[2] > subtask[1] > managedKeyedState`).
   */
  within<T>(label: string, fn: () => T): T {
    this.context.push(label);
    try {
      return fn();
    } finally {
      this.context.pop();
    }
  }

  /** Builds the typed error for a problem found at the current position (or `at`, relative). */
  corrupt(message: string, at: number = this.pos): CorruptSnapshotError {
    return new CorruptSnapshotError(message, {
      ...(this.uri === undefined ? {} : { uri: this.uri }),
      offset: this.baseOffset + at,
      ...(this.context.length > 0 ? { path: this.context.join(" > ") } : {}),
    });
  }

  /** Throws unless `n` more bytes are available. */
  require(n: number, what = "value"): void {
    if (n > this.bytes.byteLength - this.pos) {
      throw this.corrupt(`unexpected end of data reading ${what}: need ${n} bytes, have ${this.remaining}`);
    }
  }

  /** `DataInputStream.readByte`: a signed byte. */
  readByte(): number {
    this.require(1, "byte");
    const v = this.view.getInt8(this.pos);
    this.pos += 1;
    return v;
  }

  /** `DataInputStream.readUnsignedByte`. */
  readUnsignedByte(): number {
    this.require(1, "byte");
    const v = this.view.getUint8(this.pos);
    this.pos += 1;
    return v;
  }

  /** `DataInputStream.readBoolean`: any non-zero byte is true. */
  readBoolean(): boolean {
    return this.readUnsignedByte() !== 0;
  }

  /** `DataInputStream.readShort`: a signed 16-bit integer. */
  readShort(): number {
    this.require(2, "short");
    const v = this.view.getInt16(this.pos);
    this.pos += 2;
    return v;
  }

  /** `DataInputStream.readUnsignedShort`. */
  readUnsignedShort(): number {
    this.require(2, "unsigned short");
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  /** `DataInputStream.readChar`: one UTF-16 code unit, as a number. */
  readChar(): number {
    return this.readUnsignedShort();
  }

  /** `DataInputStream.readInt`: a signed 32-bit integer. */
  readInt(): number {
    this.require(4, "int");
    const v = this.view.getInt32(this.pos);
    this.pos += 4;
    return v;
  }

  /** `DataInputStream.readLong`: a signed 64-bit integer as `bigint`. */
  readLong(): bigint {
    this.require(8, "long");
    const v = this.view.getBigInt64(this.pos);
    this.pos += 8;
    return v;
  }

  /** `DataInputStream.readFloat`. */
  readFloat(): number {
    this.require(4, "float");
    const v = this.view.getFloat32(this.pos);
    this.pos += 4;
    return v;
  }

  /** `DataInputStream.readDouble`. */
  readDouble(): number {
    this.require(8, "double");
    const v = this.view.getFloat64(this.pos);
    this.pos += 8;
    return v;
  }

  /**
   * `DataInputStream.readFully(byte[n])`: the next `n` bytes, as a view into the underlying buffer
   * (no copy). Checks `n` against what is left before allocating anything.
   */
  readFully(n: number, what = "bytes"): Uint8Array {
    if (!Number.isInteger(n) || n < 0) {
      throw this.corrupt(`negative or invalid length ${n} for ${what}`);
    }
    this.require(n, what);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Skips `n` bytes, which must exist. */
  skipBytes(n: number): void {
    this.readFully(n, "skipped bytes");
  }

  /**
   * Reads a non-negative `int` count that the caller will use to read `count` items of at least
   * `minItemBytes` bytes each; refuses counts that could not fit in the bytes left, so a corrupt count
   * can never cause a huge allocation or a long loop.
   */
  readCount(what: string, minItemBytes = 1): number {
    const at = this.pos;
    const n = this.readInt();
    if (n < 0) {
      throw this.corrupt(`negative ${what}: ${n}`, at);
    }
    if (minItemBytes > 0 && n > Math.floor(this.remaining / minItemBytes)) {
      throw this.corrupt(
        `${what} ${n} cannot fit in the ${this.remaining} bytes left (at least ${minItemBytes} bytes each)`,
        at,
      );
    }
    return n;
  }

  /**
   * `DataInputStream.readUTF`: an unsigned 16-bit byte length followed by Java's modified UTF-8
   * (NUL as `C0 80`, supplementary characters as two 3-byte surrogates).
   */
  readUTF(): string {
    const start = this.pos;
    const len = this.readUnsignedShort();
    const bytes = this.readFully(len, "UTF string");
    let ascii = true;
    for (let i = 0; i < len; i++) {
      if ((bytes[i] as number) >= 0x80 || bytes[i] === 0) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      return asciiDecoder.decode(bytes);
    }
    return decodeModifiedUtf8(bytes, (msg, i) => this.corrupt(msg, start + 2 + i));
  }
}

/**
 * Decodes Java's modified UTF-8 (as written by `DataOutputStream.writeUTF`) into a JS string.
 * @param fail builds the error for a malformed byte at index `i`.
 */
export function decodeModifiedUtf8(bytes: Uint8Array, fail: (message: string, i: number) => Error): string {
  const units: number[] = [];
  let i = 0;
  const n = bytes.length;
  while (i < n) {
    const a = bytes[i] as number;
    if (a < 0x80) {
      if (a === 0) throw fail("malformed modified UTF-8: raw NUL byte", i);
      units.push(a);
      i += 1;
    } else if ((a & 0xe0) === 0xc0) {
      if (i + 1 >= n) throw fail("malformed modified UTF-8: partial character at end", i);
      const b = bytes[i + 1] as number;
      if ((b & 0xc0) !== 0x80) throw fail("malformed modified UTF-8: bad continuation byte", i + 1);
      units.push(((a & 0x1f) << 6) | (b & 0x3f));
      i += 2;
    } else if ((a & 0xf0) === 0xe0) {
      if (i + 2 >= n) throw fail("malformed modified UTF-8: partial character at end", i);
      const b = bytes[i + 1] as number;
      const c = bytes[i + 2] as number;
      if ((b & 0xc0) !== 0x80 || (c & 0xc0) !== 0x80) {
        throw fail("malformed modified UTF-8: bad continuation byte", i + 1);
      }
      units.push(((a & 0x0f) << 12) | ((b & 0x3f) << 6) | (c & 0x3f));
      i += 3;
    } else {
      throw fail(`malformed modified UTF-8: byte 0x${a.toString(16)}`, i);
    }
  }
  let out = "";
  for (let k = 0; k < units.length; k += 4096) {
    out += String.fromCharCode(...units.slice(k, k + 4096));
  }
  return out;
}
