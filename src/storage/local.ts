/**
 * The local-filesystem store (`file://` URIs and plain paths), on Node's `fs`.
 *
 * Writes go to a temporary file beside the target (`.<name>.<random>.tmp`) and are renamed into place
 * once complete and (unless `sync: false`) `fdatasync`ed, so a crash never leaves a partial file under
 * the final name. The renames themselves become durable with {@link LocalStore.syncFiles} (one `fsync`
 * per directory for a whole batch of files), which callers run before they write what points at the
 * files (`_metadata`); `writeAtomic` does it for its own file.
 */

import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createReadStream, createWriteStream, type WriteStream } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { constants, link, mkdir, open, readdir, rename, stat, unlink } from "node:fs/promises";
import { dirname, join, sep } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  AlreadyExistsError,
  NotFoundError,
  PermissionDeniedError,
  SavepointKitError,
  StoreFaultError,
} from "../errors.js";
import {
  type LocalFsOp,
  type LocalFsResult,
  type LocalFsWorkers,
  reviveFsError,
  sharedLocalFsWorkers,
} from "./local-fs-workers.js";
import type {
  CommitOptions,
  CopyItem,
  CopyManyOptions,
  CopyOptions,
  CopyOutcome,
  FileStatus,
  ListOptions,
  RangeReader,
  ReadStreamOptions,
  StagedCopy,
  Store,
  StoreCapabilities,
  WriteOptions,
} from "./store.js";
import { type SyncFileSystemFunction, syncFileSystem } from "./sync-file-system.js";
import { formatUri, toLocalPath } from "./uri.js";
import { countedSource } from "./write-source.js";

const DEFAULT_MAX_READ = 2 * 1024 * 1024 * 1024;

/**
 * What a write refused for want of room or of write access to the file system as a whole, by errno code:
 * said in words, and always about the file being written (a copy's target, not its source).
 */
const FILE_SYSTEM_REFUSALS: ReadonlyMap<string, string> = new Map([
  ["ENOSPC", "no space left on the device"],
  ["EDQUOT", "disk quota exceeded"],
  ["EFBIG", "file too large for the file system"],
  ["EROFS", "read-only file system"],
]);

