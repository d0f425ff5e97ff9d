/**
 * The one storage interface the rest of savepoint-kit uses for every byte it reads or writes.
 *
 * A store moves bytes; it never parses them. URIs given to a store are in the normal form of
 * `./uri.ts` and belong to the store's scheme. Sizes and offsets are byte counts as JS numbers (exact up
 * to 8 PiB). Every method throws the typed errors of `src/errors.ts`: {@link NotFoundError} for a
 * missing file, {@link PermissionDeniedError} for a refusal, {@link StoreFaultError} for anything the
 * store did wrong; never a raw `ENOENT` or an SDK exception.
 *
 * A new store is one module implementing this interface plus one line in `./registry.ts`; the contract
 * test suite (`test/storage/contract.ts`) runs unchanged against every store.
 */

import type { Readable } from "node:stream";

/** What the store says about one file (directories are not reported). */
export interface FileStatus {
  /** Normalised URI of the file. */
  uri: string;
  /** Size in bytes. */
  size: number;
  /** Last modification time, where the store reports one. */
  modified?: Date;
  /**
   * A content checksum the store gives cheaply, where it has one (for example an S3 ETag of a
   * single-part upload, or an HDFS file checksum). Opaque: compare only values of the same `algorithm`.
   */
  checksum?: { algorithm: string; value: string };
  /**
   * The version tag of the file for conditional requests (S3's ETag, multipart ones included), where the
   * store has one. Not a content checksum: equal tags mean the same version, different tags prove nothing.
   */
  etag?: string;
}

/** What a store can do, so that operations choose the cheapest correct path. */
export interface StoreCapabilities {
  /** `copy` within the store runs server-side (no bytes through this process). */
  serverSideCopy: boolean;
  /** `writeAtomic` is atomic: readers see the old file, or the whole new one, never a part. */
  atomicWrite: boolean;
  /** Directories are real objects (local, HDFS) rather than key prefixes (S3). */
  realDirectories: boolean;
  /** `rename` exists and is atomic within the store. */
  atomicRename: boolean;
}

/** Options of {@link Store.createReadStream}. */
export interface ReadStreamOptions {
  /** First byte to read (default 0). */
  offset?: number;
  /** Number of bytes to read (default: to the end of the file). */
  length?: number;
}

/**
 * A file held open for positional reads ({@link Store.openRead}): many ranges of one file without
 * reopening it for each. Close it when done; reads after `close` fail.
 */
export interface RangeReader {
  /** Exactly `length` bytes starting at `offset`; a short file gives StoreFaultError, as `readRange`. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Releases the file (idempotent). */
  close(): Promise<void>;
}

/** Options of {@link Store.list}. */
export interface ListOptions {
  /** Descend into subdirectories (default true). */
  recursive?: boolean;
  /**
   * With `recursive`: only files at most this many levels below the prefix (1: the files directly in
   * it, 2: also those of its subdirectories, ...). Local and HDFS stores do not descend further; S3,
   * which lists by key prefix, filters.
   */
  maxDepth?: number;
  /**
   * A hint: the caller keeps this thread busy while the listing runs, so a store that can list without
   * it should, even where that takes longer to start (local: on a worker thread that is still
   * starting). Stores whose listings are requests to a server ignore it.
   */
  offThread?: boolean;
}

/** Options of {@link Store.write}, {@link Store.writeAtomic} and {@link Store.copy}. */
export interface WriteOptions {
  /** Replace an existing file (default true). With false, an existing file gives AlreadyExistsError. */
  overwrite?: boolean;
  /**
   * Put the file's bytes on stable storage before it gets its name (default true): local files are
   * `fdatasync`ed, and `writeAtomic` also syncs the directory. With false, durability is left to the
   * operating system, as with `cp`. Stores whose writes are durable once they complete (S3, HDFS)
   * ignore it.
   */
  sync?: boolean;
}

/** Options of {@link Store.copy}. */
export interface CopyOptions extends WriteOptions {
  /**
   * The source's status as the caller has just read it (from `stat` or `list`). A store may use it
   * instead of reading the status again (S3: the size chooses a single or a multipart copy, the ETag pins
   * the copy to that version of the source). Stores that need nothing of it ignore it.
   */
  sourceStatus?: FileStatus;
}

