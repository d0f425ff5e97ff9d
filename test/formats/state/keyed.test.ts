/**
 * Key-group and operator state data of the fixtures read entry by entry: the same entries whatever
 * the read block size (so decoders resume correctly across buffer boundaries), and typed
 * CorruptSnapshotErrors with file and offset for truncated files, wrong offsets, bad Snappy chunks
 * and bad checksums.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CorruptSnapshotError } from "../../../src/errors.js";
import type { KeyGroupsStateHandle, OperatorStreamStateHandle } from "../../../src/formats/metadata/model.js";
import { type KeyedStateEntry, readKeyedEntries, readKeyedHeader } from "../../../src/formats/state/keyed.js";
import { readOperatorEntries, readOperatorHeader } from "../../../src/formats/state/operator.js";
import { memoryStateFile, type StateFile } from "../../../src/formats/state/stream.js";
import { stateValueJson } from "../../../src/ops/dump.js";
import { type FixtureStateFile, fixtureStateFiles } from "./helpers.js";

const files = await fixtureStateFiles();
const URI = "file:///state";

async function entries(file: StateFile, f: FixtureStateFile, blockSize?: number): Promise<KeyedStateEntry[]> {
  const { header } = await readKeyedHeader(file);
  const out: KeyedStateEntry[] = [];
  for await (const e of readKeyedEntries(file, f.handle as KeyGroupsStateHandle, header, {
    keyGroupPrefixBytes: 1,
    ...(blockSize ? { blockSize } : {}),
  })) {
    out.push(e);
  }
  return out;
}

function truncated(bytes: Uint8Array, keep: number): StateFile {
  const cut = bytes.subarray(0, keep);
  return {
    uri: URI,
    size: cut.length,
    claimedSize: bytes.length,
    read: async (o, n) => cut.subarray(o, o + n),
  };
}

async function rejects(
  p: Promise<unknown>,
  check: (e: CorruptSnapshotError) => boolean = () => true,
): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof CorruptSnapshotError, `expected CorruptSnapshotError, got ${String(e)}`);
    assert.equal(e.uri, URI);
    assert.ok(check(e), e.message);
    return true;
  });
}

const keyed = files.filter((f) => f.kind === "keyed");
const canonical = keyed.find(
  (f) => f.fixture.expected.case === "savepoint-canonical-hashmap" && f.keyGroupSpans.length >= 4,
);
const heap = keyed.find(
  (f) => f.fixture.expected.case === "savepoint-native-hashmap" && f.id.includes("d0a4e491[1]"),
);

describe("key-group data", () => {
  it("reads the same entries with any read block size", async () => {
    for (const f of keyed) {
      const file = memoryStateFile(f.bytes, URI);
      const whole = (await entries(file, f)).map(stateValueJson);
      const small = (await entries(file, f, 5)).map(stateValueJson);
      assert.deepEqual(small, whole, f.id);
    }
  });

  describe("canonical, Snappy-compressed", () => {
    assert.ok(canonical);
    const f = canonical as FixtureStateFile;
    const [s0, e0] = f.keyGroupSpans[1] as [number, number];

    it("truncated file", async () => {
      await rejects(
        entries(truncated(f.bytes, s0 + 20), f),
        (e) => /truncat/.test(e.message) && e.offset === s0 + 20,
      );
    });

    it("bad checksum names the chunk", async () => {
      const b = f.bytes.slice();
      b[s0 + 10 + 5] = (b[s0 + 10 + 5] as number) ^ 0x55;
      await rejects(
        entries(memoryStateFile(b, URI), f),
        (e) => /checksum/.test(e.message) && e.offset === s0 + 10,
      );
    });

    it("bad Snappy chunk type", async () => {
      const b = f.bytes.slice();
      b[s0 + 10] = 0x05;
      await rejects(
        entries(memoryStateFile(b, URI), f),
        (e) => /unskippable/.test(e.message) && e.offset === s0 + 10,
      );
    });

    it("bad compressed block", async () => {
      const b = f.bytes.slice();
      if (b[s0 + 10] !== 0x00) return; // this chunk was stored uncompressed
      b.fill(0xfe, s0 + 18, e0);
      await rejects(entries(memoryStateFile(b, URI), f), (e) => e.offset >= s0);
    });

    it("wrong offsets in the handle", async () => {
      const h = structuredClone(f.handle as KeyGroupsStateHandle);
      const i = h.offsets.findIndex((o) => Number(o) === s0);
      h.offsets[i] = BigInt(s0 + 3);
      await rejects(entries(memoryStateFile(f.bytes, URI), { ...f, handle: h }), (e) => e.offset >= s0);
    });

    it("an offset outside the file", async () => {
      const h = structuredClone(f.handle as KeyGroupsStateHandle);
      const i = h.offsets.findIndex((o) => o !== 0n);
      h.offsets[i] = BigInt(f.bytes.length + 10);
      await rejects(entries(memoryStateFile(f.bytes, URI), { ...f, handle: h }), (e) =>
        /outside/.test(e.message),
      );
    });
  });

  describe("heap native (uncompressed)", () => {
    assert.ok(heap);
    const f = heap as FixtureStateFile;
    const h = f.handle as KeyGroupsStateHandle;

    it("truncated in the middle of a key group", async () => {
      const kg = Number(h.offsets[100 - h.keyGroupRange.start]);
      await rejects(entries(truncated(f.bytes, kg + 9), f), (e) => e.offset >= kg);
    });

    it("swapped key-group offsets", async () => {
      const w = structuredClone(h);
      const a = w.offsets[3] as bigint;
      w.offsets[3] = w.offsets[4] as bigint;
      w.offsets[4] = a;
      await rejects(entries(memoryStateFile(f.bytes, URI), { ...f, handle: w }), (e) =>
        /int there is|after its last state/.test(e.message),
      );
    });

    it("a corrupt entry count", async () => {
      const kg = Number(h.offsets[100 - h.keyGroupRange.start]);
      const b = f.bytes.slice();
      // i32 key group, i16 state id, then i32 count of the first state
      new DataView(b.buffer).setInt32(kg + 6, 0x7fffffff);
      await rejects(entries(memoryStateFile(b, URI), f), (e) => e.offset > kg);
    });
  });
});

describe("operator state data", () => {
  const op = files.find(
    (f) => f.kind === "operator" && f.fixture.expected.compression && f.id.includes("d747b10d[0]"),
  );
  const bc = files.find(
    (f) => f.kind === "operator" && f.fixture.expected.compression && f.id.includes("2fd3a031[0]"),
  );

  async function all(file: StateFile, handle: OperatorStreamStateHandle) {
    const { header, dataStart } = await readOperatorHeader(file);
    const out = [];
    for await (const e of readOperatorEntries(file, handle, header, dataStart)) out.push(e);
    return out;
  }

  it("an element offset between chunks is rejected", async () => {
    assert.ok(op);
    const h = structuredClone(op.handle as OperatorStreamStateHandle);
    const s = h.states[0];
    assert.ok(s);
    s.offsets = [(s.offsets[0] as bigint) + 2n];
    await rejects(all(memoryStateFile(op.bytes, URI), h));
  });

  it("a bad checksum in a broadcast state", async () => {
    assert.ok(bc);
    const h = bc.handle as OperatorStreamStateHandle;
    const off = Number(h.states[0]?.offsets[0]);
    const b = bc.bytes.slice();
    b[off + 8] = (b[off + 8] as number) ^ 1;
    await rejects(all(memoryStateFile(b, URI), h), (e) => /checksum/.test(e.message) && e.offset === off);
  });

  it("a truncated broadcast state", async () => {
    assert.ok(bc);
    const h = bc.handle as OperatorStreamStateHandle;
    await rejects(all(truncated(bc.bytes, bc.bytes.length - 5), h));
  });
});
