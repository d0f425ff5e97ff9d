/**
 * Benchmark (issue #5): `savepoint relocate` of a snapshot of many files, against what users would do
 * without it, measured in the same run.
 *
 * - local to local: a synthetic canonical savepoint of `--mib` MiB (default 1024; a comma-separated list
 *   runs each size, showing the CLI's fixed start apart from its per-byte cost) in 4 MiB files,
 *   relocated by the CLI (a whole process) vs `cp -r` of the same directory: durable (every copy synced
 *   before `_metadata`) vs `cp -r && sync`, and `--no-sync` vs `cp -r`; then `--move` of the result to
 *   another directory of the same file system (renames);
 * - S3 to S3 on the test server (moto; `scripts/install-test-servers.sh` installs it): the CLI
 *   (server-side CopyObject, 8 at a time) vs two plain SDK loops, one file at a time: GetObject +
 *   PutObject per file, and CopyObject per file (server-side, the stronger baseline). The loops run
 *   in this process; the CLI's time includes its process start. Size `--s3-mib` (default 256).
 *
 * Both also time `relocateSnapshot` called in this process (to a third target), which leaves out the
 * process start and module loading of the CLI.
 *
 * A plain Node copy loop (`copy-loop.cjs`) runs as a reference: what any Node process copying the
 * directory costs, without what the CLI does besides copying.
 *
 * The library calls run in this process, from the build (`dist/`, as users run it). Its libuv pool has
 * Node's default 4 threads (the `savepoint` executable sizes its pool to 16 before it starts; this
 * process cannot once it runs).
 *
 * The CLI runs twice more with `NODE_EXTRA_CA_CERTS` removed from the environment when it is set (see
 * `cleanEnv`), and `node -e 0` is timed in both environments: the floor under any Node process.
 *
 * - local to local, many small files: `--many` files of 64 KiB (default 16,384; `--many 0` skips), see
 *   `manyFilesBench`.
 *
 * `--node <path>[,<path>...]` also times the CLI (durable and `--no-sync`, `NODE_EXTRA_CA_CERTS`
 * unset) run by other Node.js executables, e.g. the maintained lines beside the machine's Node 20 (whose
 * support ended in April 2026): their start differs, and at 1 GiB the start is a large part of the run.
 *
 * Run: `npm run build && npx tsx bench/relocate.ts [--mib 1024[,2048,...]] [--rounds 3] [--many 16384]
 * [--many-rounds 3] [--s3-mib 256] [--cli <bin>] [--node <path>,...]`.
 * Prints times (and the CPU time, user + system, of each CLI and `cp` process), bytes/s and ratios
 * (`--s3-mib 0` skips the S3 part; `--cli` times another build's CLI, e.g. a copy of `dist/` from before
 * a change). Nothing here is a test.
 *
 * Every local run starts from the same state (see `settle`): written data synced, the page cache dropped
 * when this process may (root on Linux; the output says which), the source read back and each program
 * warmed on a tiny snapshot. Without that, a run paid for what the runs before it left in memory.
 */

