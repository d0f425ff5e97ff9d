/**
 * `convert`: rewrite a snapshot's keyed state from one format into another, offline, into a new
 * directory (any store), so that Flink restores it with another backend or format:
 *
 * - `to: "canonical"`: heap native key groups (`KeyGroupsStateHandle` of hashmap checkpoints and native
 *   hashmap savepoints) become canonical savepoint key groups (`KeyGroupsSavepointStateHandle`), which
 *   Flink restores with the hashmap backend (`HeapSavepointRestoreOperation`) and with RocksDB
 *   (`RocksDBFullRestoreOperation`). Canonical data in a plain `KeyGroupsStateHandle` (RocksDB full
 *   checkpoints before Flink 1.15) is kept and re-labelled as the savepoint kind.
 * - `to: "native"` with `backend: "hashmap"`: canonical key groups become heap native ones
 *   (`KeyGroupsStateHandle` with a fresh state handle id), restored by `HeapRestoreOperation`.
 * - `to: "native"` with `backend: "rocksdb"`: canonical key groups (and heap native ones, through their
 *   canonical records) become a RocksDB instance per subtask, as a native RocksDB savepoint holds it
 *   (`IncrementalRemoteKeyedStateHandle`: table files, MANIFEST, CURRENT and the meta file, all private;
 *   `./convert-rocksdb.ts`), restored by `RocksDBIncrementalRestoreOperation`. RocksDB native state is
 *   kept as it is.
 *
 * - `to: "canonical"` for RocksDB native state (`IncrementalRemoteKeyedStateHandle`: native RocksDB
 *   savepoints, incremental and full RocksDB checkpoints): each subtask's RocksDB instance is read with
 *   the pure-TS reader (merged LSM view, clipped to the subtask's key groups) and written as canonical
 *   key groups, exactly as Flink's `FullSnapshotAsyncWriter` writes a canonical savepoint of a RocksDB
 *   job (`../formats/state/rocksdb-canonical.ts`).
 *
 * - `to: "canonical"` and `to: "native"` with `backend: "rocksdb"` for the changelog state backend
 *   (`ChangelogStateBackendHandle` of its checkpoints): the state Flink restores from it (the
 *   materialized part with the changes since replayed) becomes canonical records (`./convert-changelog.ts`),
 *   restored without the changelog state backend.
 *
 * RocksDB native state and changelog state to native hashmap (convert them to canonical first) are
 * refused with {@link UnsupportedConversionError}.
 *
 * What is written, in the target directory:
 * - one new key-groups file per converted subtask (a random UUID name, as Flink names its files),
 *   referenced by a `RelativeFileStateHandle`; for a RocksDB target, the files of one RocksDB instance
 *   per converted subtask (UUID names, relative handles);
 * - a copy of every other file the snapshot has inside its directory (operator state, raw keyed state,
 *   keyed state that needs no conversion), at the same relative path, referenced relatively; files
 *   outside the snapshot directory (a checkpoint's `shared/` files, say) stay where they are and keep
 *   their absolute pointers; inline state stays inline;
 * - `_metadata` last and atomically, in the source's metadata version, after it has been read back. For
 *   a savepoint (metadata V4+), the `SavepointFormatType` in the Java-serialized `CheckpointProperties`
 *   trailer is rewritten to CANONICAL or NATIVE (the only bytes of the trailer that change; the result
 *   is decoded and checked field by field before it is used).
 *
 * The source is never modified. Memory is bounded by one key group (heap target) or one Snappy block
 * and one record batch (canonical target; from RocksDB, plus one reader batch per column family), or
 * one run of at most 16 MiB (one key group of one state; a longer run out of key order is sorted
 * externally, in chunks spilled to a local temporary directory) and one block per column family (RocksDB
 * target; tables are written in place on a local target, spooled locally for other stores), whatever
 * the state size. Subtasks convert in parallel worker threads (`concurrency`), each with its own heap.
 */

