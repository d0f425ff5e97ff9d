/**
 * Reading canonical key-groups files as raw records (key and value bytes, not decoded values): what a
 * conversion or a byte-exact rewrite needs. The layout is in `./keyed.ts`; this is the byte-level twin
 * of its decoding reader and of Flink's `FullSnapshotRestoreOperation` / `KeyGroupsIterator`, which
 * also hand out `(kvStateId, key, value)` byte arrays with the meta-data flag cleared.
 *
 * Keys and values handed out are views of the stream's buffers (decompressed chunks joined, or the
 * store's read blocks as they are; never written), so a record costs no copy (but the key of a state
 * run's last record, copied to clear its meta-data flag); memory is bounded by the buffers a batch of
 * records and the store's read block span, whatever the file size.
 */

import { CorruptSnapshotError } from "../../errors.js";
import type { DataInput } from "../io/data-input.js";
import type { KeyGroupsStateHandle } from "../metadata/model.js";
import type { CanonicalRecord } from "./canonical-writer.js";
import type { KeyedBackendHeader } from "./headers.js";
import { END_OF_KEY_GROUP_MARK, META_DATA_FOLLOWS_FLAG } from "./keyed.js";
import {
  type BufferInput,
  FileCursor,
  FramedPieces,
  NEED_MORE,
  type PieceSource,
  RawPieces,
  type StateFile,
  StreamInput,
} from "./stream.js";

/** Records per batch handed out by {@link readCanonicalRecords}, at most. */
export const RECORD_BATCH = 1024;

/** Options of the raw readers. */
export interface RawReadOptions {
  /** Verify Snappy chunk checksums (default true; Flink does not). */
  verifyChecksums?: boolean;
  /** Bytes read per store request (default 1 MiB). */
  blockSize?: number;
}

/** The bytes of one key group in a key-groups file: `[start, end)`. */
export interface KeyGroupSpan {
  keyGroup: number;
  start: number;
  end: number;
}

/**
 * The key groups of a handle that have data, ascending, with the byte span of each: from its offset to
 * the next non-zero offset (or the end of the file). Offset 0 means "no data" (canonical layout).
 *
 * @throws CorruptSnapshotError when the handle's offsets do not match its range or point outside the
 *   file, or (when `everyKeyGroup`, the heap layout) a key group has no offset.
 */
export function keyGroupSpans(
  file: StateFile,
  handle: KeyGroupsStateHandle,
  everyKeyGroup: boolean,
): KeyGroupSpan[] {
  const range = handle.keyGroupRange;
  const n = Math.max(0, range.end - range.start + 1);
  if (handle.offsets.length !== n) {
    throw new CorruptSnapshotError(
      `key-group handle has ${handle.offsets.length} offsets for key groups ${range.start}-${range.end}`,
      { uri: file.uri, offset: 0 },
    );
  }
  const spans: KeyGroupSpan[] = [];
  let next = file.claimedSize;
  for (let i = n - 1; i >= 0; i--) {
    const kg = range.start + i;
    const start = Number(handle.offsets[i] as bigint);
    if (start === 0) {
      if (everyKeyGroup) {
        throw new CorruptSnapshotError(`heap key-group file has no offset for key group ${kg}`, {
          uri: file.uri,
          offset: 0,
        });
      }
      continue;
    }
    if (start < 0 || start >= file.claimedSize || next < start) {
      throw new CorruptSnapshotError(
        `key group ${kg}: offset ${start} (next ${next}) outside the ${file.claimedSize} bytes of the file`,
        { uri: file.uri, offset: Math.max(0, start) },
      );
    }
    spans.push({ keyGroup: kg, start, end: next });
    next = start;
  }
  return spans.reverse();
}

/** The piece source of one key group's data: Snappy-framed (concatenated streams allowed) or raw. */
export function keyGroupPieces(
  cursor: FileCursor,
  compressed: boolean,
  verifyChecksums?: boolean,
): PieceSource {
  return compressed
    ? new FramedPieces(cursor, { verifyChecksums: verifyChecksums !== false })
    : new RawPieces(cursor);
}

/**
 * The records of a canonical key-groups file, in file order (key groups ascending, state runs as
 * written), in batches of at most {@link RECORD_BATCH}; keys have the 0x80 flag cleared.
 *
 * @param header the file's header (`readKeyedHeader`); its `compressed` flag decides Snappy.
 * @throws CorruptSnapshotError with file and offset for truncated data, a state id outside the header,
 *   bytes after an end-of-key-group mark, or a key group that does not end where the next one starts.
 */
