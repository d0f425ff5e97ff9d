/**
 * Issue #6, "Proof with real Flink": `plan`, `prune`, `drop` and `rename` against real Flink (1.20 with
 * metadata V4 without stored uids, 2.3 with V6 and uids), for every fixture: canonical and native
 * savepoints (hashmap and RocksDB) and a retained incremental RocksDB checkpoint:
 *
 * - a job whose topology changed refuses the unmodified snapshot without `--allowNonRestoredState`,
 *   with exactly the message `planRestore` predicted (same operator id);
 * - `prune` (reference and copy mode), `drop` and `rename` outputs restore WITHOUT the flag, and the
 *   state that remains equals the model (`fixtures/flink-<x.y>/job-data.json`); a renamed FLIP-27 source
 *   keeps its enumerator (coordinator) state: Flink restores the enumerator, re-assigns no split and no
 *   record is emitted again. A control run (the rename without the coordinator state, what Flink's own
 *   `changeOperatorIdentifier` does, FLINK-40837) shows that the harness notices when it is lost;
 * - Flink's max-parallelism checks (job max parallelism 256; parallelism 200 above the state's 128, with
 *   the max parallelism unset) refuse where `plan` says, naming the same operator and numbers; with the
 *   max parallelism unset and parallelism 2 Flink adopts the state's and restores; `plan` words the
 *   mismatch exactly as Flink does.
 *
 * The operator without uid (`min-ts-no-uid`) gets an id from the topology: removing `word-stats` changes
 * it, so the job specs come from Flink's JobGraph (`fixtures/harness.sh <line> job-operators`).
 *
 * All restores of a line run in one JVM.
 */

import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runCli } from "../../src/cli/main.js";
import type { CheckpointMetadata } from "../../src/formats/metadata/model.js";
import { operatorIdFromUid } from "../../src/formats/operator-id.js";
import { dropOperators, pruneMetadata, renameOperator, writeEdited } from "../../src/ops/edit.js";
import { listSnapshotFiles } from "../../src/ops/files.js";
import { type JobSpec, parseOperatorRef } from "../../src/ops/job-spec.js";
import { loadSnapshot } from "../../src/ops/locate.js";
import { relocateSnapshot, toFlinkPath } from "../../src/ops/relocate.js";
import { planRestore, type RestorePlan } from "../../src/ops/restore-plan.js";
import { StoreRegistry } from "../../src/storage/registry.js";
import { normalizeUri } from "../../src/storage/uri.js";
import { checkpointJobId, FIXTURES_ROOT, type Fixture, listFixtures } from "../helpers/fixtures.js";
import {
  describeRun,
  flinkLines,
  flinkSkipReason,
  type JobGraphOperator,
  jobOperators,
  type RestoreReport,
  type RestoreResult,
  type RestoreRun,
  requireFlinkTools,
  restoreAsWritten,
  restoreWithFlink,
  runResult,
} from "../helpers/flink.js";

const GENERATED_ROOT = "/tmp/savepoint-kit-fixtures";
/**
 * The cases covered: canonical and native savepoints of both backends, the retained checkpoint, the
 * retained checkpoint written with file merging (state files as segments of shared physical files),
 * three of the changelog state backend (its changes in changelog files beside the job directories:
 * plain, Snappy-compressed, and materialized with changes since) and one of a job restored in CLAIM
 * mode (its shared files partly in another job's directory).
 */
const CASES = [
  "savepoint-canonical-hashmap",
  "savepoint-canonical-rocksdb",
  "savepoint-native-hashmap",
  "savepoint-native-rocksdb",
  "checkpoint-rocksdb-incremental",
  "checkpoint-rocksdb-file-merging",
  "checkpoint-rocksdb-changelog",
  "checkpoint-rocksdb-changelog-snappy",
  "checkpoint-rocksdb-changelog-materialized",
  "checkpoint-rocksdb-claimed",
];

