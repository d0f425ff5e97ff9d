/**
 * Issue #5, "Proof with real Flink": snapshots relocated by `relocateSnapshot` are restored by real Flink
 * (both lines: 1.20 writes metadata V4, 2.3 writes V6) and the restored state equals the model
 * (`fixtures/flink-<x.y>/job-data.json`): keyed value/list/map (TTL) state per key, window contents and
 * timers (the open windows fire after the restore, nothing else), operator list and union state,
 * broadcast state, and the sources' enumerator (coordinator) state and reader splits (nothing is
 * re-assigned or re-emitted). The copy that was relocated is deleted before Flink restores, and the
 * relocated snapshot references only files under its own directory tree. The relocated savepoints' copies
 * are made durable by one `syncfs` (`syncfsStores`), the others' by an `fdatasync` per file (fewer files
 * than the default threshold), so Flink restores copies committed either way; RocksDB savepoints are also
 * relocated with `sync: false` (`--no-sync`: copies verified by the status their worker read).
 *
 * All restores of a line run in one JVM (`fixtures/harness.sh <line> restore`).
 */

import assert from "node:assert/strict";
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { listSnapshotFiles, verifySnapshot } from "../../src/ops/files.js";
import { relocateSnapshot } from "../../src/ops/relocate.js";
import { LocalStore } from "../../src/storage/local.js";
import { StoreRegistry } from "../../src/storage/registry.js";
import { syncFileSystem, syncfsReportsErrors } from "../../src/storage/sync-file-system.js";
import { normalizeUri } from "../../src/storage/uri.js";
import { checkpointJobId, FIXTURES_ROOT, type Fixture, listFixtures } from "../helpers/fixtures.js";
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
} from "../helpers/flink.js";

/** Where Flink wrote the fixtures; the repo's fixtures/ stands for it (fixtures/README.md). */
const GENERATED_ROOT = "/tmp/savepoint-kit-fixtures";

const skip = flinkSkipReason();
const fixtures = listFixtures();
const stores = new StoreRegistry();
/**
 * Durable local copies committed by one `syncfs` of the file system even for a few files (the default
 * takes that path from 64 files, more than the fixtures have), so that Flink restores copies made
 * durable that way too; `syncfsRuns` counts the syncs that took place.
 */
let syncfsRuns = 0;
const syncfsStores = new StoreRegistry().register(
  ["file"],
  () =>
    new LocalStore({
      syncFileSystemMinFiles: 1,
      syncFileSystem: async (path) => {
        const done = await syncFileSystem(path);
        if (done) syncfsRuns++;
        return done;
      },
    }),
);
const scratch = mkdtempSync(join(tmpdir(), "savepoint-flink-relocate-"));
after(async () => {
  await stores.close();
  await syncfsStores.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** Every file the snapshot at `dir` references lies under one of `roots`, and exists with its size. */
async function assertSelfContainedUnder(dir: string, roots: readonly string[]) {
  const files = await listSnapshotFiles(dir, { stores });
  const prefixes = roots.map((r) => `${normalizeUri(r)}/`);
  const outside = files.files.filter((f) => !prefixes.some((p) => f.uri.startsWith(p))).map((f) => f.uri);
  assert.deepEqual(outside, [], `${dir} references files outside ${roots.join(", ")}`);
  const v = await verifySnapshot(dir, { stores });
  assert.ok(
    v.ok,
    JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x)),
  );
  return files;
}

/** One relocated snapshot to restore. */
interface Prepared {
  name: string;
  fixture: Fixture;
  target: string;
  /** Every file the snapshot references must lie under one of these directories. */
  roots: string[];
  /** Directories whose files must be gone before the restore. */
  deleted: string[];
}

/** Regular files under `dir` (none when it does not exist). */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

/** A directory name with characters that URIs and Flink's Path treat specially. */
const ODD_DIR = "odd dir #%ü+;";

