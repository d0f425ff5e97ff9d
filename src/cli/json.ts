/**
 * JSON output of the CLI: `bigint` values (Java longs: ids, byte counts, offsets) become decimal
 * strings, so no precision is lost; `Uint8Array`s become base64.
 *
 * {@link jsonByteChunks} writes the UTF-8 bytes of `JSON.stringify(value, jsonReplacer, 2)` in chunks,
 * so that a report with millions of entries (an inspect of a 100 MB `_metadata`) is never one giant
 * string or buffer in memory; {@link jsonChunks} and {@link toJson} give the same text as strings.
 * Our own (the npm streaming stringifiers are async-only or unmaintained), checked against
 * `JSON.stringify` in tests.
 *
 * Speed: an inspect of a 108 MB `_metadata` writes 370 MB of this text, so plain data is serialised
 * straight into bytes by a {@link JsonByteWriter}: indentation, punctuation and object keys are copied
 * byte by byte, ASCII strings with nothing to escape are copied as they are scanned, and no JavaScript
 * string holds the document (no concatenation, flattening or UTF-8 encoding of a 370 MB text).
 * `JSON.stringify` is kept for the rare strings that need escaping ({@link quoteJsonString}) and for
 * values that are not plain data.
 */

import { StringDecoder } from "node:string_decoder";

/** `JSON.stringify` replacer for savepoint-kit data. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
  return value;
}

/** Serialises savepoint-kit data to JSON text (pretty-printed, newline-terminated). */
export function toJson(data: unknown): string {
  let out = "";
  for (const chunk of jsonChunks(data)) out += chunk;
  return out;
}

/**
 * A value written when {@link jsonChunks} reaches it, not before: e.g. totals that are known only
 * after a {@link StreamedJsonArray} before them has been produced.
 */
export class LaterJson {
  constructor(readonly get: () => unknown) {}
}

/**
 * An array whose elements are produced while {@link jsonChunks} writes them (an iterator over
 * operator reports), so they are never all in memory. Written like an array of the same elements.
 */
export class StreamedJsonArray {
  constructor(readonly items: Iterable<unknown>) {}
}

/**
 * A value that writes its own JSON into a {@link JsonByteWriter}: the CLI's fast path for records
 * whose shape is known (the subtask records of an inspect report). `write` must write exactly what
 * `JSON.stringify(value, jsonReplacer, 2)` writes for the value it stands for, as it sits `depth`
 * levels deep (its inner lines indented by `2 * (depth + 1)` spaces), and must write something.
 * Not for the library's public values: only {@link jsonByteChunks} and the writer know it.
 */
export class WrittenJson {
  constructor(readonly write: (w: JsonByteWriter, depth: number) => void) {}
}

/** Bytes of one output chunk of {@link jsonByteChunks} (the writer's buffer size). */
export const JSON_CHUNK_BYTES = 1024 * 1024;

/** Below this depth values are walked (with chunk boundaries); at it, each value is serialised whole. */
const WALK_DEPTH = 4;

/**
 * A string that `JSON.stringify` writes as its characters between two quotes: no `"`, no `\`, no
 * control character below U+0020 and no UTF-16 surrogate (a lone surrogate is escaped as `\udxxx`
 * by the well-formed `JSON.stringify` of ES2019; pairs are not, but the slow path handles both).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what is matched
const PLAIN_STRING = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;

/**
 * `JSON.stringify(s)` for a string `s`: the quoted, escaped JSON string literal. Strings with nothing
 * to escape take a fast path of one regular-expression test.
 */
export function quoteJsonString(s: string): string {
  return PLAIN_STRING.test(s) ? `"${s}"` : JSON.stringify(s);
}

/** A string of printable ASCII other than `"` and `\`: its JSON is its Latin-1 bytes between quotes. */
const PLAIN_ASCII = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** Node's Buffer method behind `buf.write(s, offset, "latin1")`, without its argument checks (not in @types/node). */
type LatinWritable = Buffer & { latin1Write(s: string, offset: number): number };

