/**
 * The Table/SQL runtime serializers (RowDataSerializer, BinaryRowDataSerializer, StringData, Decimal,
 * Timestamp, ArrayData, MapData, RawValueData) against the vectors Flink 1.20.0 and 2.3.0 wrote
 * (fixtures/vectors/serializers, see its README.md): for every vector our reader
 *  - reads Flink's snapshot bytes completely and writes them back byte for byte;
 *  - decodes every value Flink serialized to exactly what Flink's restored serializer read (the
 *    vector's `expected`, described through Flink's own RowData accessors), using every byte;
 *  - encodes the decoded value back to Flink's exact bytes.
 * A vector listed in EXPECTED but missing on disk fails.
 */

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, it } from "node:test";
import { CorruptSnapshotError, UnsupportedVersionError } from "../../../src/errors.js";
import { DataInput } from "../../../src/formats/io/data-input.js";
import { DataOutput } from "../../../src/formats/io/data-output.js";
import {
  bigIntegerFromBytes,
  bigIntegerToBytes,
  decimalString,
} from "../../../src/formats/state/serializers/binary-row.js";
import { type LogicalType, logicalTypeString } from "../../../src/formats/state/serializers/logical-type.js";
import {
  readSerializerSnapshot,
  serializerOf,
  typeNameOf,
  writeSerializerSnapshot,
} from "../../../src/formats/state/serializers/snapshots.js";
import type { StateValue } from "../../../src/formats/state/serializers/types.js";
import { type PieceSource, StreamInput } from "../../../src/formats/state/stream.js";

const DIR = resolve("fixtures", "vectors", "serializers");

const TABLE_VECTORS = [
  "rowdata",
  "rowdata-key",
  "string-data",
  "decimal-compact",
  "decimal-wide",
  "timestamp-3",
  "timestamp-9",
  "array-data",
  "map-data",
  "raw-value",
  "binary-row",
];
const EXPECTED: Record<string, string[]> = { "1.20.0": TABLE_VECTORS, "2.3.0": TABLE_VECTORS };

interface VectorFile {
  flinkVersion: string;
  vector: string;
  snapshotClass: string;
  snapshotHex: string;
  values: { hex: string; expected: unknown }[];
}

/** A decoded value as the vector JSON writes it: longs as decimal strings, bytes as base64. */
export function jsonOf(v: StateValue): unknown {
  if (typeof v === "bigint") return v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString("base64");
  if (Array.isArray(v)) return v.map(jsonOf);
  if (v !== null && typeof v === "object")
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonOf(x)]));
  return v;
}

function load(version: string, name: string): VectorFile {
  return JSON.parse(readFileSync(join(DIR, version, `${name}.json`), "utf8")) as VectorFile;
}

for (const [version, names] of Object.entries(EXPECTED)) {
  describe(`Table serializer vectors written by Flink ${version}`, () => {
    for (const name of names) {
      it(`${name}: snapshot and values as Flink reads them, written back byte for byte`, () => {
        const file = join(DIR, version, `${name}.json`);
        assert.ok(existsSync(file), `missing ${file}`);
        const v = load(version, name);
        const snapshotBytes = Buffer.from(v.snapshotHex, "hex");
        const input = new DataInput(snapshotBytes, file);
        const snapshot = readSerializerSnapshot(input);
        assert.equal(input.remaining, 0, "snapshot bytes left over");
        assert.equal(snapshot.className, v.snapshotClass);
        const out = new DataOutput();
        writeSerializerSnapshot(out, snapshot);
        assert.deepEqual(Buffer.from(out.toBytes()), snapshotBytes, "snapshot rewritten differently");

        const serializer = serializerOf(snapshot);
        assert.ok(v.values.length > 0);
        for (const [k, value] of v.values.entries()) {
          const bytes = Buffer.from(value.hex, "hex");
          const vi = new DataInput(bytes, file);
          const decoded = serializer.read(vi);
          assert.equal(vi.remaining, 0, `value ${k}: bytes left over`);
          const got = jsonOf(decoded) as { class?: string };
          if (name === "raw-value") {
            // The inner serializer is a StringSerializer: Flink's describer names the Java class.
            assert.equal(got.class, "String");
            assert.deepEqual({ ...got, class: "java.lang.String" }, value.expected, `value ${k}`);
          } else {
            assert.deepStrictEqual(got, value.expected, `value ${k}`);
          }
          const w = new DataOutput();
          serializer.write(w, decoded);
          assert.equal(
            Buffer.from(w.toBytes()).toString("hex"),
            value.hex,
            `value ${k} re-encoded differently`,
          );
        }
      });
    }
  });
}

describe("RowData field types from the Java-serialized LogicalTypes", () => {
  it("names every logical type of the big row as Flink does (field names of nested rows kept)", () => {
    const v = load("2.3.0", "rowdata");
    const snapshot = readSerializerSnapshot(new DataInput(Buffer.from(v.snapshotHex, "hex")));
    const types = (snapshot.config as { types: LogicalType[] }).types;
    assert.deepEqual(types.map(logicalTypeString), [
      "BOOLEAN",
      "TINYINT",
      "SMALLINT",
      "INT NOT NULL",
      "BIGINT",
      "FLOAT",
      "DOUBLE",
      "CHAR(3)",
      "STRING",
      "BINARY(4)",
      "BYTES",
      "DECIMAL(10, 2)",
      "DECIMAL(38, 10)",
      "DATE",
      "TIME(0)",
      "TIMESTAMP(3)",
      "TIMESTAMP(9)",
      "TIMESTAMP_LTZ(6)",
      "INTERVAL YEAR TO MONTH",
      "INTERVAL DAY TO SECOND",
      "ARRAY<INT>",
      "ARRAY<STRING>",
      "ARRAY<SMALLINT>",
      "ARRAY<BOOLEAN>",
      "ARRAY<DECIMAL(38, 10)>",
      "ARRAY<TIMESTAMP(9)>",
      "ARRAY<ROW<`name` STRING, `score` DOUBLE, `tags` ARRAY<STRING>>>",
      "MAP<STRING, BIGINT>",
      "MULTISET<STRING>",
      "ROW<`name` STRING, `score` DOUBLE, `tags` ARRAY<STRING>>",
      "RAW('java.lang.String', ...)",
    ]);
    assert.equal(types[29]?.fields?.[2]?.description, "a description");
    assert.match(typeNameOf(snapshot), /^RowData<BOOLEAN, TINYINT, /);
  });
});

