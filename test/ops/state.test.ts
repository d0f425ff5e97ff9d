/**
 * `state` and `dump` as operations and CLI commands, on the fixtures: state names, kinds, types, TTL
 * and entry counts per state as the job defines them; operator references by uid and OperatorID;
 * output formats; typed errors.
 */

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { runCli } from "../../src/cli/main.js";
import { InvalidArgumentError } from "../../src/errors.js";
import { operatorIdFromUid } from "../../src/formats/operator-id.js";
import { dumpState, formatDump, parseKeyGroupRange } from "../../src/ops/dump.js";
import { describeState, type KeyedStateDescription } from "../../src/ops/state.js";
import { StoreRegistry } from "../../src/storage/registry.js";
import { listFixtures, listUnalignedFixtures, readableFixtureDir } from "../helpers/fixtures.js";

const stores = new StoreRegistry();
const tmp = mkdtempSync(join(tmpdir(), "sk-state-"));
after(async () => {
  await stores.close();
  rmSync(tmp, { recursive: true, force: true });
});
const fixtures = listFixtures();
const byCase = (line: string, c: string) => {
  const f = fixtures.find((x) => x.id === `flink-${line}/${c}`);
  assert.ok(f, `${line}/${c}`);
  return f;
};

/** Entries per state the job holds (fixtures/README.md): 7 keys, 18 buckets, 6 open windows, 3 rules on 2 subtasks. */
const COUNTS: Record<string, Record<string, number>> = {
  "word-stats": {
    "word-count": 7,
    "word-timestamps": 7,
    "bucket-counts": 18,
    "_timer_state/processing_user-timers": 0,
    "_timer_state/event_user-timers": 0,
  },
  "word-windows": {
    "window-contents": 6,
    "_timer_state/event_window-timers": 6,
    "_timer_state/processing_window-timers": 0,
  },
  "rule-applier": {
    "max-ts": 7,
    rules: 6,
    "_timer_state/processing_user-timers": 0,
    "_timer_state/event_user-timers": 0,
  },
  "word-normalizer": { "normalizer-count": 2, "normalizer-union-log": 2 },
};

