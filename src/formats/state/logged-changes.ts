/**
 * The data changes of one subtask's changelog, undecoded, kept compactly for the replay
 * (`./changelog-replay.ts`): their bytes copied into arenas of {@link ARENA_CHUNK_BYTES}, and their
 * fields (key group, state, where they lie) in typed arrays.
 *
 * Why: the replay holds every change of a subtask until its key group's turn comes. As an object per
 * change (the change, a view of its bytes, its file and state) that cost about 170 bytes of heap each
 * beside the bytes themselves, and kept the streams of every changelog file the changes lay in: on the
 * changelog benchmark's 1 GiB checkpoint (2026-11-23), 2.2 GiB of peak RSS. Here a change costs its
 * bytes and {@link BYTES_PER_CHANGE}, and the files' streams can go once read (`./changelog-streams.ts`).
 */

import { CorruptSnapshotError } from "../../errors.js";
import type { LoggedChange } from "./changelog.js";
import type { KeyedStateInfo } from "./keyed.js";

/** Bytes of each arena chunk; a larger change gets a chunk of its own size. */
export const ARENA_CHUNK_BYTES = 8 * 1024 * 1024;

/** Bytes of typed-array fields per change (beside the change's own bytes). */
export const BYTES_PER_CHANGE = 32;

/** A data change and the state it applies to (resolved when the change was logged). */
export interface LoggedDataChange extends LoggedChange {
  state: KeyedStateInfo;
}

/**
 * A subtask's data changes in log order (see the module doc). Read-only once built; a change is handed
 * out as a {@link LoggedDataChange} made on demand (`at`, or iteration), whose `bytes` view the arena.
 */
export class LoggedChanges implements Iterable<LoggedDataChange> {
  /** @internal the builder's fields; see {@link LoggedChangesBuilder}. */
  constructor(
    private readonly chunks: readonly Uint8Array[],
    private readonly states: readonly KeyedStateInfo[],
    private readonly uris: readonly string[],
    /** Per change: its chunk, start in the chunk, length (bytes), key group, state and uri index. */
    private readonly fields: Uint32Array,
    /** Per change: its offset in its changelog file's stream (for errors). */
    private readonly offsets: Float64Array,
    /** Number of changes. */
    readonly count: number,
  ) {}

  /** The key group of change `i` (0-based, log order). */
  keyGroup(i: number): number {
    return this.fields[i * FIELDS + KEY_GROUP] as number;
  }

  /** The state change `i` applies to. */
  state(i: number): KeyedStateInfo {
    return this.states[this.fields[i * FIELDS + STATE] as number] as KeyedStateInfo;
  }

  /**
   * Change `i` as the replay decodes it: its bytes (a view of the arena, operation code first), key
   * group, offset in its file's stream, file and state.
   * @throws RangeError for `i` outside 0..count-1.
   */
  at(i: number): LoggedDataChange {
    if (!Number.isInteger(i) || i < 0 || i >= this.count) {
      throw new RangeError(`change ${i} of ${this.count}`);
    }
    const f = i * FIELDS;
    const chunk = this.chunks[this.fields[f + CHUNK] as number] as Uint8Array;
    const start = this.fields[f + START] as number;
    return {
      change: {
        keyGroup: this.fields[f + KEY_GROUP] as number,
        bytes: chunk.subarray(start, start + (this.fields[f + LENGTH] as number)),
        offset: this.offsets[i] as number,
      },
      uri: this.uris[this.fields[f + URI] as number] as string,
      state: this.states[this.fields[f + STATE] as number] as KeyedStateInfo,
    };
  }

  *[Symbol.iterator](): Iterator<LoggedDataChange> {
    for (let i = 0; i < this.count; i++) yield this.at(i);
  }
}

/** Fields per change in `fields`, and their places. */
const FIELDS = 6;
const CHUNK = 0;
const START = 1;
const LENGTH = 2;
/** (a key group is 0..32767 here: `COMMON_KEY_GROUP` changes are METADATA, never data changes) */
const KEY_GROUP = 3;
const STATE = 4;
const URI = 5;

/** Builds {@link LoggedChanges} one change at a time, copying each change's bytes. */
export class LoggedChangesBuilder {
  private readonly chunks: Uint8Array[] = [];
  /** Bytes used of the last chunk. */
  private used = 0;
  private readonly states: KeyedStateInfo[] = [];
  private readonly stateIndex = new Map<KeyedStateInfo, number>();
  private readonly uris: string[] = [];
  private readonly uriIndex = new Map<string, number>();
  private fields = new Uint32Array(FIELDS * 1024);
  private offsets = new Float64Array(1024);
  private n = 0;

  /** Changes added so far. */
  get count(): number {
    return this.n;
  }

  /**
   * Adds a change: its bytes are copied (the stream they view may go), its key group, offset, file and
   * state kept.
   * @throws RangeError for a key group outside 0..2^32-1 (data changes have key groups 0..32767).
   */
  add(logged: LoggedDataChange): void {
    const { change, uri, state } = logged;
    if (!Number.isInteger(change.keyGroup) || change.keyGroup < 0 || change.keyGroup > 0xffffffff) {
      throw new RangeError(`key group ${change.keyGroup} of a data change`);
    }
    if (this.n === this.offsets.length) this.grow();
    const len = change.bytes.byteLength;
    let chunk = this.chunks[this.chunks.length - 1];
    if (!chunk || this.used + len > chunk.byteLength) {
      chunk = new Uint8Array(Buffer.allocUnsafeSlow(Math.max(ARENA_CHUNK_BYTES, len)).buffer, 0);
      this.chunks.push(chunk);
      this.used = 0;
    }
    chunk.set(change.bytes, this.used);
    const f = this.n * FIELDS;
    this.fields[f + CHUNK] = this.chunks.length - 1;
    this.fields[f + START] = this.used;
    this.fields[f + LENGTH] = len;
    this.fields[f + KEY_GROUP] = change.keyGroup;
    this.fields[f + STATE] = indexOf(this.stateIndex, this.states, state);
    this.fields[f + URI] = indexOf(this.uriIndex, this.uris, uri);
    this.offsets[this.n] = change.offset;
    this.used += len;
    this.n++;
  }

