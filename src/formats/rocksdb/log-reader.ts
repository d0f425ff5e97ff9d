/**
 * RocksDB's log file format, used by the MANIFEST (and the WAL): `db/log_format.h`,
 * `db/log_reader.cc`.
 *
 * ```
 * file    := block*                  block = 32768 bytes (the last one may be shorter)
 * block   := record* trailer         trailer: < 7 zero bytes that cannot hold a header
 * record  := checksum (fixed32, masked CRC-32C of type ‖ [log number] ‖ payload)
 *            length (fixed16) type (1 byte) [log number (fixed32): recyclable types 5..8, 11]
 *            payload (length bytes)
 * type    := 0 zero (preallocated space: skip the rest of the block)
 *            1 FULL | 2 FIRST | 3 MIDDLE | 4 LAST        (a logical record in one or more fragments)
 *            5..8 the same for recycled logs, 9 SET_COMPRESSION_TYPE,
 *            10/11 user-defined timestamp sizes
 * ```
 *
 * Records never span blocks: a logical record larger than what is left in a block is split into
 * FIRST, MIDDLE*, LAST fragments.
 */

import { crc32cOf, unmaskCrc } from "./checksum.js";
import { type ByteOrigin, ByteReader, corrupt } from "./coding.js";

/** `log::kBlockSize`. */
export const LOG_BLOCK_SIZE = 32768;
/** `log::kHeaderSize`: checksum, length, type. */
export const LOG_HEADER_SIZE = 7;
/** `log::kRecyclableHeaderSize`: plus the 4-byte log number. */
export const LOG_RECYCLABLE_HEADER_SIZE = 11;

/** `log::RecordType`. */
export const LogRecordType = {
  ZERO: 0,
  FULL: 1,
  FIRST: 2,
  MIDDLE: 3,
  LAST: 4,
  RECYCLABLE_FULL: 5,
  RECYCLABLE_FIRST: 6,
  RECYCLABLE_MIDDLE: 7,
  RECYCLABLE_LAST: 8,
  SET_COMPRESSION_TYPE: 9,
  USER_DEFINED_TIMESTAMP_SIZE: 10,
  RECYCLABLE_USER_DEFINED_TIMESTAMP_SIZE: 11,
} as const;

/** One logical record: its payload and the offset of its first fragment's header. */
export interface LogRecord {
  payload: Uint8Array;
  offset: number;
}

/** Options of {@link readLogRecords}. */
export interface LogReadOptions {
  /** Verify each fragment's CRC (default true). */
  verifyChecksums?: boolean;
}

/**
 * The logical records of a log file in memory (a MANIFEST is small: kilobytes to a few MB).
 *
 * @throws CorruptSnapshotError (file, absolute offset, "manifest record") for a CRC mismatch, a
 *   fragment past the end of its block, fragments out of order, a truncated last record, or a
 *   compressed log (SET_COMPRESSION_TYPE, used by WAL compression only).
 */
export function readLogRecords(
  bytes: Uint8Array,
  origin: ByteOrigin,
  options: LogReadOptions = {},
): LogRecord[] {
  const verify = options.verifyChecksums ?? true;
  const o: ByteOrigin = { ...origin, label: origin.label ?? "log record" };
  const out: LogRecord[] = [];
  let pending: Uint8Array[] | null = null;
  let pendingOffset = 0;
  const fail = (message: string, at: number) => corrupt(message, o, (origin.baseOffset ?? 0) + at);
  for (let blockStart = 0; blockStart < bytes.byteLength; blockStart += LOG_BLOCK_SIZE) {
    const blockEnd = Math.min(blockStart + LOG_BLOCK_SIZE, bytes.byteLength);
    let pos = blockStart;
    while (blockEnd - pos >= LOG_HEADER_SIZE) {
      const r = new ByteReader(bytes, o, pos, blockEnd);
      const stored = r.fixed32("record checksum");
      const length = r.fixed16("record length");
      const type = r.u8("record type");
      if (type === LogRecordType.ZERO && length === 0) {
        // Preallocated, never written space (RocksDB skips the rest of the block).
        break;
      }
      const recyclable =
        (type >= LogRecordType.RECYCLABLE_FULL && type <= LogRecordType.RECYCLABLE_LAST) ||
        type === LogRecordType.RECYCLABLE_USER_DEFINED_TIMESTAMP_SIZE;
      const headerSize = recyclable ? LOG_RECYCLABLE_HEADER_SIZE : LOG_HEADER_SIZE;
      const payloadStart = pos + headerSize;
      if (payloadStart + length > blockEnd) {
        throw fail(
          blockEnd === bytes.byteLength && blockEnd - blockStart < LOG_BLOCK_SIZE
            ? `truncated record: ${length} payload bytes, the file ends at ${bytes.byteLength}`
            : `record of ${length} bytes overruns its 32 KiB block`,
          pos,
        );
      }
      if (verify) {
        const actual = crc32cOf(bytes.subarray(pos + 6, payloadStart + length));
        const expected = unmaskCrc(stored);
        if (actual !== expected) {
          throw fail(
            `record checksum mismatch: stored 0x${expected.toString(16)}, computed 0x${actual.toString(16)}`,
            pos,
          );
        }
      }
      const payload = bytes.subarray(payloadStart, payloadStart + length);
      const kind = recyclable && type <= LogRecordType.RECYCLABLE_LAST ? type - 4 : type;
      switch (kind) {
        case LogRecordType.FULL:
          if (pending) throw fail("FULL record inside a fragmented record", pos);
          out.push({ payload, offset: (origin.baseOffset ?? 0) + pos });
          break;
        case LogRecordType.FIRST:
          if (pending) throw fail("FIRST record inside a fragmented record", pos);
          pending = [payload];
          pendingOffset = pos;
          break;
        case LogRecordType.MIDDLE:
          if (!pending) throw fail("MIDDLE record without a FIRST", pos);
          pending.push(payload);
          break;
        case LogRecordType.LAST: {
          if (!pending) throw fail("LAST record without a FIRST", pos);
          pending.push(payload);
          const total = pending.reduce((n, p) => n + p.byteLength, 0);
          const joined = new Uint8Array(total);
          let k = 0;
          for (const p of pending) {
            joined.set(p, k);
            k += p.byteLength;
          }
          out.push({ payload: joined, offset: (origin.baseOffset ?? 0) + pendingOffset });
          pending = null;
          break;
        }
        case LogRecordType.SET_COMPRESSION_TYPE:
          throw fail("compressed log (SET_COMPRESSION_TYPE record): not supported in a MANIFEST", pos);
        case LogRecordType.USER_DEFINED_TIMESTAMP_SIZE:
        case LogRecordType.RECYCLABLE_USER_DEFINED_TIMESTAMP_SIZE:
          // Metadata for WAL replay of user-defined timestamps; nothing for a MANIFEST reader.
          break;
        default:
          throw fail(`unknown log record type ${type}`, pos);
      }
      pos = payloadStart + length;
    }
    // A block trailer (< 7 bytes) must be zero-filled padding.
    for (let k = pos; k < blockEnd && blockEnd - pos < LOG_HEADER_SIZE; k++) {
      if (bytes[k] !== 0 && blockEnd === blockStart + LOG_BLOCK_SIZE) {
        throw fail("non-zero bytes in a block trailer", k);
      }
      if (bytes[k] !== 0 && blockEnd === bytes.byteLength)
        throw fail("truncated record header at the end", pos);
    }
  }
  if (pending) throw fail("the file ends inside a fragmented record", pendingOffset);
  return out;
}
