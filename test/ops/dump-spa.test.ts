/**
 * `dump` against Flink's own State Processor API: for every committed fixture (hashmap and RocksDB,
 * canonical and native savepoints, the retained incremental RocksDB checkpoint; both Flink lines), our
 * records of every operator equal `spa-dump.json`, the reading of the same snapshot by Flink's
 * `SavepointReader` with the job's own state descriptors (`fixtures/harness/.../SpaDump.java`, run by
 * `fixtures/generate.sh --spa-dump-only`).
 *
 * Compared exactly: keyed value, list and map state (keys, user keys, values), window contents with
 * their windows, and the key group and subtask of every keyed entry (Flink's `KeyGroupRangeAssignment`
 * for the SPA's side; the key-group prefix and the handle's range for ours); operator list and union
 * state elements and broadcast entries.
 *
 * What the SPA cannot tell, and how that is handled (not hidden):
 * - TTL: the SPA returns the user value, never the TTL timestamp, so our `{value, lastAccessTimestamp}`
 *   is compared by its value only (the timestamp is checked to be a plausible epoch millisecond).
 * - Timers: the SPA's window reader gives the timestamps of a key's timers without their window
 *   (`WindowReaderOperator.Context` collects them under one fixed namespace), so timers are compared by
 *   key and timestamp; their window is checked against Flink's rule instead: a window's event-time timer
 *   is at `window.maxTimestamp() = end - 1` (`WindowOperator.registerCleanupTimer` / `EventTimeTrigger`)
 *   and its window is one whose contents the SPA reads for that key.
 * - Operator state: the SPA merges the subtasks' list and union elements and reads broadcast state from
 *   one subtask; list elements are compared as multisets, and every subtask's broadcast entries must
 *   equal the SPA's.
 * - Operator coordinator (source enumerator) state is not state the SPA reads; `dump` does not list it.
 */

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type DumpRecord, dumpState, stateValueJson } from "../../src/ops/dump.js";
import { StoreRegistry } from "../../src/storage/registry.js";
import { listFixtures, readableFixtureDir } from "../helpers/fixtures.js";

const stores = new StoreRegistry();
const tmp = mkdtempSync(join(tmpdir(), "sk-dump-spa-"));
after(async () => {
  await stores.close();
  rmSync(tmp, { recursive: true, force: true });
});

const fixtures = listFixtures();

/** A record of spa-dump.json (see SpaDump.java). */
interface SpaRecord {
  operator: string;
  state: string;
  subtask: number | null;
  keyGroup: number | null;
  key: unknown;
  namespace: unknown;
  userKey: unknown;
  value: unknown;
  ttl?: boolean;
  mode?: string;
}

interface SpaDumpFile {
  flinkVersion: string;
  stateProcessorApi: string;
  case: string;
  backend: string;
  records: SpaRecord[];
}

/** JSON with sorted object keys, so that field order does not matter. */
function canon(v: unknown): string {
  const sort = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(sort);
    if (x !== null && typeof x === "object") {
      return Object.fromEntries(
        Object.keys(x)
          .sort()
          .map((k) => [k, sort((x as Record<string, unknown>)[k])]),
      );
    }
    return x;
  };
  return JSON.stringify(sort(JSON.parse(stateValueJson(v))));
}

const isTimer = (state: string) => state.startsWith("_timer_state/");

/** Our record in the SPA's shape (see the module doc for what is projected away, and why). */
function asSpa(operator: string, r: DumpRecord): SpaRecord {
  if (r.keyGroup === null) {
    return {
      operator,
      state: r.state,
      subtask: null,
      keyGroup: null,
      key: r.key,
      namespace: null,
      userKey: null,
      value: r.value,
      mode: r.mode as string,
    };
  }
  const out: SpaRecord = {
    operator,
    state: r.state,
    subtask: r.subtask,
    keyGroup: r.keyGroup,
    key: r.key,
    namespace: r.namespace,
    userKey: r.userKey,
    value: r.value,
  };
  if (isTimer(r.state)) {
    const t = r.value as { timestamp: bigint; key: unknown; namespace: unknown };
    out.namespace = null;
    out.value = { timestamp: t.timestamp };
  } else if (r.value !== null && typeof r.value === "object" && "lastAccessTimestamp" in r.value) {
    const v = r.value as { value: unknown; lastAccessTimestamp: bigint };
    // 2020-01-01 .. 2100-01-01 in epoch milliseconds: a processing-time stamp, not garbage
    assert.ok(v.lastAccessTimestamp > 1577836800000n && v.lastAccessTimestamp < 4102444800000n);
    out.value = v.value;
    out.ttl = true;
  }
  return out;
}

