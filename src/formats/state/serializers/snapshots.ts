/**
 * Type serializer snapshots: their framing, a registry of the snapshot classes savepoint-kit reads,
 * and the value decoders ({@link TypeSerializer}) built from them.
 *
 * Framing (mirrors `TypeSerializerSnapshotSerializationUtil` and `TypeSerializerSnapshot`):
 *
 * ```
 * writeSerializerSnapshot : i32 proxy version (2), then writeVersionedSnapshot
 * writeVersionedSnapshot  : UTF snapshot class name, i32 snapshot version, class-specific payload
 * ```
 *
 * Payloads are not length-framed, so an unknown class makes everything after it unreadable: it stops
 * with an {@link UnsupportedSerializerError} naming the class and the offset of its name. A version
 * of `0x7A53C4F0` (`TypeSerializerSnapshot.ADAPTER_VERSION`) means a snapshot upgraded in place from a
 * `TypeSerializerConfigSnapshot`: a framed Java-serialized serializer and the real version follow.
 *
 * Composite snapshots (`CompositeTypeSerializerSnapshot`, version 3): i32 magic 911108, i32 outer
 * version, outer payload, then `NestedSerializersSnapshotDelegate`: i32 magic 1333245, i32 version 1,
 * i32 count, nested `writeVersionedSnapshot`s. Versions <= 2 (legacy) have no magic and no outer
 * version; the outer payload is read with the snapshot version.
 */

import { CorruptSnapshotError } from "../../../errors.js";
import type { DataInput } from "../../io/data-input.js";
import { DataOutput } from "../../io/data-output.js";
import { avroSerializer } from "./avro.js";
import { codecFor, lookupCodec, registerSnapshotCodec, type SnapshotCodec } from "./registry.js";
// Registers the Table/SQL runtime snapshot classes (RowData and the InternalTypeInfo serializers).
import "./table.js";
import {
  type CompositeSnapshot,
  type OptionalMapEntry,
  type SerializerSnapshot,
  type TypeSerializer,
  UnsupportedSerializerError,
} from "./types.js";
import * as V from "./values.js";

export { knownSnapshotClasses, registerSnapshotCodec, type SnapshotCodec } from "./registry.js";

/** `TypeSerializerSnapshotSerializationProxy.VERSION`. */
export const SNAPSHOT_PROXY_VERSION = 2;
/** `TypeSerializerSnapshot.ADAPTER_VERSION`. */
export const ADAPTER_VERSION = 0x7a53c4f0;
/** `CompositeTypeSerializerSnapshot.MAGIC_NUMBER`. */
export const COMPOSITE_MAGIC = 911108;
/** `NestedSerializersSnapshotDelegate.MAGIC_NUMBER`. */
export const NESTED_MAGIC = 1333245;
/** `LinkedOptionalMapSerializer.HEADER`. */
export const OPTIONAL_MAP_HEADER = 0x4f2c69a3d70n;

/**
 * `TypeSerializerSnapshotSerializationUtil.readSerializerSnapshot`: i32 proxy version (must be 2; 1
 * is the pre-1.7 format that Flink 1.17+ refuses too) and a versioned snapshot.
 *
 * @throws UnsupportedVersionError for another proxy version, UnsupportedSerializerError for an unknown
 *   class, CorruptSnapshotError for bad bytes.
 */
export function readSerializerSnapshot(input: DataInput): SerializerSnapshot {
  const at = input.position;
  const proxy = input.readInt();
  if (proxy !== SNAPSHOT_PROXY_VERSION) {
    throw input.corrupt(
      `type serializer snapshot proxy version ${proxy}; only version ${SNAPSHOT_PROXY_VERSION} (Flink 1.7+) is read`,
      at,
    );
  }
  return readVersionedSnapshot(input);
}

/** Inverse of {@link readSerializerSnapshot}. */
export function writeSerializerSnapshot(out: DataOutput, s: SerializerSnapshot): void {
  out.writeInt(SNAPSHOT_PROXY_VERSION);
  writeVersionedSnapshot(out, s);
}

