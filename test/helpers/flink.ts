/**
 * Real Flink for the tests: runs the fixture harness (`fixtures/harness.sh <line> …`, which builds the
 * Java harness with Maven when needed) to restore snapshots into the fixture job, or a topology variant of
 * it, and compare the restored state with the model the generator wrote (`fixtures/flink-<x.y>/job-data.json`).
 * See `fixtures/README.md` ("Restore") for the spec and result formats.
 *
 * The Flink tests fail when Java or Maven are missing, unless `SAVEPOINT_KIT_SKIP_FLINK=1` (then they skip).
 */

import { spawn, spawnSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { killGroupAtExit, releaseScratchDir, scratchDir } from "./cleanup.js";

export const HARNESS_SCRIPT = resolve("fixtures/harness.sh");

/** A Flink line of the fixtures: `1.20` for `fixtures/flink-1.20`, `2.3` for `fixtures/flink-2.3`. */
export type FlinkLine = string;

/** The Flink lines with fixtures, from the `fixtures/flink-<x.y>` directories. */
export function flinkLines(fixtureIds: readonly string[]): FlinkLine[] {
  return [...new Set(fixtureIds.map((id) => (id.split("/")[0] as string).replace(/^flink-/, "")))].sort();
}

/**
 * Why the Flink tests must be skipped (`SAVEPOINT_KIT_SKIP_FLINK=1`), or undefined when they run. Without
 * the variable, missing Java or Maven is a failure (see {@link requireFlinkTools}), not a skip.
 */
export function flinkSkipReason(): string | undefined {
  if (process.env.SAVEPOINT_KIT_SKIP_FLINK === "1") {
    return "SAVEPOINT_KIT_SKIP_FLINK=1: restores with real Flink skipped";
  }
  return undefined;
}

/** @throws Error naming what is missing, when `java` or `mvn` cannot run. */
export function requireFlinkTools(): void {
  for (const [tool, arg] of [
    ["java", "-version"],
    ["mvn", "-v"],
  ] as const) {
    const r = spawnSync(tool, [arg], { stdio: "ignore" });
    if (r.error || r.status !== 0) {
      throw new Error(
        `'${tool}' is not available (${r.error?.message ?? `exit ${r.status}`}): the Flink restore tests need ` +
          "Java 17 and Maven 3.8+; set SAVEPOINT_KIT_SKIP_FLINK=1 to skip them",
      );
    }
  }
}

/** The output of one harness invocation. */
export interface HarnessOutput {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Runs `fixtures/harness.sh <line> <args…>` (the first call may build the harness: minutes on a cold ~/.m2).
 *
 * The run gets a scratch directory of its own (test/helpers/cleanup.ts): the JVM's `java.io.tmpdir`
 * (appended to `HARNESS_JAVA_OPTS`, which harness.sh passes after its defaults; so the path must not
 * contain white space) and `TMPDIR`, where Flink puts what it does not put under the harness's work
 * directory (`web.upload.dir` = `flink-web-upload`, the MiniCluster's working directory, the RPC system's
 * jar). It is removed when the run ends, with the harness's own work directory of that JVM in case the
 * JVM did not get to remove it (`Restorer`/`SpaDump`: `/tmp/savepoint-kit-work/{restore,spa}-<pid>`, see
 * the harness's `Layout.WORK_BASE`; harness.sh `exec`s java, so the pid is the child's). If the test
 * process ends first, the run is killed (its process group: harness.sh, or the Maven build it started).
 */
export function runHarness(line: FlinkLine, args: readonly string[]): Promise<HarnessOutput> {
  const t0 = Date.now();
  const scratch = scratchDir("savepoint-kit-harness-");
  const tmp = join(scratch, "tmp");
  const javaOpts = [process.env.HARNESS_JAVA_OPTS ?? "", `-Djava.io.tmpdir=${tmp}`].join(" ").trim();
  return new Promise<HarnessOutput>((resolvePromise, reject) => {
    const child = spawn("bash", [HARNESS_SCRIPT, line, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
      env: { ...process.env, HARNESS_JAVA_OPTS: javaOpts, TMPDIR: tmp },
    });
    const untrack = child.pid === undefined ? () => {} : killGroupAtExit(child.pid);
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      untrack();
      if (child.pid !== undefined) {
        for (const kind of ["restore", "spa"]) {
          rmSync(join(HARNESS_WORK_BASE, `${kind}-${child.pid}`), { recursive: true, force: true });
        }
      }
      resolvePromise({ code: code ?? -1, stdout, stderr, ms: Date.now() - t0 });
    });
  }).finally(() => releaseScratchDir(scratch));
}

