/**
 * The changelog replay against Flink's own, on the changelog-operations checkpoint of each line
 * (fixtures/changelog-ops/, over RocksDB, over the hashmap backend, and after a rescaling): every change kind the changelog state backend logs (value, list, map,
 * reducing, aggregating state; timers; merged session-window namespaces), applied after a
 * materialization, dumped from the checkpoint equals what Flink restored from it and wrote into a
 * canonical savepoint; `state` counts the same entries.
 */

import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { OperatorSubtaskState } from "../../src/formats/metadata/model.js";
import { operatorIdFromUid } from "../../src/formats/operator-id.js";
import { operationOf } from "../../src/formats/state/changelog.js";
import { readChangelogLog } from "../../src/formats/state/changelog-replay.js";
import { ChangelogStreamCache, type ChangelogStreams } from "../../src/formats/state/changelog-streams.js";
import type { KeyedStateEntry } from "../../src/formats/state/keyed.js";
import { snapshotFileResolver } from "../../src/formats/state/stream.js";
import { dumpState, stateValueJson } from "../../src/ops/dump.js";
import { keyedEntries } from "../../src/ops/keyed-entries.js";
import { loadSnapshot } from "../../src/ops/locate.js";
import { describeState } from "../../src/ops/state.js";
import { StoreRegistry } from "../../src/storage/registry.js";
import { listChangelogOpsFixtures, readableFixtureDir } from "../helpers/fixtures.js";

const stores = new StoreRegistry();
const tmp = mkdtempSync(join(tmpdir(), "sk-changelog-ops-"));
after(async () => {
  await stores.close();
  rmSync(tmp, { recursive: true, force: true });
});

const fixtures = listChangelogOpsFixtures();
const KEYED = ["state-ops", "sessions-list"];

/**
 * The (state kind, operation) pairs the fixture's changelog holds: every operation Flink's
 * `ChangelogValueState`, `ChangelogListState`, `ChangelogMapState`, `ChangelogReducingState`,
 * `ChangelogAggregatingState` and `ChangelogKeyGroupedPriorityQueue` log for the job's commands.
 */
const COVERED = [
  "aggregating CLEAR",
  "aggregating SET_INTERNAL",
  "list ADD",
  "list ADD_ELEMENT",
  "list CLEAR",
  "list MERGE_NS",
  "list SET",
  "map ADD",
  "map ADD_OR_UPDATE_ELEMENT",
  "map CLEAR",
  "map REMOVE_ELEMENT",
  "reducing CLEAR",
  "reducing SET_INTERNAL",
  "timers ADD_ELEMENT",
  "timers REMOVE_ELEMENT",
  "value CLEAR",
  "value SET",
];

async function dump(dir: string, operator: string): Promise<string[]> {
  const out: string[] = [];
  for await (const r of dumpState(dir, { stores, operator })) out.push(stateValueJson(r));
  return out.sort();
}

