/**
 * Running `convert` jobs (one subtask each) on worker threads: a small pool of at most `concurrency`
 * workers (`./convert-worker.ts`), each converting one subtask at a time from its {@link JobSpec}, so
 * that the subtasks of a conversion use every core. Each worker has its own heap; memory is bounded by
 * `concurrency` times one job's (see `./convert.ts`).
 *
 * Errors thrown in a worker arrive here as the same typed errors (class, message, `code`, `uri`,
 * `offset`, ...): {@link serializeError} in the worker, {@link reviveError} here. Workers read and write
 * through their own store registry, so only conversions whose files are all on the local file system are
 * sent to workers (see {@link workerStoresFor}); others run in the main thread.
 */

import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";
import {
  AlreadyExistsError,
  CorruptSnapshotError,
  InvalidArgumentError,
  NotASnapshotError,
  NotFoundError,
  PermissionDeniedError,
  PointerEscapeError,
  SavepointKitError,
  StoreFaultError,
  UnsupportedUriError,
  UnsupportedVersionError,
} from "../errors.js";
import { UnsupportedSerializerError } from "../formats/state/serializers/types.js";
import { LocalStore } from "../storage/local.js";
import type { StoreRegistry } from "../storage/registry.js";
import { parseUri } from "../storage/uri.js";
import { startModuleWorker } from "../worker-thread.js";
import type { JobOutcome, JobSpec } from "./convert-job.js";

/** An error as it crosses from a worker: its class name and own fields. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  /** Own enumerable fields (`code`, `uri`, `offset`, `path`, `version`, ...), structured-clone safe. */
  fields: Record<string, unknown>;
}

/** The classes an error from a worker is revived as, by name (others become a plain `Error`). */
function errorClasses(): Record<string, { prototype: object }> {
  return {
    SavepointKitError,
    CorruptSnapshotError,
    UnsupportedVersionError,
    NotASnapshotError,
    NotFoundError,
    PermissionDeniedError,
    AlreadyExistsError,
    PointerEscapeError,
    StoreFaultError,
    UnsupportedUriError,
    InvalidArgumentError,
    UnsupportedSerializerError,
  };
}

/** Classes registered by modules that import this one (e.g. `UnsupportedConversionError`). */
const extraClasses: Record<string, { prototype: object }> = {};

/** Registers an error class {@link reviveError} restores by name. */
export function registerWorkerErrorClass(name: string, cls: { prototype: object }): void {
  extraClasses[name] = cls;
}

/** An error's class name and fields, for `postMessage` (see {@link reviveError}). */
export function serializeError(err: unknown): SerializedError {
  if (!(err instanceof Error)) return { name: "Error", message: String(err), fields: {} };
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(err)) {
    if (k === "cause") continue;
    const t = typeof v;
    if (
      v === undefined ||
      v === null ||
      t === "string" ||
      t === "number" ||
      t === "boolean" ||
      t === "bigint"
    ) {
      fields[k] = v;
    } else if (Array.isArray(v) && v.every((x) => typeof x === "string")) {
      fields[k] = v;
    }
  }
  return {
    name: err.constructor?.name ?? err.name,
    message: err.message,
    ...(err.stack === undefined ? {} : { stack: err.stack }),
    fields,
  };
}

/**
 * The error a worker threw, as an instance of the same class with the same message and fields (the
 * constructor is not run again, so messages are not prefixed twice). Unknown classes become `Error`.
 */
export function reviveError(e: SerializedError): Error {
  const cls = extraClasses[e.name] ?? errorClasses()[e.name];
  const err: Error = cls ? (Object.create(cls.prototype) as Error) : new Error(e.message);
  Object.defineProperty(err, "message", { value: e.message, writable: true, configurable: true });
  if (e.stack !== undefined) {
    Object.defineProperty(err, "stack", { value: e.stack, writable: true, configurable: true });
  }
  Object.assign(err, e.fields);
  if (cls && !("name" in e.fields)) Object.defineProperty(err, "name", { value: e.name, writable: true });
  return err;
}

/** Messages from a worker. */
export type WorkerReply = { id: number; outcome: JobOutcome } | { id: number; error: SerializedError };

/** Messages to a worker. */
export type WorkerRequest = { id: number; spec: JobSpec };

/** The default number of subtasks converted at a time: the CPUs this process may use. */
export function defaultConcurrency(): number {
  return Math.max(1, availableParallelism());
}