/** Strings up to this length are checked and copied by a loop, longer ones by a regular expression and a native copy. */
const SHORT_STRING = 16;
/** 10^0 to 10^15: the decimal length of an integer below 2^53 (up to 16 digits) by comparisons. */
const POWERS_OF_TEN = Array.from({ length: 16 }, (_, i) => 10 ** i);
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const SPACE = 0x20;
const NEWLINE = 0x0a;

/** `"key": ` as UTF-8 bytes, by key (keys repeat: one entry per distinct key). */
const KEY_BYTES = new Map<string, Uint8Array>();
function keyBytes(k: string): Uint8Array {
  let b = KEY_BYTES.get(k);
  if (b === undefined) {
    b = Buffer.from(`${quoteJsonString(k)}: `, "utf8");
    if (KEY_BYTES.size < 10_000) KEY_BYTES.set(k, b);
  }
  return b;
}

/** `\n`, `2 * depth` spaces and `"key": ` as UTF-8 bytes, by depth and key: an object member's start. */
const KEY_LINES: Map<string, Uint8Array>[] = [];
function keyLine(depth: number, k: string): Uint8Array {
  let byKey = KEY_LINES[depth];
  if (byKey === undefined) {
    byKey = new Map();
    KEY_LINES[depth] = byKey;
  }
  let b = byKey.get(k);
  if (b === undefined) {
    b = Buffer.from(`\n${"  ".repeat(depth)}${quoteJsonString(k)}: `, "utf8");
    if (byKey.size < 10_000) byKey.set(k, b);
  }
  return b;
}

/** Recycled buffers a {@link JsonByteWriter} keeps at most. */
const MAX_FREE = 2;

/**
 * A buffer of `size` bytes with memory of its own. `Buffer.allocUnsafe` hands out slices of a shared
 * pool for sizes below half of `Buffer.poolSize` (8 KiB up to Node.js 22, 64 KiB from Node.js 24), and
 * a chunk sharing memory could neither be recycled ({@link JsonByteWriter.recycle} checks the memory
 * is the chunk's alone) nor be kept by a consumer as the separate buffer it is documented to be.
 */
function ownBuffer(size: number): Buffer {
  return Buffer.allocUnsafeSlow(size);
}

const TRUE = Buffer.from("true");
const FALSE = Buffer.from("false");
const NULL = Buffer.from("null");

/**
 * Writes the pretty-printed JSON of values as UTF-8 bytes into buffers of `chunkSize` bytes, as
 * `JSON.stringify(value, jsonReplacer, 2)` writes it. Filled buffers are kept until {@link take}n;
 * any token may be split between two of them.
 */
export class JsonByteWriter {
  private buf: Buffer;
  private pos = 0;
  private readonly filled: Buffer[] = [];
  /** Buffers given back by {@link recycle}, written over before a new one is allocated. */
  private readonly free: Buffer[] = [];
  /** The last string found plain ASCII (a file's `stored` pointer and its `uri` are often one string). */
  private lastPlain = "";
  /** The buffer and offset where {@link lastPlain} was written, quoted (copied from there if met again). */
  private lastBuf: Buffer | null = null;
  private lastAt = 0;

  /** @param chunkSize bytes per buffer (at least 1; tests use tiny sizes to split every token). */
  constructor(readonly chunkSize = JSON_CHUNK_BYTES) {
    if (!(chunkSize >= 1)) throw new RangeError(`chunk size ${chunkSize} must be at least 1`);
    this.buf = ownBuffer(chunkSize);
  }

  /** The filled buffers so far (handed over: the writer keeps no reference to them). */
  take(): Buffer[] {
    return this.filled.splice(0);
  }

  /** Every byte written so far, filled buffers first, then the partly filled one; the writer is emptied. */
  end(): Buffer[] {
    if (this.pos > 0) this.next();
    return this.take();
  }

