/**
 * `inspectSnapshot` on remote stores: each canonical savepoint fixture is uploaded to the test S3 server
 * (moto) and to the test HDFS (MiniDFSCluster), and inspecting the `s3://…` / `s3a://…` / `hdfs://…` URI
 * must give the same report as the local copy (URIs aside: the snapshot directory prefix differs).
 */

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { toJson } from "../../src/cli/json.js";
import { NotASnapshotError } from "../../src/errors.js";
import { inspectSnapshot } from "../../src/ops/inspect.js";
import { loadSnapshot } from "../../src/ops/locate.js";
import type { StoreRegistry } from "../../src/storage/registry.js";
import { normalizeUri, relativeTo } from "../../src/storage/uri.js";
import { serverSkip } from "../servers/process.js";
import { useRemoteStores } from "../servers/remote-stores.js";

const skip = serverSkip("the S3 and HDFS test servers");

/** `fixtures/flink-*` `/savepoint-canonical-*` `/snapshot` directories. */
function canonicalSnapshots(): string[] {
  const root = resolve("fixtures");
  const out: string[] = [];
  if (!existsSync(root)) return out;
  for (const line of readdirSync(root)
    .filter((d) => d.startsWith("flink-"))
    .sort()) {
    for (const c of readdirSync(join(root, line))
      .filter((d) => d.startsWith("savepoint-canonical-"))
      .sort()) {
      const dir = join(root, line, c, "snapshot");
      if (existsSync(join(dir, "_metadata"))) out.push(dir);
    }
  }
  return out;
}

/** Copies every file under local directory `from` to remote directory URI `to`. */
async function upload(stores: StoreRegistry, from: string, to: string): Promise<number> {
  const local = stores.resolve(from);
  const remote = stores.resolve(to);
  let n = 0;
  for await (const f of local.store.list(local.uri)) {
    const rel = relativeTo(local.uri, f.uri) as string;
    await remote.store.write(`${remote.uri}/${rel}`, await local.store.readAll(f.uri));
    n++;
  }
  return n;
}

/** The report as JSON with the snapshot directory replaced by a placeholder. */
function comparable(report: unknown, dir: string): string {
  return toJson(report).split(dir).join("<snapshot-dir>");
}

const snapshots = canonicalSnapshots();

/** Runs the real CLI (`savepoint ...`) in a child process with `env` added; resolves with its stdout. */
async function cli(args: string[], env: Record<string, string>): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--import", "tsx", "src/cli/main.ts", ...args],
    {
      env: { ...process.env, ...env },
      maxBuffer: 64 * 1024 * 1024,
      timeout: 60_000,
    },
  );
  return stdout;
}

