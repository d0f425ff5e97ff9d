/**
 * `convert` across stores: RocksDB native savepoints read from S3 (moto) and converted to canonical on
 * HDFS (MiniDFSCluster), and canonical savepoints read from HDFS and converted to native RocksDB on S3.
 * Each remote result verifies (every file present, self-contained) and dumps to exactly the records of
 * the same conversion done locally (which test/flink/convert.test.ts has Flink restore).
 */

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { convertSnapshot } from "../../src/ops/convert.js";
import { dumpState, stateValueJson } from "../../src/ops/dump.js";
import { verifySnapshot } from "../../src/ops/files.js";
import { inspectSnapshot } from "../../src/ops/inspect.js";
import { relocateSnapshot } from "../../src/ops/relocate.js";
import { createDefaultRegistry } from "../../src/storage/defaults.js";
import type { StoreRegistry } from "../../src/storage/registry.js";
import { listFixtures } from "../helpers/fixtures.js";
import { type HdfsTestCluster, startHdfsCluster } from "../servers/hdfs-server.js";
import { serverSkip } from "../servers/process.js";
import { type S3TestServer, startS3Server } from "../servers/s3-server.js";

const skip = serverSkip("the S3 and HDFS test servers");
const fixtures = listFixtures();

describe("convert across local, S3 and HDFS", { skip, timeout: 600_000 }, () => {
  let s3: S3TestServer;
  let hdfs: HdfsTestCluster;
  let stores: StoreRegistry;
  let bucket: string;
  let nn: string;
  const run = randomBytes(4).toString("hex");
  const scratch = mkdtempSync(join(tmpdir(), "savepoint-convert-remote-"));

  before(async () => {
    [s3, hdfs] = await Promise.all([startS3Server(), startHdfsCluster()]);
    bucket = `spk-convert-${run}`;
    await s3.createBucket(bucket);
    nn = `127.0.0.1:${hdfs.nameNodeRpcPort}`;
    stores = createDefaultRegistry({
      s3: { endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials, forcePathStyle: true },
      hdfs: { webhdfs: { [nn]: hdfs.webHdfsUrl }, user: "spk-convert" },
    });
  });
  after(async () => {
    await stores?.close();
    await Promise.all([s3?.stop(), hdfs?.stop()]);
    rmSync(scratch, { recursive: true, force: true });
  });

  /** Every record of every operator with state, TTL timestamps masked, sorted. */
  async function records(dir: string): Promise<string[]> {
    const report = await inspectSnapshot(dir, { stores });
    const out: string[] = [];
    for (const op of report.operators) {
      if (op.subtasksWithState === 0) continue;
      for await (const r of dumpState(dir, { stores, operator: op.operatorId })) {
        const v = r.value;
        const value =
          v !== null && typeof v === "object" && "lastAccessTimestamp" in v ? { ttl: v.value } : v;
        out.push(`${op.operatorId} ${stateValueJson({ ...r, value })}`);
      }
    }
    return out.sort();
  }

  const cases = [
    { from: "savepoint-native-rocksdb", via: "s3", to: "hdfs", options: { to: "canonical" as const } },
    {
      from: "savepoint-canonical-hashmap",
      via: "hdfs",
      to: "s3",
      options: { to: "native" as const, backend: "rocksdb" as const },
    },
  ];
  for (const f of fixtures) {
    for (const c of cases.filter((x) => f.id.endsWith(`/${x.from}`))) {
      it(`${f.id}: ${c.via} -> ${c.options.to}${"backend" in c.options ? ` ${c.options.backend}` : ""} on ${c.to}`, async () => {
        const where = (store: string, name: string) =>
          store === "s3" ? `s3://${bucket}/${run}/${f.id}/${name}` : `hdfs://${nn}/${run}/${f.id}/${name}`;
        const source = where(c.via, "source");
        await relocateSnapshot(f.metadataDir, source, { stores });

        const remote = where(c.to, "converted");
        const report = await convertSnapshot(source, remote, { ...c.options, stores });
        assert.ok(report.totals.converted > 0, JSON.stringify(report.totals));
        const v = await verifySnapshot(remote, { stores });
        assert.ok(v.ok && v.selfContained, `${remote}: ${JSON.stringify(v.problems)}`);

        const local = join(scratch, f.id.replace("/", "-"));
        await convertSnapshot(f.metadataDir, local, { ...c.options, stores });
        const [got, want] = await Promise.all([records(remote), records(local)]);
        assert.ok(want.length > 20, `${want.length} records`);
        assert.deepEqual(got, want);
      });
    }
  }
});
