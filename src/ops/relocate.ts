/**
 * `relocate`: copy (or move) a savepoint or retained checkpoint to another directory, bucket or
 * namenode, rewriting its file pointers so that Flink restores it from the new place.
 *
 * Where files go (the copy keeps the layout Flink itself writes):
 * - files inside the snapshot directory (`exclusive`) go to the same relative path under the target
 *   directory;
 * - files under the snapshot's parent directory (a checkpoint's `<job>/shared/`, `<job>/taskowned/`,
 *   other `chk-M` directories) go to the same relative path under the target's parent, so a
 *   `<job>/chk-N` relocated to `<new-job>/chk-N` brings `<new-job>/shared/` along;
 * - a file of an entropy-injected S3 checkpoint (under a random prefix, `s3.entropy.key`) goes where
 *   the rules above put it had Flink written it without entropy (`./entropy.ts`): the copy has Flink's
 *   plain layout, `chk-N/` and `shared/`, relative pointers for `chk-N`'s files;
 * - any other file (`external`: another snapshot, another bucket) goes to
 *   `<target>/external/<12 hex of its directory's hash>/<name>`;
 * - the directories file merging records (`FileMergingOperatorStreamStateHandle`'s task-owned and shared
 *   directories) follow the same rules, so that they name where their files now are.
 *
 * Pointers: a file that lands inside the target directory is written as a RelativeFileStateHandle (the
 * FLINK-39964 rule: relative only for files inside the directory the new `_metadata` is in); anything
 * else as an absolute FileStateHandle. `--map old=new` rewrites pointers under `old` to `new` without
 * copying those files (the user moved them); they must exist there. When no pointer changes (a
 * savepoint's relative pointers), the new `_metadata` is the source's bytes, as Flink wrote them.
 *
 * Safety: the source is never modified unless `move`; files are copied and verified (size, and checksum
 * where both stores give one) before `_metadata` is written, last and atomically; local copies are on
 * stable storage (`fdatasync` of each file, or one `syncfs` for many, see `LocalStore.commitStaged`;
 * `fsync` of each directory once) before `_metadata` is written, unless `sync: false`; a re-run skips
 * files already copied and verified. `move` within a store that renames (local files on one file system)
 * renames each file instead of copying it, like `mv`: the source snapshot is incomplete until the run
 * ends, and a re-run after an interruption finds the files already moved at the target and finishes.
 * Otherwise `move` deletes source files only after the whole target verifies and `_metadata` is written.
 * Either way, files that sibling snapshots (other `_metadata` files in the source's parent directory)
 * reference are copied, never moved or deleted.
 *
 * Missing files: a referenced file that does not exist stops the run before anything is written, unless
 * `missingFrom` names directories to look for it in by name (the checkpoints Flink writes after a
 * CLAIM-mode restore from a native savepoint, FLINK-39964: see {@link RelocateOptions.missingFrom}); a
 * file found there is copied to where its pointer resolves in the target, so the pointer stays as it is
 * and now resolves.
 */

import { createHash } from "node:crypto";
import pMap from "p-map";
import { InvalidArgumentError, NotFoundError, StoreFaultError } from "../errors.js";
import { readMetadata, writeMetadata } from "../formats/metadata/index.js";
import type { CheckpointMetadata, StreamStateHandle } from "../formats/metadata/model.js";
import { filePointer } from "../formats/metadata/pointers.js";
import { mapStreamHandles } from "../formats/metadata/rewrite.js";
import type { StoreRegistry } from "../storage/registry.js";
import type { CopyOutcome, FileStatus, StagedCopy, Store, WriteOptions } from "../storage/store.js";
import {
  baseName,
  isInside,
  joinUri,
  normalizeUri,
  parentUri,
  parseUri,
  relativeTo,
} from "../storage/uri.js";
import { CommitWaves } from "./commit-waves.js";
import { entropyFreeUri } from "./entropy.js";
import { buildInventory } from "./inventory.js";
import { type LoadedSnapshot, loadLocated, locateSnapshot, METADATA_FILE_NAME } from "./locate.js";
import { prepareTarget } from "./target.js";

/** A pointer rewrite given by the user: pointers under `from` now live under `to`. */
export interface PrefixMap {
  from: string;
  to: string;
}

/** Progress of the copy phase. */
export interface RelocateProgress {
  filesDone: number;
  filesTotal: number;
  /** Bytes copied or skipped as already verified. */
  bytesDone: number;
  bytesTotal: number;
}

