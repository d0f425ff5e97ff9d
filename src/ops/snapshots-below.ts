/**
 * Finding snapshots below a directory that is not one itself. What a user has at hand is often the
 * checkpoint directory Flink was configured with (`execution.checkpointing.dir`, `state.checkpoints.dir`
 * before Flink 2.0: `<dir>/<job id>/chk-<n>/_metadata`), one job's directory in it (`<job id>/`), or the
 * savepoint directory (`execution.checkpointing.savepoint-dir`, `state.savepoints.dir`:
 * `<dir>/savepoint-<job>-<random>/_metadata`), not the snapshot directory the commands take. The layout
 * is Flink's `FsCheckpointStorageAccess` and `AbstractFsCheckpointStorageAccess`.
 */

import type { StoreRegistry } from "../storage/registry.js";
import { baseName, parentUri, relativeTo } from "../storage/uri.js";

/** File name of a snapshot's metadata (Flink's `AbstractFsCheckpointStorageAccess.METADATA_FILE_NAME`). */
const METADATA = "_metadata";

/** Levels below the directory searched: `chk-<n>/_metadata` is 2 levels down, `<job>/chk-<n>/_metadata` 3. */
const SEARCH_DEPTH = 3;

/**
 * Entries listed at most before the search stops (a job's `shared/` can hold a very large number of
 * files, and on S3 a listing to depth 3 still pages through every key below the prefix).
 */
export const SNAPSHOTS_BELOW_LIST_LIMIT = 20_000;

/** A snapshot directory found below the one searched. */
export interface SnapshotBelow {
  /** Normalised URI of the snapshot directory (the one holding `_metadata`). */
  directory: string;
  /** Its path relative to the directory searched, `/`-separated (e.g. `6c1e…/chk-42`). */
  relative: string;
  /** When its `_metadata` was last modified, where the store says. */
  modified?: Date;
}

/** What {@link findSnapshotsBelow} found. */
export interface SnapshotsBelow {
  /** Newest first: by `_metadata`'s modification time, then by checkpoint number, then by name. */
  snapshots: SnapshotBelow[];
  /** True when the search stopped at {@link SNAPSHOTS_BELOW_LIST_LIMIT} entries: there may be more. */
  truncated: boolean;
}

/**
 * Lists the snapshot directories (directories holding a `_metadata` file) at most two levels below
 * directory `input` (a URI or local path), newest first. Best effort: a directory that cannot be listed
 * (missing, permission denied, a store fault) gives no snapshots rather than an error, as this mostly
 * explains another failure (the NotASnapshotError of `locateSnapshot`, `src/ops/locate.ts`).
 *
 * @param options.limit entries listed at most (default {@link SNAPSHOTS_BELOW_LIST_LIMIT}).
 * @throws UnsupportedUriError for a URI scheme no store serves.
 */
export async function findSnapshotsBelow(
  input: string,
  stores: StoreRegistry,
  options?: { limit?: number },
): Promise<SnapshotsBelow> {
  const limit = options?.limit ?? SNAPSHOTS_BELOW_LIST_LIMIT;
  const { store, uri: directory } = stores.resolve(input);
  const snapshots: SnapshotBelow[] = [];
  let listed = 0;
  let truncated = false;
  try {
    for await (const file of store.list(directory, { maxDepth: SEARCH_DEPTH })) {
      if (++listed > limit) {
        truncated = true;
        break;
      }
      if (baseName(file.uri) !== METADATA) continue;
      const dir = parentUri(file.uri);
      const relative = relativeTo(directory, dir);
      if (relative === undefined || relative === "") continue;
      snapshots.push({ directory: dir, relative, ...(file.modified ? { modified: file.modified } : {}) });
    }
  } catch {
    // see the doc comment: no listing, no hint
  }
  snapshots.sort(newestFirst);
  return { snapshots, truncated };
}

/** `chk-42` → 42; anything else → -1. */
function checkpointNumber(relative: string): number {
  const m = /(?:^|\/)chk-(\d+)$/.exec(relative);
  return m ? Number(m[1]) : -1;
}

function newestFirst(a: SnapshotBelow, b: SnapshotBelow): number {
  const byTime = (b.modified?.getTime() ?? 0) - (a.modified?.getTime() ?? 0);
  if (byTime !== 0) return byTime;
  const byNumber = checkpointNumber(b.relative) - checkpointNumber(a.relative);
  if (byNumber !== 0) return byNumber;
  return a.relative < b.relative ? -1 : a.relative > b.relative ? 1 : 0;
}
