/**
 * Block decoding (`src/formats/rocksdb/block.ts`): the flat index an open table keeps ({@link IndexBlock})
 * and the key arena of data blocks, on blocks built by our {@link BlockBuilder} (RocksDB's layout, checked
 * against RocksDB itself in `writer.test.ts`), with keys that share prefixes, delta-encoded handles and
 * first keys, and damaged blocks.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CorruptSnapshotError } from "../../../src/errors.js";
import { type DataBlockEntry, decodeDataBlockInto } from "../../../src/formats/rocksdb/block.js";
import { BlockBuilder } from "../../../src/formats/rocksdb/block-builder.js";
import { ByteReader, compareBytes } from "../../../src/formats/rocksdb/coding.js";
import {
  decodeBlock,
  decodeIndexBlock,
  encodeInternalKey,
  IndexBlock,
  parseInternalKey,
} from "../../../src/formats/rocksdb/index.js";
import { varint64 } from "./helpers.js";

const enc = (s: string) => new TextEncoder().encode(s);

/** Zigzag varint64 of a signed number. */
const varsigned = (v: number) => varint64(v < 0 ? -2 * v - 1 : 2 * v);

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
    for (const e of entries) b.add(e.key, Uint8Array.from([...varint64(e.offset), ...varint64(e.size)]));
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
        i % 3 === 0 || !prev ? [...varint64(e.offset), ...varint64(e.size)] : varsigned(e.size - prev.size);
      b.add(e.key, Uint8Array.from([...handle, ...varint64(e.first.byteLength), ...e.first]));
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
    c.add(enc("ab"), Uint8Array.from([...varint64(0), ...varint64(10)]));
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

describe("decodeDataBlockInto (data blocks decoded straight into internal key parts)", () => {
  const origin = { uri: "inline:data", baseOffset: 1000, label: "data block at 1000" };

  /** A data block of internal keys sharing prefixes, with small and large sequence numbers and values. */
  function block(count: number, valueSize: number) {
    const b = new BlockBuilder({ restartInterval: 16 });
    const keys: { userKey: Uint8Array; sequence: bigint; type: number }[] = [];
    for (let i = 0; i < count; i++) {
      const userKey = enc(`${"k".repeat(i % 40)}-${String(i).padStart(5, "0")}`);
      const sequence = [0n, 1n, 0xffffffn, 0x1000000n, 0xffffffffffffffn][i % 5] as bigint;
      keys.push({ userKey, sequence, type: i % 3 === 0 ? 2 : 1 });
    }
    keys.sort((a, b) => Buffer.compare(a.userKey, b.userKey));
    for (const [i, k] of keys.entries())
      b.add(encodeInternalKey(k), new Uint8Array(valueSize).fill(i & 0xff));
    return b.finish();
  }

  it("gives what decodeBlock and parseInternalKey give, appended to the array passed", () => {
    for (const [count, valueSize] of [
      [4, 1000],
      [300, 3],
      [1, 0],
    ] as const) {
      const contents = block(count, valueSize);
      const want = decodeBlock(contents, origin).map((e) => ({
        ...parseInternalKey(e.key, origin, 1000 + e.at),
        value: e.value,
      }));
      const out: DataBlockEntry[] = [{ userKey: enc("x"), sequence: 5n, type: 1, value: enc("y") }];
      assert.equal(decodeDataBlockInto(contents, origin, null, out), count);
      assert.equal(out.length, count + 1);
      assert.deepEqual(out.slice(1), want);
      const global: DataBlockEntry[] = [];
      decodeDataBlockInto(contents, origin, 77n, global);
      assert.deepEqual(
        global.map((e) => e.sequence),
        want.map(() => 77n),
      );
    }
  });

  it("refuses damaged blocks as decodeBlock does, with the same errors and offsets", () => {
    const good = block(40, 20);
    for (let at = 0; at < good.byteLength; at += 3) {
      for (const x of [0xff, 0x80, 0x00]) {
        const bad = new Uint8Array(good);
        bad[at] = x;
        let want: unknown = null;
        try {
          for (const e of decodeBlock(bad, origin)) parseInternalKey(e.key, origin, 1000 + e.at);
        } catch (err) {
          want = err;
        }
        let got: unknown = null;
        try {
          decodeDataBlockInto(bad, origin, null, []);
        } catch (err) {
          got = err;
        }
        if (want === null) {
          assert.equal(got, null, `byte ${at} = ${x}`);
          continue;
        }
        assert.ok(got instanceof CorruptSnapshotError, `byte ${at} = ${x}: ${got}`);
        const w = want as CorruptSnapshotError;
        // one pass: a short internal key before the structural fault is reported first
        if (got.message !== w.message) {
          assert.match(got.message, /internal key of \d+ bytes/, `byte ${at} = ${x}`);
          assert.ok(got.offset !== undefined && w.offset !== undefined && got.offset <= w.offset);
        } else assert.equal(got.offset, w.offset);
      }
    }
  });

  it("an internal key shorter than 8 bytes is refused with the entry's offset", () => {
    const b = new BlockBuilder({ restartInterval: 16 });
    b.add(enc("short"), enc("v"));
    assert.throws(
      () => decodeDataBlockInto(b.finish(), origin, null, []),
      (err: unknown) =>
        err instanceof CorruptSnapshotError &&
        /internal key of 5 bytes/.test(err.message) &&
        err.offset === 1000,
    );
  });
});