describe("decimal and BigInteger helpers", () => {
  it("format unscaled values like BigDecimal.toPlainString", () => {
    assert.equal(decimalString(1234567n, 2), "12345.67");
    assert.equal(decimalString(-5n, 2), "-0.05");
    assert.equal(decimalString(0n, 3), "0.000");
    assert.equal(decimalString(42n, 0), "42");
  });
  it("round-trip two's-complement bytes at the byte boundaries", () => {
    for (const x of [0n, 1n, -1n, 127n, 128n, -128n, -129n, 255n, 256n, -(10n ** 37n), 10n ** 38n - 1n]) {
      const b = bigIntegerToBytes(x);
      assert.equal(bigIntegerFromBytes(b), x);
      if (x >= -128n && x <= 127n) assert.equal(b.length, 1);
    }
  });
});

describe("corrupt RowData values", () => {
  const v = load("2.3.0", "rowdata");
  const snapshot = readSerializerSnapshot(new DataInput(Buffer.from(v.snapshotHex, "hex")));
  const serializer = serializerOf(snapshot);
  const good = Buffer.from(v.values[0]?.hex ?? "", "hex");

  it("a truncated value names the file and offset", () => {
    const cut = good.subarray(0, good.length - 5);
    assert.throws(
      () => serializer.read(new DataInput(cut, "file:///x", 1000)),
      (e: unknown) => e instanceof CorruptSnapshotError && e.offset >= 1000,
    );
  });

  it("a field pointer outside the row is refused with the offset of the slot", () => {
    const bad = Buffer.from(good);
    // f8 (STRING "hello") is inline; f21 (ARRAY<STRING>) points into the variable part: corrupt its offset.
    const nullBytes = 8;
    const slot = 4 + nullBytes + 8 * 21;
    bad.writeInt32LE(0x7fff0000, slot + 4);
    assert.throws(
      () => serializer.read(new DataInput(bad, "file:///x")),
      (e: unknown) => e instanceof CorruptSnapshotError && e.offset === slot && /outside/.test(e.message),
    );
  });

  it("a bad RowKind byte is refused", () => {
    const bad = Buffer.from(good);
    bad[4] = 9;
    assert.throws(() => serializer.read(new DataInput(bad, "file:///x")), CorruptSnapshotError);
  });
});

describe("RowData snapshots in streamed headers and corrupt snapshots", () => {
  const v = load("2.3.0", "rowdata");
  const bytes = Buffer.from(v.snapshotHex, "hex");

  it("a 30 KB RowData snapshot read from a stream in 100-byte pieces asks for more bytes and reads whole", async () => {
    let at = 0;
    const source: PieceSource = {
      next: async () => {
        if (at >= bytes.length) return null;
        const piece = { bytes: bytes.subarray(at, at + 100), fileOffset: at, compressed: false };
        at += 100;
        return piece;
      },
    };
    const input = new StreamInput(source, "file:///stream", 0);
    const snapshot = await input.read(readSerializerSnapshot);
    assert.equal(input.position, bytes.length);
    assert.equal((snapshot.config as { types: LogicalType[] }).types.length, 31);
  });

  it("a snapshot cut inside a Java-serialized LogicalType is a CorruptSnapshotError at the end of the bytes", () => {
    for (const cut of [200, 1000, 5000, bytes.length - 10]) {
      assert.throws(
        () => readSerializerSnapshot(new DataInput(bytes.subarray(0, cut), "file:///x", 100)),
        (e: unknown) => e instanceof CorruptSnapshotError && e.offset <= 100 + cut,
        `cut at ${cut}`,
      );
    }
  });

  it("single-byte corruptions of a snapshot and of a value give typed errors or other values, never crashes", () => {
    const value = Buffer.from(v.values[0]?.hex ?? "", "hex");
    const serializer = serializerOf(readSerializerSnapshot(new DataInput(bytes)));
    const typed = (e: unknown) => e instanceof CorruptSnapshotError || e instanceof UnsupportedVersionError;
    for (let k = 0; k < bytes.length; k += 97) {
      const bad = Buffer.from(bytes);
      bad[k] = (bad[k] as number) ^ 0xff;
      try {
        serializerOf(readSerializerSnapshot(new DataInput(bad)));
      } catch (e) {
        assert.ok(typed(e), `snapshot byte ${k}: ${(e as Error).stack}`);
      }
    }
    for (let k = 4; k < value.length; k += 3) {
      const bad = Buffer.from(value);
      bad[k] = (bad[k] as number) ^ 0x5a;
      try {
        serializer.read(new DataInput(bad));
      } catch (e) {
        assert.ok(typed(e), `value byte ${k}: ${(e as Error).stack}`);
      }
    }
  });
});
