/**
 * The fixed structures of RocksDB's block-based tables and internal keys.
 *
 * Sources (facebook/rocksdb): `table/format.h` and `table/format.cc` (BlockHandle, Footer, magic
 * numbers), `db/dbformat.h` (ValueType, internal keys), the wiki page "Rocksdb BlockBasedTable
 * Format".
 *
 * ```
 * BlockHandle:  varint64 offset, varint64 size        (size excludes the 5-byte block trailer)
 * Block trailer: compression type (1 byte), checksum (fixed32)
 *
 * Footer, legacy (format_version 0, magic 0xdb4775248b80fb57), 48 bytes:
 *   metaindex handle, index handle, zero padding to 40 bytes, magic (fixed64)
 * Footer, format_version 1..5 (magic 0x88e241b785f4cff7), 53 bytes:
 *   checksum type (1), metaindex handle, index handle, zero padding to 41 bytes,
 *   format_version (fixed32), magic (fixed64)
 * Footer, format_version 6+, 53 bytes:
 *   checksum type (1), extended magic 3e 00 7a 00, footer checksum (fixed32),
 *   base context checksum (fixed32), metaindex size (fixed32), 16 unchecked + 8 zero bytes,
 *   format_version (fixed32), magic (fixed64);
 *   the metaindex block ends right before the footer (minus its trailer); the index handle is
 *   in the metaindex under "rocksdb.index".
 *
 * Internal key: user key ‖ fixed64 (sequence << 8 | value type)
 *   ordered by user key (comparator) ascending, then sequence descending, then type descending.
 * ```
 */

import { UnsupportedVersionError } from "../../errors.js";
import { builtinChecksum, type ChecksumType, contextModifier, isKnownChecksumType } from "./checksum.js";
import { type ByteOrigin, ByteReader, compareBytes, corrupt } from "./coding.js";

/** `kBlockBasedTableMagicNumber` (format_version >= 1). */
export const BLOCK_BASED_TABLE_MAGIC = 0x88e241b785f4cff7n;
/** `kLegacyBlockBasedTableMagicNumber` (format_version 0). */
export const LEGACY_BLOCK_BASED_TABLE_MAGIC = 0xdb4775248b80fb57n;
/** Other table formats' magic numbers, recognised to give a clear error. */
export const OTHER_TABLE_MAGICS: Record<string, string> = {
  "8242229663bf9564": "PlainTable",
  "4f3418eb7a8f13b8": "legacy PlainTable",
  "926789d0c5f17873": "CuckooTable",
};

/** `BlockHandle::kMaxEncodedLength`: two varint64s. */
export const BLOCK_HANDLE_MAX_LENGTH = 20;
/** `Footer::kVersion0EncodedLength`. */
export const FOOTER_V0_LENGTH = 2 * BLOCK_HANDLE_MAX_LENGTH + 8;
/** `Footer::kNewVersionsEncodedLength`: every footer of format_version >= 1. */
export const FOOTER_LENGTH = 1 + 2 * BLOCK_HANDLE_MAX_LENGTH + 4 + 8;
/** `BlockBasedTable::kBlockTrailerSize`: compression type + checksum. */
export const BLOCK_TRAILER_SIZE = 5;
/** `kLatestFormatVersion` of RocksDB 8.x/9.x; later versions are refused. */
export const LATEST_FORMAT_VERSION = 6;
/** `kExtendedMagic` of format_version 6 footers. */
const EXTENDED_MAGIC = [0x3e, 0x00, 0x7a, 0x00];

/** A block's place in the file: `offset` and `size` in bytes, the 5-byte trailer not included. */
export interface BlockHandle {
  offset: number;
  size: number;
}

/** Decodes a `BlockHandle` (two varint64s). */
export function readBlockHandle(r: ByteReader, what = "block handle"): BlockHandle {
  // the usual small values without a BigInt or the error labels' strings
  let offset = r.smallVarint64();
  if (offset < 0) offset = r.varint64Number(`${what} offset`);
  let size = r.smallVarint64();
  if (size < 0) size = r.varint64Number(`${what} size`);
  return { offset, size };
}

/** The decoded footer of a block-based table. */
export interface Footer {
  /** 0 for the legacy footer, else the stored format_version (1..6). */
  formatVersion: number;
  /** Block checksum type (kCRC32c for the legacy footer). */
  checksumType: ChecksumType;
  /** Where the metaindex block is. */
  metaindexHandle: BlockHandle;
  /** Where the (top-level) index block is; null for format_version 6+ (it is in the metaindex). */
  indexHandle: BlockHandle | null;
  /** format_version 6+: the base of the per-block context checksum modifier; 0 otherwise. */
  baseContextChecksum: number;
  /** Absolute offset of the footer in the file. */
  footerOffset: number;
  /** True for the legacy (format_version 0) magic number. */
  legacy: boolean;
}