/** Options of {@link relocateSnapshot}. */
export interface RelocateOptions {
  stores: StoreRegistry;
  /** Pointer rewrites without copying (see the module doc). */
  maps?: readonly PrefixMap[];
  /** Plan only: copy nothing, write nothing. */
  dryRun?: boolean;
  /** Delete the source's copied files and `_metadata` once the target is verified. */
  move?: boolean;
  /** Replace a `_metadata` already at the target. */
  overwrite?: boolean;
  /**
   * Parallel transfers: default {@link LOCAL_COPY_CONCURRENCY} when every file is copied between local
   * directories, {@link LOCAL_TARGET_CONCURRENCY} into a local directory from S3 or HDFS,
   * {@link REMOTE_TARGET_CONCURRENCY} into S3 or HDFS.
   */
  concurrency?: number;
  /**
   * Put every copy and `_metadata` on stable storage before finishing (default true): see
   * {@link WriteOptions.sync}. With false, durability is left to the operating system, as with `cp`;
   * refused together with `move`, which deletes the source.
   */
  sync?: boolean;
  /**
   * Directories (any store) to look in for referenced files that are missing, by their file name, in the
   * order given: for the checkpoints Flink 1.20 and 2.x write after a CLAIM-mode restore from a native
   * savepoint, whose re-used SST files keep relative pointers that resolve into `chk-N` while the files
   * lie in the savepoint's directory (FLINK-39964; Flink then refuses the checkpoint). A file found there
   * with at least the bytes the metadata claims is copied to where its pointer resolves in the target
   * (never moved or deleted: it belongs to that other snapshot). See {@link PlannedCopy.missingAt}.
   */
  missingFrom?: readonly string[];
  onProgress?: (p: RelocateProgress) => void;
}

/**
 * Default copies under way when every file is copied from and to local directories: the local store
 * runs them on its worker threads in batches (`storage/local-fs-workers.ts`), which need many copies
 * queued to fill their messages. Measured on 16,384 files of 64 KiB on tmpfs (2 cores): with 16 under way,
 * the messages carried a few copies each and their posting took most of the main thread.
 */
export const LOCAL_COPY_CONCURRENCY = 256;

/**
 * Default parallel transfers into a local directory from S3 or HDFS (each a stream written through
 * libuv's thread pool, 16 threads in the `savepoint` executable, `bin.cts`). It was also the default
 * between local directories before those copies moved to worker threads; measured then (1 GiB in 257
 * files, 2 cores, durable): 8 transfers 1.61 s, 16 1.27 s, 32 1.32 s.
 */
export const LOCAL_TARGET_CONCURRENCY = 16;

/**
 * Most copies given to a store's `copyMany` in one call (as many as a local worker takes in one
 * message). With the default {@link LOCAL_COPY_CONCURRENCY}, 4 such chunks are under way.
 */
export const COPY_CHUNK = 64;

/**
 * Default parallel transfers into S3 or HDFS: each upload to S3 buffers up to `queueSize` parts of
 * `partSize` (4 x 8 MiB by default, see `S3Store`), so twice as many transfers would double the memory.
 */
export const REMOTE_TARGET_CONCURRENCY = 8;

/**
 * A `_metadata` of this many bytes or more takes longer to parse than a worker thread takes to start
 * (30 to 60 ms; `_metadata` of small handles parses at 5 to 13 MB/s on the first run, 16,384 files in
 * 983 KB in 75 to 200 ms), so the source's listing, which runs meanwhile, is asked to run off the main
 * thread (`ListOptions.offThread`). Smaller ones are listed in the main thread, which is then sooner.
 */
export const OFF_THREAD_LISTING_METADATA_BYTES = 256 * 1024;

/** One file to copy. */
export interface PlannedCopy {
  from: string;
  to: string;
  /** Size of the source file (bytes). */
  size: number;
  /**
   * What the run does with it: `copy`; with `move`, `rename` where source and target are on one store
   * that renames (local files: `rename(2)`, no bytes copied; when they turn out to lie on different file
   * systems it copies, then deletes the source once the target verifies), `copy-delete` where the store
   * cannot rename (copy, delete the source once the target verifies), and `copy` for a file another
   * snapshot references (kept, see {@link RelocateReport.keptForOtherSnapshots}).
   */
  action: "copy" | "rename" | "copy-delete";
  /**
   * Set after the run: copied now; moved (renamed, with `move`: now or by an interrupted earlier run);
   * or already present and verified (resume).
   */
  outcome?: "copied" | "moved" | "skipped";
  /**
   * Where the pointer resolved when its file was missing there and `from` is where
   * {@link RelocateOptions.missingFrom} found it (a file of another snapshot: copied, never moved or
   * deleted).
   */
  missingAt?: string;
}

/** A pointer a relocation rewrites, as stored before and after. */
export interface RelocatedPointer {
  before: string;
  after: string;
  /** Written as a RelativeFileStateHandle (a path relative to the new `_metadata`'s directory). */
  relative: boolean;
  /** A directory file merging records (`FileMergingOperatorStreamStateHandle`), not a file. */
  directory?: true;
}

/** The plan (and, after a run, the outcome) of a relocation. */
export interface RelocateReport {
  source: { metadataUri: string; directory: string };
  target: { metadataUri: string; directory: string };
  dryRun: boolean;
  copies: PlannedCopy[];
  /** Files not copied because a `--map` rewrote their pointers; verified to exist at `to`. */
  mapped: { from: string; to: string }[];
  /**
   * Every pointer that changes: as stored before and after; `directory` for a directory path file
   * merging records (`FileMergingOperatorStreamStateHandle`), which is not a file.
   */
  pointers: RelocatedPointer[];
  totals: { files: number; bytes: number; copied: number; moved: number; skipped: number };
  /**
   * With `move`: source files deleted after their copy (not those renamed, see `totals.moved`), and files
   * kept because sibling snapshots reference them.
   */
  deleted: string[];
  /** With `move`: files copied, not moved, because other snapshots own them (siblings, or `missingFrom`'s). */
  keptForOtherSnapshots: string[];
  /**
   * With `move`: sibling `_metadata` files that could not be read, and why. Such a sibling cannot prove
   * any file unused, so every file under the source's parent directory is kept (copied, not moved).
   */
  unreadableSiblings: { uri: string; reason: string }[];
}

