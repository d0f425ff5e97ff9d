/**
 * A small Avro binary decoder/encoder driven by a writer schema, for Flink's `AvroSerializer`
 * (flink-avro), which writes each value as one raw Avro binary datum (no header, no length) with the
 * schema stored in its `AvroSerializerSnapshot`.
 *
 * Follows the Avro 1.11 specification, "Binary Encoding": zig-zag varint int/long, little-endian
 * float/double, length-prefixed bytes/string (UTF-8), records field by field, enums as an index,
 * arrays and maps in blocks (a negative count is followed by the block's byte size), unions as a
 * branch index then the value, fixed as raw bytes. Logical types decode as their underlying type.
 * Longs decode to `bigint`, bytes/fixed to `Uint8Array`, maps to objects, enums to symbol names.
 */

import { InvalidArgumentError } from "../../../errors.js";
import type { DataInput } from "../../io/data-input.js";
import type { DataOutput } from "../../io/data-output.js";
import type { StateValue, TypeSerializer } from "./types.js";

type Schema = string | Schema[] | { [k: string]: unknown };

interface Ctx {
  named: Map<string, { [k: string]: unknown }>;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const utf8enc = new TextEncoder();

function readVarLong(i: DataInput): bigint {
  let shift = 0n;
  let v = 0n;
  for (;;) {
    const b = i.readUnsignedByte();
    v |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) break;
    shift += 7n;
    if (shift > 63n) throw i.corrupt("Avro varint longer than 10 bytes");
  }
  return (v >> 1n) ^ -(v & 1n);
}

