/**
 * Helpers shared by the test servers: free loopback ports, readiness polling, and stopping a whole
 * process tree (servers are spawned detached, in their own process group, and killed by group id).
 */

import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";
import { closeSync, existsSync, fstatSync, mkdtempSync, openSync, readSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";

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

/** Where the servers' logs go: one file per server, removed when the test process exits. */
let logDir: string | undefined;
function serverLogFile(command: string): string {
  if (logDir === undefined) {
    const dir = mkdtempSync(join(tmpdir(), "savepoint-kit-server-logs-"));
    logDir = dir;
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  }
  return join(logDir, `${basename(command)}-${Date.now()}-${Math.random().toString(16).slice(2, 8)}.log`);
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

/**
 * Spawns a server in its own process group (so the whole tree can be stopped). Its stderr (and its stdout
 * unless `stdout: "pipe"`, for servers that answer on stdout) goes to a log file, never to a pipe: a
 * pipe is only drained while this process's event loop runs, and a test or benchmark that waits
 * synchronously (`spawnSync` of the CLI) would let it fill. Each request log line costs a whole socket
 * buffer (Node's stdio pipes are socketpairs), so a few hundred requests fill it; the server's logging
 * call then blocks holding the logging lock and every request thread stops (seen with moto: a CLI
 * relocation of 64 objects hung with eight requests unanswered). `stderrTail()` reads the log's end.
 */
export function spawnServer(
  command: string,
  args: string[],
  options: SpawnOptions & { stdout?: "pipe" | "log" } = {},
): { child: ChildProcess; stderrTail: () => string } {
  if (command.includes("/") && !existsSync(command)) {
    throw new Error(
      `${command} is missing: run 'bash scripts/install-test-servers.sh' (npm test does it in pretest)`,
    );
  }
  const { stdout = "log", ...spawnOptions } = options;
  const log = serverLogFile(command);
  const logFd = openSync(log, "a");
  let child: ChildProcess;
  try {
    child = spawn(command, args, {
      detached: true,
      ...spawnOptions,
      stdio: ["pipe", stdout === "pipe" ? "pipe" : logFd, logFd],
    });
  } finally {
    closeSync(logFd); // the child has its own copy
  }
  // Never keep the test process alive because of a server.
  child.unref();
  return { child, stderrTail: () => fileTail(log) };
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
