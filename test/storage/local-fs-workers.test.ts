import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { NotFoundError, StoreFaultError } from "../../src/errors.js";
import { LocalStore, mapFsError } from "../../src/storage/local.js";
import { runLocalFsOp } from "../../src/storage/local-fs-worker.js";
import { type LocalFsResult, LocalFsWorkers, reviveFsError } from "../../src/storage/local-fs-workers.js";

describe("local file-system workers", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "savepoint-kit-fs-workers-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("runs each operation (copy, copy and commit, stats) and answers in order, failures included", async () => {
    const workers = new LocalFsWorkers(2);
    try {
      const names = Array.from({ length: 300 }, (_, i) => `f-${i}`);
      for (const n of names) writeFileSync(join(dir, n), `bytes of ${n}`);
      // all at once: the pool sends them in batches to its two workers
      const results = await Promise.all(
        names.map((n, i) =>
          workers.run({
            kind: "copy",
            source: join(dir, n),
            staged: join(dir, `.${n}.tmp`),
            mode: constants.COPYFILE_EXCL,
            ...(i % 2 === 0 ? { commitTo: join(dir, `${n}.copy`) } : {}),
          }),
        ),
      );
      assert.ok(results.every((r) => r.ok && r.kind === "copy"));
      for (const [i, n] of names.entries()) {
        const copy = i % 2 === 0 ? `${n}.copy` : `.${n}.tmp`;
        assert.equal(readFileSync(join(dir, copy), "utf8"), `bytes of ${n}`);
        assert.equal(existsSync(join(dir, `.${n}.tmp`)), i % 2 !== 0, `${n}: staged copy renamed`);
        // the status of the copy under its name (committed) or of the staged file
        const s = statSync(join(dir, copy));
        const done: LocalFsResult | undefined = results[i];
        assert.ok(done?.ok && done.kind === "copy");
        assert.deepEqual(done.status, { isFile: true, size: s.size, mtimeMs: s.mtimeMs }, copy);
      }
      const r = await workers.run({ kind: "stats", paths: [join(dir, "f-7"), join(dir, "missing"), dir] });
      assert.ok(r.ok && r.kind === "stats");
      const s = statSync(join(dir, "f-7"));
      assert.deepEqual(r.statuses[0], { isFile: true, size: s.size, mtimeMs: s.mtimeMs });
      const missing = r.statuses[1];
      assert.ok(missing && "error" in missing);
      assert.equal(missing.error.code, "ENOENT");
      assert.equal(missing.error.syscall, "stat");
      assert.deepEqual(r.statuses[2], {
        isFile: false,
        size: statSync(dir).size,
        mtimeMs: statSync(dir).mtimeMs,
      });
    } finally {
      await workers.close();
    }
  });

  it("reports a failed copy or commit with the Node error's code, syscall and path", async () => {
    const workers = new LocalFsWorkers(1);
    try {
      writeFileSync(join(dir, "src"), "x");
      writeFileSync(join(dir, "taken"), "y");
      const missing = await workers.run({
        kind: "copy",
        source: join(dir, "no-such-file"),
        staged: join(dir, ".a.tmp"),
        mode: 0,
      });
      assert.ok(!missing.ok);
      assert.equal(missing.phase, "copy");
      const err = reviveFsError(missing.error);
      assert.equal(err.code, "ENOENT");
      assert.equal(err.syscall, "copyfile");
      assert.equal(err.path, join(dir, "no-such-file"));
      assert.ok(mapFsError(err, "file:///x") instanceof NotFoundError);
      // a commit without overwrite does not replace a file: the staged copy stays for the caller
      const commit = await workers.run({
        kind: "copy",
        source: join(dir, "src"),
        staged: join(dir, ".b.tmp"),
        mode: 0,
        commitTo: join(dir, "taken"),
        overwrite: false,
      });
      assert.ok(!commit.ok);
      assert.equal(commit.phase, "commit");
      assert.equal(commit.error.code, "EEXIST");
      assert.equal(readFileSync(join(dir, "taken"), "utf8"), "y");
      assert.ok(existsSync(join(dir, ".b.tmp")));
    } finally {
      await workers.close();
    }
  });

  it("the same operations run in this thread give the same results (runLocalFsOp)", () => {
    writeFileSync(join(dir, "here"), "abc");
    const copied = runLocalFsOp({
      kind: "copy",
      source: join(dir, "here"),
      staged: join(dir, "here.2"),
      mode: 0,
    });
    const s = statSync(join(dir, "here.2"));
    assert.deepEqual(copied, {
      ok: true,
      kind: "copy",
      status: { isFile: true, size: 3, mtimeMs: s.mtimeMs },
    });
    const r = runLocalFsOp({ kind: "stats", paths: [join(dir, "here.2")] });
    assert.ok(r.ok && r.kind === "stats");
    assert.equal((r.statuses[0] as { size: number }).size, 3);
  });

  it("lists a tree in one operation: regular files with their statuses, down to a depth; a missing root has none", async () => {
    const root = join(dir, "tree");
    mkdirSync(join(root, "a", "b"), { recursive: true });
    writeFileSync(join(root, "top"), "1");
    writeFileSync(join(root, "a", "mid"), "22");
    writeFileSync(join(root, "a", "b", "deep"), "333");
    symlinkSync(join(root, "top"), join(root, "link")); // not a regular file: left out, as `list` does
    const workers = new LocalFsWorkers(1);
    try {
      const listed = async (maxDepth: number) => {
        const r = await workers.run({ kind: "list", root, maxDepth });
        assert.ok(r.ok && r.kind === "list");
        assert.equal(r.sizes.length, r.paths.length);
        assert.equal(r.mtimesMs.length, r.paths.length);
        return new Map(r.paths.map((p, i) => [p.slice(root.length + 1), [r.sizes[i], r.mtimesMs[i]]]));
      };
      const all = await listed(Number.POSITIVE_INFINITY);
      assert.deepEqual([...all.keys()].sort(), ["a/b/deep", "a/mid", "top"]);
      for (const [rel, [size, mtimeMs]] of all) {
        const s = statSync(join(root, rel));
        assert.deepEqual([size, mtimeMs], [s.size, s.mtimeMs], rel);
      }
      assert.deepEqual([...(await listed(1)).keys()], ["top"]);
      assert.deepEqual([...(await listed(2)).keys()].sort(), ["a/mid", "top"]);
      // no directory there (nothing, or a file): no files, as `LocalStore.list` in this thread
      for (const notADirectory of [join(dir, "no-such-dir"), join(root, "top")]) {
        const r = await workers.run({ kind: "list", root: notADirectory, maxDepth: 3 });
        assert.deepEqual(r, { ok: true, kind: "list", paths: [], sizes: [], mtimesMs: [] }, notADirectory);
      }
    } finally {
      await workers.close();
    }
  });

  it("a store whose workers are up lists on them, with the statuses the in-thread listing gives", async () => {
    const root = join(dir, "store-tree");
    mkdirSync(join(root, "x", "y"), { recursive: true });
    for (let i = 0; i < 12; i++)
      writeFileSync(join(root, ["", "x/", "x/y/"][i % 3] + `f${i}`), "z".repeat(i));
    const workers = new LocalFsWorkers(1);
    const kinds: string[] = [];
    const run = workers.run.bind(workers);
    workers.run = (op) => {
      kinds.push(op.kind);
      return run(op);
    };
    try {
      const store = new LocalStore({ workers });
      const listing = async (options?: { recursive?: boolean; maxDepth?: number; offThread?: boolean }) => {
        const out = [];
        for await (const f of store.list(root, options)) out.push(f);
        return out.sort((a, b) => a.uri.localeCompare(b.uri));
      };
      const cases = [undefined, { recursive: false }, { maxDepth: 2 }];
      const inThread = [];
      for (const c of cases) inThread.push(await listing(c));
      assert.deepEqual(kinds, [], "a small tree is listed in this thread while the workers are not running");
      assert.deepEqual(
        inThread.map((l) => l.length),
        [12, 4, 8],
      );
      store.prepareCopies();
      assert.equal(workers.ready, false, "a worker takes a while to start");
      assert.deepEqual(await listing({ offThread: true }), inThread[0]);
      assert.deepEqual(kinds, ["list"], "off this thread when asked: on the worker, once started");
      kinds.length = 0;
      await workers.close();
      store.prepareCopies();
      assert.equal(workers.ready, false);
      assert.deepEqual(await listing(), inThread[0]);
      assert.deepEqual(kinds, [], "otherwise in this thread while the worker starts");
      while (!workers.ready) await new Promise((r) => setTimeout(r, 5));
      for (const [i, c] of cases.entries())
        assert.deepEqual(await listing(c), inThread[i], JSON.stringify(c));
      assert.deepEqual(kinds, ["list", "list", "list"], "one operation per listing once the workers run");
    } finally {
      await workers.close();
    }
  });

  it("a copy whose worker stops before answering fails with a StoreFaultError and leaves no temporary file", async () => {
    const target = join(dir, "stopped");
    mkdirSync(target);
    writeFileSync(join(dir, "to-copy"), "bytes");
    // the operation runs (its copy is made), then the worker "dies" before answering
    let calls = 0;
    const die = (op: Parameters<LocalFsWorkers["run"]>[0]) => {
      calls++;
      assert.ok(runLocalFsOp(op).ok);
      throw new StoreFaultError("a local file-system worker stopped: exit code 1");
    };
    const dying = {
      run: async (op: Parameters<LocalFsWorkers["run"]>[0]) => die(op),
      runMany: async (ops: Parameters<LocalFsWorkers["runMany"]>[0]) => ops.map(die),
    } as unknown as LocalFsWorkers;
    const store = new LocalStore({ workers: dying });
    for (const sync of [true, false]) {
      await assert.rejects(
        store.copy(join(dir, "to-copy"), join(target, `copy-${sync}`), { sync }),
        StoreFaultError,
      );
    }
    await assert.rejects(store.stageCopy(join(dir, "to-copy"), join(target, "staged")), StoreFaultError);
    assert.ok(calls > 0);
    // no temporary file; a copy the worker had named before it stopped is whole (renamed when complete)
    const left = readdirSync(target);
    assert.deepEqual(
      left.filter((n) => n.endsWith(".tmp")),
      [],
    );
    for (const n of left) assert.equal(readFileSync(join(target, n), "utf8"), "bytes");
  });

  it("runMany answers many operations with one promise, in order, failures included; commit names a staged file", async () => {
    const workers = new LocalFsWorkers(2);
    try {
      const names = Array.from({ length: 150 }, (_, i) => `many-${i}`);
      for (const n of names) writeFileSync(join(dir, n), `bytes of ${n}`);
      const copies = await workers.runMany(
        names.map((n) => ({
          kind: "copy",
          source: n === "many-7" ? join(dir, "missing") : join(dir, n),
          staged: join(dir, `.${n}.tmp`),
          mode: constants.COPYFILE_EXCL,
        })),
      );
      assert.equal(copies.length, names.length);
      copies.forEach((r, i) => {
        if (i === 7) assert.ok(!r.ok && r.phase === "copy" && r.error.code === "ENOENT");
        else
          assert.ok(r.ok && r.kind === "copy" && r.status?.size === `bytes of many-${i}`.length, String(i));
      });
      assert.deepEqual(await workers.runMany([]), []);
      // the staged files named, each with its status under its name; a staged file that is not there fails
      const commits = await workers.runMany(
        names.map((n) => ({
          kind: "commit",
          staged: join(dir, `.${n}.tmp`),
          commitTo: join(dir, `${n}.copy`),
        })),
      );
      commits.forEach((r, i) => {
        const n = names[i] as string;
        if (i === 7) {
          assert.ok(!r.ok && r.phase === "commit" && r.error.code === "ENOENT");
          return;
        }
        const s = statSync(join(dir, `${n}.copy`));
        assert.ok(r.ok && r.kind === "commit");
        assert.deepEqual(r.status, { isFile: true, size: s.size, mtimeMs: s.mtimeMs });
        assert.ok(!existsSync(join(dir, `.${n}.tmp`)));
        assert.equal(readFileSync(join(dir, `${n}.copy`), "utf8"), `bytes of ${n}`);
      });
      // without overwrite, an existing file is kept and the commit fails
      writeFileSync(join(dir, ".keep.tmp"), "new");
      writeFileSync(join(dir, "keep"), "old");
      const [kept] = await workers.runMany([
        { kind: "commit", staged: join(dir, ".keep.tmp"), commitTo: join(dir, "keep"), overwrite: false },
      ]);
      assert.ok(kept && !kept.ok && kept.error.code === "EEXIST");
      assert.equal(readFileSync(join(dir, "keep"), "utf8"), "old");
    } finally {
      await workers.close();
    }
  });

  it("a worker that stops fails the callers of its batch once; their queued operations are dropped, others' run", async () => {
    const log = join(dir, "ops.log");
    writeFileSync(log, "");
    writeFileSync(join(dir, "stat-me"), "s");
    process.env.SAVEPOINT_KIT_TEST_OP_LOG = log;
    // one worker, running the stand-in that ends its thread at the operation on `stop-here`
    const workers = new LocalFsWorkers(1, 2000, {
      besideUrl: new URL("../helpers/stopping-fs-worker.ts", import.meta.url).href,
      name: "stopping-fs-worker",
    });
    try {
      const path = (i: number) => join(dir, i === 5 ? "stop-here" : "stat-me");
      // 200 operations of one caller: the first batch (64) holds the one that stops the worker
      const many = workers.runMany(
        Array.from({ length: 200 }, (_, i) => ({ kind: "stats" as const, paths: [`${path(i)}`] })),
      );
      // another caller's operation, queued behind them
      const other = workers.run({ kind: "stats", paths: [join(dir, "stat-me")] });
      await assert.rejects(many, (err: Error) => {
        assert.ok(err instanceof StoreFaultError);
        assert.match(err.message, /worker stopped: exit code 3/);
        return true;
      });
      const r = await other;
      assert.ok(r.ok && r.kind === "stats");
      // the failed caller's operations after the stopped batch never ran: only the 5 before the stop,
      // and the other caller's one, on the worker started in its place
      assert.equal(readFileSync(log, "utf8").trim().split("\n").length, 6);
    } finally {
      delete process.env.SAVEPOINT_KIT_TEST_OP_LOG;
      await workers.close();
    }
  });

  it("runMany rejects, as run does, when the pool closes before answering; the pool works again afterwards", async () => {
    const workers = new LocalFsWorkers(1);
    writeFileSync(join(dir, "queued"), "q");
    const ops = Array.from({ length: 500 }, () => ({ kind: "stats" as const, paths: [join(dir, "queued")] }));
    const many = workers.runMany(ops);
    const other = workers.run({ kind: "stats", paths: [join(dir, "queued")] });
    await workers.close();
    await assert.rejects(many, StoreFaultError);
    await assert.rejects(other, StoreFaultError);
    // the pool works again afterwards
    const [again] = await workers.runMany([{ kind: "stats", paths: [join(dir, "queued")] }]);
    assert.ok(again?.ok);
    await workers.close();
  });

  it("operations not answered when the pool closes fail; a closed pool starts workers again when used", async () => {
    const workers = new LocalFsWorkers(1);
    writeFileSync(join(dir, "again"), "z");
    const pending = Array.from({ length: 50 }, () =>
      workers.run({ kind: "stats", paths: [join(dir, "again")] }),
    );
    await workers.close();
    const settled = await Promise.allSettled(pending);
    // each either ran before the close or failed with a StoreFaultError, never left hanging
    for (const s of settled) {
      if (s.status === "rejected") assert.match(String(s.reason), /closed/);
      else assert.ok(s.value.ok);
    }
    const later = await workers.run({ kind: "stats", paths: [join(dir, "again")] });
    assert.ok(later.ok);
    await workers.close();
  });
});

