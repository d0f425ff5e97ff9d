/**
 * Issue #8, the formats under `convert`: the canonical key-groups writer against Flink's own canonical
 * savepoints (re-encoding what the raw reader reads gives Flink's bytes), heap native -> canonical
 * against the canonical savepoint Flink wrote for the same job, the heap native writer, and synthetic
 * layouts the fixtures lack (2-byte key-group prefix, ambiguous keys with multi-byte length markers,
 * null map values, empty lists, Snappy), each checked with the project's independent decoding reader.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { InvalidArgumentError } from "../../src/errors.js";
import { DataOutput } from "../../src/formats/io/data-output.js";
import { readMetadata } from "../../src/formats/metadata/index.js";
import type { KeyGroupsStateHandle } from "../../src/formats/metadata/model.js";
import { filePointer } from "../../src/formats/metadata/pointers.js";
import { decodeCheckpointProperties } from "../../src/formats/metadata/properties.js";
import { allHandles } from "../../src/formats/metadata/traverse.js";
import {
  canonicalKeyLayout,
  heapConversionProblems,
  heapEntryToCanonical,
  readHeapRawEntries,
} from "../../src/formats/state/canonical-heap.js";
import { readCanonicalRecords } from "../../src/formats/state/canonical-records.js";
import {
  CanonicalKeyGroupsWriter,
  type CanonicalRecord,
  compositeKey,
  encodeCanonicalKeyGroups,
  variableIntBytes,
} from "../../src/formats/state/canonical-writer.js";
import type { KeyedBackendHeader } from "../../src/formats/state/headers.js";
import {
  type KeyedStateEntry,
  keyedStates,
  readKeyedEntries,
  readKeyedHeader,
} from "../../src/formats/state/keyed.js";
import type { SerializerSnapshot, StateValue } from "../../src/formats/state/serializers/types.js";
import { decodeSnappyFramed } from "../../src/formats/state/snappy.js";
import { memoryStateFile } from "../../src/formats/state/stream.js";
import {
  canonicalToHeapSections,
  HeapKeyGroupsWriter,
  type HeapStateSection,
  heapKeyLayout,
} from "../../src/formats/state/write-heap.js";
import { setSavepointFormatType } from "../../src/ops/convert.js";
import { normalizeUri } from "../../src/storage/uri.js";
import { listFixtures } from "../helpers/fixtures.js";

const fixtures = listFixtures();
const lines = [...new Set(fixtures.map((f) => f.id.split("/")[0]?.replace("flink-", "") as string))].sort();

interface KeyedFile {
  key: string;
  handle: KeyGroupsStateHandle;
  bytes: Uint8Array;
  maxParallelism: number;
}

/** The keyed key-group files of a fixture, by `<operatorId>/<subtask>`. */
function keyedFiles(line: string, c: string): Map<string, KeyedFile> {
  const f = fixtures.find((x) => x.id === `flink-${line}/${c}`);
  assert.ok(f, `${line}/${c}`);
  const m = readMetadata(readFileSync(f.metadataFile), f.metadataFile);
  const dir = normalizeUri(f.metadataDir);
  const out = new Map<string, KeyedFile>();
  for (const v of allHandles(m)) {
    const h = v.handle;
    if (v.slot !== "managedKeyedState") continue;
    if (h.kind !== "KeyGroupsStateHandle" && h.kind !== "KeyGroupsSavepointStateHandle") continue;
    const d = h.delegate;
    const bytes =
      d.kind === "ByteStreamStateHandle"
        ? Uint8Array.from(d.data)
        : new Uint8Array(readFileSync(new URL(filePointer(d, dir)?.uri as string)));
    const key = `${v.operator.operatorId}/${v.subtask.subtaskIndex}`;
    out.set(key, { key, handle: h, bytes, maxParallelism: v.operator.maxParallelism });
  }
  assert.ok(out.size > 0);
  return out;
}

async function records(
  bytes: Uint8Array,
  handle: KeyGroupsStateHandle,
  header: KeyedBackendHeader,
): Promise<CanonicalRecord[]> {
  const out: CanonicalRecord[] = [];
  for await (const b of readCanonicalRecords(memoryStateFile(bytes, "file:///x"), handle, header, {
    blockSize: 61,
  }))
    out.push(...b);
  return out;
}