describe("dump equals Flink's State Processor API", () => {
  // The State Processor API refuses snapshots of the changelog state backend ("State processor api
  // does not support changelog."), so those fixtures have no spa-dump.json; `dump` replays their
  // changelogs, and dump-model.test.ts checks the result against the job's state.
  const bySpa = (f: (typeof fixtures)[number]) => !f.expected.case.includes("changelog");
  it("every fixture of both lines has a spa-dump.json, but those of the changelog state backend", () => {
    assert.equal(fixtures.length, 26, fixtures.map((f) => f.id).join(", "));
    for (const f of fixtures) assert.equal(existsSync(join(f.caseDir, "spa-dump.json")), bySpa(f), f.id);
  });

  for (const f of fixtures.filter(bySpa)) {
    describe(f.id, () => {
      const file = join(f.caseDir, "spa-dump.json");
      // (a missing file fails the first test above)
      const spa: SpaDumpFile = existsSync(file)
        ? JSON.parse(readFileSync(file, "utf8"))
        : { flinkVersion: "", stateProcessorApi: "", case: "", backend: "", records: [] };
      const at = { dir: f.metadataDir };
      before(async () => {
        at.dir = await readableFixtureDir(f, stores, tmp);
      });

      it("spa-dump.json was made by the SPA of the Flink that wrote the snapshot", () => {
        assert.equal(spa.flinkVersion, f.expected.flinkVersion);
        assert.equal(spa.case, f.expected.case);
        assert.equal(spa.backend, f.expected.backend);
        assert.match(spa.stateProcessorApi, /^flink-state-processor-api \d+\.\d+\.\d+$/);
      });

      // every operator the SPA read, by the label it gave (uid, or OperatorID without one)
      const operators = [...new Set(spa.records.map((r) => r.operator))].sort();
      it("the SPA read the state of every stateful operator", () => {
        const noUid = f.expected.jobOperators?.find((o) => o.name === "min-ts-no-uid")?.operatorId;
        assert.deepEqual(
          operators,
          [
            noUid,
            "rule-applier",
            "rule-source",
            "word-normalizer",
            "word-source",
            "word-stats",
            "word-windows",
          ].sort(),
        );
      });

      for (const operator of operators) {
        it(`${operator}: the same records`, async () => {
          const theirs = spa.records.filter((r) => r.operator === operator);
          const ours: DumpRecord[] = [];
          for await (const r of dumpState(at.dir, { stores, operator })) ours.push(r);
          assert.ok(ours.length > 0);

          // broadcast state: every subtask holds the entries the SPA read (from one subtask)
          const broadcast = ours.filter((r) => r.mode === "BROADCAST");
          const spaBroadcast = theirs
            .filter((r) => r.mode === "BROADCAST")
            .map(canon)
            .sort();
          const subtasks = new Set(broadcast.map((r) => r.subtask));
          for (const s of subtasks) {
            const mine = broadcast
              .filter((r) => r.subtask === s)
              .map((r) => canon(asSpa(operator, r)))
              .sort();
            assert.deepEqual(mine, spaBroadcast, `broadcast state of subtask ${s}`);
          }
          if (spaBroadcast.length > 0) assert.ok(subtasks.size > 0, "we have the broadcast state too");

          // everything else: the same multiset of records
          const mine = ours
            .filter((r) => r.mode !== "BROADCAST")
            .map((r) => canon(asSpa(operator, r)))
            .sort();
          const expected = theirs
            .filter((r) => r.mode !== "BROADCAST")
            .map(canon)
            .sort();
          assert.deepEqual(mine, expected);

          // timers, whose window the SPA does not report: Flink's window timer is at end - 1 of a
          // window whose contents the SPA read for the key
          for (const r of ours.filter((x) => isTimer(x.state))) {
            const t = r.value as {
              timestamp: bigint;
              key: unknown;
              namespace: { start: bigint; end: bigint };
            };
            assert.equal(t.key, r.key);
            assert.deepEqual(t.namespace, r.namespace);
            assert.equal(t.timestamp, t.namespace.end - 1n);
            const window = canon({ start: t.namespace.start, end: t.namespace.end });
            assert.ok(
              theirs.some(
                (x) => x.state === "window-contents" && x.key === r.key && canon(x.namespace) === window,
              ),
              `timer ${stateValueJson(t)} belongs to a window the SPA read`,
            );
          }
        });
      }
    });
  }
});