/**
 * Relocates the snapshot at `input` (directory or `_metadata`, any store) to directory `target`
 * (any store).
 *
 * @throws InvalidArgumentError when the target is the source or lies inside it, a map is malformed, or
 *   `sync: false` is combined with `move`.
 * @throws AlreadyExistsError when the target already holds a `_metadata` (unless `overwrite`).
 * @throws NotFoundError when a source file (or a mapped file at its new place) is missing.
 * @throws StoreFaultError when a copy does not verify; plus the errors of `loadSnapshot`.
 */
export async function relocateSnapshot(
  input: string,
  target: string,
  options: RelocateOptions,
): Promise<RelocateReport> {
  // the target's store may get ready for the copies while the snapshot is read and planned (a target no
  // store handles fails below, where it always has)
  if (!options.dryRun) {
    try {
      options.stores.storeFor(target).prepareCopies?.();
    } catch {}
  }
  const location = await locateSnapshot(input, options.stores);
  // The listing of the source directory (the statuses the plan checks) runs while `_metadata` is read
  // and parsed: as requests to S3 or HDFS, or locally on the worker threads when parsing will take
  // longer than they take to start (see OFF_THREAD_LISTING_METADATA_BYTES).
  const sourceListing = listDirectory(location.directory, options.stores, {
    offThread: location.metadataSize >= OFF_THREAD_LISTING_METADATA_BYTES,
  });
  sourceListing.catch(() => {}); // awaited by the plan; rejected, it must not go unhandled before then
  const loaded = await loadLocated(location);
  // `bytes` are the file `metadata` was read from: kept as they are where no pointer changes
  return relocate(loaded, target, options, true, sourceListing);
}

/**
 * Relocates an already loaded snapshot, whose `metadata` may have been edited (prune, drop, rename
 * with `--copy`): only the files the given metadata references are copied.
 *
 * @throws as {@link relocateSnapshot}.
 */
export async function relocateLoaded(
  loaded: LoadedSnapshot,
  target: string,
  options: RelocateOptions,
): Promise<RelocateReport> {
  return relocate(loaded, target, options, false, undefined);
}

/**
 * {@link relocateLoaded}; `bytesAreMetadata` says `loaded.bytes` encode `loaded.metadata` (not edited
 * since it was read), so that they can be written as they are when the relocation changes no pointer;
 * `sourceListing`, when given, is the listing of the source directory, under way.
 */
async function relocate(
  loaded: LoadedSnapshot,
  target: string,
  options: RelocateOptions,
  bytesAreMetadata: boolean,
  sourceListing: Promise<Map<string, FileStatus>> | undefined,
): Promise<RelocateReport> {
  const { stores } = options;
  const sync = options.sync ?? true;
  if (!sync && options.move) {
    throw new InvalidArgumentError(
      "--no-sync cannot be combined with --move: the source is deleted, so the copies must be on disk first",
    );
  }
  const sourceDir = loaded.directory;
  const {
    directory: targetDir,
    store: targetStore,
    metadataUri: targetMetadata,
  } = await prepareTarget(sourceDir, target, stores, options.overwrite);

  // What is already at the target (a re-run after an interruption), listed while the plan is made (a
  // request to S3 or HDFS; locally, on a worker thread when they are up)
  const targetListing = options.dryRun ? undefined : listDirectory(targetDir, stores);
  targetListing?.catch(() => {}); // awaited by copyAll; rejected, it must not go unhandled before then
  const maps = (options.maps ?? []).map(normalizeMap);
  const plan = await planRelocation(
    loaded,
    targetDir,
    maps,
    stores,
    options.move ?? false,
    sourceListing ?? listDirectory(sourceDir, stores),
    (options.missingFrom ?? []).map((d) => normalizeUri(d)),
  );
  // Files other snapshots beside this one reference are never moved or deleted (only with `move`).
  const siblings = options.move
    ? await referencedBySiblings(loaded, stores)
    : { refs: new Set<string>(), unreadable: [] };
  for (const c of plan.copies) c.action = plannedAction(c, siblings.refs, options);
  const report: RelocateReport = {
    source: { metadataUri: loaded.metadataUri, directory: sourceDir },
    target: { metadataUri: targetMetadata, directory: targetDir },
    dryRun: options.dryRun ?? false,
    copies: plan.copies,
    mapped: plan.mapped,
    pointers: plan.pointers,
    totals: {
      files: plan.copies.length,
      bytes: plan.copies.reduce((n, c) => n + c.size, 0),
      copied: 0,
      moved: 0,
      skipped: 0,
    },
    deleted: [],
    keptForOtherSnapshots: [],
    unreadableSiblings: siblings.unreadable,
  };
  if (options.dryRun) return report;

  await copyAll(plan.copies, plan.sourceStatus, targetDir, options, targetListing);
  report.totals.copied = plan.copies.filter((c) => c.outcome === "copied").length;
  report.totals.moved = plan.copies.filter((c) => c.outcome === "moved").length;
  report.totals.skipped = plan.copies.filter((c) => c.outcome === "skipped").length;

  // _metadata last, atomically, and only after checking that it reads back to the pointers we planned.
  // When no pointer and no directory path changes (a savepoint's relative pointers), the new metadata
  // is the old one: its own bytes, as Flink wrote them, resolve to the copies already (every pointer is
  // relative to the directory, or absolute to a file that stays), so they are written unchanged.
  let bytes = loaded.bytes;
  if (!bytesAreMetadata || !plan.unchanged) {
    bytes = writeMetadata(plan.metadata);
    checkWritten(bytes, targetMetadata, targetDir, plan.expectedUris);
  }
  await targetStore.writeAtomic(targetMetadata, bytes, { overwrite: true, sync });

  if (options.move) {
    const { deleted, kept } = await deleteSource(loaded, plan.copies, siblings.refs, stores);
    report.deleted = deleted;
    report.keptForOtherSnapshots = kept;
  }
  return report;
}

