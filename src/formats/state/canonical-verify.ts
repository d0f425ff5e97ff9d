/**
 * Checking a canonical key-groups file the way it is read back, without building its records: the
 * structural walk `convert` runs over every file it writes (re-read through the store).
 *
 * Per key group with data (`keyGroupSpans`), exactly the checks `readCanonicalRecords`
 * (`./canonical-records.ts`, the byte-level twin of Flink's `FullSnapshotRestoreOperation` /
 * `KeyGroupsIterator`) makes: the Snappy chunks' CRC-32C (compressed files), state ids inside the header,
 * key lengths of at least 1 and value lengths of at least 0 within the data, the "meta data follows"
 * flag on a key's first byte followed by the next state id or the end-of-key-group mark, no byte after
 * that mark, and the key group ending where the next one starts. Records are counted, never copied or
 * decoded into objects, so checking costs a read of the file and a pass over its bytes.
 */

import { CorruptSnapshotError } from "../../errors.js";
import type { KeyGroupsStateHandle } from "../metadata/model.js";
import { ReadAhead } from "../rocksdb/block-io.js";
import { keyGroupPieces, keyGroupSpans } from "./canonical-records.js";
import type { KeyedBackendHeader } from "./headers.js";
import { END_OF_KEY_GROUP_MARK, META_DATA_FOLLOWS_FLAG } from "./keyed.js";
import { FileCursor, type PieceSource, type StateFile } from "./stream.js";

/**
 * Uncompressed files are read sequentially through a read-ahead of {@link CHECK_READ_AHEAD} bytes per
 * request ({@link ReadAhead}: the next chunk is read while this one is walked, two chunks in memory), so
 * the walk rarely waits for the store; the walk takes {@link CHECK_PIECE} bytes at a time out of the
 * chunks (views; a piece straddling two chunks is copied, at most that much per chunk).
 */
const CHECK_READ_AHEAD = 2 * 1024 * 1024;
const CHECK_PIECE = 64 * 1024;

/**
 * Bytes read per store request while checking a compressed file (its Snappy chunks are joined across
 * reads, so reads are large and direct; the cursor reads at most one key group ahead).
 */
const CHECK_READ_BLOCK = 4 * 1024 * 1024;

/** What {@link checkCanonicalKeyGroups} found. */
export interface CanonicalCheck {
  /** Records (key/value pairs) in the file. */
  records: number;
  /** Key groups with data. */
  keyGroups: number;
}

/** Consecutive pieces of one key group's logical stream, read byte-wise across piece boundaries. */
class PieceWalker {
  buf: Uint8Array = new Uint8Array(0);
  pos = 0;
  private fileOffset = 0;
  private compressed = false;

  constructor(
    private readonly source: PieceSource,
    private readonly uri: string,
  ) {}

  /** Loads the next piece; false at the end of the stream. */
  async fill(): Promise<boolean> {
    const p = await this.source.next();
    if (!p) return false;
    this.buf = p.bytes;
    this.pos = 0;
    this.fileOffset = p.fileOffset;
    this.compressed = p.compressed;
    return true;
  }

  /** The error at the current position (the Snappy chunk's offset for compressed data). */
  corrupt(message: string): CorruptSnapshotError {
    const offset = this.compressed ? this.fileOffset : this.fileOffset + this.pos;
    const note = this.compressed
      ? ` (decompressed byte ${this.pos} of the Snappy chunk at file byte ${this.fileOffset})`
      : "";
    return new CorruptSnapshotError(`${message}${note}`, { uri: this.uri, offset });
  }

  /** A big-endian unsigned integer of `n` (at most 4) bytes. */
  async uint(n: number, what: string): Promise<number> {
    let v = 0;
    for (let i = 0; i < n; i++) {
      while (this.pos >= this.buf.byteLength) {
        if (!(await this.fill())) throw this.corrupt(`unexpected end of data reading ${what}`);
      }
      v = v * 256 + (this.buf[this.pos++] as number);
    }
    return v;
  }

  /** Skips `n` bytes. */
  async skip(n: number, what: string): Promise<void> {
    let left = n;
    while (left > 0) {
      while (this.pos >= this.buf.byteLength) {
        if (!(await this.fill()))
          throw this.corrupt(`unexpected end of data reading ${what}: ${left} bytes missing`);
      }
      const k = Math.min(left, this.buf.byteLength - this.pos);
      this.pos += k;
      left -= k;
    }
  }

  /** True when no byte follows in this piece or any later one. */
  async atEnd(): Promise<boolean> {
    while (this.pos >= this.buf.byteLength) if (!(await this.fill())) return true;
    return false;
  }
}