/** One copy of {@link Store.copyMany}: as the arguments of {@link Store.copy}. */
export interface CopyItem {
  source: string;
  target: string;
  /** As {@link CopyOptions.sourceStatus}. */
  sourceStatus?: FileStatus;
}

/** Options of {@link Store.copyMany}. */
export interface CopyManyOptions extends WriteOptions {
  /** Stage each copy, as {@link Store.stageCopy} (then `sync` does not apply). */
  stage?: boolean;
  /**
   * The caller has just seen that none of the targets exists (relocate: its listing of the target
   * directory). Without `sync` and `stage`, a store may then write each copy under its target name
   * directly (local: no temporary name and rename), refusing to replace a file that appeared since
   * (that copy fails with AlreadyExistsError). A copy that fails part way may then leave a partial file
   * under its target name, as `cp` does; its size tells it from a whole copy.
   */
  targetsAbsent?: boolean;
}

/**
 * What became of one copy of {@link Store.copyMany}: what {@link Store.copy} resolves with (`status`), or
 * with `stage` the {@link StagedCopy}; or the error `copy` (or `stageCopy`) would have thrown.
 */
export type CopyOutcome =
  | { ok: true; status: FileStatus | undefined; staged?: StagedCopy }
  | { ok: false; error: Error };

/** Options of {@link Store.commitStaged}. */
export interface CommitOptions {
  /**
   * Make each file durable on its own (local: an `fdatasync` per file), never by one sync of the whole
   * file system: a write-back error of any file is then reported to this call even when another process
   * has already seen it (a file-system-wide sync reports an error only once, to whoever asks first).
   * For callers that delete the source afterwards (`relocate --move`).
   */
  perFile?: boolean;
}

/**
 * A copy made by {@link Store.stageCopy}: its bytes are at a temporary place beside `target`, not yet
 * durable and not yet visible under `target`.
 */
export interface StagedCopy {
  /** Where {@link Store.commitStaged} puts the file. */
  readonly target: string;
  /** Where the bytes are until then: store-private (local: the temporary file's path). */
  readonly staged: string;
}

export interface Store {
  /** The URI schemes this store serves, e.g. `["file"]` or `["s3", "s3a", "s3p"]`. */
  readonly schemes: readonly string[];
  readonly capabilities: StoreCapabilities;

  /** Status of the file at `uri`, or `null` when there is no file there. */
  stat(uri: string): Promise<FileStatus | null>;

  /**
   * Exactly `length` bytes starting at `offset`.
   * @throws CorruptSnapshotError-free: a short file gives StoreFaultError naming the bytes it had.
   */
  readRange(uri: string, offset: number, length: number): Promise<Uint8Array>;

  /**
   * Optional: opens the file at `uri` once for many {@link RangeReader.read}s (a local file handle),
   * where that is cheaper than a `readRange` per range. Stores without it are read by `readRange`.
   * @throws NotFoundError / PermissionDeniedError / StoreFaultError as `readRange`.
   */
  openRead?(uri: string): Promise<RangeReader>;

  /**
   * The whole file. Refuses files larger than `maxBytes` (default 2 GiB) before reading them, so a wrong
   * pointer cannot exhaust memory.
   */
  readAll(uri: string, options?: { maxBytes?: number }): Promise<Uint8Array>;

  /** A stream of the file's bytes, or of a range of them. Errors surface as typed errors on the stream. */
  createReadStream(uri: string, options?: ReadStreamOptions): Readable;

  /**
   * Writes a file from a stream or bytes. The file is visible at `uri` only once the whole content is
   * written (a temporary name and rename, a multipart upload, or the two-step HDFS create); a failed
   * write leaves no file that looks complete. Parent directories are created as needed.
   * @returns the number of bytes written.
   */
  write(uri: string, source: Uint8Array | AsyncIterable<Uint8Array>, options?: WriteOptions): Promise<number>;

  /** Writes a small file (such as `_metadata`) atomically: it appears whole or not at all. */
  writeAtomic(uri: string, bytes: Uint8Array, options?: WriteOptions): Promise<void>;

  /**
   * The files under directory `prefix` (recursive by default), paginated internally. Order is
   * unspecified. A missing directory yields nothing.
   */
  list(prefix: string, options?: ListOptions): AsyncIterable<FileStatus>;