  /** Bytes written and not yet handed over by {@link take} or {@link end}. */
  get pending(): number {
    let n = this.pos;
    for (const b of this.filled) n += b.length;
    return n;
  }

  /** Keeps the current buffer's written part and starts a new buffer (a recycled one if any). */
  private next(): void {
    this.filled.push(this.buf.subarray(0, this.pos));
    this.buf = this.free.pop() ?? ownBuffer(this.chunkSize);
    this.pos = 0;
  }

  /**
   * Gives back a buffer handed out by {@link take} or {@link end} that its consumer is done with, to be
   * written over by a later chunk instead of allocating a new one. Only whole buffers of this writer's
   * own (chunks of `chunkSize` bytes with their own memory) are kept, at most {@link MAX_FREE}; anything
   * else is ignored. Without it every 1 MiB chunk is fresh memory outside V8's heap that stays
   * allocated until a garbage collection notices it is unreachable (tens of MB for a large report).
   */
  recycle(chunk: Uint8Array): void {
    const size = this.chunkSize;
    if (this.free.length >= MAX_FREE || chunk.byteOffset !== 0 || chunk.buffer.byteLength !== size) return;
    const b = Buffer.from(chunk.buffer, 0, size);
    if (b.buffer === this.buf.buffer || this.free.some((f) => f.buffer === b.buffer)) return;
    this.free.push(b);
  }

  /** One byte. */
  byte(c: number): void {
    if (this.pos === this.buf.length) this.next();
    this.buf[this.pos++] = c;
  }

  /** Bytes (copied). */
  bytes(b: Uint8Array): void {
    let buf = this.buf;
    let pos = this.pos;
    const n = b.length;
    if (n <= buf.length - pos) {
      // A copy loop is faster for a few bytes, `set` (a native copy) from about 16 on.
      if (n <= 16) {
        for (let i = 0; i < n; i++) buf[pos++] = b[i] as number;
        this.pos = pos;
      } else {
        buf.set(b, pos);
        this.pos = pos + n;
      }
      return;
    }
    let i = 0;
    while (i < n) {
      if (pos === buf.length) {
        this.pos = pos;
        this.next();
        buf = this.buf;
        pos = 0;
      }
      const k = Math.min(n - i, buf.length - pos);
      buf.set(b.subarray(i, i + k), pos);
      pos += k;
      i += k;
    }
    this.pos = pos;
  }

  /** `\n` and `2 * depth` spaces. */
  newline(depth: number): void {
    const buf = this.buf;
    let pos = this.pos;
    if (pos + 1 + 2 * depth > buf.length) {
      this.byte(NEWLINE);
      for (let i = 2 * depth; i > 0; i--) this.byte(SPACE);
      return;
    }
    buf[pos++] = NEWLINE;
    for (let i = 2 * depth; i > 0; i--) buf[pos++] = SPACE;
    this.pos = pos;
  }

