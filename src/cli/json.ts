/**
 * JSON output of the CLI: `bigint` values (Java longs: ids, byte counts, offsets) become decimal
 * strings, so no precision is lost; `Uint8Array`s become base64.
 *
 * {@link jsonChunks} writes the same text as `JSON.stringify(value, jsonReplacer, 2)` in chunks, so
 * that a report with millions of entries (an inspect of a 100 MB `_metadata`) is never one giant
 * string in memory. Our own (about 50 lines): the npm streaming stringifiers are async-only or
 * unmaintained, and this one is checked against `JSON.stringify` in tests.
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

const CHUNK = 64 * 1024;

/** Below this depth values are walked; at it, each value is one native `JSON.stringify` call. */
const WALK_DEPTH = 4;

/**
 * The pretty-printed JSON of `data` (2-space indent, newline-terminated) in chunks of about 64 KiB.
 * Same text as `JSON.stringify(data, jsonReplacer, 2) + "\n"` for plain data (no `toJSON` methods,
 * no cycles; {@link LaterJson} and {@link StreamedJsonArray} are written as their value and elements).
 * The top levels are walked so that no chunk holds more than one deep value; deeper values
 * are stringified natively (fast) and re-indented.
 */
export function* jsonChunks(data: unknown): Generator<string> {
  let buf = "";
  function* write(value: unknown, indent: string, depth: number): Generator<string> {
    if (value instanceof LaterJson) {
      yield* write(value.get(), indent, depth);
      return;
    }
    if (value instanceof StreamedJsonArray) {
      const inner = `${indent}  `;
      let n = 0;
      for (const item of value.items) {
        buf += `${n++ === 0 ? "[" : ","}\n${inner}`;
        yield* write(item, inner, depth + 1);
      }
      buf += n === 0 ? "[]" : `\n${indent}]`;
      return;
    }
    const v = jsonReplacer("", value);
    if (v === null || typeof v !== "object" || depth >= WALK_DEPTH) {
      const text = JSON.stringify(v, jsonReplacer, 2);
      buf += text === undefined ? "null" : indent === "" ? text : text.replace(/\n/g, `\n${indent}`);
      if (buf.length >= CHUNK) {
        yield buf;
        buf = "";
      }
      return;
    }
    const inner = `${indent}  `;
    if (Array.isArray(v)) {
      if (v.length === 0) {
        buf += "[]";
        return;
      }
      buf += "[";
      for (let i = 0; i < v.length; i++) {
        buf += `${i === 0 ? "" : ","}\n${inner}`;
        yield* write(v[i], inner, depth + 1);
      }
      buf += `\n${indent}]`;
      return;
    }
    let first = true;
    for (const [k, raw] of Object.entries(v)) {
      const item = jsonReplacer(k, raw);
      if (item === undefined || typeof item === "function" || typeof item === "symbol") continue;
      buf += `${first ? "{" : ","}\n${inner}${JSON.stringify(k)}: `;
      first = false;
      yield* write(item, inner, depth + 1);
    }
    buf += first ? "{}" : `\n${indent}}`;
  }
  yield* write(data, "", 0);
  buf += "\n";
  yield buf;
}
