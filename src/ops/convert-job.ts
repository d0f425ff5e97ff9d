/**
 * One subtask's conversion (a "job" of `convert`): its source opened, its records converted into a new
 * file (or RocksDB instance) under the target directory, the written output verified, and the new keyed
 * state handle built. Runs in the main thread or, from a serializable {@link JobSpec}, in a worker thread
 * (`./convert-worker.ts`); `./convert.ts` plans the jobs and writes `_metadata`.
 */

import { randomUUID } from "node:crypto";
import { StoreFaultError } from "../errors.js";
import type {
  ChangelogStateBackendHandle,
  IncrementalRemoteKeyedStateHandle,
  KeyedStateHandle,
  KeyGroupsStateHandle,
  OperatorState,
  StreamStateHandle,
} from "../formats/metadata/model.js";
import { type FlinkRocksDbState, openFlinkRocksDb } from "../formats/rocksdb/flink.js";
import {
  canonicalKeyLayout,
  heapEntryToCanonical,
  readHeapRawEntries,
} from "../formats/state/canonical-heap.js";
import { readCanonicalRecords } from "../formats/state/canonical-records.js";
import { checkCanonicalKeyGroups } from "../formats/state/canonical-verify.js";
import { CanonicalKeyGroupsWriter, type CanonicalRecord } from "../formats/state/canonical-writer.js";
import type { KeyedBackendHeader } from "../formats/state/headers.js";
import { readKeyedHeader } from "../formats/state/keyed.js";
import { readRocksDbCanonicalRecords } from "../formats/state/rocksdb-canonical.js";
import { type StateFile, snapshotFileResolver } from "../formats/state/stream.js";
import { canonicalToHeapSections, HeapKeyGroupsWriter, heapKeyLayout } from "../formats/state/write-heap.js";
import type { StoreRegistry } from "../storage/registry.js";
import { joinUri } from "../storage/uri.js";
import type { ConvertOptions, KeyedConversion } from "./convert.js";
import { changelogCanonicalRecords } from "./convert-changelog.js";
import { writeRocksDbSubtask } from "./convert-rocksdb.js";
import type { KeyedReadContext } from "./keyed-entries.js";

/** The options a job runs with: {@link ConvertOptions} without the callbacks (serializable but for `stores`). */
export type JobOptions = Pick<
  ConvertOptions,
  "to" | "backend" | "stores" | "spoolDirectory" | "verifyChecksums" | "verify"
>;

/** Bytes handed to the store per write (a streamed file is written in pieces of about this size). */
export const WRITE_CHUNK = 1024 * 1024;

/** One subtask to convert, its source opened. */
export interface Job {
  conversion: KeyedConversion;
  operatorIndex: number;
  subtaskPosition: number;
  /** The source's key groups (for RocksDB native state: `rocks`, with a file-less stand-in here). */
  handle: KeyGroupsStateHandle;
  file: StateFile;
  /** RocksDB native state: the opened instance (its handle's key-group range is `handle`'s). */
  rocks?: FlinkRocksDbState;
  header: KeyedBackendHeader;
  maxParallelism: number;
  /** The snapshot's checkpoint id (recorded in RocksDB handles). */
  checkpointId: bigint;
  /** The handle for the new `_metadata` (set after a run). */
  result?: KeyedStateHandle;
  /**
   * The subtask's managed keyed state handle as the source `_metadata` has it (for changelog state,
   * the key-groups stand-in `handle`).
   */
  source: KeyGroupsStateHandle | IncrementalRemoteKeyedStateHandle;
  /** Changelog state (`ChangelogStateBackendHandle`): what its replay needs; such jobs run in the main thread. */
  changelog?: {
    op: OperatorState;
    subtask: number;
    handle: ChangelogStateBackendHandle;
    ctx: KeyedReadContext;
  };
  /** Names the subtask in errors, e.g. `word-stats[0]`. */
  label: string;
}

/**
 * What a worker thread needs to run a {@link Job}: plain data (structured-clone safe: bigints, byte
 * arrays), the source re-opened there from `source` and `sourceDir`.
 */