  /** Text that is already JSON (any string; well-formed UTF-16 unless meant to be replaced), as UTF-8. */
  text(s: string): void {
    let buf = this.buf;
    let pos = this.pos;
    const n = s.length;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      if (pos === buf.length) {
        this.pos = pos;
        this.next();
        buf = this.buf;
        pos = 0;
      }
      buf[pos++] = c;
    }
    this.pos = pos;
    if (i < n) this.utf8(i === 0 ? s : s.slice(i));
  }

  /** A string as UTF-8 (non-ASCII text: the slow path of {@link text} and {@link string}). */
  private utf8(s: string): void {
    const room = this.buf.length - this.pos;
    if (s.length * 3 <= room) {
      this.pos += this.buf.write(s, this.pos, "utf8");
      return;
    }
    this.bytes(Buffer.from(s, "utf8"));
  }

  /** A string value as `JSON.stringify` writes it: quoted and escaped. */
  string(s: string): void {
    const n = s.length;
    const buf = this.buf;
    const pos = this.pos;
    if (n + 2 <= buf.length - pos) {
      if (n <= SHORT_STRING) {
        // Short (roles, kinds, names): copied while checked, no native call.
        let p = pos;
        buf[p++] = QUOTE;
        let i = 0;
        for (; i < n; i++) {
          const c = s.charCodeAt(i);
          if (c < SPACE || c > 0x7e || c === QUOTE || c === BACKSLASH) break;
          buf[p++] = c;
        }
        if (i === n) {
          buf[p] = QUOTE;
          this.pos = p + 1;
          return;
        }
      } else if (s === this.lastPlain && this.lastBuf === buf) {
        // Written before into this buffer (a file's URI right after its stored pointer): copied.
        buf.copyWithin(pos, this.lastAt, this.lastAt + n + 2);
        this.pos = pos + n + 2;
        return;
      } else if (PLAIN_ASCII.test(s)) {
        // Plain ASCII (file URIs, names, ids): its Latin-1 bytes between quotes.
        this.lastPlain = s;
        this.lastBuf = buf;
        this.lastAt = pos;
        buf[pos] = QUOTE;
        const end = pos + 1 + (buf as LatinWritable).latin1Write(s, pos + 1);
        buf[end] = QUOTE;
        this.pos = end + 1;
        return;
      }
    }
    this.escaped(s);
  }

  /** {@link string} for strings that need escaping or do not fit the buffer: any split, any character. */
  private escaped(s: string): void {
    this.byte(QUOTE);
    let buf = this.buf;
    let p = this.pos;
    const n = s.length;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < SPACE || c > 0x7e || c === QUOTE || c === BACKSLASH) break;
      if (p === buf.length) {
        this.pos = p;
        this.next();
        buf = this.buf;
        p = 0;
      }
      buf[p++] = c;
    }
    this.pos = p;
    if (i < n) {
      // From the first character that is not plain ASCII (never the second half of a surrogate pair).
      const rest = i === 0 ? s : s.slice(i);
      this.utf8(PLAIN_STRING.test(rest) ? rest : JSON.stringify(rest).slice(1, -1));
    }
    this.byte(QUOTE);
  }

  /** A number as `JSON.stringify` writes it (`null` when not finite). */
  number(v: number): void {
    if (v >= 0 && v <= 0xffffffff && Math.floor(v) === v) this.digits(v);
    else if (Number.isFinite(v)) this.text(String(v));
    else this.bytes(NULL);
  }

  /** The decimal digits of an integer in [0, 2^53), as `String(v)` writes them (-0 as `0`). */
  private digits(v: number): void {
    let len = 1;
    while (len < 16 && v >= (POWERS_OF_TEN[len] as number)) len++;
    if (len > this.buf.length - this.pos) {
      this.text(String(v));
      return;
    }
    const buf = this.buf;
    let p = this.pos + len;
    this.pos = p;
    for (; v >= 0x80000000; v = Math.floor(v / 10)) buf[--p] = 0x30 + (v % 10);
    // Below 2^31: 32-bit integer arithmetic.
    do {
      const q = (v / 10) | 0;
      buf[--p] = 0x30 + (v - q * 10);
      v = q;
    } while (v > 0);
  }

  /** A `bigint` as {@link jsonReplacer} has `JSON.stringify` write it: its decimal digits, quoted. */
  bigint(v: bigint): void {
    this.byte(QUOTE);
    this.bigintDigits(v);
    this.byte(QUOTE);
  }

  /** The decimal digits of a `bigint` (with `-` when negative), unquoted: `v.toString()`. */
  bigintDigits(v: bigint): void {
    // A safe integer `Number(v)` is `v` exactly (a larger `v` never rounds to a safe integer).
    const n = Number(v);
    if (n >= 0 && Number.isSafeInteger(n)) this.digits(n);
    else this.text(v.toString());
  }

  /** `true` or `false`. */
  boolean(v: boolean): void {
    this.bytes(v ? TRUE : FALSE);
  }

  /**
   * Writes `value` as it sits `depth` levels deep (its inner lines indented by `2 * (depth + 1)`
   * spaces); false (nothing written) where `JSON.stringify` writes nothing (undefined, functions,
   * symbols). Plain objects (prototype `Object.prototype` or null) and arrays are written here; other
   * objects (class instances, typed arrays, objects with `toJSON`) by `JSON.stringify`, re-indented.
   */
  value(value: unknown, depth: number): boolean {
    switch (typeof value) {
      case "string":
        this.string(value);
        return true;
      case "number":
        this.number(value);
        return true;
      case "boolean":
        this.bytes(value ? TRUE : FALSE);
        return true;
      case "bigint":
        this.bigint(value);
        return true;
      case "object":
        if (value === null) {
          this.bytes(NULL);
          return true;
        }
        if (Array.isArray(value)) {
          this.array(value, depth);
          return true;
        }
        if (isPlainObject(value)) {
          this.object(value as Record<string, unknown>, depth);
          return true;
        }
        return this.native(value, depth);
      default:
        return false; // undefined, function, symbol
    }
  }

  private array(a: readonly unknown[], depth: number): void {
    if (a.length === 0) {
      this.byte(0x5b);
      this.byte(0x5d);
      return;
    }
    this.byte(0x5b);
    for (let i = 0; i < a.length; i++) {
      if (i > 0) this.byte(0x2c);
      this.newline(depth + 1);
      if (!this.value(a[i], depth + 1)) this.bytes(NULL);
    }
    this.newline(depth);
    this.byte(0x5d);
  }

  private object(o: Record<string, unknown>, depth: number): void {
    let first = true;
    this.byte(0x7b);
    for (const k of Object.keys(o)) {
      const v = o[k];
      if (v === undefined || typeof v === "function" || typeof v === "symbol") continue;
      if (!first) this.byte(0x2c);
      first = false;
      this.bytes(keyLine(depth + 1, k));
      this.value(v, depth + 1);
    }
    if (!first) this.newline(depth);
    this.byte(0x7d);
  }

  /** A value that is not plain data: `JSON.stringify` writes it (toJSON, replacer), re-indented to `depth`. */
  private native(value: object, depth: number): boolean {
    if (value instanceof LaterJson) return this.value(value.get(), depth);
    if (value instanceof WrittenJson) {
      value.write(this, depth);
      return true;
    }
    if (value instanceof StreamedJsonArray) {
      this.array([...value.items], depth);
      return true;
    }
    const text = JSON.stringify(value, jsonReplacer, 2) as string | undefined;
    if (text === undefined) return false;
    this.text(depth === 0 ? text : text.replace(/\n/g, `\n${"  ".repeat(depth)}`));
    return true;
  }
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return (
    (proto === Object.prototype || proto === null) &&
    typeof (value as { toJSON?: unknown }).toJSON !== "function"
  );
}

