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

/**
 * Bytes decoded per window by {@link DataInput.readAsciiString}. Strings read from a window are V8
 * slices of it (no copy), so a window lives as long as any string read from it: windows are disjoint
 * and only cover bytes where strings start, so their total is at most the input's size.
 */
const STRING_WINDOW_BYTES = 32 * 1024;

/**
 * Strings of at most this many bytes read by {@link DataInput.readAsciiString} are interned per
 * input (a direct-mapped table of {@link INTERN_SLOTS}), so that names repeated thousands of times in
 * one file (an SST file's local name in every incremental handle, state names) are one string.
 */
const INTERN_MAX_BYTES = 24;
const INTERN_SLOTS = 4096;
/**
 * Inputs shorter than this (bytes) intern nothing: their table would outweigh them. A DataInput made per
 * record (a changelog change, a RocksDB value) would otherwise allocate a table of {@link INTERN_SLOTS}
 * for its one or two strings: half the time of decoding a changelog of 1 KiB values (2026-11-23).
 */
const INTERN_MIN_INPUT_BYTES = 32 * 1024;

/** `Buffer#latin1Slice` works on any Uint8Array and is the fastest bytes-to-string path in Node. */
const latin1Slice: (this: Uint8Array, start: number, end: number) => string =
  (Buffer.prototype as unknown as { latin1Slice?: (this: Uint8Array, start: number, end: number) => string })
    .latin1Slice ?? fallbackLatin1Slice;

function fallbackLatin1Slice(this: Uint8Array, start: number, end: number): string {
  return new TextDecoder("latin1").decode(this.subarray(start, end));
}

