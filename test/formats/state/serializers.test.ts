/**
 * Value decoders of the built-in serializers: each encodes and decodes values in Flink's byte layout
 * (checked against bytes written by hand from the Flink classes), and snapshots of every registered
 * class round-trip through their writer.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { CorruptSnapshotError } from "../../../src/errors.js";
import { DataInput } from "../../../src/formats/io/data-input.js";
import { DataOutput } from "../../../src/formats/io/data-output.js";
import {
  readSerializerSnapshot,
  serializerOf,
  writeSerializerSnapshot,
} from "../../../src/formats/state/serializers/snapshots.js";
import type {
  SerializerSnapshot,
  StateValue,
  TypeSerializer,
} from "../../../src/formats/state/serializers/types.js";
import * as V from "../../../src/formats/state/serializers/values.js";

function encode(s: TypeSerializer, v: StateValue): Uint8Array {
  const o = new DataOutput();
  s.write(o, v);
  return o.toBytes().slice();
}
function decode(s: TypeSerializer, b: Uint8Array): StateValue {
  const i = new DataInput(b, "mem");
  const v = s.read(i);
  assert.ok(i.atEnd, `${s.type}: ${i.remaining} bytes left`);
  return v;
}
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

const B = "org.apache.flink.api.common.typeutils.base.";
const simpleSnap = (name: string): SerializerSnapshot => ({
  className: `${B}${name}Serializer$${name}SerializerSnapshot`,
  version: 3,
});
const composite = (
  className: string,
  outerVersion: number,
  nested: SerializerSnapshot[],
  config?: Record<string, unknown>,
): SerializerSnapshot => ({
  className,
  version: 3,
  composite: { outerVersion, nestedVersion: 1, nested },
  ...(config ? { config } : {}),
});

describe("value serializers", () => {
  it("StringValue: length+1 and UTF-16 units as base-128 varints; null as 0", () => {
    assert.equal(hex(encode(V.STRING, "ab")), "036162");
    assert.equal(hex(encode(V.STRING, null)), "00");
    assert.equal(hex(encode(V.STRING, "é")), "02e901");
    assert.equal(hex(encode(V.STRING, "€")), "02ac41");
    assert.equal(hex(encode(V.STRING, "x".repeat(200)).subarray(0, 2)), "c901");
    fc.assert(
      fc.property(
        fc.string({ unit: "binary", maxLength: 300 }),
        (s) => decode(V.STRING, encode(V.STRING, s)) === s,
      ),
    );
  });

  it("StringValue: ASCII strings (read and written a byte per character) have the same layout as any", () => {
    // Flink's StringValue.writeString, byte by byte: length + 1, then each UTF-16 unit, as base-128 varints
    const reference = (s: string): string => {
      const bytes: number[] = [];
      const varint = (v: number) => {
        while (v >= 0x80) {
          bytes.push((v & 0x7f) | 0x80);
          v >>>= 7;
        }
        bytes.push(v);
      };
      varint(s.length + 1);
      for (let k = 0; k < s.length; k++) varint(s.charCodeAt(k));
      return Buffer.from(bytes).toString("hex");
    };
    const ascii = fc.string({
      unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)),
      maxLength: 300,
    });
    const mixed = fc
      .tuple(ascii, fc.constantFrom("\u0080", "é", "Ł", "€", "\uffff"), ascii)
      .map(([a, c, b]) => `${a}${c}${b}`);
    fc.assert(
      fc.property(fc.oneof(ascii, mixed), (s) => {
        const bytes = encode(V.STRING, s);
        assert.equal(hex(bytes), reference(s));
        // followed by more bytes: the string ends where its characters do
        const input = new DataInput(Uint8Array.from([...bytes, 0x61, 0x80]), "mem");
        assert.equal(V.STRING.read(input), s);
        assert.equal(input.remaining, 2);
      }),
    );
  });

  it("primitives are big-endian; longs are bigint; non-finite floats are strings", () => {
    assert.equal(hex(encode(V.LONG, 29999n)), "000000000000752f");
    assert.equal(hex(encode(V.INT, -2)), "fffffffe");
    assert.equal(decode(V.DOUBLE, encode(V.DOUBLE, "NaN")), "NaN");
    assert.equal(decode(V.FLOAT, encode(V.FLOAT, 1.5)), 1.5);
    assert.equal(decode(V.CHAR, encode(V.CHAR, "Z")), "Z");
    assert.equal(decode(V.BOOLEAN, Uint8Array.of(2)), true);
  });

  it("List, Map (with null values), Tuple, TTL, timers and windows", () => {
    const list = V.listOf(V.LONG);
    assert.equal(hex(encode(list, [1n, 2n])), "0000000200000000000000010000000000000002");
    const map = V.mapOf(V.STRING, V.INT);
    const m = [
      { key: "a", value: 1 },
      { key: "b", value: null },
    ];
    assert.equal(hex(encode(map, m)), "0000000202610000000001026201");
    assert.deepEqual(decode(map, encode(map, m)), m);
    const tuple = V.tupleOf("org.apache.flink.api.java.tuple.Tuple2", [V.STRING, V.LONG]);
    assert.equal(tuple.type, "Tuple2<String, Long>");
    assert.deepEqual(decode(tuple, encode(tuple, { f0: "k", f1: 5n })), { f0: "k", f1: 5n });
    const ttl = V.ttlOf(V.LONG, V.LONG);
    assert.equal(ttl.length, 16);
    assert.equal(
      hex(encode(ttl, { value: 1n, lastAccessTimestamp: 2n })),
      "00000000000000020000000000000001",
    );
    const timer = V.timerOf(V.STRING, V.TIME_WINDOW);
    const t = { timestamp: 29999n, key: "fig", namespace: { start: 20000n, end: 30000n } };
    assert.equal(hex(encode(timer, t)).slice(0, 16), "800000000000752f", "sign bit flipped");
    assert.deepEqual(decode(timer, encode(timer, t)), t);
    assert.deepEqual(decode(timer, encode(timer, { ...t, timestamp: -5n })), { ...t, timestamp: -5n });
    assert.equal(V.VOID_NAMESPACE.length, 0);
    assert.equal(hex(encode(V.VOID_NAMESPACE, null)), "00");
    assert.equal(V.TIME_WINDOW.length, 0);
  });

  it("Row: RowKind bits and null mask, most significant bit first", () => {
    const row = V.rowOf([V.INT, V.STRING, V.LONG], false);
    // bits: kind&1=0, kind&2=1 (UPDATE_AFTER=2), field nulls 0,1,0 -> 0b01010000
    const r = { kind: "UPDATE_AFTER", fields: [7, null, 9n] };
    assert.equal(hex(encode(row, r)), "5000000007" + "0000000000000009");
    assert.deepEqual(decode(row, encode(row, r)), r);
    const legacy = V.rowOf([V.INT], true);
    assert.deepEqual(decode(legacy, Uint8Array.of(0x80)), { fields: [null] });
  });

  it("POJO: flags byte, then per field a null flag and the value", () => {
    const pojo = V.pojoOf(
      "com.x.Word",
      [
        { name: "count", serializer: V.LONG },
        { name: "word", serializer: V.STRING },
      ],
      [],
      new Map(),
    );
    const v = { count: 3n, word: null };
    assert.equal(hex(encode(pojo, v)), "0200000000000000000301");
    assert.deepEqual(decode(pojo, encode(pojo, v)), v);
    assert.equal(decode(pojo, Uint8Array.of(1)), null);
    assert.throws(() => decode(pojo, Uint8Array.of(0x40)), CorruptSnapshotError);
  });

  it("enums by ordinal; a bad ordinal is corrupt", () => {
    const e = V.enumOf("com.x.Color", ["RED", "GREEN"]);
    assert.equal(decode(e, encode(e, "GREEN")), "GREEN");
    assert.throws(() => decode(e, Uint8Array.of(0, 0, 0, 5)), CorruptSnapshotError);
  });

  it("opaque (Kryo) values take the rest of a bounded slice, and refuse to be split", () => {
    const k = V.opaque("com.x.Thing", "Kryo");
    assert.deepEqual(decode(k, Uint8Array.of(1, 2, 3)), { class: "com.x.Thing", base64: "AQID" });
    assert.throws(() => decode(V.listOf(k), Uint8Array.of(0, 0, 0, 1, 9)), /not self-delimiting/);
    const ttl = V.ttlOf(V.LONG, k);
    assert.equal(ttl.opaque, true);
  });

  it("Avro records with the writer schema", () => {
    const schema = JSON.stringify({
      type: "record",
      name: "User",
      namespace: "com.x",
      fields: [
        { name: "name", type: "string" },
        { name: "age", type: ["null", "int"] },
        { name: "tags", type: { type: "array", items: "string" } },
        { name: "kind", type: { type: "enum", name: "Kind", symbols: ["A", "B"] } },
        { name: "score", type: "long" },
      ],
    });
    const snap: SerializerSnapshot = {
      className: "org.apache.flink.formats.avro.typeutils.AvroSerializerSnapshot",
      version: 2,
      config: { runtimeClass: "org.apache.avro.generic.GenericRecord", schema },
    };
    const s = serializerOf(snap);
    const v = { name: "ann", age: 41, tags: ["a", "b"], kind: "B", score: -3n };
    // zig-zag: 41 -> 0x52, -3 -> 0x05; union branch 1 -> 0x02
    assert.equal(hex(encode(s, v)), "06616e6e0252" + "04026102620002" + "05");
    assert.deepEqual(decode(s, encode(s, v)), v);
  });
});

describe("serializer snapshots round-trip through their writers", () => {
  const snaps: SerializerSnapshot[] = [
    simpleSnap("Long"),
    {
      className: `${B}StringSerializer$StringSerializerSnapshot`,
      version: 2,
      config: { serializerClass: `${B}StringSerializer` },
    },
    composite(`${B}ListSerializerSnapshot`, 1, [simpleSnap("Int")]),
    composite(`${B}MapSerializerSnapshot`, 1, [simpleSnap("String"), simpleSnap("Double")]),
    composite(
      "org.apache.flink.api.java.typeutils.runtime.TupleSerializerSnapshot",
      2,
      [simpleSnap("String"), simpleSnap("Long")],
      {
        tupleClass: "org.apache.flink.api.java.tuple.Tuple2",
      },
    ),
    composite("org.apache.flink.api.java.typeutils.runtime.RowSerializer$RowSerializerSnapshot", 3, [
      simpleSnap("Int"),
    ]),
    composite(`${B}GenericArraySerializerSnapshot`, 1, [simpleSnap("String")], {
      componentClass: "java.lang.String",
    }),
    {
      className: `${B}EnumSerializer$EnumSerializerSnapshot`,
      version: 3,
      config: { enumClass: "com.x.Color", constants: ["RED", "GREEN"] },
    },
    {
      className: "org.apache.flink.api.java.typeutils.runtime.PojoSerializerSnapshot",
      version: 2,
      config: {
        pojoClass: "com.x.Word",
        fields: [
          {
            name: "count",
            key: { declaringClass: "com.x.Word", fieldName: "count" },
            value: simpleSnap("Long"),
          },
        ],
        registeredSubclasses: [],
        nonRegisteredSubclasses: [{ name: "com.x.Sub", key: null, value: null }],
      },
    },
    {
      className: "org.apache.flink.api.java.typeutils.runtime.kryo.KryoSerializerSnapshot",
      version: 2,
      config: {
        typeClass: "com.x.Thing",
        registrations: [{ name: "com.x.Thing", key: Uint8Array.of(1), value: Uint8Array.of(2, 3) }],
        defaultSerializers: [],
        defaultSerializerClasses: [],
      },
    },
  ];
  for (const s of snaps) {
    it(s.className.slice(s.className.lastIndexOf(".") + 1), () => {
      const o = new DataOutput();
      writeSerializerSnapshot(o, s);
      const bytes = o.toBytes().slice();
      const i = new DataInput(bytes, "mem");
      const back = readSerializerSnapshot(i);
      assert.ok(i.atEnd);
      assert.deepEqual(back, s);
      serializerOf(back);
    });
  }
});
