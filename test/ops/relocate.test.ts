import assert from "node:assert/strict";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative } from "node:path";
import { after, describe, it } from "node:test";
import { runCli } from "../../src/cli/main.js";
import {
  AlreadyExistsError,
  InvalidArgumentError,
  PointerEscapeError,
  StoreFaultError,
} from "../../src/errors.js";
import { readMetadata, writeMetadata } from "../../src/formats/metadata/index.js";
import type { CheckpointMetadata, OperatorState } from "../../src/formats/metadata/model.js";
import { mapStreamHandles } from "../../src/formats/metadata/rewrite.js";
import { allHandles } from "../../src/formats/metadata/traverse.js";
import { listSnapshotFiles, verifySnapshot } from "../../src/ops/files.js";
import { inspectSnapshot } from "../../src/ops/inspect.js";
import { loadSnapshot } from "../../src/ops/locate.js";
import {
  LOCAL_COPY_CONCURRENCY,
  OFF_THREAD_LISTING_METADATA_BYTES,
  relocateLoaded,
  relocateSnapshot,
  toFlinkPath,
} from "../../src/ops/relocate.js";
import { LocalStore, syncPath } from "../../src/storage/local.js";
import { StoreRegistry } from "../../src/storage/registry.js";
import type {
  CommitOptions,
  CopyItem,
  CopyManyOptions,
  CopyOutcome,
  FileStatus,
  ListOptions,
  StagedCopy,
} from "../../src/storage/store.js";
import { syncFileSystem, syncfsReportsErrors } from "../../src/storage/sync-file-system.js";
import { normalizeUri, parentUri, toLocalPath } from "../../src/storage/uri.js";
import { checkpointJobId, FIXTURES_ROOT, listFixtures } from "../helpers/fixtures.js";
import { syntheticSavepoint } from "../helpers/synthetic-savepoint.js";
import { treeDigest } from "../helpers/tree.js";

