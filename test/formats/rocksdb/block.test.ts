/**
 * Block decoding (`src/formats/rocksdb/block.ts`): the flat index an open table keeps ({@link IndexBlock})
 * and the key arena of data blocks, on blocks built by our {@link BlockBuilder} (RocksDB's layout, checked
 * against RocksDB itself in `writer.test.ts`), with keys that share prefixes, delta-encoded handles and
 * first keys, and damaged blocks.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CorruptSnapshotError } from "../../../src/errors.js";
import { BlockBuilder } from "../../../src/formats/rocksdb/block-builder.js";
import { decodeBlock, decodeIndexBlock, IndexBlock } from "../../../src/formats/rocksdb/index.js";

const enc = (s: string) => new TextEncoder().encode(s);

/** varint64 of a non-negative number (below 2^53). */
function varint(v: number): number[] {
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

/** Zigzag varint64 of a signed number. */
const varsigned = (v: number) => varint(v < 0 ? -2 * v - 1 : 2 * v);

/** Index entries of `n` blocks: keys sharing long prefixes, handles tiling a file. */
function indexEntries(n: number) {
  const out: { key: Uint8Array; offset: number; size: number; first: Uint8Array }[] = [];
  let offset = 0;
  for (let i = 0; i < n; i++) {
    const size = 3000 + ((i * 7919) % 2000);
    out.push({
      key: enc(`user-key-with-a-long-common-prefix-${String(i).padStart(6, "0")}`),
      offset,
      size,
      first: enc(`first-${i}`),
    });
    offset += size + 5;
  }
  return out;
}

describe("IndexBlock", () => {
  const origin = { uri: "inline:index", baseOffset: 1000, label: "index block" };

  it("decodes full handles with value lengths, keys sharing prefixes (restart interval 4)", () => {
    const entries = indexEntries(300);
    const b = new BlockBuilder({ restartInterval: 4 });
    for (const e of entries) b.add(e.key, Uint8Array.from([...varint(e.offset), ...varint(e.size)]));
    const block = b.finish();
    const index = IndexBlock.decode(block, origin, { valueDeltaEncoded: false, hasFirstKey: false });
    assert.equal(index.length, entries.length);
    for (const [i, e] of entries.entries()) {
      assert.deepEqual(index.key(i), e.key);
      assert.deepEqual(index.handle(i), { offset: e.offset, size: e.size });
      assert.equal(index.entry(i).firstInternalKey, null);
    }
    // Flat: the keys, 20 bytes of arrays per entry, nothing of the block itself.
    const keyBytes = entries.reduce((n, e) => n + e.key.byteLength, 0);
    assert.equal(index.byteLength, keyBytes + 20 * entries.length);
    // The object form is the same entries.
    const objects = decodeIndexBlock(block, origin, { valueDeltaEncoded: false, hasFirstKey: false });
    assert.deepEqual(
      objects.map((e) => [Buffer.from(e.key).toString(), e.handle.offset, e.handle.size]),
      entries.map((e) => [Buffer.from(e.key).toString(), e.offset, e.size]),
    );
  });

  it("decodes delta-encoded handles and first keys (format_version >= 4, kBinarySearchWithFirstKey)", () => {
    const entries = indexEntries(50);
    const b = new BlockBuilder({ restartInterval: 3, valueLengths: false });
    for (const [i, e] of entries.entries()) {
      // At a restart point the whole handle; otherwise only the size's change from the previous block.
      const prev = entries[i - 1];
      const handle =
        i % 3 === 0 || !prev ? [...varint(e.offset), ...varint(e.size)] : varsigned(e.size - prev.size);
      b.add(e.key, Uint8Array.from([...handle, ...varint(e.first.byteLength), ...e.first]));
    }
    const index = IndexBlock.decode(b.finish(), origin, { valueDeltaEncoded: true, hasFirstKey: true });
    assert.equal(index.length, entries.length);
    for (const [i, e] of entries.entries()) {
      const got = index.entry(i);
      assert.deepEqual(got.key, e.key);
      assert.deepEqual(got.handle, { offset: e.offset, size: e.size });
      assert.deepEqual(got.firstInternalKey, e.first);
    }
  });

  it("rejects a delta-encoded value without a previous handle and a key sharing too much", () => {
    // One entry sharing 2 bytes of a key that does not exist.
    const bad = Uint8Array.from([2, 1, 0x61, ...varsigned(4), 0, 0, 0, 0, 1, 0, 0, 0]);
    assert.throws(
      () => IndexBlock.decode(bad, origin, { valueDeltaEncoded: true, hasFirstKey: false }),
      (e: unknown) => e instanceof CorruptSnapshotError && /shares 2 key bytes/.test(e.message),
    );
    const b = new BlockBuilder({ restartInterval: 2, valueLengths: false });
    b.add(enc("ab"), Uint8Array.from(varsigned(4)));
    assert.throws(
      () => IndexBlock.decode(b.finish(), origin, { valueDeltaEncoded: true, hasFirstKey: false }),
      (e: unknown) => e instanceof CorruptSnapshotError && e.offset >= 1000,
    );
    const c = new BlockBuilder({ restartInterval: 2, valueLengths: false });
    c.add(enc("ab"), Uint8Array.from([...varint(0), ...varint(10)]));
    c.add(enc("ac"), Uint8Array.from(varsigned(4)));
    assert.deepEqual(
      IndexBlock.decode(c.finish(), origin, { valueDeltaEncoded: true, hasFirstKey: false }).handle(1),
      { offset: 15, size: 14 },
    );
  });
});

describe("decodeBlock key arena", () => {
  it("rebuilds every shared key, in blocks of few large values and of many small ones", () => {
    for (const [count, valueSize] of [
      [4, 1000],
      [500, 3],
    ] as const) {
      const b = new BlockBuilder({ restartInterval: 16 });
      const keys: Uint8Array[] = [];
      for (let i = 0; i < count; i++) {
        const k = enc(`${"k".repeat(i % 90)}-${String(i).padStart(5, "0")}`);
        keys.push(k);
      }
      keys.sort(Buffer.compare);
      for (const [i, k] of keys.entries()) b.add(k, new Uint8Array(valueSize).fill(i & 0xff));
      const got = decodeBlock(b.finish(), { uri: "inline:data", baseOffset: 0, label: "data block" });
      assert.equal(got.length, count);
      for (const [i, e] of got.entries()) {
        assert.deepEqual(e.key, keys[i]);
        assert.deepEqual(e.value, new Uint8Array(valueSize).fill(i & 0xff));
      }
    }
  });
});