import pMap from "p-map";
import { InvalidArgumentError, NotFoundError, StoreFaultError, UnsupportedVersionError } from "../errors.js";
import { readMetadata, writeMetadata } from "../formats/metadata/index.js";
import type {
  ChangelogStateBackendHandle,
  CheckpointMetadata,
  IncrementalRemoteKeyedStateHandle,
  KeyedStateHandle,
  KeyGroupsStateHandle,
  OperatorSubtaskState,
  StreamStateHandle,
} from "../formats/metadata/model.js";
import { filePointer } from "../formats/metadata/pointers.js";
import { decodeCheckpointProperties } from "../formats/metadata/properties.js";
import { mapStreamHandles } from "../formats/metadata/rewrite.js";
import { heapConversionProblems } from "../formats/state/canonical-heap.js";
import { ChangelogStreamCache } from "../formats/state/changelog-streams.js";
import { detectKeyedLayout, type KeyedLayout, readKeyedHeader } from "../formats/state/keyed.js";
import { type StateFileResolver, snapshotFileResolver } from "../formats/state/stream.js";
import { canonicalToHeapProblems } from "../formats/state/write-heap.js";
import type { StoreRegistry } from "../storage/registry.js";
import { joinUri, relativeTo } from "../storage/uri.js";
import { openChangelogSource } from "./convert-changelog.js";
import { type Job, jobSpec, openJobSource, runJob } from "./convert-job.js";
import {
  defaultConcurrency,
  registerWorkerErrorClass,
  runJobsInWorkers,
  workerStoresFor,
} from "./convert-workers.js";
import type { KeyedReadContext } from "./keyed-entries.js";
import { type LoadedSnapshot, loadSnapshot } from "./locate.js";
import { prepareTarget } from "./target.js";

/** A keyed state handle {@link convertSnapshot} cannot convert (yet): RocksDB native or changelog to heap. */
export class UnsupportedConversionError extends UnsupportedVersionError {
  /** The handle kind, e.g. `IncrementalRemoteKeyedStateHandle`. */
  readonly handleKind: string;
  /** Where: operator id and subtask index. */
  readonly operatorId: string;
  readonly subtaskIndex: number;

  constructor(
    message: string,
    options: { uri?: string; handleKind: string; operatorId: string; subtaskIndex: number },
  ) {
    super(message, { ...(options.uri === undefined ? {} : { uri: options.uri }), version: 0, offset: 0 });
    this.handleKind = options.handleKind;
    this.operatorId = options.operatorId;
    this.subtaskIndex = options.subtaskIndex;
  }
}

registerWorkerErrorClass("UnsupportedConversionError", UnsupportedConversionError);

/** The formats {@link convertSnapshot} writes. */
export type ConvertTarget = "canonical" | "native";

/** Options of {@link convertSnapshot}. */
export interface ConvertOptions {
  /** Target format: canonical savepoint key groups, or the native format of `backend`. */
  to: ConvertTarget;
  /** With `to: "native"` (required there): the backend whose native format to write. */
  backend?: "hashmap" | "rocksdb";
  stores: StoreRegistry;
  /** Plan only: read headers and check convertibility, write nothing. */
  dryRun?: boolean;
  /** Replace a `_metadata` already at the target. */
  overwrite?: boolean;
  /**
   * Snappy-compress the converted key-groups files (Flink's `execution.checkpointing.snapshot-compression`);
   * default: as each source file is. For a RocksDB target: Snappy-compress the table blocks (default true,
   * RocksDB's default); the meta file's compression flag stays as the source header has it.
   */
  compression?: boolean;
  /** RocksDB target: local directory where table files are spooled before upload (default the OS temp dir). */
  spoolDirectory?: string;
  /**
   * Subtasks converted in parallel (default: the CPUs available, `os.availableParallelism()`); other files
   * are copied 4 times as many at a time.
   */
  concurrency?: number;
  /**
   * Run the subtasks on worker threads (one subtask per worker, at most `concurrency` workers), so that a
   * conversion uses several cores. `"auto"` (default): when `concurrency` > 1, there are at least two
   * subtasks to convert with {@link WORKER_MIN_BYTES} or more of source between them, and every file is
   * local (workers open their own local stores); otherwise in the main thread. `true`: whenever the files
   * are local and `concurrency` > 1. `false`: always in the main thread. Unset, the environment variable
   * `SAVEPOINT_KIT_CONVERT_WORKERS` (`1`/`true`, `0`/`false`) decides, else `"auto"`.
   */
  workers?: boolean | "auto";
  /** Verify Snappy checksums of the source (default true). */
  verifyChecksums?: boolean;
  /**
   * The key type (`basicSnapshot` names: String, Long, Integer...) to record for changelog state never
   * materialized, whose snapshot records no key serializer (nor timers do); a recorded one is always used.
   */
  keyType?: string;
  /**
   * Check every converted output after writing it (default true): canonical files are walked record
   * by record and counted (`canonical-verify.ts`); a written RocksDB instance is checked from its
   * MANIFEST, table properties, index blocks and first and last data blocks (`checkInstance` in
   * `convert-rocksdb.ts`), not by reading every entry back.
   */
  verify?: boolean;
  /** Called as converted subtasks finish (and once before the first). */
  onProgress?: (p: ConvertProgress) => void;
}