/**
 * The pretty-printed JSON text of `value` as `JSON.stringify(value, jsonReplacer, 2)` writes it when
 * `value` sits `depth` levels deep (its inner lines indented by `2 * (depth + 1)` spaces), or
 * undefined where `JSON.stringify` writes nothing (undefined, functions, symbols).
 */
export function serializeJson(value: unknown, depth: number): string | undefined {
  const w = new JsonByteWriter(4096);
  if (!w.value(value, depth)) return undefined;
  return Buffer.concat(w.end()).toString("utf8");
}

/**
 * The pretty-printed JSON of `data` (2-space indent, newline-terminated) as UTF-8 bytes, in chunks of
 * `chunkSize` bytes (the last one shorter; a chunk may end inside a token or a UTF-8 sequence).
 * Same bytes as `JSON.stringify(data, jsonReplacer, 2) + "\n"` (`toJSON` methods included; no cycles:
 * a cycle overflows the stack), with {@link LaterJson} and {@link StreamedJsonArray} written as their
 * value and elements, and a {@link WrittenJson} as it writes itself (handed out whole, like a value
 * at depth {@link WALK_DEPTH}).
 * The top levels are walked, and the chunks filled so far handed out after each value at
 * depth {@link WALK_DEPTH} (serialised whole), so at most one such value is held beyond a chunk.
 * Each chunk is a new buffer the caller may keep (e.g. queued in a stream), unless `reuse`: then a
 * chunk's memory is written over once the next chunk is asked for, so the caller must be done with it
 * by then (e.g. it awaited the write of that chunk to a file or to a stream drained below its mark).
 */
