/**
 * Benchmark (issue #8): `savepoint convert` of a native RocksDB savepoint to canonical (and, when this
 * build can write RocksDB native savepoints, of a canonical savepoint to native RocksDB), against what
 * users do today, measured in the same run: restore the job in Flink with the target backend and take a
 * savepoint in the target format.
 *
 * The savepoints are written by Flink 2.3.0 (`Main bench-state`, see `state-snapshots.ts`; the same job
 * and state as `bench/dump.ts`), RocksDB backend, at each size of `--mib` (default 256 and 1024 MiB).
 *
 * - ours: `savepoint convert <src> <dst> --to canonical` (or `--to native --backend rocksdb`), a whole
 *   process; then `savepoint verify <dst>`, not timed;
 * - baseline: `Main bench-resave` (fixture harness, `BenchResave.java`): a MiniCluster restores the
 *   savepoint into the bench job with the RocksDB backend and takes a savepoint in the target format (G1
 *   collector).
 *   Reported as the whole JVM process (JVM and MiniCluster start, restore, savepoint, shutdown) and, inside
 *   the JVM, from job submission until the savepoint is complete (restore: submission until every task
 *   is RUNNING, i.e. the state is restored; then the savepoint).
 *
 * Before each timed process the source is read into the page cache and pending writes are synced
 * (`settle`), so neither side pays for the other's disk traffic or for a cold cache.
 *
 * Run: `npm run build && npx tsx bench/convert.ts [--mib 256,1024]`. Needs Java 17, Maven and GNU time.
 * Prints wall and CPU (user + system) times, ratios, MB/s (source savepoint bytes / wall time) and peak RSS. Nothing here is a test.
 */

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import {
  benchDir,
  benchSnapshots,
  buildHarness,
  cli,
  FLINK_VERSION,
  G1,
  harness,
  listArg,
  machine,
  rate,
  secs,
  settle,
  timed,
  treeBytes,
} from "./state-snapshots.js";

interface Direction {
  name: string;
  source: "native" | "canonical";
  ourArgs: string[];
  format: "canonical" | "native";
}

const TO_CANONICAL: Direction = {
  name: "RocksDB native -> canonical",
  source: "native",
  ourArgs: ["--to", "canonical"],
  format: "canonical",
};
const TO_NATIVE: Direction = {
  name: "canonical -> RocksDB native",
  source: "canonical",
  ourArgs: ["--to", "native", "--backend", "rocksdb"],
  format: "native",
};

/** Whether this build writes RocksDB native savepoints: a dry run on `canonical` succeeds. */
function writesRocksDbNative(canonical: string): boolean {
  const dst = join(benchDir, `probe-${process.pid}`);
  const r = spawnSync("node", [cli, "convert", canonical, dst, ...TO_NATIVE.ourArgs, "--dry-run"], {
    encoding: "utf8",
  });
  rmSync(dst, { recursive: true, force: true });
  return r.status === 0;
}

function main(): void {
  if (!existsSync(cli)) throw new Error("run `npm run build` first");
  const sizes = listArg("--mib", [256, 1024]);
  buildHarness();
  const rows: string[] = [];
  let directions: Direction[] | undefined;
  for (const size of sizes) {
    const sp = benchSnapshots(size * 1048576);
    if (directions === undefined) {
      directions = writesRocksDbNative(sp.canonical) ? [TO_CANONICAL, TO_NATIVE] : [TO_CANONICAL];
      if (directions.length === 1) {
        console.error("this build does not write RocksDB native savepoints: only native -> canonical");
      }
    }
    for (const d of directions) {
      const src = d.source === "native" ? sp.native : sp.canonical;
      const bytes = d.source === "native" ? sp.nativeBytes : sp.canonicalBytes;
      const out = join(benchDir, `convert-${process.pid}`);
      mkdirSync(out, { recursive: true });
      try {
        const ourDst = join(out, "ours");
        settle(src);
        const ours = timed("node", [cli, "convert", src, ourDst, ...d.ourArgs]);
        timed("node", [cli, "verify", ourDst]);
        const flinkDst = join(out, "flink");
        settle(src);
        const flink = harness(
          ["bench-resave", src, "--out", flinkDst, "--backend", "rocksdb", "--format", d.format],
          G1,
        );
        const inJvm = (
          JSON.parse(flink.stdout) as { seconds: { restore: number; savepoint: number; total: number } }
        ).seconds;
        console.error(
          `  ${size} MiB ${d.name}: ours ${secs(ours.seconds)}, Flink ${secs(flink.seconds)} ` +
            `(submission to savepoint ${secs(inJvm.total)}: restore ${secs(inJvm.restore)}, savepoint ${secs(inJvm.savepoint)})`,
        );
        rows.push(
          [
            d.name,
            `${size} MiB`,
            `${(bytes / 1e6).toFixed(0)} MB`,
            `${secs(ours.seconds)} (${secs(ours.cpuSeconds)})`,
            `${secs(flink.seconds)} (${secs(flink.cpuSeconds)})`,
            `${secs(inJvm.total)} (${secs(inJvm.restore)} + ${secs(inJvm.savepoint)})`,
            `${(flink.seconds / ours.seconds).toFixed(2)}x`,
            `${(inJvm.total / ours.seconds).toFixed(2)}x`,
            rate(bytes, ours.seconds),
            rate(bytes, inJvm.total),
            `${ours.rssMiB.toFixed(0)} MiB`,
            `${flink.rssMiB.toFixed(0)} MiB`,
            `${(treeBytes(ourDst) / 1e6).toFixed(0)} / ${(treeBytes(flinkDst) / 1e6).toFixed(0)} MB`,
          ].join(" | "),
        );
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    }
  }
  console.log(
    `\nsavepoint convert vs restore + savepoint in Flink ${FLINK_VERSION} (MiniCluster, RocksDB backend)`,
  );
  console.log(`machine: ${machine()}`);
  console.log(
    "| conversion | state | source savepoint | savepoint convert: wall (CPU) | Flink process: wall (CPU) | Flink (submission to savepoint: restore + savepoint) | speed-up vs process | speed-up vs submission-to-savepoint | our rate | Flink rate (submission to savepoint) | our peak RSS | Flink peak RSS | output ours / Flink |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const r of rows) console.log(`| ${r} |`);
}

main();
