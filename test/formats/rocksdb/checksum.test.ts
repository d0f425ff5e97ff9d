/**
 * XXH3 block checksums through both implementations: `hash-wasm` (WebAssembly, used once loaded) and
 * `@node-rs/xxhash` (N-API, used before). They must agree on every length (XXH3 switches algorithms at
 * 16, 128 and 240 bytes and works in 1 KiB stripes), and a damaged block of a real RocksDB XXH3 table
 * must still be refused, with its offset, on the WebAssembly path.
 */

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { CorruptSnapshotError } from "../../../src/errors.js";
import { xxh3WasmHasher } from "../../../src/formats/native-libs.js";
import {
  builtinChecksum,
  ChecksumType,
  loadBlockChecksum,
  xxh3Low32Napi,
  xxh3Low32Wasm,
} from "../../../src/formats/rocksdb/checksum.js";
import { memoryFile, SstReader } from "../../../src/formats/rocksdb/index.js";
import { dataBytes, mutate } from "./helpers.js";

/** Lengths around XXH3's algorithm boundaries, stripes and blocks, up to 70000 bytes. */
function lengths(): number[] {
  const out = new Set<number>();
  for (let n = 0; n <= 260; n++) out.add(n);
  for (const edge of [512, 1024, 1025, 4095, 4096, 4097, 4101, 16384, 65535, 65536, 65537, 70000]) {
    for (let d = -2; d <= 2; d++) if (edge + d <= 70000) out.add(edge + d);
  }
  for (let i = 0; i < 200; i++) out.add(Math.floor(Math.random() * 70001));
  return [...out].sort((a, b) => a - b);
}

describe("XXH3 block checksums", () => {
  it("the N-API path is used until the WebAssembly hasher is loaded, then both agree", async () => {
    const b = randomBytes(4097);
    const before = builtinChecksum(ChecksumType.XXH3, b);
    await loadBlockChecksum(ChecksumType.XXH3);
    assert.ok(xxh3WasmHasher(), "the WebAssembly hasher is loaded");
    assert.equal(builtinChecksum(ChecksumType.XXH3, b), before);
  });

  it("XXH3-64 of the empty input is the reference vector (low 32 bits of 0x2D06800538D394C2)", async () => {
    await loadBlockChecksum(ChecksumType.XXH3);
    assert.equal(xxh3Low32Wasm(new Uint8Array(0)), 0x38d394c2);
    assert.equal(xxh3Low32Napi(new Uint8Array(0)), 0x38d394c2);
  });

  it("both implementations agree on random blocks of 0..70000 bytes, at any offset in a buffer", async () => {
    await loadBlockChecksum(ChecksumType.XXH3);
    const pool = randomBytes(70000 + 64);
    for (const n of lengths()) {
      const at = n % 61;
      const block = pool.subarray(at, at + n);
      const wasm = xxh3Low32Wasm(block);
      assert.equal(wasm, xxh3Low32Napi(block), `length ${n}`);
      if (n > 0) {
        const last = block[n - 1] as number;
        const expected = (xxh3Low32Napi(block.subarray(0, n - 1)) ^ Math.imul(last, 0x6b9083d9)) >>> 0;
        assert.equal(builtinChecksum(ChecksumType.XXH3, block), expected, `block checksum, length ${n}`);
      }
    }
  });

  it("a damaged data block of a real XXH3 table is refused with its trailer's offset", async () => {
    const good = dataBytes("tables/v5-xxh3-zstd.sst");
    const t = await SstReader.open(memoryFile(good, "test.sst"));
    assert.ok(xxh3WasmHasher(), "opening an XXH3 table loads the WebAssembly hasher");
    const handles = [];
    for await (const h of t.dataBlockHandles()) handles.push(h);
    const h = handles[Math.floor(handles.length / 2)];
    assert.ok(h);
    const bad = mutate(good, (b) => {
      b[h.offset + 1] = (b[h.offset + 1] as number) ^ 0x01;
    });
    const damaged = await SstReader.open(memoryFile(bad, "test.sst"));
    await assert.rejects(damaged.readDataBlock(h), (err: unknown) => {
      assert.ok(err instanceof CorruptSnapshotError, String(err));
      assert.match(err.message, /block checksum mismatch \(kXXH3\)/);
      assert.equal(err.offset, h.offset + h.size + 1);
      return true;
    });
    // the intact table reads the same block
    assert.ok((await t.readDataBlock(h)).length > 0);
  });
});