import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  accessSync,
  constants,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { CopyObjectCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
// The library as users run it: the build, whose local store starts its worker threads from `dist/`
// (from the sources, under tsx, each worker would first load tsx: 0.1 s or more per start).
import { relocateSnapshot } from "../dist/ops/relocate.js";
import { createDefaultRegistry } from "../dist/storage/defaults.js";
import { writeMetadata } from "../src/formats/metadata/index.js";
import type { CheckpointMetadata, OperatorSubtaskState } from "../src/formats/metadata/model.js";
import { startS3Server } from "../test/servers/s3-server.js";
import { settle as readBack } from "./state-snapshots.js";

const root = resolve(import.meta.dirname, "..");
/** The executable (`bin` in package.json; it sizes libuv's thread pool), or another build's via `--cli`. */
const cli = (() => {
  const i = process.argv.indexOf("--cli");
  return i >= 0 ? resolve(process.argv[i + 1] as string) : join(root, "dist/cli/bin.cjs");
})();
const FILE_MIB = 4;
const copyLoop = join(root, "bench/copy-loop.cjs");

/** Other Node.js executables that run the CLI too (`--node a,b`), each with the version it prints. */
const otherNodes: { path: string; version: string }[] = (() => {
  const i = process.argv.indexOf("--node");
  if (i < 0) return [];
  return String(process.argv[i + 1])
    .split(",")
    .map((path) => ({ path, version: execFileSync(path, ["--version"], { encoding: "utf8" }).trim() }));
})();

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** A canonical savepoint directory with `files` state files of `fileBytes` (4 MiB), referenced relatively. */
function makeSnapshot(dir: string, files: number, fileBytes = FILE_MIB * 1024 * 1024): number {
  mkdirSync(dir, { recursive: true });
  const block = randomBytes(fileBytes);
  const subtasks: OperatorSubtaskState[] = [];
  for (let i = 0; i < files; i++) {
    const name = `state-${String(i).padStart(5, "0")}`;
    block.writeUInt32BE(i, 0); // distinct contents
    writeFileSync(join(dir, name), block);
    subtasks.push({
      kind: "OperatorSubtaskState",
      subtaskIndex: i,
      managedOperatorState: null,
      rawOperatorState: null,
      managedKeyedState: {
        kind: "KeyGroupsSavepointStateHandle",
        tag: 7,
        keyGroupRange: { start: i, end: i },
        offsets: [0n],
        delegate: {
          kind: "RelativeFileStateHandle",
          relativePath: name,
          stateSize: BigInt(block.byteLength),
        },
        stateHandleId: null,
      },
      rawKeyedState: null,
      inputChannelState: [],
      resultSubpartitionState: [],
    });
  }
  const m: CheckpointMetadata = {
    version: 6,
    checkpointId: 1n,
    masterStates: [],
    operatorStates: [
      {
        operatorId: "d0a4e4912796d2114f5e0db4e8dcf52a",
        name: "word-stats",
        uid: "word-stats",
        parallelism: files,
        maxParallelism: Math.max(128, files),
        coordinatorState: null,
        fullyFinished: false,
        subtaskStates: subtasks,
      },
    ],
    properties: Uint8Array.of(0xac, 0xed, 0x00, 0x05, 0x70),
  };
  writeFileSync(join(dir, "_metadata"), writeMetadata(m));
  return files * block.byteLength;
}

/**
 * CPU time (user + system, seconds) of this process's waited-for children so far: fields 16 and 17 of
 * `/proc/self/stat` (cutime, cstime, in clock ticks of 1/100 s on Linux). Null off Linux.
 */
function childCpuSeconds(): number | null {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[0] is field 3 (state): cutime is field 16, cstime field 17
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return null;
  }
}

/** CPU seconds of each contender's child processes, by contender (runs in a process only). */
const cpuTimes = new Map<string, number[]>();

function seconds(fn: () => void, cpuOf?: string): number {
  const cpu0 = childCpuSeconds();
  try {
    return secondsOnly(fn);
  } finally {
    const cpu1 = childCpuSeconds();
    if (cpuOf && cpu0 !== null && cpu1 !== null) {
      const list = cpuTimes.get(cpuOf) ?? [];
      list.push(cpu1 - cpu0);
      cpuTimes.set(cpuOf, list);
    }
  }
}

function secondsOnly(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return (performance.now() - t0) / 1000;
}