/** `TypeSerializerSnapshot.readVersionedSnapshot`: UTF class name, i32 version, payload. */
export function readVersionedSnapshot(input: DataInput): SerializerSnapshot {
  const at = input.position;
  const className = input.readUTF();
  let version = input.readInt();
  const codec = codecFor(className, input, at, version);
  let adapter: Uint8Array | undefined;
  if (version === ADAPTER_VERSION) {
    // TypeSerializerSerializationUtil.TypeSerializerSerializationProxy: i32 version 1, i32 length, bytes.
    const pv = input.readInt();
    if (pv !== 1) throw input.corrupt(`legacy serializer proxy version ${pv}, expected 1`);
    const n = input.readInt();
    if (n < 0) throw input.corrupt(`negative legacy serializer length ${n}`);
    adapter = input.readFully(n, "Java-serialized legacy serializer").slice();
    version = input.readInt();
  }
  const s = input.within(className.slice(className.lastIndexOf(".") + 1), () =>
    codec.read(input, className, version),
  );
  return adapter ? { ...s, adapterJavaSerializer: adapter } : s;
}

/** `TypeSerializerSnapshot.writeVersionedSnapshot`. */
export function writeVersionedSnapshot(out: DataOutput, s: SerializerSnapshot): void {
  const codec = lookupCodec(s.className);
  if (!codec) {
    throw new UnsupportedSerializerError(`cannot write unsupported snapshot class ${s.className}`, {
      offset: out.length,
      className: s.className,
    });
  }
  out.writeUTF(s.className);
  if (s.adapterJavaSerializer) {
    out
      .writeInt(ADAPTER_VERSION)
      .writeInt(1)
      .writeInt(s.adapterJavaSerializer.byteLength)
      .write(s.adapterJavaSerializer);
  }
  out.writeInt(s.version);
  codec.write(out, s);
}

/** The value decoder for a snapshot (`restoreSerializer()`). */
export function serializerOf(s: SerializerSnapshot): TypeSerializer {
  const codec = lookupCodec(s.className);
  if (!codec)
    throw new UnsupportedSerializerError(`unsupported snapshot class ${s.className}`, {
      offset: 0,
      className: s.className,
    });
  return codec.serializer(s);
}

/** Short display name of a snapshot's type (the decoder's `type`, or the class name if that fails). */
export function typeNameOf(s: SerializerSnapshot): string {
  try {
    return serializerOf(s).type;
  } catch {
    return s.className;
  }
}

// ---------------------------------------------------------------------------------------------------
// Composite framing

/**
 * Reads the composite layout; `readOuter` reads the class-specific outer payload given the outer
 * version (the snapshot version for legacy snapshots).
 */
function readComposite(
  input: DataInput,
  version: number,
  readOuter: (outerVersion: number) => Record<string, unknown> | undefined,
): { composite: CompositeSnapshot; config: Record<string, unknown> | undefined } {
  let outerVersion: number | null = null;
  let config: Record<string, unknown> | undefined;
  if (version > 2) {
    const at = input.position;
    const magic = input.readInt();
    if (magic !== COMPOSITE_MAGIC) {
      throw input.corrupt(
        `composite serializer snapshot magic number ${magic}, expected ${COMPOSITE_MAGIC}`,
        at,
      );
    }
    outerVersion = input.readInt();
    config = readOuter(outerVersion);
  } else {
    config = readOuter(version);
  }
  return { composite: { outerVersion, ...readNestedSnapshots(input) }, config };
}

/**
 * `NestedSerializersSnapshotDelegate.readNestedSerializerSnapshots`: i32 magic 1333245, i32 version
 * 1, i32 count, that many versioned snapshots.
 * @throws CorruptSnapshotError for a bad magic number or version, UnsupportedSerializerError for an
 *   unknown nested class.
 */
