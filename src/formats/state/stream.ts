/**
 * Reading state files by ranges, with constant memory: the byte plumbing under the key-group and
 * operator-state readers.
 *
 * Three layers:
 * - {@link StateFile}: the bytes of one stream handle: a file through a {@link Store} (read by ranges,
 *   never whole) or the inline bytes of a `ByteStreamStateHandle`.
 * - {@link FileCursor}: a buffered, seekable position in a StateFile, reading blocks of
 *   {@link DEFAULT_BLOCK_SIZE} bytes ahead; and two piece sources on top of it, raw
 *   ({@link RawPieces}) and Snappy-framed ({@link FramedPieces}, one chunk at a time).
 * - {@link StreamInput}: a logical byte stream over a piece source on which synchronous decoders
 *   (the `DataInput`-based serializers) run. A decoder that runs out of buffered bytes is retried once
 *   more bytes are there, so records of any size decode without the stream being held in memory.
 *
 * Errors name the file and the file offset: for compressed data, the offset of the Snappy chunk that
 * holds the byte, with the decompressed position in the message.
 */

import { CorruptSnapshotError, NotFoundError } from "../../errors.js";
import type { RangeReader, Store } from "../../storage/store.js";
import { DataInput } from "../io/data-input.js";
import type { StreamStateHandle } from "../metadata/model.js";
import { filePointer } from "../metadata/pointers.js";
import { decodeChunkAt, type SnappyDecodeOptions } from "./snappy.js";

/** Bytes read from a store per request (1 MiB). */
export const DEFAULT_BLOCK_SIZE = 1024 * 1024;

/** The bytes of one stream handle. */
export interface StateFile {
  /** URI of the file, or `inline:<handle name>` for bytes inline in `_metadata`; used in errors. */
  readonly uri: string;
  /** Bytes that exist (the file's size, or the inline length). */
  readonly size: number;
  /** Bytes the handle claims (its `stateSize`); more than {@link size} means the file is truncated. */
  readonly claimedSize: number;
  /**
   * The bytes the file holds from the handle's start, whatever the handle claims, where known (a file:
   * from its status). For formats whose claimed size is not the file's: a changelog (DSTL) file's
   * handle claims the length of its uncompressed stream, without the file's first byte.
   */
  readonly fileSize?: number;
  /** Exactly `length` bytes from `offset` (within {@link size}). */
  read(offset: number, length: number): Promise<Uint8Array>;
  /**
   * Optional: the file held open for many reads (offsets as in {@link read}), where the store can
   * (`Store.openRead`); the caller closes it. Without it, read with {@link read}.
   */
  open?(): Promise<RangeReader>;
}

/** A StateFile over bytes in memory (a ByteStreamStateHandle's data, or test bytes). */
export function memoryStateFile(bytes: Uint8Array, uri = "inline:<bytes>"): StateFile {
  return {
    uri,
    size: bytes.byteLength,
    claimedSize: bytes.byteLength,
    read: async (offset, length) => bytes.subarray(offset, offset + length),
  };
}

/** Resolves stream handles to {@link StateFile}s. */
export interface StateFileResolver {
  /** Opens the bytes of `handle` (stat'ing a file once). */
  open(handle: StreamStateHandle): Promise<StateFile>;
}

/**
 * A resolver for a snapshot: relative pointers resolve against `directory` (the directory holding
 * `_metadata`), absolute ones go to the store of their scheme.
 *
 * @throws (from `open`) NotFoundError when a file is missing, CorruptSnapshotError for an empty
 *   file-merging segment handle used as state, and the stores' errors.
 */