for (const line of flinkLines(fixtures.map((f) => f.id))) {
  const lineFixtures = fixtures.filter((f) => f.id.startsWith(`flink-${line}/`));

  describe(`relocate, restored by real Flink ${line}`, () => {
    const prepared: Prepared[] = [];
    let report: RestoreReport;

    before(async () => {
      if (skip) return;
      requireFlinkTools();
      const syncfsBefore = syncfsRuns;
      const root = join(scratch, line);
      for (const f of lineFixtures) {
        const caseName = f.expected.case as string;
        if (f.expected.snapshotType === "savepoint") {
          // copy the fixture, relocate the copy, delete the copy
          const source = join(root, caseName, "source", "savepoint-src");
          cpSync(f.metadataDir, source, { recursive: true });
          const target = join(root, caseName, "relocated", "savepoint-moved");
          const runs = syncfsRuns;
          const relocated = await relocateSnapshot(source, target, { stores: syncfsStores });
          // where `sync -f` is reliable (Linux 5.8+) the copies (if any: small state is inline) were made
          // durable by it
          const expected = relocated.totals.copied > 0 && syncfsReportsErrors() ? 1 : 0;
          assert.equal(syncfsRuns - runs, expected, `${caseName}: syncfs runs`);
          rmSync(join(root, caseName, "source"), { recursive: true });
          prepared.push({
            name: `${caseName}: relocated savepoint`,
            fixture: f,
            target,
            roots: [target],
            deleted: [source],
          });
          if (f.expected.case.includes("rocksdb")) {
            // --no-sync: each copy made and named on a worker, verified by the status that worker read
            const unsyncedSource = join(root, caseName, "unsynced-source", "savepoint-src");
            cpSync(f.metadataDir, unsyncedSource, { recursive: true });
            const unsyncedTarget = join(root, caseName, "unsynced", "savepoint-copied");
            const u = await relocateSnapshot(unsyncedSource, unsyncedTarget, { stores, sync: false });
            assert.ok(u.totals.copied > 0, `${caseName}: files copied without sync`);
            rmSync(join(root, caseName, "unsynced-source"), { recursive: true });
            prepared.push({
              name: `${caseName}: savepoint relocated with --no-sync`,
              fixture: f,
              target: unsyncedTarget,
              roots: [unsyncedTarget],
              deleted: [unsyncedSource],
            });
            // --move on one file system: the tool renames each file (no bytes copied), then deletes the
            // source's _metadata once the target is written
            const moveSource = join(root, caseName, "move-source", "savepoint-src");
            cpSync(f.metadataDir, moveSource, { recursive: true });
            const moveTarget = join(root, caseName, ODD_DIR, "savepoint-moved");
            const r = await relocateSnapshot(moveSource, moveTarget, { stores, move: true });
            assert.equal(r.totals.moved, r.copies.length);
            assert.deepEqual(filesUnder(moveSource), [], "move leaves the source empty");
            prepared.push({
              name: `${caseName}: savepoint relocated with move`,
              fixture: f,
              target: moveTarget,
              roots: [moveTarget],
              deleted: [moveSource],
            });
          }
        } else {
          const jobId = checkpointJobId(f);
          const chk = f.metadataDir.split("/").pop() as string;
          const maps = [{ from: `file:${GENERATED_ROOT}`, to: FIXTURES_ROOT }];
          // (1) --map only: the shared files stay where fixtures/ stands for /tmp/savepoint-kit-fixtures
          // (pointers rewritten, nothing copied but the checkpoint's own directory)
          const mapped = join(root, caseName, "mapped", jobId, chk);
          const m = await relocateSnapshot(f.metadataDir, mapped, { stores, maps });
          assert.ok(m.mapped.length > 0, "the checkpoint references shared files");
          prepared.push({
            name: `${caseName}: checkpoint with --map onto fixtures/`,
            fixture: f,
            target: mapped,
            roots: [join(root, caseName, "mapped"), FIXTURES_ROOT],
            deleted: [],
          });

          // (2) as issue #5 says: --map into a first copy, relocate that copy, delete it
          const stage1Root = join(root, caseName, "stage1");
          const stage1 = join(stage1Root, jobId, chk);
          await relocateSnapshot(f.metadataDir, stage1, { stores, maps });
          const movedRoot = join(root, caseName, "relocated");
          const moved = join(movedRoot, "new-job", chk);
          await relocateSnapshot(stage1, moved, { stores });
          rmSync(stage1Root, { recursive: true });
          prepared.push({
            name: `${caseName}: relocated checkpoint (shared files from the --map copy)`,
            fixture: f,
            target: moved,
            roots: [movedRoot],
            deleted: [stage1Root],
          });

          // (3) Flink's own layout, <job>/chk-N next to <job>/shared/: a copy of the whole tree whose
          // pointers are mapped onto it (a sibling chk directory), then moved (--move) to another job
          // directory under an odd name: shared files must land in <new job>/shared/.
          const treeRoot = join(root, caseName, "tree");
          cpSync(join(f.caseDir, "snapshot"), treeRoot, { recursive: true });
          const sibling = join(treeRoot, jobId, "chk-9");
          await relocateSnapshot(join(treeRoot, jobId, chk), sibling, {
            stores,
            maps: [{ from: `file:${f.expected.generatedUnder}`, to: treeRoot }],
          });
          const layoutRoot = join(root, caseName, ODD_DIR);
          const layoutTarget = join(layoutRoot, "other-job", "chk-9");
          const mv = await relocateSnapshot(sibling, layoutTarget, { stores, move: true });
          // (the changelog state backend's changes lie in changelog files beside the job directories, the
          // other checkpoints' shared state in <job>/shared/)
          const movedFrom = caseName.includes("changelog") ? "/changelog/" : "/shared/";
          assert.ok(
            mv.copies.some((c) => c.from.includes(movedFrom) && c.outcome === "moved"),
            `move renames the ${movedFrom} files`,
          );
          for (const gone of [join(treeRoot, jobId, "shared"), join(treeRoot, "changelog"), sibling]) {
            // (the harness's .gitkeep files keep Flink's empty directories in git, e.g. a file-merging
            // checkpoint's shared/<subtask> directories of stateless subtasks; no handle references them)
            const left = filesUnder(gone).filter((p) => !p.endsWith("/.gitkeep"));
            assert.deepEqual(left, [], `move leaves ${gone} empty`);
          }
          rmSync(treeRoot, { recursive: true });
          prepared.push({
            name: `${caseName}: relocated checkpoint (<job>/shared layout, move)`,
            fixture: f,
            target: layoutTarget,
            roots: [layoutRoot],
            deleted: [treeRoot],
          });
        }
      }
      // the syncfs path was taken by at least one of the savepoints Flink restores below
      if (syncfsReportsErrors())
        assert.ok(syncfsRuns > syncfsBefore, "a relocated savepoint of this line had files to commit");
      const runs: RestoreRun[] = prepared.map((p) => ({
        name: p.name,
        snapshot: p.target,
        backend: p.fixture.expected.backend as "hashmap" | "rocksdb",
        ...restoreAsWritten(p.fixture.expected.case),
      }));
      report = await restoreWithFlink(line, runs);
      const took = report.runs.map((r) => `${r.name} ${r.durationMs} ms`).join("; ");
      console.log(`# Flink ${report.flinkVersion}: ${runs.length} restores in ${report.wallMs} ms (${took})`);
    });

    for (const f of lineFixtures) {
      const caseName = f.expected.case as string;
      it(`${caseName}: Flink restores the relocated ${f.expected.snapshotType} (${f.expected.backend}) and its state equals the model`, {
        skip,
      }, async () => {
        const mine = prepared.filter((p) => p.fixture === f);
        assert.ok(mine.length > 0);
        for (const p of mine) {
          for (const d of p.deleted)
            assert.deepEqual(filesUnder(d), [], `${d} must be empty before the restore`);
          const files = await assertSelfContainedUnder(p.target, p.roots);
          if (p.name.includes("<job>/shared layout") && caseName.includes("changelog")) {
            // changelog files are neither in the job's directory nor in the snapshot's: external
            const external = files.files.filter(
              (x) => x.location === "exclusive" && x.uri.includes("/external/"),
            );
            assert.ok(
              external.length > 0,
              "the changelog files moved into the checkpoint's external/ directory",
            );
          } else if (p.name.includes("<job>/shared layout")) {
            const shared = files.files.filter((x) => x.location === "shared");
            assert.ok(shared.length > 0, "shared files are listed as shared (beside the chk directory)");
            for (const s of shared) assert.ok(s.uri.includes("/other-job/shared/"), s.uri);
          }
          const r = runResult(report, p.name);
          assert.equal(r.outcome, "restored", describeRun(r));
          assert.equal(r.stateMatches, true, describeRun(r));
          assert.deepEqual(r.differences, []);
          assert.ok(r.expectationMet, describeRun(r));
          // the job Flink restored is the job that wrote the fixture (same operator ids)
          assert.deepEqual(r.jobOperators, f.expected.jobOperators);
          // a changelog checkpoint is restored by the changelog state backend, as its owner's job would
          if (caseName.includes("changelog"))
            assert.ok(
              keyedBackendWrappers(r).some((w) => w.includes("ChangelogKeyedStateBackend")),
              `restored by ${JSON.stringify(r.observed)}`,
            );
        }
      });
    }
  });
}
