/**
 * Reading canonical key-groups files as raw records (key and value bytes, not decoded values): what a
 * conversion or a byte-exact rewrite needs. The layout is in `./keyed.ts`; this is the byte-level twin
 * of its decoding reader and of Flink's `FullSnapshotRestoreOperation` / `KeyGroupsIterator`, which
 * also hand out `(kvStateId, key, value)` byte arrays with the meta-data flag cleared.
 *
 * Memory is bounded by a batch of records plus the store's read block, whatever the file size.
 */

import { CorruptSnapshotError } from "../../errors.js";
import type { DataInput } from "../io/data-input.js";
import type { KeyGroupsStateHandle } from "../metadata/model.js";
import type { CanonicalRecord } from "./canonical-writer.js";
import type { KeyedBackendHeader } from "./headers.js";
import { END_OF_KEY_GROUP_MARK, META_DATA_FOLLOWS_FLAG } from "./keyed.js";
import {
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
    for (;;) {
      if (stateId >= nStates) {
        throw input.corrupt(`key group ${kg}: state id ${stateId}, but the header has ${nStates} states`);
      }
      const sid = stateId;
      const step = (i: DataInput) => readRawRecord(i, kg, sid);
      let rec = input.tryRead(step);
      if (rec === NEED_MORE) {
        if (batch.length > 0) {
          yield batch;
          batch = [];
        }
        rec = await input.read(step);
      }
      batch.push(rec.record);
      if (batch.length >= RECORD_BATCH) {
        yield batch;
        batch = [];
      }
      if (rec.next === -1) continue;
      if (rec.next === END_OF_KEY_GROUP_MARK) break;
      stateId = rec.next;
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
