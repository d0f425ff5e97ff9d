/**
 * Protobuf messages in Flink state, decoded with a user-supplied `.proto` (protobufjs): values that
 * Flink stores as
 *
 * - `byte[]` (`BytePrimitiveArraySerializer`): the message's bytes (`Message.toByteArray()`), or
 * - Kryo values (`KryoSerializer`) written by chill-protobuf's `ProtobufSerializer` (Flink 1.x, Kryo
 *   2; what Flink's documentation recommends for protobuf types). `Kryo.writeClassAndObject` writes
 *
 *   ```
 *   varint class: 0 null, 1 unregistered (then varint name id and, the first time, the class name
 *                 as a Kryo string), n >= 2 registration id n - 2
 *   varint reference marker when references are on (Flink's default): 1 a new object
 *   ProtobufSerializer.write: varint length (Output.writeInt(n, true)), the message's bytes
 *   ```
 *
 * Messages become JSON-ready objects by protobufjs's `Type.toObject` with longs and bytes as strings
 * (base64) and enums by name: the proto3 JSON mapping's conventions (lowerCamelCase field names,
 * default values omitted).
 */

import type protobuf from "protobufjs";
import type { StateValue } from "./types.js";

/** Reads an unsigned LEB128 varint (Kryo's `readVarInt(true)`), at most 5 bytes. */
function varint(b: Uint8Array, at: { pos: number }): number {
  let v = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (at.pos >= b.length) throw new Error("Kryo bytes end inside a varint");
    const x = b[at.pos++] as number;
    v += (x & 0x7f) * 2 ** shift;
    if (!(x & 0x80)) return v;
  }
  throw new Error("Kryo varint longer than 5 bytes");
}

/** Kryo's `Input.readString` (ASCII with the last byte's high bit set, or a length-prefixed UTF-8 form). */
function kryoString(b: Uint8Array, at: { pos: number }): string {
  const first = b[at.pos];
  if (first === undefined) throw new Error("Kryo bytes end before a class name");
  if ((first & 0x80) === 0) {
    let s = "";
    for (;;) {
      const x = b[at.pos++];
      if (x === undefined) throw new Error("Kryo bytes end inside an ASCII class name");
      s += String.fromCharCode(x & 0x7f);
      if (x & 0x80) return s;
    }
  }
  // UTF-8 form: the char count + 1 in a varint whose first byte keeps 6 bits (bit 0x40 = more).
  at.pos++;
  let count = first & 0x3f;
  if (first & 0x40) count |= varint(b, at) << 6;
  if (count === 0) throw new Error("null Kryo class name");
  const chars = count - 1;
  let s = "";
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const start = at.pos;
  let n = 0;
  while (n < chars) {
    const x = b[at.pos];
    if (x === undefined) throw new Error("Kryo bytes end inside a UTF-8 class name");
    at.pos += x < 0x80 ? 1 : x < 0xe0 ? 2 : 3;
    n++;
  }
  s = decoder.decode(b.subarray(start, at.pos));
  return s;
}

/** What {@link kryoProtobufPayload} found in a Kryo value. */
export interface KryoProtobufPayload {
  /** The class name Kryo wrote (unregistered classes), else null. */
  className: string | null;
  /** The Kryo registration id (registered classes), else null. */
  registrationId: number | null;
  /** The message's bytes; null when Kryo wrote a null value. */
  message: Uint8Array | null;
}

/**
 * Finds the protobuf message bytes in one Kryo value written by chill-protobuf's `ProtobufSerializer`
 * (layout in the module comment). `bytes` must be the whole value.
 *
 * @throws Error describing the first byte that does not fit the layout.
 */
export function kryoProtobufPayload(bytes: Uint8Array): KryoProtobufPayload {
  const at = { pos: 0 };
  const cls = varint(bytes, at);
  if (cls === 0) return { className: null, registrationId: null, message: null };
  let className: string | null = null;
  let registrationId: number | null = null;
  if (cls === 1) {
    varint(bytes, at); // name id
    className = kryoString(bytes, at);
  } else registrationId = cls - 2;
  const afterClass = at.pos;
  // References on (Flink's default): a marker 1 (new object), then the serializer's bytes.
  const tryLayout = (withMarker: boolean): Uint8Array | null => {
    const p = { pos: afterClass };
    try {
      if (withMarker && varint(bytes, p) !== 1) return null;
      const len = varint(bytes, p);
      return p.pos + len === bytes.length ? bytes.subarray(p.pos) : null;
    } catch {
      return null;
    }
  };
  const message = tryLayout(true) ?? tryLayout(false);
  if (!message) {
    throw new Error(
      `the Kryo value (${bytes.length} bytes) is not a chill-protobuf ProtobufSerializer value: no length-prefixed message after the class at byte ${afterClass}`,
    );
  }
  return { className, registrationId, message };
}

/** Options of {@link protobufValueDecoder}. */
export interface ProtobufDecodeOptions {
  /** Called with the reason when a value does not decode; must throw (default: throws an Error). */
  fail?: (reason: string) => never;
}

/**
 * A transformation of decoded state values that replaces protobuf-carrying values by the decoded
 * message (an object): `byte[]` values, Kryo values (`{class, base64}`) written by chill-protobuf,
 * and the same inside lists (list state, list elements) and TTL wrappers (`{value,
 * lastAccessTimestamp}`). Other values are returned as they are.
 *
 * @param type the message type (protobufjs `Root.lookupType`).
 * @throws (through `fail`) when a candidate value is not a valid message of `type`.
 */
export function protobufValueDecoder(
  type: protobuf.Type,
  options: ProtobufDecodeOptions = {},
): (value: StateValue) => StateValue {
  const fail =
    options.fail ??
    ((reason: string): never => {
      throw new Error(reason);
    });
  const decode = (bytes: Uint8Array): StateValue => {
    let message: protobuf.Message;
    try {
      message = type.decode(bytes);
    } catch (e) {
      return fail(
        `${bytes.length} bytes are not a ${type.fullName.replace(/^\./, "")}: ${(e as Error).message}`,
      );
    }
    return type.toObject(message, { longs: String, enums: String, bytes: String }) as StateValue;
  };
  const visit = (v: StateValue): StateValue => {
    if (v instanceof Uint8Array) return decode(v);
    if (Array.isArray(v)) return v.map(visit);
    if (v !== null && typeof v === "object") {
      const keys = Object.keys(v);
      if (keys.length === 2 && typeof v.class === "string" && typeof v.base64 === "string") {
        let payload: KryoProtobufPayload;
        try {
          payload = kryoProtobufPayload(Buffer.from(v.base64, "base64"));
        } catch (e) {
          return fail(`Kryo value of class ${v.class}: ${(e as Error).message}`);
        }
        return payload.message === null ? null : decode(payload.message);
      }
      if (keys.length === 2 && "value" in v && "lastAccessTimestamp" in v) {
        return { value: visit(v.value ?? null), lastAccessTimestamp: v.lastAccessTimestamp ?? null };
      }
    }
    return v;
  };
  return visit;
}