export function readNestedSnapshots(input: DataInput): {
  nestedVersion: number;
  nested: SerializerSnapshot[];
} {
  const at = input.position;
  const magic = input.readInt();
  if (magic !== NESTED_MAGIC) {
    throw input.corrupt(`nested serializers snapshot magic number ${magic}, expected ${NESTED_MAGIC}`, at);
  }
  const nestedVersion = input.readInt();
  if (nestedVersion !== 1)
    throw input.corrupt(`nested serializers snapshot version ${nestedVersion}, expected 1`);
  const n = input.readCount("nested serializer snapshots", 6);
  const nested: SerializerSnapshot[] = [];
  for (let k = 0; k < n; k++) nested.push(input.within(`nested[${k}]`, () => readVersionedSnapshot(input)));
  return { nestedVersion, nested };
}

/** Inverse of {@link readNestedSnapshots}. */
export function writeNestedSnapshots(
  out: DataOutput,
  nested: { nestedVersion: number; nested: readonly SerializerSnapshot[] },
): void {
  out.writeInt(NESTED_MAGIC).writeInt(nested.nestedVersion).writeInt(nested.nested.length);
  for (const n of nested.nested) writeVersionedSnapshot(out, n);
}

function writeComposite(
  out: DataOutput,
  s: SerializerSnapshot,
  writeOuter: (config: Record<string, unknown> | undefined) => void,
): void {
  const c = s.composite;
  if (!c)
    throw new CorruptSnapshotError(`snapshot ${s.className} has no composite part`, { offset: out.length });
  if (s.version > 2) out.writeInt(COMPOSITE_MAGIC).writeInt(c.outerVersion ?? 1);
  writeOuter(s.config);
  writeNestedSnapshots(out, c);
}

function nestedSerializers(s: SerializerSnapshot, expected?: number): TypeSerializer[] {
  const nested = s.composite?.nested ?? [];
  if (expected !== undefined && nested.length !== expected) {
    throw new CorruptSnapshotError(
      `${s.className} has ${nested.length} nested serializers, expected ${expected}`,
      {
        offset: 0,
      },
    );
  }
  return nested.map(serializerOf);
}

/** A composite codec with an outer payload reader/writer and a decoder builder. */
export function compositeCodec(
  build: (nested: TypeSerializer[], s: SerializerSnapshot) => TypeSerializer,
  outer?: {
    read: (input: DataInput, outerVersion: number) => Record<string, unknown>;
    write: (out: DataOutput, config: Record<string, unknown>) => void;
  },
): SnapshotCodec {
  return {
    read(input, className, version) {
      const { composite, config } = readComposite(input, version, (ov) => outer?.read(input, ov));
      return { className, version, composite, ...(config ? { config } : {}) };
    },
    write(out, s) {
      writeComposite(out, s, (config) => outer?.write(out, config ?? {}));
    },
    serializer: (s) => build(nestedSerializers(s), s),
  };
}

// ---------------------------------------------------------------------------------------------------
// Simple (parameterless) snapshots: SimpleTypeSerializerSnapshot

/**
 * `SimpleTypeSerializerSnapshot`: version 3 has no payload; version 2 (Flink 1.7-era) holds the
 * serializer's class name as a UTF string.
 */
export function simpleCodec(serializer: TypeSerializer): SnapshotCodec {
  return {
    read(input, className, version) {
      if (version === 2) return { className, version, config: { serializerClass: input.readUTF() } };
      if (version !== 3) {
        throw input.corrupt(`${className} version ${version}; versions 2 and 3 are known`);
      }
      return { className, version };
    },
    write(out, s) {
      if (s.version === 2) out.writeUTF(String(s.config?.serializerClass ?? ""));
    },
    serializer: () => serializer,
  };
}

const BASE = "org.apache.flink.api.common.typeutils.base.";
const ARRAYS = `${BASE}array.`;

