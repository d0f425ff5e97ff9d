/**
 * Benchmark (issue #3): `savepoint inspect --json` on large `_metadata` files against Flink's own
 * loader (bench/java-loader), both as whole processes, plus our in-process parse time.
 *
 * Run: `npm run build && npx tsx bench/metadata.ts [operators...]` (default 50 100 200 operators at
 * parallelism 128, about 27, 54 and 108 MB (the largest above the issue's 100 MB)). Needs Java 17, Maven and GNU time (/usr/bin/time).
 * Prints wall and CPU times (median of 3 runs; output to /dev/null, checked in a separate run), peak
 * RSS, ratios, and MB/s. Nothing here is a test.
 *
 * The files are written by Flink 2.3.0's own serializer (bench/java-loader `WriteLargeMetadata`, the
 * model of `large-metadata.ts`); each run also checks that our writer gives the same bytes.
 */

import { execFileSync, spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { readMetadata } from "../src/formats/metadata/index.js";
import { largeMetadataBytes } from "./large-metadata.js";

const root = resolve(import.meta.dirname, "..");
const loaderDir = join(root, "bench/java-loader");
const RUNS = 3;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/**
 * Wall and CPU (user + sys) seconds and peak RSS (MiB) of a whole process, via GNU time. Standard
 * output goes to `out`: `/dev/null` for the timed runs (Flink's loader prints one number, so neither
 * side is charged for the disk writing back hundreds of MB), a file for the check run (read back
 * afterwards; collecting it through a pipe would charge the benchmark's own reading to the process).
 */
function timed(
  cmd: string,
  args: string[],
  out = "/dev/null",
): { seconds: number; cpuSeconds: number; rssMiB: number; stdout: string } {
  const fd = openSync(out, "w");
  try {
    const r = spawnSync("/usr/bin/time", ["-f", "%e %U %S %M", cmd, ...args], {
      stdio: ["ignore", fd, "pipe"],
      encoding: "utf8",
    });
    if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr.slice(-2000)}`);
    const last = r.stderr.trim().split("\n").pop() as string;
    const [secs, user, sys, kb] = last.split(" ").map(Number) as [number, number, number, number];
    const stdout = out === "/dev/null" ? "" : readFileSync(out, "utf8");
    return { seconds: secs, cpuSeconds: user + sys, rssMiB: kb / 1024, stdout };
  } finally {
    closeSync(fd);
    if (out !== "/dev/null") rmSync(out, { force: true });
  }
}

function javaClasspath(): string {
  const cp = join(loaderDir, "target/classpath.txt");
  if (!existsSync(cp)) execFileSync("mvn", ["-q", "-B", "package"], { cwd: loaderDir, stdio: "inherit" });
  return `${join(loaderDir, "target/classes")}:${readFileSync(cp, "utf8").trim()}`;
}

function main(): void {
  const cli = join(root, "dist/cli/bin.cjs");
  if (!existsSync(cli)) throw new Error("run `npm run build` first");
  const classpath = javaClasspath();
  const sizes = process.argv.slice(2).map(Number);
  const operators = sizes.length > 0 ? sizes : [50, 100, 200];
  const work = mkdtempSync(join(tmpdir(), "savepoint-bench-"));
  const rows: string[] = [];
  try {
    for (const n of operators) {
      const dir = join(work, `ops-${n}`);
      const file = join(dir, "_metadata");
      execFileSync("mkdir", ["-p", dir]);
      // Flink's own serializer writes the file; our writer must produce the same bytes from the same model
      execFileSync("java", ["-cp", classpath, "dev.savepointkit.bench.WriteLargeMetadata", file, String(n)]);
      const bytes = readFileSync(file);
      if (Buffer.compare(bytes, Buffer.from(largeMetadataBytes(n))) !== 0) {
        throw new Error(`our writer's bytes differ from Flink's for ${n} operators`);
      }
      const mb = bytes.byteLength / 1e6;

      const parse: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const t0 = performance.now();
        const m = readMetadata(bytes);
        parse.push((performance.now() - t0) / 1000);
        if (m.operatorStates.length !== n) throw new Error("parse check failed");
      }
      // the check runs (untimed): our JSON parses and lists every operator; the loader prints the count
      const checkFile = join(work, "out.json");
      const report = JSON.parse(timed("node", [cli, "inspect", "--json", dir], checkFile).stdout);
      if (report.operators.length !== n) throw new Error("inspect check failed");
      const loaderArgs = ["-cp", classpath, "dev.savepointkit.bench.LoadMetadata", file];
      const printed = timed("java", loaderArgs, checkFile).stdout;
      if (Number(printed.trim()) !== n) throw new Error(`java loader printed ${printed}`);
      const ours = [];
      const java = [];
      for (let i = 0; i < RUNS; i++) {
        ours.push(timed("node", [cli, "inspect", "--json", dir]));
        java.push(timed("java", loaderArgs));
      }
      const o = median(ours.map((x) => x.seconds));
      const j = median(java.map((x) => x.seconds));
      const oCpu = median(ours.map((x) => x.cpuSeconds));
      const jCpu = median(java.map((x) => x.cpuSeconds));
      const p = median(parse);
      const rss = Math.max(...ours.map((x) => x.rssMiB));
      rows.push(
        [
          `${n} ops`,
          `${mb.toFixed(1)} MB`,
          `${o.toFixed(2)} s`,
          `${j.toFixed(2)} s`,
          `${(j / o).toFixed(2)}x`,
          `${oCpu.toFixed(2)} s / ${jCpu.toFixed(2)} s`,
          `${p.toFixed(3)} s`,
          `${(mb / p).toFixed(0)} MB/s`,
          `${rss.toFixed(0)} MiB`,
          `${(rss / (bytes.byteLength / 1048576)).toFixed(2)}x`,
          `${Math.max(...java.map((x) => x.rssMiB)).toFixed(0)} MiB`,
        ].join(" | "),
      );
      rmSync(dir, { recursive: true });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  console.log(
    "| size | _metadata | savepoint inspect --json | Flink loader (java) | speed-up | CPU ours / java | our parse (in-process) | parse rate | our peak RSS | RSS / file | java peak RSS |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|---|");
  for (const r of rows) console.log(`| ${r} |`);
}

main();