export function snapshotFileResolver(directory: string, storeFor: (uri: string) => Store): StateFileResolver {
  return {
    async open(handle: StreamStateHandle): Promise<StateFile> {
      if (handle.kind === "ByteStreamStateHandle") {
        return memoryStateFile(handle.data, `inline:${handle.handleName}`);
      }
      if (handle.kind === "EmptySegmentFileStateHandle")
        return memoryStateFile(new Uint8Array(0), "inline:<empty>");
      const p = filePointer(handle, directory);
      if (!p) throw new CorruptSnapshotError("state handle has no bytes", { offset: 0 });
      const store = storeFor(p.uri);
      const st = await store.stat(p.uri);
      if (!st) throw new NotFoundError(p.uri, { message: `state file missing: ${p.uri}` });
      const start = Number(p.startPos);
      const claimed = Number(p.stateSize);
      const size = Math.max(0, Math.min(claimed, st.size - start));
      const file: StateFile = {
        uri: p.uri,
        size,
        claimedSize: claimed,
        fileSize: Math.max(0, st.size - start),
        read: (offset, length) => store.readRange(p.uri, start + offset, length),
      };
      if (!store.openRead) return file;
      const openRead = store.openRead.bind(store);
      return {
        ...file,
        async open(): Promise<RangeReader> {
          const r = await openRead(p.uri);
          return start === 0 ? r : { read: (o, n) => r.read(start + o, n), close: () => r.close() };
        },
      };
    },
  };
}

/**
 * A buffered position in a {@link StateFile}, limited to `[start, end)`. Reads blocks ahead; seeking
 * within the buffer costs nothing.
 */
export class FileCursor {
  private buf: Uint8Array = new Uint8Array(0);
  /** File offset of `buf[0]`. */
  private bufStart: number;
  private at: number;
  private end: number;

  constructor(
    readonly file: StateFile,
    start = 0,
    end: number = file.claimedSize,
    readonly blockSize: number = DEFAULT_BLOCK_SIZE,
  ) {
    this.bufStart = start;
    this.at = start;
    this.end = end;
  }

  /** Current file offset. */
  get position(): number {
    return this.at;
  }

  /** The offset reads stop at. */
  get limit(): number {
    return this.end;
  }

  /** Sets a new limit (at or after the current position). */
  setLimit(end: number): void {
    this.end = end;
  }

  /** Bytes buffered at the current position. */
  get buffered(): number {
    return this.bufStart + this.buf.length - this.at;
  }

  /** Moves to `offset` (keeping buffered bytes when `offset` is inside the buffer). */
  seek(offset: number): void {
    if (offset >= this.bufStart && offset <= this.bufStart + this.buf.length) {
      this.at = offset;
      return;
    }
    this.buf = new Uint8Array(0);
    this.bufStart = offset;
    this.at = offset;
  }

  /**
   * Buffers at least `n` bytes at the current position, or as many as there are before the limit.
   * @returns the bytes buffered at the position (may be less than `n` at the limit).
   * @throws CorruptSnapshotError when the limit is past the end of a truncated file.
   */
  async ensure(n: number): Promise<number> {
    const have = this.buffered;
    if (have >= n) return have;
    const from = this.bufStart + this.buf.length;
    const want = Math.min(Math.max(n - have, this.blockSize), this.end - from);
    if (want <= 0) return have;
    if (from + want > this.file.size) {
      if (from >= this.file.size) {
        throw new CorruptSnapshotError(
          `state file is truncated: it has ${this.file.size} bytes, the state handle claims ${this.file.claimedSize}`,
          { uri: this.file.uri, offset: this.file.size },
        );
      }
    }
    const len = Math.min(want, this.file.size - from);
    const read = await this.file.read(from, len);
    // A plain Uint8Array view (a Buffer's subarray is much slower, and callers slice this buffer).
    const fresh = new Uint8Array(read.buffer, read.byteOffset, read.byteLength);
    const keep = this.buf.subarray(this.at - this.bufStart);
    if (keep.length === 0) {
      // Nothing left of the old buffer (the usual case of sequential reads): the block as it is, no
      // copy (a copy per block was as much garbage again as the bytes read).
      this.buf = fresh;
    } else {
      const next = new Uint8Array(keep.length + fresh.length);
      next.set(keep, 0);
      next.set(fresh, keep.length);
      this.buf = next;
    }
    this.bufStart = this.at;
    return this.buffered;
  }

  /** The next `n` buffered bytes without consuming them (call {@link ensure} first). */
  peek(n: number): Uint8Array {
    const i = this.at - this.bufStart;
    return this.buf.subarray(i, i + n);
  }

