import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat as statFs, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import {
  AlreadyExistsError,
  NotFoundError,
  PermissionDeniedError,
  StoreFaultError,
} from "../../src/errors.js";
import { LocalStore, mapFsError, syncPath } from "../../src/storage/local.js";
import { normalizeUri, toLocalPath } from "../../src/storage/uri.js";
import { runStoreContract } from "./contract.js";

const isRoot = process.getuid?.() === 0;
const readFileText = (path: string) => readFile(path, "utf8");

runStoreContract("local", async () => {
  const dir = await mkdtemp(join(tmpdir(), "spk-local-"));
  return {
    store: new LocalStore(),
    base: normalizeUri(dir),
    boundary: 64 * 1024,
    listPageSize: 8,
    async forbidden() {
      if (isRoot) {
        return {
          skip: "running as root: root bypasses file modes (CAP_DAC_OVERRIDE), so the same refusals are checked as user nobody in 'local: permissions as an unprivileged user'",
        };
      }
      const locked = join(dir, "locked");
      await mkdir(locked);
      await writeFile(join(locked, "secret"), "x");
      await chmod(join(locked, "secret"), 0o000);
      await chmod(locked, 0o500);
      return { readUri: normalizeUri(join(locked, "secret")), writeUri: normalizeUri(join(locked, "new")) };
    },
    async teardown() {
      await chmod(join(dir, "locked"), 0o700).catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe("local: permissions as an unprivileged user", () => {
  it("maps EACCES to PermissionDeniedError (as root: checked in a child process running as nobody)", {
    skip: isRoot ? false : "not root: the contract suite's permission test covers this",
    timeout: 60_000,
  }, async () => {
    const dir = await mkdtemp(join(tmpdir(), "spk-perm-"));
    try {
      await chmod(dir, 0o755);
      const locked = join(dir, "locked");
      await mkdir(locked);
      await writeFile(join(locked, "secret"), "x");
      await chmod(join(locked, "secret"), 0o600); // root's file, closed to others
      await chmod(locked, 0o755); // others may not create files here
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [
          "--import",
          "tsx",
          "test/storage/local-unprivileged.ts",
          normalizeUri(join(locked, "secret")),
          normalizeUri(join(locked, "new")),
        ],
        { uid: 65534, gid: 65534, env: { ...process.env, HOME: tmpdir() }, timeout: 50_000 },
      );
      const codes = JSON.parse(stdout.trim().split("\n").pop() as string) as Record<string, string>;
      for (const [op, code] of Object.entries(codes))
        assert.equal(code, "PERMISSION_DENIED", `${op} as nobody`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("local: fs error mapping", () => {
  it("maps errno codes to typed errors naming the URI", () => {
    const err = (code: string) => Object.assign(new Error(code), { code });
    assert.ok(mapFsError(err("EACCES"), "file:///x") instanceof PermissionDeniedError);
    assert.ok(mapFsError(err("EPERM"), "file:///x") instanceof PermissionDeniedError);
    assert.ok(mapFsError(err("ENOENT"), "file:///x") instanceof NotFoundError);
    const fault = mapFsError(err("EIO"), "file:///x");
    assert.ok(fault instanceof StoreFaultError);
    assert.equal(fault.uri, "file:///x");
    for (const [code, words] of [
      ["ENOSPC", "no space left on the device"],
      ["EDQUOT", "disk quota exceeded"],
      ["EFBIG", "file too large"],
      ["EROFS", "read-only file system"],
    ] as const) {
      const e = mapFsError(err(code), "file:///y/z");
      assert.ok(e instanceof StoreFaultError, code);
      assert.equal(e.uri, "file:///y/z");
      assert.equal(
        e.message,
        `local file system: ${words}${code === "EFBIG" ? " for the file system" : ""} (${code}) writing file:///y/z`,
      );
    }
  });
});

describe("local: listing", () => {
  it("lists a file whose name holds a %XX sequence under its own size (stat of the path, not of a decoded URI)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "spk-list-"));
    try {
      await writeFile(join(dir, "a%41b"), "1234");
      await writeFile(join(dir, "plain"), "12");
      const got = [];
      for await (const f of new LocalStore().list(normalizeUri(dir))) got.push(f.size);
      assert.deepEqual(got.sort(), [2, 4]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("local: rename and durability", () => {
  it("rename moves a file without copying it, creating directories; false across file systems", async () => {
    const dir = await mkdtemp(join(tmpdir(), "spk-rename-"));
    const store = new LocalStore();
    try {
      const from = normalizeUri(join(dir, "a.bin"));
      await store.write(from, new Uint8Array([1, 2, 3]));
      const ino = (await statFs(toLocalPath(from))).ino;
      const to = normalizeUri(join(dir, "x", "y", "b.bin"));
      assert.equal(await store.rename(from, to), true);
      assert.equal(await store.stat(from), null);
      assert.equal((await statFs(toLocalPath(to))).ino, ino, "the same file, not a copy");
      await store.write(from, new Uint8Array([4]));
      await assert.rejects(store.rename(from, to, { overwrite: false }), AlreadyExistsError);
      assert.equal(await store.rename(from, to), true, "replaces the target by default");
      assert.deepEqual([...(await store.readAll(to))], [4]);
      await assert.rejects(store.rename(from, normalizeUri(join(dir, "c"))), NotFoundError);
      // /dev/shm is another file system (tmpfs) where there is one: EXDEV gives false, nothing changes
      const shm = await mkdtemp("/dev/shm/spk-rename-").catch(() => undefined);
      if (shm) {
        try {
          const far = normalizeUri(join(shm, "b.bin"));
          assert.equal(await store.rename(to, far), false);
          assert.ok(await store.stat(to));
          assert.equal(await store.stat(far), null);
        } finally {
          await rm(shm, { recursive: true, force: true });
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("syncs each written file before its rename, and syncFiles each directory once with the new ones' parents", async () => {
    const dir = await mkdtemp(join(tmpdir(), "spk-sync-"));
    const synced: [string, string][] = [];
    const store = new LocalStore({
      sync: async (path, kind) => {
        synced.push([path, kind]);
        await syncPath(path, kind);
      },
    });
    try {
      const uris = ["n/m/a", "n/m/b", "n/c"].map((p) => normalizeUri(join(dir, p)));
      await store.write(uris[0] as string, new Uint8Array([1]));
      await store.copy(uris[0] as string, uris[1] as string);
      await store.write(uris[2] as string, new Uint8Array([2]), { sync: false });
      const files = synced.filter(([, k]) => k === "file").map(([p]) => p);
      assert.equal(files.length, 2, "write and copy sync, sync: false does not");
      assert.match(files[0] as string, /\/\.a\.[0-9a-f]+\.tmp$/, "synced before the rename");
      assert.match(files[1] as string, /\/\.b\.[0-9a-f]+\.tmp$/);
      synced.length = 0;
      await store.syncFiles(uris, { namesOnly: true });
      assert.deepEqual(synced.map(([p, k]) => `${k} ${p}`).sort(), [
        `directory ${dir}`,
        `directory ${join(dir, "n")}`,
        `directory ${join(dir, "n", "m")}`,
      ]);
      synced.length = 0;
      await store.syncFiles([uris[2] as string]);
      assert.deepEqual(
        synced,
        [
          [join(dir, "n", "c"), "file"],
          [join(dir, "n"), "directory"],
        ],
        "created directories are synced once; the file's bytes without namesOnly",
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("stageCopy shows nothing at the target; commitStaged syncs every staged file, then names them; discardStaged removes the rest", async () => {
    const dir = await mkdtemp(join(tmpdir(), "spk-stage-"));
    const events: string[] = [];
    const store = new LocalStore({
      sync: async (path, kind) => {
        events.push(`sync ${kind} ${path.slice(dir.length + 1)}`);
        await syncPath(path, kind);
      },
    });
    try {
      const src = normalizeUri(join(dir, "src"));
      await writeFile(toLocalPath(src), "bytes");
      const targets = ["out/a", "out/b", "out/c"].map((p) => normalizeUri(join(dir, p)));
      const staged = [];
      for (const t of targets) staged.push(await store.stageCopy(src, t));
      for (const t of targets) assert.equal(await store.stat(t), null, "not visible before the commit");
      assert.deepEqual(events, []);
      await store.commitStaged(staged.slice(0, 2));
      assert.deepEqual(
        events,
        staged.slice(0, 2).map((s) => `sync file ${s.staged.slice(dir.length + 1)}`),
        "each staged file synced, before any is named",
      );
      assert.equal((await store.stat(targets[0] as string))?.size, 5);
      assert.equal((await store.stat(targets[1] as string))?.size, 5);
      await store.discardStaged(staged);
      assert.equal(await store.stat(targets[2] as string), null);
      assert.deepEqual((await readdir(join(dir, "out"))).sort(), ["a", "b"], "no temporary file left");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("copy without sync resolves with the status of the copy under its name; a durable copy with undefined", async () => {
    const dir = await mkdtemp(join(tmpdir(), "spk-copy-status-"));
    const store = new LocalStore();
    try {
      const src = normalizeUri(join(dir, "src"));
      await writeFile(toLocalPath(src), "seven b");
      const fast = normalizeUri(join(dir, "out", "fast"));
      const status = await store.copy(src, fast, { sync: false });
      const s = await statFs(toLocalPath(fast));
      assert.deepEqual(status, { uri: fast, size: 7, modified: s.mtime });
      assert.equal(await store.copy(src, normalizeUri(join(dir, "out", "durable"))), undefined);
      assert.equal((await store.stat(normalizeUri(join(dir, "out", "durable"))))?.size, 7);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("copyMany copies (without sync) or stages many files in one call: outcomes in order, a failure in its own", async () => {
    const dir = await mkdtemp(join(tmpdir(), "spk-copy-many-"));
    const store = new LocalStore();
    try {
      const names = Array.from({ length: 100 }, (_, i) => `f-${i}`);
      await mkdir(join(dir, "src"));
      for (const n of names) await writeFile(join(dir, "src", n), `bytes of ${n}`);
      const items = (to: string) =>
        names.map((n) => ({
          source: normalizeUri(join(dir, "src", n === "f-9" ? "missing" : n)),
          // two directories that do not exist yet, created once each
          target: normalizeUri(join(dir, to, n.endsWith("0") ? "tens" : "rest", n)),
        }));
      // without sync: copied and named
      const copied = await store.copyMany(items("fast"), { sync: false });
      assert.equal(copied.length, names.length);
      for (const [i, o] of copied.entries()) {
        const n = names[i] as string;
        if (n === "f-9") {
          assert.ok(!o.ok && o.error instanceof NotFoundError, String(o.ok || o.error));
          continue;
        }
        assert.ok(o.ok && o.status && !o.staged);
        const target = (items("fast")[i] as { target: string }).target;
        const s = await statFs(toLocalPath(target));
        assert.deepEqual(o.status, { uri: target, size: s.size, modified: s.mtime });
        assert.equal(s.size, `bytes of ${n}`.length);
      }
      // staged: nothing at the targets until commitStaged, which resolves with their statuses there
      const staged = await store.copyMany(items("staged"), { stage: true });
      const ok = staged.flatMap((o) => (o.ok && o.staged ? [o.staged] : []));
      assert.equal(ok.length, names.length - 1);
      assert.ok(!staged[9]?.ok);
      for (const st of ok) assert.equal(await store.stat(st.target), null, "not visible before the commit");
      const statuses = await store.commitStaged(ok);
      assert.equal(statuses?.length, ok.length);
      for (const [i, st] of ok.entries()) {
        const s = await statFs(toLocalPath(st.target));
        assert.deepEqual(statuses?.[i], { uri: st.target, size: s.size, modified: s.mtime });
      }
      const left = [
        ...(await readdir(join(dir, "staged", "tens"))),
        ...(await readdir(join(dir, "staged", "rest"))),
      ];
      assert.equal(left.filter((n) => n.endsWith(".tmp")).length, 0, "no temporary file left");
      assert.equal(left.length, names.length - 1);
      // targets the caller saw absent: made under their names directly, never replacing a file that
      // appeared since (that copy fails, the file is kept); without the hint, it is replaced
      const direct = items("direct").slice(0, 4);
      await mkdir(join(dir, "direct", "rest"), { recursive: true });
      await writeFile(toLocalPath((direct[1] as { target: string }).target), "appeared since");
      const made = await store.copyMany(direct, { sync: false, targetsAbsent: true });
      assert.ok(made[0]?.ok && made[2]?.ok && made[3]?.ok);
      assert.ok(!made[1]?.ok && made[1]?.error instanceof AlreadyExistsError, String(made[1]?.ok));
      assert.equal(
        await readFileText(toLocalPath((direct[1] as { target: string }).target)),
        "appeared since",
      );
      assert.equal(await readFileText(toLocalPath((direct[3] as { target: string }).target)), "bytes of f-3");
      const replaced = await store.copyMany([direct[1] as { source: string; target: string }], {
        sync: false,
      });
      assert.ok(replaced[0]?.ok);
      assert.equal(await readFileText(toLocalPath((direct[1] as { target: string }).target)), "bytes of f-1");
      const inDirect = [
        ...(await readdir(join(dir, "direct", "tens"))),
        ...(await readdir(join(dir, "direct", "rest"))),
      ];
      assert.deepEqual(
        inDirect.filter((n) => n.endsWith(".tmp")),
        [],
      );
      // durable and not staged: each copy as `copy` makes it (synced, then named)
      const durable = await store.copyMany(items("durable").slice(0, 3));
      assert.ok(durable.every((o) => o.ok && o.status === undefined));
      assert.equal(
        (await store.stat((items("durable")[2] as { target: string }).target))?.size,
        "bytes of f-2".length,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("commitStaged syncs each file system once for 64 staged files or more; each file with perFile, for fewer, or when that sync fails", async () => {
    const dir = await mkdtemp(join(tmpdir(), "spk-syncfs-commit-"));
    const fileSyncs: string[] = [];
    const fsSyncs: string[] = [];
    let fsSyncWorks = true;
    const store = new LocalStore({
      sync: async (path, kind) => {
        if (kind === "file") fileSyncs.push(path);
        await syncPath(path, kind);
      },
      syncFileSystem: async (path) => {
        fsSyncs.push(path);
        return fsSyncWorks;
      },
    });
    try {
      const src = normalizeUri(join(dir, "src"));
      await writeFile(toLocalPath(src), "bytes");
      let round = 0;
      /** Stages `n` copies (in two directories of one file system) and commits them. */
      const commit = async (n: number, options?: { perFile?: boolean }) => {
        round++;
        fileSyncs.length = 0;
        fsSyncs.length = 0;
        const staged = [];
        for (let i = 0; i < n; i++) {
          staged.push(await store.stageCopy(src, normalizeUri(join(dir, `r${round}`, `d${i % 2}`, `f${i}`))));
        }
        await store.commitStaged(staged, options);
        for (const s of staged) assert.equal((await store.stat(s.target))?.size, 5, s.target);
        assert.deepEqual((await readdir(join(dir, `r${round}`, "d0"))).length, Math.ceil(n / 2));
        return { fileSyncs: fileSyncs.length, fsSyncs: fsSyncs.length };
      };
      assert.deepEqual(await commit(64), { fileSyncs: 0, fsSyncs: 1 }, "one sync of the one file system");
      assert.deepEqual(await commit(64, { perFile: true }), { fileSyncs: 64, fsSyncs: 0 });
      assert.deepEqual(await commit(63), { fileSyncs: 63, fsSyncs: 0 });
      fsSyncWorks = false;
      assert.deepEqual(
        await commit(70),
        { fileSyncs: 70, fsSyncs: 1 },
        "each file, once the file system sync failed",
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("syncFiles syncs only the created directories of the files given, not those of other writes (gone since)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "spk-sync-"));
    const synced: string[] = [];
    const store = new LocalStore({
      sync: async (path, kind) => {
        synced.push(`${kind} ${path}`);
        await syncPath(path, kind);
      },
    });
    try {
      // a `sync: false` write into a new directory, deleted afterwards (a scratch relocation)
      const scratch = normalizeUri(join(dir, "scratch", "x", "f"));
      await store.write(scratch, new Uint8Array([1]), { sync: false });
      await rm(join(dir, "scratch"), { recursive: true });
      const kept = normalizeUri(join(dir, "kept", "g"));
      await store.write(kept, new Uint8Array([2]));
      synced.length = 0;
      await store.syncFiles([kept], { namesOnly: true });
      assert.deepEqual(synced.sort(), [`directory ${dir}`, `directory ${join(dir, "kept")}`]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