function writeVarLong(o: DataOutput, x: bigint): void {
  let v = BigInt.asUintN(64, (x << 1n) ^ (x >> 63n));
  while (v >= 0x80n) {
    o.writeByte(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  o.writeByte(Number(v));
}

function fullName(name: string, ns: string | undefined): string {
  return name.includes(".") || !ns ? name : `${ns}.${name}`;
}

function collect(schema: Schema, ns: string | undefined, ctx: Ctx): void {
  if (Array.isArray(schema)) {
    for (const s of schema) collect(s, ns, ctx);
    return;
  }
  if (typeof schema !== "object" || schema === null) return;
  const t = schema.type;
  if (t === "record" || t === "error" || t === "enum" || t === "fixed") {
    const name = fullName(String(schema.name), (schema.namespace as string | undefined) ?? ns);
    ctx.named.set(name, schema);
    const inner = name.includes(".") ? name.slice(0, name.lastIndexOf(".")) : undefined;
    if (t !== "enum" && t !== "fixed") {
      for (const f of (schema.fields as { type: Schema }[]) ?? []) collect(f.type, inner, ctx);
    }
    return;
  }
  if (t === "array") collect(schema.items as Schema, ns, ctx);
  else if (t === "map") collect(schema.values as Schema, ns, ctx);
  else if (typeof t === "object") collect(t as Schema, ns, ctx);
}

function resolve(schema: Schema, ns: string | undefined, ctx: Ctx): Schema {
  if (typeof schema === "string") {
    const prim = ["null", "boolean", "int", "long", "float", "double", "bytes", "string"];
    if (prim.includes(schema)) return schema;
    const named = ctx.named.get(fullName(schema, ns)) ?? ctx.named.get(schema);
    if (!named) throw new InvalidArgumentError(`Avro schema: unknown type ${schema}`);
    return named;
  }
  return schema;
}

function typeOf(s: Schema): string {
  if (typeof s === "string") return s;
  if (Array.isArray(s)) return "union";
  const t = s.type;
  return typeof t === "string" ? t : "wrapped";
}

function read(schema: Schema, i: DataInput, ns: string | undefined, ctx: Ctx): StateValue {
  const s = resolve(schema, ns, ctx);
  switch (typeOf(s)) {
    case "null":
      return null;
    case "boolean":
      return i.readBoolean();
    case "int":
      return Number(readVarLong(i));
    case "long":
      return readVarLong(i);
    case "float": {
      const b = i.readFully(4, "Avro float");
      return new DataView(b.buffer, b.byteOffset, 4).getFloat32(0, true);
    }
    case "double": {
      const b = i.readFully(8, "Avro double");
      return new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, true);
    }
    case "bytes":
      return i.readFully(lengthOf(i), "Avro bytes").slice();
    case "string": {
      const b = i.readFully(lengthOf(i), "Avro string");
      try {
        return utf8.decode(b);
      } catch {
        throw i.corrupt("Avro string is not UTF-8");
      }
    }
    case "union": {
      const branches = s as Schema[];
      const at = i.position;
      const k = Number(readVarLong(i));
      const b = branches[k];
      if (b === undefined) throw i.corrupt(`Avro union branch ${k} of ${branches.length}`, at);
      return read(b, i, ns, ctx);
    }
    case "wrapped":
      return read((s as { type: Schema }).type, i, ns, ctx);
    default:
      break;
  }
  const o = s as { [k: string]: unknown };
  const inner = o.name ? fullNs(String(o.name), (o.namespace as string | undefined) ?? ns) : ns;
  switch (o.type) {
    case "record":
    case "error": {
      const out: { [k: string]: StateValue } = {};
      for (const f of o.fields as { name: string; type: Schema }[]) out[f.name] = read(f.type, i, inner, ctx);
      return out;
    }
    case "enum": {
      const at = i.position;
      const k = Number(readVarLong(i));
      const symbols = o.symbols as string[];
      const sym = symbols[k];
      if (sym === undefined) throw i.corrupt(`Avro enum index ${k} of ${symbols.length}`, at);
      return sym;
    }
    case "fixed":
      return i.readFully(Number(o.size), "Avro fixed").slice();
    case "array": {
      const out: StateValue[] = [];
      blocks(i, () => out.push(read(o.items as Schema, i, ns, ctx)));
      return out;
    }
    case "map": {
      const out: { [k: string]: StateValue } = {};
      blocks(i, () => {
        const key = read("string", i, ns, ctx) as string;
        out[key] = read(o.values as Schema, i, ns, ctx);
      });
      return out;
    }
    default:
      throw new InvalidArgumentError(`Avro schema: unsupported type ${String(o.type)}`);
  }
}

function fullNs(name: string, ns: string | undefined): string | undefined {
  const full = fullName(name, ns);
  return full.includes(".") ? full.slice(0, full.lastIndexOf(".")) : undefined;
}

function lengthOf(i: DataInput): number {
  const at = i.position;
  const n = readVarLong(i);
  if (n < 0n || n > 0x7fffffffn) throw i.corrupt(`Avro length ${n}`, at);
  return Number(n);
}

function blocks(i: DataInput, item: () => void): void {
  for (;;) {
    const at = i.position;
    let n = readVarLong(i);
    if (n === 0n) return;
    if (n < 0n) {
      n = -n;
      readVarLong(i); // block size in bytes
    }
    if (n > 0x7fffffffn) throw i.corrupt(`Avro block count ${n}`, at);
    for (let k = 0; k < Number(n); k++) item();
  }
}

function write(schema: Schema, o: DataOutput, v: StateValue, ns: string | undefined, ctx: Ctx): void {
  const s = resolve(schema, ns, ctx);
  const t = typeOf(s);
  const fail = (): never => {
    throw new InvalidArgumentError(`Avro: cannot write ${typeof v} as ${t}`);
  };
  switch (t) {
    case "null":
      return;
    case "boolean":
      o.writeBoolean(v === true);
      return;
    case "int":
    case "long":
      if (typeof v !== "number" && typeof v !== "bigint") fail();
      writeVarLong(o, BigInt(v as number | bigint));
      return;
    case "float": {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setFloat32(0, Number(v), true);
      o.write(b);
      return;
    }
    case "double": {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setFloat64(0, Number(v), true);
      o.write(b);
      return;
    }
    case "bytes": {
      if (!(v instanceof Uint8Array)) fail();
      writeVarLong(o, BigInt((v as Uint8Array).length));
      o.write(v as Uint8Array);
      return;
    }
    case "string": {
      if (typeof v !== "string") fail();
      const b = utf8enc.encode(v as string);
      writeVarLong(o, BigInt(b.length));
      o.write(b);
      return;
    }
    case "union": {
      const branches = s as Schema[];
      const k = v === null ? branches.indexOf("null") : branches.findIndex((b) => b !== "null");
      if (k < 0) fail();
      writeVarLong(o, BigInt(k));
      write(branches[k] as Schema, o, v, ns, ctx);
      return;
    }
    case "wrapped":
      write((s as { type: Schema }).type, o, v, ns, ctx);
      return;
    default:
      break;
  }
  const obj = s as { [k: string]: unknown };
  const inner = obj.name ? fullNs(String(obj.name), (obj.namespace as string | undefined) ?? ns) : ns;
  switch (obj.type) {
    case "record":
    case "error": {
      const r = v as { [k: string]: StateValue };
      for (const f of obj.fields as { name: string; type: Schema }[])
        write(f.type, o, r[f.name] ?? null, inner, ctx);
      return;
    }
    case "enum":
      writeVarLong(o, BigInt((obj.symbols as string[]).indexOf(String(v))));
      return;
    case "fixed":
      o.write(v as Uint8Array);
      return;
    case "array": {
      const a = v as StateValue[];
      if (a.length > 0) {
        writeVarLong(o, BigInt(a.length));
        for (const x of a) write(obj.items as Schema, o, x, ns, ctx);
      }
      writeVarLong(o, 0n);
      return;
    }
    case "map": {
      const m = Object.entries(v as { [k: string]: StateValue });
      if (m.length > 0) {
        writeVarLong(o, BigInt(m.length));
        for (const [k, x] of m) {
          write("string", o, k, ns, ctx);
          write(obj.values as Schema, o, x, ns, ctx);
        }
      }
      writeVarLong(o, 0n);
      return;
    }
    default:
      throw new InvalidArgumentError(`Avro schema: unsupported type ${String(obj.type)}`);
  }
}

/**
 * The value decoder of Flink's `AvroSerializer` for a writer schema (JSON text).
 * @throws InvalidArgumentError when the schema is not JSON or uses an unknown named type.
 */
export function avroSerializer(schemaJson: string, runtimeClass: string | null): TypeSerializer {
  let schema: Schema;
  try {
    schema = JSON.parse(schemaJson) as Schema;
  } catch (err) {
    throw new InvalidArgumentError(`Avro schema in the snapshot is not JSON: ${(err as Error).message}`);
  }
  const ctx: Ctx = { named: new Map() };
  collect(schema, undefined, ctx);
  const name =
    typeof schema === "object" && !Array.isArray(schema) && schema.name
      ? String(schema.name)
      : (runtimeClass ?? typeOf(schema));
  return {
    type: `Avro<${name.slice(name.lastIndexOf(".") + 1)}>`,
    length: -1,
    read: (i) => read(schema, i, undefined, ctx),
    write: (o, v) => write(schema, o, v, undefined, ctx),
  };
}
