import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { NotFoundError, PermissionDeniedError, StoreFaultError } from "../../src/errors.js";
import { LocalStore, mapFsError } from "../../src/storage/local.js";
import { normalizeUri } from "../../src/storage/uri.js";
import { runStoreContract } from "./contract.js";

const isRoot = process.getuid?.() === 0;

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
  });
});
