/**
 * Scratch directories and child processes of a test process, so that nothing the tests start outlives
 * them: the servers (test/servers/) and harness runs (test/helpers/flink.ts) each take a scratch
 * directory of their own (their logs, their JVM's `java.io.tmpdir`, their `TMPDIR`) and give it back when
 * they stop. As a last resort, when the test process exits (normally, or on SIGINT / SIGTERM / SIGHUP,
 * e.g. Ctrl-C or the test runner's timeout) every process still tracked is killed (its whole process
 * group, with SIGKILL) and every scratch directory still held is removed.
 */

import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const dirs = new Set<string>();
/** Process group ids (= the leaders' pids) to kill at the end. */
const groups = new Set<number>();
let hooked = false;

/** True while `pid` runs (a zombie, killed but not yet reaped, counts as gone). */
function running(pid: number): boolean {
  try {
    // /proc/<pid>/stat: "<pid> (<comm>) <state> ..."
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/\) Z /.test(stat);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    try {
      process.kill(pid, 0); // no /proc (not Linux)
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * Kills what is tracked and removes what is held. Synchronous, so it can run in an `exit` handler; waits
 * (at most 5 s) for the killed leaders to be gone first, so that none writes into a removed directory.
 */
function cleanUpNow(): void {
  for (const pid of groups) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + 5000;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  for (const pid of groups) {
    while (running(pid) && Date.now() < deadline) Atomics.wait(nap, 0, 0, 10);
  }
  groups.clear();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.once("exit", cleanUpNow);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      cleanUpNow();
      // the listener is gone now: the signal's default action ends the process as it would have
      process.kill(process.pid, signal);
    });
  }
}

/**
 * A fresh, empty directory `<os.tmpdir()>/<prefix>XXXXXX` with an empty subdirectory `tmp` (for a child's
 * `TMPDIR` / `java.io.tmpdir`), held until {@link releaseScratchDir} or the process's end.
 *
 * @returns the directory's absolute path (read `os.tmpdir()` at call time, so a test may point `TMPDIR`
 *   elsewhere first).
 */
export function scratchDir(prefix: string): string {
  hook();
  const dir = mkdtempSync(join(tmpdir(), prefix));
  mkdirSync(join(dir, "tmp"));
  dirs.add(dir);
  return dir;
}

/** Removes a directory from {@link scratchDir} with everything in it. */
export function releaseScratchDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
}

/**
 * Kills a process group (`pid` of a child spawned with `detached: true`) with SIGKILL if the test process
 * ends while it still runs. @returns the function that stops tracking it (call it once the child exited).
 */
export function killGroupAtExit(pid: number): () => void {
  hook();
  groups.add(pid);
  return () => {
    groups.delete(pid);
  };
}