/** The planned {@link PlannedCopy.action} of a copy. */
function plannedAction(
  c: PlannedCopy,
  siblingRefs: Set<string>,
  options: RelocateOptions,
): PlannedCopy["action"] {
  if (!options.move || siblingRefs.has(c.from) || c.from === c.to || c.missingAt) return "copy";
  const src = options.stores.storeFor(c.from);
  return src === options.stores.storeFor(c.to) && src.rename ? "rename" : "copy-delete";
}

/** Parses `old=new` as the CLI gives it. */
export function parsePrefixMap(spec: string): PrefixMap {
  const i = spec.indexOf("=");
  if (i <= 0 || i === spec.length - 1) {
    throw new InvalidArgumentError(`--map takes <old-prefix>=<new-prefix>, got ${JSON.stringify(spec)}`);
  }
  return { from: spec.slice(0, i), to: spec.slice(i + 1) };
}

function normalizeMap(m: PrefixMap): PrefixMap {
  return { from: normalizeUri(m.from, "/"), to: normalizeUri(m.to) };
}

/** `uri` rewritten by the first map whose prefix covers it (whole path segments), or undefined. */
function applyMaps(uri: string, maps: readonly PrefixMap[]): string | undefined {
  for (const m of maps) {
    if (uri === m.from) return m.to;
    const rel = relativeTo(m.from, uri);
    if (rel !== undefined) return joinUri(m.to, rel);
  }
  return undefined;
}

/** A URI as Flink's `Path.toString()` prints it (`file:/x`, `s3://b/k`, `hdfs://nn:8020/p`). */
export function toFlinkPath(uri: string): string {
  const u = parseUri(uri);
  return u.authority ? `${u.scheme}://${u.authority}${u.path}` : `${u.scheme}:${u.path}`;
}

interface Plan {
  copies: PlannedCopy[];
  mapped: { from: string; to: string }[];
  pointers: RelocatedPointer[];
  metadata: CheckpointMetadata;
  sourceStatus: Map<string, FileStatus>;
  /** Every file URI the new metadata must resolve to. */
  expectedUris: Set<string>;
  /** True when `metadata` stores every pointer and directory path as the source does. */
  unchanged: boolean;
}

