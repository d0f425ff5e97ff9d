/**
 * JSON output of the CLI: `bigint` values (Java longs: ids, byte counts, offsets) become decimal
 * strings, so no precision is lost; `Uint8Array`s become base64.
 *
 * {@link jsonChunks} writes the same text as `JSON.stringify(value, jsonReplacer, 2)` in chunks, so
 * that a report with millions of entries (an inspect of a 100 MB `_metadata`) is never one giant
 * string in memory. Our own (about 270 lines): the npm streaming stringifiers are async-only or
 * unmaintained, and this one is checked against `JSON.stringify` in tests.
 *
 * Speed: an inspect of a 108 MB `_metadata` writes 370 MB of this text, so plain data is written by a
 * hand-written serializer ({@link appendJson}) that concatenates the pretty-printed text directly: no
 * replacer calls and no re-indentation; `JSON.stringify` is kept only for strings that need escaping
 * ({@link quoteJsonString}) and for values that are not plain data.
 */

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

/** Characters (UTF-16 code units) after which {@link jsonChunks} hands out a chunk. */
const CHUNK = 64 * 1024;

/** Below this depth values are walked (with chunk boundaries); at it, each value is serialised whole. */
const WALK_DEPTH = 4;

/**
 * A string that `JSON.stringify` writes as its characters between two quotes: no `"`, no `\`, no
 * control character below U+0020 and no UTF-16 surrogate (a lone surrogate is escaped as `\udxxx`
 * by the well-formed `JSON.stringify` of ES2019; pairs are not, but the slow path handles both).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what is matched
const PLAIN_STRING = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;

/** The last string {@link quoteJsonString} quoted, and its text. */
let lastString = "";
let lastQuoted = '""';

/**
 * `JSON.stringify(s)` for a string `s`: the quoted, escaped JSON string literal. Strings with nothing
 * to escape (file URIs, names) take a fast path of one regular-expression test; a string equal to the
 * previous one (a file's `stored` pointer and its `uri`, usually the same string) none.
 */
export function quoteJsonString(s: string): string {
  if (s === lastString) return lastQuoted;
  lastString = s;
  lastQuoted = PLAIN_STRING.test(s) ? `"${s}"` : JSON.stringify(s);
  return lastQuoted;
}

/** `"\n" + "  ".repeat(depth)`, by depth. */
const NEWLINE_INDENT: string[] = [];
function newlineIndent(depth: number): string {
  let s = NEWLINE_INDENT[depth];
  if (s === undefined) {
    s = `\n${"  ".repeat(depth)}`;
    NEWLINE_INDENT[depth] = s;
  }
  return s;
}

/** Quoted object keys followed by `": "` (keys repeat: one entry per distinct key). */
const KEY_TEXT = new Map<string, string>();
function keyText(k: string): string {
  let s = KEY_TEXT.get(k);
  if (s === undefined) {
    s = `${quoteJsonString(k)}: `;
    if (KEY_TEXT.size < 10_000) KEY_TEXT.set(k, s);
  }
  return s;
}

/** Text being produced by {@link appendJson} (module state: {@link serializeJson} saves and restores it). */
let out = "";

/**
 * The pretty-printed JSON text of `value` as `JSON.stringify(value, jsonReplacer, 2)` writes it when
 * `value` sits `depth` levels deep (its inner lines indented by `2 * (depth + 1)` spaces), or
 * undefined where `JSON.stringify` writes nothing (undefined, functions, symbols).
 */
export function serializeJson(value: unknown, depth: number): string | undefined {
  const saved = out;
  out = "";
  try {
    return appendJson(value, depth) ? out : undefined;
  } finally {
    out = saved;
  }
}

/**
 * Appends the text of `value` to {@link out}; false (nothing appended) where `JSON.stringify` skips
 * the value. Plain objects (prototype `Object.prototype` or null) and arrays are written here; other
 * objects (class instances, typed arrays, objects with `toJSON`) by `JSON.stringify` itself, re-indented.
 */
function appendJson(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case "string":
      out += quoteJsonString(value);
      return true;
    case "number":
      out += Number.isFinite(value) ? String(value) : "null";
      return true;
    case "boolean":
      out += value ? "true" : "false";
      return true;
    case "bigint":
      out += `"${value}"`;
      return true;
    case "object":
      if (value === null) {
        out += "null";
        return true;
      }
      if (Array.isArray(value)) {
        appendArray(value, depth);
        return true;
      }
      if (isPlainObject(value)) {
        appendObject(value as Record<string, unknown>, depth);
        return true;
      }
      return appendNative(value, depth);
    default:
      return false; // undefined, function, symbol
  }
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return (
    (proto === Object.prototype || proto === null) &&
    typeof (value as { toJSON?: unknown }).toJSON !== "function"
  );
}

