/**
 * Serializer snapshots and value decoders of Flink's Table/SQL runtime
 * (`org.apache.flink.table.runtime.typeutils`, module `flink-table-runtime`): the serializers that
 * `InternalTypeInfo` / `InternalSerializers.create(LogicalType)` give SQL operators for their state.
 *
 * | snapshot class (`…typeutils.` + )                    | payload                                                        |
 * |------------------------------------------------------|----------------------------------------------------------------|
 * | `RowDataSerializer$RowDataSerializerSnapshot` (3)     | i32 n, n Java-serialized field `LogicalType`s, nested snapshots |
 * | `BinaryRowDataSerializer$BinaryRowDataSerializerSnapshot` (3) | i32 field count                                        |
 * | `StringDataSerializer$StringDataSerializerSnapshot` (3) | none (`SimpleTypeSerializerSnapshot`)                        |
 * | `DecimalDataSerializer$DecimalSerializerSnapshot` (3) | i32 precision, i32 scale                                       |
 * | `TimestampDataSerializer$TimestampDataSerializerSnapshot` (1) | i32 precision                                          |
 * | `ArrayDataSerializer$ArrayDataSerializerSnapshot` (3) | Java-serialized element `LogicalType` and element serializer    |
 * | `MapDataSerializer$MapDataSerializerSnapshot` (3)     | Java-serialized key and value `LogicalType`s and serializers    |
 * | `RawValueDataSerializer$RawValueDataSerializerSnapshot` (3) | composite: the inner serializer's snapshot               |
 *
 * Each Java-serialized object is its own stream (`InstantiationUtil.serializeObject`); the
 * `LogicalType`s are read by the shared Java serialization walker and kept with their bytes (so the
 * snapshot is written back byte for byte); the Java-serialized serializers are kept as bytes only.
 * Values are read by logical type (`./binary-row.ts`); their shapes are described there.
 */

import { InvalidArgumentError } from "../../../errors.js";
import type { DataInput } from "../../io/data-input.js";
import { readJavaObject } from "../../java/stream.js";
import {
  BinaryReader,
  BinaryWriter,
  bigIntegerFromBytes,
  bigIntegerToBytes,
  decimalString,
  MAX_COMPACT_DECIMAL_PRECISION,
  MAX_COMPACT_TIMESTAMP_PRECISION,
  unscaledDecimal,
} from "./binary-row.js";
import {
  type LogicalType,
  LogicalTypeError,
  logicalTypeFromJava,
  logicalTypeString,
} from "./logical-type.js";
import { deferRegistration, registerSnapshotCodec, type SnapshotCodec } from "./registry.js";
import {
  compositeCodec,
  readNestedSnapshots,
  serializerOf,
  simpleCodec,
  writeNestedSnapshots,
} from "./snapshots.js";
import type { SerializerSnapshot, StateValue, TypeSerializer } from "./types.js";
import { ROW_KINDS } from "./values.js";

const TYPEUTILS = "org.apache.flink.table.runtime.typeutils.";

/** A Java-serialized `LogicalType` of a snapshot: the model and the bytes as stored. */
export interface StoredLogicalType {
  type: LogicalType;
  javaBytes: Uint8Array;
}

function readLogicalType(input: DataInput, what: string): StoredLogicalType {
  const at = input.position;
  const { value, bytes } = readJavaObject(input, what);
  try {
    return { type: logicalTypeFromJava(value), javaBytes: bytes.slice() };
  } catch (e) {
    if (e instanceof LogicalTypeError) throw input.corrupt(`${what}: ${e.message}`, at);
    throw e;
  }
}

function readJavaBytes(input: DataInput, what: string): Uint8Array {
  return readJavaObject(input, what).bytes.slice();
}

function bad(type: string, message: string): never {
  throw new InvalidArgumentError(`cannot write ${type}: ${message}`);
}

/**
 * A serializer whose values are an i32 byte length and that many bytes (every binary-format
 * serializer of the Table runtime), decoded from / encoded to those bytes.
 */
