/**
 * Shared by the state benchmarks (`bench/dump.ts`, `bench/convert.ts`): large savepoints written by real
 * Flink 2.3.0 (the fixture harness's `bench-state` job, `fixtures/harness/.../bench/BenchJob.java`),
 * cached under `/tmp/savepoint-kit-bench` (or `$SAVEPOINT_KIT_BENCH_DIR`) and reused when present, and
 * whole-process measurements with GNU time. Nothing here is a test.
 */

import { spawnSync } from "node:child_process";
import {
  closeSync,
  createReadStream,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { xxh64 } from "@node-rs/xxhash";

export const root = resolve(import.meta.dirname, "..");
/** The `savepoint` executable (`bin` in package.json: it sizes libuv's thread pool before the CLI starts). */
export const cli = join(root, "dist/cli/bin.cjs");
export const benchDir = process.env.SAVEPOINT_KIT_BENCH_DIR ?? "/tmp/savepoint-kit-bench";
/** The Flink line the benchmarks run (harness.sh line 2: Flink 2.3.0). */
export const FLINK_LINE = "2";
export const FLINK_VERSION = "2.3.0";
const harnessSh = join(root, "fixtures/harness.sh");

/** A whole process measured by GNU time: wall seconds, CPU seconds (user + system), peak RSS (MiB), its stdout. */
export interface Timed {
  seconds: number;
  cpuSeconds: number;
  rssMiB: number;
  stdout: string;
}

/**
 * Runs a command under GNU time (`/usr/bin/time -f "%e %U %S %M" -o <file>`, so the command's own stderr
 * cannot be mistaken for the figures).
 * @throws Error when the command fails (with the end of its stderr).
 */
export function timed(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Timed {
  mkdirSync(benchDir, { recursive: true });
  const out = join(benchDir, `.time-${process.pid}`);
  const r = spawnSync("/usr/bin/time", ["-f", "%e %U %S %M", "-o", out, cmd, ...args], {
    encoding: "utf8",
    maxBuffer: 1 << 28,
    env: env ?? process.env,
  });
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr.slice(-3000)}`);
  const [secs, user, sys, kb] =
    readFileSync(out, "utf8").trim().split("\n").pop()?.split(" ").map(Number) ?? [];
  rmSync(out, { force: true });
  if (secs === undefined || user === undefined || sys === undefined || kb === undefined) {
    throw new Error("GNU time wrote no figures");
  }
  return { seconds: secs, cpuSeconds: user + sys, rssMiB: kb / 1024, stdout: r.stdout };
}

/** Runs a harness subcommand on Flink 2.3.0 under GNU time; `javaOpts` go to HARNESS_JAVA_OPTS. */
export function harness(args: string[], javaOpts = ""): Timed {
  return timed(harnessSh, [FLINK_LINE, ...args], { ...process.env, HARNESS_JAVA_OPTS: javaOpts });
}

/** Builds the harness once, before anything is timed (harness.sh rebuilds when sources changed). */
export function buildHarness(): void {
  const r = spawnSync(harnessSh, [FLINK_LINE, "--build-only"], { stdio: "inherit" });
  if (r.status !== 0) throw new Error("harness build failed");
}

/** What `Main bench-state` wrote (`bench.json`). */
export interface BenchSnapshots {
  dir: string;
  canonical: string;
  native: string;
  keys: number;
  flinkVersion: string;
  /** Total bytes of each savepoint directory (all files, `_metadata` included). */
  canonicalBytes: number;
  nativeBytes: number;
}

/**
 * A canonical and a native RocksDB savepoint of the bench job with about `bytes` of keyed state, written by
 * Flink 2.3.0 (`Main bench-state --backend rocksdb --format both`: both taken from the same running job,
 * so they hold the same state). Generated when absent (about 1.5 minutes per GiB here), else reused.
 */
export function benchSnapshots(bytes: number): BenchSnapshots {
  const dir = join(benchDir, `flink-${FLINK_VERSION}-rocksdb-${bytes}`);
  const info = join(dir, "bench.json");
  if (!existsSync(info)) {
    console.error(`generating ${dir} with Flink ${FLINK_VERSION} (bench-state)…`);
    const t = harness(["bench-state", "--out", dir, "--bytes", String(bytes), "--backend", "rocksdb"]);
    console.error(`  generated in ${t.seconds.toFixed(0)} s`);
  }
  const j = JSON.parse(readFileSync(info, "utf8")) as { keys: number; flinkVersion: string };
  const canonical = join(dir, "canonical");
  const native = join(dir, "native");
  return {
    dir,
    canonical,
    native,
    keys: j.keys,
    flinkVersion: j.flinkVersion,
    canonicalBytes: treeBytes(canonical),
    nativeBytes: treeBytes(native),
  };
}

/** Flink's own collector for the Flink runs (as its launcher: G1), not harness.sh's SerialGC. */
export const G1 = "-XX:-UseSerialGC -XX:+UseG1GC";

/** What `Main bench-state --changelog` wrote (`bench.json`). */
export interface BenchChangelogCheckpoint {
  dir: string;
  /** The retained checkpoint directory (`chk-1`), a local path. */
  checkpoint: string;
  keys: number;
  flinkVersion: string;
  /** Bytes of the changelog files the checkpoint points at (all its keyed state). */
  changelogBytes: number;
}

/**
 * A retained checkpoint of the bench job on the changelog state backend over RocksDB, never materialized
 * (every change of about `bytes` of keyed state lies in the changelog), written by Flink 2.3.0
 * (`Main bench-state --changelog`). Generated when absent (about 10 s per 256 MiB here), else reused.
 * Its pointers are absolute: the directory must stay where it was written.
 */
export function benchChangelogCheckpoint(bytes: number): BenchChangelogCheckpoint {
  const dir = join(benchDir, `flink-${FLINK_VERSION}-rocksdb-changelog-${bytes}`);
  const info = join(dir, "bench.json");
  if (!existsSync(info)) {
    console.error(`generating ${dir} with Flink ${FLINK_VERSION} (bench-state --changelog)…`);
    const t = harness([
      "bench-state",
      "--out",
      dir,
      "--bytes",
      String(bytes),
      "--backend",
      "rocksdb",
      "--changelog",
    ]);
    console.error(`  generated in ${t.seconds.toFixed(0)} s`);
  }
  const j = JSON.parse(readFileSync(info, "utf8")) as {
    keys: number;
    flinkVersion: string;
    checkpoint: string;
  };
  return {
    dir,
    checkpoint: new URL(j.checkpoint.replace(/^file:\//, "file:///")).pathname,
    keys: j.keys,
    flinkVersion: j.flinkVersion,
    changelogBytes: treeBytes(join(dir, "changelog")),
  };
}

/**
 * Run before each timed process: writes the page cache still holds go to disk (`sync`), then every file
 * under `dir` (the source snapshot) is read once. Each contender so starts with its input in the page
 * cache and without the write-back of the previous run's output under way; without it, whoever runs
 * first after the savepoint was generated reads from the disk, and whoever follows a large write waits
 * for its flush.
 */
export function settle(dir: string): void {
  spawnSync("sync");
  const buf = Buffer.allocUnsafe(8 << 20);
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const fd = openSync(join(e.parentPath, e.name), "r");
    try {
      while (readSync(fd, buf, 0, buf.length, null) > 0) {}
    } finally {
      closeSync(fd);
    }
  }
}

/** Total size in bytes of the regular files under `dir`. */
export function treeBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) n += statSync(join(e.parentPath, e.name)).size;
  }
  return n;
}

/** Parses `--name a,b,c` as numbers, or the fallback. */
export function listArg(name: string, fallback: number[]): number[] {
  const i = process.argv.indexOf(name);
  return i >= 0
    ? String(process.argv[i + 1])
        .split(",")
        .map(Number)
    : fallback;
}

/** `--name value`, or the fallback. */
export function stringArg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? String(process.argv[i + 1]) : fallback;
}

export const mib = (bytes: number) => `${(bytes / 1048576).toFixed(0)} MiB`;
export const rate = (bytes: number, s: number) => `${(bytes / 1e6 / s).toFixed(1)} MB/s`;
export const secs = (s: number) => `${s.toFixed(1)} s`;

/** The machine, for the figures: cores, memory, load average, Node and Java versions. */
/** `/proc/stat`'s all-CPU counters (user, nice, system, idle, iowait, irq, softirq, steal), in ticks. */
function cpuCounters(): number[] {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  return line.trim().split(/\s+/).slice(1, 9).map(Number);
}

const countersAtStart = cpuCounters();

/**
 * The share of CPU time the hypervisor took from this VM ("steal") since the benchmark started, of the
 * time the CPUs were busy or stolen: on a shared host the same run takes longer when it is high, for
 * both contenders of a comparison.
 */
function stealPercent(): string {
  const now = cpuCounters();
  const d = now.map((v, i) => v - (countersAtStart[i] ?? 0));
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = d;
  const busy = user + nice + system + irq + softirq + steal;
  return busy > 0 ? `${((100 * steal) / busy).toFixed(0)}%` : "n/a";
}

export function machine(): string {
  const java = spawnSync("java", ["-version"], { encoding: "utf8" }).stderr.split("\n")[0] ?? "";
  const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  const cpus = spawnSync("nproc", [], { encoding: "utf8" }).stdout.trim();
  const mem = (
    Number(/MemTotal:\s+(\d+)/.exec(readFileSync("/proc/meminfo", "utf8"))?.[1]) / 1048576
  ).toFixed(0);
  return (
    `${cpus} cores, ${mem} GiB, Node.js ${process.versions.node}, ${java.trim()}, load average ${load}, ` +
    `CPU time stolen by the hypervisor during the run ${stealPercent()}`
  );
}

const MASK = (1n << 64n) - 1n;

/** Lines of NDJSON files and the sum (mod 2^64) of their xxh64: equal for the same lines in any order. */
export async function lineDigest(files: string[]): Promise<{ lines: number; sum: bigint }> {
  let lines = 0;
  let sum = 0n;
  for (const f of files) {
    let rest: Buffer = Buffer.alloc(0);
    for await (const chunk of createReadStream(f, { highWaterMark: 1 << 22 }) as AsyncIterable<Buffer>) {
      const buf = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
      let start = 0;
      for (let nl = buf.indexOf(10, start); nl >= 0; nl = buf.indexOf(10, start)) {
        sum = (sum + xxh64(buf.subarray(start, nl))) & MASK;
        lines++;
        start = nl + 1;
      }
      rest = Buffer.from(buf.subarray(start));
    }
    if (rest.length > 0) throw new Error(`${f} does not end with a newline`);
  }
  return { lines, sum };
}