export interface JobSpec {
  conversion: KeyedConversion;
  source: KeyGroupsStateHandle | IncrementalRemoteKeyedStateHandle;
  label: string;
  maxParallelism: number;
  checkpointId: bigint;
  /** The directory of the source `_metadata` (relative pointers resolve against it). */
  sourceDir: string;
  targetDir: string;
  options: Omit<JobOptions, "stores">;
}

/** What a job's run produces, sent back from a worker. */
export interface JobOutcome {
  result: KeyedStateHandle;
  to: KeyedConversion["to"];
}

/** The {@link JobSpec} of a planned job. */
export function jobSpec(job: Job, sourceDir: string, targetDir: string, options: JobOptions): JobSpec {
  const { stores: _stores, ...rest } = options;
  const plain: Omit<JobOptions, "stores"> = {
    to: rest.to,
    ...(rest.backend === undefined ? {} : { backend: rest.backend }),
    ...(rest.spoolDirectory === undefined ? {} : { spoolDirectory: rest.spoolDirectory }),
    ...(rest.verifyChecksums === undefined ? {} : { verifyChecksums: rest.verifyChecksums }),
    ...(rest.verify === undefined ? {} : { verify: rest.verify }),
  };
  return {
    conversion: job.conversion,
    source: job.source,
    label: job.label,
    maxParallelism: job.maxParallelism,
    checkpointId: job.checkpointId,
    sourceDir,
    targetDir,
    options: plain,
  };
}

/**
 * A job's source opened: the key-groups file and its header, or the RocksDB instance (with a stand-in
 * key-groups handle over its range and the meta file as `file`).
 * @throws the resolver's and readers' errors (NotFoundError, CorruptSnapshotError, ...).
 */
export async function openJobSource(
  source: KeyGroupsStateHandle | IncrementalRemoteKeyedStateHandle,
  sourceDir: string,
  stores: StoreRegistry,
  label: string,
): Promise<Pick<Job, "handle" | "file" | "rocks" | "header">> {
  const resolver = snapshotFileResolver(sourceDir, (u) => stores.storeFor(u));
  if (source.kind === "IncrementalRemoteKeyedStateHandle") {
    const rocks = await openFlinkRocksDb(source, resolver, { label });
    const file = await resolver.open(source.metaStateHandle as StreamStateHandle);
    const handle: KeyGroupsStateHandle = {
      kind: "KeyGroupsSavepointStateHandle",
      tag: 7,
      keyGroupRange: source.keyGroupRange,
      offsets: [],
      delegate: source.metaStateHandle as StreamStateHandle,
      stateHandleId: null,
    };
    return { handle, file, rocks, header: rocks.header };
  }
  const file = await resolver.open(source.delegate);
  const { header } = await readKeyedHeader(file);
  return { handle: source, file, header };
}

/**
 * Runs a job from its spec (in a worker thread): opens the source, converts, verifies.
 * @returns the new handle and the conversion's outcome. @throws as {@link runJob}.
 */
export async function runJobSpec(spec: JobSpec, stores: StoreRegistry): Promise<JobOutcome> {
  const opened = await openJobSource(spec.source, spec.sourceDir, stores, spec.label);
  const job: Job = {
    ...opened,
    conversion: spec.conversion,
    operatorIndex: -1,
    subtaskPosition: -1,
    maxParallelism: spec.maxParallelism,
    checkpointId: spec.checkpointId,
    source: spec.source,
    label: spec.label,
  };
  await runJob(job, spec.targetDir, { ...spec.options, stores });
  return { result: job.result as KeyedStateHandle, to: job.conversion.to };
}