const V_FULL = "full";
const V_NO_STATS = "without-word-stats";
const V_NO_MINTS = "without-min-ts-no-uid";
const V_SOURCE = "renamed:word-source=word-source-v2";
/** Other operators renamed: keyed state, window state with timers, the broadcast source (coordinator). */
const OTHER_RENAMES = ["word-stats", "word-windows", "rule-applier", "rule-source"];
const renamedVariant = (uid: string) => `renamed:${uid}=${uid}-v2`;
const VARIANTS = [V_FULL, V_NO_STATS, V_NO_MINTS, V_SOURCE, ...OTHER_RENAMES.map(renamedVariant)];

const skip = flinkSkipReason();
const fixtures = listFixtures();
const stores = new StoreRegistry();
const scratch = mkdtempSync(join(tmpdir(), "savepoint-flink-edit-"));
after(async () => {
  await stores.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** A job variant's operators as a job spec: by uid, or by OperatorID for the operator without one. */
function jobSpec(ops: readonly JobGraphOperator[]): JobSpec {
  return { operators: ops.map((o) => (o.uid ? { uid: o.uid } : { operatorId: o.operatorId })) };
}

/** The OperatorID of the operator without uid in a variant. */
function noUidId(ops: readonly JobGraphOperator[]): string {
  const op = ops.find((o) => o.uid === null);
  assert.ok(op, "the job has an operator without uid");
  return op.operatorId;
}

/** What one case's test checks after the restores. */
interface CaseRuns {
  fixture: Fixture;
  source: string;
  /** Plans of the unmodified snapshot per variant. */
  plans: Record<string, RestorePlan>;
  /** Run names. */
  runs: Record<string, string>;
  /** Extra facts gathered while preparing. */
  facts: Record<string, unknown>;
  /** The unmodified snapshot's metadata and its pointer as Flink prints it. */
  loaded: CheckpointMetadata;
  pointer: string;
}

for (const line of flinkLines(fixtures.map((f) => f.id))) {
  const lineFixtures = fixtures.filter(
    (f) => f.id.startsWith(`flink-${line}/`) && CASES.includes(f.expected.case as string),
  );

  describe(`plan, prune, drop and rename, restored by real Flink ${line}`, () => {
    const cases = new Map<string, CaseRuns>();
    let ops: Record<string, JobGraphOperator[]> = {};
    let report: RestoreReport;

    before(async () => {
      if (skip) return;
      requireFlinkTools();
      ops = await jobOperators(line, VARIANTS);
      const root = join(scratch, line);
      const specFiles: Record<string, string> = {};
      mkdirSync(root, { recursive: true });
      for (const v of VARIANTS) {
        specFiles[v] = join(root, `job-${v.replace(/[^a-z0-9-]/gi, "_")}.json`);
        writeFileSync(specFiles[v] as string, JSON.stringify(jobSpec(ops[v] ?? [])));
      }

      const runs: RestoreRun[] = [];
      for (const f of lineFixtures) {
        const caseName = f.expected.case as string;
        const backend = f.expected.backend as "hashmap" | "rocksdb";
        const caseRoot = join(root, caseName);
        // A restorable copy of the fixture: savepoints are copied as they are; the checkpoint's shared
        // files are where fixtures/ stands for /tmp/savepoint-kit-fixtures, so --map them.
        let source: string;
        if (f.expected.snapshotType === "savepoint") {
          source = join(caseRoot, "source", "savepoint");
          cpSync(f.metadataDir, source, { recursive: true });
        } else {
          const jobId = checkpointJobId(f);
          source = join(caseRoot, "source", jobId, "chk-2");
          await relocateSnapshot(f.metadataDir, source, {
            stores,
            maps: [{ from: `file:${GENERATED_ROOT}`, to: FIXTURES_ROOT }],
          });
        }
        const loaded = await loadSnapshot(source, stores);
        const pointer = toFlinkPath(loaded.directory);
        const plans: Record<string, RestorePlan> = {};
        for (const v of VARIANTS) plans[v] = planRestore(loaded.metadata, jobSpec(ops[v] ?? []), pointer);
        const c: CaseRuns = {
          fixture: f,
          source,
          plans,
          runs: {},
          facts: {},
          loaded: loaded.metadata,
          pointer,
        };
        cases.set(caseName, c);
        const add = (key: string, run: Omit<RestoreRun, "name" | "backend">) => {
          const name = `${caseName}: ${key}`;
          c.runs[key] = name;
          runs.push({ name, backend, ...restoreAsWritten(caseName), ...run });
        };
        const out = (name: string) => join(caseRoot, name);
        const write = async (name: string, edited: CheckpointMetadata, copy = false) => {
          const w = await writeEdited(loaded, edited, { stores, target: out(name), copy });
          return w.metadataUri;
        };
        const oldMinTs = noUidId(ops[V_FULL] ?? []);
        const newMinTs = noUidId(ops[V_NO_STATS] ?? []);

        // ---- prune: the job without word-stats
        add("unmodified, without word-stats", {
          snapshot: source,
          variant: V_NO_STATS,
          expect: { outcome: "refused" },
        });
        add("unmodified, without word-stats, --allowNonRestoredState", {
          snapshot: source,
          variant: V_NO_STATS,
          allowNonRestoredState: true,
          expect: { emptyState: ["min-ts-no-uid"] },
        });
        for (const mode of ["reference", "copy"] as const) {
          const dst = out(`pruned-${mode}`);
          const argv = ["prune", source, dst, "--job", specFiles[V_NO_STATS] as string, "--json"];
          const r = await runCli(mode === "copy" ? [...argv, "--copy"] : argv);
          assert.equal(r.exitCode, 0, r.stderr);
          c.facts[`pruned-${mode}`] = JSON.parse(r.stdout);
          add(`pruned (${mode})`, {
            snapshot: dst,
            variant: V_NO_STATS,
            // the operator without uid has another id in the new job: prune drops its state, as
            // Flink does with --allowNonRestoredState
            expect: { emptyState: ["min-ts-no-uid"] },
          });
        }
        {
          // --in-place, on a copy of the source: _metadata rewritten, the old one kept as _metadata.bak-<time>
          const dst = out("pruned-in-place");
          cpSync(source, dst, { recursive: true });
          const r = await runCli([
            "prune",
            dst,
            "--in-place",
            "--job",
            specFiles[V_NO_STATS] as string,
            "--json",
          ]);
          assert.equal(r.exitCode, 0, r.stderr);
          c.facts["pruned-in-place"] = JSON.parse(r.stdout);
          add("pruned (in-place)", {
            snapshot: dst,
            variant: V_NO_STATS,
            expect: { emptyState: ["min-ts-no-uid"] },
          });
        }
        // rename the operator without uid to its new generated id, then prune: nothing else is lost
        {
          const renamed = renameOperator(
            loaded.metadata,
            parseOperatorRef(oldMinTs),
            parseOperatorRef(newMinTs),
          );
          const plan = planRestore(renamed, jobSpec(ops[V_NO_STATS] ?? []), pointer);
          await write("renamed-min-ts-pruned", pruneMetadata(renamed, plan));
          add("min-ts renamed to its new id, then pruned", {
            snapshot: out("renamed-min-ts-pruned"),
            variant: V_NO_STATS,
          });
        }

        // ---- rename: the FLIP-27 source (coordinator state!) and a keyed operator get new uids
        add("unmodified, word-source renamed", {
          snapshot: source,
          variant: V_SOURCE,
          expect: { outcome: "refused" },
        });
        {
          const dst = out("renamed-source");
          const r = await runCli([
            "rename",
            source,
            dst,
            "--from",
            "word-source",
            "--to",
            "word-source-v2",
            "--json",
          ]);
          assert.equal(r.exitCode, 0, r.stderr);
          const m = (await loadSnapshot(dst, stores)).metadata;
          c.facts.renamedSource = m.operatorStates.find(
            (o) => o.operatorId === operatorIdFromUid("word-source-v2"),
          );
          c.facts.renamedSourceVersion = m.version;
          add("word-source renamed", { snapshot: dst, variant: V_SOURCE });
        }
        {
          // control: what Flink's changeOperatorIdentifier does (FLINK-40837): the coordinator state is lost
          const renamed = renameOperator(
            loaded.metadata,
            parseOperatorRef("word-source"),
            parseOperatorRef("word-source-v2"),
          );
          const target = operatorIdFromUid("word-source-v2");
          const lost: CheckpointMetadata = {
            ...renamed,
            operatorStates: renamed.operatorStates.map((o) =>
              o.operatorId === target ? { ...o, coordinatorState: null } : o,
            ),
          };
          add("control: word-source renamed WITHOUT its coordinator state", {
            snapshot: await write("renamed-source-lost-coordinator", lost),
            variant: V_SOURCE,
            expect: { stateMatches: false },
          });
        }
        for (const uid of OTHER_RENAMES) {
          const variant = renamedVariant(uid);
          add(`unmodified, ${uid} renamed`, { snapshot: source, variant, expect: { outcome: "refused" } });
          const edited = renameOperator(
            loaded.metadata,
            parseOperatorRef(uid),
            parseOperatorRef(`${uid}-v2`),
          );
          add(`${uid} renamed`, { snapshot: await write(`renamed-${uid}`, edited), variant });
        }

        // ---- max parallelism: Flink's checks at restore, as plan predicts them
        add("job max parallelism 256", {
          snapshot: source,
          maxParallelism: 256,
          expect: { outcome: "refused" },
        });
        add("job max parallelism 256, --allowNonRestoredState", {
          snapshot: source,
          maxParallelism: 256,
          allowNonRestoredState: true,
          expect: { outcome: "refused" },
        });
        add("parallelism 200 above the state's max parallelism 128", {
          snapshot: source,
          parallelism: 200,
          maxParallelism: null,
          expect: { outcome: "refused" },
        });
        add("max parallelism not set: Flink adopts the state's", { snapshot: source, maxParallelism: null });

        // ---- drop
        add("unmodified, without min-ts-no-uid", {
          snapshot: source,
          variant: V_NO_MINTS,
          expect: { outcome: "refused" },
        });
        await write("dropped-min-ts", dropOperators(loaded.metadata, [parseOperatorRef(oldMinTs)]));
        add("min-ts-no-uid dropped (by OperatorID)", {
          snapshot: out("dropped-min-ts"),
          variant: V_NO_MINTS,
        });
        {
          const dst = out("dropped-stats");
          const r = await runCli(["drop", source, dst, "--operator", "word-stats", "--operator", oldMinTs]);
          assert.equal(r.exitCode, 0, r.stderr);
          add("word-stats (by uid) and the old min-ts id dropped", {
            snapshot: dst,
            variant: V_NO_STATS,
            expect: { emptyState: ["min-ts-no-uid"] },
          });
        }
      }
      report = await restoreWithFlink(line, runs);
      const slowest = [...report.runs].sort((a, b) => b.durationMs - a.durationMs)[0];
      console.log(
        `# Flink ${report.flinkVersion}: ${runs.length} restores in ${report.wallMs} ms ` +
          `(slowest: ${slowest?.name} ${slowest?.durationMs} ms)`,
      );
    });

    it("job variants: uids keep their OperatorIDs (= murmur3 of the uid), the operator without uid does not", {
      skip,
    }, () => {
      for (const v of VARIANTS) {
        for (const o of ops[v] ?? []) {
          if (o.uid) assert.equal(o.operatorId, operatorIdFromUid(o.uid), `${v}: ${o.uid}`);
        }
      }
      const f = lineFixtures[0];
      assert.ok(f);
      assert.deepEqual(
        ops[V_FULL],
        f.expected.jobOperators,
        "the full variant is the job that wrote the fixtures",
      );
      assert.notEqual(noUidId(ops[V_NO_STATS] ?? []), noUidId(ops[V_FULL] ?? []));
      assert.equal(noUidId(ops[V_SOURCE] ?? []), noUidId(ops[V_FULL] ?? []));
    });

    for (const caseName of CASES) {
      const get = () => {
        const c = cases.get(caseName);
        assert.ok(c, `no fixture ${caseName} for Flink ${line}`);
        return { c, r: (key: string) => runResult(report, c.runs[key] as string) };
      };

      it(`${caseName}: Flink refuses the unmodified snapshot for changed jobs exactly as plan predicts`, {
        skip,
      }, () => {
        const { c, r } = get();
        for (const [key, variant] of [
          ["unmodified, without word-stats", V_NO_STATS],
          ["unmodified, word-source renamed", V_SOURCE],
          ...OTHER_RENAMES.map((uid) => [`unmodified, ${uid} renamed`, renamedVariant(uid)] as const),
          ["unmodified, without min-ts-no-uid", V_NO_MINTS],
        ] as const) {
          const run = r(key);
          const plan = c.plans[variant] as RestorePlan;
          assert.equal(run.outcome, "refused", describeRun(run));
          assert.ok(!plan.restorable, `plan must predict the refusal for ${variant}`);
          assert.ok(plan.restorableWithAllowNonRestoredState);
          // Flink reports the first unmapped operator with state, in the snapshot's order: plan's first error
          assert.equal(run.error, plan.errors[0], `${key}: Flink's message vs plan's`);
          const unmapped = plan.operators
            .filter((o) => o.fate === "unmapped-with-state")
            .map((o) => o.operatorId);
          assert.ok(unmapped.some((id) => run.error?.includes(id)));
        }
        assert.ok(c.plans[V_FULL]?.restorable, "the full job maps everything");
      });

      it(`${caseName}: prune output (reference, copy, in-place) restores without --allowNonRestoredState`, {
        skip,
      }, async () => {
        const { c, r } = get();
        const flag = r("unmodified, without word-stats, --allowNonRestoredState");
        assert.ok(flag.expectationMet, describeRun(flag));
        for (const mode of ["reference", "copy", "in-place"]) {
          const run = r(`pruned (${mode})`);
          assert.equal(run.outcome, "restored", describeRun(run));
          assert.ok(run.expectationMet, describeRun(run));
          assert.equal(run.stateMatches, true, describeRun(run));
          const facts = c.facts[`pruned-${mode}`] as {
            dropped: { operatorId: string }[];
            written: { mode: string };
          };
          assert.equal(facts.written.mode, mode);
          const plan = c.plans[V_NO_STATS] as RestorePlan;
          assert.deepEqual(
            facts.dropped.map((o) => o.operatorId).sort(),
            plan.operators
              .filter((o) => o.fate !== "mapped")
              .map((o) => o.operatorId)
              .sort(),
          );
          // the pruned snapshot maps completely onto the new job
          const pruned = await loadSnapshot(run.snapshot, stores);
          assert.ok(planRestore(pruned.metadata, jobSpec(ops[V_NO_STATS] ?? []), "p").restorable);
          if (mode === "in-place") {
            assert.ok(
              readdirSync(run.snapshot).some((n) => n.startsWith("_metadata.bak-")),
              "backup kept",
            );
          }
          if (mode === "copy") {
            const files = await listSnapshotFiles(run.snapshot, { stores });
            const prefix = `${normalizeUri(run.snapshot)}/`;
            assert.ok(
              files.files.every((x) => x.uri.startsWith(prefix)),
              "copy mode is self-contained",
            );
          }
        }
        const both = r("min-ts renamed to its new id, then pruned");
        assert.ok(both.expectationMet, describeRun(both));
        assert.equal(both.stateMatches, true);
      });

      it(`${caseName}: rename keeps the state of sources (enumerator included), keyed, window and broadcast operators`, {
        skip,
      }, () => {
        const { c, r } = get();
        const src = r("word-source renamed");
        assert.equal(src.outcome, "restored", describeRun(src));
        assert.ok(src.expectationMet, describeRun(src));
        const reports = (src.observed.reports ?? {}) as Record<string, Record<string, unknown>[]>;
        const words = (reports.enumerator ?? []).filter((e) => e.source === "words");
        assert.deepEqual(
          words.map((e) => e.restored),
          [true],
          "the renamed source's enumerator is restored from the snapshot",
        );
        const readers = (reports.reader ?? []).filter((e) => e.source === "words");
        assert.deepEqual(
          readers.map((e) => e.emitted),
          [0, 0],
          "no record is emitted again",
        );
        const renamed = c.facts.renamedSource as { uid: string | null; coordinatorState: unknown };
        assert.ok(renamed?.coordinatorState, "the coordinator state moved with the operator");
        assert.equal(renamed.uid, (c.facts.renamedSourceVersion as number) >= 5 ? "word-source-v2" : null);

        const control = r("control: word-source renamed WITHOUT its coordinator state");
        assert.equal(control.outcome, "restored", describeRun(control));
        assert.equal(control.stateMatches, false, "the harness must notice lost coordinator state");
        assert.ok(
          control.differences.some((d) => d.includes("created fresh")),
          control.differences.join("\n"),
        );
        assert.ok(
          control.differences.some((d) => d.includes("re-emitted")),
          control.differences.join("\n"),
        );

        for (const uid of OTHER_RENAMES) {
          const run = r(`${uid} renamed`);
          assert.equal(run.outcome, "restored", describeRun(run));
          assert.ok(run.expectationMet, describeRun(run));
          assert.equal(run.stateMatches, true);
        }
      });

      /** plan's job specs for the max-parallelism runs: max parallelism 256; parallelism 200 (no max). */
      const parallelismPlans = (c: CaseRuns) => {
        const full = ops[V_FULL] ?? [];
        const spec = jobSpec(full).operators;
        return {
          max256: planRestore(
            c.loaded,
            { operators: spec.map((o) => ({ ...o, maxParallelism: 256 })) },
            c.pointer,
          ),
          wide: planRestore(
            c.loaded,
            {
              operators: spec.map((o, i) => ({
                ...o,
                parallelism: full[i]?.uid === "rule-source" ? 1 : 200,
              })),
            },
            c.pointer,
          ),
        };
      };
      /** A message without its "Failed to rollback to checkpoint/savepoint <x>. " prefix. */
      const afterPointer = (m: string) =>
        m.replace(/^Failed to rollback to checkpoint\/savepoint .*?\. (?=[A-Z])/, "");

      it(`${caseName}: Flink's max-parallelism checks at restore fail where plan predicts`, { skip }, () => {
        const { c, r } = get();
        const { max256, wide } = parallelismPlans(c);
        const mismatch = r("job max parallelism 256");
        assert.equal(mismatch.outcome, "refused", describeRun(mismatch));
        assert.ok(!max256.restorable && max256.restorableWithAllowNonRestoredState === false);
        // same operator, same numbers, same wording after the "checkpoint/savepoint <x>" part
        assert.ok(
          max256.errors.map(afterPointer).includes(afterPointer(mismatch.error as string)),
          `${mismatch.error}\nnot among\n${max256.errors.join("\n")}`,
        );

        // --allowNonRestoredState does not help, as plan says (restorableWithAllowNonRestoredState false)
        const withFlag = r("job max parallelism 256, --allowNonRestoredState");
        assert.equal(withFlag.outcome, "refused", describeRun(withFlag));
        assert.equal(afterPointer(withFlag.error as string), afterPointer(mismatch.error as string));

        const tooWide = r("parallelism 200 above the state's max parallelism 128");
        assert.equal(tooWide.outcome, "refused", describeRun(tooWide));
        assert.ok(!wide.restorable);
        assert.ok(
          wide.errors.includes(tooWide.error as string),
          `${tooWide.error}\nnot among\n${wide.errors.join("\n")}`,
        );

        const unset = r("max parallelism not set: Flink adopts the state's");
        assert.ok(unset.expectationMet, describeRun(unset));
        assert.equal(unset.stateMatches, true);
        assert.ok(c.plans[V_FULL]?.restorable);
      });

      // (the wording does not depend on the case: checked on one)
      if (caseName === CASES[0]) {
        it(`${caseName}: plan words the max-parallelism mismatch exactly as Flink`, { skip }, () => {
          const { c, r } = get();
          const mismatch = r("job max parallelism 256");
          assert.ok(
            parallelismPlans(c).max256.errors.includes(mismatch.error as string),
            mismatch.error ?? "",
          );
        });
      }

      it(`${caseName}: drop output restores into the job without the dropped operators`, { skip }, () => {
        const { r } = get();
        for (const key of [
          "min-ts-no-uid dropped (by OperatorID)",
          "word-stats (by uid) and the old min-ts id dropped",
        ]) {
          const run: RestoreResult = r(key);
          assert.equal(run.outcome, "restored", describeRun(run));
          assert.ok(run.expectationMet, describeRun(run));
          assert.equal(run.stateMatches, true);
        }
      });
    }
  });
}