/** Maps a Node fs error to our typed errors. */
export function mapFsError(err: unknown, uri: string): SavepointKitError {
  if (err instanceof SavepointKitError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const refusal = code === undefined ? undefined : FILE_SYSTEM_REFUSALS.get(code);
  if (refusal !== undefined) {
    return new StoreFaultError(`local file system: ${refusal} (${code}) writing ${uri}`, { uri, cause: err });
  }
  switch (code) {
    case "ENOENT":
    case "ENOTDIR":
      return new NotFoundError(uri, { cause: err });
    case "EACCES":
    case "EPERM":
      return new PermissionDeniedError(uri, { cause: err });
    case "EEXIST":
      return new AlreadyExistsError(uri, { cause: err });
    default:
      return new StoreFaultError(`local file system: ${(err as Error)?.message ?? String(err)}`, {
        uri,
        cause: err,
      });
  }
}

function fileUri(path: string): string {
  return formatUri({ scheme: "file", authority: "", path });
}

/** The status of a file a worker `stat`ed: `modified` as `Stats.mtime` gives it (Node rounds the ms). */
function workerStatus(uri: string, size: number, mtimeMs: number): FileStatus {
  return { uri, size, modified: new Date(Math.round(mtimeMs)) };
}

/** Random bytes for temporary names, drawn 4 KiB at a time: a `randomBytes` call per name cost more than the rest of naming a copy. */
let randomPool = Buffer.alloc(0);
let randomAt = 0;

/** 12 random hex digits. */
function randomHex(): string {
  if (randomAt + 6 > randomPool.length) {
    randomPool = randomBytes(4096);
    randomAt = 0;
  }
  randomAt += 6;
  return randomPool.toString("hex", randomAt - 6, randomAt);
}

/** A copy operation for a worker (see `local-fs-worker.ts`). */
type CopyOp = Extract<LocalFsOp, { kind: "copy" }>;

/**
 * How a worker copies: never over an existing file (the copy goes to a new temporary name, or to a
 * target the caller saw absent); a reflink (shared extents) where the file system has them (XFS, Btrfs),
 * as `cp` does by default; else the kernel copies (copy_file_range).
 */
const COPY_MODE = constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE;

/**
 * The worker operation that copies `source` to a temporary file beside `target` (and, with `commit`,
 * names it `commitTo`).
 */
function copyOp(
  source: string,
  target: string,
  bytes: number | undefined,
  commit?: { commitTo: string; overwrite: boolean },
): CopyOp {
  const staged = tempName(toLocalPath(target));
  return { kind: "copy", source: toLocalPath(source), staged, mode: COPY_MODE, bytes, ...commit };
}

/** The worker operation that copies `source` to `target` itself, refusing to replace a file there. */
function directCopyOp(source: string, target: string, bytes: number | undefined): CopyOp {
  return { kind: "copy", source: toLocalPath(source), staged: toLocalPath(target), mode: COPY_MODE, bytes };
}

/** A copy that failed because the target's directory does not exist yet (or the source is missing). */
function needsDirectory(r: LocalFsResult): boolean {
  return !r.ok && r.phase === "copy" && r.error.code === "ENOENT";
}

/** The status a worker gave of the file a copy made, as the copy's result. */
function copyStatus(r: LocalFsResult, target: string): FileStatus | undefined {
  const s = r.ok && r.kind === "copy" ? r.status : undefined;
  return s?.isFile ? workerStatus(target, s.size, s.mtimeMs) : undefined;
}

/**
 * `.<name>.<12 hex digits>.tmp` beside the file at absolute local path `path` (by string operations:
 * `node:path` normalises, at a cost per file).
 */
function tempName(path: string): string {
  const slash = path.lastIndexOf("/");
  return `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}.${randomHex()}.tmp`;
}

/** The name of the file a {@link tempName} in the same directory is for, or undefined for other names. */
function tempTarget(name: string): string | undefined {
  const m = /^\.(.+)\.[0-9a-f]{12}\.tmp$/.exec(name);
  return m?.[1];
}

/** What makes a file or a directory durable: `fdatasync` of a file, `fsync` of a directory. */
export type SyncFunction = (path: string, kind: "file" | "directory") => Promise<void>;

/** Options of {@link LocalStore}. */
export interface LocalStoreOptions {
  /**
   * Replaces {@link syncPath} (tests observe what is synced through it; it must still sync, or call
   * `syncPath`, for the store's guarantees to hold).
   */
  sync?: SyncFunction;
  /**
   * Replaces {@link syncFileSystem} (`sync -f`), which {@link LocalStore.commitStaged} uses for many
   * files at once (tests observe it; it must still sync, or answer false, for the guarantees to hold).
   */
  syncFileSystem?: SyncFileSystemFunction;
  /**
   * Staged copies from which `commitStaged` syncs their file systems rather than each file (default
   * {@link SYNC_FILE_SYSTEM_MIN_FILES}; tests lower it to take that path with small snapshots).
   */
  syncFileSystemMinFiles?: number;
  /**
   * The worker threads that run this store's copies and the statuses of its listings (default: the
   * process's pool, `sharedLocalFsWorkers()`; see `local-fs-workers.ts`).
   */
  workers?: LocalFsWorkers;
}

/**
 * Directories of at least this many files have their statuses read on the workers; smaller ones in this
 * thread (32 at a time), which is quicker than waiting for the workers to start (1 GiB in 257 files:
 * 10 ms against some 60 ms).
 */
const LIST_ON_WORKERS = 1024;
/** Files stat'ed at once while listing a directory of {@link LIST_ON_WORKERS} or more. */
const LIST_STAT_BATCH = 4096;
/** Files stat'ed by one worker operation. */
const STAT_OP_PATHS = 256;
/** Files stat'ed at once in this thread while listing a smaller directory. */
const LIST_STAT_BATCH_HERE = 32;
/** Files or directories synced at once by `syncFiles`. */
const SYNC_BATCH = 32;
/**
 * Staged copies from which `commitStaged` syncs their file systems (`syncfs`) rather than each file:
 * below it, a few `fdatasync`s cost less than starting `sync` and writing back whatever else is dirty.
 */
const SYNC_FILE_SYSTEM_MIN_FILES = 64;

export class LocalStore implements Store {
  private readonly syncFn: SyncFunction;
  private readonly syncFileSystemFn: SyncFileSystemFunction;
  private readonly syncFileSystemMinFiles: number;
  private readonly workers: LocalFsWorkers;
  /** Directories this store created whose entry in their parent directory is not synced yet. */
  private readonly unsyncedDirs = new Set<string>();

  constructor(options: LocalStoreOptions = {}) {
    this.syncFn = options.sync ?? syncPath;
    this.syncFileSystemFn = options.syncFileSystem ?? syncFileSystem;
    this.syncFileSystemMinFiles = options.syncFileSystemMinFiles ?? SYNC_FILE_SYSTEM_MIN_FILES;
    this.workers = options.workers ?? sharedLocalFsWorkers();
  }

  readonly schemes = ["file"] as const;
  readonly capabilities: StoreCapabilities = {
    serverSideCopy: true,
    atomicWrite: true,
    realDirectories: true,
    atomicRename: true,
  };

  async stat(uri: string): Promise<FileStatus | null> {
    return this.statPath(toLocalPath(uri), uri);
  }

  /**
   * {@link stat} of a local path, named in errors by `uri` (default: its `file://` URI): what `list`
   * calls, without formatting and parsing a URI per file.
   */
  private async statPath(path: string, uri?: string): Promise<FileStatus | null> {
    try {
      const s = await stat(path);
      if (!s.isFile()) return null;
      return { uri: fileUri(path), size: s.size, modified: s.mtime };
    } catch (err) {
      const e = mapFsError(err, uri ?? fileUri(path));
      if (e instanceof NotFoundError) return null;
      throw e;
    }
  }

  /** {@link statPath} of each of `paths`, run on a worker: what `list` does. */
  private async statsOnWorker(paths: string[]): Promise<(FileStatus | null)[]> {
    const r = await this.workers.run({ kind: "stats", paths });
    if (!r.ok || r.kind !== "stats")
      throw new StoreFaultError("local file-system worker: not a status answer");
    return r.statuses.map((s, i) => {
      const path = paths[i] as string;
      if ("error" in s) {
        const e = mapFsError(reviveFsError(s.error), fileUri(path));
        if (e instanceof NotFoundError) return null;
        throw e;
      }
      if (!s.isFile) return null;
      return workerStatus(fileUri(path), s.size, s.mtimeMs);
    });
  }

  /** {@link list} of the files under `root`, down to `maxDepth` levels, as one operation on a worker. */
  private async listOnWorker(root: string, maxDepth: number): Promise<FileStatus[]> {
    const r = await this.workers.run({ kind: "list", root, maxDepth });
    if (!r.ok) {
      const err = reviveFsError(r.error);
      throw mapFsError(err, fileUri(err.path ?? root));
    }
    if (r.kind !== "list") throw new StoreFaultError("local file-system worker: not a listing");
    const out: FileStatus[] = new Array(r.paths.length);
    for (let i = 0; i < r.paths.length; i++) {
      out[i] = workerStatus(fileUri(r.paths[i] as string), r.sizes[i] as number, r.mtimesMs[i] as number);
    }
    return out;
  }

  async readRange(uri: string, offset: number, length: number): Promise<Uint8Array> {
    const reader = await this.openRead(uri);
    try {
      return await reader.read(offset, length);
    } finally {
      await reader.close();
    }
  }

  /**
   * The file held open (one `FileHandle`) for positional reads: what reading an SST block by block or
   * a key-groups file chunk by chunk needs, without an open and a close per range.
   * @throws NotFoundError / PermissionDeniedError / StoreFaultError (also from `read`).
   */
  async openRead(uri: string): Promise<RangeReader> {
    const path = toLocalPath(uri);
    let fh: FileHandle;
    try {
      fh = await open(path, "r");
    } catch (err) {
      throw mapFsError(err, uri);
    }
    let closed: Promise<void> | null = null;
    return {
      read: (offset, length) => readFully(fh, uri, offset, length),
      close: () => {
        closed ??= fh.close().catch((err) => {
          throw mapFsError(err, uri);
        });
        return closed;
      },
    };
  }

  async readAll(uri: string, options?: { maxBytes?: number }): Promise<Uint8Array> {
    const max = options?.maxBytes ?? DEFAULT_MAX_READ;
    const s = await this.stat(uri);
    if (s === null) throw new NotFoundError(uri);
    if (s.size > max) {
      throw new StoreFaultError(`file is ${s.size} bytes, more than the ${max} bytes allowed for this read`, {
        uri,
      });
    }
    return this.readRange(uri, 0, s.size);
  }

  createReadStream(uri: string, options?: ReadStreamOptions): Readable {
    const path = toLocalPath(uri);
    const start = options?.offset ?? 0;
    const end = options?.length === undefined ? undefined : start + options.length - 1;
    if (options?.length === 0) return Readable.from([]);
    const stream = createReadStream(path, end === undefined ? { start } : { start, end });
    const out = new PassThrough();
    stream.on("error", (err) => out.destroy(mapFsError(err, uri)));
    out.on("close", () => stream.destroy());
    return stream.pipe(out);
  }

  async write(
    uri: string,
    source: Uint8Array | AsyncIterable<Uint8Array>,
    options?: WriteOptions,
  ): Promise<number> {
    const path = toLocalPath(uri);
    const tmp = tempName(path);
    let out: WriteStream | undefined;
    try {
      await this.makeDirectory(dirname(path));
      const counted = countedSource(source);
      out = createWriteStream(tmp, { flags: "wx" });
      await pipeline(Readable.from(counted.chunks), out);
      if (options?.sync ?? true) await this.syncFn(tmp, "file");
      await this.commit(tmp, path, options?.overwrite ?? true);
      return counted.bytes;
    } catch (err) {
      // The stream opens its file asynchronously: when the source fails first, the file may be created
      // after pipeline has rejected. Removing it before the stream has closed could leave it behind.
      if (out && !out.closed) await once(out, "close").catch(() => {});
      await unlink(tmp).catch(() => {});
      throw mapFsError(err, uri);
    }
  }

  async writeAtomic(uri: string, bytes: Uint8Array, options?: WriteOptions): Promise<void> {
    const path = toLocalPath(uri);
    const tmp = tempName(path);
    const sync = options?.sync ?? true;
    try {
      await this.makeDirectory(dirname(path));
      const fh = await open(tmp, "wx");
      try {
        let done = 0;
        while (done < bytes.byteLength) {
          const { bytesWritten } = await fh.write(bytes, done, bytes.byteLength - done);
          done += bytesWritten;
        }
      } finally {
        await fh.close();
      }
      if (sync) await this.syncFn(tmp, "file");
      await this.commit(tmp, path, options?.overwrite ?? true);
      // the rename itself, and the directories created for it
      if (sync) await this.syncFiles([uri], { namesOnly: true });
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw mapFsError(err, uri);
    }
  }

  /** Moves a finished (synced) temporary file into place; without overwrite, `link` fails if the target exists. */
  private async commit(tmp: string, path: string, overwrite: boolean): Promise<void> {
    if (overwrite) {
      await rename(tmp, path);
    } else {
      await link(tmp, path);
      await unlink(tmp);
    }
  }

  /**
   * The files under `prefix`. When the workers are up (a relocation started them with
   * {@link prepareCopies}), or started and `offThread` is asked, the whole walk is one operation on a
   * worker; otherwise this thread reads the directories (a small one sooner so than by waiting for a
   * worker to start), and the statuses of a directory of {@link LIST_ON_WORKERS} files or more are read
   * on the workers.
   */
  async *list(prefix: string, options?: ListOptions): AsyncIterable<FileStatus> {
    const recursive = options?.recursive ?? true;
    const maxDepth = recursive ? (options?.maxDepth ?? Number.POSITIVE_INFINITY) : 1;
    const root = toLocalPath(prefix);
    if (this.workers.ready || (options?.offThread && this.workers.started)) {
      yield* await this.listOnWorker(root, maxDepth);
      return;
    }
    const stack: [string, number][] = [[root, 1]];
    while (stack.length > 0) {
      const [dir, depth] = stack.pop() as [string, number];
      let entries: import("node:fs").Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        const e = mapFsError(err, fileUri(dir));
        if (e instanceof NotFoundError) continue;
        throw e;
      }
      const files: string[] = [];
      for (const entry of entries) {
        const full = join(dir, entry.name);
        if (entry.isDirectory()) {
          if (depth < maxDepth) stack.push([full, depth + 1]);
        } else if (entry.isFile()) {
          files.push(full);
        }
      }
      if (files.length < LIST_ON_WORKERS) {
        for (let i = 0; i < files.length; i += LIST_STAT_BATCH_HERE) {
          const batch = files.slice(i, i + LIST_STAT_BATCH_HERE).map((f) => this.statPath(f));
          for (const s of await Promise.all(batch)) if (s) yield s;
        }
        continue;
      }
      // a stat per file, on the workers, a batch at a time
      for (let i = 0; i < files.length; i += LIST_STAT_BATCH) {
        const batch: Promise<(FileStatus | null)[]>[] = [];
        for (let j = i; j < Math.min(files.length, i + LIST_STAT_BATCH); j += STAT_OP_PATHS) {
          batch.push(this.statsOnWorker(files.slice(j, Math.min(j + STAT_OP_PATHS, i + LIST_STAT_BATCH))));
        }
        for (const statuses of await Promise.all(batch)) for (const s of statuses) if (s) yield s;
      }
    }
  }

  /**
   * See {@link Store.copy}. Without `sync`, the worker copies and names the file in one operation, then
   * `stat`s it under its name: that status is the result. A durable copy is named in this thread after
   * its sync, and resolves with undefined.
   */
  async copy(source: string, target: string, options?: CopyOptions): Promise<FileStatus | undefined> {
    const overwrite = options?.overwrite ?? true;
    const bytes = options?.sourceStatus?.size;
    if (!(options?.sync ?? true)) {
      // copied and named in one operation on a worker
      const done = await this.copyOnWorker(source, target, bytes, {
        commitTo: toLocalPath(target),
        overwrite,
      });
      return done.status;
    }
    const { staged: tmp } = await this.copyOnWorker(source, target, bytes);
    try {
      // On disk before it gets its name: a `_metadata` written after this copy (relocate, convert) must
      // never point at a file a crash could still lose, and `--move` deletes the source after it. (Its
      // name is made durable by `syncFiles`, once per directory for a whole batch.)
      await this.syncFn(tmp, "file");
      await this.commit(tmp, toLocalPath(target), overwrite);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw mapFsError(err, target);
    }
    return undefined;
  }

  /** Starts the worker threads that copy (see {@link Store.prepareCopies}). */
  prepareCopies(): void {
    this.workers.warm();
  }

  /** The bytes of `source` in a new temporary file beside `target` (see {@link Store.stageCopy}). */
  async stageCopy(source: string, target: string, options?: CopyOptions): Promise<StagedCopy> {
    const { staged } = await this.copyOnWorker(source, target, options?.sourceStatus?.size);
    return { target, staged };
  }

  /**
   * Copies `source` to a new temporary file beside `target`, on a worker (`local-fs-workers.ts`); with
   * `commit`, the worker then gives it its name (`commitTo`, replacing a file there only with
   * `overwrite`). Creates the target's directory when it is missing. On failure nothing is left.
   * `bytes`: the source's size where the caller knows it (shares work between the workers). The result
   * has the status the worker read of the new file (under `commitTo` when committed), named by
   * `target`, unless that `stat` failed.
   */
  private async copyOnWorker(
    source: string,
    target: string,
    bytes: number | undefined,
    commit?: { commitTo: string; overwrite: boolean },
  ): Promise<StagedCopy & { status: FileStatus | undefined }> {
    const op = copyOp(source, target, bytes, commit);
    const [r] = await this.runCopies([op], [target], false);
    if (r instanceof SavepointKitError) throw r;
    if (r?.ok) return { target, staged: op.staged, status: copyStatus(r, target) };
    throw await this.copyError(r as Extract<LocalFsResult, { ok: false }>, source, target, op.staged);
  }

  /**
   * See {@link Store.copyMany}: the operations of {@link copy} without `sync` (or of {@link stageCopy})
   * for every item, given to the workers at once. Durable copies not staged go through {@link copy}
   * one by one.
   */
  async copyMany(items: readonly CopyItem[], options?: CopyManyOptions): Promise<CopyOutcome[]> {
    const stage = options?.stage ?? false;
    const overwrite = options?.overwrite ?? true;
    if (!stage && (options?.sync ?? true)) {
      return Promise.all(
        items.map(async (it): Promise<CopyOutcome> => {
          try {
            const status = await this.copy(it.source, it.target, {
              ...options,
              sourceStatus: it.sourceStatus,
            });
            return { ok: true, status };
          } catch (error) {
            return { ok: false, error: error as Error };
          }
        }),
      );
    }
    // Without sync into places the caller saw empty: each copy made under its name directly (`EXCL`:
    // nothing that appeared since is replaced), which saves a rename per file. Else staged beside it.
    const direct = !stage && options?.targetsAbsent === true;
    const ops: CopyOp[] = items.map((it) =>
      direct
        ? directCopyOp(it.source, it.target, it.sourceStatus?.size)
        : copyOp(
            it.source,
            it.target,
            it.sourceStatus?.size,
            stage ? undefined : { commitTo: toLocalPath(it.target), overwrite },
          ),
    );
    const results = await this.runCopies(
      ops,
      items.map((it) => it.target),
      direct,
    );
    // the outcomes; only a failure takes a promise (its mapping may `stat` the source)
    const outcomes = new Array<CopyOutcome>(results.length);
    const failures: Promise<void>[] = [];
    for (let i = 0; i < results.length; i++) {
      const r = results[i] as LocalFsResult | SavepointKitError;
      const it = items[i] as CopyItem;
      const staged = (ops[i] as CopyOp).staged;
      if (r instanceof SavepointKitError) outcomes[i] = { ok: false, error: r };
      else if (r.ok) {
        const status = copyStatus(r, it.target);
        outcomes[i] = stage
          ? { ok: true, status, staged: { target: it.target, staged } }
          : { ok: true, status };
      } else {
        failures.push(
          this.copyError(r, it.source, it.target, direct ? undefined : staged).then((error) => {
            outcomes[i] = { ok: false, error };
          }),
        );
      }
    }
    await Promise.all(failures);
    return outcomes;
  }

  /**
   * Runs copy operations on the workers, with one result per operation, in order. A copy into a
   * directory that does not exist yet (or from a missing source: the second attempt says so) runs again
   * once the directory is made: each directory once, which saves a mkdir per file when many files go to
   * one. Where that directory cannot be made, the copy's result is that error (mapped to `targets[i]`).
   * `direct`: the operations write their targets themselves, so a worker that stops leaves their files
   * (this cannot tell them from another's); otherwise their temporary files are removed then.
   * @throws StoreFaultError when a worker stops without answering.
   */
  private async runCopies(
    ops: readonly CopyOp[],
    targets: readonly string[],
    direct: boolean,
  ): Promise<(LocalFsResult | SavepointKitError)[]> {
    const runAll = async (some: CopyOp[]) => {
      try {
        return await this.workers.runMany(some);
      } catch (err) {
        // a worker stopped, perhaps part way through some of these copies
        if (!direct) await Promise.all(some.map((op) => unlink(op.staged).catch(() => {})));
        throw err;
      }
    };
    const results: (LocalFsResult | SavepointKitError)[] = await runAll([...ops]);
    const again: number[] = [];
    for (let i = 0; i < results.length; i++) if (needsDirectory(results[i] as LocalFsResult)) again.push(i);
    if (again.length === 0) return results;
    const made = new Map<string, SavepointKitError | null>();
    const retry: number[] = [];
    for (const i of again) {
      const dir = dirname((ops[i] as CopyOp).staged);
      if (!made.has(dir)) {
        try {
          await this.makeDirectory(dir);
          made.set(dir, null);
        } catch (err) {
          made.set(dir, mapFsError(err, targets[i] as string));
        }
      }
      const failed = made.get(dir);
      if (failed) results[i] = failed;
      else retry.push(i);
    }
    const retried = await runAll(retry.map((i) => ops[i] as CopyOp));
    retry.forEach((i, k) => {
      results[i] = retried[k] as LocalFsResult;
    });
    return results;
  }

  /**
   * The error of a failed copy operation, mapped to the file it concerns; its temporary file `tmp`
   * removed (none for a direct copy).
   */
  private async copyError(
    r: Extract<LocalFsResult, { ok: false }>,
    source: string,
    target: string,
    tmp: string | undefined,
  ): Promise<SavepointKitError> {
    const err = reviveFsError(r.error);
    if (tmp !== undefined) await unlink(tmp).catch(() => {});
    if (r.phase !== "copy") return mapFsError(err, target);
    // (a full or read-only file system is the target's; its message names the target, not a temporary
    // file)
    if (err.code !== undefined && FILE_SYSTEM_REFUSALS.has(err.code)) return mapFsError(err, target);
    const e = mapFsError(err, source);
    if (e instanceof AlreadyExistsError) return mapFsError(err, target);
    if (e instanceof NotFoundError && (await this.stat(source)) !== null) return mapFsError(err, target);
    return e;
  }

  /**
   * See {@link Store.commitStaged}: the staged files made durable, then renamed: on the workers when
   * they are up (in batches, each rename followed by a `stat` of the file under its name: those statuses
   * are the result), else in this thread ({@link SYNC_BATCH} at once; the result is then undefined).
   * Durable by one `syncfs` of each file system holding them ({@link syncFileSystem}) for
   * {@link SYNC_FILE_SYSTEM_MIN_FILES} files or more (`syncFileSystemMinFiles`), unless `perFile`;
   * else (or when that sync is not possible) by an `fdatasync` of each ({@link SYNC_BATCH} at once).
   */
  async commitStaged(
    staged: readonly StagedCopy[],
    options?: CommitOptions,
  ): Promise<(FileStatus | undefined)[] | undefined> {
    const synced =
      !options?.perFile &&
      staged.length >= this.syncFileSystemMinFiles &&
      (await this.syncFileSystems(staged.map((s) => dirname(s.staged))));
    if (!synced) {
      for (let i = 0; i < staged.length; i += SYNC_BATCH) {
        await Promise.all(
          staged.slice(i, i + SYNC_BATCH).map(async (s) => {
            try {
              await this.syncFn(s.staged, "file");
            } catch (err) {
              throw mapFsError(err, s.target);
            }
          }),
        );
      }
    }
    if (this.workers.ready) {
      // renamed on the workers, in batches (as a relocation's copies were made): no promise per file here
      const results = await this.workers.runMany(
        staged.map((s) => ({
          kind: "commit",
          staged: s.staged,
          commitTo: toLocalPath(s.target),
          overwrite: true,
        })),
      );
      const i = results.findIndex((r) => !r.ok);
      const failed = results[i];
      if (failed && !failed.ok)
        throw mapFsError(reviveFsError(failed.error), (staged[i] as StagedCopy).target);
      return results.map((r, k) => {
        const st = r.ok && r.kind === "commit" ? r.status : undefined;
        return st?.isFile ? workerStatus((staged[k] as StagedCopy).target, st.size, st.mtimeMs) : undefined;
      });
    }
    for (let i = 0; i < staged.length; i += SYNC_BATCH) {
      await Promise.all(
        staged.slice(i, i + SYNC_BATCH).map(async (s) => {
          try {
            await this.commit(s.staged, toLocalPath(s.target), true);
          } catch (err) {
            throw mapFsError(err, s.target);
          }
        }),
      );
    }
    return undefined;
  }

  /**
   * One {@link syncFileSystem} per file system holding `dirs` (told apart by their device numbers); true
   * when each succeeded.
   */
  private async syncFileSystems(dirs: readonly string[]): Promise<boolean> {
    const byDevice = new Map<number, string>();
    for (const d of new Set(dirs)) {
      try {
        byDevice.set((await stat(d)).dev, d);
      } catch {
        return false; // the file syncs will say what is wrong
      }
    }
    for (const d of byDevice.values()) if (!(await this.syncFileSystemFn(d))) return false;
    return true;
  }

  async removeLeftovers(targets: readonly string[]): Promise<string[]> {
    const byDir = new Map<string, Set<string>>();
    for (const t of targets) {
      const path = toLocalPath(t);
      const dir = dirname(path);
      const names = byDir.get(dir) ?? new Set<string>();
      names.add(path.slice(dir.length + 1));
      byDir.set(dir, names);
    }
    const removed: string[] = [];
    for (const [dir, names] of byDir) {
      let entries: string[];
      try {
        entries = await readdir(dir);
      } catch (err) {
        if (mapFsError(err, fileUri(dir)) instanceof NotFoundError) continue;
        throw mapFsError(err, fileUri(dir));
      }
      const stale = entries.filter((e) => {
        const target = tempTarget(e);
        return target !== undefined && names.has(target);
      });
      await Promise.all(stale.map((e) => this.delete(fileUri(join(dir, e)))));
      removed.push(...stale.map((e) => fileUri(join(dir, e))));
    }
    return removed;
  }

  async discardStaged(staged: readonly StagedCopy[]): Promise<void> {
    await Promise.all(staged.map((s) => unlink(s.staged).catch(() => {})));
  }

  /**
   * `rename(2)`: no bytes copied. False on EXDEV (source and target on different file systems). The
   * rename is durable only after {@link syncFiles} of the target and of the source (its directory).
   */
  async rename(source: string, target: string, options?: { overwrite?: boolean }): Promise<boolean> {
    const src = toLocalPath(source);
    const dst = toLocalPath(target);
    const overwrite = options?.overwrite ?? true;
    try {
      await this.makeDirectory(dirname(dst));
      if (overwrite) {
        await rename(src, dst);
      } else {
        await link(src, dst);
        await unlink(src);
      }
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EXDEV") return false;
      const e = mapFsError(err, source);
      if (e instanceof AlreadyExistsError) throw mapFsError(err, target);
      throw e;
    }
  }

  /**
   * Syncs each file of `uris` (unless `namesOnly`), then each distinct directory of them and the parent
   * of each directory this store created, so that the names given by earlier renames survive a crash.
   * Files, then directories, are synced in parallel (at most {@link SYNC_BATCH} at once).
   */
  async syncFiles(uris: readonly string[], options?: { namesOnly?: boolean }): Promise<void> {
    if (!options?.namesOnly) {
      for (let i = 0; i < uris.length; i += SYNC_BATCH) {
        await Promise.all(
          uris.slice(i, i + SYNC_BATCH).map(async (u) => {
            try {
              await this.syncFn(toLocalPath(u), "file");
            } catch (err) {
              throw mapFsError(err, u);
            }
          }),
        );
      }
    }
    const dirs = new Set(uris.map((u) => dirname(toLocalPath(u))));
    // Only the directories created for these files (ancestors of theirs): others may belong to an
    // unsynced write elsewhere, or be gone already (a `sync: false` target deleted since).
    const created = [...this.unsyncedDirs].filter((d) =>
      [...dirs].some((f) => f === d || f.startsWith(d.endsWith(sep) ? d : d + sep)),
    );
    for (const d of created) {
      dirs.add(d);
      dirs.add(dirname(d));
    }
    await Promise.all(
      [...dirs].map(async (d) => {
        try {
          await this.syncFn(d, "directory");
        } catch (err) {
          throw mapFsError(err, fileUri(d));
        }
      }),
    );
    for (const d of created) this.unsyncedDirs.delete(d);
  }

  /** `mkdir -p`, remembering the directories it created for {@link syncFiles}. */
  private async makeDirectory(dir: string): Promise<void> {
    const first = await mkdir(dir, { recursive: true });
    if (first === undefined) return;
    for (let d = dir; ; d = dirname(d)) {
      this.unsyncedDirs.add(d);
      if (d === first || d === dirname(d)) break;
    }
  }

  async delete(uri: string): Promise<void> {
    try {
      await unlink(toLocalPath(uri));
    } catch (err) {
      const e = mapFsError(err, uri);
      if (!(e instanceof NotFoundError)) throw e;
    }
  }

  async close(): Promise<void> {}
}

/** Exactly `length` bytes of `fh` at `offset`. @throws StoreFaultError for a short file; mapped fs errors. */
async function readFully(fh: FileHandle, uri: string, offset: number, length: number): Promise<Uint8Array> {
  try {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await fh.read(out, done, length - done, offset + done);
      if (bytesRead === 0) {
        throw new StoreFaultError(
          `short read: wanted bytes ${offset}..${offset + length} but the file ends after ${offset + done}`,
          { uri },
        );
      }
      done += bytesRead;
    }
    return out;
  } catch (err) {
    throw mapFsError(err, uri);
  }
}

/**
 * The default {@link SyncFunction}: `fdatasync` of a file (its bytes and what is needed to read them
 * back, such as its size; not its timestamps), `fsync` of a directory (its entries). Both are opened
 * read-only, which Linux allows.
 */
export async function syncPath(path: string, kind: "file" | "directory"): Promise<void> {
  const fh = await open(path, "r");
  try {
    if (kind === "file") await fh.datasync();
    else await fh.sync();
  } finally {
    await fh.close();
  }
}