describe("inspect on snapshots uploaded to S3 and HDFS", { skip, timeout: 300_000 }, () => {
  const remote = useRemoteStores("inspect", { defaultFs: true });

  it("has canonical savepoint fixtures to upload", () => {
    assert.ok(snapshots.length > 0, "no fixtures/flink-*/savepoint-canonical-*/snapshot/_metadata");
  });

  for (const dir of snapshots) {
    const id = dir.split("/").slice(-3, -1).join("/");
    it(`${id}: the same report from s3://, s3a://, hdfs://host:port and hdfs:/// as from the local copy`, async () => {
      const localDir = normalizeUri(dir);
      const expected = comparable(await inspectSnapshot(dir, { stores: remote.stores }), localDir);
      const key = `${remote.run}/${id}/snapshot`;
      const targets = [
        `s3://${remote.bucket}/${key}`,
        `s3a://${remote.bucket}/${key}`,
        `hdfs://127.0.0.1:${remote.hdfs.nameNodeRpcPort}/${key}`,
        `hdfs:///${key}`,
      ];
      await upload(remote.stores, dir, targets[0] as string);
      await upload(remote.stores, dir, targets[2] as string);
      for (const target of targets) {
        const report = await inspectSnapshot(target, { stores: remote.stores });
        assert.equal(comparable(report, target), expected, `report from ${target}`);
        // Also through the _metadata file itself.
        const viaFile = await inspectSnapshot(`${target}/_metadata`, { stores: remote.stores });
        assert.equal(comparable(viaFile, target), expected, `report from ${target}/_metadata`);
      }
    });
  }

  it("a checkpoint directory on S3 and HDFS: the refusal names the retained checkpoint in it", async () => {
    // Flink 2.3.0's checkpoint directory of two jobs (the claimed case): the first job's shared/ and
    // taskowned/ files, the second job's chk-3. A _metadata deeper than <job>/chk-<n> is not looked for.
    const dir = resolve("fixtures", "flink-2.3", "checkpoint-rocksdb-claimed", "snapshot");
    const chk = readdirSync(dir).find((job) => existsSync(join(dir, job, "chk-3", "_metadata")));
    assert.ok(chk, "the claimed fixture's chk-3");
    const key = `${remote.run}/checkpoints`;
    for (const target of [`s3://${remote.bucket}/${key}`, `hdfs:///${key}`]) {
      await upload(remote.stores, dir, target);
      await upload(remote.stores, join(dir, chk, "chk-3"), `${target}/deeper/than/chk-n`);
      const err = await loadSnapshot(target, remote.stores).then(
        () => assert.fail(`${target} loaded`),
        (e: unknown) => e,
      );
      assert.ok(err instanceof NotASnapshotError, String(err));
      const expected: string = remote.stores.resolve(`${target}/${chk}/chk-3`).uri;
      assert.deepEqual(err.snapshotsBelow, [expected], target);
      assert.ok(err.message.endsWith(`; it holds 1 snapshot: ${target}/${chk}/chk-3`), err.message);
      await loadSnapshot(err.snapshotsBelow[0] as string, remote.stores);
    }
  });

  it("the savepoint CLI inspects s3:// and hdfs:/// URIs configured only through the environment", async (t) => {
    const dir = snapshots[0];
    if (dir === undefined) {
      t.skip("no canonical fixture");
      return;
    }
    const id = dir.split("/").slice(-3, -1).join("/");
    const key = `${remote.run}/${id}/snapshot`; // uploaded by the test above
    const _nn = `127.0.0.1:${remote.hdfs.nameNodeRpcPort}`;
    const env = {
      AWS_ENDPOINT_URL_S3: remote.s3.endpoint,
      AWS_REGION: remote.s3.region,
      AWS_ACCESS_KEY_ID: remote.s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: remote.s3.credentials.secretAccessKey,
      SAVEPOINT_KIT_WEBHDFS: `${remote.nn}=${remote.hdfs.webHdfsUrl}`,
      SAVEPOINT_KIT_HDFS_DEFAULT_FS: `hdfs://${remote.nn}`,
      HADOOP_USER_NAME: "spk-cli",
    };
    const [local, viaS3, viaHdfs] = await Promise.all([
      cli(["inspect", dir, "--json"], env),
      cli(["inspect", `s3://${remote.bucket}/${key}`, "--json"], env),
      cli(["inspect", `hdfs:///${key}`, "--json"], env),
    ]);
    const strip = (json: string, d: string) => json.split(d).join("<snapshot-dir>");
    assert.ok(local.includes('"operators"'), "the CLI printed a JSON report");
    assert.equal(strip(viaS3, `s3://${remote.bucket}/${key}`), strip(local, normalizeUri(dir)));
    assert.equal(strip(viaHdfs, `hdfs:///${key}`), strip(local, normalizeUri(dir)));
  });

  it("the CLI's storage flags win over the environment", async (t) => {
    const dir = snapshots[0];
    if (dir === undefined) {
      t.skip("no canonical fixture");
      return;
    }
    const id = dir.split("/").slice(-3, -1).join("/");
    const key = `${remote.run}/${id}/snapshot`;
    const _nn = `127.0.0.1:${remote.hdfs.nameNodeRpcPort}`;
    // The environment points at nothing that answers; only the flags lead to the servers.
    const env = {
      AWS_ENDPOINT_URL_S3: "http://127.0.0.1:9",
      AWS_REGION: remote.s3.region,
      AWS_ACCESS_KEY_ID: remote.s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: remote.s3.credentials.secretAccessKey,
      SAVEPOINT_KIT_WEBHDFS: `${remote.nn}=http://127.0.0.1:9`,
      HADOOP_USER_NAME: "spk-cli",
    };
    const flags = [
      "--s3-endpoint",
      remote.s3.endpoint,
      "--webhdfs",
      `${remote.nn}=${remote.hdfs.webHdfsUrl}`,
      "--hdfs-default-fs",
      `hdfs://${remote.nn}`,
    ];
    const [local, viaS3, viaHdfs] = await Promise.all([
      cli(["inspect", dir, "--json"], env),
      cli(["inspect", `s3a://${remote.bucket}/${key}`, "--json", ...flags], env),
      cli(["inspect", `hdfs:///${key}`, "--json", ...flags], env),
    ]);
    const strip = (json: string, d: string) => json.split(d).join("<snapshot-dir>");
    assert.equal(strip(viaS3, `s3a://${remote.bucket}/${key}`), strip(local, normalizeUri(dir)));
    assert.equal(strip(viaHdfs, `hdfs:///${key}`), strip(local, normalizeUri(dir)));
  });
});
