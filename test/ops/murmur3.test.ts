import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { murmur3x86_128, stringDigest128 } from "../../src/ops/murmur3.js";

/**
 * MurmurHash3_x86_128 over bytes, written from the reference C (SMHasher's MurmurHash3.cpp) for this
 * test only: byte-wise, with a seed, so that SMHasher's verification value can be checked.
 */
function referenceBytes(key: Uint8Array, seed: number): Uint32Array {
  const c1 = 0x239b961b;
  const c2 = 0xab0e9789;
  const c3 = 0x38b34ae5;
  const c4 = 0xa1e38b93;
  const rotl = (x: number, r: number) => ((x << r) | (x >>> (32 - r))) >>> 0;
  const mul = (a: number, b: number) => Math.imul(a, b) >>> 0;
  const add = (...xs: number[]) => xs.reduce((a, b) => (a + b) >>> 0, 0);
  const fmix = (h: number) => {
    h = (h ^ (h >>> 16)) >>> 0;
    h = mul(h, 0x85ebca6b);
    h = (h ^ (h >>> 13)) >>> 0;
    h = mul(h, 0xc2b2ae35);
    return (h ^ (h >>> 16)) >>> 0;
  };
  const le32 = (at: number) =>
    ((key[at] as number) |
      ((key[at + 1] as number) << 8) |
      ((key[at + 2] as number) << 16) |
      ((key[at + 3] as number) << 24)) >>>
    0;
  const len = key.length;
  const nblocks = Math.floor(len / 16);
  let h1 = seed >>> 0;
  let h2 = seed >>> 0;
  let h3 = seed >>> 0;
  let h4 = seed >>> 0;
  for (let b = 0; b < nblocks; b++) {
    let k1 = le32(b * 16);
    let k2 = le32(b * 16 + 4);
    let k3 = le32(b * 16 + 8);
    let k4 = le32(b * 16 + 12);
    k1 = mul(rotl(mul(k1, c1), 15), c2);
    h1 = (h1 ^ k1) >>> 0;
    h1 = add(mul(add(rotl(h1, 19), h2), 5), 0x561ccd1b);
    k2 = mul(rotl(mul(k2, c2), 16), c3);
    h2 = (h2 ^ k2) >>> 0;
    h2 = add(mul(add(rotl(h2, 17), h3), 5), 0x0bcaa747);
    k3 = mul(rotl(mul(k3, c3), 17), c4);
    h3 = (h3 ^ k3) >>> 0;
    h3 = add(mul(add(rotl(h3, 15), h4), 5), 0x96cd1c35);
    k4 = mul(rotl(mul(k4, c4), 18), c1);
    h4 = (h4 ^ k4) >>> 0;
    h4 = add(mul(add(rotl(h4, 13), h1), 5), 0x32ac3b17);
  }
  const tail = key.subarray(nblocks * 16);
  const t = (j: number) => tail[j] as number;
  let k1 = 0;
  let k2 = 0;
  let k3 = 0;
  let k4 = 0;
  const r = len & 15;
  // the reference's switch with fall-through
  if (r >= 15) k4 ^= t(14) << 16;
  if (r >= 14) k4 ^= t(13) << 8;
  if (r >= 13) {
    k4 ^= t(12);
    k4 = mul(rotl(mul(k4 >>> 0, c4), 18), c1);
    h4 = (h4 ^ k4) >>> 0;
  }
  if (r >= 12) k3 ^= t(11) << 24;
  if (r >= 11) k3 ^= t(10) << 16;
  if (r >= 10) k3 ^= t(9) << 8;
  if (r >= 9) {
    k3 ^= t(8);
    k3 = mul(rotl(mul(k3 >>> 0, c3), 17), c4);
    h3 = (h3 ^ k3) >>> 0;
  }
  if (r >= 8) k2 ^= t(7) << 24;
  if (r >= 7) k2 ^= t(6) << 16;
  if (r >= 6) k2 ^= t(5) << 8;
  if (r >= 5) {
    k2 ^= t(4);
    k2 = mul(rotl(mul(k2 >>> 0, c2), 16), c3);
    h2 = (h2 ^ k2) >>> 0;
  }
  if (r >= 4) k1 ^= t(3) << 24;
  if (r >= 3) k1 ^= t(2) << 16;
  if (r >= 2) k1 ^= t(1) << 8;
  if (r >= 1) {
    k1 ^= t(0);
    k1 = mul(rotl(mul(k1 >>> 0, c1), 15), c2);
    h1 = (h1 ^ k1) >>> 0;
  }
  h1 = (h1 ^ len) >>> 0;
  h2 = (h2 ^ len) >>> 0;
  h3 = (h3 ^ len) >>> 0;
  h4 = (h4 ^ len) >>> 0;
  h1 = add(h1, h2, h3, h4);
  h2 = add(h2, h1);
  h3 = add(h3, h1);
  h4 = add(h4, h1);
  h1 = fmix(h1);
  h2 = fmix(h2);
  h3 = fmix(h3);
  h4 = fmix(h4);
  h1 = add(h1, h2, h3, h4);
  h2 = add(h2, h1);
  h3 = add(h3, h1);
  h4 = add(h4, h1);
  return Uint32Array.of(h1, h2, h3, h4);
}