describe("changelog replay equals Flink's (changelog-ops fixtures)", () => {
  it("has the fixture of both lines", () => {
    assert.deepEqual(
      fixtures.map((f) => f.id),
      [
        "flink-1.20/checkpoint-changelog-ops",
        "flink-1.20/checkpoint-changelog-ops-hashmap",
        "flink-1.20/checkpoint-changelog-ops-memory",
        "flink-1.20/checkpoint-changelog-ops-rescaled",
        "flink-2.3/checkpoint-changelog-ops",
        "flink-2.3/checkpoint-changelog-ops-hashmap",
        "flink-2.3/checkpoint-changelog-ops-memory",
        "flink-2.3/checkpoint-changelog-ops-rescaled",
      ],
    );
  });

  it("the in-memory changelog storage's checkpoints hold their changes inline (InMemoryChangelogStateHandle)", async () => {
    const memory = fixtures.filter((f) => f.expected.case.endsWith("-memory"));
    assert.equal(memory.length, 2);
    for (const f of memory) {
      const loaded = await loadSnapshot(await readableFixtureDir(f, stores, tmp), stores);
      const kinds = new Set<string>();
      for (const op of loaded.metadata.operatorStates)
        for (const s of op.subtaskStates) {
          const kh = (s as OperatorSubtaskState).managedKeyedState;
          if (kh?.kind === "ChangelogStateBackendHandle")
            for (const h of kh.nonMaterialized) kinds.add(h.kind);
        }
      assert.deepEqual([...kinds], ["InMemoryChangelogStateHandle"], f.id);
    }
  });

  for (const f of fixtures) {
    describe(f.id, () => {
      const at = { checkpoint: "", savepoint: join(f.caseDir, String(f.expected.savepointDir)) };
      before(async () => {
        at.checkpoint = await readableFixtureDir(f, stores, tmp);
      });

      it("its changelog holds every change kind, after a materialization", async () => {
        const loaded = await loadSnapshot(at.checkpoint, stores);
        const resolver = snapshotFileResolver(loaded.directory, (u) => stores.storeFor(u));
        const seen = new Set<string>();
        const cache = new Map<string, Uint8Array>();
        let rescaledBoth = 0;
        for (const op of loaded.metadata.operatorStates)
          for (const s of op.subtaskStates) {
            const kh = (s as OperatorSubtaskState).managedKeyedState;
            if (kh?.kind !== "ChangelogStateBackendHandle") continue;
            assert.ok(kh.materialized.length > 0, "materialized");
            // RocksDB: its native state; hashmap: heap key groups
            const kind =
              f.expected.backend === "hashmap" ? "KeyGroupsStateHandle" : "IncrementalRemoteKeyedStateHandle";
            // rescaled (2 subtasks to 3, no materialization since): the old subtasks' materialized parts
            // and changelogs that overlap the new key groups, to be clipped to them (the middle subtask: both)
            if (f.expected.case.endsWith("-rescaled")) {
              assert.ok(kh.materialized.every((m) => m.kind === kind));
              assert.equal(kh.nonMaterialized.length, kh.materialized.length);
              const wider = kh.materialized.some(
                (m) =>
                  m.keyGroupRange.start < kh.keyGroupRange.start ||
                  m.keyGroupRange.end > kh.keyGroupRange.end,
              );
              assert.ok(wider, "materialized key groups outside the subtask's");
              if (kh.materialized.length === 2) rescaledBoth++;
            } else {
              assert.deepEqual(
                kh.materialized.map((m) => m.kind),
                [kind],
              );
            }
            const log = await readChangelogLog(kh.nonMaterialized, resolver, cache);
            for (const c of log.changes) seen.add(`${c.state.kind} ${operationOf(c.change, c.uri)}`);
          }
        assert.deepEqual([...seen].sort(), COVERED);
        // the two keyed operators' middle subtasks
        if (f.expected.case.endsWith("-rescaled")) assert.equal(rescaledBoth, 2);
      });

      for (const operator of KEYED)
        it(`${operator}: dump of the checkpoint equals dump of Flink's savepoint after restoring it`, async () => {
          const replayed = await dump(at.checkpoint, operator);
          assert.ok(replayed.length > 0);
          assert.deepEqual(replayed, await dump(at.savepoint, operator));
        });

      it("the replay reads the same entries whether the changelog streams are kept or read again, whole or in parts", async () => {
        const loaded = await loadSnapshot(at.checkpoint, stores);
        const resolver = snapshotFileResolver(loaded.directory, (u) => stores.storeFor(u));
        const spillDirectory = mkdtempSync(join(tmp, "spill-"));
        const read = async (changelogCache: ChangelogStreams, changelogReplayBytes?: number) => {
          const ctx = {
            resolver,
            changelogCache,
            metadataUri: loaded.metadataUri,
            spillDirectory,
            ...(changelogReplayBytes === undefined ? {} : { changelogReplayBytes }),
          };
          const out: KeyedStateEntry[] = [];
          for (const operator of KEYED) {
            const op = loaded.metadata.operatorStates.find(
              (o) => o.operatorId === operatorIdFromUid(operator),
            );
            assert.ok(op, operator);
            for (const s of op.subtaskStates) {
              const kh = (s as OperatorSubtaskState).managedKeyedState;
              if (kh?.kind !== "ChangelogStateBackendHandle") continue;
              for await (const b of keyedEntries(op, s.subtaskIndex, kh, ctx, {}).batches) out.push(...b);
            }
          }
          return out;
        };
        const kept = new Map<string, Uint8Array>();
        const all = await read(kept);
        assert.ok(all.length > 0);
        // (the in-memory changelog storage's changes are in _metadata: no file)
        assert.equal(kept.size > 0, !f.expected.case.endsWith("-memory"));
        if (kept.size > 0) {
          // a budget of 0: every file read again for each subtask, its changes' bytes copied out
          assert.deepEqual(await read(new ChangelogStreamCache(0)), all);
          // a budget of the first file only
          const first = [...kept.values()][0] as Uint8Array;
          assert.deepEqual(await read(new ChangelogStreamCache(first.byteLength)), all);
        }
        // replayed a key group at a time, and in a few parts (spilled to files by parts, removed after)
        assert.deepEqual(await read(new Map(), 1), all);
        assert.deepEqual(await read(new ChangelogStreamCache(0), 2000), all);
        assert.deepEqual(readdirSync(spillDirectory), []);
      });

      it("state counts the entries Flink restored", async () => {
        const counted = await describeState(at.checkpoint, { stores });
        const restored = await describeState(at.savepoint, { stores });
        for (const operator of KEYED) {
          // (Flink 1.20's metadata V4 stores no uids: the operator by the id its uid hashes to)
          const a = counted.operators.find((o) => o.operatorId === operatorIdFromUid(operator));
          const b = restored.operators.find((o) => o.operatorId === a?.operatorId);
          assert.ok(a?.keyed && b?.keyed, operator);
          const entries = (o: typeof a) =>
            Object.fromEntries(
              (o.keyed?.states ?? []).filter((s) => (s.entries ?? 0) > 0).map((s) => [s.name, s.entries]),
            );
          assert.deepEqual(entries(a), entries(b), operator);
        }
      });
    });
  }
});
