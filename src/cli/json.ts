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

const CHUNK = 64 * 1024;

/**
 * The pretty-printed JSON of `data` (2-space indent, newline-terminated) in chunks of about 64 KiB.
 * Same text as `JSON.stringify(data, jsonReplacer, 2) + "\n"` for plain data (no `toJSON` methods,
 * no cycles).
 */
export function* jsonChunks(data: unknown): Generator<string> {
  let buf = "";
  function* flush(): Generator<string> {
    if (buf.length >= CHUNK) {
      yield buf;
      buf = "";
    }
  }
  function* write(value: unknown, indent: string): Generator<string> {
    const v = jsonReplacer("", value);
    if (v === null || typeof v !== "object") {
      buf += v === undefined || typeof v === "function" || typeof v === "symbol" ? "null" : JSON.stringify(v);
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
        yield* write(v[i], inner);
        yield* flush();
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
      yield* write(item, inner);
      yield* flush();
    }
    buf += first ? "{}" : `\n${indent}}`;
  }
  yield* write(data, "");
  buf += "\n";
  yield buf;
}