export async function* readCanonicalRecords(
  file: StateFile,
  handle: KeyGroupsStateHandle,
  header: KeyedBackendHeader,
  options: RawReadOptions = {},
): AsyncGenerator<CanonicalRecord[]> {
  const cursor = new FileCursor(file, 0, file.claimedSize, options.blockSize);
  const nStates = header.states.length;
  let batch: CanonicalRecord[] = [];
  for (const span of keyGroupSpans(file, handle, false)) {
    const kg = span.keyGroup;
    cursor.seek(span.start);
    cursor.setLimit(span.end);
    const input = new StreamInput(
      keyGroupPieces(cursor, header.compressed, options.verifyChecksums),
      file.uri,
      header.compressed ? 0 : cursor.position,
    );
    let stateId = await input.read((i) => i.readUnsignedShort());
    // Records are decoded as many at a time as the buffer holds whole (no retry of a half-read one).
    const decode = (i: BufferInput): number => decodeRecords(i, kg, nStates, stateId, batch, RECORD_BATCH);
    for (;;) {
      let next = input.tryRead(decode);
      if (next === NEED_MORE) {
        if (batch.length > 0) {
          yield batch;
          batch = [];
        }
        next = await input.read(decode);
      }
      if (batch.length >= RECORD_BATCH) {
        yield batch;
        batch = [];
      }
      if (next === END_OF_KEY_GROUP_MARK) break;
      if (next !== SAME_STATE) stateId = next;
    }
    if (!(await input.atEnd())) {
      throw input.corrupt(`key group ${kg}: ${input.buffered} bytes after its end-of-key-group mark`);
    }
    if (cursor.position !== span.end) {
      throw new CorruptSnapshotError(
        `key group ${kg} ends at byte ${cursor.position}, but the next key group (or the file) starts at ${span.end}`,
        { uri: file.uri, offset: cursor.position },
      );
    }
  }
  if (batch.length > 0) yield batch;
}

/** Returned by {@link decodeRecords} when it stopped inside a state run (batch full, bytes short). */
const SAME_STATE = -1;

/**
 * Decodes the records of state `stateId`'s run from the buffered bytes into `out`, while they are
 * buffered whole and `out` has fewer than `max` records: keys and values are views of the stream's
 * buffer (which is never rewritten), the key's 0x80 flag cleared in place.
 *
 * @returns the state id that follows the run's last record (END_OF_KEY_GROUP_MARK at the end of the key
 *   group), or {@link SAME_STATE} when it stopped inside the run.
 * @throws the input's underflow (read more, retry) when not even one record is buffered whole;
 *   CorruptSnapshotError for a bad length, a state id outside the header, or the stream's end.
 */
function decodeRecords(
  i: BufferInput,
  kg: number,
  nStates: number,
  stateId: number,
  out: CanonicalRecord[],
  max: number,
): number {
  if (stateId >= nStates) {
    throw i.corrupt(`key group ${kg}: state id ${stateId}, but the header has ${nStates} states`);
  }
  const bytes = i.bytes;
  const end = bytes.byteLength;
  let pos = i.position;
  let decoded = 0;
  for (;;) {
    if (decoded > 0 && out.length >= max) break;
    const at = pos;
    if (end - at < 4) break;
    const kLen =
      ((bytes[at] as number) << 24) |
      ((bytes[at + 1] as number) << 16) |
      ((bytes[at + 2] as number) << 8) |
      (bytes[at + 3] as number);
    if (kLen < 1) throw i.corrupt(`key length ${kLen}`, at);
    const vAt = at + 4 + kLen;
    if (end - vAt < 4) break;
    const vLen =
      ((bytes[vAt] as number) << 24) |
      ((bytes[vAt + 1] as number) << 16) |
      ((bytes[vAt + 2] as number) << 8) |
      (bytes[vAt + 3] as number);
    if (vLen < 0) throw i.corrupt(`negative value length ${vLen}`, vAt);
    const flagged = ((bytes[at + 4] as number) & META_DATA_FOLLOWS_FLAG) !== 0;
    const recordEnd = vAt + 4 + vLen + (flagged ? 2 : 0);
    if (recordEnd > end) break;
    // The stream's buffers may be the store's own bytes (an inline file's, a read handed out without a
    // copy): never written. Only the last key of a state run carries the flag, and is copied to clear it.
    let key = bytes.subarray(at + 4, vAt);
    if (flagged) {
      key = key.slice();
      key[0] = (key[0] as number) & ~META_DATA_FOLLOWS_FLAG;
    }
    out.push({ keyGroup: kg, stateId, key, value: bytes.subarray(vAt + 4, vAt + 4 + vLen) });
    decoded++;
    pos = recordEnd;
    if (flagged) {
      i.seek(pos);
      return ((bytes[pos - 2] as number) << 8) | (bytes[pos - 1] as number);
    }
  }
  if (decoded === 0) {
    // Not one whole record: the input asks for more bytes (or, at the stream's end, fails with the
    // position of the truncated field).
    i.seek(pos);
    readRawRecord(i, kg, stateId);
    throw i.corrupt("unreachable: a record that decodes but did not");
  }
  i.seek(pos);
  return SAME_STATE;
}

/** One record read field by field (the slow path, for its errors at the end of the stream). */
function readRawRecord(i: DataInput, kg: number, stateId: number): { record: CanonicalRecord; next: number } {
  const kAt = i.position;
  const kLen = i.readInt();
  if (kLen < 1) throw i.corrupt(`key length ${kLen}`, kAt);
  const key = i.readFully(kLen, "key").slice();
  const flagged = ((key[0] as number) & META_DATA_FOLLOWS_FLAG) !== 0;
  key[0] = (key[0] as number) & ~META_DATA_FOLLOWS_FLAG;
  const vAt = i.position;
  const vLen = i.readInt();
  if (vLen < 0) throw i.corrupt(`negative value length ${vLen}`, vAt);
  const value = i.readFully(vLen, "value").slice();
  const next = flagged ? i.readUnsignedShort() : -1;
  return { record: { keyGroup: kg, stateId, key, value }, next };
}
