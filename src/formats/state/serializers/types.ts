/**
 * The model of Flink type serializer snapshots and of the value decoders built from them.
 *
 * A {@link SerializerSnapshot} mirrors one `TypeSerializerSnapshot` as written by
 * `TypeSerializerSnapshot.writeVersionedSnapshot` (class name, version, class-specific payload); a
 * {@link TypeSerializer} is what the snapshot's `restoreSerializer()` would give Flink, reduced to
 * what reading needs: decode one value from bytes (and encode one, for tests and writers).
 *
 * Values come out as {@link StateValue}: JSON-ready data except that Java longs are `bigint` and byte
 * arrays `Uint8Array` (the CLI writes them as decimal strings and base64).
 */

import { UnsupportedVersionError } from "../../../errors.js";
import type { DataInput } from "../../io/data-input.js";
import type { DataOutput } from "../../io/data-output.js";

/**
 * A decoded value: `null`, booleans, numbers (Java int/short/byte/float/double; non-finite floats as
 * the strings `"NaN"`, `"Infinity"`, `"-Infinity"`), `bigint` (Java long), strings (Java String and
 * char), `Uint8Array` (byte[] and opaque bytes), arrays (lists, arrays) and plain objects (maps as
 * entry lists, tuples, rows, POJOs, windows, timers, TTL wrappers).
 */
export type StateValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | StateValue[]
  | { [key: string]: StateValue };

/**
 * A value decoder (and encoder) for one serializer, mirroring Flink's `TypeSerializer`.
 */
export interface TypeSerializer {
  /** Display name of the type, e.g. `Long`, `List<Long>`, `Tuple2<String, Long>`, `TTL<Long>`. */
  readonly type: string;
  /**
   * Flink's `getLength()`: the fixed byte length, or -1 when variable. As in Flink,
   * `VoidNamespaceSerializer` and `TimeWindow.Serializer` report 0 although they write 1 and 16 bytes;
   * the RocksDB/canonical key layout depends on exactly these values.
   */
  readonly length: number;
  /**
   * True when the bytes do not delimit themselves (Kryo, opaque values): the value can only be read as
   * "the rest of a bounded slice", never inside a stream or before another field.
   */
  readonly opaque?: boolean;
  /** Decodes one value. @throws CorruptSnapshotError with file and offset on bad bytes. */
  read(input: DataInput): StateValue;
  /** Encodes one value in Flink's format. @throws InvalidArgumentError for values of the wrong shape. */
  write(out: DataOutput, value: StateValue): void;
}

/** The composite part of a `CompositeTypeSerializerSnapshot` (outer snapshot and nested snapshots). */
export interface CompositeSnapshot {
  /**
   * The outer snapshot version written after the magic number 911108 (snapshot version >= 3), or
   * null for the legacy layout (snapshot version <= 2) that has no magic and no outer version.
   */
  outerVersion: number | null;
  /** The `NestedSerializersSnapshotDelegate` version (1). */
  nestedVersion: number;
  /** The nested serializer snapshots, in Flink's order. */
  nested: SerializerSnapshot[];
}

/** One entry of a `LinkedOptionalMap` as `LinkedOptionalMapSerializer` writes it. */
export interface OptionalMapEntry<K, V> {
  /** The key's name (a class or field name). */
  name: string;
  /** The framed key, decoded, or null when absent (the class was not loadable when written). */
  key: K | null;
  /** The framed value, decoded, or null when absent. */
  value: V | null;
}

/**
 * One serializer snapshot. `className` and `version` are as stored; the rest is class-specific:
 *
 * - `composite`: for `CompositeTypeSerializerSnapshot` subclasses (List, Map, Tuple, Row, TTL, timers,
 *   arrays, nullable, either...).
 * - `config`: JSON-ready class-specific configuration, e.g. `{tupleClass}` (Tuple), `{componentClass}`
 *   (generic arrays), `{enumClass, constants}` (enums), `{pojoClass, fields, ...}` (POJO),
 *   `{typeClass, ...}` (Kryo), `{runtimeClass, schema}` (Avro), `{serializerClass}` (legacy
 *   SimpleTypeSerializerSnapshot version 2).
 * - `adapterJavaSerializer`: a snapshot written through the legacy `TypeSerializerConfigSnapshot`
 *   bridge (version `0x7A53C4F0`): the Java-serialized prior serializer that Flink reads and drops.
 */
export interface SerializerSnapshot {
  className: string;
  version: number;
  composite?: CompositeSnapshot;
  config?: Record<string, unknown>;
  adapterJavaSerializer?: Uint8Array;
}

/**
 * A snapshot class savepoint-kit cannot read: its payload is not framed, so nothing after it can be
 * read either. Names the class and the file offset of its class name.
 */
export class UnsupportedSerializerError extends UnsupportedVersionError {
  /** The snapshot (or serializer) class. */
  readonly className: string;

  constructor(
    message: string,
    options: { uri?: string; offset: number; className: string; version?: number },
  ) {
    super(message, {
      ...(options.uri === undefined ? {} : { uri: options.uri }),
      version: options.version ?? 0,
      offset: options.offset,
    });
    this.className = options.className;
  }
}