async function secondsAsync(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): void {
  const r = spawnSync(cmd, args, {
    stdio: ["ignore", "ignore", "pipe"],
    env: env ?? process.env,
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
}

const rate = (bytes: number, s: number) => `${(bytes / 1048576 / s).toFixed(0)} MiB/s`;

function sizes(): number[] {
  const i = process.argv.indexOf("--mib");
  const list = i >= 0 ? String(process.argv[i + 1]) : "1024";
  return list.split(",").map(Number);
}

/**
 * The environment of the "clean" CLI runs: this one without `NODE_EXTRA_CA_CERTS`. Node 20 reads and
 * parses that certificate bundle at every start, before any of our code (about 0.1 s of CPU for the
 * 200 KB bundle this machine's sandbox sets); a relocation between local directories makes no TLS
 * connection, and users' machines mostly do not set it. Null when it is not set (nothing to compare).
 */
function cleanEnv(): NodeJS.ProcessEnv | null {
  if (!process.env.NODE_EXTRA_CA_CERTS) return null;
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

/** `/proc/sys/vm/drop_caches`, when this process may write it (root on Linux): see {@link settle}. */
const DROP_CACHES = "/proc/sys/vm/drop_caches";
const canDropCaches = (() => {
  try {
    accessSync(DROP_CACHES, constants.W_OK);
    return true;
  } catch {
    return false;
  }
})();
/** How runs start, for the printed figures. */
const settled = canDropCaches
  ? "each run from the same state (synced, page cache dropped, source read, programs warmed)"
  : "runs NOT from the same state (cannot drop the page cache here: run as root on Linux for that)";

/**
 * Brings the machine to the same state before each timed run, whatever ran before it: everything
 * written is synced, the page cache dropped (`drop_caches`, when allowed), then the source read back into
 * it and `warm` run (each contender's program once on a tiny snapshot, so that its executable and
 * modules are in the page cache too).
 *
 * Why: without it a run's time depended on what the run before it had left. After a few copies of 1 GiB
 * the page cache filled the memory, and the next program to write paid for the kernel's reclaim: on
 * 2026-11-23 `cp -r` of the same 16,384 files took 0.56 to 1.61 s within one benchmark (system time
 * following), which made the ratios a matter of the order of the runs. From the same state, five runs
 * of `cp -r` took 0.61 to 0.89 s.
 */
function settle(src: string, warm: () => void): void {
  execFileSync("sync");
  if (canDropCaches) writeFileSync(DROP_CACHES, "1");
  readBack(src);
  warm();
}

/**
 * Runs each program of `programs` (an argument list after the tiny snapshot and a new directory) once on
 * a snapshot of two small files: see {@link settle}.
 */
function warmer(work: string, programs: [string, string[], NodeJS.ProcessEnv?][]): () => void {
  const tiny = join(work, "tiny");
  makeSnapshot(tiny, 2, 4096);
  return () => {
    for (const [cmd, args, env] of programs) {
      const dst = join(work, "tiny-run");
      run(cmd, [...args, tiny, dst], env);
      rmSync(dst, { recursive: true, force: true });
    }
  };
}

/** The programs the contenders run, each with the environment it runs in (see {@link warmer}). */
function programsToWarm(clean: NodeJS.ProcessEnv | null): [string, string[], NodeJS.ProcessEnv?][] {
  const env = clean ?? process.env;
  return [
    ["cp", ["-r"]],
    ["node", ["-e", "0"]], // (in this environment: reads what NODE_EXTRA_CA_CERTS names, if set)
    ["node", [cli, "relocate"], env],
    ["node", [copyLoop], env],
    ...otherNodes.map((n): [string, string[], NodeJS.ProcessEnv] => [n.path, [cli, "relocate"], env]),
  ];
}

/** Local to local at one size: every contender `rounds` times in rotating order; prints the table. */
async function localBench(work: string, mib: number, rounds: number): Promise<void> {
  const src = join(work, `src-${mib}`);
  const bytes = makeSnapshot(src, Math.ceil(mib / FILE_MIB));
  const local = createDefaultRegistry({ env: {} });
  const clean = cleanEnv();
  const contenders: [string, (dst: string) => Promise<number>][] = [
    ["cp", async (d) => seconds(() => run("cp", ["-r", src, d]), "cp")],
    ["cpSync", async (d) => seconds(() => run("sh", ["-c", `cp -r '${src}' '${d}' && sync`]), "cpSync")],
    ["ours", async (d) => seconds(() => run("node", [cli, "relocate", src, d]), "ours")],
    [
      "oursNoSync",
      async (d) => seconds(() => run("node", [cli, "relocate", "--no-sync", src, d]), "oursNoSync"),
    ],
    ["inProcess", (d) => secondsAsync(() => relocateSnapshot(src, d, { stores: local }))],
    ["inProcessNoSync", (d) => secondsAsync(() => relocateSnapshot(src, d, { stores: local, sync: false }))],
  ];
  if (clean) {
    contenders.push(
      ["oursClean", async (d) => seconds(() => run("node", [cli, "relocate", src, d], clean), "oursClean")],
      [
        "oursNoSyncClean",
        async (d) =>
          seconds(() => run("node", [cli, "relocate", "--no-sync", src, d], clean), "oursNoSyncClean"),
      ],
    );
  }
  for (const n of otherNodes) {
    const env = clean ?? process.env;
    contenders.push(
      [
        `ours@${n.version}`,
        async (d) => seconds(() => run(n.path, [cli, "relocate", src, d], env), `ours@${n.version}`),
      ],
      [
        `oursNoSync@${n.version}`,
        async (d) =>
          seconds(() => run(n.path, [cli, "relocate", "--no-sync", src, d], env), `oursNoSync@${n.version}`),
      ],
    );
  }
  // The least a Node process does to copy the directory (no plan, checks or sync): see copy-loop.cjs
  contenders.push([
    "nodeCopyLoop",
    async (d) => seconds(() => run("node", [copyLoop, src, d], clean ?? process.env), "nodeCopyLoop"),
  ]);
  // Node's own start, the floor under any `savepoint` process (no output directory)
  const starts: [string, () => number][] = [
    ["nodeStart", () => seconds(() => run("node", ["-e", "0"]), "nodeStart")],
  ];
  if (clean)
    starts.push(["nodeStartClean", () => seconds(() => run("node", ["-e", "0"], clean), "nodeStartClean")]);
  for (const n of otherNodes) {
    starts.push([
      `nodeStart@${n.version}`,
      () => seconds(() => run(n.path, ["-e", "0"], clean ?? process.env), `nodeStart@${n.version}`),
    ]);
  }
  const times = new Map<string, number[]>([...contenders, ...starts].map(([n]) => [n, []]));
  const warm = warmer(work, programsToWarm(clean));
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < contenders.length; i++) {
      const [name, go] = contenders[(i + r) % contenders.length] as (typeof contenders)[number];
      const dst = join(work, `run-${name}`);
      settle(src, warm);
      (times.get(name) as number[]).push(await go(dst));
      if (name === "ours" && r === rounds - 1) {
        run("node", [cli, "verify", dst]);
        continue; // kept for the --move run below
      }
      rmSync(dst, { recursive: true });
    }
    for (const [name, go] of starts) (times.get(name) as number[]).push(go());
  }
  const median = (name: string) => {
    const t = [...(times.get(name) as number[])].sort((a, b) => a - b);
    return t[Math.floor(t.length / 2)] as number;
  };
  execFileSync("sync");
  // --move within one file system renames each file: no bytes copied
  const moved = seconds(() =>
    run("node", [cli, "relocate", "--move", join(work, "run-ours"), join(work, "moved")]),
  );
  run("node", [cli, "verify", join(work, "moved")]);
  await local.close();
  console.log(
    `\nlocal to local, ${readdirSync(src).length} files, ${(bytes / 1048576).toFixed(0)} MiB, medians of ${rounds} rounds` +
      ` (load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")}: the machine's other work shows in wall times, less in CPU times; ${settled})`,
  );
  for (const [n] of [...contenders, ...starts]) {
    const cpu = cpuTimes.get(n);
    console.log(
      `  ${n}: ${(times.get(n) as number[]).map((t) => t.toFixed(2)).join(", ")} s` +
        (cpu ? `; CPU (user+sys) ${cpu.map((t) => t.toFixed(2)).join(", ")} s` : ""),
    );
  }
  cpuTimes.clear();
  console.log("| | time | rate | time / baseline time |");
  console.log("|---|---|---|---|");
  const row = (what: string, t: number, base?: [string, number]) =>
    console.log(
      `| ${what} | ${t.toFixed(2)} s | ${rate(bytes, t)} | ${base ? `${(t / base[1]).toFixed(2)}x ${base[0]}` : "-"} |`,
    );
  const cp = median("cp");
  const cpSync = median("cpSync");
  const env = clean ? " (this environment, NODE_EXTRA_CA_CERTS set)" : "";
  row("cp -r", cp);
  row("cp -r && sync", cpSync);
  row(`savepoint relocate (CLI process, durable)${env}`, median("ours"), ["cp -r && sync", cpSync]);
  if (clean)
    row("savepoint relocate (CLI process, durable), NODE_EXTRA_CA_CERTS unset", median("oursClean"), [
      "cp -r && sync",
      cpSync,
    ]);
  row("relocateSnapshot (library call, in this process, durable)", median("inProcess"), [
    "cp -r && sync",
    cpSync,
  ]);
  row(`savepoint relocate --no-sync (CLI process)${env}`, median("oursNoSync"), ["cp -r", cp]);
  if (clean)
    row("savepoint relocate --no-sync (CLI process), NODE_EXTRA_CA_CERTS unset", median("oursNoSyncClean"), [
      "cp -r",
      cp,
    ]);
  row("relocateSnapshot sync: false (library call)", median("inProcessNoSync"), ["cp -r", cp]);
  const unset = clean ? ", NODE_EXTRA_CA_CERTS unset" : "";
  for (const n of otherNodes) {
    row(`savepoint relocate (CLI process, durable), Node ${n.version}${unset}`, median(`ours@${n.version}`), [
      "cp -r && sync",
      cpSync,
    ]);
    row(
      `savepoint relocate --no-sync (CLI process), Node ${n.version}${unset}`,
      median(`oursNoSync@${n.version}`),
      ["cp -r", cp],
    );
  }
  row(
    `Node copy loop (bench/copy-loop.cjs: 16 copyFile at a time, nothing else)${clean ? ", NODE_EXTRA_CA_CERTS unset" : ""}`,
    median("nodeCopyLoop"),
    ["cp -r", cp],
  );
  row("savepoint relocate --move, one file system (CLI process; renames)", moved);
  console.log(
    `Node's start (\`node -e 0\`)${env}: ${median("nodeStart").toFixed(2)} s` +
      (clean ? `; NODE_EXTRA_CA_CERTS unset: ${median("nodeStartClean").toFixed(2)} s` : "") +
      otherNodes
        .map((n) => `; Node ${n.version}${unset}: ${median(`nodeStart@${n.version}`).toFixed(2)} s`)
        .join(""),
  );
  rmSync(join(work, "moved"), { recursive: true });
  rmSync(src, { recursive: true });
}

/**
 * Local to local, many small files: `files` files of 64 KiB (1 GiB for the default 16,384), where the cost
 * per file counts more than the bytes. `rounds` rounds in rotating order of `cp -r`, `cp -r && sync`, the
 * CLI durable and `--no-sync` (without `NODE_EXTRA_CA_CERTS` where it is set) and the Node copy loop.
 *
 * Every copy is kept until the end: ext4 without a journal (this machine's root file system) skips, when
 * it allocates inodes, those of files deleted within the last 60 s, or 300 s (`recently_deleted` in its
 * inode allocator), so creating 16,384 files right after deleting as many took 3 to 6 s in `cp -r`
 * against 0.8 s otherwise (2026-11-22), whichever program came after a delete.
 */
async function manyFilesBench(work: string, files: number, rounds: number): Promise<void> {
  const src = join(work, `many-${files}`);
  const bytes = makeSnapshot(src, files, 64 * 1024);
  const env = cleanEnv() ?? process.env;
  const contenders: [string, (dst: string) => void][] = [
    ["cp -r", (d) => run("cp", ["-r", src, d])],
    ["cp -r && sync", (d) => run("sh", ["-c", `cp -r '${src}' '${d}' && sync`])],
    ["savepoint relocate (CLI, durable)", (d) => run("node", [cli, "relocate", src, d], env)],
    ["savepoint relocate --no-sync (CLI)", (d) => run("node", [cli, "relocate", "--no-sync", src, d], env)],
    ["Node copy loop (copy-loop.cjs)", (d) => run("node", [copyLoop, src, d], env)],
  ];
  for (const n of otherNodes) {
    contenders.push(
      [
        `savepoint relocate (CLI, durable), Node ${n.version}`,
        (d) => run(n.path, [cli, "relocate", src, d], env),
      ],
      [
        `savepoint relocate --no-sync (CLI), Node ${n.version}`,
        (d) => run(n.path, [cli, "relocate", "--no-sync", src, d], env),
      ],
    );
  }
  const times = new Map<string, number[]>(contenders.map(([n]) => [n, []]));
  const dsts: string[] = [];
  const warm = warmer(work, programsToWarm(env === process.env ? null : env));
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < contenders.length; i++) {
      const [name, go] = contenders[(i + r) % contenders.length] as (typeof contenders)[number];
      const dst = join(work, `many-run-${dsts.length}`);
      dsts.push(dst);
      settle(src, warm);
      (times.get(name) as number[]).push(seconds(() => go(dst), name));
    }
  }
  console.log(
    `\nlocal to local, ${files} files of 64 KiB, ${(bytes / 1048576).toFixed(0)} MiB, medians of ${rounds} rounds` +
      `${env === process.env ? "" : ", NODE_EXTRA_CA_CERTS unset"} (load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")}; ${settled})`,
  );
  for (const [n] of contenders) {
    const cpu = cpuTimes.get(n) ?? [];
    console.log(
      `  ${n}: ${(times.get(n) as number[]).map((t) => t.toFixed(2)).join(", ")} s; CPU (user+sys) ${cpu.map((t) => t.toFixed(2)).join(", ")} s`,
    );
  }
  cpuTimes.clear();
  const median = (name: string) => {
    const t = [...(times.get(name) as number[])].sort((a, b) => a - b);
    return t[Math.floor(t.length / 2)] as number;
  };
  console.log("| | time | rate | time / baseline time |");
  console.log("|---|---|---|---|");
  for (const [n] of contenders) {
    const base = n.includes("durable") ? "cp -r && sync" : n.startsWith("cp") ? undefined : "cp -r";
    const t = median(n);
    console.log(
      `| ${n} | ${t.toFixed(2)} s | ${rate(bytes, t)} | ${base ? `${(t / median(base)).toFixed(2)}x ${base}` : "-"} |`,
    );
  }
  for (const d of [src, ...dsts]) rmSync(d, { recursive: true, force: true });
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), "savepoint-bench-relocate-"));
  try {
    const rounds = Math.max(1, arg("--rounds", 3));
    for (const mib of sizes()) await localBench(work, mib, rounds);
    const many = arg("--many", 16384);
    if (many > 0) await manyFilesBench(work, many, Math.max(1, arg("--many-rounds", 3)));

    const s3mib = arg("--s3-mib", 256);
    if (s3mib <= 0) return; // `--s3-mib 0`: the local part only
    const s3src = join(work, "s3src");
    const s3bytes = makeSnapshot(s3src, Math.ceil(s3mib / FILE_MIB));
    const s3 = await startS3Server();
    try {
      await s3.createBucket("bench");
      const names = readdirSync(s3src);
      for (const n of names) {
        await s3.client.send(
          new PutObjectCommand({ Bucket: "bench", Key: `src/${n}`, Body: readFileSync(join(s3src, n)) }),
        );
      }
      let t0 = performance.now();
      for (const n of names) {
        const got = await s3.client.send(new GetObjectCommand({ Bucket: "bench", Key: `src/${n}` }));
        const body = await got.Body?.transformToByteArray();
        await s3.client.send(new PutObjectCommand({ Bucket: "bench", Key: `loop/${n}`, Body: body }));
      }
      const loop = (performance.now() - t0) / 1000;
      t0 = performance.now();
      for (const n of names) {
        await s3.client.send(
          new CopyObjectCommand({ Bucket: "bench", Key: `copyloop/${n}`, CopySource: `bench/src/${n}` }),
        );
      }
      const copyLoop = (performance.now() - t0) / 1000;
      const env = {
        ...process.env,
        AWS_ENDPOINT_URL_S3: s3.endpoint,
        AWS_REGION: s3.region,
        AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
      };
      const ourS3 = seconds(() => run("node", [cli, "relocate", "s3://bench/src", "s3://bench/ours"], env));
      run("node", [cli, "verify", "s3://bench/ours"], env);
      const remote = createDefaultRegistry({
        s3: { endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials },
        env: {},
      });
      await remote.storeFor("s3://bench/").stat("s3://bench/src/_metadata"); // load the SDK before timing
      const s3InProcess = await secondsAsync(() =>
        relocateSnapshot("s3://bench/src", "s3://bench/in-process", { stores: remote }),
      );
      await remote.close();
      console.log(`\nS3 to S3 on moto, ${names.length} objects, ${(s3bytes / 1048576).toFixed(0)} MiB`);
      console.log("| | time | rate | speed-up over Get+Put | speed-up over CopyObject loop |");
      console.log("|---|---|---|---|---|");
      const row = (what: string, t: number) =>
        console.log(
          `| ${what} | ${t.toFixed(2)} s | ${rate(s3bytes, t)} | ${(loop / t).toFixed(2)}x | ${(copyLoop / t).toFixed(2)}x |`,
        );
      row("SDK loop: GetObject + PutObject, one at a time", loop);
      row("SDK loop: CopyObject, one at a time", copyLoop);
      row("savepoint relocate (CLI process)", ourS3);
      row("relocateSnapshot (library call, in this process)", s3InProcess);
    } finally {
      await s3.stop();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