function lengthPrefixed(
  type: string,
  decode: (reader: BinaryReader, size: number) => StateValue,
  encode: (value: StateValue) => Uint8Array,
): TypeSerializer {
  return {
    type,
    length: -1,
    read(i) {
      const at = i.position;
      const n = i.readInt();
      if (n < 0) throw i.corrupt(`${type}: negative length ${n}`, at);
      const start = i.position;
      const bytes = i.readFully(n, type);
      const reader = new BinaryReader(bytes, (message, offset) => {
        throw i.corrupt(`${type}: ${message}`, start + offset);
      });
      return decode(reader, n);
    },
    write(o, v) {
      const b = encode(v);
      o.writeInt(b.length).write(b);
    },
  };
}

/**
 * `RowDataSerializer` (values: `BinaryRowDataSerializer`'s i32 length and `BinaryRowData` bytes) of
 * the given field types. Decodes to `{kind, fields: {f0, f1, ...}}`: the snapshot keeps the field
 * types but not the names.
 */
export function rowDataSerializer(types: readonly LogicalType[]): TypeSerializer {
  const type = `RowData<${types.map(logicalTypeString).join(", ")}>`;
  const writer = new BinaryWriter((m) => bad(type, m));
  return lengthPrefixed(
    type,
    (r, n) => r.row(0, n, types),
    (v) => writer.row(v, types),
  );
}

/**
 * `BinaryRowDataSerializer`: the snapshot only knows the field count, so values decode to
 * `{kind, arity, base64}` (the row's bytes).
 */
export function binaryRowDataSerializer(arity: number): TypeSerializer {
  const type = `BinaryRowData<${arity} fields>`;
  return lengthPrefixed(
    type,
    (r, n) => {
      if (n < 1) return bad(type, "empty row");
      const kind = ROW_KINDS[r.bytes[0] as number];
      if (kind === undefined) throw new InvalidArgumentError(`${type}: bad RowKind byte ${r.bytes[0]}`);
      return { kind, arity, base64: Buffer.from(r.bytes).toString("base64") };
    },
    (v) => {
      const o = v as { base64?: unknown } | null;
      if (!o || typeof o !== "object" || typeof o.base64 !== "string") return bad(type, "expected {base64}");
      return Buffer.from(o.base64, "base64");
    },
  );
}

const utf8 = new TextDecoder("utf-8");
const utf8Encoder = new TextEncoder();

/** `StringDataSerializer`: i32 length, UTF-8 bytes. */
export const STRING_DATA: TypeSerializer = lengthPrefixed(
  "StringData",
  (r) => utf8.decode(r.bytes),
  (v) => (typeof v === "string" ? utf8Encoder.encode(v) : bad("StringData", "expected a string")),
);

/**
 * `DecimalDataSerializer`: precision <= 18 as the unscaled i64; otherwise i32 length and the unscaled
 * `BigInteger` bytes. Decodes to the plain decimal string.
 */
export function decimalDataSerializer(precision: number, scale: number): TypeSerializer {
  const type = `DECIMAL(${precision}, ${scale})`;
  const unscaled = (v: StateValue) =>
    typeof v === "string" ? unscaledDecimal(v, scale, (m) => bad(type, m)) : bad(type, "expected a string");
  if (precision <= MAX_COMPACT_DECIMAL_PRECISION) {
    return {
      type,
      length: 8,
      read: (i) => decimalString(i.readLong(), scale),
      write: (o, v) => {
        o.writeLong(unscaled(v));
      },
    };
  }
  return lengthPrefixed(
    type,
    (r) => decimalString(bigIntegerFromBytes(r.bytes), scale),
    (v) => bigIntegerToBytes(unscaled(v)),
  );
}

/**
 * `TimestampDataSerializer`: precision <= 3 as i64 epoch millis; otherwise i64 millis and i32 nano of
 * millisecond. Decodes to `{millisecond, nanoOfMillisecond}`.
 */
