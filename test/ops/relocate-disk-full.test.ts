/**
 * Relocating onto a file system that runs out of space: a real one, a small tmpfs mounted for the test
 * (which needs root, or another process that may mount; skipped otherwise). The relocation fails with a
 * StoreFaultError that names a file and the cause, writes no `_metadata`, leaves no temporary file and
 * no partial copy under a file's name, and leaves the source as it was. Once there is room, a re-run
 * finishes and the copy verifies, byte for byte. Durable (staged copies, renamed in waves) and
 * `sync: false` (`--no-sync`: copies made under their names) alike.
 */

import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { StoreFaultError } from "../../src/errors.js";
import { writeMetadata } from "../../src/formats/metadata/index.js";
import { verifySnapshot } from "../../src/ops/files.js";
import { relocateSnapshot } from "../../src/ops/relocate.js";
import { StoreRegistry } from "../../src/storage/registry.js";
import { normalizeUri } from "../../src/storage/uri.js";
import { syntheticSavepoint } from "../helpers/synthetic-savepoint.js";
import { filesIn, treeDigest } from "../helpers/tree.js";

/** Files of the snapshot and their size (bytes): 3 MiB in all, more than the file system holds. */
const FILES = 8;
const FILE_BYTES = 384 * 1024;
/** The size of the small file system (it also holds the copies' directory entries and inodes). */
const SMALL = "2m";
const ROOMY = "16m";

const scratch = mkdtempSync(join(tmpdir(), "savepoint-disk-full-"));
const mountPoint = join(scratch, "small-fs");
mkdirSync(mountPoint);
/** Why the test cannot run here, or undefined: it mounts a tmpfs. */
const skip = (() => {
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${SMALL}`, "tmpfs", mountPoint], {
    encoding: "utf8",
  });
  if (r.status === 0) return undefined;
  return `cannot mount a tmpfs here (${(r.stderr || r.error?.message || "").trim()}): needs root`;
})();
const stores = new StoreRegistry();

after(async () => {
  await stores.close();
  if (!skip) spawnSync("umount", [mountPoint]);
  rmSync(scratch, { recursive: true, force: true });
});

describe("relocate onto a file system that runs out of space", { skip }, () => {
  const source = join(scratch, "source");
  let sourceDigest: Map<string, string>;
  before(() => {
    mkdirSync(source);
    const names = Array.from({ length: FILES }, (_, i) => `state-${i}`);
    for (const n of names) writeFileSync(join(source, n), randomBytes(FILE_BYTES));
    writeFileSync(join(source, "_metadata"), writeMetadata(syntheticSavepoint(names, FILE_BYTES)));
    sourceDigest = treeDigest(source);
  });

  for (const sync of [true, false]) {
    it(`${sync ? "durable" : "sync: false"}: fails with the cause and a file named, leaves no _metadata, temporary file or partial copy; a re-run with room finishes`, async () => {
      execFileSync("mount", ["-o", `remount,size=${SMALL}`, mountPoint]);
      const target = join(mountPoint, sync ? "durable" : "unsynced");
      const err = await relocateSnapshot(source, target, { stores, sync }).then(
        () => assert.fail("the relocation should not fit"),
        (e: unknown) => e,
      );
      // about a file of the target, by its name (not a temporary file's), in words
      assert.ok(err instanceof StoreFaultError, String(err));
      assert.match(err.message, /^local file system: no space left on the device \(ENOSPC\) writing file:/);
      assert.ok(err.uri?.startsWith(`${normalizeUri(target)}/state-`), err.uri);
      assert.ok(err.message.endsWith(` writing ${err.uri}`), err.message);
      assert.ok(!existsSync(join(target, "_metadata")), "no _metadata");
      const left = filesIn(target);
      assert.deepEqual(
        left.filter((f) => f.endsWith(".tmp")),
        [],
        "no temporary file",
      );
      // what is there under a file's name is a whole copy (a partial one would be taken for a copy)
      for (const f of left) assert.equal(treeDigest(target).get(f), sourceDigest.get(f), f);
      assert.deepEqual(treeDigest(source), sourceDigest, "the source as it was");

      execFileSync("mount", ["-o", `remount,size=${ROOMY}`, mountPoint]);
      const again = await relocateSnapshot(source, target, { stores, sync });
      assert.equal(again.totals.copied + again.totals.skipped, FILES);
      assert.equal(again.totals.skipped, left.length, "the whole copies of the failed run are kept");
      assert.ok((await verifySnapshot(target, { stores })).ok);
      assert.deepEqual(treeDigest(target), sourceDigest);
      rmSync(target, { recursive: true });
    });
  }
});
