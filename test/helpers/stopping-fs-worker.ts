/**
 * A stand-in local file-system worker for tests (`LocalFsWorkers`' `workerModule`): it answers `stats`
 * operations (only those) as the real worker does, and notes each one's paths in the file
 * `$SAVEPOINT_KIT_TEST_OP_LOG`, but ends its thread without answering at a `stats` of a path ending in
 * `stop-here`, as a worker that crashed would. (It does not import `local-fs-worker.ts`, which would
 * answer every batch too.)
 */
import { appendFileSync, statSync } from "node:fs";
import { parentPort } from "node:worker_threads";
import type { LocalFsBatch, LocalFsResult } from "../../src/storage/local-fs-worker.js";

parentPort?.on("message", (batch: LocalFsBatch) => {
  const results = batch.ops.map((op): LocalFsResult => {
    if (op.kind !== "stats") throw new Error(`this test worker answers stats only, not ${op.kind}`);
    if (op.paths.some((p) => p.endsWith("stop-here"))) process.exit(3);
    const log = process.env.SAVEPOINT_KIT_TEST_OP_LOG;
    if (log) appendFileSync(log, `${op.paths.join(",")}\n`);
    const statuses = op.paths.map((p) => {
      const s = statSync(p);
      return { isFile: s.isFile(), size: s.size, mtimeMs: s.mtimeMs };
    });
    return { ok: true, kind: "stats", statuses };
  });
  parentPort?.postMessage(results);
});
