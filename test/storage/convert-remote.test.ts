/**
 * `convert` across stores: RocksDB native savepoints read from S3 (moto) and converted to canonical on
 * HDFS (MiniDFSCluster), and canonical savepoints read from HDFS and converted to native RocksDB on S3.
 * Each remote result verifies (every file present, self-contained) and dumps to exactly the records of
 * the same conversion done locally (which test/flink/convert.test.ts has Flink restore).
 */

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { convertSnapshot } from "../../src/ops/convert.js";
import { dumpState, stateValueJson } from "../../src/ops/dump.js";
import { verifySnapshot } from "../../src/ops/files.js";
import { inspectSnapshot } from "../../src/ops/inspect.js";
import { relocateSnapshot } from "../../src/ops/relocate.js";
import { listFixtures } from "../helpers/fixtures.js";
import { serverSkip } from "../servers/process.js";
import { useRemoteStores } from "../servers/remote-stores.js";

const skip = serverSkip("the S3 and HDFS test servers");
const fixtures = listFixtures();

describe("convert across local, S3 and HDFS", { skip, timeout: 600_000 }, () => {
  const remote = useRemoteStores("convert");
  const scratch = mkdtempSync(join(tmpdir(), "savepoint-convert-remote-"));
  after(() => rmSync(scratch, { recursive: true, force: true }));

  /** Every record of every operator with state, TTL timestamps masked, sorted. */
  async function records(dir: string): Promise<string[]> {
    const report = await inspectSnapshot(dir, { stores: remote.stores });
    const out: string[] = [];
    for (const op of report.operators) {
      if (op.subtasksWithState === 0) continue;
      for await (const r of dumpState(dir, { stores: remote.stores, operator: op.operatorId })) {
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
          store === "s3"
            ? `s3://${remote.bucket}/${remote.run}/${f.id}/${name}`
            : `hdfs://${remote.nn}/${remote.run}/${f.id}/${name}`;
        const source = where(c.via, "source");
        await relocateSnapshot(f.metadataDir, source, { stores: remote.stores });

        const converted = where(c.to, "converted");
        const report = await convertSnapshot(source, converted, { ...c.options, stores: remote.stores });
        assert.ok(report.totals.converted > 0, JSON.stringify(report.totals));
        const v = await verifySnapshot(converted, { stores: remote.stores });
        assert.ok(v.ok && v.selfContained, `${converted}: ${JSON.stringify(v.problems)}`);

        const local = join(scratch, f.id.replace("/", "-"));
        await convertSnapshot(f.metadataDir, local, { ...c.options, stores: remote.stores });
        const [got, want] = await Promise.all([records(converted), records(local)]);
        assert.ok(want.length > 20, `${want.length} records`);
        assert.deepEqual(got, want);
      });
    }
  }
});