/** Progress of the conversion phase: subtasks converted and their source bytes. */
export interface ConvertProgress {
  subtasksDone: number;
  subtasksTotal: number;
  /** Source bytes of the subtasks done (bytes). */
  bytesDone: number;
  bytesTotal: number;
}

/** What happens to one subtask's managed keyed state. */
export interface KeyedConversion {
  operatorId: string;
  uid: string | null;
  name: string | null;
  subtaskIndex: number;
  /** `convert`: rewritten into a new file; `relabel`: same file, handle kind changed; `keep`: already in the target format. */
  action: "convert" | "relabel" | "keep";
  /**
   * The source: for RocksDB native state (`layout: "rocksdb-native"`), `uri` is the meta file's, `bytes`
   * the size of all the instance's files and `compressed` the meta file header's flag.
   */
  from: {
    handleKind: string;
    layout: KeyedLayout | "rocksdb-native" | "changelog";
    uri: string;
    bytes: number;
    compressed: boolean;
  };
  /** The converted file (`convert` only; null in a dry run). For a RocksDB target, `uri` is the meta file's. */
  to: {
    handleKind:
      | "KeyGroupsSavepointStateHandle"
      | "KeyGroupsStateHandle"
      | "IncrementalRemoteKeyedStateHandle";
    uri: string | null;
    bytes: number | null;
    compressed: boolean;
    /** Records (canonical) or entries (heap) written. */
    records: number | null;
    /** Key groups with data. */
    keyGroups: number | null;
  };
  /** States whose entries could not be converted, should they have any (from the header). */
  problems: string[];
}

/** The plan (and, after a run, the outcome) of a conversion. */
export interface ConvertReport {
  source: { metadataUri: string; directory: string };
  target: { metadataUri: string; directory: string };
  to: ConvertTarget;
  backend: "hashmap" | "rocksdb" | null;
  dryRun: boolean;
  keyed: KeyedConversion[];
  /** Other files of the snapshot, copied to the same relative path. */
  copies: { from: string; to: string; size: number }[];
  /** Files outside the snapshot directory, still referenced where they are (absolute pointers). */
  referenced: string[];
  /** The savepoint format type in `_metadata`'s properties, before and after (null: not a savepoint / no trailer). */
  formatType: { before: "CANONICAL" | "NATIVE" | null; after: "CANONICAL" | "NATIVE" | null };
  totals: { converted: number; relabelled: number; kept: number; copied: number; bytesWritten: number };
}

/**
 * Converts the snapshot at `input` (directory or `_metadata`, any store) into directory `target` (any
 * store), as described in the module doc.
 *
 * @throws UnsupportedConversionError for keyed state that cannot be converted to the target (RocksDB
 *   native to hashmap, changelog), naming the operator and subtask; InvalidArgumentError for `to: "native"`
 *   without a backend, or a target that is the source or inside it; AlreadyExistsError for a
 *   target `_metadata` without `overwrite`; UnsupportedSerializerError when a state with entries has
 *   serializers that cannot delimit them; CorruptSnapshotError for bad source data; StoreFaultError when
 *   a written file does not verify; and the errors of `loadSnapshot` and the stores.
 */
export async function convertSnapshot(
  input: string,
  target: string,
  options: ConvertOptions,
): Promise<ConvertReport> {
  return convertLoaded(await loadSnapshot(input, options.stores), target, options);
}

