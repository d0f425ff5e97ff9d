/**
 * Writing RocksDB's log file format (the MANIFEST's container): the twin of `./log-reader.ts`,
 * mirroring `db/log_writer.cc` (`Writer::AddRecord`, `EmitPhysicalRecord`) for non-recyclable logs.
 *
 * A logical record is cut into fragments that never cross a 32 KiB block: FULL when it fits what is
 * left of the block, else FIRST, MIDDLE*, LAST. A block with fewer than 7 bytes left (no room for a
 * header) is padded with zeros. Each fragment's header is the masked CRC-32C of `type ‖ payload`
 * (fixed32), the payload length (fixed16) and the type byte.
 */

import { crc32cOf, maskCrc } from "./checksum.js";
import { LOG_BLOCK_SIZE, LOG_HEADER_SIZE, LogRecordType } from "./log-reader.js";

/** Accumulates log records in memory (a MANIFEST is small). */
export class LogWriter {
  private readonly parts: Uint8Array[] = [];
  private blockOffset = 0;
  private size = 0;

  /** Bytes written so far. */
  get length(): number {
    return this.size;
  }

  /** Appends one logical record (`AddRecord`); an empty payload gives one empty FULL fragment. */
  addRecord(payload: Uint8Array): void {
    let left = payload.byteLength;
    let pos = 0;
    let begin = true;
    do {
      const leftover = LOG_BLOCK_SIZE - this.blockOffset;
      if (leftover < LOG_HEADER_SIZE) {
        if (leftover > 0) this.push(new Uint8Array(leftover));
        this.blockOffset = 0;
      }
      const avail = LOG_BLOCK_SIZE - this.blockOffset - LOG_HEADER_SIZE;
      const fragment = Math.min(left, avail);
      const end = fragment === left;
      const type =
        begin && end
          ? LogRecordType.FULL
          : begin
            ? LogRecordType.FIRST
            : end
              ? LogRecordType.LAST
              : LogRecordType.MIDDLE;
      this.emit(type, payload.subarray(pos, pos + fragment));
      pos += fragment;
      left -= fragment;
      begin = false;
    } while (left > 0);
  }

  private emit(type: number, data: Uint8Array): void {
    const record = new Uint8Array(LOG_HEADER_SIZE + data.byteLength);
    const view = new DataView(record.buffer);
    record[6] = type;
    record.set(data, LOG_HEADER_SIZE);
    view.setUint16(4, data.byteLength, true);
    view.setUint32(0, maskCrc(crc32cOf(record.subarray(6))), true);
    this.push(record);
    this.blockOffset += record.byteLength;
  }

  private push(b: Uint8Array): void {
    this.parts.push(b);
    this.size += b.byteLength;
  }

  /** The whole log. */
  toBytes(): Uint8Array {
    return new Uint8Array(Buffer.concat(this.parts, this.size));
  }
}

/** A log file holding `records` in order. */
export function encodeLog(records: Iterable<Uint8Array>): Uint8Array {
  const w = new LogWriter();
  for (const r of records) w.addRecord(r);
  return w.toBytes();
}
