/**
 * A subtask's changelog changes written out to local files, one per part of its key groups, for a replay
 * of more changes than it holds at once (`keyGroupParts` in `./changelog-replay.ts`): the changelog is read
 * once more and each data change appended to its part's file; the replay then reads one part's file back
 * at a time. So a changelog of any size is read twice and its changes written and read once locally,
 * in memory of one part (and the buffers of the parts being written), rather than read once per part.
 *
 * The files go into a fresh directory under the one given (`os.tmpdir()` by default, as the RocksDB
 * writer's spill), removed by `close`. Their records: `./logged-changes.ts` (`writeSpillRecord`).
 */

import { appendFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { StoreFaultError } from "../../errors.js";
import type { KeyedStateHandle, KeyGroupRange } from "../metadata/model.js";
import { type ChangelogStateRegistration, loggedDataChanges } from "./changelog-replay.js";
import type { ChangelogStreams } from "./changelog-streams.js";
import type { KeyedStateInfo } from "./keyed.js";
import {
  type LoggedChanges,
  type LoggedDataChange,
  loggedChangesFromSpill,
  spillRecordBytes,
  writeSpillRecord,
} from "./logged-changes.js";
import type { StateFileResolver } from "./stream.js";

/** Bytes of records a part buffers before they are appended to its file. */
export const SPILL_BUFFER_BYTES = 256 * 1024;

/** A changelog's data changes, spilled by key-group part (see the module doc). */
export interface SpilledChangelog {
  /**
   * The changes of part `i`, in log order, read back from its file (which is then removed).
   * @throws CorruptSnapshotError when the file no longer holds what was written; StoreFaultError when it
   *   cannot be read; RangeError for `i` outside the parts.
   */
  read(i: number): Promise<LoggedChanges>;
  /** Removes the spill directory and what is left in it. */
  close(): Promise<void>;
}

/** Where a {@link spillChangelog} writes, and which changes it keeps. */
export interface SpillOptions {
  /** Ascending, adjoining key-group ranges: a file each. */
  parts: readonly KeyGroupRange[];
  /** Only changes of these states (by name). */
  states?: ReadonlySet<string>;
  /** The local directory under which the spill directory is made. */
  directory: string;
}

/**
 * Reads a subtask's changelog handles once more and writes their data changes in `options.parts` to a
 * file per part.
 *
 * @throws the errors of `readChangelogLog` (the same changes are read); StoreFaultError (the local file
 *   named) when the spill directory cannot be made or a file written (the directory is then removed).
 */
export async function spillChangelog(
  handles: readonly KeyedStateHandle[],
  resolver: StateFileResolver,
  cache: ChangelogStreams,
  options: SpillOptions,
): Promise<SpilledChangelog> {
  const { parts } = options;
  const first = parts[0];
  const last = parts[parts.length - 1];
  const dir = await local(options.directory, () =>
    mkdtemp(join(options.directory, "savepoint-kit-changelog-")),
  );
  const files = parts.map((_, i) => join(dir, `part-${i}`));
  const states: KeyedStateInfo[] = [];
  const stateIndex = new Map<KeyedStateInfo, number>();
  const uris: string[] = [];
  const uriIndex = new Map<string, number>();
  const writers = parts.map((_, i) => new PartWriter(files[i] as string));
  try {
    if (first && last) {
      const byId = new Map<number, ChangelogStateRegistration>();
      const filter = {
        keyGroups: { start: first.start, end: last.end },
        ...(options.states ? { states: options.states } : {}),
      };
      for await (const { change, uri, state } of loggedDataChanges(handles, resolver, cache, filter, byId)) {
        const i = partOf(parts, change.keyGroup);
        let s = stateIndex.get(state);
        if (s === undefined) {
          s = states.push(state) - 1;
          stateIndex.set(state, s);
        }
        let u = uriIndex.get(uri);
        if (u === undefined) {
          u = uris.push(uri) - 1;
          uriIndex.set(uri, u);
        }
        await (writers[i] as PartWriter).add(change, s, u);
      }
      for (const w of writers) await w.flush();
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    async read(i: number): Promise<LoggedChanges> {
      const file = files[i];
      if (file === undefined) throw new RangeError(`part ${i} of ${parts.length}`);
      if (!(writers[i] as PartWriter).written)
        return loggedChangesFromSpill(new Uint8Array(0), states, uris, file);
      const bytes = await local(file, () => readFile(file));
      await local(file, () => rm(file, { force: true }));
      return loggedChangesFromSpill(bytes, states, uris, file);
    },
    async close(): Promise<void> {
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A part's file, written through a buffer of {@link SPILL_BUFFER_BYTES} (made on its first record). */
class PartWriter {
  private buf: Uint8Array | null = null;
  private at = 0;
  /** Whether anything was appended to the file. */
  written = false;

  constructor(private readonly file: string) {}

  /** Adds a change's record (appending the buffer to the file first when it has no room for it). */
  async add(change: LoggedDataChange["change"], state: number, uri: number): Promise<void> {
    const n = spillRecordBytes(change);
    if (this.buf && this.at + n > this.buf.byteLength) await this.flush();
    if (n > SPILL_BUFFER_BYTES) {
      // larger than a buffer: written on its own
      const one = new Uint8Array(n);
      writeSpillRecord(one, 0, change, state, uri);
      await this.append(one);
      return;
    }
    this.buf ??= new Uint8Array(SPILL_BUFFER_BYTES);
    this.at = writeSpillRecord(this.buf, this.at, change, state, uri);
  }

  /** Appends what the buffer holds to the file. */
  async flush(): Promise<void> {
    if (!this.buf || this.at === 0) return;
    await this.append(this.buf.subarray(0, this.at));
    this.at = 0;
  }

  private async append(bytes: Uint8Array): Promise<void> {
    await local(this.file, () => appendFile(this.file, bytes));
    this.written = true;
  }
}

/**
 * Runs a file-system call on the spill's files; what it throws becomes a StoreFaultError naming `path`
 * (a full or missing temporary directory is the machine's, not the snapshot's).
 */
async function local<T>(path: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw new StoreFaultError(`spilling changelog changes to local files: ${(err as Error).message}`, {
      uri: path,
      cause: err,
    });
  }
}

/** The index of the part holding key group `kg` (the parts ascending and adjoining; `kg` within them). */
function partOf(parts: readonly KeyGroupRange[], kg: number): number {
  let lo = 0;
  let hi = parts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((parts[mid] as KeyGroupRange).end < kg) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
