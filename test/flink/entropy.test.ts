/**
 * Issue #5, "entropy-injected layouts": the checkpoints Flink wrote to S3 with entropy injection
 * (fixtures/entropy, both lines; `_metadata` under `checkpoints/<job>/chk-2/`, every state file under its
 * own random prefix, all pointers absolute) are put back on a test S3 server at their keys and, from
 * there:
 * - listed and verified by `files` / `verify` (every file outside the checkpoint's directory);
 * - relocated to a local directory, and to another bucket: the copy in Flink's plain layout (entropy taken
 *   out: chk-2's files in chk-2 with relative pointers, the others in the job's shared/), each restored
 *   by real Flink, its state equal to the fixture job's model;
 * - after a "bucket rename" the user did themselves (every object copied to another bucket), given new
 *   pointers with `--map` alone (nothing copied but `_metadata`) and restored from the new bucket.
 * The source objects are deleted before Flink restores, so nothing is read from the old place.
 *
 * Needs moto and Flink; skipped with `SAVEPOINT_KIT_SKIP_SERVERS=1` or `SAVEPOINT_KIT_SKIP_FLINK=1`.
 */

import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, before, describe, it } from "node:test";
import { CopyObjectCommand, DeleteObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { listSnapshotFiles, verifySnapshot } from "../../src/ops/files.js";
import { relocateSnapshot } from "../../src/ops/relocate.js";
import { createDefaultRegistry } from "../../src/storage/defaults.js";
import type { StoreRegistry } from "../../src/storage/registry.js";
import { normalizeUri } from "../../src/storage/uri.js";
import { listEntropyFixtures } from "../helpers/fixtures.js";
import {
  describeRun,
  flinkLines,
  flinkSkipReason,
  type RestoreReport,
  type RestoreRun,
  requireFlinkTools,
  restoreWithFlink,
  runResult,
} from "../helpers/flink.js";
import { serverSkip } from "../servers/process.js";
import { flinkS3Config, type S3TestServer, s3StoreOptions, startS3Server } from "../servers/s3-server.js";

const skip = flinkSkipReason() ?? (serverSkip("the S3 test server (moto)") || undefined);
const fixtures = listEntropyFixtures();
const scratch = mkdtempSync(join(tmpdir(), "savepoint-flink-entropy-"));
const MOVED = "spk-entropy-moved";
const RENAMED = "spk-entropy-renamed";
let s3: S3TestServer | undefined;
let stores: StoreRegistry | undefined;

before(async () => {
  if (skip) return;
  requireFlinkTools();
  s3 = await startS3Server();
  for (const b of [fixtures[0]?.expected.bucket as string, MOVED, RENAMED]) await s3.createBucket(b);
  stores = createDefaultRegistry({
    s3: s3StoreOptions(s3),
    env: {},
  });
});
after(async () => {
  await stores?.close();
  await s3?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

/** The parent of a snapshot path or URI, as a normalised URI. */
const parentOf = (snapshot: string) => {
  const uri = normalizeUri(snapshot);
  return uri.slice(0, uri.lastIndexOf("/"));
};

/** The object keys of a fixture's `bucket/` directory. */
function objectKeys(bucketDir: string): string[] {
  return readdirSync(bucketDir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(bucketDir, join(e.parentPath, e.name)));
}

for (const line of flinkLines(fixtures.map((f) => f.id))) {
  const f = fixtures.find((x) => x.id === `flink-${line}/checkpoint-entropy`);
  assert.ok(f);
  const bucket = String(f.expected.bucket);
  const source = String(f.expected.pointer);
  const chkPath = source.slice(`s3://${bucket}/`.length);
  const keys = objectKeys(join(f.caseDir, "bucket"));
  /** Files Flink wrote into chk-2 (under an entropy prefix): the relocated chk-2 holds them. */
  const chk2Files = keys.filter((k) => k.includes("/chk-2/") && !k.endsWith("/_metadata")).length;

  describe(`entropy-injected S3 checkpoint, relocated and restored by real Flink ${line}`, () => {
    const runs: RestoreRun[] = [];
    const roots = new Map<string, string>();
    let sourceFiles: Awaited<ReturnType<typeof listSnapshotFiles>> | undefined;
    let sourceVerified = false;
    let mappedCopies = -1;
    let report: RestoreReport;

    before(async () => {
      if (skip) return;
      assert.ok(s3 && stores);
      const client = s3.client;
      for (const key of keys)
        await client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: readFileSync(join(f.caseDir, "bucket", key)),
          }),
        );
      sourceFiles = await listSnapshotFiles(source, { stores });
      sourceVerified = (await verifySnapshot(source, { stores })).ok;

      const local = join(scratch, line, "local", "new-job", "chk-2");
      await relocateSnapshot(source, local, { stores });
      runs.push({ name: "relocated to a local directory", snapshot: local, backend: "rocksdb" });
      roots.set("relocated to a local directory", normalizeUri(join(scratch, line, "local")));

      const moved = `s3://${MOVED}/${line}/checkpoints/new-job/chk-2`;
      await relocateSnapshot(source, moved, { stores });
      runs.push({ name: "relocated to another bucket", snapshot: moved, backend: "rocksdb" });
      roots.set("relocated to another bucket", `s3://${MOVED}/${line}/`);

      // the user's own "bucket rename": every object copied at its key, then only the pointers rewritten
      for (const key of keys)
        await client.send(
          new CopyObjectCommand({ Bucket: RENAMED, Key: key, CopySource: `${bucket}/${key}` }),
        );
      const mapped = `s3://${RENAMED}/${chkPath}-mapped`;
      const m = await relocateSnapshot(`s3://${RENAMED}/${chkPath}`, mapped, {
        stores,
        maps: [{ from: `s3://${bucket}`, to: `s3://${RENAMED}` }],
      });
      mappedCopies = m.copies.length;
      runs.push({ name: "bucket renamed, pointers mapped", snapshot: mapped, backend: "rocksdb" });
      roots.set("bucket renamed, pointers mapped", `s3://${RENAMED}/`);

      // nothing of the source is left for Flink to read
      for (const key of keys) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));

      report = await restoreWithFlink(line, runs, { config: flinkS3Config(s3) });
      console.log(
        `# Flink ${report.flinkVersion}: ${runs.length} restores in ${report.wallMs} ms (` +
          `${report.runs.map((r) => `${r.name} ${r.durationMs} ms`).join("; ")})`,
      );
    });

    it("files and verify read the checkpoint on S3: every file under an entropy prefix, outside chk-2", {
      skip,
    }, () => {
      assert.ok(sourceFiles);
      const flink = (f.expected.files as { uri: string }[]).map((x) => x.uri).sort();
      assert.deepEqual(sourceFiles.files.map((x) => x.uri).sort(), flink);
      assert.ok(sourceFiles.files.every((x) => x.location === "external"));
      assert.equal(sourceFiles.selfContained, false);
      assert.ok(sourceVerified, "verify passes on the source");
    });

    it("--map after a bucket rename copies nothing but writes new pointers", { skip }, () => {
      assert.equal(mappedCopies, 0);
    });

    it("Flink restores every relocation and its state equals the model", { skip }, async () => {
      assert.ok(stores);
      for (const run of runs) {
        const files = await listSnapshotFiles(run.snapshot, { stores });
        const root = roots.get(run.name) as string;
        const elsewhere = files.files.filter((x) => !x.uri.startsWith(root)).map((x) => x.uri);
        assert.deepEqual(elsewhere, [], `${run.name}: every file under ${root}`);
        assert.equal(files.files.length, (f.expected.files as unknown[]).length, run.name);
        if (run.name !== "bucket renamed, pointers mapped") {
          // entropy taken out: Flink's plain layout, chk-2's own files beside _metadata (relative
          // pointers), the rest in the job's shared/; nothing in external/
          const exclusive = files.files.filter((x) => x.location === "exclusive");
          assert.equal(exclusive.length, chk2Files, run.name);
          assert.ok(
            exclusive.every((x) => x.references.every((r) => r.relative)),
            run.name,
          );
          const rest = files.files.filter((x) => x.location !== "exclusive");
          assert.ok(
            rest.every(
              (x) => x.location === "shared" && x.uri.startsWith(`${parentOf(run.snapshot)}/shared/`),
            ),
            `${run.name}: ${rest.map((x) => `${x.location} ${x.uri}`).join(", ")}`,
          );
        }
        const r = runResult(report, run.name);
        assert.equal(r.outcome, "restored", describeRun(r));
        assert.equal(r.stateMatches, true, describeRun(r));
        assert.ok(r.expectationMet, describeRun(r));
        assert.deepEqual(r.jobOperators, f.expected.jobOperators);
      }
    });
  });
}
