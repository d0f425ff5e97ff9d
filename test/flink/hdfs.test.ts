/**
 * Issue #5 ("local to HDFS, Flink reading hdfs:// from the test MiniDFSCluster") and the edits of issue #6
 * on HDFS: local fixtures relocated to HDFS with `relocateSnapshot` (our WebHDFS store), and edited there
 * (drop in reference mode, rename in copy mode), are restored by real Flink straight from `hdfs://` (Flink's
 * Hadoop file system, `flink-hadoop-fs` with the shaded Hadoop 3.4 client on the harness classpath), and
 * the restored state equals the model. One savepoint is also moved within HDFS (`move`: WebHDFS renames,
 * nothing copied) and Flink restores it from its new place. The unaligned checkpoint of fixtures/unaligned
 * is relocated to HDFS too; its restored job must replay the records in flight from its channel state.
 *
 * Needs the MiniDFSCluster launcher (`scripts/install-test-servers.sh`, run by `npm test`'s pretest);
 * skipped with `SAVEPOINT_KIT_SKIP_SERVERS=1` or `SAVEPOINT_KIT_SKIP_FLINK=1`.
 */

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { dropOperators, renameOperator, writeEdited } from "../../src/ops/edit.js";
import { listSnapshotFiles } from "../../src/ops/files.js";
import { parseOperatorRef } from "../../src/ops/job-spec.js";
import { loadSnapshot } from "../../src/ops/locate.js";
import { type RelocateReport, relocateSnapshot } from "../../src/ops/relocate.js";
import { createDefaultRegistry } from "../../src/storage/defaults.js";
import type { StoreRegistry } from "../../src/storage/registry.js";
import {
  checkpointJobId,
  FIXTURES_ROOT,
  type Fixture,
  listFixtures,
  listUnalignedFixtures,
} from "../helpers/fixtures.js";
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
import { type HdfsTestCluster, startHdfsCluster } from "../servers/hdfs-server.js";
import { serverSkip } from "../servers/process.js";

const GENERATED_ROOT = "/tmp/savepoint-kit-fixtures";
const skip = flinkSkipReason() ?? (serverSkip("the HDFS test cluster (MiniDFSCluster)") || undefined);
const fixtures = listFixtures();
const scratch = mkdtempSync(join(tmpdir(), "savepoint-flink-hdfs-"));
let cluster: HdfsTestCluster | undefined;
let stores: StoreRegistry | undefined;

