/**
 * Starting one of our modules on a worker thread, from the build (`dist/…/x.js`) or from the sources
 * under `tsx` (tests, `npm run savepoint`).
 */

import { Worker } from "node:worker_threads";

/**
 * A worker running the module `name` (without extension) beside `besideUrl` (the caller's
 * `import.meta.url`). From a `.ts` caller the worker registers tsx's loader first: a worker does not
 * inherit the loader hooks of the thread that starts it.
 */
export function startModuleWorker(besideUrl: string, name: string): Worker {
  if (!besideUrl.endsWith(".ts")) return new Worker(new URL(`./${name}.js`, besideUrl));
  const entry = new URL(`./${name}.ts`, besideUrl).href;
  const tsx = import.meta.resolve("tsx/esm/api");
  const boot = `import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(entry)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`));
}