/**
 * Whether a worker can run jobs over these URIs with a registry of its own: every URI is a local file
 * (`file:`) or inline, and the registry serves local files with the plain {@link LocalStore}.
 */
export function workerStoresFor(stores: StoreRegistry, uris: Iterable<string>): boolean {
  for (const uri of uris) {
    if (uri.startsWith("inline:")) continue;
    if (parseUri(uri).scheme !== "file") return false;
    if (!(stores.storeFor(uri) instanceof LocalStore)) return false;
  }
  return true;
}

/**
 * Starts a worker on the entry module beside this one (`convert-worker`, see `startModuleWorker`).
 *
 * No `resourceLimits`: measured on the 1 GiB Flink 2.3.0 bench savepoint, RocksDB native -> canonical
 * with 2 workers (shared 2-core machine, 2026-11-22): no limits 18.2-19.9 s CPU, 460-490 MiB peak RSS;
 * `maxOldGenerationSizeMb` 64 / 96 / 128: 27.2 / 26.5 / 27.1 s CPU, 367 / 402 / 363 MiB (far more
 * garbage collection for a live heap of about 25 MiB: slower); `maxYoungGenerationSizeMb` 8: 21.4 s,
 * 469 MiB; 96: 17.9 s, 537 MiB.
 * Again once the open tables' indexes were made flat (`IndexBlock`: the live heap of a 1 GiB subtask
 * went from about 40 to 15 MiB) and the per-block copies and arenas were cut (2026-11-22, loaded
 * machine, one run each, CPU user+sys): 256 MiB: no limits 7.9 s, 326 MiB; old 64: 8.6 s, 279 MiB;
 * old 32: 8.4 s, 313 MiB; old 48 + young 16: 8.9 s, 251 MiB. 1 GiB: no limits 22.3 s, 363 MiB; old 64:
 * 24.6 s, 343 MiB; old 48 + young 16: 25.5 s, 310 MiB; young 16: 20.6 s, 355 MiB; old 64 + young 8:
 * 27.7 s, 279 MiB. Still 10-25% more CPU for any old-generation cap (what is left to collect is mostly
 * external memory: read blocks and output buffers, which V8 collects per 64 MiB of growth), so no limits.
 */
function startWorker(): Worker {
  return startModuleWorker(import.meta.url, "convert-worker");
}

/**
 * Runs `specs` on at most `concurrency` worker threads, one job per worker at a time, in order of
 * submission. `onDone` is called in the main thread as each job finishes.
 *
 * On the first error no further jobs start; the jobs under way finish (so no write is cut off), the
 * workers end, and the error is thrown, revived as its class.
 * @throws the jobs' errors (typed, as in-process); Error when a worker dies without answering.
 */
export async function runJobsInWorkers(
  specs: JobSpec[],
  concurrency: number,
  onDone: (index: number, outcome: JobOutcome) => void,
): Promise<void> {
  const n = Math.max(1, Math.min(concurrency, specs.length));
  let next = 0;
  let failure: { error: Error } | null = null;
  const runWorker = async (): Promise<void> => {
    if (next >= specs.length || failure) return;
    const worker = startWorker();
    try {
      await new Promise<void>((resolve, reject) => {
        let current = -1;
        const dispatch = () => {
          if (next >= specs.length || failure) {
            current = -1;
            resolve();
            return;
          }
          current = next++;
          worker.postMessage({ id: current, spec: specs[current] as JobSpec } satisfies WorkerRequest);
        };
        worker.on("message", (m: WorkerReply) => {
          if (m.id !== current) return;
          if ("error" in m) {
            failure ??= { error: reviveError(m.error) };
            current = -1;
            resolve();
            return;
          }
          try {
            onDone(current, m.outcome);
          } catch (err) {
            failure ??= { error: err as Error };
          }
          dispatch();
        });
        worker.on("error", (err) => {
          failure ??= { error: err };
          reject(err);
        });
        worker.on("exit", (code) => {
          if (current >= 0) {
            const err = new Error(`convert worker exited (code ${code}) while converting job ${current}`);
            failure ??= { error: err };
            reject(err);
          }
        });
        dispatch();
      });
    } finally {
      await worker.terminate();
    }
  };
  await Promise.allSettled(Array.from({ length: n }, runWorker));
  if (failure) throw (failure as { error: Error }).error;
}