async function planRelocation(
  loaded: LoadedSnapshot,
  targetDir: string,
  maps: readonly PrefixMap[],
  stores: StoreRegistry,
  move: boolean,
  sourceListing: Promise<Map<string, FileStatus>>,
  missingFrom: readonly string[],
): Promise<Plan> {
  const sourceDir = loaded.directory;
  const sourceParent = parentUri(sourceDir);
  const targetParent = parentUri(targetDir);
  // the files, their places and least sizes: which handles reference them is not needed here
  const inventory = buildInventory(loaded.metadata, sourceDir, { references: false });
  /** Where the files of directory `dir` (outside the source's parent) go: `external/<12 hex of its hash>`. */
  const externalDir = (dir: string) =>
    joinUri(targetDir, `external/${createHash("sha256").update(dir).digest("hex").slice(0, 12)}`);
  const externalFile = (uri: string) => joinUri(externalDir(parentUri(uri)), baseName(uri));

  /**
   * Where a file (or a directory file merging records) goes by the layout rules, `external/` aside:
   * under the target as under the source, or beside it as beside the source; undefined for neither.
   */
  const layoutPlace = (uri: string): string | undefined => {
    const inSnapshot = relativeTo(sourceDir, uri);
    return inSnapshot !== undefined ? joinUri(targetDir, inSnapshot) : parentPlace(uri);
  };
  /** The place of a file beside the snapshot directory (`<job>/shared/…`): beside the target. */
  const parentPlace = (uri: string): string | undefined => {
    const inParent = sourceParent !== sourceDir ? relativeTo(sourceParent, uri) : undefined;
    return inParent !== undefined ? joinUri(targetParent, inParent) : undefined;
  };
  /** The layout place of a file of an entropy-injected S3 checkpoint: where it would be without entropy. */
  const entropyPlace = (uri: string): string | undefined => {
    const free = sourceParent !== sourceDir ? entropyFreeUri(uri, sourceParent) : undefined;
    return free === undefined ? undefined : layoutPlace(free);
  };

  const destination = new Map<string, string>();
  const copies: PlannedCopy[] = [];
  const mapped: { from: string; to: string }[] = [];
  /** Files whose layout place is only theirs once entropy is taken out: placed after all others. */
  const entropyFiles: { uri: string; place: string }[] = [];
  const places = new Set<string>();
  const place = (from: string, to: string) => {
    destination.set(from, to);
    places.add(to);
    copies.push({ from, to, size: 0, action: "copy" });
  };
  for (const f of inventory.files) {
    const m = applyMaps(f.uri, maps);
    if (m !== undefined) {
      destination.set(f.uri, m);
      mapped.push({ from: f.uri, to: m });
      continue;
    }
    // the inventory has each file's path in the snapshot directory
    const inSnapshot = f.relativePath ?? undefined;
    const to = inSnapshot !== undefined ? joinUri(targetDir, inSnapshot) : parentPlace(f.uri);
    if (to !== undefined) {
      place(f.uri, to);
      continue;
    }
    const free = entropyPlace(f.uri);
    if (free !== undefined) entropyFiles.push({ uri: f.uri, place: free });
    else place(f.uri, externalFile(f.uri));
  }
  // Two files never share a place: an entropy-injected file whose place is taken (a file of the same
  // name there, or another random prefix's) goes to external/ as any other file would.
  for (const { uri, place: free } of entropyFiles) place(uri, places.has(free) ? externalFile(uri) : free);

  const pointers = new Map<string, RelocatedPointer>();
  const expectedUris = new Set<string>();
  const rewrite = (h: StreamStateHandle): StreamStateHandle => {
    const p = filePointer(h, sourceDir);
    if (!p) return h;
    const to = destination.get(p.uri) as string;
    expectedUris.add(to);
    const rel = relativeTo(targetDir, to);
    let next: StreamStateHandle;
    if (h.kind === "SegmentFileStateHandle") {
      next = { ...h, physicalFilePath: toFlinkPath(to) };
    } else if (
      rel !== undefined &&
      h.kind !== "KeyGroupsStateHandle" &&
      h.kind !== "KeyGroupsSavepointStateHandle"
    ) {
      next = { kind: "RelativeFileStateHandle", relativePath: rel, stateSize: p.stateSize };
    } else {
      next = { kind: "FileStateHandle", filePath: toFlinkPath(to), stateSize: p.stateSize };
    }
    const after = next.kind === "RelativeFileStateHandle" ? next.relativePath : toFlinkPath(to);
    // the same pointer in the same kind of handle: the handle itself (mapStreamHandles then copies
    // nothing above it)
    if (after === p.stored && next.kind === h.kind) return h;
    pointers.set(`${p.stored}\u0000${after}`, { before: p.stored, after, relative: rel !== undefined });
    return next;
  };
  // The directories a FileMergingOperatorStreamStateHandle records (its DirectoryStreamStateHandles)
  // move as the files in them do: Flink registers them as shared state and, once a claimed checkpoint no
  // longer needs them, deletes them recursively (DirectoryStreamStateHandle.discardState), so they must
  // never go on naming the source's directories.
  const mapDirectory = (path: string): string => {
    const uri = normalizeUri(path, "/");
    const m = applyMaps(uri, maps);
    if (m !== undefined) return toFlinkPath(m);
    return toFlinkPath(layoutPlace(uri) ?? entropyPlace(uri) ?? externalDir(uri));
  };
  const metadata = mapStreamHandles(loaded.metadata, rewrite, {
    mapDirectoryPath: (path) => {
      const next = mapDirectory(path);
      if (next !== path) {
        pointers.set(`${path}\u0000${next}\u0000dir`, {
          before: path,
          after: next,
          relative: false,
          directory: true,
        });
      }
      return next;
    },
  });

  // Source files must exist with the bytes the metadata needs; mapped files must exist at their new place.
  // (After the new metadata is built: the listing of the source, under way, has had that time.)
  const minSize = new Map(inventory.files.map((f) => [f.uri, f.leastFileSize]));
  const sourceStatus = new Map<string, FileStatus>();
  const listedSource = await sourceListing;
  const checkSource = (c: PlannedCopy, s: FileStatus) => {
    if (BigInt(s.size) < (minSize.get(c.from) ?? 0n)) {
      throw new StoreFaultError(`${s.uri} has ${s.size} bytes, less than the metadata claims`, {
        uri: s.uri,
      });
    }
    c.size = s.size;
    sourceStatus.set(c.from, s);
  };
  // in a loop where the listing has the status (most files); a request each for the others
  const unlisted: PlannedCopy[] = [];
  for (const c of copies) {
    const s = listedSource.get(c.from);
    if (s) checkSource(c, s);
    else unlisted.push(c);
  }
  await pMap(
    unlisted,
    async (c) => {
      let s = await stores.storeFor(c.from).stat(c.from);
      if (!s && move) {
        // moved (renamed) by an earlier, interrupted run of this move
        const there = await stores.storeFor(c.to).stat(c.to);
        if (there) {
          s = there;
          c.outcome = "moved";
        }
      }
      if (!s && missingFrom.length > 0) {
        // FLINK-39964: the file of a relative pointer lies in another snapshot's directory (see
        // RelocateOptions.missingFrom); the first directory that has it with the bytes needed serves
        const need = minSize.get(c.from) ?? 0n;
        for (const dir of missingFrom) {
          const at = joinUri(dir, baseName(c.from));
          const found = await stores.storeFor(at).stat(at);
          if (found && BigInt(found.size) >= need) {
            minSize.set(at, need);
            c.missingAt = c.from;
            c.from = at;
            s = found;
            break;
          }
        }
        if (!s)
          throw new NotFoundError(c.from, {
            message: `referenced file is missing: ${c.from} (not in ${missingFrom.join(", ")} either)`,
          });
      }
      if (!s) throw new NotFoundError(c.from, { message: `referenced file is missing: ${c.from}` });
      checkSource(c, s);
    },
    { concurrency: 16 },
  );
  await pMap(
    mapped,
    async (m) => {
      const s = await stores.storeFor(m.to).stat(m.to);
      if (!s)
        throw new NotFoundError(m.to, { message: `--map points ${m.from} at ${m.to}, which does not exist` });
    },
    { concurrency: 16 },
  );

  return {
    copies,
    mapped,
    pointers: [...pointers.values()],
    metadata,
    sourceStatus,
    expectedUris,
    // (directory paths that change are among the pointers)
    unchanged: pointers.size === 0,
  };
}