describe("describeState", () => {
  for (const line of ["1.20", "2.3"]) {
    for (const c of [
      "savepoint-canonical-hashmap",
      "savepoint-native-hashmap",
      "savepoint-canonical-rocksdb",
      "savepoint-native-rocksdb",
      "checkpoint-rocksdb-incremental",
      "checkpoint-rocksdb-levels-lz4",
      "savepoint-native-rocksdb-zstd",
      "checkpoint-rocksdb-rescaled",
      // operator state in FileMergingOperatorStreamStateHandles: segments of physical files
      "checkpoint-rocksdb-file-merging",
    ]) {
      it(`${line}/${c}: states, kinds and entry counts of every operator`, async () => {
        const dir = await readableFixtureDir(byCase(line, c), stores, tmp);
        const layout = c.includes("native-hashmap")
          ? "heap"
          : c.includes("canonical")
            ? "canonical"
            : "rocksdb-native";
        for (const [uid, counts] of Object.entries(COUNTS)) {
          const r = await describeState(dir, { stores, operator: uid });
          const op = r.operators[0];
          assert.ok(op);
          assert.equal(op.uid, uid, "a uid given as --operator labels the operator");
          const got: Record<string, number | null> = {};
          for (const s of op.keyed?.states ?? []) got[s.name] = s.entries;
          for (const s of op.operatorStates) got[s.name] = s.entries;
          assert.deepEqual(got, counts, uid);
          if (uid === "word-stats") {
            const kinds = Object.fromEntries(
              (op.keyed?.states ?? []).map((s) => [s.name, [s.kind, s.ttl, s.valueType]]),
            );
            assert.deepEqual(kinds["bucket-counts"], ["map", true, "Map<Long, TTL<Long>>"]);
            assert.deepEqual(kinds["word-timestamps"], ["list", false, "List<Long>"]);
            assert.equal(op.keyed?.keyType, "String");
            assert.deepEqual(op.keyed?.layouts, [layout]);
            // snapshot compression is on for the canonical savepoints only (fixtures/README.md)
            assert.equal(op.keyed?.compressed, layout === "canonical");
            const bytes = Object.fromEntries((op.keyed?.states ?? []).map((s) => [s.name, s.bytes]));
            // word-count, 7 words of 39 characters in all: per entry a String key (1 + length), the
            // VoidNamespace (1 byte) and a Long (8); canonical and RocksDB keys also have the 1-byte
            // key-group prefix, heap entries do not
            const prefix = layout === "heap" ? 0n : 1n;
            assert.equal(bytes["word-count"], 7n * (prefix + 1n + 1n + 8n) + 39n);
          }
          if (uid === "rule-applier") {
            const rules = op.operatorStates.find((s) => s.name === "rules");
            assert.deepEqual(
              [rules?.mode, rules?.keyType, rules?.valueType, rules?.subtasks],
              ["BROADCAST", "String", "Long", 2],
            );
          }
        }
      });
    }
  }

  for (const f of listUnalignedFixtures()) {
    it(`${f.id}: the sums' keyed state is read; channel state is named with its handles and bytes, not read`, async () => {
      const r = await describeState(await readableFixtureDir(f, stores, tmp), { stores });
      // (metadata V4 stores no uids: the operator by the id the job gives it)
      const sumsId = f.expected.jobOperators?.find((o) => o.uid === "sums")?.operatorId;
      const sums = r.operators.find((o) => o.operatorId === sumsId);
      assert.deepEqual(
        sums?.keyed?.states.filter((s) => s.kind === "value").map((s) => [s.name, s.entries]),
        [
          ["sum", 16],
          ["count", 16],
        ],
      );
      for (const eo of f.expected.operators) {
        const hs = eo.subtasks.flatMap((s: any) => [...s.inputChannelState, ...s.resultSubpartitionState]);
        const op = r.operators.find((o) => o.operatorId === eo.operatorId);
        const notes = (op?.notes ?? []).filter((n) => n.startsWith("channel state"));
        if (hs.length === 0) {
          assert.deepEqual(notes, [], eo.operatorId);
          continue;
        }
        const bytes = hs.reduce((n: bigint, h: any) => n + BigInt(h.stateSize), 0n);
        const subtasks = eo.subtasks.filter(
          (s: any) => s.inputChannelState.length + s.resultSubpartitionState.length > 0,
        ).length;
        assert.deepEqual(notes, [
          `channel state (records in flight at an unaligned checkpoint, replayed by Flink on restore) is not read: ${hs.length} handles of ${subtasks} subtasks, ${bytes} bytes`,
        ]);
      }
    });
  }

  for (const line of ["1.20", "2.3"])
    for (const c of [
      "checkpoint-rocksdb-changelog",
      "checkpoint-rocksdb-changelog-snappy",
      "checkpoint-rocksdb-changelog-materialized",
    ]) {
      const materialized = c.endsWith("-materialized");
      it(`${line}/${c}: the states ${materialized ? "materialized and " : ""}the changelog registers, described as Flink's other snapshots of the job describe them`, async () => {
        // Never materialized (fixtures/README.md): every keyed state is in the changelog, registered by
        // a METADATA change before its first data change, so exactly the states that hold entries.
        // Materialized: every state the RocksDB snapshot holds, then those the changelog adds.
        const changelog = await describeState(await readableFixtureDir(byCase(line, c), stores, tmp), {
          stores,
        });
        const incremental = await describeState(
          await readableFixtureDir(byCase(line, "checkpoint-rocksdb-incremental"), stores, tmp),
          { stores, counts: false },
        );
        for (const [uid, counts] of Object.entries(COUNTS)) {
          // (metadata V4, Flink 1.20, stores no uids: the operator by the id the uid hashes to)
          const op = changelog.operators.find((o) => o.operatorId === operatorIdFromUid(uid));
          const other = incremental.operators.find((o) => o.operatorId === op?.operatorId);
          assert.ok(op && other, uid);
          const keyedNames = new Set((other.keyed?.states ?? []).map((s) => s.name));
          const expected = Object.entries(counts)
            .filter(([name, n]) => keyedNames.has(name) && (materialized || n > 0))
            .map(([name]) => name)
            .sort();
          assert.deepEqual((op.keyed?.states ?? []).map((s) => s.name).sort(), expected, uid);
          // the key type: the materialized part records it, else only a timer state's serializer
          // (the window operator's event-time timers; no other operator registers timers before
          // its first materialization)
          const timers = (op.keyed?.states ?? []).some((s) => s.kind === "timers");
          const keyKnown = materialized || timers;
          for (const s of op.keyed?.states ?? []) {
            const same: KeyedStateDescription | undefined = other.keyed?.states.find(
              (x) => x.name === s.name,
            );
            assert.deepEqual({ ...s, entries: null, bytes: null }, same, `${uid} ${s.name}`);
            // entries after the changes are replayed: the job's; bytes are not counted
            assert.equal(s.entries, keyKnown ? counts[s.name] : null, `${uid} ${s.name}`);
            assert.equal(s.bytes, null);
          }
          if (expected.length > 0) {
            const notes = op.notes.filter((n) => n.includes("changelog state backend"));
            assert.equal(notes.length, op.parallelism, notes.join("\n"));
            if (materialized) {
              assert.equal(op.keyed?.keyType, "String", "the materialized part records the key serializer");
              assert.deepEqual(op.keyed?.layouts, ["changelog", "rocksdb-native"]);
              assert.ok(
                notes.every((n) =>
                  /materialization \d+ and \d+ state changes? since \(replayed to count entries\)$/.test(n),
                ),
                notes[0],
              );
            } else {
              assert.equal(
                op.keyed?.keyType,
                keyKnown ? "String" : null,
                "never materialized: only timers record the key",
              );
              assert.deepEqual(op.keyed?.layouts, ["changelog"]);
              const counted = keyKnown
                ? "replayed to count entries"
                : "entries not counted: the key type is not recorded \\(--key-type names it\\)";
              const re = new RegExp(
                `not materialized: the states its \\d+ state changes? register \\(a state without changes is not listed; ${counted}\\)$`,
              );
              assert.ok(
                notes.every((n) => re.test(n)),
                notes[0],
              );
            }
          }
          // operator state is read as in any snapshot
          assert.deepEqual(
            op.operatorStates.map((x) => [x.name, x.entries]),
            other.operatorStates.map((x) => [x.name, counts[x.name] ?? x.entries]),
          );
        }
      });
    }

  for (const line of ["1.20", "2.3"])
    it(`${line}/checkpoint-rocksdb-changelog: with keyType, the entries of a changelog never materialized are replayed and counted; an unknown keyType is refused`, async () => {
      const dir = await readableFixtureDir(byCase(line, "checkpoint-rocksdb-changelog"), stores, tmp);
      const r = await describeState(dir, { stores, keyType: "String" });
      let counted = 0;
      for (const [uid, counts] of Object.entries(COUNTS)) {
        const op = r.operators.find((o) => o.operatorId === operatorIdFromUid(uid));
        assert.ok(op, uid);
        for (const s of op.keyed?.states ?? []) {
          assert.equal(s.entries, counts[s.name], `${uid} ${s.name}`);
          counted++;
        }
        // the report keeps the key type the snapshot records (none, unless timers record it)
        if (!(op.keyed?.states ?? []).some((s) => s.kind === "timers"))
          assert.equal(op.keyed?.keyType ?? null, null);
        const notes = op.notes.filter((n) => n.includes("changelog state backend"));
        assert.ok(
          notes.every((n) => n.endsWith("replayed to count entries)")),
          notes[0],
        );
      }
      assert.ok(counted > 0);
      await assert.rejects(describeState(dir, { stores, keyType: "Strnig" }), InvalidArgumentError);
    });

  it("finds an operator by OperatorID and refuses unknown references", async () => {
    const f = byCase("2.3", "savepoint-canonical-hashmap");
    const r = await describeState(f.metadataDir, {
      stores,
      operator: "D0A4E4912796D2114F5E0DB4E8DCF52A",
      counts: false,
    });
    assert.equal(r.operators[0]?.uid, "word-stats");
    assert.equal(r.operators[0]?.keyed?.states[0]?.entries, null);
    await assert.rejects(describeState(f.metadataDir, { stores, operator: "nope" }), InvalidArgumentError);
  });
});