const toInt32 = (u: number) => (u > 0x7fffffff ? u - 0x100000000 : u);

/**
 * Walks every key group of a canonical key-groups file (see the module doc) and counts its records.
 *
 * @param header the file's header; its `compressed` flag decides Snappy.
 * @throws CorruptSnapshotError (file and offset) for anything `readCanonicalRecords` would refuse.
 */
export async function checkCanonicalKeyGroups(
  file: StateFile,
  handle: KeyGroupsStateHandle,
  header: KeyedBackendHeader,
  options: { verifyChecksums?: boolean } = {},
): Promise<CanonicalCheck> {
  if (header.compressed) return walkKeyGroups(file, CHECK_READ_BLOCK, handle, header, options);
  const ahead = new ReadAhead(file, file.size, CHECK_READ_AHEAD);
  try {
    const sequential: StateFile = {
      uri: file.uri,
      size: file.size,
      claimedSize: file.claimedSize,
      read: (offset, length) => ahead.read(offset, length),
    };
    return await walkKeyGroups(sequential, CHECK_PIECE, handle, header, options);
  } finally {
    await ahead.close();
  }
}

/** The walk of {@link checkCanonicalKeyGroups} over the file (read sequentially). */
async function walkKeyGroups(
  file: StateFile,
  readBlock: number,
  handle: KeyGroupsStateHandle,
  header: KeyedBackendHeader,
  options: { verifyChecksums?: boolean },
): Promise<CanonicalCheck> {
  const cursor = new FileCursor(file, 0, file.claimedSize, readBlock);
  const nStates = header.states.length;
  let records = 0;
  let keyGroups = 0;
  for (const span of keyGroupSpans(file, handle, false)) {
    const kg = span.keyGroup;
    cursor.seek(span.start);
    cursor.setLimit(span.end);
    const w = new PieceWalker(keyGroupPieces(cursor, header.compressed, options.verifyChecksums), file.uri);
    let stateId = await w.uint(2, "state id");
    for (;;) {
      if (stateId >= nStates)
        throw w.corrupt(`key group ${kg}: state id ${stateId}, but the header has ${nStates} states`);
      // fast path: the whole record (lengths, key, value, next id) inside the current piece
      const b = w.buf;
      let p = w.pos;
      let next = -1;
      if (p + 4 <= b.byteLength) {
        const kLen = toInt32(
          ((b[p] as number) << 24) |
            ((b[p + 1] as number) << 16) |
            ((b[p + 2] as number) << 8) |
            (b[p + 3] as number),
        );
        if (kLen >= 1 && p + 8 + kLen <= b.byteLength) {
          const flagged = ((b[p + 4] as number) & META_DATA_FOLLOWS_FLAG) !== 0;
          const q = p + 4 + kLen;
          const vLen = toInt32(
            ((b[q] as number) << 24) |
              ((b[q + 1] as number) << 16) |
              ((b[q + 2] as number) << 8) |
              (b[q + 3] as number),
          );
          const end = q + 4 + vLen + (flagged ? 2 : 0);
          if (vLen >= 0 && end <= b.byteLength) {
            if (flagged) next = ((b[end - 2] as number) << 8) | (b[end - 1] as number);
            p = end;
            w.pos = p;
            records++;
            if (!flagged) continue;
            if (next === END_OF_KEY_GROUP_MARK) break;
            stateId = next;
            continue;
          }
        }
      }
      // slow path: byte-wise across pieces, with the exact errors
      const kLen = toInt32(await w.uint(4, "key length"));
      if (kLen < 1) throw w.corrupt(`key group ${kg}: key length ${kLen}`);
      const first = await w.uint(1, "key");
      await w.skip(kLen - 1, "key");
      const vLen = toInt32(await w.uint(4, "value length"));
      if (vLen < 0) throw w.corrupt(`key group ${kg}: negative value length ${vLen}`);
      await w.skip(vLen, "value");
      records++;
      if ((first & META_DATA_FOLLOWS_FLAG) === 0) continue;
      next = await w.uint(2, "next state id");
      if (next === END_OF_KEY_GROUP_MARK) break;
      stateId = next;
    }
    if (!(await w.atEnd())) {
      throw w.corrupt(`key group ${kg}: ${w.buf.byteLength - w.pos} bytes after its end-of-key-group mark`);
    }
    if (cursor.position !== span.end) {
      throw new CorruptSnapshotError(
        `key group ${kg} ends at byte ${cursor.position}, but the next key group (or the file) starts at ${span.end}`,
        { uri: file.uri, offset: cursor.position },
      );
    }
    keyGroups++;
  }
  return { records, keyGroups };
}