const json = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? `${x}n` : x));

async function decoded(
  bytes: Uint8Array,
  handle: KeyGroupsStateHandle,
  header: KeyedBackendHeader,
  prefix: 1 | 2,
): Promise<string[]> {
  const out: string[] = [];
  for await (const e of readKeyedEntries(memoryStateFile(bytes, "file:///x"), handle, header, {
    keyGroupPrefixBytes: prefix,
    blockSize: 53,
  })) {
    const { bytes: _, ...rest } = e as KeyedStateEntry;
    out.push(json(rest));
  }
  return out.sort();
}

/** The data of each key group with data: its bytes, decompressed when compressed, and its chunks. */
function keyGroupData(bytes: Uint8Array, offsets: bigint[], compressed: boolean) {
  const starts = offsets.map(Number).filter((o) => o > 0);
  return starts.map((s, i) => {
    const span = bytes.subarray(s, starts[i + 1] ?? bytes.length);
    if (!compressed) return { data: Buffer.from(span).toString("hex"), chunks: "" };
    const chunks = decodeSnappyFramed(span);
    return {
      data: Buffer.concat(chunks.map((c) => c.data)).toString("hex"),
      // type and stored CRC of every chunk (the CRC is of the uncompressed data)
      chunks: chunks
        .map(
          (c) =>
            `${c.type}:${Buffer.from(span.subarray(c.fileOffset + 4, c.fileOffset + 8)).toString("hex")}`,
        )
        .join(","),
    };
  });
}

describe("canonical writer: Flink's canonical savepoints re-encoded", () => {
  for (const line of lines) {
    for (const c of ["savepoint-canonical-hashmap", "savepoint-canonical-rocksdb"]) {
      it(`${line} ${c}: same header, key groups, offsets structure and data as Flink wrote`, async () => {
        let identicalFiles = 0;
        const files = keyedFiles(line, c);
        for (const f of files.values()) {
          const file = memoryStateFile(f.bytes, "file:///x");
          const { header } = await readKeyedHeader(file);
          assert.equal(header.compressed, true, "the canonical fixtures are compressed");
          const recs = await records(f.bytes, f.handle, header);
          const out = encodeCanonicalKeyGroups(
            { header, keyGroupRange: f.handle.keyGroupRange, keyGroupPrefixBytes: 1 },
            recs,
          );
          assert.equal(out.records, recs.length);
          // the header is byte-identical
          assert.deepEqual(out.bytes.subarray(0, out.headerSize), f.bytes.subarray(0, out.headerSize), f.key);
          // the same key groups have data
          assert.deepEqual(
            out.offsets.map((o) => o > 0n),
            f.handle.offsets.map((o) => o > 0n),
            f.key,
          );
          // per key group: the same uncompressed stream and the same Snappy chunks (types, CRCs); only the
          // compressed block encoding may differ (snappy-java's C++ snappy vs the Rust codec)
          assert.deepEqual(
            keyGroupData(out.bytes, out.offsets, true),
            keyGroupData(f.bytes, f.handle.offsets, true),
            f.key,
          );
          if (Buffer.compare(Buffer.from(out.bytes), Buffer.from(f.bytes)) === 0) {
            identicalFiles++;
            assert.deepEqual(out.offsets, f.handle.offsets);
          }
          // uncompressed, the writer's bytes decode to the same entries as Flink's file
          const plain = { ...header, compressed: false };
          const raw = encodeCanonicalKeyGroups(
            { header: plain, keyGroupRange: f.handle.keyGroupRange, keyGroupPrefixBytes: 1 },
            recs,
          );
          const h2 = { ...f.handle, offsets: raw.offsets };
          assert.deepEqual(
            await decoded(raw.bytes, h2, plain, 1),
            await decoded(f.bytes, f.handle, header, 1),
            f.key,
          );
          assert.deepEqual(await records(raw.bytes, h2, plain), recs);
        }
        // files whose key groups fit stored chunks or where both codecs agree are byte-identical
        assert.ok(identicalFiles > 0, "some files are byte-identical to Flink's");
      });
    }
  }
});

