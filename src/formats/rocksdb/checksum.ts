/**
 * Block checksums of RocksDB tables and the CRC of log records (MANIFEST).
 *
 * Mirrors `table/format.cc` (`ComputeBuiltinChecksum`, `ComputeBuiltinChecksumWithLastByte`),
 * `table/block_based/reader_common.cc` (`VerifyBlockChecksum`), `table/format.h`
 * (`ChecksumModifierForContext`) and `util/crc32c.h` (`Mask`):
 *
 * - A block is stored as `data ‖ compression type (1 byte) ‖ checksum (fixed32)`; the checksum covers
 *   `data ‖ type`.
 * - kCRC32c (1): CRC-32C, masked: `((crc >>> 15) | (crc << 17)) + 0xa282ead8`.
 * - kxxHash (2): XXH32, seed 0. kxxHash64 (3): the low 32 bits of XXH64, seed 0.
 * - kXXH3 (4): the low 32 bits of XXH3-64 of `data` (without the type byte), XOR-ed with
 *   `type * 0x6b9083d9` (32-bit product): RocksDB's `ModifyChecksumForLastByte`.
 * - format_version 6 adds a per-file "context": the stored value is the checksum plus
 *   `base_context_checksum ^ (low32(offset) + high32(offset))` (32-bit arithmetic), with
 *   `offset` the block's offset in the file; base 0 means no context.
 *
 * XXH3 is computed by `hash-wasm` (WebAssembly) once {@link loadBlockChecksum} has loaded it, and by
 * `@node-rs/xxhash` before (both give the same digest; WebAssembly is 2-3x cheaper per 4 KiB block).
 * XXH32 and XXH64 stay with `@node-rs/xxhash`, cheaper there than through WebAssembly.
 */

import { crc32, loadXxh3WasmHasher, xxh3WasmHasher, xxhash } from "../native-libs.js";

/** `ChecksumType` (`include/rocksdb/table.h`). */
export const ChecksumType = {
  NONE: 0,
  CRC32C: 1,
  XXHASH: 2,
  XXHASH64: 3,
  XXH3: 4,
} as const;
/** A checksum type byte (one of {@link ChecksumType}). */
export type ChecksumType = (typeof ChecksumType)[keyof typeof ChecksumType];

/** RocksDB's names of the checksum types (as in OPTIONS files). */
export const CHECKSUM_NAMES: Record<number, string> = {
  0: "kNoChecksum",
  1: "kCRC32c",
  2: "kxxHash",
  3: "kxxHash64",
  4: "kXXH3",
};

/** True for a checksum type this reader verifies. */
export function isKnownChecksumType(t: number): t is ChecksumType {
  return t >= 0 && t <= 4;
}

const CRC_MASK_DELTA = 0xa282ead8;

/** `crc32c::Mask`: rotates right by 15 bits and adds a constant (RocksDB stores CRCs masked). */
export function maskCrc(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + CRC_MASK_DELTA) >>> 0;
}

/** `crc32c::Unmask`, the inverse of {@link maskCrc}. */
export function unmaskCrc(masked: number): number {
  const rot = (masked - CRC_MASK_DELTA) >>> 0;
  return ((rot >>> 17) | (rot << 15)) >>> 0;
}

/** Unmasked CRC-32C of bytes, optionally continuing from `initial`. */
export function crc32cOf(bytes: Uint8Array, initial?: number): number {
  return (initial === undefined ? crc32().crc32c(bytes) : crc32().crc32c(bytes, initial)) >>> 0;
}

const LAST_BYTE_PRIME = 0x6b9083d9;

/**
 * `ComputeBuiltinChecksum(type, data, len)`: the checksum of `bytes` as RocksDB computes it for a
 * block (where `bytes` is `data ‖ compression type`). Returns 0 for kNoChecksum.
 */
export function builtinChecksum(type: ChecksumType, bytes: Uint8Array): number {
  return builtinChecksumOf(type, bytes, bytes.byteLength);
}

/**
 * {@link builtinChecksum} of the first `length` bytes of `bytes` (a block and its type byte, read with
 * the checksum after them), without a view of them for kXXH3.
 */
export function builtinChecksumOf(type: ChecksumType, bytes: Uint8Array, length: number): number {
  switch (type) {
    case ChecksumType.CRC32C:
      return maskCrc(crc32cOf(prefix(bytes, length)));
    case ChecksumType.XXHASH:
      return xxhash().xxh32(prefix(bytes, length), 0) >>> 0;
    case ChecksumType.XXHASH64:
      return Number(xxhash().xxh64(prefix(bytes, length), 0n) & 0xffffffffn);
    case ChecksumType.XXH3: {
      if (length === 0) return 0;
      const last = bytes[length - 1] as number;
      const data = bytes.subarray(0, length - 1);
      const v = xxh3WasmHasher() ? xxh3Low32Wasm(data) : xxh3Low32Napi(data);
      return (v ^ Math.imul(last, LAST_BYTE_PRIME)) >>> 0;
    }
    default:
      return 0;
  }
}

/** The first `length` bytes of `bytes` (itself when that is all of it). */
function prefix(bytes: Uint8Array, length: number): Uint8Array {
  return length === bytes.byteLength ? bytes : bytes.subarray(0, length);
}

/**
 * Prepares {@link builtinChecksum} for tables of checksum type `type`: for kXXH3, loads the WebAssembly
 * XXH3 (once per thread). Optional: without it XXH3 goes through `@node-rs/xxhash`. Never rejects (a
 * failed load leaves the N-API path in use).
 */
export async function loadBlockChecksum(type: number): Promise<void> {
  if (type !== ChecksumType.XXH3 || xxh3WasmHasher()) return;
  await loadXxh3WasmHasher().catch(() => {});
}

/**
 * The low 32 bits of XXH3-64 (seed 0) of `bytes` through `hash-wasm` (big-endian digest: bytes 4..7).
 * @throws Error when the hasher is not loaded ({@link loadBlockChecksum}).
 */
export function xxh3Low32Wasm(bytes: Uint8Array): number {
  const h = xxh3WasmHasher();
  if (!h) throw new Error("the WebAssembly XXH3 is not loaded (loadBlockChecksum)");
  h.init();
  h.update(bytes);
  const d = h.digest("binary");
  return (
    (((d[4] as number) << 24) | ((d[5] as number) << 16) | ((d[6] as number) << 8) | (d[7] as number)) >>> 0
  );
}

/** The low 32 bits of XXH3-64 (seed 0) of `bytes` through `@node-rs/xxhash`. */
export function xxh3Low32Napi(bytes: Uint8Array): number {
  return Number(xxhash().xxh3.xxh64(bytes) & 0xffffffffn);
}

/**
 * `ChecksumModifierForContext(base, offset)` (format_version 6): 0 when `base` is 0, otherwise
 * `base ^ (low32(offset) + high32(offset))` in 32-bit arithmetic.
 */
export function contextModifier(baseContextChecksum: number, offset: number): number {
  if (baseContextChecksum === 0) return 0;
  const lo = offset >>> 0;
  const hi = Math.floor(offset / 2 ** 32) >>> 0;
  return (baseContextChecksum ^ ((lo + hi) >>> 0)) >>> 0;
}
