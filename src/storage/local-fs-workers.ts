/**
 * A small pool of worker threads that run local file-system calls in batches (`local-fs-worker.ts`), for
 * what {@link LocalStore} does to many files at once: the copies of a relocation and the statuses of a
 * directory listing.
 *
 * Why: each asynchronous `fs` call costs the main thread a request to libuv's thread pool, a promise, a
 * callback and a result object, and many short calls contend for the pool's lock. Measured on 16,384
 * files of 64 KiB (1 GiB) on tmpfs, 2 cores, 2026-11-22: `savepoint relocate --no-sync` with every call
 * asynchronous took 2.5 to 3.2 s, of which 2.5 to 3.0 s user CPU, mostly in the main thread, where
 * `cp -r` took 0.74 to 0.97 s. Two workers copying, renaming and stat'ing the same files with the
 * synchronous API took 0.67 to 0.70 s (four workers: 0.79 to 0.83 s). Files of 4 MiB are copied as fast
 * either way: the kernel's copying is the cost there.
 *
 * Operations queue here; an idle worker takes a share of the queue (at most {@link MAX_BATCH}
 * operations, {@link MAX_BATCH_BYTES} of copies) as one message: a caller with many files should have
 * many operations under way at once, or each message carries only a few. Workers start on the first operation, do not keep the process alive while idle, and end
 * after {@link IDLE_MS} without work.
 */

import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";
import { StoreFaultError } from "../errors.js";
import { startModuleWorker } from "../worker-thread.js";
import type { LocalFsOp, LocalFsResult, SerializedFsError } from "./local-fs-worker.js";

export type { LocalFsOp, LocalFsResult } from "./local-fs-worker.js";

/** Most operations sent to a worker in one message. */
const MAX_BATCH = 64;
/**
 * Most bytes of copies (by their `bytes` hint) sent to a worker in one message, beyond the first
 * copy: so that large files are shared between the workers rather than queued behind one.
 */
const MAX_BATCH_BYTES = 32 * 1024 * 1024;
/** Idle time after which the workers end (ms). */
const IDLE_MS = 2000;