/**
 * Copies (or moves) the planned files and verifies them; `targetListing`, when given, is the listing of
 * the target directory, started before the plan.
 */
async function copyAll(
  copies: PlannedCopy[],
  sourceStatus: Map<string, FileStatus>,
  targetDir: string,
  options: RelocateOptions,
  targetListing: Promise<Map<string, FileStatus>> | undefined,
) {
  const { stores } = options;
  const sync = options.sync ?? true;
  const progress: RelocateProgress = {
    filesDone: 0,
    filesTotal: copies.length,
    bytesDone: 0,
    bytesTotal: copies.reduce((n, c) => n + c.size, 0),
  };
  options.onProgress?.({ ...progress });
  // What is already at the target (a re-run after an interruption): one listing of the target directory
  // instead of a status request per file; files outside it (a checkpoint's ../shared) are asked one by one.
  const existingAtTarget = await (targetListing ?? listDirectory(targetDir, stores));
  const existing = async (uri: string) =>
    existingAtTarget.get(uri) ?? (isInside(targetDir, uri) ? null : await stores.storeFor(uri).stat(uri));
  /**
   * Copied or moved now, to verify: with the outcome to record once verified, and the copy's status
   * under its name where the store gave it while copying or committing (then no listing or request is
   * needed to verify it; a staged copy's status is taken after its commit, which it must show).
   */
  const copied: { c: PlannedCopy; how: "copied" | "moved"; status?: FileStatus }[] = [];
  // Small files first: most snapshots are many small files and a few large ones.
  const ordered = [...copies].sort((a, b) => a.size - b.size);
  // Durable copies within a store that stages them (local) are synced and named in waves; each file on its
  // own with `move`, which deletes the source (see CommitOptions.perFile).
  const waves = sync ? new CommitWaves(undefined, { perFile: options.move ?? false }) : undefined;
  // What a killed earlier run left staged beside the files to copy (up to a wave of unnamed copies)
  // (none inside the target directory when its listing is empty: a listing shows every file, leftovers too)
  const mayHoldLeftovers = (c: PlannedCopy) => existingAtTarget.size > 0 || !isInside(targetDir, c.to);
  for (const [store, files] of byStore(copies.filter(mayHoldLeftovers), stores))
    await store.removeLeftovers?.(files.map((c) => c.to));
  /** Copies (or renames, or skips) one file; a copy durable in a wave is recorded once committed. */
  const copyOne = async (c: PlannedCopy): Promise<void> => {
    const src = sourceStatus.get(c.from) as FileStatus;
    const dstStore = stores.storeFor(c.to);
    const there = c.outcome === "moved" ? undefined : await existing(c.to);
    if (c.outcome === "moved") {
      // already at the target (an earlier run renamed it)
    } else if (there && sameContent(src, there)) {
      c.outcome = "skipped";
    } else {
      const srcStore = stores.storeFor(c.from);
      const write: WriteOptions = { overwrite: true, sync };
      if (c.action === "rename" && (await srcStore.rename?.(c.from, c.to, { overwrite: true }))) {
        copied.push({ c, how: "moved" });
      } else if (srcStore === dstStore && waves && dstStore.stageCopy) {
        // durable in a wave with others (see commit-waves.ts); verified below once committed
        const staged = await dstStore.stageCopy(c.from, c.to, { sourceStatus: src });
        await waves.add(dstStore, staged, c.size, (status) => copied.push({ c, how: "copied", status }));
      } else if (srcStore === dstStore) {
        const status = await srcStore.copy(c.from, c.to, { ...write, sourceStatus: src });
        copied.push({ c, how: "copied", status });
      } else {
        await dstStore.write(c.to, srcStore.createReadStream(c.from), write);
        copied.push({ c, how: "copied" });
      }
    }
    progress.filesDone++;
    progress.bytesDone += c.size;
    options.onProgress?.({ ...progress });
  };
  /**
   * Copies a chunk of plain copies within one store that copies many at once (see `inChunks` below);
   * a copy durable in a wave is recorded once committed.
   */
  const copyChunk = async (chunk: PlannedCopy[]): Promise<void> => {
    const store = stores.storeFor((chunk[0] as PlannedCopy).to);
    const staging = waves !== undefined && store.stageCopy !== undefined;
    const outcomes = await (store.copyMany as NonNullable<Store["copyMany"]>)(
      chunk.map((c) => ({ source: c.from, target: c.to, sourceStatus: sourceStatus.get(c.from) })),
      // (the chunks hold only copies to places the target's listing found empty)
      { overwrite: true, sync, stage: staging, targetsAbsent: true },
    );
    const staged = (from: number) =>
      outcomes.slice(from).flatMap((o) => (o.ok && o.staged ? [o.staged] : []));
    const failed = outcomes.find((o) => !o.ok);
    if (failed && !failed.ok) {
      // the chunk's staged copies will not be committed
      await store.discardStaged?.(staged(0));
      throw failed.error;
    }
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i] as PlannedCopy;
      const o = outcomes[i] as Extract<CopyOutcome, { ok: true }>;
      if (staging && waves) {
        try {
          await waves.add(store, o.staged as StagedCopy, c.size, (status) =>
            copied.push({ c, how: "copied", status }),
          );
        } catch (err) {
          await store.discardStaged?.(staged(i + 1)); // (waves.add discarded the one it was given)
          throw err;
        }
      } else copied.push({ c, how: "copied", status: o.status });
      progress.filesDone++;
      progress.bytesDone += c.size;
    }
    options.onProgress?.({ ...progress });
  };
  // Plain copies within a store that copies many at once (local), to a place inside the target directory
  // where its listing found nothing, go to the store in chunks: one call, and no promise per file, for up
  // to COPY_CHUNK files. The others (renames, files already there or outside the target directory, copies
  // between stores) one by one.
  const concurrency = options.concurrency ?? defaultConcurrency(copies, targetDir, stores);
  const chunkSize = Math.max(1, Math.min(COPY_CHUNK, concurrency));
  const inChunks: PlannedCopy[] = [];
  const oneByOne: PlannedCopy[] = [];
  for (const c of ordered) {
    const store = stores.storeFor(c.to);
    const plain =
      c.action === "copy" &&
      c.outcome === undefined &&
      c.from !== c.to &&
      store.copyMany !== undefined &&
      stores.storeFor(c.from) === store &&
      !existingAtTarget.has(c.to) &&
      isInside(targetDir, c.to);
    (plain ? inChunks : oneByOne).push(c);
  }
  const chunks: PlannedCopy[][] = [];
  for (let i = 0; i < inChunks.length; i += chunkSize) chunks.push(inChunks.slice(i, i + chunkSize));
  // The copies under way: p-map rejects at the first failure while the others are still running, and
  // they must end (or be discarded) before this function does.
  const running = new Set<Promise<void>>();
  const track = (copy: Promise<void>) => {
    running.add(copy);
    return copy.finally(() => running.delete(copy));
  };
  try {
    await pMap(chunks, (chunk) => track(copyChunk(chunk)), {
      concurrency: Math.max(1, Math.floor(concurrency / chunkSize)),
    });
    await pMap(oneByOne, (c) => track(copyOne(c)), { concurrency });
    await waves?.finish();
  } catch (err) {
    await Promise.allSettled(running);
    await waves?.abort();
    throw err;
  }

  // Verify every copy (size, and checksum where both stores give one): by the status the store gave
  // while copying or committing (a local `stat` under the final name), else again one listing of the
  // target directory, and a status request for each file outside it (or missing from the listing).
  const written = copied.every((copy) => copy.status)
    ? new Map<string, FileStatus>()
    : await listDirectory(targetDir, stores);
  const verify = ({ c, how }: (typeof copied)[number], w: FileStatus | null) => {
    const src = sourceStatus.get(c.from) as FileStatus;
    if (!w || !sameContent(src, w)) {
      throw new StoreFaultError(
        `copy of ${c.from} to ${c.to} did not verify: ${w ? `${w.size} bytes` : "missing"}, expected ${src.size}`,
        { uri: c.to },
      );
    }
    c.outcome = how;
  };
  const unlistedCopies: typeof copied = [];
  for (const copy of copied) {
    const w = copy.status ?? written.get(copy.c.to);
    if (w) verify(copy, w);
    else unlistedCopies.push(copy);
  }
  await pMap(unlistedCopies, async (copy) => verify(copy, await stores.storeFor(copy.c.to).stat(copy.c.to)), {
    concurrency: 16,
  });
  // Durable before `_metadata` points at them: the copies' bytes were synced as each was made, so only
  // their names (a directory sync each) are left. Files found already there (a re-run) may come from an
  // interrupted or `sync: false` run, and renamed files from a writer that did not sync, so their bytes
  // are synced too (cheap when already on disk); a rename is durable once both directories are synced.
  if (sync) {
    for (const [store, files] of byStore(copies, stores)) {
      const to = (o: PlannedCopy["outcome"]) => files.filter((c) => c.outcome === o).map((c) => c.to);
      const unsynced = [...to("skipped"), ...to("moved")];
      if (unsynced.length > 0) await store.syncFiles?.(unsynced);
      const movedFrom = files.filter((c) => c.outcome === "moved").map((c) => c.from);
      await store.syncFiles?.([...to("copied"), ...movedFrom], { namesOnly: true });
    }
  }
}

