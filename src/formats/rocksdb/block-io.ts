/**
 * Verifying a block trailer (`table/block_based/reader_common.cc` `VerifyBlockChecksum`).
 *
 * A block of `size` bytes is followed by its compression type byte and a fixed32 checksum of
 * `contents ‖ type`; for format_version 6 the stored value includes the context modifier of the
 * block's offset (see `./checksum.ts`).
 */

import { builtinChecksum, CHECKSUM_NAMES, ChecksumType, contextModifier, unmaskCrc } from "./checksum.js";
import { type ByteOrigin, corrupt } from "./coding.js";
import type { BlockHandle, Footer } from "./format.js";

/** RocksDB's name of a checksum type, e.g. "kCRC32c". */
export function checksumTypeName(t: number): string {
  return CHECKSUM_NAMES[t] ?? `checksum type ${t}`;
}

/**
 * Checks the checksum in a block's trailer.
 *
 * @param bytes the block contents followed by the 5-byte trailer (`handle.size + 5` bytes).
 * @throws CorruptSnapshotError at the trailer's offset when the checksums differ.
 */
export function verifyBlockTrailer(
  bytes: Uint8Array,
  handle: BlockHandle,
  footer: Footer,
  origin: ByteOrigin,
): void {
  const type = footer.checksumType;
  if (type === ChecksumType.NONE) return;
  const n = handle.size + 1;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stored = (view.getUint32(n, true) - contextModifier(footer.baseContextChecksum, handle.offset)) >>> 0;
  const computed = builtinChecksum(type, bytes.subarray(0, n));
  if (stored !== computed) {
    const show = (v: number) =>
      `0x${(type === ChecksumType.CRC32C ? unmaskCrc(v) : v).toString(16).padStart(8, "0")}`;
    throw corrupt(
      `block checksum mismatch (${checksumTypeName(type)}): stored ${show(stored)}, computed ${show(computed)} ` +
        `for the ${handle.size}-byte block at ${handle.offset}`,
      origin,
      handle.offset + n,
    );
  }
}