/** Converts one subtask's key groups into a new file under `targetDir`; sets `job.result`. */
export async function runJob(job: Job, targetDir: string, options: JobOptions): Promise<void> {
  if (options.to === "native" && options.backend === "rocksdb") return runRocksDbJob(job, targetDir, options);
  const name = randomUUID();
  const uri = joinUri(targetDir, name);
  const store = options.stores.storeFor(uri);
  const header: KeyedBackendHeader = { ...job.header, compressed: job.conversion.to.compressed };
  const read = {
    ...(options.verifyChecksums === undefined ? {} : { verifyChecksums: options.verifyChecksums }),
  };
  let offsets: bigint[] = [];
  let size = 0;
  let records = 0;
  let keyGroups = 0;
  async function* canonicalBytes(): AsyncGenerator<Uint8Array> {
    const layout = canonicalKeyLayout(job.header, job.maxParallelism);
    const w = new CanonicalKeyGroupsWriter({
      header,
      keyGroupRange: job.handle.keyGroupRange,
      keyGroupPrefixBytes: layout.prefixBytes,
    });
    // Complete pieces go out as they are (1 MiB stages, or Snappy chunks): no copy joining them.
    if (job.changelog) {
      for await (const batch of changelogRecords(job, options)) {
        for (const r of batch) w.add(r);
        if (w.ready >= WRITE_CHUNK) yield* w.takeParts();
      }
    } else if (job.rocks) {
      for await (const batch of readRocksDbCanonicalRecords(job.rocks, job.maxParallelism)) {
        for (const r of batch) w.add(r);
        if (w.ready >= WRITE_CHUNK) yield* w.takeParts();
      }
    } else {
      for await (const batch of readHeapRawEntries(job.file, job.handle, job.header, read)) {
        for (const e of batch) for (const r of heapEntryToCanonical(e, layout)) w.add(r);
        if (w.ready >= WRITE_CHUNK) yield* w.takeParts();
      }
    }
    const r = w.finish();
    yield* w.takeParts();
    ({ offsets, size, records } = r);
    keyGroups = r.keyGroups;
  }
  async function* heapBytes(): AsyncGenerator<Uint8Array> {
    const layout = heapKeyLayout(job.header, job.maxParallelism);
    const w = new HeapKeyGroupsWriter({ header, keyGroupRange: job.handle.keyGroupRange });
    let kg = -1;
    let pending: CanonicalRecord[] = [];
    const flush = () => {
      if (pending.length === 0) return;
      w.writeKeyGroup(kg, canonicalToHeapSections(kg, pending, layout, job.file.uri));
      keyGroups++;
      pending = [];
    };
    for await (const batch of readCanonicalRecords(job.file, job.handle, job.header, read)) {
      for (const r of batch) {
        if (r.keyGroup !== kg) {
          flush();
          kg = r.keyGroup;
        }
        pending.push(r);
      }
      if (w.buffered >= WRITE_CHUNK) yield w.take();
    }
    flush();
    const r = w.finish();
    yield w.take();
    ({ offsets, size } = r);
    records = r.entries;
  }
  const toCanonical = options.to === "canonical";
  // A store that syncs files on request (local files) syncs this one while it is checked below, rather
  // than before the write returns: the fdatasync of a large file (a third of a second at 250 MB) and the
  // check's read overlap, instead of the worker idling through the flush. The job still ends with the
  // file on stable storage (`_metadata`, written after every job, points at durable files only).
  const deferSync = store.syncFiles !== undefined;
  const written = await store.write(uri, toCanonical ? canonicalBytes() : heapBytes(), {
    overwrite: true,
    ...(deferSync ? { sync: false } : {}),
  });
  const durable = deferSync ? store.syncFiles?.([uri]) : undefined;
  durable?.catch(() => {}); // awaited below (an error of the check comes first)
  if (written !== size) {
    throw new StoreFaultError(`${uri}: ${written} bytes written, the converter produced ${size}`, { uri });
  }
  const delegate: StreamStateHandle = {
    kind: "RelativeFileStateHandle",
    relativePath: name,
    stateSize: BigInt(size),
  };
  job.result = toCanonical
    ? {
        kind: "KeyGroupsSavepointStateHandle",
        tag: 7,
        keyGroupRange: job.handle.keyGroupRange,
        offsets,
        delegate,
        stateHandleId: null,
      }
    : {
        kind: "KeyGroupsStateHandle",
        tag: 12,
        keyGroupRange: job.handle.keyGroupRange,
        offsets,
        delegate,
        stateHandleId: randomUUID(),
      };
  try {
    if (options.verify !== false) await verifyWritten(job, targetDir, uri, header, records, options);
  } finally {
    await durable?.catch(() => {});
  }
  await durable;
  job.conversion.to = { ...job.conversion.to, uri, bytes: size, records, keyGroups };
}