/** The parallel transfers of a relocation without `concurrency` (see {@link RelocateOptions.concurrency}). */
function defaultConcurrency(copies: PlannedCopy[], targetDir: string, stores: StoreRegistry): number {
  const target = stores.storeFor(targetDir);
  if (!target.schemes.includes("file")) return REMOTE_TARGET_CONCURRENCY;
  return copies.every((c) => stores.storeFor(c.from) === target && stores.storeFor(c.to) === target)
    ? LOCAL_COPY_CONCURRENCY
    : LOCAL_TARGET_CONCURRENCY;
}

/** Copies grouped by the store of their target. */
function byStore(copies: PlannedCopy[], stores: StoreRegistry): Map<Store, PlannedCopy[]> {
  const out = new Map<Store, PlannedCopy[]>();
  for (const c of copies) {
    const store = stores.storeFor(c.to);
    const list = out.get(store);
    if (list) list.push(c);
    else out.set(store, [c]);
  }
  return out;
}

/**
 * The files under directory `dir`, by URI, from one recursive listing (paginated by the store): on an
 * object store one request per page instead of one per file. Empty when the directory does not exist.
 */
async function listDirectory(
  dir: string,
  stores: StoreRegistry,
  options?: { offThread?: boolean },
): Promise<Map<string, FileStatus>> {
  const out = new Map<string, FileStatus>();
  for await (const f of stores.storeFor(dir).list(dir, { recursive: true, ...options })) out.set(f.uri, f);
  return out;
}

