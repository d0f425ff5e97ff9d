/**
 * `relocate` across stores: snapshots real Flink wrote, moved local -> S3 -> HDFS -> local through the
 * test servers (moto, MiniDFSCluster), verified at every stop and compared with the original at the end.
 */

import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, describe, it } from "node:test";
import { readMetadata, writeMetadata } from "../../src/formats/metadata/index.js";
import { mapStreamHandles } from "../../src/formats/metadata/rewrite.js";
import { listSnapshotFiles, verifySnapshot } from "../../src/ops/files.js";
import { inspectSnapshot } from "../../src/ops/inspect.js";
import { relocateSnapshot } from "../../src/ops/relocate.js";
import { normalizeUri, toLocalPath } from "../../src/storage/uri.js";
import { checkpointJobId, FIXTURES_ROOT, listEntropyFixtures, listFixtures } from "../helpers/fixtures.js";
import { serverSkip } from "../servers/process.js";
import { useRemoteStores } from "../servers/remote-stores.js";

const skip = serverSkip("the S3 and HDFS test servers");
const fixtures = listFixtures();

describe("relocate across local, S3 and HDFS", { skip, timeout: 600_000 }, () => {
  const remote = useRemoteStores("relocate");
  const scratch = mkdtempSync(join(tmpdir(), "savepoint-relocate-remote-"));
  after(() => rmSync(scratch, { recursive: true, force: true }));

  const shape = async (uri: string) => {
    const r = await inspectSnapshot(uri, { stores: remote.stores });
    return r.operators.map((o) => ({ id: o.operatorId, bytes: o.stateBytes, subtasks: o.subtasks }));
  };

  for (const f of fixtures.filter((x) => x.expected.snapshotType === "savepoint")) {
    it(`${f.id}: local -> s3 -> hdfs -> local, verified at every stop`, async () => {
      const onS3 = `s3://${remote.bucket}/${remote.run}/${f.id}`;
      const onHdfs = `hdfs://${remote.nn}/${remote.run}/${f.id}`;
      const back = join(scratch, f.id);
      for (const [from, to] of [
        [f.metadataDir, onS3],
        [onS3, onHdfs],
        [onHdfs, back],
      ] as const) {
        const r = await relocateSnapshot(from, to, { stores: remote.stores });
        assert.equal(r.totals.copied, r.copies.length, `${from} -> ${to}`);
        const v = await verifySnapshot(to, { stores: remote.stores });
        assert.ok(v.ok && v.selfContained, `${to}: ${JSON.stringify(v.problems)}`);
      }
      // Savepoint pointers are all relative: the metadata travels unchanged, and so does every file.
      assert.deepEqual(readFileSync(join(back, "_metadata")), readFileSync(f.metadataFile));
      for (const name of readdirSync(f.metadataDir)) {
        assert.deepEqual(readFileSync(join(back, name)), readFileSync(join(f.metadataDir, name)), name);
      }
      assert.deepEqual(await shape(back), await shape(f.metadataDir));
    });
  }

  it("entropy-injected S3 checkpoint: two files that would share a place once entropy is out keep apart", async () => {
    // Flink 2.3.0's entropy-injected checkpoint, one pointer changed so that two shared files under
    // different random prefixes have one name: s3://b/<E1>/…/shared/<n> and s3://b/<E2>/…/shared/<n>.
    const f = listEntropyFixtures().find((x) => x.id === "flink-2.3/checkpoint-entropy");
    assert.ok(f);
    const bucket = String(f.expected.bucket);
    const bucketDir = join(f.caseDir, "bucket");
    const pointer = String(f.expected.pointer);
    const shared = (f.expected.files as { uri: string }[])
      .map((x) => x.uri)
      .filter((u) => u.includes("/shared/"));
    const [a, b] = shared as [string, string];
    const clash = `${b.slice(0, b.lastIndexOf("/"))}/${a.slice(a.lastIndexOf("/") + 1)}`;
    const m = readMetadata(readFileSync(f.metadataFile), f.metadataFile);
    const edited = mapStreamHandles(m, (h) =>
      h.kind === "FileStateHandle" && normalizeUri(h.filePath) === b ? { ...h, filePath: clash } : h,
    );
    assert.notEqual(edited, m, "the pointer to b was rewritten");
    const keyOf = (uri: string) => uri.slice(`s3://${bucket}/`.length);
    const { store } = remote.stores.resolve(pointer);
    await remote.s3.createBucket(bucket);
    for (const key of readdirSync(bucketDir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => relative(bucketDir, join(e.parentPath, e.name)))) {
      if (key === keyOf(`${pointer}/_metadata`) || key === keyOf(b)) continue;
      await store.write(`s3://${bucket}/${key}`, readFileSync(join(bucketDir, key)));
    }
    await store.write(clash, readFileSync(join(bucketDir, keyOf(b))));
    await store.write(`${pointer}/_metadata`, writeMetadata(edited));

    const target = join(scratch, "entropy-clash", "job", "chk-2");
    const r = await relocateSnapshot(pointer, target, { stores: remote.stores });
    const to = new Map(r.copies.map((c) => [c.from, c.to]));
    const [toA, toClash] = [to.get(a), to.get(clash)];
    assert.ok(toA && toClash);
    assert.notEqual(toA, toClash);
    assert.deepEqual(
      [toA, toClash].map((u) => u.startsWith(normalizeUri(join(scratch, "entropy-clash", "job", "shared")))),
      [true, false],
      `${toA} in shared/, ${toClash} elsewhere (external/)`,
    );
    assert.match(toClash, /\/chk-2\/external\/[0-9a-f]{12}\/[^/]+$/);
    // each copy holds its own source's bytes
    assert.deepEqual(readFileSync(toLocalPath(toA)), readFileSync(join(bucketDir, keyOf(a))));
    assert.deepEqual(readFileSync(toLocalPath(toClash)), readFileSync(join(bucketDir, keyOf(b))));
    const v = await verifySnapshot(target, { stores: remote.stores });
    assert.ok(v.ok, JSON.stringify(v.problems));
  });

  it("--move within one NameNode renames every file (no copy), and Flink's pointers still resolve", async () => {
    const f = fixtures.find(
      (x) => x.id === "flink-2.3/savepoint-native-rocksdb",
    ) as (typeof fixtures)[number];
    const first = `hdfs://${remote.nn}/${remote.run}/move-src/${f.id}`;
    const moved = `hdfs://${remote.nn}/${remote.run}/move-dst/${f.id}`;
    await relocateSnapshot(f.metadataDir, first, { stores: remote.stores });
    const r = await relocateSnapshot(first, moved, { stores: remote.stores, move: true });
    assert.ok(r.copies.length > 0);
    assert.equal(r.totals.moved, r.copies.length, "every file renamed");
    assert.equal(r.totals.copied, 0, "none copied");
    const left = [];
    for await (const x of remote.stores.resolve(first).store.list(first)) left.push(x.uri);
    assert.deepEqual(left, [], "nothing left at the source");
    const v = await verifySnapshot(moved, { stores: remote.stores });
    assert.ok(v.ok && v.selfContained, JSON.stringify(v.problems));
    assert.deepEqual(await shape(moved), await shape(f.metadataDir));
  });

  for (const f of fixtures.filter((x) => x.expected.snapshotType === "checkpoint")) {
    it(`${f.id}: a retained checkpoint moves to S3 with its shared files, absolute pointers rewritten`, async () => {
      const jobId = checkpointJobId(f);
      // The shared files sit at the generation path (/tmp/savepoint-kit-fixtures/...) in the metadata;
      // in the repo they are under fixtures/: stage a copy whose pointers say so, then move it to S3.
      const staged = join(scratch, `${f.id}-staged`, jobId, "chk-2");
      await relocateSnapshot(f.metadataDir, staged, {
        stores: remote.stores,
        maps: [{ from: "file:/tmp/savepoint-kit-fixtures", to: FIXTURES_ROOT }],
      });
      const moved = `s3://${remote.bucket}/${remote.run}/${f.id}-moved/${jobId}/chk-2`;
      const report = await relocateSnapshot(staged, moved, { stores: remote.stores });
      assert.equal(report.totals.copied, report.copies.length);
      const inv = await listSnapshotFiles(moved, { stores: remote.stores });
      assert.ok(
        inv.files.every((x) => x.uri.startsWith(`s3://${remote.bucket}/${remote.run}/${f.id}-moved/`)),
        "every file on S3",
      );
      const m = readMetadata(
        await remote.stores.resolve(`${moved}/_metadata`).store.readAll(`${moved}/_metadata`),
      );
      const stored = JSON.stringify(m, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
      assert.ok(!stored.includes("file:"), "no local pointer is left");
      assert.ok((await verifySnapshot(moved, { stores: remote.stores })).ok);
      assert.deepEqual(await shape(moved), await shape(f.metadataDir));
    });
  }
});
