/**
 * Issue #5, "native-savepoint/CLAIM mixes": the checkpoint a job takes after a CLAIM-mode restore from a
 * native RocksDB savepoint (fixtures/claim-native, written by Flink 1.20.5 and 2.3.0) names the savepoint's
 * re-used SST files by relative pointers that resolve into its own `chk-N`, where they are not
 * (FLINK-39964): Flink refuses it. Relocated with `missingFrom` set to the savepoint's directory, it is
 * restored by real Flink and its state equals the fixture job's model. A control run shows that the files
 * found there are read from the relocated copy: without one of them Flink refuses.
 */

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { relocateSnapshot } from "../../src/ops/relocate.js";
import { StoreRegistry } from "../../src/storage/registry.js";
import { listClaimNativeFixtures } from "../helpers/fixtures.js";
import {
  describeRun,
  flinkLines,
  flinkSkipReason,
  type RestoreReport,
  type RestoreRun,
  requireFlinkTools,
  restoreWithFlink,
  runResult,
} from "../helpers/flink.js";

const skip = flinkSkipReason();
const fixtures = listClaimNativeFixtures();
const stores = new StoreRegistry();
const scratch = mkdtempSync(join(tmpdir(), "savepoint-flink-claim-native-"));
after(async () => {
  await stores.close();
  rmSync(scratch, { recursive: true, force: true });
});

for (const line of flinkLines(fixtures.map((f) => f.id))) {
  const f = fixtures.find((x) => x.id === `flink-${line}/checkpoint-claimed-native`);
  assert.ok(f);
  const snapshot = join(f.caseDir, "snapshot");
  const savepoint = join(f.caseDir, f.expected.savepointDir as string);
  const inSavepoint = f.expected.relativeInSavepoint as string[];

  describe(`a CLAIM-from-native-savepoint checkpoint relocated with missingFrom, restored by real Flink ${line}`, () => {
    const runs: RestoreRun[] = [];
    let report: RestoreReport;

    before(async () => {
      if (skip) return;
      requireFlinkTools();
      const maps = [{ from: `file:${f.expected.generatedUnder}`, to: snapshot }];
      const repaired = join(scratch, line, "repaired", "new-job", "chk-2");
      await relocateSnapshot(f.metadataDir, repaired, { stores, maps, missingFrom: [savepoint] });
      runs.push({ name: "repaired", snapshot: repaired, backend: "rocksdb" });

      const control = join(scratch, line, "control", "new-job", "chk-2");
      await relocateSnapshot(repaired, control, { stores });
      const gone = inSavepoint[0] as string;
      rmSync(join(control, gone));
      runs.push({
        name: "control: a file found in the savepoint deleted",
        snapshot: control,
        backend: "rocksdb",
        expect: { outcome: "refused", errorContains: join(control, gone) },
      });

      report = await restoreWithFlink(line, runs);
      console.log(
        `# Flink ${report.flinkVersion}: ${runs.length} restores in ${report.wallMs} ms (` +
          `${report.runs.map((r) => `${r.name} ${r.durationMs} ms`).join("; ")})`,
      );
    });

    it("Flink restores the relocated checkpoint and its state equals the model", { skip }, () => {
      const r = runResult(report, "repaired");
      assert.equal(r.outcome, "restored", describeRun(r));
      assert.equal(r.stateMatches, true, describeRun(r));
      assert.ok(r.expectationMet, describeRun(r));
      assert.deepEqual(r.jobOperators, f.expected.jobOperators);
    });

    it("control: without a file found in the savepoint, Flink refuses it", { skip }, () => {
      const r = runResult(report, "control: a file found in the savepoint deleted");
      assert.equal(r.outcome, "refused", describeRun(r));
      assert.ok(r.expectationMet, describeRun(r));
    });
  });
}
