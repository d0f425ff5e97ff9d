/**
 * Benchmark (issue #7): `savepoint dump` of every keyed state of a canonical savepoint, against a State
 * Processor API job that reads the same state and writes the same NDJSON, measured in the same run.
 *
 * The savepoints are written by Flink 2.3.0 (`Main bench-state`, see `state-snapshots.ts`): a job with two
 * keyed operators, bench-values (ValueState<String> of 1 KiB per key) and bench-collections
 * (MapState<Long, String> and ListState<String>, 4 x 256 chars each per key), RocksDB backend, canonical
 * format, parallelism 2, at each size of `--mib` (default 256 and 1024 MiB of savepoint).
 *
 * - ours: `savepoint dump <sp> --operator <uid> -o <file>` once per keyed operator (two processes; times
 *   added, peak RSS the larger);
 * - baseline: `Main bench-spa-dump` (fixture harness, `BenchSpaDump.java`): `SavepointReader.readKeyedState`
 *   of both operators on a local environment of parallelism 2, records streamed to one NDJSON file, once
 *   per backend of `--spa-backend` (default `rocksdb,hashmap`; hashmap with the heap `--spa-heap`, default
 *   6g), with the G1 collector (harness.sh's default SerialGC made the hashmap run 1.3x slower);
 * - check: both outputs hold the same lines (count, and an order-independent sum of per-line xxh64).
 *
 * Run: `npm run build && npx tsx bench/dump.ts [--mib 256,1024] [--spa-backend rocksdb,hashmap] [--spa-heap 6g]`.
 * Needs Java 17, Maven and GNU time. Prints wall and CPU (user + system) times, ratios, MB/s (savepoint
 * bytes / wall time) and peak RSS.
 * Nothing here is a test.
 */

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
  lineDigest,
  listArg,
  machine,
  mib,
  rate,
  secs,
  settle,
  stringArg,
  timed,
} from "./state-snapshots.js";

const OPERATORS = ["bench-values", "bench-collections"];

async function main(): Promise<void> {
  if (!existsSync(cli)) throw new Error("run `npm run build` first");
  const sizes = listArg("--mib", [256, 1024]);
  const spaBackends = stringArg("--spa-backend", "rocksdb,hashmap").split(",");
  const spaHeap = stringArg("--spa-heap", "6g");
  buildHarness();
  const rows: string[] = [];
  let spaVersion = "";
  for (const size of sizes) {
    const sp = benchSnapshots(size * 1048576);
    const bytes = sp.canonicalBytes;
    const out = join(benchDir, `dump-${process.pid}`);
    mkdirSync(out, { recursive: true });
    try {
      let ours = 0;
      let ourCpu = 0;
      let ourRss = 0;
      const ourFiles: string[] = [];
      for (const op of OPERATORS) {
        const file = join(out, `ours-${op}.ndjson`);
        settle(sp.canonical);
        const t = timed("node", [cli, "dump", sp.canonical, "--operator", op, "-o", file]);
        ours += t.seconds;
        ourCpu += t.cpuSeconds;
        ourRss = Math.max(ourRss, t.rssMiB);
        ourFiles.push(file);
        console.error(`  ${size} MiB: savepoint dump ${op}: ${secs(t.seconds)}, ${t.stdout.trim()}`);
      }
      const a = await lineDigest(ourFiles);
      for (const backend of spaBackends) {
        const spaFile = join(out, `spa-${backend}.ndjson`);
        settle(sp.canonical);
        const spa = harness(
          ["bench-spa-dump", sp.canonical, "--out", spaFile, "--backend", backend],
          backend === "hashmap" ? `-Xmx${spaHeap} ${G1}` : G1,
        );
        const spaInfo = JSON.parse(spa.stdout) as {
          seconds: number;
          records: number;
          stateProcessorApi: string;
        };
        console.error(
          `  ${size} MiB: SPA job (${backend}) ${secs(spa.seconds)} (in the JVM ${secs(spaInfo.seconds)})`,
        );
        const b = await lineDigest([spaFile]);
        rmSync(spaFile);
        if (a.lines !== b.lines || a.sum !== b.sum || b.lines !== spaInfo.records) {
          throw new Error(
            `outputs differ: ours ${a.lines} lines (${a.sum}), SPA ${b.lines} lines (${b.sum})`,
          );
        }
        spaVersion = spaInfo.stateProcessorApi;
        rows.push(
          [
            `${size} MiB`,
            `${(bytes / 1e6).toFixed(0)} MB`,
            `${sp.keys} keys, ${a.lines} records`,
            `${secs(ours)} (${secs(ourCpu)})`,
            backend,
            `${secs(spa.seconds)} (${secs(spa.cpuSeconds)})`,
            secs(spaInfo.seconds),
            `${(spa.seconds / ours).toFixed(2)}x`,
            `${(spa.cpuSeconds / ourCpu).toFixed(2)}x`,
            rate(bytes, ours),
            rate(bytes, spa.seconds),
            `${ourRss.toFixed(0)} MiB`,
            `${spa.rssMiB.toFixed(0)} MiB`,
          ].join(" | "),
        );
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }
  console.log(
    `\nsavepoint dump vs State Processor API, Flink ${FLINK_VERSION}; SPA: ${spaVersion}, G1 collector`,
  );
  console.log(`machine: ${machine()}`);
  console.log(
    "| state | canonical savepoint | entries | savepoint dump, 2 processes: wall (CPU) | SPA backend | SPA job process: wall (CPU) | SPA job in JVM: wall | speed-up (wall) | CPU ratio | our rate (wall) | SPA rate (wall) | our peak RSS | SPA peak RSS |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const r of rows) console.log(`| ${r} |`);
  console.log(`(sizes: ${sizes.map((s) => mib(s * 1048576)).join(", ")}; outputs equal line for line)`);
}

await main();
