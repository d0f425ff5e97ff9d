/**
 * The worker thread of {@link LocalFsWorkers} (`local-fs-workers.ts`): runs batches of local
 * file-system calls with Node's synchronous API and answers with one message per batch.
 *
 * Protocol: the pool posts a {@link LocalFsBatch}; the worker answers with the {@link LocalFsResult}s,
 * in the order of the batch's operations. An operation that fails does not stop the ones after it.
 */

import { copyFileSync, type Dirent, linkSync, readdirSync, renameSync, statSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { parentPort } from "node:worker_threads";

/** One file-system call (or two, for a copy that is also committed), on local paths. */
export type LocalFsOp =
  /**
   * `copyFile(2)`-like copy of `source` to `staged` with `mode` (`fs.constants.COPYFILE_*`); with
   * `commitTo`, then `staged` renamed to `commitTo` (or, without `overwrite`, linked there and unlinked,
   * so that an existing file is not replaced). The staged file is not removed when the commit fails.
   */
  | {
      kind: "copy";
      source: string;
      staged: string;
      mode: number;
      commitTo?: string;
      overwrite?: boolean;
      /** The source's size where known (bytes): a hint for sharing work between workers. */
      bytes?: number;
    }
  /**
   * A staged file named: `staged` renamed to `commitTo` (or, without `overwrite`, linked there and
   * unlinked), as the commit of a `copy`, for copies staged before and committed later.
   */
  | { kind: "commit"; staged: string; commitTo: string; overwrite?: boolean }
  /** `stat(2)` of each of `paths`. */
  | { kind: "stats"; paths: string[] }
  /**
   * The regular files under directory `root`, down to `maxDepth` levels (1: `root`'s own files), with
   * their statuses: a whole `LocalStore.list` in one operation. A missing `root` has no files; files and
   * directories that vanish while the walk runs are left out.
   */
  | { kind: "list"; root: string; maxDepth: number };

/** A batch of operations, answered by one {@link LocalFsResult} each. */
export interface LocalFsBatch {
  ops: LocalFsOp[];
}

/** What an `fs` call threw, as far as `mapFsError` and messages need it. */
export interface SerializedFsError {
  message: string;
  code?: string;
  errno?: number;
  syscall?: string;
  path?: string;
  dest?: string;
}

/** The status of one file: `isFile`, size (bytes) and modification time (ms since the epoch). */
export interface LocalFsStatus {
  isFile: boolean;
  size: number;
  mtimeMs: number;
}

/** The outcome of one operation. */
export type LocalFsResult =
  /**
   * A copy done (and committed, when asked), with the status of the file it made (under its name when
   * committed, else the staged file), or without when that `stat` failed.
   */
  | { ok: true; kind: "copy"; status?: LocalFsStatus }
  /** A staged file named, with the status of the file under its name (without when that `stat` failed). */
  | { ok: true; kind: "commit"; status?: LocalFsStatus }
  /** The status of each path, or what `stat` threw for it, in the order of `paths`. */
  | { ok: true; kind: "stats"; statuses: (LocalFsStatus | { error: SerializedFsError })[] }
  /**
   * The files of a `list`, as parallel arrays (cheaper to pass between threads than an object each):
   * the path, size (bytes) and modification time (ms since the epoch) of each, directory by directory.
   */
  | { ok: true; kind: "list"; paths: string[]; sizes: number[]; mtimesMs: number[] }
  /**
   * A failed copy: in the copy itself, or in its commit (then the staged copy is still there); or a
   * failed `commit` operation (phase `commit`).
   */
  | { ok: false; phase: "copy" | "commit"; error: SerializedFsError }
  /** A failed `list`: a directory or a file that could not be read (other than vanished). */
  | { ok: false; phase: "list"; error: SerializedFsError };

function serialize(err: unknown): SerializedFsError {
  const e = err as NodeJS.ErrnoException & { dest?: string };
  return {
    message: e?.message ?? String(err),
    code: e?.code,
    errno: e?.errno,
    syscall: e?.syscall,
    path: e?.path,
    dest: e?.dest,
  };
}

/** True for the errors of a file or directory that is not there (any more). */
function vanished(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}

/** Runs a `list` operation (see {@link LocalFsOp}). */
function listFiles(root: string, maxDepth: number): LocalFsResult {
  const paths: string[] = [];
  const sizes: number[] = [];
  const mtimesMs: number[] = [];
  const stack: [string, number][] = [[root, 1]];
  try {
    while (stack.length > 0) {
      const [dir, depth] = stack.pop() as [string, number];
      let entries: Dirent[];
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch (err) {
        if (vanished(err)) continue;
        throw err;
      }
      for (const entry of entries) {
        const full = join(dir, entry.name);
        if (entry.isDirectory()) {
          if (depth < maxDepth) stack.push([full, depth + 1]);
        } else if (entry.isFile()) {
          const s = statSync(full, { throwIfNoEntry: false });
          if (!s?.isFile()) continue;
          paths.push(full);
          sizes.push(s.size);
          mtimesMs.push(s.mtimeMs);
        }
      }
    }
  } catch (err) {
    return { ok: false, phase: "list", error: serialize(err) };
  }
  return { ok: true, kind: "list", paths, sizes, mtimesMs };
}

/** Names a staged file (see the `commit` operation); the failure, or undefined. */
function commit(staged: string, commitTo: string, overwrite: boolean): LocalFsResult | undefined {
  try {
    if (overwrite) {
      renameSync(staged, commitTo);
    } else {
      linkSync(staged, commitTo);
      unlinkSync(staged);
    }
  } catch (err) {
    return { ok: false, phase: "commit", error: serialize(err) };
  }
  return undefined;
}

/** Runs one operation (never throws). */
export function runLocalFsOp(op: LocalFsOp): LocalFsResult {
  if (op.kind === "list") return listFiles(op.root, op.maxDepth);
  if (op.kind === "commit") {
    const failed = commit(op.staged, op.commitTo, op.overwrite ?? true);
    if (failed) return failed;
    const s = statSync(op.commitTo, { throwIfNoEntry: false });
    return {
      ok: true,
      kind: "commit",
      status: s && { isFile: s.isFile(), size: s.size, mtimeMs: s.mtimeMs },
    };
  }
  if (op.kind === "stats") {
    const statuses = op.paths.map((path) => {
      try {
        const s = statSync(path);
        return { isFile: s.isFile(), size: s.size, mtimeMs: s.mtimeMs };
      } catch (err) {
        return { error: serialize(err) };
      }
    });
    return { ok: true, kind: "stats", statuses };
  }
  try {
    copyFileSync(op.source, op.staged, op.mode);
  } catch (err) {
    return { ok: false, phase: "copy", error: serialize(err) };
  }
  if (op.commitTo !== undefined) {
    const failed = commit(op.staged, op.commitTo, op.overwrite ?? true);
    if (failed) return failed;
  }
  // what the caller verifies the copy by, without a listing of the target afterwards
  try {
    const s = statSync(op.commitTo ?? op.staged);
    return { ok: true, kind: "copy", status: { isFile: s.isFile(), size: s.size, mtimeMs: s.mtimeMs } };
  } catch {
    return { ok: true, kind: "copy" };
  }
}

parentPort?.on("message", (batch: LocalFsBatch) => {
  parentPort?.postMessage(batch.ops.map(runLocalFsOp));
});
