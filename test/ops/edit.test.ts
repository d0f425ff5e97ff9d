import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { runCli } from "../../src/cli/main.js";
import { InvalidArgumentError } from "../../src/errors.js";
import { readMetadata } from "../../src/formats/metadata/index.js";
import { operatorIdFromUid } from "../../src/formats/operator-id.js";
import { dropOperators, pruneMetadata, renameOperator, writeEdited } from "../../src/ops/edit.js";
import { verifySnapshot } from "../../src/ops/files.js";
import { inspectSnapshot } from "../../src/ops/inspect.js";
import { type JobSpec, parseJobSpec, parseOperatorRef } from "../../src/ops/job-spec.js";
import { loadSnapshot } from "../../src/ops/locate.js";
import { operatorHasState, planRestore } from "../../src/ops/restore-plan.js";
import { StoreRegistry } from "../../src/storage/registry.js";
import { listFixtures } from "../helpers/fixtures.js";

const fixtures = listFixtures();
const stores = new StoreRegistry();
const scratch = mkdtempSync(join(tmpdir(), "savepoint-edit-"));
after(async () => {
  await stores.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** The job the harness ran, as a job spec: every operator by uid, or by OperatorID when it has none. */
function harnessJob(f: (typeof fixtures)[number]): JobSpec {
  const ops = (f.expected.jobOperators ?? []).map((j) =>
    j.uid ? { uid: j.uid } : { operatorId: j.operatorId },
  );
  return { operators: ops };
}

describe("plan", () => {
  for (const f of fixtures) {
    it(`${f.id}: the job that wrote it maps everything; without one stateful operator it does not`, async () => {
      const loaded = await loadSnapshot(f.metadataDir, stores);
      const job = harnessJob(f);
      const full = planRestore(loaded.metadata, job, "ptr");
      assert.ok(full.restorable, full.errors.join("\n"));
      assert.ok(full.operators.every((o) => o.fate === "mapped" || o.fate === "unmapped-empty"));

      const stateful = loaded.metadata.operatorStates.find(
        (o) => operatorHasState(o) && o.operatorId !== job.operators[0]?.operatorId,
      );
      assert.ok(stateful);
      const smaller = {
        operators: job.operators.filter(
          (o) =>
            o.operatorId !== stateful.operatorId &&
            (o.uid === undefined || operatorIdFromUid(o.uid) !== stateful.operatorId),
        ),
      };
      const p = planRestore(loaded.metadata, smaller, "file:/x");
      assert.ok(!p.restorable);
      assert.ok(p.restorableWithAllowNonRestoredState);
      assert.deepEqual(
        p.operators.filter((o) => o.fate === "unmapped-with-state").map((o) => o.operatorId),
        [stateful.operatorId],
      );
      assert.match(
        p.errors[0] as string,
        /^Failed to rollback to checkpoint\/savepoint file:\/x\. Cannot map checkpoint\/savepoint state for operator [0-9a-f]{32} to the new program/,
      );
    });
  }

  it("applies Flink's max-parallelism checks", async () => {
    const f = fixtures[0];
    assert.ok(f);
    const loaded = await loadSnapshot(f.metadataDir, stores);
    const op = loaded.metadata.operatorStates.find((o) => operatorHasState(o));
    assert.ok(op);
    const mismatch = planRestore(
      loaded.metadata,
      { operators: [{ operatorId: op.operatorId, maxParallelism: op.maxParallelism * 2 }] },
      "p",
    );
    assert.ok(
      mismatch.errors.some(
        (e) =>
          e.includes(`Max parallelism mismatch`) &&
          e.includes(
            `max parallelism ${op.maxParallelism} to new program with max parallelism ${op.maxParallelism * 2}`,
          ),
      ),
    );
    assert.ok(!mismatch.restorableWithAllowNonRestoredState);
    const tooWide = planRestore(
      loaded.metadata,
      { operators: [{ operatorId: op.operatorId, parallelism: op.maxParallelism + 1 }] },
      "p",
    );
    assert.ok(
      tooWide.errors.some((e) =>
        e.includes(
          `The maximum parallelism (${op.maxParallelism}) of the restored state is lower than the configured parallelism (${op.maxParallelism + 1})`,
        ),
      ),
    );
  });

  it("validates job specs against the schema", async () => {
    assert.deepEqual(await parseJobSpec({ operators: [{ uid: "a", parallelism: 2 }] }), {
      operators: [{ uid: "a", parallelism: 2 }],
    });
    await assert.rejects(parseJobSpec({ operators: [{ parallelism: 2 }] }), InvalidArgumentError);
    await assert.rejects(parseJobSpec({ operators: [{ operatorId: "xyz" }] }), InvalidArgumentError);
    await assert.rejects(parseJobSpec({ ops: [] }), InvalidArgumentError);
  });

  it("exits 7 from the CLI when Flink would refuse, 0 when it would restore", async () => {
    const f = fixtures.find((x) => x.expected.metadataVersion === 6);
    assert.ok(f);
    const job = harnessJob(f);
    const file = join(scratch, "job.json");
    writeFileSync(file, JSON.stringify(job));
    assert.equal((await runCli(["plan", f.metadataDir, "--job", file])).exitCode, 0);
    const r = await runCli(["plan", f.metadataDir, "--operator", "word-source"]);
    assert.equal(r.exitCode, 7);
    assert.match(r.stdout, /NOT MAPPED \(has state\)/);
    writeFileSync(file, JSON.stringify({ operators: [{ name: "no id" }] }));
    const bad = await runCli(["plan", f.metadataDir, "--job", file]);
    assert.equal(bad.exitCode, 64);
    assert.match(bad.stderr, /schemas\/job.schema.json/);
  });
});

describe("prune, drop and rename", () => {
  const f = fixtures.find((x) => x.id.endsWith("flink-2.3/savepoint-canonical-rocksdb")) ?? fixtures[0];

  it("prune keeps exactly the mapped operators and references the source's files", async () => {
    assert.ok(f);
    const loaded = await loadSnapshot(f.metadataDir, stores);
    const job = { operators: harnessJob(f).operators.filter((o) => o.uid !== "word-stats") };
    const plan = planRestore(loaded.metadata, job, "p");
    const pruned = pruneMetadata(loaded.metadata, plan);
    assert.deepEqual(
      pruned.operatorStates.map((o) => o.operatorId),
      plan.operators.filter((o) => o.fate === "mapped").map((o) => o.operatorId),
    );
    assert.ok(!pruned.operatorStates.some((o) => o.operatorId === operatorIdFromUid("word-stats")));
    const out = join(scratch, "pruned");
    const w = await writeEdited(loaded, pruned, { stores, target: out });
    assert.equal(w.mode, "reference");
    assert.ok((await verifySnapshot(out, { stores })).ok);
    assert.ok(planRestore(readMetadata(readFileSync(join(out, "_metadata"))), job, "p").restorable);
    // Nothing was copied: the directory holds only _metadata.
    assert.deepEqual(readdirSync(out), ["_metadata"]);
  });

  it("prune --copy writes a self-contained snapshot without the dropped operator's files", async () => {
    assert.ok(f);
    const job = join(scratch, "job-copy.json");
    writeFileSync(
      job,
      JSON.stringify({ operators: harnessJob(f).operators.filter((o) => o.uid !== "word-stats") }),
    );
    const out = join(scratch, "pruned-copy");
    const r = await runCli(["prune", f.metadataDir, out, "--job", job, "--copy"]);
    assert.equal(r.exitCode, 0, r.stderr);
    const report = await inspectSnapshot(out, { stores });
    assert.ok(!report.operators.some((o) => o.uid === "word-stats"));
    const v = await verifySnapshot(out, { stores });
    assert.ok(v.ok && v.selfContained);
  });

  it("drop refuses unknown operators and removes known ones", async () => {
    assert.ok(f);
    const loaded = await loadSnapshot(f.metadataDir, stores);
    assert.throws(
      () => dropOperators(loaded.metadata, [parseOperatorRef("no-such-uid")]),
      InvalidArgumentError,
    );
    const dropped = dropOperators(loaded.metadata, [parseOperatorRef("word-windows")]);
    assert.equal(dropped.operatorStates.length, loaded.metadata.operatorStates.length - 1);
  });

  it("rename moves all state, coordinator state included, and updates stored uids", async () => {
    assert.ok(f);
    const loaded = await loadSnapshot(f.metadataDir, stores);
    const source = loaded.metadata.operatorStates.find((o) => o.uid === "word-source");
    assert.ok(source?.coordinatorState, "the FLIP-27 source has coordinator state");
    const renamed = renameOperator(
      loaded.metadata,
      parseOperatorRef("word-source"),
      parseOperatorRef("words-v2"),
    );
    const moved = renamed.operatorStates.find((o) => o.operatorId === operatorIdFromUid("words-v2"));
    assert.ok(moved);
    assert.deepEqual(moved.coordinatorState, source.coordinatorState);
    assert.deepEqual(moved.subtaskStates, source.subtaskStates);
    assert.equal(moved.uid, loaded.metadata.version >= 5 ? "words-v2" : source.uid);
    assert.throws(
      () => renameOperator(loaded.metadata, parseOperatorRef("word-source"), parseOperatorRef("word-stats")),
      InvalidArgumentError,
    );
    const forced = renameOperator(
      loaded.metadata,
      parseOperatorRef("word-source"),
      parseOperatorRef("word-stats"),
      true,
    );
    assert.equal(forced.operatorStates.length, loaded.metadata.operatorStates.length - 1);
  });

  it("--in-place keeps a backup and --dry-run writes nothing", async () => {
    assert.ok(f);
    const dir = join(scratch, "inplace");
    cpSync(f.metadataDir, dir, { recursive: true });
    const before = readFileSync(join(dir, "_metadata"));
    const dry = await runCli(["drop", dir, "--in-place", "--operator", "word-windows", "--dry-run"]);
    assert.equal(dry.exitCode, 0, dry.stderr);
    assert.deepEqual(readFileSync(join(dir, "_metadata")), before);
    const r = await runCli(["drop", dir, "--in-place", "--operator", "word-windows"]);
    assert.equal(r.exitCode, 0, r.stderr);
    const backup = readdirSync(dir).find((n) => n.startsWith("_metadata.bak-"));
    assert.ok(backup);
    assert.deepEqual(readFileSync(join(dir, backup)), before);
    const after = readMetadata(readFileSync(join(dir, "_metadata")));
    assert.ok(!after.operatorStates.some((o) => o.operatorId === operatorIdFromUid("word-windows")));
    assert.ok((await verifySnapshot(dir, { stores })).ok);
  });
});
