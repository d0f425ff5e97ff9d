/**
 * A real savepoint of a Table/SQL job (fixtures/sql/flink-<x.y>/savepoint-sql-groupby, written by
 * Flink's MiniCluster; its PROVENANCE.md describes the job): the GroupAggregate's RowData keys and
 * accumulators, and a ValueState<byte[]> of protobuf messages decoded with the .proto.
 *
 * The source is deterministic (record i: user-<i % 3>, amount i, ts 2024-01-01 + i s; sensor-<i % 4>)
 * and reaches the operators in order, so whatever number of records went in before the savepoint,
 * the state must satisfy: for user-j with COUNT n, SUM = 3n(n-1)/2 + jn and MIN(ts) = j s after
 * midnight; the counts of the users differ by at most one; the latest reading of sensor-k has a
 * sequence s with s % 4 = k, and the four sequences are consecutive.
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, describe, it } from "node:test";
import { type DumpRecord, dumpState } from "../../src/ops/dump.js";
import { loadProtobufDecoder } from "../../src/ops/protobuf.js";
import { describeState } from "../../src/ops/state.js";
import { StoreRegistry } from "../../src/storage/registry.js";

const stores = new StoreRegistry();
after(() => stores.close());

const PROTO = resolve("fixtures", "vectors", "serializers", "proto", "example.proto");
const MIDNIGHT = 1704067200000n;

async function collect(it: AsyncIterable<DumpRecord>): Promise<DumpRecord[]> {
  const out: DumpRecord[] = [];
  for await (const r of it) out.push(r);
  return out;
}

for (const line of ["flink-2.3", "flink-1.20"]) {
  const snapshot = resolve("fixtures", "sql", line, "savepoint-sql-groupby", "snapshot");
  describe(`SQL GROUP BY savepoint written by ${line}`, () => {
    it("exists", () => assert.ok(existsSync(join(snapshot, "_metadata")), `missing ${snapshot}`));

    it("the GroupAggregate's RowData keys and accumulators hold the job's sums", async () => {
      const report = await describeState(snapshot, { stores });
      // Flink 1.x metadata stores no operator names: the GroupAggregate is the one with accState.
      const agg = report.operators.find((o) => o.keyed?.states.some((s) => s.name === "accState"));
      assert.ok(agg, "no GroupAggregate operator");
      if (agg.name !== null) assert.match(agg.name, /^GroupAggregate/);
      const acc = agg.keyed?.states.find((s) => s.name === "accState");
      assert.ok(acc, "no accState");
      assert.equal(acc.valueType, "RowData<BIGINT, BIGINT, DECIMAL(38, 18), TIMESTAMP(9)>");
      assert.equal(agg.keyed?.keyType, "RowData<STRING>");

      const records = await collect(
        dumpState(snapshot, { stores, operator: agg.operatorId, state: "accState" }),
      );
      assert.equal(records.length, 3);
      const counts: bigint[] = [];
      for (const r of records) {
        const key = r.key as { kind: string; fields: { f0: string } };
        assert.equal(key.kind, "INSERT");
        const j = BigInt(Number(/^user-(\d)$/.exec(key.fields.f0)?.[1]));
        const v = r.value as {
          kind: string;
          fields: {
            f0: bigint;
            f1: bigint;
            f2: string;
            f3: { millisecond: bigint; nanoOfMillisecond: number };
          };
        };
        const n = v.fields.f0;
        assert.ok(n > 0n);
        assert.equal(v.fields.f1, (3n * n * (n - 1n)) / 2n + j * n, `SUM of user-${j}`);
        assert.deepEqual(v.fields.f3, { millisecond: MIDNIGHT + j * 1000n, nanoOfMillisecond: 0 });
        assert.match(v.fields.f2, /^\d{1,2}\.250000000000000000$/);
        counts.push(n);
      }
      const max = counts.reduce((a, b) => (a > b ? a : b));
      for (const c of counts) assert.ok(max - c <= 1n, `counts ${counts}`);
    });

    it("the ValueState<byte[]> of protobuf readings decodes with the .proto", async () => {
      const decoder = await loadProtobufDecoder(PROTO, "savepointkit.example.Reading");
      const plain = await collect(
        dumpState(snapshot, { stores, operator: "sensor-readings", state: "latest-reading" }),
      );
      assert.equal(plain.length, 4);
      for (const r of plain) assert.ok(r.value instanceof Uint8Array);
      const records = await collect(
        dumpState(snapshot, {
          stores,
          operator: "sensor-readings",
          state: "latest-reading",
          protobuf: decoder,
        }),
      );
      const seqs: number[] = [];
      for (const r of records) {
        const k = Number(/^sensor-(\d)$/.exec(r.key as string)?.[1]);
        const v = r.value as {
          sensorId: string;
          sequence: number;
          timestampMs: string;
          unit: string;
          valid: boolean;
        };
        assert.equal(v.sensorId, r.key);
        assert.equal(v.sequence % 4, k);
        assert.equal(BigInt(v.timestampMs), MIDNIGHT + BigInt(v.sequence) * 1000n);
        assert.equal(v.unit, "CELSIUS");
        assert.equal(v.valid, true);
        seqs.push(v.sequence);
      }
      seqs.sort((a, b) => a - b);
      assert.deepEqual(
        seqs,
        [0, 1, 2, 3].map((d) => (seqs[0] as number) + d),
      );
    });
  });
}