/** {@link convertSnapshot} for an already loaded snapshot. @throws as convertSnapshot. */
export async function convertLoaded(
  loaded: LoadedSnapshot,
  target: string,
  options: ConvertOptions,
): Promise<ConvertReport> {
  const { stores } = options;
  if (options.to === "native") {
    if (options.backend === undefined) {
      throw new InvalidArgumentError(
        "converting to native needs the backend whose native format to write (hashmap or rocksdb)",
      );
    }
    if (options.backend !== "hashmap" && options.backend !== "rocksdb") {
      throw new InvalidArgumentError(
        `unknown backend ${JSON.stringify(options.backend)}: hashmap or rocksdb`,
      );
    }
  } else if (options.to !== "canonical") {
    throw new InvalidArgumentError(
      `unknown target format ${JSON.stringify(options.to)}: canonical or native`,
    );
  }
  if (
    options.concurrency !== undefined &&
    !(Number.isInteger(options.concurrency) && options.concurrency >= 1)
  ) {
    throw new InvalidArgumentError(
      `concurrency must be a whole number of at least 1, not ${options.concurrency}`,
    );
  }
  const sourceDir = loaded.directory;
  const {
    directory: targetDir,
    store: targetStore,
    metadataUri: targetMetadata,
  } = await prepareTarget(sourceDir, target, stores, options.overwrite);
  const resolver = snapshotFileResolver(sourceDir, (u) => stores.storeFor(u));
  const dryRun = options.dryRun ?? false;

  // 1. What happens to each subtask's managed keyed state.
  const jobs = await planKeyed(loaded, options, resolver);
  const converted = new Set(
    jobs
      .filter((j) => j.conversion.action === "convert")
      .map((j) => `${j.conversion.operatorId}/${j.conversion.subtaskIndex}`),
  );

  // 2. Every other file inside the snapshot directory is copied; pointers become relative.
  const copies = new Map<string, { from: string; to: string; size: number }>();
  const referenced = new Set<string>();
  const mapped = mapStreamHandles(loaded.metadata, (h, site) => {
    if (site.slot === "managedKeyedState" && converted.has(`${site.operatorId}/${site.subtaskIndex}`))
      return h;
    return copyPointer(h, sourceDir, targetDir, copies, referenced);
  });

  // 3. The properties trailer.
  const targetFormat = options.to === "canonical" ? "CANONICAL" : "NATIVE";
  const props = loaded.metadata.properties;
  const before = props ? (decodeCheckpointProperties(props)?.formatType ?? null) : null;
  const newProps = props && before !== null ? setSavepointFormatType(props, targetFormat) : props;

  const report: ConvertReport = {
    source: { metadataUri: loaded.metadataUri, directory: sourceDir },
    target: { metadataUri: targetMetadata, directory: targetDir },
    to: options.to,
    backend: options.to === "native" ? (options.backend as "hashmap" | "rocksdb") : null,
    dryRun,
    keyed: jobs.map((j) => j.conversion),
    copies: [...copies.values()],
    referenced: [...referenced],
    formatType: { before, after: before === null ? null : targetFormat },
    totals: {
      converted: jobs.filter((j) => j.conversion.action === "convert").length,
      relabelled: jobs.filter((j) => j.conversion.action === "relabel").length,
      kept: jobs.filter((j) => j.conversion.action === "keep").length,
      copied: copies.size,
      bytesWritten: 0,
    },
  };
  if (dryRun) return report;

  // 4. Stat the files to copy (they must exist), convert, copy.
  await pMap(
    report.copies,
    async (c) => {
      const st = await stores.storeFor(c.from).stat(c.from);
      if (!st) throw new NotFoundError(c.from, { message: `referenced file is missing: ${c.from}` });
      c.size = st.size;
    },
    { concurrency: 16 },
  );
  const toConvert = jobs.filter((j) => j.conversion.action === "convert");
  const progress: ConvertProgress = {
    subtasksDone: 0,
    subtasksTotal: toConvert.length,
    bytesDone: 0,
    bytesTotal: toConvert.reduce((n, j) => n + j.conversion.from.bytes, 0),
  };
  options.onProgress?.({ ...progress });
  const done = (j: Job) => {
    report.totals.bytesWritten += j.conversion.to.bytes ?? 0;
    progress.subtasksDone++;
    progress.bytesDone += j.conversion.from.bytes;
    options.onProgress?.({ ...progress });
  };
  const concurrency = options.concurrency ?? defaultConcurrency();
  if (useWorkers(toConvert, concurrency, sourceDir, targetDir, options)) {
    const specs = toConvert.map((j) => jobSpec(j, sourceDir, targetDir, options));
    await runJobsInWorkers(specs, concurrency, (i, outcome) => {
      const j = toConvert[i] as Job;
      j.result = outcome.result;
      j.conversion.to = outcome.to;
      done(j);
    });
  } else {
    await pMap(
      toConvert,
      async (j) => {
        await runJob(j, targetDir, options);
        done(j);
      },
      { concurrency },
    );
  }
  await pMap(
    report.copies,
    async (c) => {
      const from = stores.storeFor(c.from);
      const to = stores.storeFor(c.to);
      if (from === to) await from.copy(c.from, c.to, { overwrite: true });
      else await to.write(c.to, from.createReadStream(c.from), { overwrite: true });
      const st = await to.stat(c.to);
      if (!st || st.size !== c.size) {
        throw new StoreFaultError(
          `copy of ${c.from} to ${c.to} did not verify: ${st ? st.size : "no"} bytes, expected ${c.size}`,
          {
            uri: c.to,
          },
        );
      }
      report.totals.bytesWritten += c.size;
    },
    { concurrency: concurrency * 4 },
  );

  // 5. The new _metadata, last.
  const result: CheckpointMetadata = {
    ...mapped,
    properties: newProps,
    operatorStates: mapped.operatorStates.map((op, oi) => ({
      ...op,
      subtaskStates: op.subtaskStates.map((s, si) => {
        if (s.kind !== "OperatorSubtaskState") return s;
        const job = jobs.find((j) => j.operatorIndex === oi && j.subtaskPosition === si);
        if (!job) return s;
        return { ...s, managedKeyedState: newKeyedHandle(job, s) };
      }),
    })),
  };
  const bytes = writeMetadata(result);
  checkWritten(bytes, targetMetadata, result);
  // Every file the new `_metadata` points at is on stable storage before it is written: the stores
  // sync each file's bytes as they write it; left are the names (a directory sync each, local files).
  // (The target directory exists only when something was written into it.)
  if (toConvert.length > 0 || report.copies.length > 0) {
    await targetStore.syncFiles?.([...report.copies.map((c) => c.to), targetMetadata], {
      namesOnly: true,
    });
  }
  await targetStore.writeAtomic(targetMetadata, bytes, { overwrite: true });
  report.totals.bytesWritten += bytes.byteLength;
  return report;
}