/** The harness's work directory base (`Layout.WORK_BASE` in fixtures/harness). */
const HARNESS_WORK_BASE = "/tmp/savepoint-kit-work";

/** One operator of a job, as Flink's JobGraph has it. */
export interface JobGraphOperator {
  uid: string | null;
  name: string;
  operatorId: string;
}

/**
 * The operators of job variants (`full`, `without-<op>`, `renamed:<old>=<new>`), from the harness: the
 * OperatorID of the operator without uid depends on the topology, only Flink's hasher knows it.
 */
export async function jobOperators(
  line: FlinkLine,
  variants: readonly string[],
): Promise<Record<string, JobGraphOperator[]>> {
  const out = await runHarness(line, ["job-operators", ...variants]);
  if (out.code !== 0)
    throw new Error(`harness job-operators failed (exit ${out.code}):\n${tail(out.stderr)}`);
  return (JSON.parse(out.stdout) as { variants: Record<string, JobGraphOperator[]> }).variants;
}

/** What a restore run must show. */
export interface RestoreExpectation {
  outcome?: "restored" | "refused";
  errorContains?: string;
  /** Operators (generation-time uid, or `min-ts-no-uid`) whose state must be absent after the restore. */
  emptyState?: string[];
  /** `false`: a control run that must restore with differences (the oracle notices broken state). */
  stateMatches?: boolean;
}

/** One restore run of the harness spec. */
export interface RestoreRun {
  name: string;
  /**
   * The job to restore into (default `fixture`, the fixture job, its state compared with the model);
   * `unaligned`: the job of fixtures/unaligned, run until its bounded source has ended, each key's sum
   * and count compared with those over all its records (only `snapshot`, `backend`, `config` and
   * `expect.outcome` / `expect.errorContains` apply). See {@link unalignedRun}.
   */
  job?: "fixture" | "unaligned";
  /** Directory or `_metadata`, a local path or URI, passed to Flink as is. */
  snapshot: string;
  backend: "hashmap" | "rocksdb";
  variant?: string;
  allowNonRestoredState?: boolean;
  /** Default parallelism of the job (default 2; the rule source always has 1). */
  parallelism?: number;
  /** Max parallelism set on the job (default 128, as generated); null: not set. */
  maxParallelism?: number | null;
  config?: Record<string, string>;
  expect?: RestoreExpectation;
}

/** The harness's result of one run. */
export interface RestoreResult {
  name: string;
  snapshot: string;
  backend: string;
  /** The fixture job's runs only (undefined for `job: "unaligned"`), as is allowNonRestoredState. */
  variant?: string;
  allowNonRestoredState?: boolean;
  outcome: "restored" | "refused" | "timeout";
  /** Flink's root-cause message when the job failed. */
  error: string | null;
  errorClass: string | null;
  /** null unless restored. */
  stateMatches: boolean | null;
  differences: string[];
  expectationMet: boolean;
  expectationProblems: string[];
  jobOperators: JobGraphOperator[];
  observed: Record<string, unknown>;
  durationMs: number;
}

/** The whole result of `Main restore`. */
export interface RestoreReport {
  flinkVersion: string;
  ok: boolean;
  runs: RestoreResult[];
  /** Wall time of the harness process, including JVM start (and a build, if one was needed). */
  wallMs: number;
  stderr: string;
}

/**
 * Restores every run in one JVM (one MiniCluster, runs one after the other) and returns each run's result.
 * A run whose expectation is not met does not throw: the test asserts on the result.
 *
 * @throws Error when the harness fails as a whole (build error, bad spec, crash).
 */
