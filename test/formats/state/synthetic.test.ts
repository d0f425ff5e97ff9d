/**
 * Layouts the fixtures do not contain, built here from Flink's format with our writers and read back:
 * heap-native key groups with Snappy compression (one framed stream per state, concatenated), and
 * canonical key groups with a 2-byte key-group prefix (max parallelism > 128) and the length markers
 * written when both key and namespace serializers have variable length (String key, String namespace).
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DataOutput } from "../../../src/formats/io/data-output.js";
import type { KeyGroupsStateHandle } from "../../../src/formats/metadata/model.js";
import { type KeyedBackendHeader, writeKeyedBackendHeader } from "../../../src/formats/state/headers.js";
import { type KeyedStateEntry, keyedStates, readKeyedEntries } from "../../../src/formats/state/keyed.js";
import type { SerializerSnapshot } from "../../../src/formats/state/serializers/types.js";
import { writeStringValue } from "../../../src/formats/state/serializers/values.js";
import { SnappyFramedWriter } from "../../../src/formats/state/snappy.js";
import { memoryStateFile } from "../../../src/formats/state/stream.js";

const B = "org.apache.flink.api.common.typeutils.base.";
const simple = (n: string): SerializerSnapshot => ({
  className: `${B}${n}Serializer$${n}SerializerSnapshot`,
  version: 3,
});
const VOID: SerializerSnapshot = {
  className: "org.apache.flink.runtime.state.VoidNamespaceSerializer$VoidNamespaceSerializerSnapshot",
  version: 3,
};
const comp = (className: string, outerVersion: number, nested: SerializerSnapshot[]): SerializerSnapshot => ({
  className,
  version: 3,
  composite: { outerVersion, nestedVersion: 1, nested },
});
const kv = (name: string, type: string, ns: SerializerSnapshot, value: SerializerSnapshot) => ({
  name,
  backendStateType: "KEY_VALUE" as const,
  options: [["KEYED_STATE_TYPE", type]] as [string, string][],
  serializers: [
    { key: "VALUE_SERIALIZER", snapshot: value },
    { key: "NAMESPACE_SERIALIZER", snapshot: ns },
  ],
});

function handle(kind: KeyGroupsStateHandle["kind"], start: number, offsets: number[]): KeyGroupsStateHandle {
  return {
    kind,
    tag: kind === "KeyGroupsStateHandle" ? 12 : 7,
    keyGroupRange: { start, end: start + offsets.length - 1 },
    offsets: offsets.map(BigInt),
    delegate: { kind: "ByteStreamStateHandle", handleName: "x", data: new Uint8Array(0) },
    stateHandleId: null,
  };
}

async function read(bytes: Uint8Array, h: KeyGroupsStateHandle, header: KeyedBackendHeader, prefix: 1 | 2) {
  const out: KeyedStateEntry[] = [];
  for await (const e of readKeyedEntries(memoryStateFile(bytes, "file:///syn"), h, header, {
    keyGroupPrefixBytes: prefix,
    blockSize: 7,
  })) {
    out.push(e);
  }
  return out.map(({ bytes: _, ...e }) => e);
}

describe("synthetic layouts", () => {
  for (const compressed of [false, true]) {
    it(`heap native, ${compressed ? "Snappy per state" : "uncompressed"}: values, lists, TTL maps, timers`, async () => {
      const header: KeyedBackendHeader = {
        version: 6,
        compressed,
        keySerializer: simple("String"),
        states: [
          kv("count", "VALUE", VOID, simple("Long")),
          kv("list", "LIST", VOID, comp(`${B}ListSerializerSnapshot`, 1, [simple("Int")])),
          kv(
            "map",
            "MAP",
            VOID,
            comp(`${B}MapSerializerSnapshot`, 1, [
              simple("String"),
              comp("org.apache.flink.runtime.state.ttl.TtlStateFactory$TtlSerializerSnapshot", 2, [
                simple("Long"),
                simple("Double"),
              ]),
            ]),
          ),
          {
            name: "_timer_state/event_t",
            backendStateType: "PRIORITY_QUEUE",
            options: [],
            serializers: [
              {
                key: "VALUE_SERIALIZER",
                snapshot: comp("org.apache.flink.streaming.api.operators.TimerSerializerSnapshot", 2, [
                  simple("String"),
                  VOID,
                ]),
              },
            ],
          },
        ],
      };
      const infos = keyedStates(header);
      const out = new DataOutput();
      writeKeyedBackendHeader(out, header);
      const parts: Uint8Array[] = [out.toBytes().slice()];
      let pos = parts[0]?.length ?? 0;
      const offsets: number[] = [];
      const section = (stateId: number, count: number, write: (o: DataOutput) => void) => {
        const o = new DataOutput();
        o.writeShort(stateId).writeInt(count);
        write(o);
        const raw = o.toBytes().slice();
        return compressed ? new SnappyFramedWriter().write(raw).close() : raw;
      };
      const strBytes = (s: string) => {
        const o = new DataOutput();
        writeStringValue(o, s);
        return o.toBytes().slice();
      };
      for (const kg of [10, 11]) {
        offsets.push(pos);
        const key = `k${kg}`;
        const sections: Uint8Array[] = [];
        // heap writes states in its own order; use 3, 0, 2, 1
        sections.push(
          section(3, 1, (o) =>
            infos[3]?.value?.write(o, { timestamp: BigInt(kg * 100), key, namespace: null }),
          ),
          section(0, 1, (o) => {
            o.writeByte(0).write(strBytes(key));
            infos[0]?.value?.write(o, BigInt(kg));
          }),
          section(2, 1, (o) => {
            o.writeByte(0).write(strBytes(key));
            infos[2]?.value?.write(o, [
              { key: "a", value: { value: 1.5, lastAccessTimestamp: 7n } },
              { key: "b", value: null },
            ]);
          }),
          section(1, 2, (o) => {
            o.writeByte(0).write(strBytes(key));
            infos[1]?.value?.write(o, [kg, kg + 1]);
            o.writeByte(0).write(strBytes(`${key}-empty`));
            infos[1]?.value?.write(o, []);
          }),
        );
        const kgInt = new DataOutput().writeInt(kg).toBytes().slice();
        parts.push(kgInt, ...sections);
        pos += kgInt.length + sections.reduce((n, s) => n + s.length, 0);
      }
      const bytes = new Uint8Array(Buffer.concat(parts));
      const got = await read(bytes, handle("KeyGroupsStateHandle", 10, offsets), header, 1);
      assert.deepEqual(
        got.filter((e) => e.keyGroup === 11),
        [
          {
            keyGroup: 11,
            stateId: 3,
            state: "_timer_state/event_t",
            key: "k11",
            namespace: null,
            value: { timestamp: 1100n, key: "k11", namespace: null },
          },
          { keyGroup: 11, stateId: 0, state: "count", key: "k11", namespace: null, value: 11n },
          {
            keyGroup: 11,
            stateId: 2,
            state: "map",
            key: "k11",
            namespace: null,
            userKey: "a",
            value: { value: 1.5, lastAccessTimestamp: 7n },
          },
          { keyGroup: 11, stateId: 2, state: "map", key: "k11", namespace: null, userKey: "b", value: null },
          { keyGroup: 11, stateId: 1, state: "list", key: "k11", namespace: null, value: [11, 12] },
        ],
      );
      assert.equal(got.length, 10);
    });
  }

  it("canonical with a 2-byte key-group prefix and key/namespace length markers", async () => {
    const header: KeyedBackendHeader = {
      version: 6,
      compressed: true,
      keySerializer: simple("String"),
      states: [
        kv("s", "VALUE", simple("String"), simple("Long")),
        kv("l", "LIST", simple("String"), comp(`${B}ListSerializerSnapshot`, 1, [simple("String")])),
      ],
    };
    const infos = keyedStates(header);
    const str = infos[0]?.namespace;
    assert.ok(str);
    const key = (kg: number, k: string, ns: string, flag: boolean) => {
      const o = new DataOutput();
      o.writeShort(kg | (flag ? 0x8000 : 0));
      const a = o.length;
      str.write(o, k);
      o.writeByte(o.length - a); // length marker: one byte for lengths < 256
      const b = o.length;
      str.write(o, ns);
      o.writeByte(o.length - b);
      return o.toBytes().slice();
    };
    const out = new DataOutput();
    writeKeyedBackendHeader(out, header);
    const head = out.toBytes().slice();
    const body = new DataOutput();
    body.writeShort(0);
    const k1 = key(300, "x", "ns-1", true);
    body.writeInt(k1.length).write(k1).writeInt(8).writeLong(42n).writeShort(1);
    const k2 = key(300, "x", "ns-2", true);
    const v2 = new DataOutput();
    str.write(v2, "a");
    v2.writeByte(0x2c);
    str.write(v2, "b,c");
    body.writeInt(k2.length).write(k2).writeInt(v2.length).write(v2.toBytes()).writeShort(0xffff);
    const kgBytes = new SnappyFramedWriter().write(body.toBytes()).close();
    const bytes = new Uint8Array(Buffer.concat([head, kgBytes]));
    const got = await read(
      bytes,
      handle("KeyGroupsSavepointStateHandle", 299, [0, head.length, 0]),
      header,
      2,
    );
    assert.deepEqual(got, [
      { keyGroup: 300, stateId: 0, state: "s", key: "x", namespace: "ns-1", value: 42n },
      { keyGroup: 300, stateId: 1, state: "l", key: "x", namespace: "ns-2", value: ["a", "b,c"] },
    ]);
  });
});