export function* jsonByteChunks(
  data: unknown,
  chunkSize = JSON_CHUNK_BYTES,
  options?: { reuse?: boolean },
): Generator<Uint8Array> {
  const w = new JsonByteWriter(chunkSize);
  if (!options?.reuse) {
    yield* chunksOf(w, data);
    return;
  }
  for (const chunk of chunksOf(w, data)) {
    yield chunk;
    w.recycle(chunk);
  }
}

/** The chunks of {@link jsonByteChunks} from writer `w`. */
function* chunksOf(w: JsonByteWriter, data: unknown): Generator<Uint8Array> {
  function* write(value: unknown, depth: number, key: string): Generator<Uint8Array> {
    if (value instanceof LaterJson) {
      yield* write(value.get(), depth, key);
      return;
    }
    if (value instanceof WrittenJson) {
      value.write(w, depth);
      yield* w.take();
      return;
    }
    if (value instanceof StreamedJsonArray) {
      let n = 0;
      for (const item of value.items) {
        w.byte(n === 0 ? 0x5b : 0x2c);
        w.newline(depth + 1);
        yield* write(item, depth + 1, String(n++));
      }
      if (n === 0) w.byte(0x5b);
      else w.newline(depth);
      w.byte(0x5d);
      return;
    }
    const v = jsonReplacer(key, toJsonOf(value, key));
    if (v === null || typeof v !== "object" || depth >= WALK_DEPTH) {
      if (!w.value(v, depth)) w.bytes(NULL);
      yield* w.take();
      return;
    }
    if (Array.isArray(v)) {
      if (v.length === 0) {
        w.byte(0x5b);
        w.byte(0x5d);
        return;
      }
      for (let i = 0; i < v.length; i++) {
        w.byte(i === 0 ? 0x5b : 0x2c);
        w.newline(depth + 1);
        yield* write(v[i], depth + 1, String(i));
      }
      w.newline(depth);
      w.byte(0x5d);
      return;
    }
    let first = true;
    for (const [k, raw] of Object.entries(v)) {
      const item = jsonReplacer(k, toJsonOf(raw, k));
      if (item === undefined || typeof item === "function" || typeof item === "symbol") continue;
      w.byte(first ? 0x7b : 0x2c);
      first = false;
      w.newline(depth + 1);
      w.bytes(keyBytes(k));
      yield* write(item, depth + 1, k);
    }
    if (first) w.byte(0x7b);
    else w.newline(depth);
    w.byte(0x7d);
  }
  yield* write(data, 0, "");
  w.byte(NEWLINE);
  yield* w.end();
}

/**
 * {@link jsonByteChunks} as text: the same JSON in chunks of about `chunkSize` bytes' worth of
 * characters (a UTF-8 sequence split between two byte chunks is decoded whole in the later one).
 */
export function* jsonChunks(data: unknown, chunkSize = 64 * 1024): Generator<string> {
  const decoder = new StringDecoder("utf8");
  for (const chunk of jsonByteChunks(data, chunkSize)) {
    const s = decoder.write(chunk as Buffer);
    if (s) yield s;
  }
  const rest = decoder.end();
  if (rest) yield rest;
}

/** What `JSON.stringify` serialises for `value` under `key`: the result of its `toJSON(key)`, if any. */
function toJsonOf(value: unknown, key: string): unknown {
  if (typeof value === "object" && value !== null) {
    const f = (value as { toJSON?: unknown }).toJSON;
    if (typeof f === "function") return f.call(value, key);
  }
  return value;
}