/** The canonical records of a job's source: canonical key groups as they are, heap entries converted. */
async function* sourceRecords(job: Job, options: JobOptions): AsyncGenerator<CanonicalRecord[]> {
  const read = {
    ...(options.verifyChecksums === undefined ? {} : { verifyChecksums: options.verifyChecksums }),
  };
  if (job.changelog) {
    yield* changelogRecords(job, options);
  } else if (job.conversion.from.layout === "heap") {
    const layout = canonicalKeyLayout(job.header, job.maxParallelism);
    for await (const batch of readHeapRawEntries(job.file, job.handle, job.header, read)) {
      yield batch.flatMap((e) => heapEntryToCanonical(e, layout));
    }
  } else {
    yield* readCanonicalRecords(job.file, job.handle, job.header, read);
  }
}

/** The canonical records of a changelog job (the replayed state, `convert-changelog.ts`). */
function changelogRecords(job: Job, options: JobOptions): AsyncGenerator<CanonicalRecord[]> {
  const c = job.changelog as NonNullable<Job["changelog"]>;
  return changelogCanonicalRecords(c.op, c.subtask, c.handle, c.ctx, job.header, options.verifyChecksums);
}

/** Writes one subtask's records as a RocksDB instance under `targetDir`; sets `job.result`. */
async function runRocksDbJob(job: Job, targetDir: string, options: JobOptions): Promise<void> {
  // A function: the source can be read again (see writeRocksDbSubtask).
  const r = await writeRocksDbSubtask(() => sourceRecords(job, options), {
    header: job.header,
    keyGroupRange: job.handle.keyGroupRange,
    maxParallelism: job.maxParallelism,
    checkpointId: job.checkpointId,
    targetDir,
    stores: options.stores,
    compression: job.conversion.to.compressed ? "snappy" : "none",
    source: job.file.uri,
    ...(options.spoolDirectory === undefined ? {} : { spoolDirectory: options.spoolDirectory }),
    ...(options.verify === undefined ? {} : { verify: options.verify }),
  });
  job.result = r.handle;
  job.conversion.to = {
    ...job.conversion.to,
    uri: r.metaUri,
    bytes: r.bytes,
    records: r.records,
    keyGroups: r.keyGroups,
  };
}

/**
 * Re-reads a converted file through the store and checks its header, its structure and its record count:
 * canonical files by `checkCanonicalKeyGroups` (every check of `readCanonicalRecords`, records counted
 * rather than built), heap files by `readHeapRawEntries`.
 */
async function verifyWritten(
  job: Job,
  targetDir: string,
  uri: string,
  header: KeyedBackendHeader,
  expected: number,
  options: JobOptions,
): Promise<void> {
  const handle = job.result as KeyGroupsStateHandle;
  const file = await snapshotFileResolver(targetDir, (u) => options.stores.storeFor(u)).open(handle.delegate);
  const { header: again } = await readKeyedHeader(file);
  if (again.states.length !== header.states.length || again.compressed !== header.compressed) {
    throw new StoreFaultError(`${uri}: the written header does not read back`, { uri });
  }
  let n = 0;
  if (handle.kind === "KeyGroupsSavepointStateHandle") {
    // the structural walk of every record, as readCanonicalRecords checks them, without building them
    const check = await checkCanonicalKeyGroups(file, handle, header);
    n = check.records;
    const withData = handle.offsets.filter((o) => o > 0n).length;
    if (check.keyGroups !== withData) {
      throw new StoreFaultError(`${uri}: ${check.keyGroups} key groups read back, ${withData} written`, {
        uri,
      });
    }
  } else {
    for await (const b of readHeapRawEntries(file, handle, header)) n += b.length;
  }
  if (n !== expected) {
    throw new StoreFaultError(`${uri}: ${n} records read back, ${expected} written`, { uri });
  }
}