/** Source bytes below which `workers: "auto"` converts in the main thread (worker start-up would dominate). */
export const WORKER_MIN_BYTES = 32 * 1024 * 1024;

/** Whether to run the jobs on worker threads (see {@link ConvertOptions.workers}). */
function useWorkers(
  jobs: Job[],
  concurrency: number,
  sourceDir: string,
  targetDir: string,
  options: ConvertOptions,
): boolean {
  const env = process.env.SAVEPOINT_KIT_CONVERT_WORKERS;
  const mode =
    options.workers ??
    (env === "1" || env === "true" ? true : env === "0" || env === "false" ? false : "auto");
  if (mode === false || concurrency < 2 || jobs.length === 0) return false;
  // a changelog subtask's replay reads files many subtasks share: it runs in the main thread
  if (jobs.some((j) => j.changelog)) return false;
  if (mode === "auto") {
    if (jobs.length < 2) return false;
    if (jobs.reduce((n, j) => n + j.conversion.from.bytes, 0) < WORKER_MIN_BYTES) return false;
  }
  const uris = [sourceDir, targetDir];
  for (const j of jobs) {
    uris.push(j.file.uri);
    if (j.rocks) for (const f of j.rocks.db.files.values()) uris.push(f.uri);
  }
  return workerStoresFor(options.stores, uris);
}

/** The new managed keyed handle of a subtask (the mapped one for `keep`, relabelled or converted). */
function newKeyedHandle(job: Job, mapped: OperatorSubtaskState): KeyedStateHandle {
  const current = mapped.managedKeyedState as KeyedStateHandle;
  switch (job.conversion.action) {
    case "keep":
      return current;
    case "relabel":
      return {
        ...(current as KeyGroupsStateHandle),
        kind: "KeyGroupsSavepointStateHandle",
        tag: 7,
        stateHandleId: null,
      };
    case "convert":
      return job.result as KeyedStateHandle;
  }
}