export function timestampDataSerializer(precision: number): TypeSerializer {
  const type = `TIMESTAMP(${precision})`;
  const compact = precision <= MAX_COMPACT_TIMESTAMP_PRECISION;
  return {
    type,
    length: compact ? 8 : 12,
    read: (i) => {
      const millisecond = i.readLong();
      return { millisecond, nanoOfMillisecond: compact ? 0 : i.readInt() };
    },
    write: (o, v) => {
      const t = v as { millisecond?: StateValue; nanoOfMillisecond?: StateValue } | null;
      if (!t || typeof t !== "object") return bad(type, "expected {millisecond, nanoOfMillisecond}");
      const ms = t.millisecond;
      if (typeof ms !== "bigint" && typeof ms !== "number" && typeof ms !== "string")
        return bad(type, "no millisecond");
      o.writeLong(BigInt(ms));
      if (!compact) o.writeInt(Number(t.nanoOfMillisecond ?? 0));
    },
  };
}

/** `ArrayDataSerializer`: i32 length and a `BinaryArrayData` of `element`. Decodes to a list. */
export function arrayDataSerializer(element: LogicalType): TypeSerializer {
  const type = `ARRAY<${logicalTypeString(element)}>`;
  const writer = new BinaryWriter((m) => bad(type, m));
  return lengthPrefixed(
    type,
    (r, n) => r.array(0, n, element),
    (v) => writer.array(v, element),
  );
}

/** `MapDataSerializer`: i32 length and a `BinaryMapData`. Decodes to a list of `{key, value}`. */
export function mapDataSerializer(keyType: LogicalType, valueType: LogicalType): TypeSerializer {
  const type = `MAP<${logicalTypeString(keyType)}, ${logicalTypeString(valueType)}>`;
  const writer = new BinaryWriter((m) => bad(type, m));
  return lengthPrefixed(
    type,
    (r, n) => r.map(0, n, keyType, valueType),
    (v) => writer.map(v, keyType, valueType),
  );
}

/**
 * `RawValueDataSerializer`: i32 length and the bytes of the inner serializer, kept opaque. Decodes to
 * `{class, base64}` with `class` the inner serializer's type.
 */
export function rawValueDataSerializer(inner: string): TypeSerializer {
  const type = `RAW<${inner}>`;
  return lengthPrefixed(
    type,
    (r) => ({ class: inner, base64: Buffer.from(r.bytes).toString("base64") }),
    (v) => {
      const o = v as { base64?: unknown } | null;
      if (!o || typeof o !== "object" || typeof o.base64 !== "string")
        return bad(type, "expected {class, base64}");
      return Buffer.from(o.base64, "base64");
    },
  );
}

// ---------------------------------------------------------------------------------------------------
// Snapshot codecs

function requireVersion(input: DataInput, className: string, version: number, known: number[]): void {
  if (!known.includes(version)) {
    throw input.corrupt(`${className} version ${version}; version ${known.join(", ")} is known`);
  }
}

const short = (c: string) => c.slice(c.lastIndexOf(".") + 1);

interface JavaTypesConfig {
  types: LogicalType[];
  javaTypes: Uint8Array[];
  javaSerializers: Uint8Array[];
}

/** Snapshots that hold `k` Java-serialized LogicalTypes, then `k` Java-serialized serializers. */
function javaTypesCodec(k: number, build: (types: LogicalType[]) => TypeSerializer): SnapshotCodec {
  return {
    read(input, className, version) {
      requireVersion(input, short(className), version, [3]);
      const types: StoredLogicalType[] = [];
      for (let j = 0; j < k; j++) types.push(readLogicalType(input, `logical type ${j}`));
      const javaSerializers: Uint8Array[] = [];
      for (let j = 0; j < k; j++)
        javaSerializers.push(readJavaBytes(input, `Java-serialized serializer ${j}`));
      const config: JavaTypesConfig = {
        types: types.map((t) => t.type),
        javaTypes: types.map((t) => t.javaBytes),
        javaSerializers,
      };
      return { className, version, config: config as unknown as Record<string, unknown> };
    },
    write(out, s) {
      const c = s.config as unknown as JavaTypesConfig;
      for (const b of c.javaTypes) out.write(b);
      for (const b of c.javaSerializers) out.write(b);
    },
    serializer: (s) => build((s.config as unknown as JavaTypesConfig).types),
  };
}