  /** Consumes `n` buffered bytes. */
  skip(n: number): void {
    this.at += n;
  }

  /**
   * Reads exactly `n` bytes.
   * @throws CorruptSnapshotError naming `what` when the limit or the file ends first.
   */
  async readExact(n: number, what: string): Promise<Uint8Array> {
    const have = await this.ensure(n);
    if (have < n) {
      throw new CorruptSnapshotError(
        `unexpected end of data reading ${what}: need ${n} bytes, have ${have}`,
        {
          uri: this.file.uri,
          offset: this.at,
        },
      );
    }
    const out = this.peek(n);
    this.skip(n);
    return out;
  }
}

/** A piece of a logical stream. */
export interface Piece {
  bytes: Uint8Array;
  /** File offset of the first byte (raw), or of the Snappy chunk the bytes came from (compressed). */
  fileOffset: number;
  /** True when the bytes were decompressed from a Snappy chunk. */
  compressed: boolean;
}

/** A source of consecutive pieces of a logical stream; `null` at its end. */
export interface PieceSource {
  next(): Promise<Piece | null>;
}

/** Raw bytes of a cursor, up to its limit, in blocks. */
export class RawPieces implements PieceSource {
  constructor(private readonly cursor: FileCursor) {}

  async next(): Promise<Piece | null> {
    const have = await this.cursor.ensure(1);
    if (have === 0) return null;
    const fileOffset = this.cursor.position;
    const bytes = this.cursor.peek(have);
    this.cursor.skip(have);
    return { bytes, fileOffset, compressed: false };
  }
}

/**
 * The data of Snappy-framed chunks read one at a time from a cursor (xerial's
 * `SnappyFramedInputStream`, as Flink's `SnappyStreamCompressionDecorator` opens it). Stream
 * identifier chunks are skipped wherever they appear, as are padding and skippable chunks, so
 * concatenated streams read as one.
 */
export class FramedPieces implements PieceSource {
  constructor(
    private readonly cursor: FileCursor,
    private readonly options: SnappyDecodeOptions = {},
  ) {}

  async next(): Promise<Piece | null> {
    for (;;) {
      const have = await this.cursor.ensure(4);
      if (have === 0) return null;
      let r = decodeChunkAt(this.cursor.peek(have), 0, this.cursor.position, {
        ...this.options,
        uri: this.cursor.file.uri,
      });
      if (r.kind === "incomplete") {
        const got = await this.cursor.ensure(r.needed);
        if (got < r.needed) {
          throw new CorruptSnapshotError(
            `Snappy framing: truncated chunk: needs ${r.needed} bytes, ${got} left`,
            { uri: this.cursor.file.uri, offset: this.cursor.position },
          );
        }
        r = decodeChunkAt(this.cursor.peek(got), 0, this.cursor.position, {
          ...this.options,
          uri: this.cursor.file.uri,
        });
      }
      if (r.kind === "skip") {
        this.cursor.skip(r.encodedLength);
        continue;
      }
      if (r.kind === "incomplete") throw new Error("unreachable: chunk still incomplete");
      this.cursor.skip(r.chunk.encodedLength);
      if (r.chunk.data.length === 0) continue;
      return { bytes: r.chunk.data, fileOffset: r.chunk.fileOffset, compressed: true };
    }
  }
}

/** Thrown inside a decoder when the buffered bytes run out before the stream does. */
class Underflow {
  constructor(readonly needed: number) {}
}

/** Maps a logical stream position to where it is in the file, for error messages. */
export type PositionMapper = (logical: number) => { fileOffset: number; note: string };

/**
 * A {@link DataInput} over the buffered part of a stream. When the stream has more bytes than the
 * buffer, running short throws an internal underflow that {@link StreamInput} catches to read more
 * and retry; only at the real end of the stream is it a CorruptSnapshotError.
 */