async function planKeyed(
  loaded: LoadedSnapshot,
  options: ConvertOptions,
  resolver: StateFileResolver,
): Promise<Job[]> {
  const jobs: Job[] = [];
  const unsupported: UnsupportedConversionError[] = [];
  const ctx: KeyedReadContext = {
    resolver,
    changelogCache: new ChangelogStreamCache(),
    metadataUri: loaded.metadataUri,
  };
  const toRocksDb = options.to === "native" && options.backend === "rocksdb";
  for (const [oi, op] of loaded.metadata.operatorStates.entries()) {
    for (const [si, s] of op.subtaskStates.entries()) {
      if (s.kind !== "OperatorSubtaskState" || !s.managedKeyedState) continue;
      const h = s.managedKeyedState;
      const checkpointId = loaded.metadata.checkpointId;
      if (h.kind === "IncrementalRemoteKeyedStateHandle" && (options.to === "canonical" || toRocksDb)) {
        jobs.push(
          await planRocksDb(oi, si, op, s.subtaskIndex, h, options, resolver, checkpointId, loaded.directory),
        );
        continue;
      }
      if (h.kind === "ChangelogStateBackendHandle" && (options.to === "canonical" || toRocksDb)) {
        jobs.push(await planChangelog(oi, si, op, s.subtaskIndex, h, options, ctx, checkpointId));
        continue;
      }
      if (h.kind !== "KeyGroupsStateHandle" && h.kind !== "KeyGroupsSavepointStateHandle") {
        const what =
          h.kind === "IncrementalRemoteKeyedStateHandle"
            ? "RocksDB native state (native RocksDB savepoint or RocksDB checkpoint); it is not converted to native hashmap state directly (convert it to canonical first)"
            : "changelog state backend state; it is not converted to native hashmap state directly (convert it to canonical first)";
        unsupported.push(
          new UnsupportedConversionError(
            `operator ${op.uid ?? op.operatorId} subtask ${s.subtaskIndex}: ${h.kind} holds ${what}`,
            {
              uri: loaded.metadataUri,
              handleKind: h.kind,
              operatorId: op.operatorId,
              subtaskIndex: s.subtaskIndex,
            },
          ),
        );
        continue;
      }
      const file = await resolver.open(h.delegate);
      const { header } = await readKeyedHeader(file);
      const layout = await detectKeyedLayout(file, h);
      const compressed = options.compression ?? header.compressed;
      let action: KeyedConversion["action"];
      let problems: string[] = [];
      if (options.to === "canonical") {
        action = layout === "heap" ? "convert" : h.kind === "KeyGroupsStateHandle" ? "relabel" : "keep";
        if (layout === "heap") problems = heapConversionProblems(header);
      } else if (toRocksDb) {
        action = "convert";
        if (layout === "heap") problems = heapConversionProblems(header);
      } else {
        action = layout === "heap" ? "keep" : "convert";
        if (layout === "canonical") problems = canonicalToHeapProblems(header);
      }
      const toKind =
        options.to === "canonical"
          ? "KeyGroupsSavepointStateHandle"
          : toRocksDb
            ? "IncrementalRemoteKeyedStateHandle"
            : "KeyGroupsStateHandle";
      jobs.push({
        operatorIndex: oi,
        subtaskPosition: si,
        handle: h,
        file,
        header,
        source: h,
        label: `${op.uid ?? op.operatorId}[${s.subtaskIndex}]`,
        maxParallelism: op.maxParallelism,
        checkpointId,
        conversion: {
          operatorId: op.operatorId,
          uid: op.uid,
          name: op.name,
          subtaskIndex: s.subtaskIndex,
          action,
          from: {
            handleKind: h.kind,
            layout,
            uri: file.uri,
            bytes: file.size,
            compressed: header.compressed,
          },
          to: {
            handleKind: toKind,
            uri: null,
            bytes: null,
            compressed: toRocksDb
              ? options.compression !== false
              : action === "convert"
                ? compressed
                : header.compressed,
            records: null,
            keyGroups: null,
          },
          problems,
        },
      });
    }
  }
  if (unsupported.length > 0) {
    const first = unsupported[0] as UnsupportedConversionError;
    if (unsupported.length === 1) throw first;
    const byKind = new Map<string, string[]>();
    for (const e of unsupported) {
      const op = loaded.metadata.operatorStates.find((o) => o.operatorId === e.operatorId);
      const list = byKind.get(e.handleKind) ?? [];
      list.push(`${op?.uid ?? e.operatorId}[${e.subtaskIndex}]`);
      byKind.set(e.handleKind, list);
    }
    const what = [...byKind.entries()].map(
      ([kind, where]) =>
        `${kind} (${kind === "IncrementalRemoteKeyedStateHandle" ? "RocksDB native state" : "changelog state"}, not converted to native hashmap directly: convert it to canonical first) in ${where.join(", ")}`,
    );
    throw new UnsupportedConversionError(
      `${unsupported.length} keyed state handles cannot be converted: ${what.join("; ")}`,
      {
        uri: first.uri as string,
        handleKind: first.handleKind,
        operatorId: first.operatorId,
        subtaskIndex: first.subtaskIndex,
      },
    );
  }
  return jobs;
}