describe("compareBytes", () => {
  it("orders as Buffer.compare (memcmp, then length), short and long keys, common prefixes of any length", () => {
    const sign = (v: number) => Math.sign(v);
    let n = 0;
    for (const len of [0, 1, 2, 8, 31, 32, 33, 40, 100]) {
      for (let i = 0; i < 60; i++) {
        const a = new Uint8Array(len).map(() => Math.floor(Math.random() * 256));
        const b = new Uint8Array(a);
        if (len > 0 && i % 3 !== 0) b[Math.floor(Math.random() * len)] = Math.floor(Math.random() * 256);
        const c = i % 4 === 0 ? b.subarray(0, Math.floor(len / 2)) : i % 4 === 1 ? Uint8Array.of(...b, i) : b;
        for (const [x, y] of [
          [a, c],
          [c, a],
          [a, a],
        ] as const) {
          assert.equal(sign(compareBytes(x, y)), sign(Buffer.compare(x, y)), `${x} vs ${y}`);
          n++;
        }
      }
    }
    assert.ok(n > 1000);
  });
});

describe("ByteReader varint64 as numbers (the BigInt-free path below 2^49, BigInt above)", () => {
  const values = [
    0n,
    1n,
    127n,
    128n,
    16383n,
    16384n,
    2n ** 42n - 1n,
    2n ** 49n - 1n,
    2n ** 49n,
    2n ** 53n - 1n,
  ];

  it("varint64Number, and varsigned64 of zigzag values, read every length; the position moves past them", () => {
    for (const v of values) {
      const r = new ByteReader(Uint8Array.from([...varint64(v), 0x55]));
      assert.equal(r.varint64Number(), Number(v), `${v}`);
      assert.equal(r.pos, varint64(v).length);
      for (const signed of [v, -v, -v - 1n]) {
        if (signed > 2n ** 53n - 1n || signed < -(2n ** 53n - 1n)) continue;
        const zigzag = signed < 0n ? -2n * signed - 1n : 2n * signed;
        const z = new ByteReader(Uint8Array.from(varint64(zigzag)));
        assert.equal(z.varsigned64(), Number(signed), `${signed}`);
        assert.ok(z.atEnd);
      }
    }
  });

  it("refuses values past 2^53 and truncated varints, naming them, with the position of the varint", () => {
    const big = new ByteReader(Uint8Array.from(varint64(2n ** 53n)), { baseOffset: 100 });
    assert.throws(() => big.varint64Number("size"), /size: 9007199254740992 is larger than 2\^53/);
    const cut = new ByteReader(Uint8Array.of(0x01, 0x80, 0x80), { baseOffset: 100 });
    assert.equal(cut.varint64Number(), 1);
    assert.throws(
      () => cut.varint64Number("offset"),
      (err: unknown) =>
        err instanceof CorruptSnapshotError &&
        /offset: truncated varint64/.test(err.message) &&
        err.offset === 101,
    );
    assert.equal(new ByteReader(Uint8Array.of(0x80, 0x80)).smallVarint64(), -1);
  });
});
