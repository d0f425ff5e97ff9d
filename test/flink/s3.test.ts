/**
 * Issue #5 ("Flink restoring from S3"): local fixtures relocated to S3 with `relocateSnapshot` (our S3
 * store, on the moto test server) are restored by real Flink straight from `s3://`, and the restored
 * state equals the model. Flink reads S3 through `flink-s3-fs-hadoop` (S3FileSystemFactory over Hadoop's
 * S3A), loaded as a plugin by the harness and configured with the options a user gives Flink for an
 * S3-compatible endpoint ({@link flinkS3Config}); the local copies are deleted before Flink runs, so
 * every byte it restores comes from S3. Among them the unaligned checkpoint of fixtures/unaligned, whose
 * restored job must replay the records in flight from its channel state (`unalignedRun`).
 *
 * Needs moto (`scripts/install-test-servers.sh`, run by `npm test`'s pretest); skipped with
 * `SAVEPOINT_KIT_SKIP_SERVERS=1` or `SAVEPOINT_KIT_SKIP_FLINK=1`.
 */

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { cpSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { listSnapshotFiles } from "../../src/ops/files.js";
import { relocateSnapshot } from "../../src/ops/relocate.js";
import { createDefaultRegistry } from "../../src/storage/defaults.js";
import type { StoreRegistry } from "../../src/storage/registry.js";
import { checkpointJobId, type Fixture, listFixtures, listUnalignedFixtures } from "../helpers/fixtures.js";
import {
  describeRun,
  flinkLines,
  flinkSkipReason,
  keyedBackendWrappers,
  type RestoreReport,
  type RestoreRun,
  requireFlinkTools,
  restoreAsWritten,
  restoreWithFlink,
  runResult,
  unalignedRun,
} from "../helpers/flink.js";
import { serverSkip } from "../servers/process.js";
import { flinkS3Config, type S3TestServer, s3StoreOptions, startS3Server } from "../servers/s3-server.js";

const skip = flinkSkipReason() ?? (serverSkip("the S3 test server (moto)") || undefined);
const fixtures = listFixtures();
const scratch = mkdtempSync(join(tmpdir(), "savepoint-flink-s3-"));
const bucket = `spk-flink-${randomBytes(4).toString("hex")}`;
let s3: S3TestServer | undefined;
let stores: StoreRegistry | undefined;

before(async () => {
  if (skip) return;
  requireFlinkTools();
  s3 = await startS3Server();
  await s3.createBucket(bucket);
  stores = createDefaultRegistry({
    s3: s3StoreOptions(s3),
    env: {},
  });
});
after(async () => {
  await stores?.close();
  await s3?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

/**
 * The retained checkpoints relocated to S3: incremental, with file merging, of the changelog backend
 * (plain, compressed, materialized), claimed.
 */
const CHECKPOINT_CASES = [
  "checkpoint-rocksdb-incremental",
  "checkpoint-rocksdb-file-merging",
  "checkpoint-rocksdb-changelog",
  "checkpoint-rocksdb-changelog-snappy",
  "checkpoint-rocksdb-changelog-materialized",
  "checkpoint-rocksdb-claimed",
];

for (const line of flinkLines(fixtures.map((f) => f.id))) {
  const byCase = (name: string) => fixtures.find((f) => f.id === `flink-${line}/${name}`) as Fixture;

  describe(`S3: relocated snapshots, restored by real Flink ${line} from s3://`, () => {
    let report: RestoreReport;
    const runs: RestoreRun[] = [];

    before(async () => {
      if (skip) return;
      assert.ok(s3 && stores);
      const base = `s3://${bucket}/flink-${line}`;
      // savepoints (the cases whose state is in files, not inline): relocated from the repository's
      // fixtures; their pointers are relative, so nothing local remains
      for (const name of ["savepoint-canonical-rocksdb", "savepoint-native-rocksdb"]) {
        const f = byCase(name);
        const target = `${base}/savepoints/${name}`;
        await relocateSnapshot(f.metadataDir, target, { stores });
        runs.push({ name: `${name}: relocated to S3`, snapshot: target, backend: f.expected.backend });
      }
      // the checkpoints, laid out as Flink wrote them (<job>/chk-2 beside <job>/shared and
      // <job>/taskowned; the changelog backend's changelog/ beside <job>): a local copy of the fixture's
      // directories (--map points the absolute pointers at the copy), relocated to S3, where chk-2 brings
      // ../shared and ../taskowned along (file merging's physical files among them) and the changelog
      // files land in its external/; then the local copy is deleted
      // and the unaligned checkpoint of fixtures/unaligned (channel state files in chk-1; its own job)
      const unaligned = listUnalignedFixtures().find((f) => f.id === `flink-${line}/checkpoint-unaligned`);
      assert.ok(unaligned, `the unaligned checkpoint of Flink ${line}`);
      for (const [name, chk] of [
        ...CHECKPOINT_CASES.map((n) => [n, byCase(n)] as const),
        ["checkpoint-unaligned", unaligned] as const,
      ]) {
        const jobId = checkpointJobId(chk);
        const chkName = basename(chk.metadataDir);
        const stageRoot = join(scratch, line);
        const stageJob = join(stageRoot, jobId);
        // every directory of the snapshot but chk-N itself: <job>/shared, <job>/taskowned, changelog/,
        // the claimed checkpoint's first job
        cpSync(join(chk.caseDir, "snapshot"), stageRoot, {
          recursive: true,
          filter: (src) => src !== chk.metadataDir,
        });
        const stage = join(stageJob, chkName);
        await relocateSnapshot(chk.metadataDir, stage, {
          stores,
          maps: [{ from: `file:${chk.expected.generatedUnder}`, to: stageRoot }],
        });
        const chkTarget = `${base}/checkpoints/${name}/new-job/${chkName}`;
        await relocateSnapshot(stage, chkTarget, { stores });
        rmSync(join(scratch, line), { recursive: true });
        assert.equal(existsSync(stage), false);
        runs.push(
          chk === unaligned
            ? unalignedRun(`${name}: relocated to S3`, chkTarget)
            : {
                name: `${name}: relocated to S3`,
                snapshot: chkTarget,
                backend: "rocksdb",
                ...restoreAsWritten(name),
              },
        );
      }

      report = await restoreWithFlink(line, runs, { config: flinkS3Config(s3) });
      console.log(
        `# Flink ${report.flinkVersion}: ${runs.length} restores from s3:// in ${report.wallMs} ms (` +
          `${report.runs.map((r) => `${r.name} ${r.durationMs} ms`).join("; ")})`,
      );
    });

    it("every relocated snapshot references only s3:// files, the checkpoint's shared/ ones included", {
      skip,
    }, async () => {
      assert.ok(stores);
      for (const run of runs) {
        const files = await listSnapshotFiles(run.snapshot, { stores });
        assert.ok(files.files.length > 0, run.name);
        const elsewhere = files.files.filter((f) => !f.uri.startsWith(`s3://${bucket}/`)).map((f) => f.uri);
        assert.deepEqual(elsewhere, [], run.name);
      }
      for (const chk of runs.filter(
        (r) => r.name.startsWith("checkpoint") && !r.name.includes("changelog"),
      )) {
        const shared = (await listSnapshotFiles(chk.snapshot, { stores })).files.filter((f) =>
          f.uri.includes("/new-job/shared/"),
        );
        assert.ok(shared.length > 0, `${chk.name}: the shared files were relocated beside chk-2`);
      }
    });

    it("Flink restores each of them from s3:// and the state equals the model", { skip }, () => {
      assert.equal(runs.length, 2 + CHECKPOINT_CASES.length + 1);
      for (const run of runs) {
        const r = runResult(report, run.name);
        assert.equal(r.outcome, "restored", describeRun(r));
        assert.equal(r.stateMatches, true, describeRun(r));
        assert.ok(r.expectationMet, describeRun(r));
        // the changelog checkpoint is restored by the changelog state backend, as its owner's job would
        if (run.name.includes("changelog"))
          assert.ok(
            keyedBackendWrappers(r).some((w) => w.includes("ChangelogKeyedStateBackend")),
            describeRun(r),
          );
      }
    });
  });
}