const simple: [string, TypeSerializer][] = [
  [`${BASE}BooleanSerializer$BooleanSerializerSnapshot`, V.BOOLEAN],
  [`${BASE}ByteSerializer$ByteSerializerSnapshot`, V.BYTE],
  [`${BASE}ShortSerializer$ShortSerializerSnapshot`, V.SHORT],
  [`${BASE}CharSerializer$CharSerializerSnapshot`, V.CHAR],
  [`${BASE}IntSerializer$IntSerializerSnapshot`, V.INT],
  [`${BASE}LongSerializer$LongSerializerSnapshot`, V.LONG],
  [`${BASE}FloatSerializer$FloatSerializerSnapshot`, V.FLOAT],
  [`${BASE}DoubleSerializer$DoubleSerializerSnapshot`, V.DOUBLE],
  [`${BASE}StringSerializer$StringSerializerSnapshot`, V.STRING],
  [`${ARRAYS}BytePrimitiveArraySerializer$BytePrimitiveArraySerializerSnapshot`, V.BYTE_ARRAY],
  [
    `${ARRAYS}BooleanPrimitiveArraySerializer$BooleanPrimitiveArraySerializerSnapshot`,
    V.primitiveArray(V.BOOLEAN),
  ],
  [`${ARRAYS}ShortPrimitiveArraySerializer$ShortPrimitiveArraySerializerSnapshot`, V.primitiveArray(V.SHORT)],
  [`${ARRAYS}CharPrimitiveArraySerializer$CharPrimitiveArraySerializerSnapshot`, V.primitiveArray(V.CHAR)],
  [`${ARRAYS}IntPrimitiveArraySerializer$IntPrimitiveArraySerializerSnapshot`, V.primitiveArray(V.INT)],
  [`${ARRAYS}LongPrimitiveArraySerializer$LongPrimitiveArraySerializerSnapshot`, V.primitiveArray(V.LONG)],
  [`${ARRAYS}FloatPrimitiveArraySerializer$FloatPrimitiveArraySerializerSnapshot`, V.primitiveArray(V.FLOAT)],
  [
    `${ARRAYS}DoublePrimitiveArraySerializer$DoublePrimitiveArraySerializerSnapshot`,
    V.primitiveArray(V.DOUBLE),
  ],
  [`${ARRAYS}StringArraySerializer$StringArraySerializerSnapshot`, V.primitiveArray(V.STRING)],
  [
    "org.apache.flink.runtime.state.VoidNamespaceSerializer$VoidNamespaceSerializerSnapshot",
    V.VOID_NAMESPACE,
  ],
  [
    "org.apache.flink.streaming.api.windowing.windows.TimeWindow$Serializer$TimeWindowSerializerSnapshot",
    V.TIME_WINDOW,
  ],
  [
    "org.apache.flink.streaming.api.windowing.windows.GlobalWindow$Serializer$GlobalWindowSerializerSnapshot",
    V.GLOBAL_WINDOW,
  ],
];
for (const [name, s] of simple) registerSnapshotCodec([name], simpleCodec(s));

// ---------------------------------------------------------------------------------------------------
// Composites