/** Workers of a pool by default: one per core, at most 4 (2 measured faster than 4 on 2 cores). */
export function defaultLocalFsWorkerCount(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

/** The caller's side of a {@link LocalFsWorkers.runMany} (or `run`): its results as they arrive. */
interface Sink {
  results: LocalFsResult[];
  /** Results still to come. */
  left: number;
  resolve: (results: LocalFsResult[]) => void;
  reject: (err: Error) => void;
  /** Set once rejected (a sink is rejected once, at the first of its operations that fails so). */
  failed: boolean;
}

/** An operation waiting or running: its result goes to `sink.results[index]`. */
interface Pending {
  op: LocalFsOp;
  sink: Sink;
  index: number;
}

interface Slot {
  worker: Worker;
  /** The batch the worker is running, or null when idle. */
  batch: Pending[] | null;
  /** Set when this pool ends the worker (its exit is then expected). */
  ending: boolean;
  /** Set once the worker runs JavaScript (its start, some 30 to 60 ms, is over). */
  online: boolean;
}

/** The error an `fs` call threw in a worker, as a Node error again (`code`, `syscall`, `path`, ...). */
export function reviveFsError(e: SerializedFsError): NodeJS.ErrnoException {
  return Object.assign(new Error(e.message), {
    code: e.code,
    errno: e.errno,
    syscall: e.syscall,
    path: e.path,
    dest: e.dest,
  });
}

/** A pool of local file-system workers (see the module doc). */
export class LocalFsWorkers {
  private readonly queue: Pending[] = [];
  private readonly slots: Slot[] = [];
  private idleTimer: NodeJS.Timeout | undefined;

  /**
   * @param size workers at most (default {@link defaultLocalFsWorkerCount}).
   * @param idleMs idle time after which the workers end (ms, default {@link IDLE_MS}).
   * @param workerModule the module each worker runs, as `startModuleWorker` takes it (default
   *   `local-fs-worker` beside this module; tests give one that can be made to stop).
   */
  constructor(
    private readonly size = defaultLocalFsWorkerCount(),
    private readonly idleMs = IDLE_MS,
    private readonly workerModule: { besideUrl: string; name: string } = {
      besideUrl: import.meta.url,
      name: "local-fs-worker",
    },
  ) {}

  /**
   * Runs `op` on a worker. Resolves with its result, failures included (`ok: false`, see
   * {@link reviveFsError}).
   * @throws StoreFaultError when the worker running it stops without answering.
   */
  run(op: LocalFsOp): Promise<LocalFsResult> {
    return this.runMany([op]).then((results) => results[0] as LocalFsResult);
  }

  /**
   * Runs `ops` on the workers (in batches, as they become free). Resolves with their results in order,
   * failures included, once all have run: one promise for them all, and no object per result beyond
   * the result itself.
   * @throws StoreFaultError when a worker running some of them stops without answering (those still
   *   queued are then dropped; those running on other workers run to their end).
   */
  runMany(ops: readonly LocalFsOp[]): Promise<LocalFsResult[]> {
    if (ops.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      const sink: Sink = { results: new Array(ops.length), left: ops.length, resolve, reject, failed: false };
      for (let i = 0; i < ops.length; i++) this.queue.push({ op: ops[i] as LocalFsOp, sink, index: i });
      this.dispatch();
    });
  }

  /**
   * Starts the workers now, without work (they end after {@link IDLE_MS} unless given some): a
   * worker takes some 30 to 60 ms to start, which can pass while the caller prepares the work.
   */
  warm(): void {
    while (this.slots.length < this.size) this.start();
    this.whenIdle();
  }

  /** True while at least one worker runs or is starting (until they end, idle, after {@link IDLE_MS}). */
  get started(): boolean {
    return this.slots.length > 0;
  }

  /**
   * True once a worker has started and runs (until the workers end, idle, after {@link IDLE_MS}): work
   * given now starts at once, without waiting for a worker's start.
   */
  get ready(): boolean {
    return this.slots.some((s) => s.online);
  }

  /** Ends the workers now; operations not yet answered fail. */
  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    const slots = this.slots.splice(0);
    for (const s of slots) s.ending = true;
    await Promise.all(slots.map((s) => s.worker.terminate()));
    for (const s of slots) this.fail(s.batch, new StoreFaultError("local file-system workers closed"));
    this.fail(this.queue.splice(0), new StoreFaultError("local file-system workers closed"));
  }

  private dispatch(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => s.batch === null);
      if (!slot) {
        if (this.slots.length >= this.size) return;
        slot = this.start();
      }
      // a fair share for each worker that is idle or may still start
      const free = this.slots.filter((s) => s.batch === null).length + this.size - this.slots.length;
      const share = Math.min(MAX_BATCH, Math.ceil(this.queue.length / Math.max(1, free)));
      let take = 1;
      let bytes = opBytes(this.queue[0] as Pending);
      while (take < share) {
        bytes += opBytes(this.queue[take] as Pending);
        if (bytes > MAX_BATCH_BYTES) break;
        take++;
      }
      const batch = this.queue.splice(0, take);
      slot.batch = batch;
      slot.worker.ref();
      slot.worker.postMessage({ ops: batch.map((p) => p.op) });
    }
  }

  private start(): Slot {
    const worker = startModuleWorker(this.workerModule.besideUrl, this.workerModule.name);
    const slot: Slot = { worker, batch: null, ending: false, online: false };
    worker.once("online", () => {
      slot.online = true;
    });
    worker.on("message", (results: LocalFsResult[]) => {
      const batch = slot.batch ?? [];
      slot.batch = null;
      worker.unref();
      for (let i = 0; i < batch.length; i++) {
        const { sink, index } = batch[i] as Pending;
        sink.results[index] = results[i] as LocalFsResult;
        if (--sink.left === 0 && !sink.failed) sink.resolve(sink.results);
      }
      this.dispatch();
      this.whenIdle();
    });
    const stopped = (why: string) => {
      if (slot.ending) return;
      slot.ending = true;
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      this.fail(slot.batch, new StoreFaultError(`a local file-system worker stopped: ${why}`));
      slot.batch = null;
      this.dispatch();
    };
    worker.on("error", (err) => stopped(err.message));
    worker.on("exit", (code) => stopped(`exit code ${code}`));
    // referenced only while it has a batch (see dispatch): idle, it never keeps the process alive. (After
    // the listeners: adding a "message" listener references the worker's port again.)
    worker.unref();
    this.slots.push(slot);
    return slot;
  }

  /** Once nothing is queued or running: end the workers after {@link IDLE_MS}. */
  private whenIdle(): void {
    if (this.queue.length > 0 || this.slots.some((s) => s.batch !== null)) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      for (const s of this.slots.splice(0)) {
        s.ending = true;
        void s.worker.terminate();
      }
    }, this.idleMs);
    this.idleTimer.unref();
  }

  /**
   * Rejects the callers of `batch`'s operations. Their other operations still queued are dropped (a
   * caller whose promise rejected takes no results); those running on other workers run to their end.
   */
  private fail(batch: Pending[] | null, err: Error): void {
    let dropped = false;
    for (const { sink } of batch ?? []) {
      if (sink.failed) continue;
      sink.failed = true;
      dropped = true;
      sink.reject(err);
    }
    if (!dropped) return;
    let kept = 0;
    for (const p of this.queue) if (!p.sink.failed) this.queue[kept++] = p;
    this.queue.length = kept;
  }
}

function opBytes(p: Pending): number {
  return p.op.kind === "copy" ? (p.op.bytes ?? 0) : 0;
}

let shared: LocalFsWorkers | undefined;

/** The process's pool, started on first use: what every {@link LocalStore} uses unless given another. */
export function sharedLocalFsWorkers(): LocalFsWorkers {
  shared ??= new LocalFsWorkers();
  return shared;
}