/** The job of one subtask's changelog state: its source opened, converted to canonical records. */
async function planChangelog(
  operatorIndex: number,
  subtaskPosition: number,
  op: CheckpointMetadata["operatorStates"][number],
  subtaskIndex: number,
  h: ChangelogStateBackendHandle,
  options: ConvertOptions,
  ctx: KeyedReadContext,
  checkpointId: bigint,
): Promise<Job> {
  const label = `${op.uid ?? op.operatorId}[${subtaskIndex}]`;
  const source = await openChangelogSource(op, subtaskIndex, h, ctx, options.keyType);
  const toRocksDb = options.to === "native";
  return {
    operatorIndex,
    subtaskPosition,
    handle: source.handle,
    file: source.file,
    source: source.handle,
    changelog: { op, subtask: subtaskIndex, handle: h, ctx },
    label,
    // as planRocksDb: the target's compression is `conversion.to.compressed`; the header stays the source's
    header: source.header,
    maxParallelism: op.maxParallelism,
    checkpointId,
    conversion: {
      operatorId: op.operatorId,
      uid: op.uid,
      name: op.name,
      subtaskIndex,
      action: "convert",
      from: {
        handleKind: h.kind,
        layout: "changelog",
        uri: source.file.uri,
        bytes: source.bytes,
        compressed: source.header.compressed,
      },
      to: {
        handleKind: toRocksDb ? "IncrementalRemoteKeyedStateHandle" : "KeyGroupsSavepointStateHandle",
        uri: null,
        bytes: null,
        compressed: toRocksDb
          ? options.compression !== false
          : (options.compression ?? source.header.compressed),
        records: null,
        keyGroups: null,
      },
      problems: heapConversionProblems(source.header),
    },
  };
}

/**
 * The job of one subtask's RocksDB native state: the instance opened, its header read; converted to
 * canonical, or kept for a native RocksDB target.
 */
async function planRocksDb(
  operatorIndex: number,
  subtaskPosition: number,
  op: CheckpointMetadata["operatorStates"][number],
  subtaskIndex: number,
  h: IncrementalRemoteKeyedStateHandle,
  options: ConvertOptions,
  resolver: StateFileResolver,
  checkpointId: bigint,
  sourceDir: string,
): Promise<Job> {
  const keep = options.to === "native";
  const label = `${op.uid ?? op.operatorId}[${subtaskIndex}]`;
  const { handle, file: meta, rocks, header } = await openJobSource(h, sourceDir, options.stores, label);
  let bytes = meta.size;
  for (const e of [...h.sharedState, ...h.privateState]) bytes += (await resolver.open(e.handle)).size;
  const compressed = options.compression ?? header.compressed;
  return {
    operatorIndex,
    subtaskPosition,
    handle,
    file: meta,
    ...(rocks ? { rocks } : {}),
    source: h,
    label,
    header,
    maxParallelism: op.maxParallelism,
    checkpointId,
    conversion: {
      operatorId: op.operatorId,
      uid: op.uid,
      name: op.name,
      subtaskIndex,
      action: keep ? "keep" : "convert",
      from: {
        handleKind: h.kind,
        layout: "rocksdb-native",
        uri: meta.uri,
        bytes,
        compressed: header.compressed,
      },
      to: {
        handleKind: keep ? "IncrementalRemoteKeyedStateHandle" : "KeyGroupsSavepointStateHandle",
        uri: null,
        bytes: null,
        compressed: keep ? header.compressed : compressed,
        records: null,
        keyGroups: null,
      },
      problems: [],
    },
  };
}

