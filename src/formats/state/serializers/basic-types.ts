/**
 * Flink's basic types by name, for a key type the user names when a snapshot does not record it (the
 * changelog state backend before its first materialization records no key serializer).
 */

import { InvalidArgumentError } from "../../../errors.js";
import type { SerializerSnapshot, TypeSerializer } from "./types.js";
import * as V from "./values.js";

const BASE = "org.apache.flink.api.common.typeutils.base.";

/** The serializer snapshot class of each basic type (`SimpleTypeSerializerSnapshot`s, version 3). */
const SNAPSHOT_CLASS: Record<string, string> = {
  string: `${BASE}StringSerializer$StringSerializerSnapshot`,
  long: `${BASE}LongSerializer$LongSerializerSnapshot`,
  integer: `${BASE}IntSerializer$IntSerializerSnapshot`,
  int: `${BASE}IntSerializer$IntSerializerSnapshot`,
  short: `${BASE}ShortSerializer$ShortSerializerSnapshot`,
  byte: `${BASE}ByteSerializer$ByteSerializerSnapshot`,
  boolean: `${BASE}BooleanSerializer$BooleanSerializerSnapshot`,
  character: `${BASE}CharSerializer$CharSerializerSnapshot`,
  char: `${BASE}CharSerializer$CharSerializerSnapshot`,
  float: `${BASE}FloatSerializer$FloatSerializerSnapshot`,
  double: `${BASE}DoubleSerializer$DoubleSerializerSnapshot`,
  "byte[]": `${BASE}array.BytePrimitiveArraySerializer$BytePrimitiveArraySerializerSnapshot`,
};

/** The names {@link basicSerializer} takes (Java's boxed type names, case-insensitive), and their serializers. */
const BASIC: Record<string, TypeSerializer> = {
  string: V.STRING,
  long: V.LONG,
  integer: V.INT,
  int: V.INT,
  short: V.SHORT,
  byte: V.BYTE,
  boolean: V.BOOLEAN,
  character: V.CHAR,
  char: V.CHAR,
  float: V.FLOAT,
  double: V.DOUBLE,
  "byte[]": V.BYTE_ARRAY,
};

/** The names {@link basicSerializer} takes. */
export const BASIC_TYPE_NAMES = [
  "String",
  "Long",
  "Integer",
  "Short",
  "Byte",
  "Boolean",
  "Character",
  "Float",
  "Double",
  "byte[]",
] as const;

/**
 * The serializer of a basic type by name: `String`, `Long`, `Integer` (or `int`), `Short`, `Byte`,
 * `Boolean`, `Character` (or `char`), `Float`, `Double`, `byte[]`, case-insensitive (Flink's
 * `StringSerializer`, `LongSerializer`...).
 *
 * @throws InvalidArgumentError for any other name, listing those known.
 */
export function basicSerializer(name: string): TypeSerializer {
  const s = BASIC[name.trim().toLowerCase()];
  if (!s)
    throw new InvalidArgumentError(
      `key type ${JSON.stringify(name)}: expected one of ${BASIC_TYPE_NAMES.join(", ")}`,
    );
  return s;
}

/**
 * The serializer snapshot Flink writes for a basic type by name (as {@link basicSerializer}): its
 * `SimpleTypeSerializerSnapshot` class, version 3, for a header that must record the key serializer.
 *
 * @throws InvalidArgumentError for an unknown name.
 */
export function basicSnapshot(name: string): SerializerSnapshot {
  basicSerializer(name);
  return { className: SNAPSHOT_CLASS[name.trim().toLowerCase()] as string, version: 3 };
}
