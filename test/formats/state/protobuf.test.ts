/**
 * Protobuf messages in state, decoded with a user's .proto (dump --proto): values written by
 * protobuf-java and stored by Flink as byte[] (Flink 1.20.0 and 2.3.0) and as Kryo values through
 * chill-protobuf's ProtobufSerializer (Flink 1.20.0: registered for the class, and as the default
 * serializer of Message in a serializer of the Message interface, where Kryo writes the class name).
 * The expected JSON is protobuf-java's JsonFormat output for the message Flink read back
 * (fixtures/vectors/serializers, see its README.md).
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, it } from "node:test";
import { InvalidArgumentError, NotFoundError } from "../../../src/errors.js";
import { DataInput } from "../../../src/formats/io/data-input.js";
import { kryoProtobufPayload } from "../../../src/formats/state/serializers/protobuf.js";
import { readSerializerSnapshot, serializerOf } from "../../../src/formats/state/serializers/snapshots.js";
import type { StateValue } from "../../../src/formats/state/serializers/types.js";
import { loadProtobufDecoder } from "../../../src/ops/protobuf.js";

const DIR = resolve("fixtures", "vectors", "serializers");
const PROTO = join(DIR, "proto", "example.proto");
const TYPE = "savepointkit.example.Reading";
const JAVA_CLASS = "dev.savepointkit.serializers.proto.ExampleProtos$Reading";

interface VectorFile {
  snapshotHex: string;
  values: { hex: string; expected: unknown }[];
}

const CASES: [string, string][] = [
  ["1.20.0", "proto-bytes"],
  ["2.3.0", "proto-bytes"],
  ["1.20.0", "kryo-proto-registered"],
  ["1.20.0", "kryo-proto-default"],
];

function decodedValues(version: string, name: string): { value: StateValue; expected: unknown }[] {
  const v = JSON.parse(readFileSync(join(DIR, version, `${name}.json`), "utf8")) as VectorFile;
  const serializer = serializerOf(readSerializerSnapshot(new DataInput(Buffer.from(v.snapshotHex, "hex"))));
  return v.values.map((x) => {
    const input = new DataInput(Buffer.from(x.hex, "hex"));
    const value = serializer.read(input);
    assert.equal(input.remaining, 0);
    return { value, expected: x.expected };
  });
}

describe("protobuf values decoded with the .proto", async () => {
  const decoder = await loadProtobufDecoder(PROTO, TYPE);

  for (const [version, name] of CASES) {
    it(`${version} ${name}: every message as protobuf-java's JsonFormat prints it`, () => {
      const values = decodedValues(version, name);
      assert.equal(values.length, 3);
      for (const { value, expected } of values) {
        if (name === "proto-bytes")
          assert.ok(value instanceof Uint8Array, "byte[] stays bytes without --proto");
        else
          assert.equal(typeof (value as { class?: unknown }).class, "string", "Kryo stays {class, base64}");
        assert.deepStrictEqual(decoder.decode(value), expected);
        // inside list state and TTL wrappers too
        assert.deepStrictEqual(decoder.decode([value, value]), [expected, expected]);
        assert.deepStrictEqual(decoder.decode({ value, lastAccessTimestamp: 5n }), {
          value: expected,
          lastAccessTimestamp: 5n,
        });
      }
    });
  }

  it("finds the class Kryo wrote: a registration id, or the class name of an unregistered class", () => {
    const registered = decodedValues("1.20.0", "kryo-proto-registered")[0]?.value as { base64: string };
    const p1 = kryoProtobufPayload(Buffer.from(registered.base64, "base64"));
    assert.equal(p1.className, null);
    assert.equal(typeof p1.registrationId, "number");
    const unregistered = decodedValues("1.20.0", "kryo-proto-default")[0]?.value as { base64: string };
    const p2 = kryoProtobufPayload(Buffer.from(unregistered.base64, "base64"));
    assert.equal(p2.className, JAVA_CLASS);
    assert.equal(p2.registrationId, null);
    assert.deepEqual(p2.message, p1.message);
    assert.deepEqual(kryoProtobufPayload(Uint8Array.of(0)), {
      className: null,
      registrationId: null,
      message: null,
    });
  });

  it("refuses bytes that are not a message of the type, naming the type", () => {
    assert.throws(
      () => decoder.decode(Uint8Array.of(0x0a, 0x05, 0x61)),
      (e: unknown) => e instanceof InvalidArgumentError && e.message.includes(TYPE),
    );
    assert.throws(
      () =>
        decoder.decode({
          class: JAVA_CLASS,
          base64: Buffer.from([0x57, 0x01, 0x09, 0x01]).toString("base64"),
        }),
      (e: unknown) => e instanceof InvalidArgumentError && /not a chill-protobuf/.test(e.message),
    );
  });

  it("leaves other values alone", () => {
    assert.equal(decoder.decode("text"), "text");
    assert.equal(decoder.decode(7n), 7n);
    assert.deepEqual(decoder.decode({ start: 1n, end: 2n }), { start: 1n, end: 2n });
  });
});

describe("loading the .proto", () => {
  it("names the message types a file has when the type is not there", async () => {
    await assert.rejects(
      loadProtobufDecoder(PROTO, "savepointkit.example.Nope"),
      (e: unknown) =>
        e instanceof InvalidArgumentError && e.message.includes("savepointkit.example.Reading.Tag"),
    );
  });
  it("a missing file is NotFoundError", async () => {
    await assert.rejects(loadProtobufDecoder(join(DIR, "proto", "missing.proto"), TYPE), NotFoundError);
  });
});
