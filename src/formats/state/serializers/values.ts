/**
 * Value decoders (and encoders) of Flink's built-in serializers, one per `TypeSerializer` class.
 * Each mirrors the `serialize`/`deserialize` pair of the Flink class named in its docstring; the
 * snapshot registry (`./snapshots.ts`) builds them from serializer snapshots.
 */

import { InvalidArgumentError } from "../../../errors.js";
import type { DataInput } from "../../io/data-input.js";
import type { DataOutput } from "../../io/data-output.js";
import { BufferInput } from "../stream.js";
import { type StateValue, type TypeSerializer, UnsupportedSerializerError } from "./types.js";

const HIGH_BIT = 0x80;

function bad(type: string, value: StateValue): never {
  throw new InvalidArgumentError(`cannot write ${describe(value)} as ${type}`);
}

function describe(v: StateValue): string {
  if (v === null) return "null";
  if (v instanceof Uint8Array) return "bytes";
  if (Array.isArray(v)) return "an array";
  return typeof v;
}

function asObject(type: string, v: StateValue): { [key: string]: StateValue } {
  if (v === null || typeof v !== "object" || Array.isArray(v) || v instanceof Uint8Array) bad(type, v);
  return v as { [key: string]: StateValue };
}

function asArray(type: string, v: StateValue): StateValue[] {
  if (!Array.isArray(v)) bad(type, v);
  return v;
}

function asNumber(type: string, v: StateValue): number {
  if (typeof v === "number") return v;
  if (v === "NaN") return Number.NaN;
  if (v === "Infinity") return Number.POSITIVE_INFINITY;
  if (v === "-Infinity") return Number.NEGATIVE_INFINITY;
  return bad(type, v);
}

function asBigint(type: string, v: StateValue): bigint {
  if (typeof v === "bigint") return v;
  if (typeof v === "number" && Number.isInteger(v)) return BigInt(v);
  if (typeof v === "string" && /^-?\d+$/.test(v)) return BigInt(v);
  return bad(type, v);
}

/** A float as a {@link StateValue}: non-finite values become strings, so JSON keeps them. */
function floatValue(x: number): StateValue {
  if (Number.isNaN(x)) return "NaN";
  if (x === Number.POSITIVE_INFINITY) return "Infinity";
  if (x === Number.NEGATIVE_INFINITY) return "-Infinity";
  return x;
}

function fixed(
  type: string,
  length: number,
  read: (i: DataInput) => StateValue,
  write: (o: DataOutput, v: StateValue) => void,
): TypeSerializer {
  return { type, length, read, write };
}

// ---------------------------------------------------------------------------------------------------
// Primitives: org.apache.flink.api.common.typeutils.base.*Serializer

/** `BooleanSerializer`: one byte. */
export const BOOLEAN = fixed(
  "Boolean",
  1,
  (i) => i.readBoolean(),
  (o, v) => {
    if (typeof v !== "boolean") bad("Boolean", v);
    o.writeBoolean(v);
  },
);
/** `ByteSerializer`: one signed byte. */
export const BYTE = fixed(
  "Byte",
  1,
  (i) => i.readByte(),
  (o, v) => o.writeByte(asNumber("Byte", v)),
);
/** `ShortSerializer`: two bytes big-endian. */
export const SHORT = fixed(
  "Short",
  2,
  (i) => i.readShort(),
  (o, v) => o.writeShort(asNumber("Short", v)),
);
/** `CharSerializer`: one UTF-16 code unit, as a one-character string. */
export const CHAR = fixed(
  "Char",
  2,
  (i) => String.fromCharCode(i.readChar()),
  (o, v) => {
    if (typeof v !== "string" || v.length !== 1) bad("Char", v);
    o.writeChar(v.charCodeAt(0));
  },
);
/** `IntSerializer`: four bytes big-endian. */
export const INT = fixed(
  "Integer",
  4,
  (i) => i.readInt(),
  (o, v) => o.writeInt(asNumber("Integer", v)),
);
/** `LongSerializer`: eight bytes big-endian, as `bigint`. */
export const LONG = fixed(
  "Long",
  8,
  (i) => i.readLong(),
  (o, v) => o.writeLong(asBigint("Long", v)),
);
/** `FloatSerializer`: IEEE 754 single. */
export const FLOAT = fixed(
  "Float",
  4,
  (i) => floatValue(i.readFloat()),
  (o, v) => o.writeFloat(asNumber("Float", v)),
);
/** `DoubleSerializer`: IEEE 754 double. */
export const DOUBLE = fixed(
  "Double",
  8,
  (i) => floatValue(i.readDouble()),
  (o, v) => o.writeDouble(asNumber("Double", v)),
);

