/**
 * The public API (`src/index.ts`, the package's only entry): what the CLI does is also a library call.
 * Relocate, verify and edit a snapshot Flink wrote, through the entry alone.
 */

import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  createDefaultRegistry,
  dropOperators,
  findSnapshotsBelow,
  listSnapshotFiles,
  loadSnapshot,
  parseOperatorRef,
  parsePrefixMap,
  planRestore,
  readMetadata,
  relocateSnapshot,
  verifySnapshot,
  writeEdited,
} from "../src/index.js";
import { normalizeUri } from "../src/storage/uri.js";
import { listFixtures } from "./helpers/fixtures.js";

const stores = createDefaultRegistry({ env: {} });
const scratch = mkdtempSync(join(tmpdir(), "savepoint-api-"));
after(async () => {
  await stores.close();
  rmSync(scratch, { recursive: true, force: true });
});

const fixture = listFixtures().find((f) => f.id === "flink-2.3/savepoint-canonical-rocksdb");

describe("public API", { skip: fixture ? false : "fixture missing" }, () => {
  it("relocates a savepoint, which then verifies, self-contained, with the source's bytes", async () => {
    assert.ok(fixture);
    const source = join(scratch, "source");
    cpSync(fixture.metadataDir, source, { recursive: true });
    const target = join(scratch, "relocated");
    const plan = await relocateSnapshot(source, target, { stores, dryRun: true });
    assert.ok(plan.copies.length > 0);
    const report = await relocateSnapshot(source, target, { stores });
    assert.equal(report.totals.copied, plan.copies.length);
    const v = await verifySnapshot(target, { stores });
    assert.ok(v.ok && v.selfContained, JSON.stringify(v.problems));
    const files = await listSnapshotFiles(target, { stores });
    assert.equal(files.files.length, plan.copies.length);
    // relative pointers only: the same _metadata bytes
    assert.deepEqual(readFileSync(join(target, "_metadata")), readFileSync(join(source, "_metadata")));
    assert.deepEqual(parsePrefixMap("s3://a/x=s3://b/y"), { from: "s3://a/x", to: "s3://b/y" });
  });

  it("finds the snapshot below a directory that holds it", async () => {
    assert.ok(fixture);
    const parent = join(scratch, "savepoints");
    cpSync(fixture.metadataDir, join(parent, "savepoint-0a1b2c-3d4e5f6a7b8c"), { recursive: true });
    const found = await findSnapshotsBelow(parent, stores);
    assert.deepEqual(
      found.snapshots.map((s) => s.relative),
      ["savepoint-0a1b2c-3d4e5f6a7b8c"],
    );
    const loaded = await loadSnapshot(found.snapshots[0]?.directory ?? "", stores);
    assert.equal(loaded.directory, normalizeUri(join(parent, "savepoint-0a1b2c-3d4e5f6a7b8c")));
  });

  it("drops an operator and plans a restore of the result", async () => {
    assert.ok(fixture);
    const loaded = await loadSnapshot(fixture.metadataDir, stores);
    const ref = parseOperatorRef("word-stats");
    const edited = dropOperators(loaded.metadata, [ref]);
    const target = join(scratch, "dropped");
    const w = await writeEdited(loaded, edited, { stores, target, copy: true });
    assert.equal(w.mode, "copy");
    const written = readMetadata(readFileSync(join(target, "_metadata")));
    assert.ok(loaded.metadata.operatorStates.some((o) => o.operatorId === ref.operatorId));
    assert.ok(!written.operatorStates.some((o) => o.operatorId === ref.operatorId));
    assert.ok((await verifySnapshot(target, { stores })).ok);
    // the job without word-stats maps every operator left that has state
    const job = { operators: written.operatorStates.map((o) => ({ operatorId: o.operatorId })) };
    const restore = planRestore(written, job, target);
    assert.ok(
      restore.operators.every((o) => o.fate === "mapped"),
      JSON.stringify(restore.operators),
    );
  });
});