describe("canonical writer: uncompressed files of several MiB", () => {
  /**
   * About 5 MiB of records over key groups 0-127 and `states` states: values of 0 B to 40 KiB filled with
   * one byte (with `marked`, the middle byte differs, so Snappy cannot shrink a value to nothing), and
   * one of 1.5 MiB (larger than a writer's stage).
   */
  function severalMiB(states: number, marked: boolean): CanonicalRecord[] {
    const recs: CanonicalRecord[] = [];
    for (let kg = 0; kg < 128; kg += kg % 3 === 0 ? 1 : 2) {
      for (let stateId = 0; stateId < states; stateId++) {
        for (let i = 0; i < 3; i++) {
          const n = kg === 64 && stateId === 0 && i === 1 ? 1_500_000 : (kg * 7919 + i * 104729) % 40_000;
          const value = new Uint8Array(n).fill((kg + stateId + i) & 0xff);
          if (marked && n > 0) value[n >> 1] = i;
          recs.push({ keyGroup: kg, stateId, key: Uint8Array.of(kg, stateId, i), value });
        }
      }
    }
    return recs;
  }

  it("streamed in pieces or at once, the same bytes, offsets and records (stages handed out whole)", async () => {
    const f = [...keyedFiles(lines[0] as string, "savepoint-canonical-rocksdb").values()][0];
    assert.ok(f);
    const { header: flinkHeader } = await readKeyedHeader(memoryStateFile(f.bytes, "file:///x"));
    const header = { ...flinkHeader, compressed: false };
    const range = { start: 0, end: 127 };
    const recs = severalMiB(header.states.length, false);
    const whole = encodeCanonicalKeyGroups({ header, keyGroupRange: range, keyGroupPrefixBytes: 1 }, recs);
    const w = new CanonicalKeyGroupsWriter({ header, keyGroupRange: range, keyGroupPrefixBytes: 1 });
    const pieces: Uint8Array[] = [];
    for (const r of recs) {
      w.add(r);
      if (w.buffered >= 256 * 1024) pieces.push(w.take());
    }
    const result = w.finish();
    pieces.push(w.take());
    const streamed = Buffer.concat(pieces);
    assert.ok(streamed.byteLength > 5 * 1024 * 1024, `${streamed.byteLength}`);
    assert.equal(result.size, streamed.byteLength);
    assert.deepEqual(result.offsets, whole.offsets);
    assert.equal(Buffer.compare(streamed, Buffer.from(whole.bytes)), 0);
    const handle: KeyGroupsStateHandle = { ...f.handle, keyGroupRange: range, offsets: result.offsets };
    assert.deepEqual(await records(streamed, handle, header), recs);
  });

  it("taken as complete pieces (takeParts, no joining copy), the same bytes, compressed or not", async () => {
    const f = [...keyedFiles(lines[0] as string, "savepoint-canonical-rocksdb").values()][0];
    assert.ok(f);
    const { header: flinkHeader } = await readKeyedHeader(memoryStateFile(f.bytes, "file:///x"));
    const range = { start: 0, end: 127 };
    for (const compressed of [false, true]) {
      const header = { ...flinkHeader, compressed };
      const recs = severalMiB(header.states.length, true);
      const whole = encodeCanonicalKeyGroups({ header, keyGroupRange: range, keyGroupPrefixBytes: 1 }, recs);
      const w = new CanonicalKeyGroupsWriter({ header, keyGroupRange: range, keyGroupPrefixBytes: 1 });
      const pieces: Uint8Array[] = [];
      let takes = 0;
      for (const r of recs) {
        w.add(r);
        if (w.ready >= 256 * 1024) {
          const parts = w.takeParts();
          assert.equal(w.ready, 0);
          pieces.push(...parts);
          takes++;
        }
      }
      const result = w.finish();
      pieces.push(...w.takeParts());
      assert.deepEqual(w.takeParts(), []);
      assert.ok(takes >= 2, `${takes} takes`);
      const streamed = Buffer.concat(pieces);
      assert.equal(result.size, streamed.byteLength);
      assert.deepEqual(result.offsets, whole.offsets);
      assert.equal(Buffer.compare(streamed, Buffer.from(whole.bytes)), 0, `compressed ${compressed}`);
      const handle: KeyGroupsStateHandle = { ...f.handle, keyGroupRange: range, offsets: result.offsets };
      assert.deepEqual(await records(streamed, handle, header), recs);
    }
  });
});

