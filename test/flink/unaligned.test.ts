/**
 * Issue #5, channel-state handles: unaligned checkpoints that Flink wrote while its job was backpressured
 * (fixtures/unaligned, both lines: 1.20 one handle per channel, 2.3 merged handles per subtask), relocated
 * by `relocateSnapshot` and restored by real Flink. The job restored from them replays the records that
 * were in flight, runs its bounded source to the end, and each key's sum and count must then be those of
 * all records exactly once (the harness's `Unaligned.restoreRun`): a record of the channel state lost,
 * repeated or read from the wrong place shows. The copies relocated are deleted before Flink restores.
 * A control run shows that the restore reads the channel state file: without it Flink refuses.
 *
 * S3 and HDFS relocations of the same checkpoints are restored in test/flink/s3.test.ts and hdfs.test.ts.
 */

import assert from "node:assert/strict";
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { listSnapshotFiles, verifySnapshot } from "../../src/ops/files.js";
import { relocateSnapshot } from "../../src/ops/relocate.js";
import { StoreRegistry } from "../../src/storage/registry.js";
import { normalizeUri } from "../../src/storage/uri.js";
import {
  checkpointJobId,
  FIXTURES_ROOT,
  GENERATED_ROOT,
  listUnalignedFixtures,
} from "../helpers/fixtures.js";
import {
  describeRun,
  flinkLines,
  flinkSkipReason,
  type RestoreReport,
  type RestoreRun,
  requireFlinkTools,
  restoreWithFlink,
  runResult,
  unalignedRun,
} from "../helpers/flink.js";

const skip = flinkSkipReason();
const fixtures = listUnalignedFixtures();
const stores = new StoreRegistry();
const scratch = mkdtempSync(join(tmpdir(), "savepoint-flink-unaligned-"));
after(async () => {
  await stores.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** The relocated checkpoint's files: all under `root`, all present with their sizes. */
async function assertSelfContainedUnder(dir: string, root: string) {
  const files = await listSnapshotFiles(dir, { stores });
  const prefix = `${normalizeUri(root)}/`;
  const outside = files.files.filter((f) => !f.uri.startsWith(prefix)).map((f) => f.uri);
  assert.deepEqual(outside, [], `${dir} references files outside ${root}`);
  const v = await verifySnapshot(dir, { stores });
  assert.ok(
    v.ok,
    JSON.stringify(v.problems, (_k, x) => (typeof x === "bigint" ? String(x) : x)),
  );
  return files;
}

for (const line of flinkLines(fixtures.map((f) => f.id))) {
  const f = fixtures.find((x) => x.id === `flink-${line}/checkpoint-unaligned`);
  assert.ok(f, `fixtures/unaligned/flink-${line}/checkpoint-unaligned`);
  const jobId = checkpointJobId(f);
  const chk = basename(f.metadataDir);
  const channelFiles = (f.expected.channelStateFiles as string[]).map((p) => basename(p));

  describe(`unaligned checkpoint relocated, restored by real Flink ${line}`, () => {
    const runs: RestoreRun[] = [];
    const targets = new Map<string, string>();
    let report: RestoreReport;

    before(async () => {
      if (skip) return;
      requireFlinkTools();
      const root = join(scratch, line);
      // (1) as issue #5 says: --map the shared files onto fixtures/ into a first copy, relocate that copy
      // to another job directory, delete the first copy
      const stage1 = join(root, "stage1");
      await relocateSnapshot(f.metadataDir, join(stage1, jobId, chk), {
        stores,
        maps: [{ from: `file:${GENERATED_ROOT}`, to: FIXTURES_ROOT }],
      });
      const relocatedRoot = join(root, "relocated");
      const relocated = join(relocatedRoot, "new-job", chk);
      await relocateSnapshot(join(stage1, jobId, chk), relocated, { stores });
      rmSync(stage1, { recursive: true });
      targets.set("relocated", relocatedRoot);
      runs.push(unalignedRun("relocated", relocated));

      // (2) Flink's own layout copied, then moved (--move) to another job directory: the channel state
      // files are renamed with chk-N, the shared files into <new job>/shared/
      const tree = join(root, "tree");
      cpSync(join(f.caseDir, "snapshot"), tree, { recursive: true });
      const sibling = join(tree, jobId, "chk-9");
      await relocateSnapshot(join(tree, jobId, chk), sibling, {
        stores,
        maps: [{ from: `file:${f.expected.generatedUnder}`, to: tree }],
      });
      const movedRoot = join(root, "moved");
      const moved = join(movedRoot, "other-job", "chk-9");
      const mv = await relocateSnapshot(sibling, moved, { stores, move: true });
      assert.ok(
        mv.copies.some((c) => channelFiles.some((n) => c.from.endsWith(`/${n}`)) && c.outcome === "moved"),
        "the channel state files were moved",
      );
      rmSync(tree, { recursive: true });
      targets.set("moved", movedRoot);
      runs.push(unalignedRun("moved", moved));

      // (3) control: a relocated copy without its channel state files is refused
      const controlRoot = join(root, "control");
      const control = join(controlRoot, "new-job", chk);
      await relocateSnapshot(relocated, control, { stores });
      for (const n of channelFiles) rmSync(join(control, n));
      runs.push(
        unalignedRun("control: channel state files deleted", control, {
          outcome: "refused",
          // FileNotFoundException naming the missing file in the control copy
          errorContains: control,
        }),
      );

      report = await restoreWithFlink(line, runs);
      console.log(
        `# Flink ${report.flinkVersion}: ${runs.length} restores in ${report.wallMs} ms (` +
          `${report.runs.map((r) => `${r.name} ${r.durationMs} ms`).join("; ")})`,
      );
    });

    it("the relocated checkpoints reference only their own copies, channel state files among them", {
      skip,
    }, async () => {
      for (const [name, root] of targets) {
        const run = runs.find((r) => r.name === name);
        assert.ok(run);
        const files = await assertSelfContainedUnder(run.snapshot, root);
        for (const n of channelFiles) {
          const file = files.files.find((x) => x.uri.endsWith(`/${n}`));
          assert.ok(file, `${name}: ${n} is referenced`);
          assert.equal(file.location, "exclusive", `${name}: ${n} lies in the checkpoint's directory`);
          assert.ok(existsSync(join(run.snapshot, n)), `${name}: ${n} was copied`);
        }
      }
      assert.deepEqual(readdirSync(join(scratch, line)).sort(), ["control", "moved", "relocated"]);
    });

    it("Flink replays the records in flight from the relocated channel state: every key's sum and count exact", {
      skip,
    }, () => {
      for (const name of targets.keys()) {
        const r = runResult(report, name);
        assert.equal(r.outcome, "restored", describeRun(r));
        assert.equal(r.stateMatches, true, describeRun(r));
        assert.deepEqual(r.differences, []);
        assert.ok(r.expectationMet, describeRun(r));
        // the job Flink restored is the job that wrote the checkpoint (same operator ids)
        assert.deepEqual(r.jobOperators, f.expected.jobOperators);
        // the restored job went on from the checkpoint: fewer records than all were summed after it
        const summed = (r.observed as { summed: number }).summed;
        assert.ok(summed > 0 && summed < Number(f.expected.records), `${summed} records summed`);
      }
    });

    it("control: without its channel state files Flink refuses the checkpoint", { skip }, () => {
      const r = runResult(report, "control: channel state files deleted");
      assert.equal(r.outcome, "refused", describeRun(r));
      assert.ok(r.expectationMet, describeRun(r));
    });
  });
}
