/**
 * Benchmark: reading a checkpoint of the changelog state backend, whose keyed state must be replayed from
 * its changelog. Measured against what users can do today, in the same run: restore the job in Flink 2.3.0
 * with the changelog state backend (Flink replays the changelog) and take a canonical savepoint. (The State
 * Processor API refuses changelog checkpoints, so Flink's restore is the only other reader.)
 *
 * The checkpoints are written by Flink 2.3.0 (`Main bench-state --changelog`, see `state-snapshots.ts`: the
 * bench job of `bench/dump.ts` and `bench/convert.ts`, on the changelog state backend over RocksDB, never
 * materialized, so that all of its state lies in the changelog: the most a reader has to replay), at each size
 * of `--mib` (default 64 and 256 MiB of state).
 *
 * - `savepoint convert <chk> <dst> --to canonical --key-type String`, a whole process (then `verify`, not
 *   timed): the same result as the baseline's, a canonical savepoint;
 * - `savepoint dump <chk> --operator <op> --key-type String -o <file>` of both keyed operators, a process
 *   each (their times and CPU added; the larger peak RSS);
 * - baseline: `Main bench-resave <chk> --changelog --format canonical` (fixture harness, `BenchResave.java`,
 *   G1 collector): a MiniCluster restores the checkpoint into the bench job and takes a canonical savepoint.
 *   Reported as the whole JVM process and, inside it, from job submission until the savepoint is complete.
 * - check (not timed): `dump` of our converted savepoint and of Flink's hold the same lines (count and an
 *   order-independent sum of per-line xxh64), for both operators.
 *
 * Before each timed process the checkpoint's files are read into the page cache and pending writes are
 * synced (`settle`). Why no materialized part: the key type is then recorded nowhere, hence `--key-type`.
 *
 * Run: `npm run build && npx tsx bench/changelog.ts [--mib 64,256]`. Needs Java 17, Maven and GNU time.
 * Prints wall and CPU (user + system) times, ratios, MB/s (changelog bytes / wall time) and peak RSS.
 * Nothing here is a test.
 */

import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import {
  benchChangelogCheckpoint,
  benchDir,
  buildHarness,
  cli,
  FLINK_VERSION,
  G1,
  harness,
  lineDigest,
  listArg,
  machine,
  rate,
  secs,
  settle,
  type Timed,
  timed,
} from "./state-snapshots.js";

const OPERATORS = ["bench-values", "bench-collections"];
const KEY_TYPE = ["--key-type", "String"];

async function main(): Promise<void> {
  if (!existsSync(cli)) throw new Error("run `npm run build` first");
  const sizes = listArg("--mib", [64, 256]);
  buildHarness();
  const rows: string[] = [];
  for (const size of sizes) {
    const chk = benchChangelogCheckpoint(size * 1048576);
    const bytes = chk.changelogBytes;
    const out = join(benchDir, `changelog-${process.pid}`);
    mkdirSync(out, { recursive: true });
    try {
      const ourDst = join(out, "ours");
      settle(chk.dir);
      const convert = timed("node", [
        cli,
        "convert",
        chk.checkpoint,
        ourDst,
        "--to",
        "canonical",
        ...KEY_TYPE,
      ]);
      timed("node", [cli, "verify", ourDst]);
      const dumps: Timed[] = [];
      for (const op of OPERATORS) {
        settle(chk.dir);
        const file = join(out, `dump-${op}.ndjson`);
        dumps.push(timed("node", [cli, "dump", chk.checkpoint, "--operator", op, ...KEY_TYPE, "-o", file]));
      }
      const dump = {
        seconds: dumps.reduce((n, t) => n + t.seconds, 0),
        cpuSeconds: dumps.reduce((n, t) => n + t.cpuSeconds, 0),
        rssMiB: Math.max(...dumps.map((t) => t.rssMiB)),
      };
      const flinkDst = join(out, "flink");
      settle(chk.dir);
      const flink = harness(
        [
          "bench-resave",
          chk.checkpoint,
          "--out",
          flinkDst,
          "--backend",
          "rocksdb",
          "--format",
          "canonical",
          "--changelog",
        ],
        G1,
      );
      const inJvm = (
        JSON.parse(flink.stdout) as { seconds: { restore: number; savepoint: number; total: number } }
      ).seconds;
      // the same state: ours converted and Flink's savepoint, dumped
      for (const op of OPERATORS) {
        const files = (["ours", "flink"] as const).map((who) => {
          const file = join(out, `check-${who}-${op}.ndjson`);
          timed("node", [cli, "dump", who === "ours" ? ourDst : flinkDst, "--operator", op, "-o", file]);
          return file;
        });
        const [a, b] = [await lineDigest([files[0] as string]), await lineDigest([files[1] as string])];
        if (a.lines !== b.lines || a.sum !== b.sum) {
          throw new Error(
            `${op}: our conversion holds ${a.lines} entries, Flink's savepoint ${b.lines}, or they differ`,
          );
        }
      }
      console.error(
        `  ${size} MiB: convert ${secs(convert.seconds)}, dump ${secs(dump.seconds)}, Flink ${secs(flink.seconds)} ` +
          `(submission to savepoint ${secs(inJvm.total)}: restore ${secs(inJvm.restore)}, savepoint ${secs(inJvm.savepoint)})`,
      );
      const vs = (t: number) => `${(flink.seconds / t).toFixed(2)}x / ${(inJvm.total / t).toFixed(2)}x`;
      rows.push(
        [
          `${size} MiB (${chk.keys} keys)`,
          `${(bytes / 1e6).toFixed(0)} MB`,
          `${secs(convert.seconds)} (${secs(convert.cpuSeconds)})`,
          `${secs(dump.seconds)} (${secs(dump.cpuSeconds)})`,
          `${secs(flink.seconds)} (${secs(flink.cpuSeconds)})`,
          `${secs(inJvm.total)} (${secs(inJvm.restore)} + ${secs(inJvm.savepoint)})`,
          vs(convert.seconds),
          vs(dump.seconds),
          rate(bytes, convert.seconds),
          `${convert.rssMiB.toFixed(0)} / ${dump.rssMiB.toFixed(0)} MiB`,
          `${flink.rssMiB.toFixed(0)} MiB`,
        ].join(" | "),
      );
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }
  console.log(
    `\nchangelog checkpoint (never materialized) read by savepoint convert / dump vs restore + canonical savepoint in Flink ${FLINK_VERSION} (MiniCluster, changelog over RocksDB)`,
  );
  console.log(`machine: ${machine()}`);
  console.log(
    "| state | changelog | convert: wall (CPU) | dump, 2 operators: wall (CPU) | Flink process: wall (CPU) | Flink submission to savepoint (restore + savepoint) | convert speed-up vs process / submission-to-savepoint | dump speed-up, the same | convert rate | peak RSS convert / dump | Flink peak RSS |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|---|");
  for (const r of rows) console.log(`| ${r} |`);
}

await main();
