/**
 * RocksDB native entries decoded as canonical records (`readRocksDbKeyedEntryBatches`,
 * `decodeCanonicalRecord`) on Flink's native RocksDB savepoint fixture: the entries do not depend on
 * the reader's batch size, key-group and state selection only narrow them, and a key or value whose
 * bytes do not decode to exactly their length is a CorruptSnapshotError naming the state.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { CorruptSnapshotError } from "../../../src/errors.js";
import { readMetadata } from "../../../src/formats/metadata/index.js";
import type { IncrementalRemoteKeyedStateHandle } from "../../../src/formats/metadata/model.js";
import { allHandles } from "../../../src/formats/metadata/traverse.js";
import { type FlinkRocksDbState, openFlinkRocksDb } from "../../../src/formats/rocksdb/flink.js";
import type { CanonicalRecord } from "../../../src/formats/state/canonical-writer.js";
import {
  decodeCanonicalRecord,
  type KeyedStateEntry,
  keyedStates,
} from "../../../src/formats/state/keyed.js";
import { readRocksDbCanonicalRecords } from "../../../src/formats/state/rocksdb-canonical.js";
import { readRocksDbKeyedEntryBatches } from "../../../src/formats/state/rocksdb-keyed.js";
import { serializerOf } from "../../../src/formats/state/serializers/snapshots.js";
import { snapshotFileResolver } from "../../../src/formats/state/stream.js";
import { StoreRegistry } from "../../../src/storage/registry.js";
import { normalizeUri } from "../../../src/storage/uri.js";
import { listFixtures } from "../../helpers/fixtures.js";

const stores = new StoreRegistry();
after(() => stores.close());

/** word-stats subtask 1 of the 2.3 native RocksDB savepoint (key groups 64-127). */
async function wordStats(): Promise<FlinkRocksDbState> {
  const f = listFixtures().find((x) => x.id === "flink-2.3/savepoint-native-rocksdb");
  assert.ok(f);
  const m = readMetadata(readFileSync(join(f.metadataDir, "_metadata")));
  const resolver = snapshotFileResolver(normalizeUri(f.metadataDir), (u) => stores.storeFor(u));
  for (const v of allHandles(m)) {
    if (v.slot === "managedKeyedState" && v.operator.uid === "word-stats" && v.subtask.subtaskIndex === 1) {
      return openFlinkRocksDb(v.handle as IncrementalRemoteKeyedStateHandle, resolver);
    }
  }
  throw new Error("no word-stats subtask 1");
}

async function entries(
  state: FlinkRocksDbState,
  options: Parameters<typeof readRocksDbKeyedEntryBatches>[2] = {},
): Promise<KeyedStateEntry[]> {
  const out: KeyedStateEntry[] = [];
  for await (const b of readRocksDbKeyedEntryBatches(state, 128, options)) out.push(...b);
  return out;
}

describe("RocksDB native entries", () => {
  it("the same entries whatever the batch size; selections narrow them", async () => {
    const state = await wordStats();
    const all = await entries(state);
    assert.equal(all.length, 5 + 5 + 14, "5 words, 5 lists, 14 buckets on subtask 1");
    assert.deepEqual(await entries(state, { batchSize: 1 }), all);
    const id = state.header.states.findIndex((s) => s.name === "word-count");
    const counts = await entries(state, { stateIds: new Set([id]) });
    assert.deepEqual(
      counts,
      all.filter((e) => e.state === "word-count"),
    );
    assert.deepEqual(
      counts.map((e) => [e.key, e.value]),
      [
        ["banana", 3n],
        ["date", 3n],
        ["apple", 5n],
        ["fig", 3n],
        ["grape", 2n],
      ],
    );
    const some = await entries(state, { keyGroups: { start: 70, end: 105 } });
    assert.deepEqual(
      some,
      all.filter((e) => e.keyGroup >= 70 && e.keyGroup <= 105),
    );
    assert.deepEqual(
      await entries(state, { keyGroups: { start: 0, end: 63 } }),
      [],
      "subtask 0's key groups",
    );
  });

  it("a key or value that does not decode to its bytes is a CorruptSnapshotError naming the state", async () => {
    const state = await wordStats();
    const infos = keyedStates(state.header);
    const keySer = serializerOf(state.header.keySerializer);
    const records: CanonicalRecord[] = [];
    for await (const b of readRocksDbCanonicalRecords(state, 128)) records.push(...b);
    const count = records.find((r) => infos[r.stateId]?.name === "word-count");
    assert.ok(count);
    const info = infos[count.stateId];
    assert.ok(info);
    const decode = (r: CanonicalRecord) => decodeCanonicalRecord(r, info, keySer, 1, "meta-file");
    assert.equal(decode(count).value, 3n);
    const bad = (path: RegExp, message: RegExp) => (err: unknown) => {
      assert.ok(err instanceof CorruptSnapshotError, `${err}`);
      assert.equal(err.uri, "meta-file");
      assert.match(err.path ?? "", path);
      assert.match(err.message, message);
      return true;
    };
    assert.throws(
      () => decode({ ...count, value: count.value.subarray(0, 7) }),
      bad(/word-count > key group 69 > value/, /need 8 bytes/),
    );
    assert.throws(
      () => decode({ ...count, value: Uint8Array.of(...count.value, 0) }),
      bad(/word-count/, /ends at value byte 8, the value has 9/),
    );
    assert.throws(
      () => decode({ ...count, keyGroup: 70 }),
      bad(/word-count > key group 70 > key/, /key-group prefix 69 in the data of key group 70/),
    );
    assert.throws(() => decode({ ...count, key: new Uint8Array(0) }), CorruptSnapshotError);
  });
});