export async function restoreWithFlink(
  line: FlinkLine,
  runs: readonly RestoreRun[],
  options: {
    timeoutSeconds?: number;
    /** Flink options for the cluster, its file systems (`s3.*`) and every job (the spec's `config`). */
    config?: Record<string, string>;
  } = {},
): Promise<RestoreReport> {
  const dir = scratchDir("savepoint-flink-spec-");
  try {
    const spec = join(dir, "spec.json");
    const result = join(dir, "result.json");
    const body = { timeoutSeconds: options.timeoutSeconds ?? 120, config: options.config, runs };
    writeFileSync(spec, JSON.stringify(body, null, 2));
    const out = await runHarness(line, ["restore", spec, "--out", result]);
    if (out.code !== 0 && out.code !== 1) {
      throw new Error(`harness restore failed (exit ${out.code}):\n${tail(out.stderr)}`);
    }
    const report = JSON.parse(readFileSync(result, "utf8")) as Omit<RestoreReport, "wallMs" | "stderr">;
    return { ...report, wallMs: out.ms, stderr: out.stderr };
  } finally {
    releaseScratchDir(dir);
  }
}

/** A run's result by name. @throws when the harness did not report it. */
export function runResult(report: RestoreReport, name: string): RestoreResult {
  const r = report.runs.find((x) => x.name === name);
  if (!r) throw new Error(`no result for run '${name}'`);
  return r;
}

/** A readable account of a run for assertion messages. */
export function describeRun(r: RestoreResult): string {
  return [
    `${r.name}: ${r.outcome} (${r.backend}, ${r.variant ?? "unaligned job"}${r.allowNonRestoredState ? ", allowNonRestoredState" : ""}) from ${r.snapshot}`,
    r.error ? `  Flink: ${r.errorClass}: ${r.error}` : "",
    ...r.differences.map((d) => `  difference: ${d}`),
    ...r.expectationProblems.map((p) => `  unexpected: ${p}`),
  ]
    .filter(Boolean)
    .join("\n");
}

function tail(s: string, lines = 40): string {
  return s.split("\n").slice(-lines).join("\n");
}

/**
 * The run options restoring a fixture case as its owner's job would: a checkpoint written with file
 * merging (`execution.checkpointing.file-merging.enabled`) with file merging on, whose
 * FileMergingSnapshotManager then takes over the restored segments; one of the changelog state backend
 * (`state.changelog.enabled`) with it on, its own changelog in files under the system's temporary
 * directory; nothing for the other cases.
 */
export function restoreAsWritten(caseName: string): Pick<RestoreRun, "config"> {
  if (caseName.includes("file-merging"))
    return { config: { "execution.checkpointing.file-merging.enabled": "true" } };
  if (caseName.includes("changelog")) {
    return {
      config: {
        "state.changelog.enabled": "true",
        "state.changelog.storage": "filesystem",
        "state.changelog.dstl.dfs.base-path": pathToFileURL(join(tmpdir(), "savepoint-kit-restore-changelog"))
          .href,
      },
    };
  }
  return {};
}

/**
 * A restore of a snapshot of fixtures/unaligned's job (an unaligned checkpoint, or a copy of one): Flink
 * replays the records in flight from its channel state, runs the job to its end, and the run's state
 * matches only if each key's sum and count are those of all records exactly once
 * (`Unaligned.restoreRun` in the harness).
 */
export function unalignedRun(name: string, snapshot: string, expect?: RestoreExpectation): RestoreRun {
  return { name, snapshot, backend: "rocksdb", job: "unaligned", ...(expect ? { expect } : {}) };
}

/**
 * The keyed state backends that wrapped the one a restored run's functions reported (e.g.
 * `ChangelogKeyedStateBackend`, outermost first, joined by `>`), from the harness's probe.
 */
export function keyedBackendWrappers(r: RestoreResult): string[] {
  return (r.observed as { keyedBackendWrappers?: string[] }).keyedBackendWrappers ?? [];
}