registerSnapshotCodec(
  [`${BASE}ListSerializerSnapshot`, "org.apache.flink.runtime.state.ArrayListSerializerSnapshot"],
  compositeCodec(([e]) => V.listOf(e as TypeSerializer)),
);
registerSnapshotCodec(
  [`${BASE}MapSerializerSnapshot`],
  compositeCodec(([k, v]) => V.mapOf(k as TypeSerializer, v as TypeSerializer)),
);
registerSnapshotCodec(
  ["org.apache.flink.api.java.typeutils.runtime.TupleSerializerSnapshot"],
  compositeCodec((fields, s) => V.tupleOf(String(s.config?.tupleClass ?? "Tuple"), fields), {
    read: (input) => ({ tupleClass: input.readUTF() }),
    write: (out, c) => {
      out.writeUTF(String(c.tupleClass));
    },
  }),
);
registerSnapshotCodec(
  ["org.apache.flink.api.java.typeutils.runtime.RowSerializer$RowSerializerSnapshot"],
  // RowSerializerSnapshot: outer version 3 adds the RowKind bits; below 3 the legacy mask.
  compositeCodec((fields, s) => V.rowOf(fields, (s.composite?.outerVersion ?? s.version) < 3)),
);
registerSnapshotCodec(
  ["org.apache.flink.runtime.state.ttl.TtlStateFactory$TtlSerializerSnapshot"],
  compositeCodec(([ts, v]) => V.ttlOf(ts as TypeSerializer, v as TypeSerializer)),
);
registerSnapshotCodec(
  ["org.apache.flink.streaming.api.operators.TimerSerializerSnapshot"],
  compositeCodec(([k, n]) => V.timerOf(k as TypeSerializer, n as TypeSerializer)),
);
registerSnapshotCodec(
  [`${BASE}GenericArraySerializerSnapshot`],
  compositeCodec(
    ([c], s) => V.genericArrayOf(String(s.config?.componentClass ?? "Object"), c as TypeSerializer),
    {
      read: (input) => ({ componentClass: input.readUTF() }),
      write: (out, c) => {
        out.writeUTF(String(c.componentClass));
      },
    },
  ),
);
registerSnapshotCodec(
  ["org.apache.flink.api.java.typeutils.runtime.NullableSerializer$NullableSerializerSnapshot"],
  compositeCodec(
    ([inner], s) => V.nullableOf(inner as TypeSerializer, Number(s.config?.nullPaddingLength ?? 0)),
    {
      read: (input) => {
        const n = input.readInt();
        if (n < 0) throw input.corrupt(`negative null padding length ${n}`);
        return { nullPaddingLength: n };
      },
      write: (out, c) => {
        out.writeInt(Number(c.nullPaddingLength ?? 0));
      },
    },
  ),
);

// ---------------------------------------------------------------------------------------------------
// Enum

registerSnapshotCodec([`${BASE}EnumSerializer$EnumSerializerSnapshot`], {
  read(input, className, version) {
    if (version !== 3) throw input.corrupt(`EnumSerializerSnapshot version ${version}; version 3 is known`);
    const enumClass = input.readUTF();
    const n = input.readCount("enum constants", 2);
    const constants: string[] = [];
    for (let k = 0; k < n; k++) constants.push(input.readUTF());
    return { className, version, config: { enumClass, constants } };
  },
  write(out, s) {
    const c = s.config as { enumClass: string; constants: string[] };
    out.writeUTF(c.enumClass).writeInt(c.constants.length);
    for (const x of c.constants) out.writeUTF(x);
  },
  serializer: (s) => {
    const c = s.config as { enumClass: string; constants: string[] };
    return V.enumOf(c.enumClass, c.constants);
  },
});

// ---------------------------------------------------------------------------------------------------
// LinkedOptionalMap (POJO and Kryo snapshots)

function readOptionalMap<K, Vv>(
  input: DataInput,
  what: string,
  readKey: (frame: DataInput, name: string) => K,
  readValue: (frame: DataInput, name: string) => Vv,
): OptionalMapEntry<K, Vv>[] {
  const at = input.position;
  const header = input.readLong();
  if (header !== OPTIONAL_MAP_HEADER) {
    throw input.corrupt(`${what}: optional map header 0x${header.toString(16)}, expected 0x4f2c69a3d70`, at);
  }
  const n = input.readCount(`${what} entries`, 4);
  const out: OptionalMapEntry<K, Vv>[] = [];
  for (let k = 0; k < n; k++) {
    const name = input.readUTF();
    const key = input.readBoolean() ? readFrame(input, (f) => readKey(f, name)) : null;
    const value = input.readBoolean() ? readFrame(input, (f) => readValue(f, name)) : null;
    out.push({ name, key, value });
  }
  return out;
}

/** A length-framed item (`LinkedOptionalMapSerializer.tryReadFrame`), read in place. */
function readFrame<T>(input: DataInput, read: (frame: DataInput) => T): T {
  const at = input.position;
  const n = input.readInt();
  if (n < 0) throw input.corrupt(`negative frame length ${n}`, at);
  input.require(n, "framed item");
  const start = input.position;
  const v = read(input);
  if (input.position !== start + n) {
    throw input.corrupt(`framed item of ${n} bytes was read as ${input.position - start} bytes`, start);
  }
  return v;
}