/**
 * Flink's `StringValue.readString`: the length plus one as a base-128 varint (low bits first, high
 * bit = more), 0 for null; then each UTF-16 code unit as the same kind of varint.
 */
export function readStringValue(i: DataInput): string | null {
  let len = i.readUnsignedByte();
  if (len === 0) return null;
  if (len >= HIGH_BIT) {
    let shift = 7;
    len &= 0x7f;
    for (;;) {
      const curr = i.readUnsignedByte();
      if (shift > 28) throw i.corrupt("StringValue length varint longer than 5 bytes");
      if (curr < HIGH_BIT) {
        len |= curr << shift;
        break;
      }
      len |= (curr & 0x7f) << shift;
      shift += 7;
    }
    len >>>= 0;
  }
  len -= 1;
  if (len > i.remaining && !(i instanceof BufferInput && i.streaming)) {
    throw i.corrupt(`StringValue of ${len} characters cannot fit in the ${i.remaining} bytes left`);
  }
  // Characters 0x01..0x7F take a byte each: when the next `len` bytes are all such, they are the string.
  const ascii = i.readAsciiString(len, "StringValue");
  if (ascii !== null) return ascii;
  const units: number[] = [];
  let out = "";
  for (let k = 0; k < len; k++) {
    let c = i.readUnsignedByte();
    if (c >= HIGH_BIT) {
      let shift = 7;
      c &= 0x7f;
      for (;;) {
        const curr = i.readUnsignedByte();
        if (curr < HIGH_BIT) {
          c |= curr << shift;
          break;
        }
        c |= (curr & 0x7f) << shift;
        shift += 7;
        if (shift > 21) throw i.corrupt("StringValue character varint longer than 3 bytes");
      }
    }
    units.push(c & 0xffff);
    if (units.length === 4096) {
      out += String.fromCharCode(...units);
      units.length = 0;
    }
  }
  return out + String.fromCharCode(...units);
}

/** Flink's `StringValue.writeString` (see {@link readStringValue}). */
export function writeStringValue(o: DataOutput, s: string | null): void {
  if (s === null) {
    o.writeByte(0);
    return;
  }
  let len = s.length + 1;
  while (len >= HIGH_BIT) {
    o.writeByte((len & 0x7f) | HIGH_BIT);
    len >>>= 7;
  }
  o.writeByte(len);
  if (o.writeAsciiChars(s)) return;
  for (let k = 0; k < s.length; k++) {
    let c = s.charCodeAt(k);
    while (c >= HIGH_BIT) {
      o.writeByte((c & 0x7f) | HIGH_BIT);
      c >>>= 7;
    }
    o.writeByte(c);
  }
}

/** `StringSerializer`: {@link readStringValue}; null strings are allowed. */
export const STRING: TypeSerializer = {
  type: "String",
  length: -1,
  read: (i) => readStringValue(i),
  write: (o, v) => {
    if (v !== null && typeof v !== "string") bad("String", v);
    writeStringValue(o, v);
  },
};

// ---------------------------------------------------------------------------------------------------
// Arrays: org.apache.flink.api.common.typeutils.base.array.*

/** `BytePrimitiveArraySerializer`: i32 length, then the bytes. */
export const BYTE_ARRAY: TypeSerializer = {
  type: "byte[]",
  length: -1,
  read: (i) => {
    const at = i.position;
    const n = i.readInt();
    if (n < 0) throw i.corrupt(`negative byte[] length ${n}`, at);
    return i.readFully(n, "byte[]").slice();
  },
  write: (o, v) => {
    if (!(v instanceof Uint8Array)) bad("byte[]", v);
    o.writeInt(v.byteLength).write(v);
  },
};