const fixtures = listFixtures();
const stores = new StoreRegistry();
const scratch = mkdtempSync(join(tmpdir(), "savepoint-relocate-"));
after(async () => {
  await stores.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** What must survive a relocation: operators, their handles and state sizes (not the pointers). */
async function shape(path: string) {
  const r = await inspectSnapshot(path, { stores });
  return {
    checkpointId: r.checkpointId,
    version: r.metadataVersion,
    operators: r.operators.map((o) => ({
      id: o.operatorId,
      bytes: o.stateBytes,
      handles: o.subtaskStates.map((s) => s.handles.map((h) => [h.kind, h.keyGroupRange, h.stateSize])),
    })),
  };
}

const GENERATED_ROOT = "/tmp/savepoint-kit-fixtures";

describe("relocate", () => {
  for (const f of fixtures.filter((x) => x.expected.snapshotType === "savepoint")) {
    it(`${f.id}: copies a savepoint elsewhere; pointers stay relative, source untouched`, async () => {
      const before = treeDigest(f.caseDir);
      const target = join(scratch, f.id.replace("/", "-"));
      const report = await relocateSnapshot(f.metadataDir, target, { stores });
      assert.deepEqual(treeDigest(f.caseDir), before, "the source changed");
      assert.equal(report.totals.copied, report.copies.length);
      // All pointers of a savepoint are relative: the metadata needs no change at all (its bytes are
      // written as they are) ...
      assert.deepEqual(readFileSync(join(target, "_metadata")), readFileSync(f.metadataFile));
      // ... and, encoded again (metadata that may have been edited), it comes out the same bytes
      const again = await relocateLoaded(await loadSnapshot(f.metadataDir, stores), `${target}-encoded`, {
        stores,
      });
      assert.equal(again.pointers.length, 0);
      assert.deepEqual(readFileSync(join(`${target}-encoded`, "_metadata")), readFileSync(f.metadataFile));
      assert.ok((await verifySnapshot(target, { stores })).ok);
      const files = await listSnapshotFiles(target, { stores });
      assert.ok(files.selfContained);
      assert.deepEqual(await shape(target), await shape(f.metadataDir));
    });
  }

  for (const f of fixtures.filter((x) => x.expected.snapshotType === "checkpoint")) {
    it(`${f.id}: --map points shared files elsewhere without copying; a second run copies the closure`, async () => {
      const jobId = checkpointJobId(f);
      const first = join(scratch, `${f.id.replace("/", "-")}-mapped`, jobId, "chk-x");
      const mapped = await relocateSnapshot(f.metadataDir, first, {
        stores,
        maps: [{ from: `file:${GENERATED_ROOT}`, to: FIXTURES_ROOT }],
      });
      assert.ok(mapped.mapped.length > 0, "a retained incremental checkpoint references shared files");
      for (const m of mapped.mapped) assert.ok(m.to.startsWith(normalizeUri(FIXTURES_ROOT)), m.to);
      assert.ok((await verifySnapshot(first, { stores })).ok);

      // Relocate the result: now every file is copied, shared ones beside the new chk directory.
      const second = join(scratch, `${f.id.replace("/", "-")}-copied`, "job", "chk-7");
      // (the plan names the directories file merging records among the rewritten pointers)
      const plan = await relocateSnapshot(first, second, { stores, dryRun: true });
      const movedDirs = plan.pointers.filter((p) => p.directory);
      assert.equal(movedDirs.length > 0, f.id.includes("file-merging"));
      for (const p of movedDirs) assert.ok(normalizeUri(p.after, "/").includes("-copied/"), p.after);
      const cli = await runCli(["relocate", first, second, "--dry-run"]);
      assert.equal(cli.exitCode, 0, cli.stderr);
      assert.equal(/\n {2}dir {2}/.test(cli.stdout), f.id.includes("file-merging"), cli.stdout);
      const copied = await relocateSnapshot(first, second, { stores });
      assert.equal(copied.copies.length, copied.totals.copied);
      const inv = await listSnapshotFiles(second, { stores });
      assert.ok(
        inv.files.every((x) =>
          x.uri.startsWith(normalizeUri(join(scratch, `${f.id.replace("/", "-")}-copied`))),
        ),
      );
      assert.ok((await verifySnapshot(second, { stores })).ok);
      assert.deepEqual(await shape(second), await shape(f.metadataDir));
      // File merging: the directories its operator handles record (which Flink deletes once a claimed
      // checkpoint no longer needs them) name where their files now are, never the source's.
      const dirs = fileMergingDirectories(readMetadata(readFileSync(join(second, "_metadata"))));
      const copiedRoot = normalizeUri(join(scratch, `${f.id.replace("/", "-")}-copied`));
      for (const d of dirs.all) assert.ok(normalizeUri(d, "/").startsWith(copiedRoot), d);
      for (const { dir, file } of dirs.withFile)
        assert.equal(normalizeUri(dir, "/"), parentUri(normalizeUri(file, "/")));
      assert.equal(dirs.withFile.length > 0, f.id.includes("file-merging"));
      // Removing the intermediate copy and the repo's shared files from the picture: the result
      // references only its own files.
      rmSync(join(scratch, `${f.id.replace("/", "-")}-mapped`), { recursive: true });
      assert.ok((await verifySnapshot(second, { stores })).ok);
    });
  }

  /**
   * The directory paths of a snapshot's FileMergingOperatorStreamStateHandles, and for those whose state
   * is a segment, its task-owned directory with the segment's physical file.
   */
  function fileMergingDirectories(m: CheckpointMetadata) {
    const all: string[] = [];
    const withFile: { dir: string; file: string }[] = [];
    for (const v of allHandles(m)) {
      const h = v.handle;
      if (h.kind !== "FileMergingOperatorStreamStateHandle") continue;
      all.push(h.taskOwnedDirPath, h.sharedDirPath);
      if (h.delegate.kind === "SegmentFileStateHandle")
        withFile.push({ dir: h.taskOwnedDirPath, file: h.delegate.physicalFilePath });
    }
    return { all, withFile };
  }

  const sp = fixtures.find((x) => x.id.endsWith("savepoint-canonical-rocksdb"));

  it("--move to a sibling chk directory keeps the ../shared files where they are (neither moved nor deleted)", async () => {
    const f = fixtures.find((x) => x.id.endsWith("/checkpoint-rocksdb-incremental"));
    assert.ok(f);
    // Flink's layout, <job>/chk-N beside <job>/shared/, with pointers onto this copy of the tree
    const tree = join(scratch, "sibling-move");
    cpSync(join(f.caseDir, "snapshot"), tree, { recursive: true });
    const jobId = checkpointJobId(f);
    const chk = join(tree, jobId, "chk-50");
    await relocateSnapshot(f.metadataDir, chk, {
      stores,
      maps: [{ from: `file:${f.expected.generatedUnder as string}`, to: tree }],
    });
    const target = join(tree, jobId, "chk-51");
    const mv = await relocateSnapshot(chk, target, { stores, move: true });
    const shared = mv.copies.filter((c) => c.from === c.to);
    assert.ok(shared.length > 0, "the checkpoint has ../shared files");
    for (const c of shared) assert.ok(existsSync(toLocalPath(c.to)), `${c.to} kept`);
    assert.ok(!existsSync(join(chk, "_metadata")));
    assert.ok((await verifySnapshot(target, { stores })).ok);
    assert.deepEqual(await shape(target), await shape(f.metadataDir));
  });

  it("writes nothing on a dry run, and prints the plan", async () => {
    assert.ok(sp);
    const target = join(scratch, "dry");
    const r = await runCli(["relocate", sp.metadataDir, target, "--dry-run"]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /Plan \(dry run, nothing written\)/);
    assert.ok(!existsSync(target));
  });

  it("resumes: a re-run copies only what is missing and writes _metadata last", async () => {
    assert.ok(sp);
    const target = join(scratch, "resume");
    const first = await relocateSnapshot(sp.metadataDir, target, { stores });
    const victim = first.copies[0];
    assert.ok(victim);
    unlinkSync(join(target, "_metadata"));
    unlinkSync(new URL(victim.to).pathname);
    const again = await relocateSnapshot(sp.metadataDir, target, { stores });
    assert.equal(again.totals.copied, 1);
    assert.equal(again.totals.skipped, first.copies.length - 1);
    assert.ok((await verifySnapshot(target, { stores })).ok);
  });

  it("a copy that does not verify fails the relocation before _metadata is written", async () => {
    assert.ok(sp);
    /**
     * Copies (staged, as durable local copies are, in chunks), then cuts the last byte of one staged
     * copy before its commit: short, yet "done".
     */
    class ShortCopyStore extends LocalStore {
      cut = 0;
      override async copyMany(items: readonly CopyItem[], options?: CopyManyOptions): Promise<CopyOutcome[]> {
        const outcomes = await super.copyMany(items, options);
        assert.ok(options?.stage, "durable local copies are staged");
        for (const o of outcomes) {
          if (o.ok && o.staged && this.cut++ === 0)
            truncateSync(o.staged.staged, statSync(o.staged.staged).size - 1);
        }
        return outcomes;
      }
    }
    const broken = new StoreRegistry().register(["file"], () => new ShortCopyStore());
    const target = join(scratch, "short-copy");
    await assert.rejects(relocateSnapshot(sp.metadataDir, target, { stores: broken }), (err: Error) => {
      assert.ok(err instanceof StoreFaultError, String(err));
      assert.match(err.message, /did not verify: \d+ bytes, expected \d+/);
      return true;
    });
    assert.ok(!existsSync(join(target, "_metadata")));
    // a re-run with a sound store replaces the short file (same name, other size) and finishes
    const again = await relocateSnapshot(sp.metadataDir, target, { stores });
    assert.equal(again.totals.copied, 1);
    assert.ok((await verifySnapshot(target, { stores })).ok);
  });

  it("copies are verified by the status their store gave (after the commit, for durable ones), not by listing the target again", async () => {
    assert.ok(sp);
    /** Counts listings of each directory; `short` makes the status of one copy a byte short. */
    class StatusStore extends LocalStore {
      listed: string[] = [];
      short = false;
      override list(prefix: string, options?: { recursive?: boolean; maxDepth?: number }) {
        this.listed.push(prefix);
        return super.list(prefix, options);
      }
      override async copyMany(items: readonly CopyItem[], options?: CopyManyOptions): Promise<CopyOutcome[]> {
        const outcomes = await super.copyMany(items, options);
        if (options?.stage) return outcomes;
        return outcomes.map((o) => {
          assert.ok(o.ok && o.status, "a copy without sync gives its status");
          return { ...o, status: this.shorten(o.status) };
        });
      }
      override async commitStaged(staged: readonly StagedCopy[], options?: CommitOptions) {
        const statuses = await super.commitStaged(staged, options);
        assert.equal(statuses?.length, staged.length, "a commit on the workers gives the statuses");
        return statuses?.map((st) => st && this.shorten(st));
      }
      /** The first status asked for after `short` is set, a byte short. */
      shorten(st: FileStatus): FileStatus {
        if (!this.short) return st;
        this.short = false;
        return { ...st, size: st.size - 1 };
      }
    }
    for (const sync of [false, true]) {
      const store = new StatusStore();
      const registry = new StoreRegistry().register(["file"], () => store);
      const target = join(scratch, `verified-by-status-${sync}`);
      const report = await relocateSnapshot(sp.metadataDir, target, { stores: registry, sync });
      assert.ok(report.totals.copied > 0);
      const targetUri = normalizeUri(target);
      assert.deepEqual(
        store.listed.filter((d) => d === targetUri),
        [targetUri],
        "the target is listed once, before the copies (what an earlier run left there)",
      );
      assert.ok((await verifySnapshot(target, { stores })).ok);
      store.short = true;
      const short = join(scratch, `short-status-${sync}`);
      await assert.rejects(
        relocateSnapshot(sp.metadataDir, short, { stores: registry, sync }),
        (err: Error) => {
          assert.ok(err instanceof StoreFaultError, String(err));
          assert.match(err.message, /did not verify: \d+ bytes, expected \d+/);
          return true;
        },
      );
      assert.ok(!existsSync(join(short, "_metadata")));
    }
  });

  it("refuses to overwrite a finished target, or to write into the source", async () => {
    assert.ok(sp);
    const target = join(scratch, "twice");
    await relocateSnapshot(sp.metadataDir, target, { stores });
    await assert.rejects(relocateSnapshot(sp.metadataDir, target, { stores }), AlreadyExistsError);
    await assert.rejects(relocateSnapshot(sp.metadataDir, sp.metadataDir, { stores }), InvalidArgumentError);
    await assert.rejects(
      relocateSnapshot(sp.metadataDir, join(sp.metadataDir, "x"), { stores }),
      InvalidArgumentError,
    );
  });

  it("--move deletes the source only after the target verifies", async () => {
    assert.ok(sp);
    const source = join(scratch, "to-move");
    cpSync(sp.metadataDir, source, { recursive: true });
    const target = join(scratch, "moved");
    const r = await relocateSnapshot(source, target, { stores, move: true });
    assert.ok(r.deleted.length > 0);
    assert.ok(!existsSync(join(source, "_metadata")));
    assert.ok((await verifySnapshot(target, { stores })).ok);
    assert.deepEqual(await shape(target), await shape(sp.metadataDir));
  });

  describe("--move on one file system", () => {
    /** Inode of every file under `dir`, by path relative to it. */
    const inodes = (dir: string) =>
      new Map(
        readdirSync(dir, { recursive: true, withFileTypes: true })
          .filter((e) => e.isFile())
          .map((e) => [relative(dir, join(e.parentPath, e.name)), statSync(join(e.parentPath, e.name)).ino]),
      );

    it("renames each file (the same inodes at the target, no bytes copied) and leaves no source", async () => {
      assert.ok(sp);
      const source = join(scratch, "rename-src");
      cpSync(sp.metadataDir, source, { recursive: true });
      const before = inodes(source);
      const target = join(scratch, "rename-dst", "sp");
      const r = await relocateSnapshot(source, target, { stores, move: true });
      assert.equal(r.totals.moved, r.copies.length);
      assert.equal(r.totals.copied, 0);
      assert.deepEqual(r.deleted, [normalizeUri(join(source, "_metadata"))]);
      const after = inodes(target);
      for (const c of r.copies) {
        const rel = relative(source, toLocalPath(c.from));
        assert.equal(after.get(relative(target, toLocalPath(c.to))), before.get(rel), `${rel} renamed`);
      }
      assert.deepEqual([...inodes(source).keys()], [], "nothing left at the source");
      assert.ok((await verifySnapshot(target, { stores })).ok);
      assert.deepEqual(await shape(target), await shape(sp.metadataDir));
    });

    it("an interrupted move finishes on a re-run (the files already moved are found at the target)", async () => {
      assert.ok(sp);
      const source = join(scratch, "rename-int-src");
      cpSync(sp.metadataDir, source, { recursive: true });
      /** Renames two files, then fails, as a crash or Ctrl-C would stop the run. */
      class InterruptedStore extends LocalStore {
        renames = 0;
        override async rename(from: string, to: string, o?: { overwrite?: boolean }): Promise<boolean> {
          if (this.renames++ >= 2) throw new StoreFaultError("interrupted", { uri: from });
          return super.rename(from, to, o);
        }
      }
      const broken = new StoreRegistry().register(["file"], () => new InterruptedStore());
      const target = join(scratch, "rename-int-dst");
      await assert.rejects(relocateSnapshot(source, target, { stores: broken, move: true, concurrency: 1 }));
      assert.ok(existsSync(join(source, "_metadata")), "the source _metadata stays until the end");
      assert.ok(!existsSync(join(target, "_metadata")));
      const r = await relocateSnapshot(source, target, { stores, move: true });
      assert.equal(r.totals.moved, r.copies.length);
      assert.ok(!existsSync(join(source, "_metadata")));
      assert.ok((await verifySnapshot(target, { stores })).ok);
      assert.deepEqual(await shape(target), await shape(sp.metadataDir));
    });

    it("copies (then deletes) where a rename is impossible, and never moves what a sibling snapshot references", async () => {
      assert.ok(sp);
      // a store whose renames always cross file systems (EXDEV); it records how its copies are committed
      class CrossDeviceStore extends LocalStore {
        commits: (CommitOptions | undefined)[] = [];
        override async rename(): Promise<boolean> {
          return false;
        }
        override async commitStaged(staged: readonly StagedCopy[], options?: CommitOptions) {
          this.commits.push(options);
          return super.commitStaged(staged, options);
        }
      }
      const crossStore = new CrossDeviceStore();
      const cross = new StoreRegistry().register(["file"], () => crossStore);
      const source = join(scratch, "exdev-src");
      cpSync(sp.metadataDir, source, { recursive: true });
      const r = await relocateSnapshot(source, join(scratch, "exdev-dst"), { stores: cross, move: true });
      assert.equal(r.totals.copied, r.copies.length);
      assert.equal(r.totals.moved, 0);
      assert.equal(r.deleted.length, r.copies.length + 1);
      // the source is deleted: each copy synced on its own, never by a sync of the whole file system
      assert.deepEqual(crossStore.commits, [{ perFile: true }]);
      crossStore.commits.length = 0;
      await relocateSnapshot(join(scratch, "exdev-dst"), join(scratch, "exdev-copy"), { stores: cross });
      assert.deepEqual(
        crossStore.commits,
        [{ perFile: false }],
        "a copy (the source stays) may sync file systems",
      );

      // a sibling savepoint (beside the source) that points at the source's files by absolute paths
      const parent = join(scratch, "siblings");
      const own = join(parent, "sp-1");
      cpSync(sp.metadataDir, own, { recursive: true });
      const m = readMetadata(readFileSync(join(own, "_metadata")));
      const absolute = mapStreamHandles(m, (h) =>
        h.kind === "RelativeFileStateHandle"
          ? {
              kind: "FileStateHandle",
              filePath: toFlinkPath(normalizeUri(join(own, h.relativePath))),
              stateSize: h.stateSize,
            }
          : h,
      );
      mkdirSync(join(parent, "sp-2"));
      writeFileSync(join(parent, "sp-2", "_metadata"), writeMetadata(absolute));
      const before = inodes(own);
      const moved = await relocateSnapshot(own, join(scratch, "siblings-dst"), { stores, move: true });
      assert.equal(moved.totals.moved, 0, "every file is shared with sp-2: copied, not renamed");
      assert.equal(moved.keptForOtherSnapshots.length, moved.copies.length);
      for (const c of moved.copies) {
        const rel = relative(own, toLocalPath(c.from));
        assert.equal(inodes(own).get(rel), before.get(rel), `${rel} still at the source`);
      }
      assert.ok((await verifySnapshot(join(parent, "sp-2"), { stores })).ok, "the sibling still verifies");
    });
    it("a dry run says which files --move will rename, copy then delete, or copy and keep", async () => {
      assert.ok(sp);
      const source = join(scratch, "plan-move", "sp-1");
      cpSync(sp.metadataDir, source, { recursive: true });
      const target = join(scratch, "plan-move-dst");
      const plan = await relocateSnapshot(source, target, { stores, move: true, dryRun: true });
      assert.ok(plan.copies.length > 0);
      assert.deepEqual(new Set(plan.copies.map((c) => c.action)), new Set(["rename"]));
      const copyPlan = await relocateSnapshot(source, target, { stores, dryRun: true });
      assert.deepEqual(new Set(copyPlan.copies.map((c) => c.action)), new Set(["copy"]));
      const cli = await runCli(["relocate", source, target, "--move", "--dry-run"]);
      assert.equal(cli.exitCode, 0, cli.stderr);
      const lines = cli.stdout.split("\n");
      assert.equal(lines.filter((l) => l.startsWith("  move (rename) ")).length, plan.copies.length);
      assert.equal(lines.filter((l) => l.startsWith("  copy ")).length, 0, cli.stdout);
      assert.match(
        cli.stdout,
        /different file systems, copied, and the source deleted once the target verifies/,
      );

      // a store that cannot rename: copied, then the source deleted
      class NoRenameStore extends LocalStore {}
      Object.defineProperty(NoRenameStore.prototype, "rename", { value: undefined });
      const noRename = new StoreRegistry().register(["file"], () => new NoRenameStore());
      const copyDelete = await relocateSnapshot(source, target, {
        stores: noRename,
        move: true,
        dryRun: true,
      });
      assert.deepEqual(new Set(copyDelete.copies.map((c) => c.action)), new Set(["copy-delete"]));

      // files a sibling snapshot references: copied (and kept), said so
      const sibling = readMetadata(readFileSync(join(source, "_metadata")));
      const absolute = mapStreamHandles(sibling, (h) =>
        h.kind === "RelativeFileStateHandle"
          ? {
              kind: "FileStateHandle",
              filePath: toFlinkPath(normalizeUri(join(source, h.relativePath))),
              stateSize: h.stateSize,
            }
          : h,
      );
      mkdirSync(join(scratch, "plan-move", "sp-2"));
      writeFileSync(join(scratch, "plan-move", "sp-2", "_metadata"), writeMetadata(absolute));
      const kept = await relocateSnapshot(source, target, { stores, move: true, dryRun: true });
      assert.deepEqual(new Set(kept.copies.map((c) => c.action)), new Set(["copy"]));
      const keptCli = await runCli(["relocate", source, target, "--move", "--dry-run"]);
      assert.equal(
        keptCli.stdout.split("\n").filter((l) => l.startsWith("  copy ")).length,
        kept.copies.length,
      );
      assert.ok(existsSync(join(source, "_metadata")) && !existsSync(target), "a dry run writes nothing");
    });

    it("an unreadable sibling _metadata keeps every source file, and the CLI names it and why", async () => {
      assert.ok(sp);
      const parent = join(scratch, "unreadable-sibling");
      const source = join(parent, "sp-1");
      cpSync(sp.metadataDir, source, { recursive: true });
      mkdirSync(join(parent, "sp-2"));
      const broken = join(parent, "sp-2", "_metadata");
      writeFileSync(broken, Uint8Array.of(1, 2, 3));
      const plan = await relocateSnapshot(source, join(scratch, "unreadable-dst"), {
        stores,
        move: true,
        dryRun: true,
      });
      assert.equal(plan.unreadableSiblings.length, 1);
      assert.equal(plan.unreadableSiblings[0]?.uri, normalizeUri(broken));
      assert.ok((plan.unreadableSiblings[0]?.reason ?? "").length > 0);
      assert.deepEqual(new Set(plan.copies.map((c) => c.action)), new Set(["copy"]));

      const before = inodes(source);
      const cli = await runCli(["relocate", source, join(scratch, "unreadable-dst"), "--move"]);
      assert.equal(cli.exitCode, 0, cli.stderr);
      assert.match(cli.stdout, /Kept +\d+ source files that other snapshots reference/);
      const line = cli.stdout.split("\n").find((l) => l.startsWith("Unreadable "));
      assert.ok(line, cli.stdout);
      assert.ok(line.includes(normalizeUri(broken)), line);
      assert.ok(line.includes(plan.unreadableSiblings[0]?.reason ?? "?"), line);
      for (const c of plan.copies) {
        const rel = relative(source, toLocalPath(c.from));
        assert.equal(inodes(source).get(rel), before.get(rel), `${rel} kept at the source`);
      }
      assert.ok((await verifySnapshot(join(scratch, "unreadable-dst"), { stores })).ok);
    });
  });

  it("refuses a relative pointer that escapes the snapshot directory", async () => {
    assert.ok(sp);
    const m = readMetadata(readFileSync(sp.metadataFile));
    let changed = false;
    const evil = mapStreamHandles(m, (h) => {
      if (h.kind !== "RelativeFileStateHandle" || changed) return h;
      changed = true;
      return { ...h, relativePath: `../../${h.relativePath}` };
    });
    assert.ok(changed, "the fixture has relative handles");
    const dir = join(scratch, "evil");
    cpSync(sp.metadataDir, dir, { recursive: true });
    writeFileSync(join(dir, "_metadata"), writeMetadata(evil));
    await assert.rejects(relocateSnapshot(dir, join(scratch, "evil-out"), { stores }), PointerEscapeError);
    const cli = await runCli(["relocate", dir, join(scratch, "evil-out")]);
    assert.equal(cli.exitCode, 2);
    assert.match(cli.stderr, /escapes/);
  });

  describe("durability", () => {
    /** A local store that records what it syncs (and still syncs it). */
    function recordingStores() {
      const synced: { path: string; kind: string }[] = [];
      const store = new LocalStore({
        sync: async (path, kind) => {
          synced.push({ path, kind });
          await syncPath(path, kind);
        },
      });
      return { synced, registry: new StoreRegistry().register(["file"], () => store) };
    }

    it("syncs every copy before it gets its name, each directory once, and _metadata, before finishing", async () => {
      assert.ok(sp);
      const { synced, registry } = recordingStores();
      const parent = join(scratch, "durable");
      const target = join(parent, "a", "sp");
      const r = await relocateSnapshot(sp.metadataDir, target, { stores: registry });
      assert.ok(r.copies.length > 0);
      const files = synced.filter((s) => s.kind === "file").map((s) => s.path);
      // each copy as its temporary file (before the rename), and _metadata's temporary file
      for (const c of r.copies) {
        const to = toLocalPath(c.to);
        const hits = files.filter(
          (f) => dirname(f) === dirname(to) && basename(f).startsWith(`.${basename(to)}.`),
        );
        assert.equal(hits.length, 1, `${to} synced once before its rename`);
      }
      assert.equal(files.filter((f) => basename(f).startsWith("._metadata.")).length, 1);
      assert.equal(files.length, r.copies.length + 1);
      // before _metadata: the target directory (the renames in it) and every directory created for it,
      // each once; after it, the target directory again (the rename of _metadata)
      const metadataAt = synced.findIndex((s) => basename(s.path).startsWith("._metadata."));
      const before = synced
        .slice(0, metadataAt)
        .filter((s) => s.kind === "directory")
        .map((s) => s.path);
      for (const d of [target, join(parent, "a"), parent, scratch])
        assert.ok(before.includes(d), `${d} synced`);
      assert.equal(new Set(before).size, before.length, "no directory synced twice");
      assert.deepEqual(
        synced.slice(metadataAt + 1).map((s) => s.path),
        [target],
      );
      assert.ok((await verifySnapshot(target, { stores })).ok);
    });

    /** A savepoint of 40 state files of 1 KiB, made once. */
    const manyFiles = (() => {
      let made: string | undefined;
      return () => {
        if (made) return made;
        const source = join(scratch, "many-files");
        const names = Array.from({ length: 40 }, (_, i) => `state-${i}`);
        mkdirSync(source);
        for (const n of names) writeFileSync(join(source, n), Buffer.alloc(1024, n));
        writeFileSync(join(source, "_metadata"), writeMetadata(syntheticSavepoint(names, 1024)));
        made = source;
        return source;
      };
    })();

    it("a copy failing part way leaves no temporary file and no _metadata; a re-run finishes", async () => {
      const source = manyFiles();
      /** The 25th copy fails (disk full); the others are made. */
      class FailingStore extends LocalStore {
        calls = 0;
        override async copyMany(
          items: readonly CopyItem[],
          options?: CopyManyOptions,
        ): Promise<CopyOutcome[]> {
          const failing = 25 - this.calls - 1;
          this.calls += items.length;
          const item = items[failing];
          if (!item) return super.copyMany(items, options);
          const made = await super.copyMany(
            items.filter((_, i) => i !== failing),
            options,
          );
          const failed: CopyOutcome = {
            ok: false,
            error: new StoreFaultError(`disk full copying ${item.source}`),
          };
          return [...made.slice(0, failing), failed, ...made.slice(failing)];
        }
      }
      const target = join(scratch, "many-files-failing");
      const failing = new StoreRegistry().register(["file"], () => new FailingStore());
      await assert.rejects(relocateSnapshot(source, target, { stores: failing }), /disk full/);
      const left = existsSync(target) ? readdirSync(target) : [];
      assert.deepEqual(
        left.filter((n) => n.startsWith(".") || n === "_metadata"),
        [],
        "no temporary file, no _metadata",
      );
      const again = await relocateSnapshot(source, target, { stores });
      assert.equal(again.totals.copied + again.totals.skipped, 40);
      assert.ok((await verifySnapshot(target, { stores })).ok);
    });

    it("removes the staged copies a killed run left beside the files it copies, and nothing else", async () => {
      const source = manyFiles();
      const target = join(scratch, "many-files-leftovers");
      mkdirSync(target);
      const leftovers = [".state-3.0123456789ab.tmp", ".state-17.ba9876543210.tmp"];
      const others = [".state-3.tmp", ".notes.0123456789ab.tmp", "state-3.0123456789ab.tmp", "README"];
      for (const n of [...leftovers, ...others]) writeFileSync(join(target, n), "left");
      await relocateSnapshot(source, target, { stores });
      const names = readdirSync(target);
      for (const n of leftovers) assert.ok(!names.includes(n), `${n} removed`);
      for (const n of others) assert.ok(names.includes(n), `${n} kept`);
      assert.ok((await verifySnapshot(target, { stores })).ok);
    });

    it("makes a wave of 64 files or more durable by one sync of the file system (syncfs), and the copies are whole", async () => {
      const source = join(scratch, "syncfs-src");
      const names = Array.from({ length: 70 }, (_, i) => `state-${i}`);
      mkdirSync(source);
      for (const n of names) writeFileSync(join(source, n), Buffer.alloc(4096, n));
      writeFileSync(join(source, "_metadata"), writeMetadata(syntheticSavepoint(names, 4096)));
      const fileSyncs: string[] = [];
      const fsSyncs: boolean[] = [];
      const store = new LocalStore({
        sync: async (path, kind) => {
          if (kind === "file") fileSyncs.push(path);
          await syncPath(path, kind);
        },
        syncFileSystem: async (path) => {
          const done = await syncFileSystem(path); // the real one: `sync -f` where it is reliable
          fsSyncs.push(done);
          return done;
        },
      });
      const registry = new StoreRegistry().register(["file"], () => store);
      const target = join(scratch, "syncfs-dst");
      await relocateSnapshot(source, target, { stores: registry });
      assert.equal(fsSyncs.length, 1, "one wave, one file system");
      // where `sync -f` is reliable (Linux 5.8+), no file is synced on its own; elsewhere each is
      const reliable = syncfsReportsErrors();
      assert.deepEqual(fsSyncs, [reliable]);
      // per-file syncs: `_metadata`'s own, and the copies' only where `sync -f` is not reliable
      const copies = fileSyncs.filter((p) => !basename(p).startsWith("._metadata."));
      assert.equal(fileSyncs.length - copies.length, 1, "_metadata is synced on its own");
      assert.equal(copies.length, reliable ? 0 : 70);
      assert.deepEqual(treeDigest(target), treeDigest(source));
      assert.ok((await verifySnapshot(target, { stores })).ok);
    });

    it("lists the source off the main thread while a _metadata of 256 KiB or more is parsed; a smaller one in it", async () => {
      const names = ["a", "b", "c"];
      const small = join(scratch, "listing-small");
      const large = join(scratch, "listing-large");
      for (const dir of [small, large]) {
        mkdirSync(dir);
        for (const n of names) writeFileSync(join(dir, n), Buffer.alloc(64, n));
      }
      const m = syntheticSavepoint(names, 64);
      writeFileSync(join(small, "_metadata"), writeMetadata(m));
      // the same files, with coordinator state inline in `_metadata` (what makes it large)
      const op = { ...(m.operatorStates[0] as OperatorState) };
      op.coordinatorState = {
        kind: "ByteStreamStateHandle",
        handleName: "coordinator",
        data: new Uint8Array(OFF_THREAD_LISTING_METADATA_BYTES),
      };
      writeFileSync(join(large, "_metadata"), writeMetadata({ ...m, operatorStates: [op] }));
      class ListingStore extends LocalStore {
        offThread: (boolean | undefined)[] = [];
        override list(prefix: string, options?: ListOptions) {
          if (prefix === normalizeUri(small) || prefix === normalizeUri(large))
            this.offThread.push(options?.offThread);
          return super.list(prefix, options);
        }
      }
      for (const [dir, expected] of [
        [small, false],
        [large, true],
      ] as const) {
        const store = new ListingStore();
        const registry = new StoreRegistry().register(["file"], () => store);
        await relocateSnapshot(dir, `${dir}-dst`, { stores: registry, sync: false });
        assert.deepEqual(store.offThread, [expected], dir);
        assert.ok((await verifySnapshot(`${dir}-dst`, { stores })).ok);
      }
    });

    it("has 256 copies under way between local directories by default, or --concurrency of them", async () => {
      // more files than the default, so that the limit shows
      const source = join(scratch, "more-files");
      const names = Array.from({ length: LOCAL_COPY_CONCURRENCY + 20 }, (_, i) => `state-${i}`);
      mkdirSync(source);
      for (const n of names) writeFileSync(join(source, n), Buffer.alloc(64, n));
      writeFileSync(join(source, "_metadata"), writeMetadata(syntheticSavepoint(names, 64)));
      /** The most copies in flight at once (each takes 20 ms longer than it would). */
      const mostInFlight = async (concurrency?: number) => {
        let now = 0;
        let most = 0;
        class CountingStore extends LocalStore {
          override async copyMany(
            items: readonly CopyItem[],
            options?: CopyManyOptions,
          ): Promise<CopyOutcome[]> {
            now += items.length;
            most = Math.max(most, now);
            try {
              await new Promise((r) => setTimeout(r, 20));
              return await super.copyMany(items, options);
            } finally {
              now -= items.length;
            }
          }
        }
        const store = new CountingStore();
        const registry = new StoreRegistry().register(["file"], () => store);
        const target = join(scratch, `more-files-${concurrency ?? "default"}`);
        await relocateSnapshot(source, target, { stores: registry, concurrency });
        assert.ok((await verifySnapshot(target, { stores })).ok);
        return most;
      };
      assert.equal(await mostInFlight(), LOCAL_COPY_CONCURRENCY);
      assert.equal(LOCAL_COPY_CONCURRENCY, 256);
      assert.equal(await mostInFlight(3), 3);
    });

    it("lets the target's store get ready for the copies before reading the snapshot, not for --dry-run", async () => {
      const source = manyFiles();
      const events: string[] = [];
      class PreparingStore extends LocalStore {
        override prepareCopies(): void {
          events.push("prepare");
          super.prepareCopies();
        }
        override async readAll(uri: string, options?: { maxBytes?: number }): Promise<Uint8Array> {
          events.push("read");
          return super.readAll(uri, options);
        }
      }
      const store = new PreparingStore();
      const registry = new StoreRegistry().register(["file"], () => store);
      await relocateSnapshot(source, join(scratch, "prepared-dry"), { stores: registry, dryRun: true });
      assert.ok(!events.includes("prepare"));
      events.length = 0;
      await relocateSnapshot(source, join(scratch, "prepared"), { stores: registry });
      assert.equal(events.filter((e) => e === "prepare").length, 1);
      assert.equal(events[0], "prepare");
      assert.ok(events.includes("read"));
      assert.ok((await verifySnapshot(join(scratch, "prepared"), { stores })).ok);
    });

    it("a re-run syncs the files it finds already there (they may come from an unsynced run)", async () => {
      assert.ok(sp);
      const target = join(scratch, "durable-resume");
      await relocateSnapshot(sp.metadataDir, target, { stores, sync: false });
      unlinkSync(join(target, "_metadata"));
      const { synced, registry } = recordingStores();
      const r = await relocateSnapshot(sp.metadataDir, target, { stores: registry });
      assert.equal(r.totals.skipped, r.copies.length);
      const files = new Set(synced.filter((s) => s.kind === "file").map((s) => s.path));
      for (const c of r.copies) assert.ok(files.has(toLocalPath(c.to)), `${c.to} synced`);
    });

    it("sync: false (--no-sync) syncs nothing, and is refused with --move", async () => {
      assert.ok(sp);
      const { synced, registry } = recordingStores();
      const target = join(scratch, "no-sync");
      await relocateSnapshot(sp.metadataDir, target, { stores: registry, sync: false });
      assert.deepEqual(synced, []);
      assert.ok((await verifySnapshot(target, { stores })).ok);

      const source = join(scratch, "no-sync-move");
      cpSync(sp.metadataDir, source, { recursive: true });
      await assert.rejects(
        relocateSnapshot(source, join(scratch, "no-sync-moved"), { stores, move: true, sync: false }),
        (err: Error) => err instanceof InvalidArgumentError && /--no-sync/.test(err.message),
      );
      const cli = await runCli(["relocate", source, join(scratch, "no-sync-moved"), "--move", "--no-sync"]);
      assert.equal(cli.exitCode, 64, cli.stderr);
      assert.match(cli.stderr, /--no-sync cannot be combined with --move/);
      assert.ok(existsSync(join(source, "_metadata")), "the source is untouched");
      assert.ok(!existsSync(join(scratch, "no-sync-moved")), "nothing written");
    });
  });

  it("writes absolute pointers in Flink's Path form", () => {
    assert.equal(toFlinkPath("file:///tmp/a b/x"), "file:/tmp/a b/x");
    assert.equal(toFlinkPath("s3://bucket/k/x"), "s3://bucket/k/x");
    assert.equal(toFlinkPath("hdfs://nn:8020/p"), "hdfs://nn:8020/p");
    assert.ok(statSync(scratch).isDirectory());
  });
});