  /**
   * Copies a file within this store (server-side where `capabilities.serverSideCopy`). Resolves with the
   * status of the copy under `target` where the store learns it while copying, at no further request
   * (local: a `stat` of the new file), so a caller can verify the copy without reading its status again;
   * otherwise with undefined.
   */
  copy(source: string, target: string, options?: CopyOptions): Promise<FileStatus | undefined>;

  /**
   * Optional: {@link copy} (or, with `stage`, {@link stageCopy}) of many files within this store in one
   * call, for a caller with thousands of them (local: the copies go to the worker threads in batches,
   * without a promise, a message and a result object per file in the calling thread). Every item is
   * attempted; resolves with one outcome per item, in order.
   * @throws StoreFaultError only when the store cannot go on at all (local: a worker thread stopped);
   *   a copy that fails has its error in its outcome.
   */
  copyMany?(items: readonly CopyItem[], options?: CopyManyOptions): Promise<CopyOutcome[]>;

  /**
   * Optional hint, never required: many copies within this store follow soon (relocate gives it before
   * it reads the snapshot), so the store may get ready for them meanwhile (local: it starts the worker
   * threads that copy). Returns at once.
   */
  prepareCopies?(): void;

  /**
   * Optional, with `commitStaged` and `discardStaged`: {@link copy} in two steps, for a caller that copies
   * many files durably. This first step copies the bytes to a temporary place beside `target`; nothing
   * is visible at `target` yet and nothing is synced. Stores whose writes are durable once they complete
   * (S3, HDFS) do not have it.
   * @throws as `copy`.
   */
  stageCopy?(source: string, target: string, options?: CopyOptions): Promise<StagedCopy>;

  /**
   * The second step, for a batch of staged copies: all of them made durable (local: their `fdatasync`s
   * run together, so the file system writes them back at once and they share journal commits instead of
   * one commit per file), then each renamed to its `target` (replacing what is there). As after `copy`,
   * the names are durable once {@link syncFiles} with `namesOnly` has run. A file is never visible under
   * its target before its bytes are durable.
   * Resolves with the status of each file under its target, in order, where the store learns them while
   * committing (local: when the renames run on its worker threads, each is followed by a `stat` there),
   * so that a caller can verify the copies without listing them; otherwise with undefined.
   * @throws StoreFaultError (and the mapped file-system errors) when a sync or a rename fails; staged
   *   copies not yet renamed are then left for {@link discardStaged}.
   */
  commitStaged?(
    staged: readonly StagedCopy[],
    options?: CommitOptions,
  ): Promise<(FileStatus | undefined)[] | undefined>;

  /** Removes staged copies that will not be committed (or were, partly). Never throws. */
  discardStaged?(staged: readonly StagedCopy[]): Promise<void>;

  /**
   * Removes what a process killed while staging or writing left beside these targets (local: the
   * temporary files `.<name>.<random>.tmp` of exactly these names) and returns their URIs. Nothing else
   * is touched. (Such leftovers are files: {@link list} shows them, so a caller that listed a directory
   * and found it empty need not ask for the targets in it.)
   */
  removeLeftovers?(targets: readonly string[]): Promise<string[]>;

  /**
   * Moves a file within this store without copying its bytes (a rename), replacing the target unless
   * `overwrite: false`; parent directories are created as needed. Returns false, having changed
   * nothing, when this pair of places cannot be renamed between (local: different file systems; HDFS:
   * different NameNodes), so
   * that the caller copies instead. Absent on stores without a cheap rename (S3).
   * @throws NotFoundError when the source is missing; AlreadyExistsError as `write`.
   */
  rename?(source: string, target: string, options?: { overwrite?: boolean }): Promise<boolean>;

  /**
   * Makes files this store has written or copied durable: once it returns, a crash loses none of them.
   * Local files: each file's bytes (`fdatasync`; skipped with `namesOnly`, for files written with
   * `sync`), then one `fsync` of each distinct directory they are in and of the parent of each directory
   * this store created for them. Absent on stores whose files are durable as soon as a write completes
   * (S3, HDFS).
   */
  syncFiles?(uris: readonly string[], options?: { namesOnly?: boolean }): Promise<void>;

  /** Deletes a file. Deleting a missing file is not an error. */
  delete(uri: string): Promise<void>;

  /** Releases connections and other resources. The store must not be used afterwards. */
  close(): Promise<void>;
}
