/**
 * A relocation killed part way (SIGKILL of the `savepoint relocate` process, the CLI from source), then
 * run again: the second run finishes and the copy verifies, byte for byte. What the killed run left is
 * what the module doc of `ops/relocate.ts` promises: no `_metadata`; durable, every file under its own
 * name is a whole copy (bytes go to a temporary name first), and the re-run keeps those (skipped, not
 * copied again) and removes the temporary files; `--no-sync` may leave a partial file under its name
 * (as `cp` does: `docs/storage.md`), which the re-run tells by its size and copies again (one is cut
 * short by hand: a kill seldom lands inside a copy).
 */

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { writeMetadata } from "../../src/formats/metadata/index.js";
import { verifySnapshot } from "../../src/ops/files.js";
import { relocateSnapshot } from "../../src/ops/relocate.js";
import { StoreRegistry } from "../../src/storage/registry.js";
import { syntheticSavepoint } from "../helpers/synthetic-savepoint.js";
import { treeDigest } from "../helpers/tree.js";

/** Files of the snapshot, and their size (bytes). */
const FILES = 600;
const FILE_BYTES = 128 * 1024;
/** Files under their own names at the target when the process is killed. */
const KILL_AFTER_FILES = 40;
const TIMEOUT_MS = 60_000;

const scratch = mkdtempSync(join(tmpdir(), "savepoint-relocate-killed-"));
const stores = new StoreRegistry();
const running = new Set<ChildProcess>();
after(async () => {
  for (const p of running) p.kill("SIGKILL");
  await stores.close();
  rmSync(scratch, { recursive: true, force: true });
});

const sha = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

/** The names in `dir`: files under their own names, and temporary ones (`.<name>.<hex>.tmp`). */
function namesIn(dir: string): { named: string[]; temporary: string[] } {
  const all = existsSync(dir) ? readdirSync(dir) : [];
  return {
    named: all.filter((n) => !n.endsWith(".tmp")),
    temporary: all.filter((n) => n.endsWith(".tmp")),
  };
}

/**
 * Starts the CLI relocating `source` to `target` (one copy at a time, so that it runs long enough) and
 * kills it with SIGKILL once `KILL_AFTER_FILES` files are under their own names at the target.
 * @throws when the process ends by itself first (then the test shows why).
 */
async function relocateAndKill(source: string, target: string, extra: string[]): Promise<void> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "src/cli/main.ts", "relocate", source, target, "--concurrency", "1", ...extra],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  running.add(child);
  let stderr = "";
  child.stderr?.on("data", (d) => {
    stderr += d;
  });
  const exited = new Promise<string>((resolve) =>
    child.once("exit", (code, signal) => resolve(`exit code ${code}, signal ${signal}`)),
  );
  const deadline = Date.now() + TIMEOUT_MS;
  try {
    for (;;) {
      const ended = await Promise.race([
        exited,
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 2)),
      ]);
      if (ended !== undefined) assert.fail(`relocate ended before it was killed (${ended}): ${stderr}`);
      if (namesIn(target).named.length >= KILL_AFTER_FILES) break;
      if (Date.now() > deadline)
        assert.fail(`no ${KILL_AFTER_FILES} files at the target in ${TIMEOUT_MS} ms`);
    }
    child.kill("SIGKILL");
    assert.match(await exited, /signal SIGKILL/);
  } finally {
    running.delete(child);
  }
}

describe("relocate killed part way, then run again", () => {
  const source = join(scratch, "source");
  const digests = new Map<string, string>();
  before(() => {
    mkdirSync(source);
    const names = Array.from({ length: FILES }, (_, i) => `state-${String(i).padStart(4, "0")}`);
    for (const n of names) writeFileSync(join(source, n), randomBytes(FILE_BYTES));
    writeFileSync(join(source, "_metadata"), writeMetadata(syntheticSavepoint(names, FILE_BYTES)));
    for (const [n, d] of treeDigest(source)) digests.set(n, d);
  });

  it("durable: whole files under their names only, kept by the re-run; the temporary files removed", async () => {
    const target = join(scratch, "durable");
    await relocateAndKill(source, target, []);
    const left = namesIn(target);
    assert.ok(!left.named.includes("_metadata"), "no _metadata");
    for (const n of left.named) assert.equal(sha(join(target, n)), digests.get(n), `${n} is whole`);

    const again = await relocateSnapshot(source, target, { stores });
    assert.equal(again.totals.skipped, left.named.length, "the whole files are not copied again");
    assert.equal(again.totals.copied, FILES - left.named.length);
    assert.deepEqual(namesIn(target).temporary, [], "no temporary file left");
    assert.ok((await verifySnapshot(target, { stores })).ok);
    for (const [n, d] of digests) assert.equal(sha(join(target, n)), d, n);
  });

  it("--no-sync: the re-run keeps the whole copies and copies a partial one under its name again", async () => {
    const target = join(scratch, "unsynced");
    await relocateAndKill(source, target, ["--no-sync"]);
    const left = namesIn(target);
    assert.ok(!left.named.includes("_metadata"), "no _metadata");
    // a kill rarely lands inside one copy of 128 KiB, so one whole copy is cut short by hand, as such a
    // kill leaves it
    const cut = left.named[0] as string;
    truncateSync(join(target, cut), FILE_BYTES / 2);
    const whole = left.named.filter((n) => sha(join(target, n)) === digests.get(n));
    assert.ok(!whole.includes(cut));

    const again = await relocateSnapshot(source, target, { stores, sync: false });
    assert.equal(again.totals.skipped, whole.length, "whole files are kept, others copied again");
    assert.equal(again.totals.copied + again.totals.skipped, FILES);
    assert.deepEqual(namesIn(target).temporary, []);
    assert.ok((await verifySnapshot(target, { stores })).ok);
    for (const [n, d] of digests) assert.equal(sha(join(target, n)), d, n);
  });
});
