/**
 * Block compression of RocksDB tables: the type byte of the block trailer and how each type is
 * stored (`util/compression.h`: `Snappy_Uncompress`, `Zlib_Uncompress`, `LZ4_Uncompress`,
 * `ZSTD_Uncompress`; `table/format.h`: `GetCompressFormatForVersion`).
 *
 * "compress_format_version" is 2 for tables of format_version >= 2, else 1:
 * - Snappy (1): the raw Snappy format (its own varint length header), both versions.
 * - Zlib (2): v2: varint32 decompressed size, then a deflate stream; v1: the stream only. The
 *   stream is raw deflate for RocksDB's default `window_bits = -14`, a zlib/gzip stream for
 *   positive window bits: both are accepted.
 * - LZ4 (4) and LZ4HC (5): v2: varint32 size, then an LZ4 block; v1: 8 bytes whose first 4 are the
 *   size (little-endian), then the block.
 * - ZSTD (7, and the legacy kZSTDNotFinalCompression 0x40): always varint32 size, then a frame.
 * - BZip2 (3) and Xpress (6) are not read (UnsupportedVersionError, "version" = the type byte).
 *
 * Decoders: `snappy` and `lz4-napi` (native, napi-rs), `fzstd` (pure JS), `node:zlib`.
 * Dictionary compression (a `rocksdb.compression_dict` meta block) is refused by the table reader.
 */

import { inflateRawSync, unzipSync } from "node:zlib";
import { UnsupportedVersionError } from "../../errors.js";
import { lz4, snappy, zstd } from "../native-libs.js";
import { type ByteOrigin, ByteReader, corrupt } from "./coding.js";

/** `CompressionType` (`include/rocksdb/compression_type.h`). */
export const CompressionType = {
  NONE: 0x0,
  SNAPPY: 0x1,
  ZLIB: 0x2,
  BZIP2: 0x3,
  LZ4: 0x4,
  LZ4HC: 0x5,
  XPRESS: 0x6,
  ZSTD: 0x7,
  ZSTD_NOT_FINAL: 0x40,
} as const;
/** A compression type byte (one of {@link CompressionType}). */
export type CompressionType = (typeof CompressionType)[keyof typeof CompressionType];

/** RocksDB's names of the compression types (as in OPTIONS files and `rocksdb.compression`). */
export const COMPRESSION_NAMES: Record<number, string> = {
  0: "NoCompression",
  1: "Snappy",
  2: "Zlib",
  3: "BZip2",
  4: "LZ4",
  5: "LZ4HC",
  6: "Xpress",
  7: "ZSTD",
  64: "ZSTDNotFinal",
};

/** Default cap on one decompressed block (bytes); a corrupt size header cannot exhaust memory. */
export const DEFAULT_MAX_BLOCK_BYTES = 1024 * 1024 * 1024;

/** `GetCompressFormatForVersion`: 2 for table format_version >= 2, else 1. */
export function compressFormatVersion(tableFormatVersion: number): 1 | 2 {
  return tableFormatVersion >= 2 ? 2 : 1;
}

/**
 * Decompresses one block's contents (without the 5-byte trailer).
 *
 * @param type the compression type byte from the block trailer.
 * @param data the stored block contents.
 * @param formatVersion the table's format_version (selects compress_format_version).
 * @param origin file, absolute offset of `data` and label for errors.
 * @throws CorruptSnapshotError when the data does not decompress or the size does not match its
 *   header; UnsupportedVersionError for BZip2, Xpress and unknown types.
 */
export function decompressBlock(
  type: number,
  data: Uint8Array,
  formatVersion: number,
  origin: ByteOrigin,
  maxBytes: number = DEFAULT_MAX_BLOCK_BYTES,
): Uint8Array {
  if (type === CompressionType.NONE) return data; // the usual case, without the closures below
  const at = origin.baseOffset ?? 0;
  const fail = (what: string, cause?: unknown) => {
    const err = corrupt(
      `${COMPRESSION_NAMES[type] ?? `type ${type}`} block does not decompress: ${what}`,
      origin,
      at,
    );
    if (cause !== undefined) (err as { cause?: unknown }).cause = cause;
    return err;
  };
  const v2 = compressFormatVersion(formatVersion) === 2;
  const sizeHeader = (): { size: number; body: Uint8Array } => {
    const r = new ByteReader(data, origin);
    const size = r.varint32("decompressed size");
    if (size > maxBytes) throw fail(`decompressed size ${size} is over the limit of ${maxBytes} bytes`);
    return { size, body: data.subarray(r.pos) };
  };
  const checkSize = (out: Uint8Array, size: number) => {
    if (out.byteLength !== size) throw fail(`${out.byteLength} bytes, the header says ${size}`);
    return out;
  };
  switch (type) {
    case CompressionType.NONE:
      return data;
    case CompressionType.SNAPPY: {
      try {
        const out = snappy().uncompressSync(data, { asBuffer: true }) as Buffer;
        return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
      } catch (err) {
        throw fail((err as Error).message, err);
      }
    }
    case CompressionType.ZLIB: {
      let size = -1;
      let body = data;
      if (v2) ({ size, body } = sizeHeader());
      let out: Uint8Array;
      try {
        out = inflateRawSync(body, { maxOutputLength: maxBytes });
      } catch (raw) {
        try {
          out = unzipSync(body, { maxOutputLength: maxBytes });
        } catch {
          throw fail((raw as Error).message, raw);
        }
      }
      out = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
      return size >= 0 ? checkSize(out, size) : out;
    }
    case CompressionType.LZ4:
    case CompressionType.LZ4HC: {
      let size: number;
      let body: Uint8Array;
      if (v2) ({ size, body } = sizeHeader());
      else {
        if (data.byteLength < 8) throw fail("shorter than its 8-byte size header");
        size = new DataView(data.buffer, data.byteOffset, 8).getUint32(0, true);
        if (size > maxBytes) throw fail(`decompressed size ${size} is over the limit of ${maxBytes} bytes`);
        body = data.subarray(8);
      }
      // An LZ4 block expands at most about 255 times: a larger claim is a damaged header.
      if (size > body.byteLength * 255 + 64) throw fail(`claims ${size} bytes from ${body.byteLength}`);
      // lz4-napi reads lz4_flex's "size prepended" layout: a u32 little-endian size, then the block.
      const framed = Buffer.allocUnsafe(4 + body.byteLength);
      framed.writeUInt32LE(size, 0);
      framed.set(body, 4);
      try {
        const out = lz4().uncompressSync(framed);
        return checkSize(new Uint8Array(out.buffer, out.byteOffset, out.byteLength), size);
      } catch (err) {
        if ((err as { code?: string }).code === "CORRUPT_SNAPSHOT") throw err;
        throw fail((err as Error).message, err);
      }
    }
    case CompressionType.ZSTD:
    case CompressionType.ZSTD_NOT_FINAL: {
      const { size, body } = sizeHeader();
      try {
        // The frame sizes itself; the header's size is checked afterwards, never trusted for allocation.
        return checkSize(zstd().decompress(body), size);
      } catch (err) {
        if ((err as { code?: string }).code === "CORRUPT_SNAPSHOT") throw err;
        throw fail((err as Error).message, err);
      }
    }
    default:
      throw new UnsupportedVersionError(
        `${COMPRESSION_NAMES[type] ?? "unknown"} compression (type byte ${type}) is not supported; ` +
          "savepoint-kit reads NoCompression, Snappy, Zlib, LZ4, LZ4HC and ZSTD blocks",
        { ...(origin.uri === undefined ? {} : { uri: origin.uri }), version: type, offset: at },
      );
  }
}
