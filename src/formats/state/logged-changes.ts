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