export class BufferInput extends DataInput {
  /**
   * @param final the stream has no bytes after `bytes` (running short is then an error).
   * @param bounded `bytes` are exactly one value's bytes (a length-framed slice), so an opaque value
   *   may take "the rest".
   * @param mapper maps logical positions to file offsets for errors (compressed streams).
   */
  constructor(
    bytes: Uint8Array,
    uri: string,
    logicalBase: number,
    private readonly final: boolean,
    private readonly mapper: PositionMapper | null,
    readonly bounded = false,
  ) {
    super(bytes, uri, logicalBase);
  }

  /** True when more bytes may follow the buffer (so "bytes left" says nothing about the value). */
  get streaming(): boolean {
    return !this.final;
  }

  override require(n: number, what = "value"): void {
    if (n > this.remaining && !this.final) throw new Underflow(n - this.remaining);
    super.require(n, what);
  }

  override readCount(what: string, minItemBytes = 1): number {
    if (this.final) return super.readCount(what, minItemBytes);
    const at = this.position;
    const n = this.readInt();
    if (n < 0) throw this.corrupt(`negative ${what}: ${n}`, at);
    return n;
  }

  override corrupt(message: string, at: number = this.position): CorruptSnapshotError {
    const base = super.corrupt(message, at);
    if (!this.mapper) return base;
    const m = this.mapper(this.baseOffset + at);
    return new CorruptSnapshotError(`${message} (${m.note})`, {
      uri: this.uri ?? "<bytes>",
      offset: m.fileOffset,
      ...(base.path === undefined ? {} : { path: base.path }),
    });
  }
}

/** Returned by {@link StreamInput.tryRead} when more bytes must be read first. */
export const NEED_MORE: unique symbol = Symbol("NEED_MORE");

interface Span {
  logical: number;
  length: number;
  fileOffset: number;
  compressed: boolean;
}

/**
 * A logical byte stream over a {@link PieceSource}, for synchronous decoders.
 *
 * @example
 * const input = new StreamInput(new RawPieces(cursor), file.uri, cursor.position);
 * const n = await input.read((in_) => in_.readInt());
 */
export class StreamInput {
  private buf: Uint8Array = new Uint8Array(0);
  /** Logical position of `buf[0]`. */
  private bufLogical: number;
  private pos = 0;
  private ended = false;
  private spans: Span[] = [];
  private view: BufferInput | null = null;

  /**
   * @param logicalStart logical position of the stream's first byte: its file offset for raw streams
   *   (so logical positions are file offsets), 0 for decompressed ones.
   */
  constructor(
    private readonly source: PieceSource,
    readonly uri: string,
    logicalStart = 0,
  ) {
    this.bufLogical = logicalStart;
  }

  /** Logical position of the next unread byte. */
  get position(): number {
    return this.bufLogical + this.pos;
  }

  /** Bytes buffered and not yet consumed. */
  get buffered(): number {
    return this.buf.length - this.pos;
  }

  /** True once the source is exhausted and every byte consumed. */
  async atEnd(): Promise<boolean> {
    while (this.buffered === 0 && !this.ended) await this.more(1);
    return this.buffered === 0;
  }

  /** File offset (and a description) of a logical position, for error messages. */
  locate(logical: number): { fileOffset: number; note: string } {
    for (const s of this.spans) {
      if (logical >= s.logical && logical < s.logical + s.length) {
        return s.compressed
          ? {
              fileOffset: s.fileOffset,
              note: `decompressed byte ${logical - s.logical} of the Snappy chunk at file byte ${s.fileOffset}`,
            }
          : {
              fileOffset: s.fileOffset + (logical - s.logical),
              note: `file byte ${s.fileOffset + (logical - s.logical)}`,
            };
      }
    }
    const last = this.spans[this.spans.length - 1];
    if (last && logical >= last.logical + last.length) {
      return last.compressed
        ? {
            fileOffset: last.fileOffset,
            note: `past the end of the Snappy chunk at file byte ${last.fileOffset}`,
          }
        : {
            fileOffset: last.fileOffset + (logical - last.logical),
            note: `file byte ${last.fileOffset + (logical - last.logical)}`,
          };
    }
    return { fileOffset: logical, note: `stream byte ${logical}` };
  }