/**
 * Decodes the footer from the last bytes of a table (`Footer::DecodeFrom`).
 *
 * @param tail the last `min(fileSize, 53)` bytes of the file.
 * @param tailOffset absolute offset of `tail[0]` in the file.
 * @throws CorruptSnapshotError for a short file, a bad magic number, a footer checksum mismatch
 *   (format_version 6) or bad handles; UnsupportedVersionError for another table format (plain,
 *   cuckoo), a format_version above 6 or an unknown checksum type.
 */
export function decodeFooter(tail: Uint8Array, tailOffset: number, origin: ByteOrigin): Footer {
  const o: ByteOrigin = { ...origin, label: "sst footer" };
  const fileSize = tailOffset + tail.byteLength;
  if (tail.byteLength < FOOTER_V0_LENGTH) {
    throw corrupt(
      `file is too short (${fileSize} bytes) to be an SST file (footer needs ${FOOTER_V0_LENGTH})`,
      o,
      tailOffset,
    );
  }
  const magicAt = tail.byteLength - 8;
  const view = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  const magic = view.getBigUint64(magicAt, true);
  const magicHex = magic.toString(16).padStart(16, "0");
  const unsupported = (message: string, version: number, at: number) =>
    new UnsupportedVersionError(message, {
      ...(origin.uri === undefined ? {} : { uri: origin.uri }),
      version,
      offset: at,
    });
  if (magic === LEGACY_BLOCK_BASED_TABLE_MAGIC) {
    const start = tail.byteLength - FOOTER_V0_LENGTH;
    const r = new ByteReader(tail, { ...o, baseOffset: tailOffset }, start, magicAt);
    const metaindexHandle = readBlockHandle(r, "metaindex handle");
    const indexHandle = readBlockHandle(r, "index handle");
    return {
      formatVersion: 0,
      checksumType: 1,
      metaindexHandle,
      indexHandle,
      baseContextChecksum: 0,
      footerOffset: tailOffset + start,
      legacy: true,
    };
  }
  if (magic !== BLOCK_BASED_TABLE_MAGIC) {
    const other = OTHER_TABLE_MAGICS[magicHex];
    if (other)
      throw unsupported(`${other} files are not read, only block-based tables`, 0, tailOffset + magicAt);
    throw corrupt(`bad table magic number 0x${magicHex}`, o, tailOffset + magicAt);
  }
  if (tail.byteLength < FOOTER_LENGTH) {
    throw corrupt(`file is too short (${fileSize} bytes) for a format_version >= 1 footer`, o, tailOffset);
  }
  const start = tail.byteLength - FOOTER_LENGTH;
  const footerOffset = tailOffset + start;
  const formatVersion = view.getUint32(magicAt - 4, true);
  if (formatVersion > LATEST_FORMAT_VERSION) {
    throw unsupported(
      `table format_version ${formatVersion} is newer than the latest known (${LATEST_FORMAT_VERSION})`,
      formatVersion,
      tailOffset + magicAt - 4,
    );
  }
  const checksumType = tail[start] as number;
  if (!isKnownChecksumType(checksumType)) {
    throw unsupported(`unknown block checksum type ${checksumType}`, checksumType, footerOffset);
  }
  const r = new ByteReader(tail, { ...o, baseOffset: tailOffset }, start + 1, magicAt - 4);
  if (formatVersion < 6) {
    const metaindexHandle = readBlockHandle(r, "metaindex handle");
    const indexHandle = readBlockHandle(r, "index handle");
    return {
      formatVersion,
      checksumType,
      metaindexHandle,
      indexHandle,
      baseContextChecksum: 0,
      footerOffset,
      legacy: false,
    };
  }
  for (const [k, b] of EXTENDED_MAGIC.entries()) {
    if (tail[start + 1 + k] !== b) throw corrupt("bad extended magic number", o, footerOffset + 1);
  }
  r.skip(4);
  const storedChecksum = r.fixed32("footer checksum");
  const baseContextChecksum = r.fixed32("base context checksum");
  const metaindexSize = r.fixed32("metaindex size");
  if (baseContextChecksum === 0 || contextModifier(baseContextChecksum, 0) === 0) {
    throw corrupt("invalid base context checksum 0", o, footerOffset + 9);
  }
  if (checksumType !== 0) {
    const copy = tail.slice(start, start + FOOTER_LENGTH);
    copy.fill(0, 5, 9);
    const computed =
      (builtinChecksum(checksumType, copy) + contextModifier(baseContextChecksum, footerOffset)) >>> 0;
    if (computed !== storedChecksum) {
      throw corrupt(
        `footer checksum mismatch: stored 0x${storedChecksum.toString(16)}, computed 0x${computed.toString(16)}`,
        o,
        footerOffset + 5,
      );
    }
  }
  r.skip(16);
  const reserved = r.fixed64("reserved footer bytes");
  if (reserved !== 0n) {
    throw unsupported(
      "the footer uses a future feature (reserved bytes are not zero)",
      formatVersion,
      footerOffset,
    );
  }
  const metaindexEnd = footerOffset - BLOCK_TRAILER_SIZE;
  if (metaindexSize > metaindexEnd)
    throw corrupt(`metaindex size ${metaindexSize} beyond the file`, o, footerOffset);
  return {
    formatVersion,
    checksumType,
    metaindexHandle: { offset: metaindexEnd - metaindexSize, size: metaindexSize },
    indexHandle: null,
    baseContextChecksum,
    footerOffset,
    legacy: false,
  };
}

