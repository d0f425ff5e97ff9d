/**
 * Benchmark (issue #3): `savepoint inspect --json` on large `_metadata` files against Flink's own
 * loader (bench/java-loader), both as whole processes, plus our in-process parse time.
 *
 * Run: `npm run build && npx tsx bench/metadata.ts [operators...]` (default 50 100 200 operators at
 * parallelism 128, about 27, 54 and 108 MB (the largest above the issue's 100 MB)). Needs Java 17, Maven and GNU time (/usr/bin/time).
 * Prints wall times (median of 3 runs), peak RSS, ratios, and MB/s. Nothing here is a test.
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
 * Wall seconds and peak RSS (MiB) of a whole process, via GNU time. Its standard output goes to a file
 * (read back afterwards for the checks), as `> out.json` would: collecting hundreds of MB through a
 * pipe into this process's memory would charge the benchmark's own reading to the measured process.
 */
function timed(cmd: string, args: string[]): { seconds: number; rssMiB: number; stdout: string } {
  const outFile = join(tmpdir(), `savepoint-bench-out-${process.pid}`);
  const fd = openSync(outFile, "w");
  try {
    const r = spawnSync("/usr/bin/time", ["-f", "%e %M", cmd, ...args], {
      stdio: ["ignore", fd, "pipe"],
      encoding: "utf8",
    });
    if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr.slice(-2000)}`);
    const last = r.stderr.trim().split("\n").pop() as string;
    const [secs, kb] = last.split(" ").map(Number) as [number, number];
    return { seconds: secs, rssMiB: kb / 1024, stdout: readFileSync(outFile, "utf8") };
  } finally {
    closeSync(fd);
    rmSync(outFile, { force: true });
  }
}

function javaClasspath(): string {
  const cp = join(loaderDir, "target/classpath.txt");
  if (!existsSync(cp)) execFileSync("mvn", ["-q", "-B", "package"], { cwd: loaderDir, stdio: "inherit" });
  return `${join(loaderDir, "target/classes")}:${readFileSync(cp, "utf8").trim()}`;
}

function main(): void {
  const cli = join(root, "dist/cli/main.js");
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
      const ours = [];
      const java = [];
      for (let i = 0; i < RUNS; i++) {
        const o = timed("node", [cli, "inspect", "--json", dir]);
        if (JSON.parse(o.stdout).operators.length !== n) throw new Error("inspect check failed");
        ours.push(o);
        const j = timed("java", ["-cp", classpath, "dev.savepointkit.bench.LoadMetadata", file]);
        if (Number(j.stdout.trim()) !== n) throw new Error(`java loader printed ${j.stdout}`);
        java.push(j);
      }
      const o = median(ours.map((x) => x.seconds));
      const j = median(java.map((x) => x.seconds));
      const p = median(parse);
      const rss = Math.max(...ours.map((x) => x.rssMiB));
      rows.push(
        [
          `${n} ops`,
          `${mb.toFixed(1)} MB`,
          `${o.toFixed(2)} s`,
          `${j.toFixed(2)} s`,
          `${(j / o).toFixed(2)}x`,
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
    "| size | _metadata | savepoint inspect --json | Flink loader (java) | speed-up | our parse (in-process) | parse rate | our peak RSS | RSS / file | java peak RSS |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|");
  for (const r of rows) console.log(`| ${r} |`);
}

main();