before(async () => {
  if (skip) return;
  requireFlinkTools();
  cluster = await startHdfsCluster();
  const nn = `127.0.0.1:${cluster.nameNodeRpcPort}`;
  stores = createDefaultRegistry({
    hdfs: { webhdfs: { [nn]: cluster.webHdfsUrl }, user: cluster.superuser },
    env: {},
  });
});
after(async () => {
  await stores?.close();
  await cluster?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

for (const line of flinkLines(fixtures.map((f) => f.id))) {
  const byCase = (name: string) => fixtures.find((f) => f.id === `flink-${line}/${name}`) as Fixture;

  describe(`HDFS: relocated and edited snapshots, restored by real Flink ${line} from hdfs://`, () => {
    let report: RestoreReport;
    const runs: RestoreRun[] = [];
    let moved: RelocateReport | undefined;
    const movedLeft: string[] = [];

    before(async () => {
      if (skip) return;
      assert.ok(cluster && stores);
      const base = `hdfs://127.0.0.1:${cluster.nameNodeRpcPort}/flink-${line}`;
      for (const name of ["savepoint-canonical-hashmap", "savepoint-native-rocksdb"]) {
        const f = byCase(name);
        const target = `${base}/${name}/savepoint-1`;
        await relocateSnapshot(f.metadataDir, target, { stores });
        runs.push({ name: `${name}: relocated to HDFS`, snapshot: target, backend: f.expected.backend });
      }
      // the checkpoints (incremental; with file merging, whose state files are segments of shared physical
      // files; of the changelog backend, whose changelog files lie beside the job directory, plain, compressed
      // and materialized): --map their
      // files outside chk-2 onto fixtures/ locally, then relocate that copy to HDFS
      for (const name of [
        "checkpoint-rocksdb-incremental",
        "checkpoint-rocksdb-file-merging",
        "checkpoint-rocksdb-changelog",
        "checkpoint-rocksdb-changelog-snappy",
        "checkpoint-rocksdb-changelog-materialized",
        "checkpoint-rocksdb-claimed",
      ]) {
        const chk = byCase(name);
        const jobId = checkpointJobId(chk);
        const stage = join(scratch, line, jobId, "chk-2");
        await relocateSnapshot(chk.metadataDir, stage, {
          stores,
          maps: [{ from: `file:${GENERATED_ROOT}`, to: FIXTURES_ROOT }],
        });
        const chkTarget = `${base}/checkpoints/${name}/new-job/chk-2`;
        await relocateSnapshot(stage, chkTarget, { stores });
        rmSync(join(scratch, line), { recursive: true });
        runs.push({
          name: `${name}: relocated to HDFS`,
          snapshot: chkTarget,
          backend: "rocksdb",
          ...restoreAsWritten(name),
        });
      }

      // the unaligned checkpoint of fixtures/unaligned (channel state files in chk-1; its own job, which must
      // replay the records in flight from them)
      const unaligned = listUnalignedFixtures().find((f) => f.id === `flink-${line}/checkpoint-unaligned`);
      assert.ok(unaligned, `the unaligned checkpoint of Flink ${line}`);
      const unalignedChk = basename(unaligned.metadataDir);
      const unalignedStage = join(scratch, line, checkpointJobId(unaligned), unalignedChk);
      await relocateSnapshot(unaligned.metadataDir, unalignedStage, {
        stores,
        maps: [{ from: `file:${GENERATED_ROOT}`, to: FIXTURES_ROOT }],
      });
      const unalignedTarget = `${base}/checkpoints/checkpoint-unaligned/new-job/${unalignedChk}`;
      await relocateSnapshot(unalignedStage, unalignedTarget, { stores });
      rmSync(join(scratch, line), { recursive: true });
      runs.push(unalignedRun("checkpoint-unaligned: relocated to HDFS", unalignedTarget));

      // --move within the NameNode: every file renamed (WebHDFS RENAME), none copied, nothing left behind
      const toMove = `${base}/move-src/savepoint-native-rocksdb`;
      await relocateSnapshot(byCase("savepoint-native-rocksdb").metadataDir, toMove, { stores });
      const movedTarget = `${base}/moved/savepoint-native-rocksdb`;
      moved = await relocateSnapshot(toMove, movedTarget, { stores, move: true });
      for await (const x of stores.resolve(toMove).store.list(toMove)) movedLeft.push(x.uri);
      runs.push({
        name: "savepoint-native-rocksdb: moved within HDFS (renames)",
        snapshot: movedTarget,
        backend: "rocksdb",
      });

      // edits on HDFS: drop (reference mode: absolute hdfs:// pointers into the source) and rename (copy mode)
      const sp = byCase("savepoint-native-rocksdb");
      const onHdfs = await loadSnapshot(`${base}/savepoint-native-rocksdb/savepoint-1`, stores);
      const noUid = (sp.expected.jobOperators ?? []).find((o) => o.uid === null);
      assert.ok(noUid);
      const dropped = `${base}/edits/dropped-min-ts`;
      await writeEdited(onHdfs, dropOperators(onHdfs.metadata, [parseOperatorRef(noUid.operatorId)]), {
        stores,
        target: dropped,
      });
      runs.push({
        name: "savepoint-native-rocksdb: min-ts-no-uid dropped on HDFS (reference)",
        snapshot: dropped,
        backend: "rocksdb",
        variant: "without-min-ts-no-uid",
      });
      const renamed = `${base}/edits/renamed-source`;
      await writeEdited(
        onHdfs,
        renameOperator(onHdfs.metadata, parseOperatorRef("word-source"), parseOperatorRef("word-source-v2")),
        { stores, target: renamed, copy: true },
      );
      runs.push({
        name: "savepoint-native-rocksdb: word-source renamed on HDFS (copy)",
        snapshot: renamed,
        backend: "rocksdb",
        variant: "renamed:word-source=word-source-v2",
      });

      report = await restoreWithFlink(line, runs);
      console.log(
        `# Flink ${report.flinkVersion}: ${runs.length} restores from hdfs:// in ${report.wallMs} ms (` +
          `${report.runs.map((r) => `${r.name} ${r.durationMs} ms`).join("; ")})`,
      );
    });

    it("--move within the NameNode renamed every file and left nothing at the source", { skip }, () => {
      assert.ok(moved && moved.copies.length > 0);
      assert.equal(moved.totals.moved, moved.copies.length, "every file renamed");
      assert.equal(moved.totals.copied, 0, "none copied");
      assert.deepEqual(movedLeft, [], "nothing left at the source");
    });

    it("every relocated or edited snapshot references only hdfs:// files", { skip }, async () => {
      assert.ok(stores);
      for (const run of runs) {
        const files = await listSnapshotFiles(run.snapshot, { stores });
        const local = files.files.filter((f) => !f.uri.startsWith("hdfs://")).map((f) => f.uri);
        assert.deepEqual(local, [], run.name);
      }
    });

    it("Flink restores each of them from hdfs:// and the state equals the model", { skip }, () => {
      assert.ok(runs.length >= 8);
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