/** Copies files inside the snapshot directory (relative pointer in the target); keeps others. */
function copyPointer(
  h: StreamStateHandle,
  sourceDir: string,
  targetDir: string,
  copies: Map<string, { from: string; to: string; size: number }>,
  referenced: Set<string>,
): StreamStateHandle {
  const p = filePointer(h, sourceDir);
  if (!p) return h;
  const rel = relativeTo(sourceDir, p.uri);
  if (rel === undefined || h.kind === "SegmentFileStateHandle") {
    referenced.add(p.uri);
    return h;
  }
  const to = joinUri(targetDir, rel);
  if (!copies.has(p.uri)) copies.set(p.uri, { from: p.uri, to, size: 0 });
  return { kind: "RelativeFileStateHandle", relativePath: rel, stateSize: p.stateSize };
}

/** Reads back the `_metadata` about to be written and checks it equals the model. */
function checkWritten(bytes: Uint8Array, uri: string, expected: CheckpointMetadata): void {
  const again = readMetadata(bytes, uri);
  const a = writeMetadata(again);
  if (a.byteLength !== bytes.byteLength || !a.every((b, i) => b === bytes[i])) {
    throw new StoreFaultError(`internal check failed: the new _metadata does not read back to itself`, {
      uri,
    });
  }
  if (again.operatorStates.length !== expected.operatorStates.length) {
    throw new StoreFaultError(`internal check failed: the new _metadata lost operators`, { uri });
  }
}

/** `TC_STRING` + length of `NATIVE` / `CANONICAL`, as `ObjectOutputStream` writes the enum constant name. */
const FORMAT_TYPE_STRINGS = {
  NATIVE: Uint8Array.of(0x74, 0x00, 0x06, ...new TextEncoder().encode("NATIVE")),
  CANONICAL: Uint8Array.of(0x74, 0x00, 0x09, ...new TextEncoder().encode("CANONICAL")),
} as const;

/**
 * The V4+ `CheckpointProperties` trailer with its `SavepointType.formatType` set to `format`.
 *
 * Java serialization writes the enum constant as `TC_ENUM`, its class descriptor, then its name as a
 * new `TC_STRING` (`74`, u16 length, modified UTF-8). The constant's string is the only occurrence of
 * `74 00 06 NATIVE` (or `74 00 09 CANONICAL`) in Flink's trailer; replacing it changes no back-reference
 * (handles are numbered by object, not by byte offset). The result is decoded and compared field by
 * field with the original, so an unexpected trailer is refused rather than guessed at.
 *
 * @returns the new trailer (the same bytes when the format is already `format`).
 * @throws InvalidArgumentError when the trailer is not a savepoint's `CheckpointProperties`, holds the
 *   format name more than once, or does not decode to the same properties with the new format.
 */
export function setSavepointFormatType(trailer: Uint8Array, format: "CANONICAL" | "NATIVE"): Uint8Array {
  const info = decodeCheckpointProperties(trailer);
  if (info?.snapshotType !== "savepoint" || info.formatType === null) {
    throw new InvalidArgumentError("the _metadata properties are not a savepoint's CheckpointProperties");
  }
  if (info.formatType === format) return trailer;
  const from = FORMAT_TYPE_STRINGS[info.formatType];
  const to = FORMAT_TYPE_STRINGS[format];
  const hits: number[] = [];
  for (let i = 0; i + from.length <= trailer.length; i++) {
    let ok = true;
    for (let k = 0; k < from.length && ok; k++) ok = trailer[i + k] === from[k];
    if (ok) hits.push(i);
  }
  if (hits.length !== 1) {
    throw new InvalidArgumentError(
      `the _metadata properties hold the format name ${info.formatType} ${hits.length} times; cannot rewrite it safely`,
    );
  }
  const at = hits[0] as number;
  const out = new Uint8Array(trailer.length - from.length + to.length);
  out.set(trailer.subarray(0, at), 0);
  out.set(to, at);
  out.set(trailer.subarray(at + from.length), at + to.length);
  const again = decodeCheckpointProperties(out);
  if (
    !again ||
    JSON.stringify({ ...again, formatType: info.formatType }) !== JSON.stringify(info) ||
    again.formatType !== format
  ) {
    throw new InvalidArgumentError("the rewritten _metadata properties do not decode to the same properties");
  }
  return out;
}
