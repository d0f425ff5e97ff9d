/**
 * `ReadAhead`, the chunked, double-buffered reader SST data blocks are read through: every read returns
 * exactly the file's bytes (sequential blocks straddling chunks, blocks larger than a chunk, jumps back
 * and forth, reads past its read-ahead end), the file is opened once and closed, and read errors surface.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { StoreFaultError } from "../../../src/errors.js";
import { ReadAhead } from "../../../src/formats/rocksdb/block-io.js";
import type { RandomAccessFile } from "../../../src/formats/rocksdb/sst-reader.js";

function file(size: number, counts: { opens: number; closes: number; reads: number }): RandomAccessFile {
  const bytes = Uint8Array.from({ length: size }, (_, i) => (i * 131 + 7) & 0xff);
  const read = async (o: number, n: number) => {
    counts.reads++;
    if (o + n > size) throw new StoreFaultError(`short read at ${o}+${n}`, { uri: "file:///f" });
    return bytes.slice(o, o + n);
  };
  return {
    uri: "file:///f",
    size,
    read,
    open: async () => {
      counts.opens++;
      return { read, close: async () => void counts.closes++ };
    },
  };
}

describe("ReadAhead", () => {
  it("returns the file's bytes for sequential, straddling, large and backward reads", async () => {
    const counts = { opens: 0, closes: 0, reads: 0 };
    const f = file(10_000, counts);
    const expect = await f.read(0, f.size);
    const ra = new ReadAhead(f, 9_000, 1000);
    let at = 0;
    const sizes = [10, 300, 999, 1, 2500, 37, 1000, 1001, 64];
    for (let i = 0; at < 8_500; i++) {
      const n = Math.min(sizes[i % sizes.length] as number, 8_500 - at);
      assert.deepEqual(await ra.read(at, n), expect.subarray(at, at + n), `${at}+${n}`);
      at += n;
    }
    for (const [o, n] of [
      [100, 50],
      [8_990, 1_000],
      [0, 10_000],
      [5_000, 1],
    ] as const) {
      assert.deepEqual(await ra.read(o, n), expect.subarray(o, o + n), `${o}+${n}`);
    }
    await ra.close();
    await ra.close();
    assert.equal(counts.opens, 1);
    assert.equal(counts.closes, 1);
    assert.ok(counts.reads < 40, `few large reads (${counts.reads})`);
    await assert.rejects(ra.read(20_000, 1));
  });

  it("blocks joined across chunks stay intact while later ones are joined (two read-aheads at once)", async () => {
    const counts = { opens: 0, closes: 0, reads: 0 };
    const a = file(200_000, counts);
    const b = file(150_000, counts);
    const views: [Uint8Array, Uint8Array][] = [];
    const readers = [
      { ra: new ReadAhead(a, a.size, 5000), f: a, at: 0 },
      { ra: new ReadAhead(b, b.size, 7000), f: b, at: 0 },
    ];
    for (let i = 0; i < 400; i++) {
      const r = readers[i % 2] as (typeof readers)[number];
      const n = 1000 + ((i * 977) % 3000);
      if (r.at + n > r.f.size) continue;
      const got = await r.ra.read(r.at, n);
      assert.deepEqual(got, await r.f.read(r.at, n));
      views.push([got, got.slice()]); // the copy: what the view must still hold at the end
      r.at += n;
    }
    for (const [got, want] of views) assert.deepEqual(got, want);
    for (const r of readers) await r.ra.close();
    assert.ok(views.length > 100);
  });

  it("surfaces read errors and works without open()", async () => {
    const counts = { opens: 0, closes: 0, reads: 0 };
    const { open: _, ...plain } = file(3000, counts);
    const ra = new ReadAhead(plain, 3000, 512);
    assert.equal((await ra.read(0, 100)).byteLength, 100);
    await assert.rejects(ra.read(2900, 200), StoreFaultError);
    await ra.close();
    assert.equal(counts.opens, 0);
  });
});