function appendArray(a: readonly unknown[], depth: number): void {
  if (a.length === 0) {
    out += "[]";
    return;
  }
  const inner = newlineIndent(depth + 1);
  for (let i = 0; i < a.length; i++) {
    out += i === 0 ? `[${inner}` : `,${inner}`;
    if (!appendJson(a[i], depth + 1)) out += "null";
  }
  out += `${newlineIndent(depth)}]`;
}

function appendObject(o: Record<string, unknown>, depth: number): void {
  const inner = newlineIndent(depth + 1);
  let first = true;
  for (const k of Object.keys(o)) {
    const v = o[k];
    if (v === undefined || typeof v === "function" || typeof v === "symbol") continue;
    out += first ? `{${inner}` : `,${inner}`;
    out += keyText(k);
    first = false;
    appendJson(v, depth + 1);
  }
  out += first ? "{}" : `${newlineIndent(depth)}}`;
}

/** A value that is not plain data: `JSON.stringify` writes it (toJSON, replacer), re-indented to `depth`. */
function appendNative(value: object, depth: number): boolean {
  if (value instanceof LaterJson) return appendJson(value.get(), depth);
  if (value instanceof StreamedJsonArray) {
    appendArray([...value.items], depth);
    return true;
  }
  const text = JSON.stringify(value, jsonReplacer, 2) as string | undefined;
  if (text === undefined) return false;
  out += depth === 0 ? text : text.replace(/\n/g, newlineIndent(depth));
  return true;
}

/**
 * The pretty-printed JSON of `data` (2-space indent, newline-terminated) in chunks of about 64 KiB.
 * Same text as `JSON.stringify(data, jsonReplacer, 2) + "\n"` (`toJSON` methods included; no cycles:
 * a cycle overflows the stack), with {@link LaterJson} and {@link StreamedJsonArray} written as their
 * value and elements.
 * The top levels are walked so that no chunk holds more than one deep value; deeper values are
 * serialised whole by {@link serializeJson}.
 */
export function* jsonChunks(data: unknown): Generator<string> {
  let buf = "";
  function* write(value: unknown, depth: number, key: string): Generator<string> {
    if (value instanceof LaterJson) {
      yield* write(value.get(), depth, key);
      return;
    }
    if (value instanceof StreamedJsonArray) {
      const inner = newlineIndent(depth + 1);
      let n = 0;
      for (const item of value.items) {
        buf += n === 0 ? `[${inner}` : `,${inner}`;
        yield* write(item, depth + 1, String(n++));
      }
      buf += n === 0 ? "[]" : `${newlineIndent(depth)}]`;
      return;
    }
    const v = jsonReplacer(key, toJsonOf(value, key));
    if (v === null || typeof v !== "object" || depth >= WALK_DEPTH) {
      buf += serializeJson(v, depth) ?? "null";
      if (buf.length >= CHUNK) {
        yield buf;
        buf = "";
      }
      return;
    }
    const inner = newlineIndent(depth + 1);
    if (Array.isArray(v)) {
      if (v.length === 0) {
        buf += "[]";
        return;
      }
      for (let i = 0; i < v.length; i++) {
        buf += i === 0 ? `[${inner}` : `,${inner}`;
        yield* write(v[i], depth + 1, String(i));
      }
      buf += `${newlineIndent(depth)}]`;
      return;
    }
    let first = true;
    for (const [k, raw] of Object.entries(v)) {
      const item = jsonReplacer(k, toJsonOf(raw, k));
      if (item === undefined || typeof item === "function" || typeof item === "symbol") continue;
      buf += `${first ? `{${inner}` : `,${inner}`}${keyText(k)}`;
      first = false;
      yield* write(item, depth + 1, k);
    }
    buf += first ? "{}" : `${newlineIndent(depth)}}`;
  }
  yield* write(data, 0, "");
  buf += "\n";
  yield buf;
}

/** What `JSON.stringify` serialises for `value` under `key`: the result of its `toJSON(key)`, if any. */
function toJsonOf(value: unknown, key: string): unknown {
  if (typeof value === "object" && value !== null) {
    const f = (value as { toJSON?: unknown }).toJSON;
    if (typeof f === "function") return f.call(value, key);
  }
  return value;
}