describe("LocalStore listings, in this thread or on the workers", () => {
  it("gives the same statuses as fs.stat, for a small directory and one of 1,100 files (on the workers)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "savepoint-kit-list-"));
    try {
      const small = join(dir, "small");
      const large = join(dir, "large");
      mkdirSync(join(small, "sub"), { recursive: true });
      mkdirSync(large);
      for (let i = 0; i < 10; i++) writeFileSync(join(small, i % 2 ? `f${i}` : `sub/f${i}`), "x".repeat(i));
      for (let i = 0; i < 1100; i++) writeFileSync(join(large, `f${i}`), "y".repeat(i % 50));
      const store = new LocalStore();
      for (const [d, count] of [
        [small, 10],
        [large, 1100],
      ] as const) {
        const listed = [];
        for await (const f of store.list(d)) listed.push(f);
        assert.equal(listed.length, count);
        for (const f of listed) {
          const s = statSync(new URL(f.uri));
          assert.equal(f.size, s.size, f.uri);
          assert.equal(f.modified?.getTime(), s.mtime.getTime(), f.uri);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("local file-system workers and the process", () => {
  it("idle or warmed workers do not keep the process alive", () => {
    // workers that would stay a minute if they kept the process alive
    const script = `
      import { LocalFsWorkers } from ${JSON.stringify(new URL("../../src/storage/local-fs-workers.ts", import.meta.url).href)};
      const w = new LocalFsWorkers(2, 60_000);
      w.warm();
      const r = await w.run({ kind: "stats", paths: [process.cwd()] });
      if (!r.ok) process.exit(3);
      console.log("ran");
    `;
    const t0 = Date.now();
    const out = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      encoding: "utf8",
      timeout: 50_000,
    });
    assert.equal(out.status, 0, out.stderr);
    assert.equal(out.stdout.trim(), "ran");
    assert.ok(Date.now() - t0 < 50_000);
  });
});