  /** The changes added, in the order added. The builder is not used after. */
  build(): LoggedChanges {
    // (the last chunk is kept whole: at most one chunk's bytes unused)
    return new LoggedChanges(
      this.chunks,
      this.states,
      this.uris,
      this.fields.subarray(0, this.n * FIELDS),
      this.offsets.subarray(0, this.n),
      this.n,
    );
  }

  private grow(): void {
    const fields = new Uint32Array(this.fields.length * 2);
    fields.set(this.fields);
    this.fields = fields;
    const offsets = new Float64Array(this.offsets.length * 2);
    offsets.set(this.offsets);
    this.offsets = offsets;
  }
}

function indexOf<T>(index: Map<T, number>, list: T[], v: T): number {
  let i = index.get(v);
  if (i === undefined) {
    i = list.length;
    list.push(v);
    index.set(v, i);
  }
  return i;
}

/**
 * Bytes of a spilled change's header (`./changelog-spill.ts`), big-endian u32s: key group, state index,
 * uri index, offset in the changelog stream (high and low 32 bits: offsets are whole numbers below
 * 2^53), length of the change's bytes; the bytes follow.
 */
export const SPILL_HEADER_BYTES = 24;

/**
 * Writes a change as a spill record (see {@link SPILL_HEADER_BYTES}) into `out` at `at`; `state` and
 * `uri` by their index in the spiller's lists. Read back by {@link loggedChangesFromSpill}. (No DataView:
 * this runs once per change.)
 *
 * @returns where the record ends in `out`.
 * @throws RangeError when the record does not fit in `out` from `at` ({@link spillRecordBytes}).
 */
export function writeSpillRecord(
  out: Uint8Array,
  at: number,
  change: LoggedDataChange["change"],
  state: number,
  uri: number,
): number {
  const n = change.bytes.byteLength;
  const end = at + SPILL_HEADER_BYTES + n;
  if (end > out.byteLength) throw new RangeError(`spill record of ${n} bytes at ${at} of ${out.byteLength}`);
  const high = Math.floor(change.offset / 2 ** 32);
  putU32(out, at, change.keyGroup);
  putU32(out, at + 4, state);
  putU32(out, at + 8, uri);
  putU32(out, at + 12, high);
  putU32(out, at + 16, change.offset - high * 2 ** 32);
  putU32(out, at + 20, n);
  out.set(change.bytes, at + SPILL_HEADER_BYTES);
  return end;
}

function putU32(out: Uint8Array, at: number, v: number): void {
  out[at] = v >>> 24;
  out[at + 1] = v >>> 16;
  out[at + 2] = v >>> 8;
  out[at + 3] = v;
}

/** Bytes of a change's spill record. */
export function spillRecordBytes(change: LoggedDataChange["change"]): number {
  return SPILL_HEADER_BYTES + change.bytes.byteLength;
}

/**
 * The changes of spill records ({@link writeSpillRecord}) laid end to end in `bytes`, in their order,
 * viewing `bytes` (not copied): the records are checked and counted first, then indexed.
 *
 * @param states, uris the spiller's lists the records index.
 * @param label the spill file, for errors.
 * @throws CorruptSnapshotError (label, offset) for a record that runs past the end or names a state or
 *   uri not in the lists (the spill file was changed under us), or more than 4 GiB of records.
 */
export function loggedChangesFromSpill(
  bytes: Uint8Array,
  states: readonly KeyedStateInfo[],
  uris: readonly string[],
  label: string,
): LoggedChanges {
  const corrupt = (message: string, offset: number) =>
    new CorruptSnapshotError(message, { uri: label, offset });
  if (bytes.byteLength > 0xffffffff)
    throw corrupt(`spilled changes of ${bytes.byteLength} bytes, over 4 GiB`, 0);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let count = 0;
  for (let at = 0; at < bytes.byteLength; count++) {
    if (at + SPILL_HEADER_BYTES > bytes.byteLength) throw corrupt("spilled change header past the end", at);
    const state = view.getUint32(at + 4);
    const uri = view.getUint32(at + 8);
    if (state >= states.length || uri >= uris.length) {
      throw corrupt(`spilled change of state ${state}, uri ${uri}: not spilled`, at);
    }
    const len = view.getUint32(at + 20);
    if (at + SPILL_HEADER_BYTES + len > bytes.byteLength) {
      throw corrupt(`spilled change of ${len} bytes past the end`, at);
    }
    at += SPILL_HEADER_BYTES + len;
  }
  const fields = new Uint32Array(count * FIELDS);
  const offsets = new Float64Array(count);
  for (let i = 0, at = 0; i < count; i++) {
    const f = i * FIELDS;
    const len = view.getUint32(at + 20);
    fields[f + CHUNK] = 0;
    fields[f + START] = at + SPILL_HEADER_BYTES;
    fields[f + LENGTH] = len;
    fields[f + KEY_GROUP] = view.getUint32(at);
    fields[f + STATE] = view.getUint32(at + 4);
    fields[f + URI] = view.getUint32(at + 8);
    offsets[i] = view.getUint32(at + 12) * 2 ** 32 + view.getUint32(at + 16);
    at += SPILL_HEADER_BYTES + len;
  }
  return new LoggedChanges([bytes], states, uris, fields, offsets, count);
}