// ------------------------------------------------------------------------------------------------
// Internal keys (db/dbformat.h)

/** `ValueType` of an internal key (`db/dbformat.h`); the types that can appear in table files. */
export const ValueType = {
  DELETION: 0x0,
  VALUE: 0x1,
  MERGE: 0x2,
  SINGLE_DELETION: 0x7,
  RANGE_DELETION: 0xf,
  BLOB_INDEX: 0x11,
  DELETION_WITH_TIMESTAMP: 0x14,
  WIDE_COLUMN_ENTITY: 0x16,
  VALUE_PREFERRED_SEQNO: 0x18,
} as const;
/** A value type byte (one of {@link ValueType}). */
export type ValueType = (typeof ValueType)[keyof typeof ValueType];

/** Readable names of value types (as `sst_dump` prints the numbers). */
export const VALUE_TYPE_NAMES: Record<number, string> = {
  0: "delete",
  1: "put",
  2: "merge",
  7: "single-delete",
  15: "range-delete",
  17: "blob-index",
  20: "delete-with-timestamp",
  22: "wide-column-entity",
  24: "value-preferred-seqno",
};

/** `kMaxSequenceNumber`: 2^56 - 1. */
export const MAX_SEQUENCE = (1n << 56n) - 1n;

/** A decoded internal key. */
export interface InternalKey {
  userKey: Uint8Array;
  /** Sequence number (56 bits). */
  sequence: bigint;
  /** Value type (one of {@link ValueType}, or another byte for a corrupt file). */
  type: number;
}

/**
 * The sequence number of an internal key whose 8-byte trailer (`fixed64` little-endian,
 * `seq << 8 | type`, `db/dbformat.h` `PackSequenceAndType`) starts at `t` of `bytes`: the type byte,
 * then 24 low and 32 high sequence bits. 0 (the common case after compaction) without a new BigInt.
 */
export function internalKeySequence(bytes: Uint8Array, t: number): bigint {
  const lo = (bytes[t + 1] as number) | ((bytes[t + 2] as number) << 8) | ((bytes[t + 3] as number) << 16);
  const hi =
    ((bytes[t + 4] as number) |
      ((bytes[t + 5] as number) << 8) |
      ((bytes[t + 6] as number) << 16) |
      ((bytes[t + 7] as number) << 24)) >>>
    0;
  return hi === 0 ? (lo === 0 ? 0n : BigInt(lo)) : (BigInt(hi) << 24n) | BigInt(lo);
}

/**
 * Splits an internal key into user key, sequence and type.
 * @throws CorruptSnapshotError when shorter than 8 bytes.
 */
export function parseInternalKey(key: Uint8Array, origin: ByteOrigin, at: number): InternalKey {
  if (key.byteLength < 8) throw corrupt(`internal key of ${key.byteLength} bytes (at least 8)`, origin, at);
  const n = key.byteLength - 8;
  const sequence = internalKeySequence(key, n);
  return { userKey: key.subarray(0, n), sequence, type: key[n] as number };
}

/** Encodes an internal key (user key ‖ fixed64(seq << 8 | type)). */
export function encodeInternalKey(k: InternalKey): Uint8Array {
  const out = new Uint8Array(k.userKey.byteLength + 8);
  out.set(k.userKey, 0);
  new DataView(out.buffer, k.userKey.byteLength, 8).setBigUint64(
    0,
    (k.sequence << 8n) | BigInt(k.type),
    true,
  );
  return out;
}

/** Internal key order: user key ascending (bytewise), then sequence descending, then type descending. */
export function compareInternal(a: InternalKey, b: InternalKey): number {
  const c = compareBytes(a.userKey, b.userKey);
  if (c !== 0) return c;
  if (a.sequence !== b.sequence) return a.sequence > b.sequence ? -1 : 1;
  return b.type - a.type;
}