describe("heap native -> canonical, against Flink's canonical savepoint of the same job", () => {
  for (const line of lines) {
    it(`${line}: same header and, per key group, the same records (TTL timestamps aside)`, async () => {
      const native = keyedFiles(line, "savepoint-native-hashmap");
      const canonical = keyedFiles(line, "savepoint-canonical-hashmap");
      assert.deepEqual([...native.keys()].sort(), [...canonical.keys()].sort());
      for (const [k, n] of native) {
        const file = memoryStateFile(n.bytes, "file:///heap");
        const { header } = await readKeyedHeader(file);
        assert.deepEqual(heapConversionProblems(header), []);
        const layout = canonicalKeyLayout(header, n.maxParallelism);
        const converted: CanonicalRecord[] = [];
        for await (const b of readHeapRawEntries(file, n.handle, header, { blockSize: 37 }))
          for (const e of b) converted.push(...heapEntryToCanonical(e, layout));
        const compressedHeader = { ...header, compressed: true };
        const out = encodeCanonicalKeyGroups(
          { header: compressedHeader, keyGroupRange: n.handle.keyGroupRange, keyGroupPrefixBytes: 1 },
          converted,
        );
        const c = canonical.get(k) as KeyedFile;
        const { header: flinkHeader } = await readKeyedHeader(memoryStateFile(c.bytes));
        // the native header with compression on is exactly the header Flink writes in the canonical savepoint
        assert.deepEqual(out.bytes.subarray(0, out.headerSize), c.bytes.subarray(0, out.headerSize), k);
        const states = keyedStates(header);
        const norm = (r: CanonicalRecord) => {
          const s = states[r.stateId];
          const v = Buffer.from(r.value).toString("hex");
          // TTL values carry the processing time of each run: compare their length only
          return `${r.keyGroup} ${s?.name} ${Buffer.from(r.key).toString("hex")} ${s?.ttl ? v.length : v}`;
        };
        const ours = (await records(out.bytes, { ...n.handle, offsets: out.offsets }, compressedHeader)).map(
          norm,
        );
        const flink = (await records(c.bytes, c.handle, flinkHeader)).map(norm);
        assert.deepEqual(ours.sort(), flink.sort(), k);
        assert.deepEqual(
          out.offsets.map((o) => o > 0n),
          c.handle.offsets.map((o) => o > 0n),
          `${k}: the same key groups have data`,
        );
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------------
// Synthetic layouts

const B = "org.apache.flink.api.common.typeutils.base.";
const simple = (n: string): SerializerSnapshot => ({
  className: `${B}${n}Serializer$${n}SerializerSnapshot`,
  version: 3,
});
const VOID: SerializerSnapshot = {
  className: "org.apache.flink.runtime.state.VoidNamespaceSerializer$VoidNamespaceSerializerSnapshot",
  version: 3,
};
const WINDOW: SerializerSnapshot = {
  className:
    "org.apache.flink.streaming.api.windowing.windows.TimeWindow$Serializer$TimeWindowSerializerSnapshot",
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

function syntheticHeader(compressed: boolean): KeyedBackendHeader {
  return {
    version: 6,
    compressed,
    keySerializer: simple("String"),
    states: [
      kv("by-ns", "VALUE", simple("String"), simple("Long")),
      kv("list", "LIST", simple("String"), comp(`${B}ListSerializerSnapshot`, 1, [simple("String")])),
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
      kv("window", "AGGREGATING", WINDOW, simple("Long")),
      {
        name: "_timer_state/event_t",
        backendStateType: "PRIORITY_QUEUE",
        options: [],
        serializers: [
          {
            key: "VALUE_SERIALIZER",
            snapshot: comp("org.apache.flink.streaming.api.operators.TimerSerializerSnapshot", 2, [
              simple("String"),
              WINDOW,
            ]),
          },
        ],
      },
    ],
  };
}

/** Heap sections of the synthetic model: key groups 130..133 (133 empty), 2-byte prefix (max parallelism 256). */
function syntheticSections(header: KeyedBackendHeader, withEmpty: boolean): Map<number, HeapStateSection[]> {
  const infos = keyedStates(header);
  const ser = (i: number, f: "namespace" | "value") => {
    const s = infos[i]?.[f];
    assert.ok(s);
    return s;
  };
  const keySer = ser(0, "namespace"); // a String serializer
  const entry = (state: number, ns: StateValue, key: string, value: StateValue) => {
    const o = new DataOutput();
    ser(state, "namespace").write(o, ns);
    keySer.write(o, key);
    ser(state, "value").write(o, value);
    return o.toBytes().slice();
  };
  const long = "k".repeat(300); // a key of 302 bytes: a 2-byte length marker
  const out = new Map<number, HeapStateSection[]>();
  for (const kg of [130, 131, 132]) {
    const k = `key-${kg}`;
    out.set(kg, [
      { stateId: 0, entries: [entry(0, "ns-a", k, BigInt(kg)), entry(0, "n".repeat(260), long, -1n)] },
      {
        stateId: 1,
        entries: [
          entry(1, "x", k, ["a", "bb", ""]),
          entry(1, "", long, ["only"]),
          ...(withEmpty ? [entry(1, "y", k, [])] : []),
        ],
      },
      {
        stateId: 2,
        entries: [
          entry(2, null, k, [
            { key: "u1", value: { lastAccessTimestamp: 5n, value: 0.5 } },
            { key: "u2", value: null },
          ]),
          ...(withEmpty ? [entry(2, null, `${k}-empty`, [])] : []),
        ],
      },
      { stateId: 3, entries: [entry(3, { start: 0n, end: 10_000n }, k, 42n)] },
      {
        stateId: 4,
        entries: [
          (() => {
            const o = new DataOutput();
            ser(4, "value").write(o, { timestamp: 9_999n, key: k, namespace: { start: 0n, end: 10_000n } });
            return o.toBytes().slice();
          })(),
        ],
      },
    ]);
  }
  return out;
}

function writeHeap(header: KeyedBackendHeader, sections: Map<number, HeapStateSection[]>) {
  const w = new HeapKeyGroupsWriter({ header, keyGroupRange: { start: 130, end: 133 } });
  for (const [kg, s] of sections) w.writeKeyGroup(kg, s);
  const r = w.finish();
  const handle: KeyGroupsStateHandle = {
    kind: "KeyGroupsStateHandle",
    tag: 12,
    keyGroupRange: { start: 130, end: 133 },
    offsets: r.offsets,
    delegate: { kind: "ByteStreamStateHandle", handleName: "x", data: new Uint8Array(0) },
    stateHandleId: "id",
  };
  return { bytes: w.take(), handle, result: r };
}

describe("synthetic: heap native <-> canonical", () => {
  for (const compressed of [false, true]) {
    it(`${compressed ? "Snappy" : "uncompressed"}: String namespaces (length markers), 2-byte prefix, null map values, empty lists`, async () => {
      const header = syntheticHeader(compressed);
      const heap = writeHeap(header, syntheticSections(header, true));
      assert.equal(heap.result.offsets.length, 4, "every key group, the empty one included");
      assert.ok(heap.result.offsets.every((o) => o > 0n));
      const heapEntries = await decoded(heap.bytes, heap.handle, header, 2);
      // the model: per key group 2 values, 3 lists (one empty, not listed), 2 map rows, 1 window value, 1 timer
      assert.equal(heapEntries.length, 3 * (2 + 2 + 2 + 1 + 1));

      // heap -> canonical
      const layout = canonicalKeyLayout(header, 256);
      assert.deepEqual(layout, { prefixBytes: 2, ambiguous: [true, true, false, false, false] });
      const recs: CanonicalRecord[] = [];
      for await (const b of readHeapRawEntries(
        memoryStateFile(heap.bytes, "file:///h"),
        heap.handle,
        header,
        {
          blockSize: 29,
        },
      ))
        for (const e of b) recs.push(...heapEntryToCanonical(e, layout));
      const can = encodeCanonicalKeyGroups(
        { header, keyGroupRange: { start: 130, end: 133 }, keyGroupPrefixBytes: 2 },
        recs,
      );
      assert.equal(can.offsets[3], 0n, "an empty key group has offset 0 in the canonical layout");
      const canHandle: KeyGroupsStateHandle = {
        ...heap.handle,
        kind: "KeyGroupsSavepointStateHandle",
        tag: 7,
        offsets: can.offsets,
        stateHandleId: null,
      };
      assert.deepEqual(await decoded(can.bytes, canHandle, header, 2), heapEntries);

      // canonical -> heap: the same entries; without empty lists/maps (which canonical drops), the same bytes
      const back = new HeapKeyGroupsWriter({ header, keyGroupRange: { start: 130, end: 133 } });
      const hl = heapKeyLayout(header, 256);
      const byKg = new Map<number, CanonicalRecord[]>();
      for (const r of await records(can.bytes, canHandle, header))
        byKg.set(r.keyGroup, [...(byKg.get(r.keyGroup) ?? []), r]);
      for (const [kg, rs] of byKg) back.writeKeyGroup(kg, canonicalToHeapSections(kg, rs, hl));
      const res = back.finish();
      const backBytes = back.take();
      const backHandle = { ...heap.handle, offsets: res.offsets };
      assert.deepEqual(await decoded(backBytes, backHandle, header, 2), heapEntries);
      const plain = writeHeap(header, syntheticSections(header, false));
      assert.deepEqual(backBytes, plain.bytes, "canonical -> heap gives the heap bytes back");
    });
  }

  it("many records, keys and values larger than a Snappy block: the same bytes as a plain encoder", async () => {
    // a deterministic pseudo-random model: 3 key groups, runs of 3 states, sizes up to 150 KB
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const recs: CanonicalRecord[] = [];
    for (const kg of [1, 2, 5]) {
      for (const stateId of [2, 0, 1]) {
        const n = 1 + rnd(400);
        for (let i = 0; i < n; i++) {
          const big = rnd(100) === 0;
          const key = new Uint8Array(2 + (big ? 70_000 + rnd(80_000) : rnd(40)));
          key[0] = kg;
          for (let j = 1; j < key.length; j++) key[j] = rnd(256);
          const value = new Uint8Array(big ? rnd(150_000) : rnd(60));
          for (let j = 0; j < value.length; j++) value[j] = rnd(4);
          recs.push({ keyGroup: kg, stateId, key, value });
        }
      }
    }
    // the format, written out plainly
    const plainKeyGroup = (kg: number) => {
      const o = new DataOutput();
      const mine = recs.filter((r) => r.keyGroup === kg);
      o.writeShort(mine[0]?.stateId as number);
      for (const [i, r] of mine.entries()) {
        const next = mine[i + 1];
        o.writeInt(r.key.length);
        const last = !next || next.stateId !== r.stateId;
        o.writeByte((r.key[0] as number) | (last ? 0x80 : 0)).write(r.key.subarray(1));
        o.writeInt(r.value.length).write(r.value);
        if (last) o.writeShort(next ? next.stateId : 0xffff);
      }
      return Buffer.from(o.toBytes()).toString("hex");
    };
    for (const compressed of [false, true]) {
      const header = { ...syntheticHeader(false), compressed };
      const out = encodeCanonicalKeyGroups(
        { header, keyGroupRange: { start: 0, end: 7 }, keyGroupPrefixBytes: 1 },
        recs,
      );
      const data = keyGroupData(out.bytes, out.offsets, compressed).map((d) => d.data);
      assert.deepEqual(data, [1, 2, 5].map(plainKeyGroup));
      const handle: KeyGroupsStateHandle = {
        kind: "KeyGroupsSavepointStateHandle",
        tag: 7,
        keyGroupRange: { start: 0, end: 7 },
        offsets: out.offsets,
        delegate: { kind: "ByteStreamStateHandle", handleName: "x", data: new Uint8Array(0) },
        stateHandleId: null,
      };
      assert.deepEqual(await records(out.bytes, handle, header), recs);
    }
  });

  it("composite keys: markers little-endian, as many bytes as needed", () => {
    assert.deepEqual([...variableIntBytes(0)], [0]);
    assert.deepEqual([...variableIntBytes(5)], [5]);
    assert.deepEqual([...variableIntBytes(300)], [0x2c, 0x01]);
    assert.deepEqual([...variableIntBytes(65536)], [0, 0, 1]);
    const k = compositeKey({
      keyGroup: 300,
      prefixBytes: 2,
      key: Uint8Array.of(1, 2),
      namespace: Uint8Array.of(9),
      ambiguous: true,
      userKey: Uint8Array.of(7),
    });
    assert.deepEqual([...k], [0x01, 0x2c, 1, 2, 2, 9, 1, 7]);
    assert.deepEqual(
      [
        ...compositeKey({
          keyGroup: 3,
          prefixBytes: 1,
          key: Uint8Array.of(1),
          namespace: Uint8Array.of(0),
          ambiguous: false,
        }),
      ],
      [3, 1, 0],
    );
  });

  it("the writer refuses records out of order or of the wrong key group", () => {
    const header = syntheticHeader(false);
    const w = new CanonicalKeyGroupsWriter({
      header,
      keyGroupRange: { start: 0, end: 9 },
      keyGroupPrefixBytes: 1,
    });
    w.add({ keyGroup: 5, stateId: 0, key: Uint8Array.of(5, 1), value: new Uint8Array(0) });
    assert.throws(
      () => w.add({ keyGroup: 4, stateId: 0, key: Uint8Array.of(4, 1), value: new Uint8Array(0) }),
      InvalidArgumentError,
    );
    assert.throws(
      () => w.add({ keyGroup: 6, stateId: 0, key: Uint8Array.of(7, 1), value: new Uint8Array(0) }),
      InvalidArgumentError,
    );
    assert.throws(
      () => w.add({ keyGroup: 10, stateId: 0, key: Uint8Array.of(10, 1), value: new Uint8Array(0) }),
      InvalidArgumentError,
    );
    assert.throws(
      () => w.add({ keyGroup: 6, stateId: 9, key: Uint8Array.of(6, 1), value: new Uint8Array(0) }),
      InvalidArgumentError,
    );
    assert.throws(
      () =>
        new CanonicalKeyGroupsWriter({
          header,
          keyGroupRange: { start: 0, end: 200 },
          keyGroupPrefixBytes: 1,
        }),
      InvalidArgumentError,
    );
    const r = w.finish();
    assert.equal(r.records, 1);
    assert.equal(r.keyGroups, 1);
    // one pair: i16 state, i32 2, key with the flag, i32 0, i16 0xFFFF
    const bytes = w.take();
    assert.deepEqual(
      [...bytes.subarray(Number(r.offsets[5]))],
      [0, 0, 0, 0, 0, 2, 0x85, 1, 0, 0, 0, 0, 0xff, 0xff],
    );
  });
});

describe("savepoint properties: the format type", () => {
  for (const line of lines) {
    it(`${line}: NATIVE -> CANONICAL gives the trailer Flink writes for a canonical savepoint, and back`, () => {
      const trailer = (c: string) => {
        const f = fixtures.find((x) => x.id === `flink-${line}/${c}`);
        assert.ok(f);
        return Uint8Array.from(readMetadata(readFileSync(f.metadataFile)).properties as Uint8Array);
      };
      const native = trailer("savepoint-native-hashmap");
      const canonical = trailer("savepoint-canonical-hashmap");
      assert.equal(decodeCheckpointProperties(native)?.formatType, "NATIVE");
      assert.deepEqual(setSavepointFormatType(native, "CANONICAL"), canonical);
      assert.deepEqual(setSavepointFormatType(canonical, "NATIVE"), native);
      assert.equal(setSavepointFormatType(native, "NATIVE"), native);
    });
  }
  it("refuses a checkpoint's properties", () => {
    const f = fixtures.find((x) => x.id.endsWith("checkpoint-rocksdb-incremental"));
    assert.ok(f);
    const props = readMetadata(readFileSync(f.metadataFile)).properties as Uint8Array;
    assert.throws(() => setSavepointFormatType(props, "CANONICAL"), InvalidArgumentError);
  });
});
