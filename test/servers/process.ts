/**
 * Helpers shared by the test servers: free loopback ports, readiness polling, and stopping a whole
 * process tree (servers are spawned detached, in their own process group, and killed by group id).
 */

import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";
import { closeSync, existsSync, fstatSync, openSync, readSync } from "node:fs";
import { createServer } from "node:net";
import { basename, join, resolve } from "node:path";
import { killGroupAtExit, releaseScratchDir, scratchDir } from "../helpers/cleanup.js";

/** Root of the installed test servers (`scripts/install-test-servers.sh` fills it). */
export const TEST_SERVERS_DIR = resolve(".cache/test-servers");

/** True when `SAVEPOINT_KIT_SKIP_SERVERS=1`: server-backed suites skip instead of failing. */
export const SKIP_SERVERS = process.env.SAVEPOINT_KIT_SKIP_SERVERS === "1";

/** The skip reason for `describe(..., { skip })`, or false when the servers must run. */
export function serverSkip(what: string): string | false {
  return SKIP_SERVERS ? `SAVEPOINT_KIT_SKIP_SERVERS=1: ${what} not started, tests skipped` : false;
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

/** Polls `check` every 100 ms until it returns true, or throws after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  child?: ChildProcess,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child && child.exitCode !== null)
      throw new Error(`${what}: process exited with code ${child.exitCode}`);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The last `bytes` bytes of a file, as text ("" when it cannot be read). */
function fileTail(path: string, bytes = 4000): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const size = fstatSync(fd).size;
    const n = Math.min(size, bytes);
    const buf = Buffer.alloc(n);
    readSync(fd, buf, 0, n, size - n);
    return buf.toString("utf8");
  } catch {
    return "";
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** A server process started by {@link spawnServer}. */
export interface SpawnedServer {
  child: ChildProcess;
  /**
   * The server's scratch directory (`<os.tmpdir()>/savepoint-kit-<command>-XXXXXX`): its log file, and
   * `tmp/`, the server's `TMPDIR` (a JVM server also wants `-Djava.io.tmpdir=<scratch>/tmp`, which Java
   * does not take from `TMPDIR`). Removed by `stop()`, or when the test process ends.
   */
  scratch: string;
  /** The end of the server's log (stderr, and stdout unless piped); "" once stopped. */
  stderrTail: () => string;
  /**
   * Stops the process tree ({@link killTree}, SIGKILL after `graceMs`, default 5000) and removes the
   * scratch directory. @returns the end of the log as it was at the end (for error messages).
   */
  stop: (graceMs?: number) => Promise<string>;
}

/**
 * Spawns a server in its own process group (so the whole tree can be stopped), with a scratch directory
 * of its own (see {@link SpawnedServer.scratch}); if the test process ends first, the group is killed and
 * the directory removed (test/helpers/cleanup.ts). Its stderr (and its stdout
 * unless `stdout: "pipe"`, for servers that answer on stdout) goes to a log file, never to a pipe: a
 * pipe is only drained while this process's event loop runs, and a test or benchmark that waits
 * synchronously (`spawnSync` of the CLI) would let it fill. Each request log line costs a whole socket
 * buffer (Node's stdio pipes are socketpairs), so a few hundred requests fill it; the server's logging
 * call then blocks holding the logging lock and every request thread stops (seen with moto: a CLI
 * relocation of 64 objects hung with eight requests unanswered). `stderrTail()` reads the log's end.
 *
 * @throws Error when `command` is a path that does not exist (the test servers are not installed).
 */
export function spawnServer(
  command: string,
  args: string[] | ((scratch: string) => string[]),
  options: SpawnOptions & { stdout?: "pipe" | "log" } = {},
): SpawnedServer {
  if (command.includes("/") && !existsSync(command)) {
    throw new Error(
      `${command} is missing: run 'bash scripts/install-test-servers.sh' (npm test does it in pretest)`,
    );
  }
  const { stdout = "log", ...spawnOptions } = options;
  const scratch = scratchDir(`savepoint-kit-${basename(command)}-`);
  const log = join(scratch, "server.log");
  const logFd = openSync(log, "a");
  let child: ChildProcess;
  try {
    child = spawn(command, typeof args === "function" ? args(scratch) : args, {
      detached: true,
      ...spawnOptions,
      env: { ...(spawnOptions.env ?? process.env), TMPDIR: join(scratch, "tmp") },
      stdio: ["pipe", stdout === "pipe" ? "pipe" : logFd, logFd],
    });
  } catch (err) {
    releaseScratchDir(scratch);
    throw err;
  } finally {
    closeSync(logFd); // the child has its own copy
  }
  if (child.pid !== undefined) child.once("exit", killGroupAtExit(child.pid));
  // Never keep the test process alive because of a server.
  child.unref();
  let stopped = false;
  return {
    child,
    scratch,
    stderrTail: () => (stopped ? "" : fileTail(log)),
    async stop(graceMs = 5000) {
      await killTree(child, graceMs);
      const tail = stopped ? "" : fileTail(log);
      stopped = true;
      releaseScratchDir(scratch);
      return tail;
    },
  };
}

/**
 * Stops a process tree: SIGTERM to the group, then SIGKILL after `graceMs`. Resolves when the leader
 * exited (or at most `graceMs + 2000` ms later).
 */
export async function killTree(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const pid = child.pid;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        child.kill(sig);
      } catch {
        // already gone
      }
    }
  };
  signal("SIGTERM");
  const timer = setTimeout(() => signal("SIGKILL"), graceMs);
  await Promise.race([exited, new Promise((r) => setTimeout(r, graceMs + 2000))]);
  clearTimeout(timer);
  signal("SIGKILL"); // any stragglers in the group
}
