/**
 * JSON output of the CLI: `bigint` values (Java longs: ids, byte counts, offsets) become decimal
 * strings, so no precision is lost; `Uint8Array`s become base64.
 */

/** `JSON.stringify` replacer for savepoint-kit data. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
  return value;
}

/** Serialises savepoint-kit data to JSON text (pretty-printed, newline-terminated). */
export function toJson(data: unknown): string {
  return `${JSON.stringify(data, jsonReplacer, 2)}\n`;
}
