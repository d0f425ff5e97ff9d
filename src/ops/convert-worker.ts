/**
 * The worker-thread entry of `convert` (started by `./convert-workers.ts`): converts one subtask per
 * request ({@link JobSpec}) with a local-file store registry of its own, and answers with the new handle
 * and outcome, or with the error serialized (revived as the same typed error in the main thread).
 */

import { parentPort } from "node:worker_threads";
import { StoreRegistry } from "../storage/registry.js";
import { runJobSpec } from "./convert-job.js";
import { serializeError, type WorkerReply, type WorkerRequest } from "./convert-workers.js";

const port = parentPort;
if (!port) throw new Error("convert-worker must run in a worker thread");
const stores = new StoreRegistry();

port.on("message", (m: WorkerRequest) => {
  runJobSpec(m.spec, stores).then(
    (outcome) => port.postMessage({ id: m.id, outcome } satisfies WorkerReply),
    (err: unknown) => port.postMessage({ id: m.id, error: serializeError(err) } satisfies WorkerReply),
  );
});