describe("dumpState", () => {
  it("RocksDB native keyed state: --state and --key-group select column families and key-group ranges", async () => {
    const f = byCase("2.3", "savepoint-native-rocksdb");
    const all = [];
    for await (const r of dumpState(f.metadataDir, { stores, operator: "word-stats" })) all.push(r);
    assert.equal(all.length, 7 + 7 + 18);
    const groups = all.map((r) => r.keyGroup as number);
    assert.deepEqual(
      groups,
      [...groups].sort((a, b) => a - b),
      "key groups ascending",
    );
    const some = [];
    for await (const r of dumpState(f.metadataDir, {
      stores,
      operator: "word-stats",
      state: "bucket-counts",
      keyGroups: { start: 60, end: 70 },
    }))
      some.push(r);
    assert.deepEqual(
      some.map((r) => [r.state, r.subtask, r.keyGroup, r.key, r.userKey]),
      [
        ["bucket-counts", 0, 62, "elderberry", 0n],
        ["bucket-counts", 0, 62, "elderberry", 2n],
        ["bucket-counts", 1, 69, "banana", 0n],
        ["bucket-counts", 1, 69, "banana", 1n],
        ["bucket-counts", 1, 69, "banana", 2n],
      ],
    );
    const rules = [];
    for await (const r of dumpState(f.metadataDir, { stores, operator: "rule-applier", state: "rules" }))
      rules.push(r);
    assert.equal(rules.length, 6);
  });

  it("refuses an unknown state name", async () => {
    const f = byCase("1.20", "savepoint-canonical-rocksdb");
    await assert.rejects(async () => {
      for await (const _ of dumpState(f.metadataDir, { stores, operator: "word-stats", state: "nope" })) {
        // drain
      }
    }, InvalidArgumentError);
  });

  it("formats NDJSON, JSON and CSV", async () => {
    const f = byCase("1.20", "savepoint-canonical-hashmap");
    const text = async (format: "ndjson" | "json" | "csv") => {
      let s = "";
      for await (const c of formatDump(
        dumpState(f.metadataDir, { stores, operator: "word-stats", state: "word-count" }),
        format,
      ))
        s += c;
      return s;
    };
    const nd = (await text("ndjson"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.equal(nd.length, 7);
    assert.deepEqual(JSON.parse(await text("json")), nd);
    const csv = (await text("csv")).trim().split("\n");
    assert.equal(csv[0], "state,subtask,keyGroup,key,namespace,userKey,value,mode,index");
    assert.ok(csv.includes("word-count,0,27,cherry,,,2,,"), csv.join("\n"));
  });

  it("parses key-group ranges", () => {
    assert.deepEqual(parseKeyGroupRange("5"), { start: 5, end: 5 });
    assert.deepEqual(parseKeyGroupRange("3-9"), { start: 3, end: 9 });
    assert.throws(() => parseKeyGroupRange("9-3"), InvalidArgumentError);
    assert.throws(() => parseKeyGroupRange("x"), InvalidArgumentError);
  });
});

describe("CLI", () => {
  const dir = byCase("2.3", "savepoint-canonical-rocksdb").metadataDir;

  it("state prints a table per operator and --json the report", async () => {
    const r = await runCli(["state", dir, "--operator", "word-stats"], { stores });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /bucket-counts\s+map\s+VoidNamespace\s+Map<Long, TTL<Long>>\s+yes\s+18/);
    const j = await runCli(["state", dir, "--json"], { stores });
    assert.equal(j.exitCode, 0, j.stderr);
    const report = JSON.parse(j.stdout);
    assert.equal(report.operators.length, 8);
  });

  it("dump streams records to --output", async () => {
    const out = join(tmp, "dump.ndjson");
    const r = await runCli(["dump", dir, "--operator", "word-windows", "--output", out], { stores });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /wrote 12 records/);
    const lines = readFileSync(out, "utf8").trim().split("\n");
    assert.equal(lines.length, 12);
    assert.deepEqual(JSON.parse(lines[0] as string).namespace, { start: "20000", end: "30000" });
  });

  it("dump: --json is a usage error, unknown operators too; RocksDB native state dumps", async () => {
    assert.equal(
      (await runCli(["dump", dir, "--operator", "word-stats", "--json"], { stores })).exitCode,
      64,
    );
    assert.equal(
      (await runCli(["dump", dir, "--operator", "nope", "-o", join(tmp, "x")], { stores })).exitCode,
      64,
    );
    const native = byCase("1.20", "savepoint-native-rocksdb").metadataDir;
    const r = await runCli(["dump", native, "--operator", "word-stats", "-o", join(tmp, "y")], { stores });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(readFileSync(join(tmp, "y"), "utf8").trim().split("\n").length, 32);
  });

  it("dump of a changelog never materialized: --key-type names the key type it does not record", async () => {
    const never = await readableFixtureDir(byCase("2.3", "checkpoint-rocksdb-changelog"), stores, tmp);
    const refused = await runCli(["dump", never, "--operator", "word-stats", "-o", join(tmp, "n")], {
      stores,
    });
    assert.notEqual(refused.exitCode, 0);
    assert.match(
      refused.stderr,
      /never materialized and its changes record no key type; name it \(dump --key-type/,
    );
    const r = await runCli(
      ["dump", never, "--operator", "word-stats", "--key-type", "String", "-o", join(tmp, "k")],
      {
        stores,
      },
    );
    assert.equal(r.exitCode, 0, r.stderr);
    // the job's state: 7 counts, 7 lists, 18 map entries (COUNTS)
    assert.equal(readFileSync(join(tmp, "k"), "utf8").trim().split("\n").length, 32);
    const bad = await runCli(
      ["dump", never, "--operator", "word-stats", "--key-type", "Strin", "-o", join(tmp, "b")],
      {
        stores,
      },
    );
    assert.equal(bad.exitCode, 64, bad.stderr);
  });
});