// Deferred: the codecs are built with helpers of ./snapshots.ts, which imports this module.
deferRegistration(() => {
  registerSnapshotCodec([`${TYPEUTILS}RowDataSerializer$RowDataSerializerSnapshot`], {
    read(input, className, version) {
      requireVersion(input, short(className), version, [3]);
      const n = input.readCount("RowData field types", 4);
      const types: StoredLogicalType[] = [];
      for (let k = 0; k < n; k++) types.push(readLogicalType(input, `field type ${k}`));
      const { nestedVersion, nested } = readNestedSnapshots(input);
      return {
        className,
        version,
        composite: { outerVersion: null, nestedVersion, nested },
        config: { types: types.map((t) => t.type), javaTypes: types.map((t) => t.javaBytes) },
      };
    },
    write(out, s) {
      const c = s.config as { javaTypes: Uint8Array[] };
      out.writeInt(c.javaTypes.length);
      for (const b of c.javaTypes) out.write(b);
      writeNestedSnapshots(out, s.composite ?? { nestedVersion: 1, nested: [] });
    },
    serializer: (s) => rowDataSerializer((s.config as { types: LogicalType[] }).types),
  });

  registerSnapshotCodec([`${TYPEUTILS}BinaryRowDataSerializer$BinaryRowDataSerializerSnapshot`], {
    read(input, className, version) {
      requireVersion(input, short(className), version, [3]);
      const at = input.position;
      const numFields = input.readInt();
      if (numFields < 0) throw input.corrupt(`negative field count ${numFields}`, at);
      return { className, version, config: { numFields } };
    },
    write(out, s) {
      out.writeInt(Number(s.config?.numFields ?? 0));
    },
    serializer: (s) => binaryRowDataSerializer(Number(s.config?.numFields ?? 0)),
  });

  registerSnapshotCodec(
    [`${TYPEUTILS}StringDataSerializer$StringDataSerializerSnapshot`],
    simpleCodec(STRING_DATA),
  );

  registerSnapshotCodec([`${TYPEUTILS}DecimalDataSerializer$DecimalSerializerSnapshot`], {
    read(input, className, version) {
      requireVersion(input, short(className), version, [3]);
      const precision = input.readInt();
      const scale = input.readInt();
      if (precision < 1 || precision > 38 || scale < 0 || scale > precision)
        throw input.corrupt(
          `DECIMAL(${precision}, ${scale}) is not a valid decimal type`,
          input.position - 8,
        );
      return { className, version, config: { precision, scale } };
    },
    write(out, s) {
      out.writeInt(Number(s.config?.precision)).writeInt(Number(s.config?.scale));
    },
    serializer: (s) => decimalDataSerializer(Number(s.config?.precision), Number(s.config?.scale)),
  });

  registerSnapshotCodec([`${TYPEUTILS}TimestampDataSerializer$TimestampDataSerializerSnapshot`], {
    read(input, className, version) {
      requireVersion(input, short(className), version, [1]);
      const at = input.position;
      const precision = input.readInt();
      if (precision < 0 || precision > 9) throw input.corrupt(`timestamp precision ${precision}`, at);
      return { className, version, config: { precision } };
    },
    write(out, s) {
      out.writeInt(Number(s.config?.precision));
    },
    serializer: (s) => timestampDataSerializer(Number(s.config?.precision)),
  });

  registerSnapshotCodec(
    [`${TYPEUTILS}ArrayDataSerializer$ArrayDataSerializerSnapshot`],
    javaTypesCodec(1, ([e]) => arrayDataSerializer(e as LogicalType)),
  );
  registerSnapshotCodec(
    [`${TYPEUTILS}MapDataSerializer$MapDataSerializerSnapshot`],
    javaTypesCodec(2, ([k, v]) => mapDataSerializer(k as LogicalType, v as LogicalType)),
  );

  registerSnapshotCodec(
    [`${TYPEUTILS}RawValueDataSerializer$RawValueDataSerializerSnapshot`],
    compositeCodec((_nested, s: SerializerSnapshot) => {
      const inner = s.composite?.nested[0];
      let name = "?";
      if (inner) {
        try {
          name = serializerOf(inner).type;
        } catch {
          name = inner.className;
        }
      }
      return rawValueDataSerializer(name);
    }),
  );
});
