/**
 * `dump` on every fixture of both Flink lines (hashmap and RocksDB, canonical and native, the retained
 * incremental checkpoint) equals the state the job must hold
 * (fixtures/flink-<x.y>/job-data.json, the model the harness computes from the input): keyed value,
 * list and map state with TTL, window contents and window timers, operator list and union state and
 * broadcast state, each on the subtask and key group the model says.
 */

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type DumpRecord, dumpState, stateValueJson } from "../../src/ops/dump.js";
import { UnsupportedStateLayoutError } from "../../src/ops/state.js";
import { StoreRegistry } from "../../src/storage/registry.js";
import { FIXTURES_ROOT, listFixtures, readableFixtureDir } from "../helpers/fixtures.js";

const stores = new StoreRegistry();
const tmp = mkdtempSync(join(tmpdir(), "sk-dump-model-"));
after(async () => {
  await stores.close();
  rmSync(tmp, { recursive: true, force: true });
});

const fixtures = listFixtures();

interface JobData {
  keys: Record<string, { keyGroup: number; subtask: number } & Record<string, unknown>>;
  windows: { open: { key: string; start: number; end: number; count: number; timer: number }[] };
  rules: Record<string, number>;
  normalizer: { subtask0Count: number; subtask1Count: number; unionEntries: string[] };
}

/** A record as comparable text, without TTL timestamps (processing time, not predictable). */
function norm(r: DumpRecord): string {
  const value =
    r.value !== null && typeof r.value === "object" && "lastAccessTimestamp" in r.value
      ? { value: (r.value as { value: unknown }).value, ttl: true }
      : r.value;
  return stateValueJson({ ...r, value });
}

function rec(
  state: string,
  subtask: number,
  keyGroup: number | null,
  key: unknown,
  namespace: unknown,
  userKey: unknown,
  value: unknown,
  extra: object = {},
): string {
  return stateValueJson({ state, subtask, keyGroup, key, namespace, userKey, value, ...extra });
}

async function dump(dir: string, operator: string, keyType?: string): Promise<string[]> {
  const out: string[] = [];
  for await (const r of dumpState(dir, { stores, operator, ...(keyType ? { keyType } : {}) }))
    out.push(norm(r));
  return out.sort();
}