export class DataInput {
  /** A view of `bytes` for longs and floats, made on first use (DataInputs are made per record elsewhere). */
  private dataView: DataView | undefined;
  /**
   * The 4-byte-aligned words of `bytes` (native byte order) and the relative position of the first,
   * for the ASCII scan of {@link readAsciiString}, made on first use (DataInputs are made per record
   * elsewhere). Byte, short and int reads index `bytes`: DataView get* calls are several times slower
   * in Node 20's V8.
   */
  private words: Int32Array | undefined;
  private wordsStart = 0;
  private readonly length: number;
  private pos = 0;
  private readonly context: string[] = [];
  /** The bytes `[windowStart, windowStart + window.length)` as a latin1 string (see readAsciiString). */
  private window = "";
  private windowStart = 0;
  /** Short strings read so far, by hash of their bytes (created on first use). */
  private interned: (string | undefined)[] | undefined;

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
    this.length = bytes.byteLength;
  }

  private view(): DataView {
    this.dataView ??= new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    return this.dataView;
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
    if (n > this.length - this.pos) {
      throw this.corrupt(`unexpected end of data reading ${what}: need ${n} bytes, have ${this.remaining}`);
    }
  }

  /**
   * Called by the fixed-size reads when fewer than `n` bytes are left (kept out of their hot path):
   * goes through {@link require}, which subclasses override (e.g. to ask for more bytes of a stream),
   * and throws the truncation error should it return.
   */
  private missing(n: number, what: string): never {
    this.require(n, what);
    throw this.corrupt(`unexpected end of data reading ${what}: need ${n} bytes, have ${this.remaining}`);
  }

  /** `DataInputStream.readByte`: a signed byte. */
  readByte(): number {
    const p = this.pos;
    if (p + 1 > this.length) this.missing(1, "byte");
    this.pos = p + 1;
    return ((this.bytes[p] as number) << 24) >> 24;
  }

  /** `DataInputStream.readUnsignedByte`. */
  readUnsignedByte(): number {
    const p = this.pos;
    if (p + 1 > this.length) this.missing(1, "byte");
    this.pos = p + 1;
    return this.bytes[p] as number;
  }

  /** `DataInputStream.readBoolean`: any non-zero byte is true. */
  readBoolean(): boolean {
    return this.readUnsignedByte() !== 0;
  }

  /** `DataInputStream.readShort`: a signed 16-bit integer. */
  readShort(): number {
    const p = this.pos;
    if (p + 2 > this.length) this.missing(2, "short");
    this.pos = p + 2;
    const b = this.bytes;
    return (((b[p] as number) << 24) | ((b[p + 1] as number) << 16)) >> 16;
  }

  /** `DataInputStream.readUnsignedShort`. */
  readUnsignedShort(): number {
    const p = this.pos;
    if (p + 2 > this.length) this.missing(2, "unsigned short");
    this.pos = p + 2;
    const b = this.bytes;
    return ((b[p] as number) << 8) | (b[p + 1] as number);
  }

  /** `DataInputStream.readChar`: one UTF-16 code unit, as a number. */
  readChar(): number {
    return this.readUnsignedShort();
  }

  /** `DataInputStream.readInt`: a signed 32-bit integer. */
  readInt(): number {
    const p = this.pos;
    if (p + 4 > this.length) this.missing(4, "int");
    this.pos = p + 4;
    const b = this.bytes;
    return (
      ((b[p] as number) << 24) |
      ((b[p + 1] as number) << 16) |
      ((b[p + 2] as number) << 8) |
      (b[p + 3] as number)
    );
  }

  /** `DataInputStream.readLong`: a signed 64-bit integer as `bigint`. */
  readLong(): bigint {
    const p = this.pos;
    if (p + 8 > this.length) this.missing(8, "long");
    this.pos = p + 8;
    return this.view().getBigInt64(p);
  }

  /** `DataInputStream.readFloat`. */
  readFloat(): number {
    const p = this.pos;
    if (p + 4 > this.length) this.missing(4, "float");
    this.pos = p + 4;
    return this.view().getFloat32(p);
  }

  /** `DataInputStream.readDouble`. */
  readDouble(): number {
    const p = this.pos;
    if (p + 8 > this.length) this.missing(8, "double");
    this.pos = p + 8;
    return this.view().getFloat64(p);
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
   * The next `n` bytes as a string when every one of them is in 0x01..0x7F (the characters Java's
   * modified UTF-8 writes as one byte each, so the bytes are the string's encoding); otherwise null,
   * with the position unchanged, for the caller to decode them another way.
   *
   * The string is a V8 slice of a latin1 window of up to {@link STRING_WINDOW_BYTES} decoded at once,
   * not a copy: many strings cost one decode, and a string keeps its window alive (at most the
   * input's size in all).
   * @param n byte length (e.g. the u16 length of a `writeUTF` string).
   * @throws CorruptSnapshotError when `n` is negative or more than the bytes left.
   */
  readAsciiString(n: number, what = "string"): string | null {
    const p = this.pos;
    const end = p + n;
    if (!Number.isInteger(n) || n < 0) throw this.corrupt(`negative or invalid length ${n} for ${what}`);
    if (end > this.length) this.missing(n, what);
    const b = this.bytes;
    // A byte is refused when its top bit is set or it is zero: `(c - 1) & ~c` has the top bit set
    // exactly for c = 0, and for a word `(w - 0x01010101) & ~w` sets it in some byte iff a byte is 0.
    let bad = 0;
    if (n <= INTERN_MAX_BYTES && this.length >= INTERN_MIN_INPUT_BYTES) {
      let hash = n;
      for (let i = p; i < end; i++) {
        const c = b[i] as number;
        bad |= c | ((c - 1) & ~c);
        hash = Math.imul(hash ^ c, 0x01000193);
      }
      if ((bad & 0x80) !== 0) return null;
      const table = this.interned ?? this.newInternTable();
      const slot = (hash ^ (hash >>> 16)) & (INTERN_SLOTS - 1);
      const cached = table[slot];
      if (cached !== undefined && cached.length === n && this.holds(cached, p)) {
        this.pos = end;
        return cached;
      }
      const str = this.sliceWindow(p, end);
      table[slot] = str;
      this.pos = end;
      return str;
    }
    // bytes up to the first aligned word, whole words, then the rest
    const words = this.words ?? this.alignedWords();
    let i = p;
    for (; i < end && ((i - this.wordsStart) & 3) !== 0; i++) {
      const c = b[i] as number;
      bad |= c | ((c - 1) & ~c);
    }
    let k = (i - this.wordsStart) >> 2;
    for (; i + 4 <= end; i += 4, k++) {
      const w = words[k] as number;
      bad |= w | ((w - 0x01010101) & ~w);
    }
    for (; i < end; i++) {
      const c = b[i] as number;
      bad |= c | ((c - 1) & ~c);
    }
    if ((bad & 0x80808080) !== 0) return null;
    const str = this.sliceWindow(p, end);
    this.pos = end;
    return str;
  }

  private alignedWords(): Int32Array {
    const bytes = this.bytes;
    const skip = Math.min((4 - (bytes.byteOffset & 3)) & 3, bytes.byteLength);
    const words = new Int32Array(bytes.buffer, bytes.byteOffset + skip, (bytes.byteLength - skip) >> 2);
    this.wordsStart = skip;
    this.words = words;
    return words;
  }

  private newInternTable(): (string | undefined)[] {
    const table = new Array<string | undefined>(INTERN_SLOTS).fill(undefined);
    this.interned = table;
    return table;
  }

  /** True when the one-byte characters of `str` are the bytes at `p` (relative). */
  private holds(str: string, p: number): boolean {
    const b = this.bytes;
    for (let k = 0; k < str.length; k++) {
      if (str.charCodeAt(k) !== b[p + k]) return false;
    }
    return true;
  }

  /** Bytes `[p, end)` (relative, checked ASCII) as a slice of the current latin1 window, or a new one. */
  private sliceWindow(p: number, end: number): string {
    let start = this.windowStart;
    let window = this.window;
    if (p < start || end > start + window.length) {
      start = p;
      window = latin1Slice.call(this.bytes, p, Math.min(this.length, Math.max(end, p + STRING_WINDOW_BYTES)));
      this.window = window;
      this.windowStart = start;
    }
    return window.substring(p - start, end - start);
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
