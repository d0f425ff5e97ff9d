/**
 * OperatorIDs from uids, as Flink computes them.
 *
 * Mirrors `StreamGraphHasherV2.generateUserSpecifiedHash`: Guava's `Hashing.murmur3_128(0)` over the
 * UTF-8 bytes of the uid; `HashCode.asBytes()` (h1 then h2, each little-endian) are the 16 bytes of the
 * OperatorID, whose hex is what Flink prints and what `_metadata` stores (lowerPart||upperPart,
 * big-endian).
 *
 * Our own implementation (about 60 lines) rather than a package: the npm murmur3 packages either hash
 * UTF-16 code units (wrong for non-ASCII uids), implement the x86 variant, or emit big-endian halves.
 */

import { InvalidArgumentError } from "../errors.js";

const MASK64 = (1n << 64n) - 1n;
const C1 = 0x87c37b91114253d5n;
const C2 = 0x4cf5ad432745937fn;

function rotl64(x: bigint, r: bigint): bigint {
  return ((x << r) | (x >> (64n - r))) & MASK64;
}

function fmix64(k: bigint): bigint {
  let x = k;
  x ^= x >> 33n;
  x = (x * 0xff51afd7ed558ccdn) & MASK64;
  x ^= x >> 33n;
  x = (x * 0xc4ceb9fe1a85ec53n) & MASK64;
  x ^= x >> 33n;
  return x;
}

function readLE64(bytes: Uint8Array, at: number, n = 8): bigint {
  let v = 0n;
  for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[at + i] as number);
  return v;
}

/**
 * MurmurHash3 x64 128-bit of `data` with `seed`, returned as Guava's `asBytes()`: 16 bytes, h1 then
 * h2, each little-endian.
 */
export function murmur3x64_128(data: Uint8Array, seed = 0): Uint8Array {
  let h1 = BigInt(seed >>> 0);
  let h2 = h1;
  const nblocks = Math.floor(data.length / 16);
  for (let i = 0; i < nblocks; i++) {
    let k1 = readLE64(data, i * 16);
    let k2 = readLE64(data, i * 16 + 8);
    k1 = (k1 * C1) & MASK64;
    k1 = rotl64(k1, 31n);
    k1 = (k1 * C2) & MASK64;
    h1 ^= k1;
    h1 = rotl64(h1, 27n);
    h1 = (h1 + h2) & MASK64;
    h1 = (h1 * 5n + 0x52dce729n) & MASK64;
    k2 = (k2 * C2) & MASK64;
    k2 = rotl64(k2, 33n);
    k2 = (k2 * C1) & MASK64;
    h2 ^= k2;
    h2 = rotl64(h2, 31n);
    h2 = (h2 + h1) & MASK64;
    h2 = (h2 * 5n + 0x38495ab5n) & MASK64;
  }
  const tail = nblocks * 16;
  const rem = data.length - tail;
  if (rem > 8) {
    let k2 = readLE64(data, tail + 8, rem - 8);
    k2 = (k2 * C2) & MASK64;
    k2 = rotl64(k2, 33n);
    k2 = (k2 * C1) & MASK64;
    h2 ^= k2;
  }
  if (rem > 0) {
    let k1 = readLE64(data, tail, Math.min(rem, 8));
    k1 = (k1 * C1) & MASK64;
    k1 = rotl64(k1, 31n);
    k1 = (k1 * C2) & MASK64;
    h1 ^= k1;
  }
  const len = BigInt(data.length);
  h1 ^= len;
  h2 ^= len;
  h1 = (h1 + h2) & MASK64;
  h2 = (h2 + h1) & MASK64;
  h1 = fmix64(h1);
  h2 = fmix64(h2);
  h1 = (h1 + h2) & MASK64;
  h2 = (h2 + h1) & MASK64;
  const out = new Uint8Array(16);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, h1, true);
  view.setBigUint64(8, h2, true);
  return out;
}

/** Lower-case hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/**
 * The OperatorID Flink derives from a uid set with `.uid(uid)`, as 32 lower-case hex characters.
 *
 * @example operatorIdFromUid("a") === "897859f6655555855a890e51483ab5e6"
 */
export function operatorIdFromUid(uid: string): string {
  return toHex(murmur3x64_128(new TextEncoder().encode(uid), 0));
}

const HEX32 = /^[0-9a-fA-F]{32}$/;

/** True when `s` looks like an OperatorID (32 hex characters). */
export function isOperatorIdHex(s: string): boolean {
  return HEX32.test(s);
}

/**
 * Normalises an OperatorID given as hex (any case) to lower case.
 * @throws InvalidArgumentError when `s` is not 32 hex characters.
 */
export function parseOperatorId(s: string): string {
  if (!isOperatorIdHex(s)) throw new InvalidArgumentError(`not an OperatorID (32 hex characters): ${s}`);
  return s.toLowerCase();
}