function writeOptionalMap<K, Vv>(
  out: DataOutput,
  entries: readonly OptionalMapEntry<K, Vv>[],
  writeKey: (o: DataOutput, k: K) => void,
  writeValue: (o: DataOutput, v: Vv) => void,
): void {
  out.writeLong(OPTIONAL_MAP_HEADER).writeInt(entries.length);
  for (const e of entries) {
    out.writeUTF(e.name);
    out.writeBoolean(e.key !== null);
    if (e.key !== null) writeFrame(out, (o) => writeKey(o, e.key as K));
    out.writeBoolean(e.value !== null);
    if (e.value !== null) writeFrame(out, (o) => writeValue(o, e.value as Vv));
  }
}

function writeFrame(out: DataOutput, write: (o: DataOutput) => void): void {
  const frame = new DataOutput();
  write(frame);
  out.writeInt(frame.length).write(frame.toBytes());
}

// ---------------------------------------------------------------------------------------------------
// POJO: PojoSerializerSnapshot (version 2) / PojoSerializerSnapshotData

interface PojoConfig {
  pojoClass: string;
  fields: OptionalMapEntry<{ declaringClass: string; fieldName: string }, SerializerSnapshot>[];
  registeredSubclasses: OptionalMapEntry<null, SerializerSnapshot>[];
  nonRegisteredSubclasses: OptionalMapEntry<null, SerializerSnapshot>[];
}

registerSnapshotCodec(["org.apache.flink.api.java.typeutils.runtime.PojoSerializerSnapshot"], {
  read(input, className, version) {
    if (version !== 2) {
      throw new UnsupportedSerializerError(`PojoSerializerSnapshot version ${version}; version 2 is read`, {
        ...(input.uri === undefined ? {} : { uri: input.uri }),
        offset: input.fileOffset,
        className,
        version,
      });
    }
    const pojoClass = input.readUTF();
    const fields = readOptionalMap(
      input,
      "POJO fields",
      (f) => ({ declaringClass: f.readUTF(), fieldName: f.readUTF() }),
      (f) => readVersionedSnapshot(f),
    );
    const registeredSubclasses = readOptionalMap(
      input,
      "POJO registered subclasses",
      () => null,
      (f) => readVersionedSnapshot(f),
    );
    const nonRegisteredSubclasses = readOptionalMap(
      input,
      "POJO non-registered subclasses",
      () => null,
      (f) => readVersionedSnapshot(f),
    );
    const config: PojoConfig = { pojoClass, fields, registeredSubclasses, nonRegisteredSubclasses };
    return { className, version, config: config as unknown as Record<string, unknown> };
  },
  write(out, s) {
    const c = s.config as unknown as PojoConfig;
    out.writeUTF(c.pojoClass);
    writeOptionalMap(
      out,
      c.fields,
      (o, k) => {
        o.writeUTF(k.declaringClass).writeUTF(k.fieldName);
      },
      writeVersionedSnapshot,
    );
    writeOptionalMap(out, c.registeredSubclasses, () => {}, writeVersionedSnapshot);
    writeOptionalMap(out, c.nonRegisteredSubclasses, () => {}, writeVersionedSnapshot);
  },
  serializer(s) {
    const c = s.config as unknown as PojoConfig;
    return V.pojoOf(
      c.pojoClass,
      c.fields.map((f) => ({ name: f.name, serializer: f.value ? serializerOf(f.value) : null })),
      c.registeredSubclasses.map((e) => ({
        name: e.name,
        serializer: e.value ? serializerOf(e.value) : null,
      })),
      new Map(c.nonRegisteredSubclasses.map((e) => [e.name, e.value ? serializerOf(e.value) : null])),
    );
  },
});

// ---------------------------------------------------------------------------------------------------
// Kryo: KryoSerializerSnapshot (version 2) / KryoSerializerSnapshotData. Registrations and default
// serializers are LinkedOptionalMaps whose frames are kept as bytes (some hold Java serialization).