/** Same size, and the same checksum where both stores report one of the same algorithm. */
function sameContent(a: FileStatus, b: FileStatus): boolean {
  if (a.size !== b.size) return false;
  if (a.checksum && b.checksum && a.checksum.algorithm === b.checksum.algorithm) {
    return a.checksum.value === b.checksum.value;
  }
  return true;
}

/** Reads back the bytes about to be written and checks every pointer resolves where we planned. */
function checkWritten(bytes: Uint8Array, metadataUri: string, targetDir: string, expected: Set<string>) {
  const again = buildInventory(readMetadata(bytes, metadataUri), targetDir);
  const got = new Set(again.files.map((f) => f.uri));
  const missing = [...expected].filter((u) => !got.has(u));
  const extra = [...got].filter((u) => !expected.has(u));
  if (missing.length > 0 || extra.length > 0) {
    throw new StoreFaultError(
      `internal check failed: rewritten metadata resolves to unexpected files (missing ${missing.length}, extra ${extra.length})`,
      { uri: metadataUri },
    );
  }
}

async function deleteSource(
  loaded: LoadedSnapshot,
  copies: PlannedCopy[],
  siblings: Set<string>,
  stores: StoreRegistry,
) {
  const deleted: string[] = [];
  const kept: string[] = [];
  for (const c of copies) {
    // renamed: nothing left at the source; or the target path is the source path (a checkpoint moved to
    // a sibling chk directory keeps its ../shared files where they are)
    if (c.outcome === "moved" || c.from === c.to) continue;
    // (a file found in another snapshot for a missing one, see RelocateOptions.missingFrom, is that
    // snapshot's)
    if (siblings.has(c.from) || c.missingAt) {
      kept.push(c.from);
      continue;
    }
    await stores.storeFor(c.from).delete(c.from);
    deleted.push(c.from);
  }
  await loaded.store.delete(loaded.metadataUri);
  deleted.push(loaded.metadataUri);
  return { deleted, kept };
}

/**
 * Files referenced by other snapshots beside this one: every `_metadata` up to two levels below the
 * snapshot's parent directory (sibling `chk-M/_metadata`, sibling savepoints), other than our own. A
 * sibling that cannot be read cannot prove any file unused: then every file under the parent is in
 * `refs`, and the sibling is named in `unreadable` with the reason.
 */
async function referencedBySiblings(
  loaded: LoadedSnapshot,
  stores: StoreRegistry,
): Promise<{ refs: Set<string>; unreadable: { uri: string; reason: string }[] }> {
  const parent = parentUri(loaded.directory);
  const refs = new Set<string>();
  const unreadable: { uri: string; reason: string }[] = [];
  for await (const f of loaded.store.list(parent, { recursive: true, maxDepth: 3 })) {
    if (baseName(f.uri) !== METADATA_FILE_NAME || f.uri === loaded.metadataUri) continue;
    const rel = relativeTo(parent, f.uri);
    if (rel === undefined || rel.split("/").length > 3) continue;
    try {
      const bytes = await stores.storeFor(f.uri).readAll(f.uri);
      for (const file of buildInventory(readMetadata(bytes, f.uri), parentUri(f.uri)).files)
        refs.add(file.uri);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const reason = message.startsWith(`${f.uri}: `) ? message.slice(f.uri.length + 2) : message;
      unreadable.push({ uri: f.uri, reason });
    }
  }
  if (unreadable.length > 0) for (const c of await listAll(parent, stores)) refs.add(c);
  return { refs, unreadable };
}

async function listAll(dir: string, stores: StoreRegistry): Promise<string[]> {
  const out: string[] = [];
  for await (const f of stores.storeFor(dir).list(dir, { recursive: true })) out.push(f.uri);
  return out;
}
