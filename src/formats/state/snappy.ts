/**
 * Snappy framing format, as Flink writes and reads it for compressed state streams.
 *
 * Flink's `SnappyStreamCompressionDecorator` wraps state streams in xerial snappy-java's
 * `SnappyFramedOutputStream(out, blockSize = 64 KiB, minCompressionRatio = 0.85)` and reads them with
 * `SnappyFramedInputStream(in, verifyChecksums = false)`. Those classes implement Google's framing
 * format (`framing_format.txt` of the snappy project):
 *
 * ```
 * stream identifier chunk : FF 06 00 00 73 4E 61 50 70 59          ("sNaPpY")
 * every chunk             : type (1 byte), length (3 bytes, little-endian), `length` bytes of data
 *   type 0x00 compressed  : masked CRC-32C of the UNcompressed data (4 bytes LE), raw snappy block
 *   type 0x01 stored      : masked CRC-32C (4 bytes LE), the data as is
 *   type 0xFE padding, 0x80..0xFD reserved skippable: skipped
 *   type 0x02..0x7F reserved unskippable: an error
 * masked CRC              : ((crc >>> 15) | (crc << 17)) + 0xA282EAD8   (32-bit)
 * ```
 *
 * A chunk holds at most 65536 uncompressed bytes. xerial's writer emits the identifier once when the
 * stream is created, buffers up to `blockSize` bytes, and on every `flush()` (Flink's
 * `CompressibleFSDataOutputStream.getPos()` flushes) writes the buffered bytes as one chunk: compressed
 * if `compressed/raw <= minCompressionRatio`, stored otherwise. Offsets Flink records are therefore chunk
 * boundaries.
 *
 * Unlike Flink (which reads without checksum verification), this reader verifies the CRC of every
 * chunk by default, so corruption is reported where it is, not as a misread further on.
 *
 * The raw snappy block codec is the `snappy` package (napi-rs, Rust); CRC-32C is `@node-rs/crc32`.
 * Compressed blocks need not be byte-identical to the ones snappy-java (C++ snappy) writes; stored
 * chunks and the framing are.
 */

import { CorruptSnapshotError } from "../../errors.js";
import { concatBytes } from "../io/concat.js";
import { crc32, snappy } from "../native-libs.js";

/** The stream identifier chunk, as xerial's `SnappyFramed.HEADER_BYTES`. */
export const SNAPPY_STREAM_IDENTIFIER = Uint8Array.of(
  0xff,
  0x06,
  0x00,
  0x00,
  0x73,
  0x4e,
  0x61,
  0x50,
  0x70,
  0x59,
);

/** Chunk types of the framing format. */
export const CHUNK_COMPRESSED = 0x00;
export const CHUNK_STORED = 0x01;
export const CHUNK_PADDING = 0xfe;
export const CHUNK_STREAM_IDENTIFIER = 0xff;

/** Largest uncompressed payload of one chunk (framing format; xerial's `MAX_BLOCK_SIZE`). */
export const MAX_CHUNK_DATA = 65536;

/** Flink's `SnappyStreamCompressionDecorator.COMPRESSION_BLOCK_SIZE` (bytes). */
export const FLINK_SNAPPY_BLOCK_SIZE = 64 * 1024;
/** Flink's `SnappyStreamCompressionDecorator.MIN_COMPRESSION_RATIO`. */
export const FLINK_SNAPPY_MIN_COMPRESSION_RATIO = 0.85;

const toBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/** The masked CRC-32C of `data`, as the framing format stores it (unsigned 32-bit). */
export function maskedCrc32c(data: Uint8Array): number {
  const crc = crc32().crc32c(toBuffer(data)) >>> 0;
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** One decoded data chunk. */
export interface SnappyChunk {
  /** 0x00 compressed or 0x01 stored. */
  type: number;
  /** Offset of the chunk's type byte, in the file (the caller's `baseOffset` plus its position). */
  fileOffset: number;
  /** Bytes the chunk occupies in the file, header included. */
  encodedLength: number;
  /** The uncompressed data. */
  data: Uint8Array;
}

/** Options of the framed decoder. */
export interface SnappyDecodeOptions {
  /** Verify every chunk's masked CRC-32C (default true; Flink itself does not). */
  verifyChecksums?: boolean;
  /** File name for error messages. */
  uri?: string;
}

/** What {@link decodeChunkAt} found at a position. */
export type ChunkAt =
  | { kind: "data"; chunk: SnappyChunk }
  /** A stream identifier, padding or skippable chunk: no data, `encodedLength` bytes to skip. */
  | { kind: "skip"; encodedLength: number }
  /** Not enough bytes for the whole chunk: `needed` bytes from `at` are required. */
  | { kind: "incomplete"; needed: number };

/**
 * Decodes the chunk that starts at `bytes[at]` (one step of xerial's `SnappyFramedInputStream`).
 *
 * @param baseOffset file offset of `bytes[0]`, for error messages and {@link SnappyChunk.fileOffset}.
 * @throws CorruptSnapshotError for an unskippable reserved type, a bad identifier, a length over the
 *   format's limits, a checksum mismatch, or a block snappy cannot decompress (all with file offset).
 */
export function decodeChunkAt(
  bytes: Uint8Array,
  at: number,
  baseOffset: number,
  options: SnappyDecodeOptions = {},
): ChunkAt {
  const fail = (message: string, pos = at) =>
    new CorruptSnapshotError(`Snappy framing: ${message}`, {
      ...(options.uri === undefined ? {} : { uri: options.uri }),
      offset: baseOffset + pos,
    });
  if (bytes.length - at < 4) return { kind: "incomplete", needed: 4 };
  const type = bytes[at] as number;
  const length =
    (bytes[at + 1] as number) | ((bytes[at + 2] as number) << 8) | ((bytes[at + 3] as number) << 16);
  if (type === CHUNK_COMPRESSED || type === CHUNK_STORED) {
    if (length < 4) throw fail(`chunk of type ${type} with length ${length}, shorter than its checksum`);
    if (type === CHUNK_STORED && length > MAX_CHUNK_DATA + 4) {
      throw fail(`stored chunk of ${length - 4} bytes, more than the ${MAX_CHUNK_DATA} allowed`);
    }
  } else if (type >= 0x02 && type <= 0x7f) {
    throw fail(`reserved unskippable chunk type 0x${type.toString(16).padStart(2, "0")}`);
  }
  if (bytes.length - at < 4 + length) return { kind: "incomplete", needed: 4 + length };
  const body = bytes.subarray(at + 4, at + 4 + length);
  if (type === CHUNK_STREAM_IDENTIFIER) {
    if (length !== 6 || !SNAPPY_STREAM_IDENTIFIER.subarray(4).every((b, i) => body[i] === b)) {
      throw fail("bad stream identifier chunk (expected FF 06 00 00 sNaPpY)");
    }
    return { kind: "skip", encodedLength: 4 + length };
  }
  if (type !== CHUNK_COMPRESSED && type !== CHUNK_STORED) {
    return { kind: "skip", encodedLength: 4 + length };
  }
  const expected =
    ((body[0] as number) |
      ((body[1] as number) << 8) |
      ((body[2] as number) << 16) |
      ((body[3] as number) << 24)) >>>
    0;
  let data: Uint8Array;
  if (type === CHUNK_STORED) {
    data = body.subarray(4);
  } else {
    try {
      const out = snappy().uncompressSync(toBuffer(body.subarray(4)), { asBuffer: true }) as Buffer;
      data = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    } catch (err) {
      throw fail(`compressed chunk does not decompress: ${(err as Error).message}`);
    }
    if (data.length > MAX_CHUNK_DATA) {
      throw fail(
        `compressed chunk decompresses to ${data.length} bytes, more than the ${MAX_CHUNK_DATA} allowed`,
      );
    }
  }
  if (options.verifyChecksums !== false) {
    const actual = maskedCrc32c(data);
    if (actual !== expected) {
      throw fail(
        `checksum mismatch: chunk says 0x${expected.toString(16).padStart(8, "0")}, data has 0x${actual.toString(16).padStart(8, "0")}`,
      );
    }
  }
  return { kind: "data", chunk: { type, fileOffset: baseOffset + at, encodedLength: 4 + length, data } };
}

/**
 * Decodes a whole framed stream (or several concatenated ones) held in memory: the data chunks with
 * their file offsets. The stream must end at a chunk boundary.
 *
 * @throws CorruptSnapshotError for a truncated chunk or any problem {@link decodeChunkAt} reports.
 */
export function decodeSnappyFramed(
  bytes: Uint8Array,
  options: SnappyDecodeOptions & { baseOffset?: number; requireIdentifier?: boolean } = {},
): SnappyChunk[] {
  const base = options.baseOffset ?? 0;
  if (options.requireIdentifier !== false) {
    const ok =
      bytes.length >= SNAPPY_STREAM_IDENTIFIER.length &&
      SNAPPY_STREAM_IDENTIFIER.every((b, i) => bytes[i] === b);
    if (!ok) {
      throw new CorruptSnapshotError(
        "Snappy framing: stream does not start with the stream identifier chunk",
        {
          ...(options.uri === undefined ? {} : { uri: options.uri }),
          offset: base,
        },
      );
    }
  }
  const out: SnappyChunk[] = [];
  let at = 0;
  while (at < bytes.length) {
    const r = decodeChunkAt(bytes, at, base, options);
    if (r.kind === "incomplete") {
      throw new CorruptSnapshotError(
        `Snappy framing: truncated chunk: needs ${r.needed} bytes, ${bytes.length - at} left`,
        { ...(options.uri === undefined ? {} : { uri: options.uri }), offset: base + at },
      );
    }
    if (r.kind === "skip") {
      at += r.encodedLength;
      continue;
    }
    out.push(r.chunk);
    at += r.chunk.encodedLength;
  }
  return out;
}

/** Options of {@link SnappyFramedWriter}. */
export interface SnappyWriterOptions {
  /** Bytes buffered before a chunk is written (default 64 KiB, Flink's; at most 65536). */
  blockSize?: number;
  /** Compressed chunks are used when compressed/raw is at most this (default 0.85, Flink's). */
  minCompressionRatio?: number;
}

/**
 * A framed-stream writer with the behaviour of xerial's `SnappyFramedOutputStream` as Flink configures
 * it: the identifier on creation, a chunk whenever `blockSize` bytes are buffered or on `flush()`.
 * Output accumulates in memory; take it with {@link SnappyFramedWriter.take} or {@link close}.
 */
export class SnappyFramedWriter {
  private readonly blockSize: number;
  private readonly minRatio: number;
  private readonly parts: Uint8Array[] = [];
  private readonly buffer: Uint8Array;
  private buffered = 0;
  private written = 0;

  constructor(options: SnappyWriterOptions = {}) {
    this.blockSize = options.blockSize ?? FLINK_SNAPPY_BLOCK_SIZE;
    this.minRatio = options.minCompressionRatio ?? FLINK_SNAPPY_MIN_COMPRESSION_RATIO;
    if (!(this.blockSize > 0 && this.blockSize <= MAX_CHUNK_DATA)) {
      throw new RangeError(`block size ${this.blockSize} must be in (0, ${MAX_CHUNK_DATA}]`);
    }
    this.buffer = new Uint8Array(this.blockSize);
    this.emit(SNAPPY_STREAM_IDENTIFIER);
  }

  /** Encoded bytes produced so far (the position of the underlying stream). */
  get encodedLength(): number {
    return this.written;
  }

  /** Buffers `data`, writing a chunk each time the block fills. */
  write(data: Uint8Array): this {
    let at = 0;
    while (at < data.length) {
      const n = Math.min(this.blockSize - this.buffered, data.length - at);
      this.buffer.set(data.subarray(at, at + n), this.buffered);
      this.buffered += n;
      at += n;
      if (this.buffered === this.blockSize) this.flush();
    }
    return this;
  }

  /** Writes the buffered bytes as one chunk (nothing when none are buffered). */
  flush(): this {
    if (this.buffered === 0) return this;
    const raw = this.buffer.slice(0, this.buffered);
    this.buffered = 0;
    const crc = maskedCrc32c(raw);
    const compressed = snappy().compressSync(toBuffer(raw));
    const useCompressed = compressed.byteLength / raw.byteLength <= this.minRatio;
    const body = useCompressed
      ? new Uint8Array(compressed.buffer, compressed.byteOffset, compressed.byteLength)
      : raw;
    const len = body.byteLength + 4;
    const head = Uint8Array.of(
      useCompressed ? CHUNK_COMPRESSED : CHUNK_STORED,
      len & 0xff,
      (len >>> 8) & 0xff,
      (len >>> 16) & 0xff,
      crc & 0xff,
      (crc >>> 8) & 0xff,
      (crc >>> 16) & 0xff,
      (crc >>> 24) & 0xff,
    );
    this.emit(head);
    this.emit(body);
    return this;
  }

  /** Returns (and forgets) the encoded bytes produced so far. */
  take(): Uint8Array {
    const out = concatBytes(this.parts);
    this.parts.length = 0;
    return out;
  }

  /** Flushes and returns the rest of the encoded bytes. */
  close(): Uint8Array {
    this.flush();
    return this.take();
  }

  private emit(b: Uint8Array): void {
    this.parts.push(b);
    this.written += b.byteLength;
  }
}

/**
 * Encodes `data` as one framed stream, like xerial's writer given `data` in one write and closed.
 */
export function encodeSnappyFramed(data: Uint8Array, options: SnappyWriterOptions = {}): Uint8Array {
  return new SnappyFramedWriter(options).write(data).close();
}

export { concatBytes };