interface KryoConfig {
  typeClass: string;
  registrations: OptionalMapEntry<Uint8Array, Uint8Array>[];
  defaultSerializers: OptionalMapEntry<Uint8Array, Uint8Array>[];
  defaultSerializerClasses: OptionalMapEntry<Uint8Array, Uint8Array>[];
}

registerSnapshotCodec(
  [
    "org.apache.flink.api.java.typeutils.runtime.kryo.KryoSerializerSnapshot",
    "org.apache.flink.api.java.typeutils.runtime.kryo5.KryoSerializerSnapshot",
  ],
  {
    read(input, className, version) {
      if (version !== 2) {
        throw new UnsupportedSerializerError(`KryoSerializerSnapshot version ${version}; version 2 is read`, {
          ...(input.uri === undefined ? {} : { uri: input.uri }),
          offset: input.fileOffset,
          className,
          version,
        });
      }
      const typeClass = input.readUTF();
      const maps = ["registrations", "defaultSerializers", "defaultSerializerClasses"].map((what) =>
        readOptionalMapRaw(input, `Kryo ${what}`),
      );
      const config: KryoConfig = {
        typeClass,
        registrations: maps[0] ?? [],
        defaultSerializers: maps[1] ?? [],
        defaultSerializerClasses: maps[2] ?? [],
      };
      return { className, version, config: config as unknown as Record<string, unknown> };
    },
    write(out, s) {
      const c = s.config as unknown as KryoConfig;
      out.writeUTF(c.typeClass);
      for (const m of [c.registrations, c.defaultSerializers, c.defaultSerializerClasses]) {
        writeOptionalMap(
          out,
          m,
          (o, b) => {
            o.write(b);
          },
          (o, b) => {
            o.write(b);
          },
        );
      }
    },
    serializer(s) {
      const c = s.config as unknown as KryoConfig;
      return V.opaque(c.typeClass, "Kryo");
    },
  },
);

/** An optional map whose frames are kept as raw bytes. */
function readOptionalMapRaw(input: DataInput, what: string): OptionalMapEntry<Uint8Array, Uint8Array>[] {
  const at = input.position;
  const header = input.readLong();
  if (header !== OPTIONAL_MAP_HEADER) {
    throw input.corrupt(`${what}: optional map header 0x${header.toString(16)}, expected 0x4f2c69a3d70`, at);
  }
  const n = input.readCount(`${what} entries`, 4);
  const out: OptionalMapEntry<Uint8Array, Uint8Array>[] = [];
  const frame = (): Uint8Array => {
    const p = input.position;
    const len = input.readInt();
    if (len < 0) throw input.corrupt(`negative frame length ${len}`, p);
    return input.readFully(len, "framed item").slice();
  };
  for (let k = 0; k < n; k++) {
    const name = input.readUTF();
    const key = input.readBoolean() ? frame() : null;
    const value = input.readBoolean() ? frame() : null;
    out.push({ name, key, value });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Avro: AvroSerializerSnapshot (version 2: UTF runtime class, UTF writer schema; version 1: schema only).
// Values are read with the writer schema by a small Avro binary decoder (./avro.ts).

registerSnapshotCodec(["org.apache.flink.formats.avro.typeutils.AvroSerializerSnapshot"], {
  read(input, className, version) {
    if (version === 1) return { className, version, config: { runtimeClass: null, schema: input.readUTF() } };
    if (version !== 2)
      throw input.corrupt(`AvroSerializerSnapshot version ${version}; versions 1 and 2 are known`);
    const runtimeClass = input.readUTF();
    const schema = input.readUTF();
    return { className, version, config: { runtimeClass, schema } };
  },
  write(out, s) {
    const c = s.config as { runtimeClass: string | null; schema: string };
    if (s.version !== 1) out.writeUTF(c.runtimeClass ?? "");
    out.writeUTF(c.schema);
  },
  serializer(s) {
    const c = s.config as { runtimeClass: string | null; schema: string };
    return avroSerializer(c.schema, c.runtimeClass);
  },
});
