import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, rmSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runCli } from "../../src/cli/main.js";
import { NotASnapshotError } from "../../src/errors.js";
import { loadSnapshot } from "../../src/ops/locate.js";
import { findSnapshotsBelow } from "../../src/ops/snapshots-below.js";
import { StoreRegistry } from "../../src/storage/registry.js";
import { normalizeUri } from "../../src/storage/uri.js";

// Real layouts written by Flink 2.3.0 (see each fixture's PROVENANCE.md): the claimed case's `snapshot/`
// is a checkpoint directory as Flink left it (the first job's shared/ and taskowned/, the second job's
// chk-3), the incremental case's one job with chk-2.
const FIXTURES = join(import.meta.dirname, "..", "..", "fixtures", "flink-2.3");
const CLAIMED_JOB = "46ac1ec5751b50b7f820b7f9f0653520";
const INCREMENTAL_JOB = "90e56823ef41a788ddad7e3e80dc317c";

const stores = new StoreRegistry();
const scratch = mkdtempSync(join(tmpdir(), "savepoint-below-"));
const checkpoints = join(scratch, "checkpoints"); // execution.checkpointing.dir
const savepoints = join(scratch, "savepoints"); // execution.checkpointing.savepoint-dir
const older = new Date("2026-01-01T00:00:00Z");
const newer = new Date("2026-02-01T00:00:00Z");

before(() => {
  cpSync(join(FIXTURES, "checkpoint-rocksdb-claimed", "snapshot"), checkpoints, { recursive: true });
  cpSync(join(FIXTURES, "checkpoint-rocksdb-incremental", "snapshot"), checkpoints, { recursive: true });
  // times against the names' order, so that only the times can put them newest first
  utimesSync(join(checkpoints, INCREMENTAL_JOB, "chk-2", "_metadata"), newer, newer);
  utimesSync(join(checkpoints, CLAIMED_JOB, "chk-3", "_metadata"), older, older);
  for (const [name, time] of [
    ["savepoint-90e568-0a1b2c3d4e5f", newer],
    ["savepoint-46ac1e-5f4e3d2c1b0a", older],
  ] as const) {
    cpSync(join(FIXTURES, "savepoint-canonical-hashmap", "snapshot"), join(savepoints, name), {
      recursive: true,
    });
    utimesSync(join(savepoints, name, "_metadata"), time, time);
  }
});
after(async () => {
  await stores.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** The NotASnapshotError `loadSnapshot(input)` throws. */
async function refusal(input: string): Promise<NotASnapshotError> {
  const err = await loadSnapshot(input, stores).then(
    () => assert.fail(`${input} loaded`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof NotASnapshotError, String(err));
  return err;
}

describe("snapshots below a directory that is not a snapshot", () => {
  it("a checkpoint directory: names each job's retained checkpoints, newest first, and each loads", async () => {
    const err = await refusal(checkpoints);
    const expected = [join(checkpoints, INCREMENTAL_JOB, "chk-2"), join(checkpoints, CLAIMED_JOB, "chk-3")];
    assert.deepEqual(
      err.snapshotsBelow,
      expected.map((p) => normalizeUri(p)),
    );
    assert.match(err.message, /no _metadata in it; it holds 2 snapshots, newest first: /);
    assert.ok(err.message.endsWith(`: ${expected.join(", ")}`), err.message);
    for (const dir of err.snapshotsBelow) {
      const loaded = await loadSnapshot(dir, stores);
      assert.equal(loaded.directory, dir);
    }
  });

  it("one job's directory: its chk-<n>, not its shared/ or taskowned/ files", async () => {
    const job = join(checkpoints, CLAIMED_JOB);
    const err = await refusal(`${job}/`);
    assert.deepEqual(err.snapshotsBelow, [normalizeUri(join(job, "chk-3"))]);
    assert.ok(err.message.endsWith(`; it holds 1 snapshot: ${job}/chk-3`), err.message);
  });

  it("a savepoint directory: its savepoints, newest first", async () => {
    const err = await refusal(savepoints);
    assert.deepEqual(
      err.snapshotsBelow,
      ["savepoint-90e568-0a1b2c3d4e5f", "savepoint-46ac1e-5f4e3d2c1b0a"].map((n) =>
        normalizeUri(join(savepoints, n)),
      ),
    );
  });

  it("equal times: the higher checkpoint number first", async () => {
    const job = join(scratch, "numbers", "job");
    for (const n of [9, 10, 2]) {
      mkdirSync(join(job, `chk-${n}`), { recursive: true });
      cpSync(join(checkpoints, CLAIMED_JOB, "chk-3", "_metadata"), join(job, `chk-${n}`, "_metadata"));
      utimesSync(join(job, `chk-${n}`, "_metadata"), older, older);
    }
    const err = await refusal(job);
    assert.deepEqual(
      err.snapshotsBelow,
      [10, 9, 2].map((n) => normalizeUri(join(job, `chk-${n}`))),
    );
  });

  it("names five in the message and every one on the error; deeper than <job>/chk-<n> is not searched", async () => {
    const many = join(scratch, "many");
    for (let n = 1; n <= 7; n++) {
      mkdirSync(join(many, `chk-${n}`), { recursive: true });
      cpSync(join(checkpoints, CLAIMED_JOB, "chk-3", "_metadata"), join(many, `chk-${n}`, "_metadata"));
    }
    mkdirSync(join(many, "a", "b", "c"), { recursive: true });
    cpSync(join(checkpoints, CLAIMED_JOB, "chk-3", "_metadata"), join(many, "a", "b", "c", "_metadata"));
    const err = await refusal(many);
    assert.equal(err.snapshotsBelow.length, 7);
    assert.ok(!err.snapshotsBelow.some((u) => u.endsWith("/a/b/c")));
    assert.match(err.message, /it holds 7 snapshots, newest first: .*, and 2 more$/);
    assert.equal(err.message.split(`${many}/chk-`).length - 1, 5);
  });

  it("stops listing at the limit and says there may be more", async () => {
    const all = await findSnapshotsBelow(checkpoints, stores);
    assert.equal(all.truncated, false);
    assert.equal(all.snapshots.length, 2);
    const cut = await findSnapshotsBelow(checkpoints, stores, { limit: 3 });
    assert.equal(cut.truncated, true);
    assert.ok(cut.snapshots.length <= 2);
  });

  it("a missing directory or one without snapshots: the plain refusal", async () => {
    const missing = join(scratch, "missing");
    assert.equal(
      (await refusal(missing)).message,
      `not a Flink snapshot: no file ${missing} and no _metadata in it`,
    );
    const empty = join(scratch, "empty", "sub");
    mkdirSync(empty, { recursive: true });
    const err = await refusal(join(scratch, "empty"));
    assert.deepEqual(err.snapshotsBelow, []);
    assert.ok(err.message.endsWith("no _metadata in it"));
  });

  it("the CLI's --json error lists them (snapshotsBelow); without any, the key is absent", async () => {
    const r = await runCli(["inspect", checkpoints, "--json"]);
    assert.equal(r.exitCode, 2);
    const error = JSON.parse(r.stdout).error;
    assert.equal(error.code, "NOT_A_SNAPSHOT");
    assert.deepEqual(error.snapshotsBelow, [
      normalizeUri(join(checkpoints, INCREMENTAL_JOB, "chk-2")),
      normalizeUri(join(checkpoints, CLAIMED_JOB, "chk-3")),
    ]);
    const none = JSON.parse((await runCli(["inspect", join(scratch, "missing"), "--json"])).stdout).error;
    assert.equal(none.snapshotsBelow, undefined);
  });
});