  /**
   * A bounded input over `bytes`, a slice this stream just produced starting at logical position
   * `logical`: errors inside it name file offsets like the stream's own.
   */
  slice(bytes: Uint8Array, logical: number): BufferInput {
    const hasCompressed = this.spans.some((s) => s.compressed);
    return new BufferInput(
      bytes,
      this.uri,
      logical,
      true,
      hasCompressed ? (l) => this.locate(l) : null,
      true,
    );
  }

  /** A CorruptSnapshotError at the current position (or `logical`). */
  corrupt(message: string, logical: number = this.position): CorruptSnapshotError {
    const m = this.locate(logical);
    const compressed = this.spans.some((s) => s.compressed);
    return new CorruptSnapshotError(compressed ? `${message} (${m.note})` : message, {
      uri: this.uri,
      offset: m.fileOffset,
    });
  }

  /**
   * Reads at least `atLeast` more bytes into the buffer (fewer at the end of the stream).
   * @returns false when the stream had no more bytes.
   */
  async more(atLeast: number): Promise<boolean> {
    if (this.ended) return false;
    const pieces: Piece[] = [];
    let got = 0;
    while (got < atLeast) {
      const p = await this.source.next();
      if (!p) {
        this.ended = true;
        break;
      }
      pieces.push(p);
      got += p.bytes.length;
    }
    if (pieces.length === 0 && this.ended) {
      this.view = null;
      return false;
    }
    const keep = this.buf.subarray(this.pos);
    // One piece and nothing left over (reads of whole pieces): the piece as it is, without a copy.
    const whole = keep.length === 0 && pieces.length === 1;
    const next = whole ? (pieces[0] as Piece).bytes : new Uint8Array(keep.length + got);
    if (!whole) next.set(keep, 0);
    let at = keep.length;
    const newLogical = this.bufLogical + this.pos;
    const firstLogical = newLogical + keep.length;
    let logical = firstLogical;
    for (const p of pieces) {
      if (!whole) next.set(p.bytes, at);
      at += p.bytes.length;
      this.spans.push({
        logical,
        length: p.bytes.length,
        fileOffset: p.fileOffset,
        compressed: p.compressed,
      });
      logical += p.bytes.length;
    }
    this.buf = next;
    this.bufLogical = newLogical;
    this.pos = 0;
    this.spans = this.spans.filter((s) => s.logical + s.length > newLogical);
    this.view = null;
    return got > 0;
  }

  /**
   * Runs `decode` on the buffered bytes at the current position. On success the bytes it read are
   * consumed and its result returned; when it needs bytes that are not buffered yet, nothing is
   * consumed and {@link NEED_MORE} is returned (call {@link more}, then retry).
   *
   * @throws CorruptSnapshotError from the decoder (with file offsets), including "unexpected end of
   *   data" once the stream has ended.
   */
  tryRead<T>(decode: (input: BufferInput) => T): T | typeof NEED_MORE {
    const v = this.viewAt();
    try {
      const out = decode(v);
      this.pos = v.position;
      return out;
    } catch (err) {
      if (err instanceof Underflow) {
        this.lastNeeded = err.needed;
        return NEED_MORE;
      }
      throw err;
    }
  }

  private lastNeeded = 1;

  /** How many more bytes the last {@link tryRead} that returned NEED_MORE asked for, at least. */
  get needed(): number {
    return Math.max(this.lastNeeded, this.buffered, 64 * 1024);
  }

  /** {@link tryRead} until it succeeds, reading more bytes as needed. */
  async read<T>(decode: (input: BufferInput) => T): Promise<T> {
    for (;;) {
      const r = this.tryRead(decode);
      if (r !== NEED_MORE) return r;
      await this.more(this.needed);
    }
  }

  private viewAt(): BufferInput {
    if (!this.view) {
      const hasCompressed = this.spans.some((s) => s.compressed);
      this.view = new BufferInput(
        this.buf,
        this.uri,
        this.bufLogical,
        this.ended,
        hasCompressed ? (l) => this.locate(l) : null,
      );
    }
    this.view.seek(this.pos);
    return this.view;
  }
}