/** A `<X>PrimitiveArraySerializer` (or `StringArraySerializer`): i32 length, then the elements. */
export function primitiveArray(element: TypeSerializer): TypeSerializer {
  const type = `${element.type.toLowerCase()}[]`;
  return {
    type,
    length: -1,
    read: (i) => {
      const n = i.readCount(`${type} length`, Math.max(1, element.length));
      const out: StateValue[] = [];
      for (let k = 0; k < n; k++) out.push(element.read(i));
      return out;
    },
    write: (o, v) => {
      const a = asArray(type, v);
      o.writeInt(a.length);
      for (const e of a) element.write(o, e);
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Namespaces and windows

/** `VoidNamespaceSerializer`: one zero byte; `getLength()` is 0. Decodes to null. */
export const VOID_NAMESPACE: TypeSerializer = {
  type: "VoidNamespace",
  length: 0,
  read: (i) => {
    i.readByte();
    return null;
  },
  write: (o) => {
    o.writeByte(0);
  },
};

/** `TimeWindow.Serializer`: i64 start, i64 end; `getLength()` is 0. Decodes to `{start, end}`. */
export const TIME_WINDOW: TypeSerializer = {
  type: "TimeWindow",
  length: 0,
  read: (i) => {
    const start = i.readLong();
    const end = i.readLong();
    return { start, end };
  },
  write: (o, v) => {
    const w = asObject("TimeWindow", v);
    o.writeLong(asBigint("TimeWindow.start", w.start ?? null)).writeLong(
      asBigint("TimeWindow.end", w.end ?? null),
    );
  },
};

/** `GlobalWindow.Serializer`: one zero byte; `getLength()` is 0. Decodes to the string `GlobalWindow`. */
export const GLOBAL_WINDOW: TypeSerializer = {
  type: "GlobalWindow",
  length: 0,
  read: (i) => {
    i.readByte();
    return "GlobalWindow";
  },
  write: (o) => {
    o.writeByte(0);
  },
};

// ---------------------------------------------------------------------------------------------------
// Composites

function requireDelimited(
  outer: string,
  children: readonly TypeSerializer[],
  lastMayBeOpaque: boolean,
): void {
  children.forEach((c, k) => {
    if (c.opaque && !(lastMayBeOpaque && k === children.length - 1)) {
      throw new UnsupportedSerializerError(
        `${outer}: its element type ${c.type} is not self-delimiting (Kryo or opaque bytes), so the ${outer} cannot be split`,
        { offset: 0, className: c.type },
      );
    }
  });
}

/** Wraps a composite so that a non-delimitable child fails when a value is read, not when built. */
function composite(
  type: string,
  length: number,
  children: readonly TypeSerializer[],
  lastMayBeOpaque: boolean,
  read: (i: DataInput) => StateValue,
  write: (o: DataOutput, v: StateValue) => void,
): TypeSerializer {
  const opaque = lastMayBeOpaque && children.length > 0 && children[children.length - 1]?.opaque === true;
  let checked = false;
  return {
    type,
    length,
    ...(opaque ? { opaque: true } : {}),
    read: (i) => {
      if (!checked) {
        requireDelimited(type, children, lastMayBeOpaque);
        checked = true;
      }
      return read(i);
    },
    write,
  };
}

/** `ListSerializer`: i32 size, then the elements (no null flags). */
export function listOf(element: TypeSerializer): TypeSerializer {
  const type = `List<${element.type}>`;
  return composite(
    type,
    -1,
    [element],
    false,
    (i) => {
      const n = i.readCount("list size", Math.max(1, element.length));
      const out: StateValue[] = [];
      for (let k = 0; k < n; k++) out.push(element.read(i));
      return out;
    },
    (o, v) => {
      const a = asArray(type, v);
      o.writeInt(a.length);
      for (const e of a) element.write(o, e);
    },
  );
}

/**
 * `MapSerializer`: i32 size, then per entry the key, a null flag (boolean) and the value when not
 * null. Decodes to a list of `{key, value}` (keys need not be strings).
 */
export function mapOf(key: TypeSerializer, value: TypeSerializer): TypeSerializer {
  const type = `Map<${key.type}, ${value.type}>`;
  return composite(
    type,
    -1,
    [key, value],
    false,
    (i) => {
      const n = i.readCount("map size", Math.max(1, key.length) + 1);
      const out: StateValue[] = [];
      for (let k = 0; k < n; k++) {
        const kv = key.read(i);
        const isNull = i.readBoolean();
        out.push({ key: kv, value: isNull ? null : value.read(i) });
      }
      return out;
    },
    (o, v) => {
      const a = asArray(type, v);
      o.writeInt(a.length);
      for (const e of a) {
        const entry = asObject(type, e);
        key.write(o, entry.key ?? null);
        const val = entry.value ?? null;
        o.writeBoolean(val === null);
        if (val !== null) value.write(o, val);
      }
    },
  );
}

/** `TupleSerializer`: the fields back to back. Decodes to `{f0, f1, ...}`. */
export function tupleOf(tupleClass: string, fields: readonly TypeSerializer[]): TypeSerializer {
  const simple = tupleClass.slice(tupleClass.lastIndexOf(".") + 1);
  const type = `${simple}<${fields.map((f) => f.type).join(", ")}>`;
  const length = fields.every((f) => f.length >= 0) ? fields.reduce((n, f) => n + f.length, 0) : -1;
  return composite(
    type,
    length,
    fields,
    true,
    (i) => {
      const out: { [k: string]: StateValue } = {};
      fields.forEach((f, k) => {
        out[`f${k}`] = f.read(i);
      });
      return out;
    },
    (o, v) => {
      const t = asObject(type, v);
      fields.forEach((f, k) => {
        f.write(o, t[`f${k}`] ?? null);
      });
    },
  );
}

/** Flink's `RowKind` by its byte value (`RowKind.toByteValue()`). */
export const ROW_KINDS = ["INSERT", "UPDATE_BEFORE", "UPDATE_AFTER", "DELETE"] as const;

/**
 * `RowSerializer` (`org.apache.flink.api.java.typeutils.runtime`): a bit mask packed 8 per byte, most
 * significant bit first (`MaskUtils`), holding (unless `legacy`) two RowKind bits (`kind & 1`,
 * `kind & 2`) then one "is null" bit per field; then the non-null fields. Decodes to
 * `{kind, fields: [...]}` (`kind` absent in the legacy layout of snapshots before outer version 3).
 */
export function rowOf(fields: readonly TypeSerializer[], legacy: boolean): TypeSerializer {
  const type = `Row<${fields.map((f) => f.type).join(", ")}>`;
  const offset = legacy ? 0 : 2;
  const bits = offset + fields.length;
  const bytes = Math.ceil(bits / 8);
  return composite(
    type,
    -1,
    fields,
    true,
    (i): StateValue => {
      const mask = i.readFully(bytes, "row null mask");
      const bit = (k: number) => ((mask[k >> 3] as number) & (0x80 >>> (k & 7))) !== 0;
      const values: StateValue[] = fields.map((f, k) => (bit(offset + k) ? null : f.read(i)));
      if (legacy) return { fields: values };
      const kind = (bit(0) ? 1 : 0) | (bit(1) ? 2 : 0);
      return { kind: ROW_KINDS[kind] as string, fields: values };
    },
    (o, v) => {
      const r = asObject(type, v);
      const values = asArray(type, r.fields ?? null);
      const mask = new Uint8Array(bytes);
      const set = (k: number) => {
        mask[k >> 3] = (mask[k >> 3] as number) | (0x80 >>> (k & 7));
      };
      if (!legacy) {
        const kind = ROW_KINDS.indexOf((r.kind ?? "INSERT") as (typeof ROW_KINDS)[number]);
        if (kind < 0) bad(`${type} kind`, r.kind ?? null);
        if (kind & 1) set(0);
        if (kind & 2) set(1);
      }
      fields.forEach((_, k) => {
        if ((values[k] ?? null) === null) set(offset + k);
      });
      o.write(mask);
      fields.forEach((f, k) => {
        const x = values[k] ?? null;
        if (x !== null) f.write(o, x);
      });
    },
  );
}

/**
 * `TtlStateFactory.TtlSerializer` (a `CompositeSerializer` of `TtlValue`): i64 last access
 * timestamp, then the user value. Decodes to `{value, lastAccessTimestamp}`.
 */
export function ttlOf(timestamp: TypeSerializer, value: TypeSerializer): TypeSerializer {
  const type = `TTL<${value.type}>`;
  const length = timestamp.length >= 0 && value.length >= 0 ? timestamp.length + value.length : -1;
  return composite(
    type,
    length,
    [timestamp, value],
    true,
    (i) => {
      const ts = timestamp.read(i);
      return { value: value.read(i), lastAccessTimestamp: ts };
    },
    (o, v) => {
      const t = asObject(type, v);
      timestamp.write(o, t.lastAccessTimestamp ?? null);
      value.write(o, t.value ?? null);
    },
  );
}

const SIGN_BIT = 1n << 63n;

/**
 * `TimerSerializer` (`org.apache.flink.streaming.api.operators`): i64 timestamp with its sign bit
 * flipped (so bytes sort like numbers), the key, the namespace. Decodes to
 * `{timestamp, key, namespace}`.
 */
export function timerOf(key: TypeSerializer, namespace: TypeSerializer): TypeSerializer {
  const type = `Timer<${key.type}, ${namespace.type}>`;
  const length = key.length >= 0 && namespace.length >= 0 ? 8 + key.length + namespace.length : -1;
  return composite(
    type,
    length,
    [key, namespace],
    false,
    (i) => {
      const timestamp = BigInt.asIntN(64, i.readLong() ^ SIGN_BIT);
      const k = key.read(i);
      return { timestamp, key: k, namespace: namespace.read(i) };
    },
    (o, v) => {
      const t = asObject(type, v);
      o.writeLong(BigInt.asIntN(64, asBigint("timestamp", t.timestamp ?? null) ^ SIGN_BIT));
      key.write(o, t.key ?? null);
      namespace.write(o, t.namespace ?? null);
    },
  );
}

/**
 * `GenericArraySerializer`: i32 length, then per element a null flag (boolean) and the element when not
 * null.
 */
export function genericArrayOf(componentClass: string, component: TypeSerializer): TypeSerializer {
  const type = `${componentClass.slice(componentClass.lastIndexOf(".") + 1)}[]`;
  return composite(
    type,
    -1,
    [component],
    false,
    (i) => {
      const n = i.readCount("array length", 1);
      const out: StateValue[] = [];
      for (let k = 0; k < n; k++) out.push(i.readBoolean() ? null : component.read(i));
      return out;
    },
    (o, v) => {
      const a = asArray(type, v);
      o.writeInt(a.length);
      for (const e of a) {
        o.writeBoolean(e === null);
        if (e !== null) component.write(o, e);
      }
    },
  );
}

/**
 * `NullableSerializer`: a boolean null flag, then the value (when not null) or, when the snapshot has a
 * null padding, that many padding bytes for null (so the length stays fixed).
 */
export function nullableOf(inner: TypeSerializer, paddingLength: number): TypeSerializer {
  const type = `Nullable<${inner.type}>`;
  const length = paddingLength > 0 && inner.length >= 0 ? 1 + inner.length : -1;
  return composite(
    type,
    length,
    [inner],
    true,
    (i) => {
      if (i.readBoolean()) {
        if (paddingLength > 0) i.skipBytes(paddingLength);
        return null;
      }
      return inner.read(i);
    },
    (o, v) => {
      o.writeBoolean(v === null);
      if (v === null) {
        if (paddingLength > 0) o.write(new Uint8Array(paddingLength));
      } else inner.write(o, v);
    },
  );
}

/** `EnumSerializer`: i32 ordinal into the constants recorded in the snapshot. Decodes to the name. */
export function enumOf(enumClass: string, constants: readonly string[]): TypeSerializer {
  const type = enumClass.slice(enumClass.lastIndexOf(".") + 1);
  return {
    type,
    length: 4,
    read: (i) => {
      const at = i.position;
      const ordinal = i.readInt();
      const name = constants[ordinal];
      if (name === undefined) {
        throw i.corrupt(
          `enum ${enumClass} ordinal ${ordinal} is not one of its ${constants.length} constants`,
          at,
        );
      }
      return name;
    },
    write: (o, v) => {
      const k = typeof v === "string" ? constants.indexOf(v) : -1;
      if (k < 0) bad(type, v);
      o.writeInt(k);
    },
  };
}

/** A POJO field as the snapshot names it, with its serializer (null: the field no longer exists). */
export interface PojoFieldSerializer {
  name: string;
  serializer: TypeSerializer | null;
}

const POJO_IS_NULL = 0x01;
const POJO_NO_SUBCLASS = 0x02;
const POJO_IS_SUBCLASS = 0x04;
const POJO_IS_TAGGED_SUBCLASS = 0x08;

/**
 * `PojoSerializer`: a flags byte (1 null, 2 exact class, 4 unregistered subclass followed by its class
 * name, 8 registered subclass followed by a tag byte); for the exact class, per field in snapshot
 * order a null flag (boolean) and the value. Subclass values are read with the subclass serializer
 * the snapshot recorded, when it did. Decodes to an object by field name (`@class` for subclasses).
 */
export function pojoOf(
  pojoClass: string,
  fields: readonly PojoFieldSerializer[],
  registeredSubclasses: readonly { name: string; serializer: TypeSerializer | null }[],
  nonRegisteredSubclasses: ReadonlyMap<string, TypeSerializer | null>,
): TypeSerializer {
  const type = pojoClass.slice(pojoClass.lastIndexOf(".") + 1);
  const children = fields.map((f) => f.serializer).filter((s): s is TypeSerializer => s !== null);
  return composite(
    type,
    -1,
    children,
    false,
    (i) => {
      const at = i.position;
      const flags = i.readUnsignedByte();
      if (flags & POJO_IS_NULL) return null;
      let sub: { name: string; serializer: TypeSerializer | null } | undefined;
      if (flags & POJO_IS_SUBCLASS) {
        const name = i.readUTF();
        sub = { name, serializer: nonRegisteredSubclasses.get(name) ?? null };
      } else if (flags & POJO_IS_TAGGED_SUBCLASS) {
        const tag = i.readUnsignedByte();
        sub = registeredSubclasses[tag];
        if (!sub)
          throw i.corrupt(`POJO ${pojoClass}: registered subclass tag ${tag} unknown to the snapshot`, at);
      } else if (!(flags & POJO_NO_SUBCLASS)) {
        throw i.corrupt(`POJO ${pojoClass}: bad flags byte 0x${flags.toString(16)}`, at);
      }
      if (sub) {
        if (!sub.serializer) {
          throw new UnsupportedSerializerError(
            `POJO ${pojoClass}: value of subclass ${sub.name}, whose serializer the snapshot does not record`,
            { offset: i.fileOffset, className: sub.name },
          );
        }
        const v = sub.serializer.read(i);
        return v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Uint8Array)
          ? { "@class": sub.name, ...v }
          : { "@class": sub.name, value: v };
      }
      const out: { [k: string]: StateValue } = {};
      for (const f of fields) {
        const isNull = i.readBoolean();
        if (isNull) {
          out[f.name] = null;
          continue;
        }
        if (!f.serializer) {
          throw new UnsupportedSerializerError(
            `POJO ${pojoClass}: field ${f.name} has no serializer snapshot`,
            {
              offset: i.fileOffset,
              className: pojoClass,
            },
          );
        }
        out[f.name] = f.serializer.read(i);
      }
      return out;
    },
    (o, v) => {
      if (v === null) {
        o.writeByte(POJO_IS_NULL);
        return;
      }
      const p = asObject(type, v);
      if ("@class" in p) throw new InvalidArgumentError(`writing POJO subclasses is not supported (${type})`);
      o.writeByte(POJO_NO_SUBCLASS);
      for (const f of fields) {
        const x = p[f.name] ?? null;
        o.writeBoolean(x === null);
        if (x !== null) {
          if (!f.serializer)
            throw new InvalidArgumentError(`POJO ${type}: field ${f.name} has no serializer`);
          f.serializer.write(o, x);
        }
      }
    },
  );
}

/**
 * An opaque serializer (Kryo, or any whose bytes savepoint-kit does not interpret): the value is the
 * rest of a bounded slice, decoded to `{class, base64}`. It cannot be read inside a stream (heap
 * layouts, broadcast state) or before another field.
 */
export function opaque(className: string, serializerName: string): TypeSerializer {
  const type = `${serializerName}<${className}>`;
  return {
    type,
    length: -1,
    opaque: true,
    read: (i) => {
      if (i instanceof BufferInput && !i.bounded) {
        throw new UnsupportedSerializerError(
          `${type} values are not self-delimiting and cannot be read from this layout (only from length-framed canonical values or operator list elements)`,
          { ...(i.uri === undefined ? {} : { uri: i.uri }), offset: i.fileOffset, className },
        );
      }
      const bytes = i.readFully(i.remaining, type).slice();
      return { class: className, base64: Buffer.from(bytes).toString("base64") };
    },
    write: (o, v) => {
      const x = asObject(type, v);
      if (typeof x.base64 !== "string") bad(type, v);
      o.write(Buffer.from(x.base64, "base64"));
    },
  };
}