function utf16le(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, "utf16le"));
}

describe("murmur3x86_128", () => {
  it("the test's byte-wise reference passes SMHasher's verification (0xB3ECE62A)", () => {
    // SMHasher VerificationTest: hash keys 0..255 bytes long (key[i] = i) with seed 256 - length,
    // hash the concatenated digests with seed 0, read the first 4 bytes little-endian.
    const key = Uint8Array.from({ length: 256 }, (_, i) => i);
    const digests = new Uint8Array(16 * 256);
    for (let n = 0; n < 256; n++) {
      digests.set(new Uint8Array(referenceBytes(key.subarray(0, n), 256 - n).buffer), n * 16);
    }
    const final = referenceBytes(digests, 0);
    assert.equal(final[0], 0xb3ece62a);
  });

  it("equals the reference over the string's UTF-16LE bytes, for every length of tail and seed", () => {
    const out = new Uint32Array(4);
    const check = (s: string, seed: number) => {
      murmur3x86_128(s, seed, out);
      assert.deepEqual([...out], [...referenceBytes(utf16le(s), seed)], JSON.stringify(s));
    };
    for (let n = 0; n <= 40; n++) check("s3://bucket/jobs/0123456789abcdef0123456789".slice(0, n), n);
    check("\u{1f600}\ud800x\uffff\u0000é", 1);
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 70 }), fc.nat(), (s, seed) => check(s, seed)),
      { numRuns: 500 },
    );
  });

  it("stringDigest128: ASCII strings by their bytes (seed 0), all others by UTF-16LE (seed 1)", () => {
    const out = new Uint32Array(4);
    const expected = (s: string) =>
      [...s].every((ch) => ch.charCodeAt(0) < 0x80) && s.length <= 1365
        ? referenceBytes(new Uint8Array(Buffer.from(s, "latin1")), 0)
        : referenceBytes(utf16le(s), 1);
    const check = (s: string) => {
      stringDigest128(s, out);
      assert.deepEqual([...out], [...expected(s)], JSON.stringify(s));
    };
    const uri = "s3://flink-prod-checkpoints/jobs/6c1e0f9b2a3d4e5f8a7b6c5d4e3f2a1b/shared/op-1-2/0000-1111";
    for (let n = 0; n <= uri.length; n++) check(uri.slice(0, n));
    for (const s of [
      "ab",
      "\u6261",
      "é",
      "\ud800",
      "\udfff",
      "\ud800\udc00",
      "a".repeat(1365),
      "a".repeat(1366),
    ])
      check(s);
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 70 }), check), { numRuns: 300 });
    fc.assert(fc.property(fc.string({ maxLength: 70 }), check), { numRuns: 300 });
  });
});