describe("dump equals the job's model state", () => {
  it("has every fixture of both lines", () => {
    assert.equal(fixtures.length, 26, fixtures.map((f) => f.id).join(", "));
  });

  for (const f of fixtures) {
    const line = f.id.split("/")[0] as string;
    const job = JSON.parse(readFileSync(join(FIXTURES_ROOT, line, "job-data.json"), "utf8")) as JobData;
    const keys = Object.entries(job.keys);
    const noUid = f.expected.jobOperators?.find((o) => o.name === "min-ts-no-uid")?.operatorId as string;

    // the changelog state backend's keyed state is the materialized part with the changes since
    // replayed (the State Processor API refuses it); a changelog never materialized records no key
    // serializer but in its timers' serializers: the key type is given
    const changelog = f.expected.case.includes("changelog");
    const keyType = changelog && !f.expected.case.includes("materialized") ? "String" : undefined;

    describe(f.id, () => {
      const at = { metadataDir: f.metadataDir };
      before(async () => {
        at.metadataDir = await readableFixtureDir(f, stores, tmp);
      });

      if (keyType)
        it("a changelog never materialized: keyed state without timers needs the key type, named in the error", async () => {
          await assert.rejects(dump(at.metadataDir, "word-stats"), (e: Error) => {
            assert.ok(e instanceof UnsupportedStateLayoutError, String(e));
            assert.match(
              e.message,
              /_metadata at byte 0: operator (word-stats|d0a4e4912796d2114f5e0db4e8dcf52a) subtask 0: the changelog state backend was never materialized and its changes record no key type; name it \(dump --key-type/,
            );
            return true;
          });
          // the window operator's timers record it
          assert.deepEqual(
            await dump(at.metadataDir, "word-windows"),
            await dump(at.metadataDir, "word-windows", keyType),
          );
        });

      it("word-stats: ValueState, ListState and MapState with TTL per key", async () => {
        const expected: string[] = [];
        for (const [k, v] of keys) {
          expected.push(rec("word-count", v.subtask, v.keyGroup, k, null, null, String(v["word-count"])));
          expected.push(
            rec(
              "word-timestamps",
              v.subtask,
              v.keyGroup,
              k,
              null,
              null,
              (v["word-timestamps"] as number[]).map(String),
            ),
          );
          for (const [bucket, count] of Object.entries(v["bucket-counts"] as Record<string, number>)) {
            expected.push(
              rec("bucket-counts", v.subtask, v.keyGroup, k, null, bucket, {
                value: String(count),
                ttl: true,
              }),
            );
          }
        }
        assert.deepEqual(await dump(at.metadataDir, "word-stats", keyType), expected.sort());
      });

      it("word-windows: open window contents and their event-time timers", async () => {
        const expected: string[] = [];
        for (const w of job.windows.open) {
          const k = job.keys[w.key];
          assert.ok(k);
          const ns = { start: String(w.start), end: String(w.end) };
          expected.push(rec("window-contents", k.subtask, k.keyGroup, w.key, ns, null, String(w.count)));
          expected.push(
            rec("_timer_state/event_window-timers", k.subtask, k.keyGroup, w.key, ns, null, {
              timestamp: String(w.timer),
              key: w.key,
              namespace: ns,
            }),
          );
        }
        assert.deepEqual(await dump(at.metadataDir, "word-windows", keyType), expected.sort());
      });

      it("min-ts-no-uid (by OperatorID) and rule-applier: ValueState per key and broadcast rules", async () => {
        assert.deepEqual(
          await dump(at.metadataDir, noUid, keyType),
          keys
            .map(([k, v]) => rec("min-ts", v.subtask, v.keyGroup, k, null, null, String(v["min-ts"])))
            .sort(),
        );
        const expected = keys.map(([k, v]) =>
          rec("max-ts", v.subtask, v.keyGroup, k, null, null, String(v["max-ts"])),
        );
        for (const subtask of [0, 1]) {
          Object.entries(job.rules).forEach(([word, bonus], index) => {
            expected.push(
              rec("rules", subtask, null, word, null, null, String(bonus), { mode: "BROADCAST", index }),
            );
          });
        }
        assert.deepEqual(await dump(at.metadataDir, "rule-applier", keyType), expected.sort());
      });

      it("word-normalizer: split-distribute and union operator list state per subtask", async () => {
        const counts = [job.normalizer.subtask0Count, job.normalizer.subtask1Count];
        const expected: string[] = [];
        for (const subtask of [0, 1]) {
          expected.push(
            rec("normalizer-count", subtask, null, null, null, null, String(counts[subtask]), {
              mode: "SPLIT_DISTRIBUTE",
              index: 0,
            }),
          );
          expected.push(
            rec(
              "normalizer-union-log",
              subtask,
              null,
              null,
              null,
              null,
              job.normalizer.unionEntries[subtask],
              {
                mode: "UNION",
                index: 0,
              },
            ),
          );
        }
        assert.deepEqual(await dump(at.metadataDir, "word-normalizer"), expected.sort());
      });

      it("--state and --key-group select records", async () => {
        const apple = job.keys.apple;
        assert.ok(apple);
        const out: DumpRecord[] = [];
        for await (const r of dumpState(at.metadataDir, {
          stores,
          operator: "word-stats",
          state: "word-count",
          keyGroups: { start: apple.keyGroup, end: apple.keyGroup },
          ...(keyType ? { keyType } : {}),
        })) {
          out.push(r);
        }
        assert.deepEqual(out, [
          {
            state: "word-count",
            subtask: apple.subtask,
            keyGroup: apple.keyGroup,
            key: "apple",
            namespace: null,
            userKey: null,
            value: BigInt(apple["word-count"] as number),
          },
        ]);
      });

      it("source readers: one SourceReaderState element (opaque split bytes) per reader subtask", async () => {
        const out: DumpRecord[] = [];
        for await (const r of dumpState(at.metadataDir, { stores, operator: "word-source" })) out.push(r);
        assert.deepEqual(
          out.map((r) => [r.state, r.subtask, r.mode, r.value instanceof Uint8Array]),
          [
            ["SourceReaderState", 0, "SPLIT_DISTRIBUTE", true],
            ["SourceReaderState", 1, "SPLIT_DISTRIBUTE", true],
          ],
        );
      });
    });
  }
});
