/**
 * The changelog replay (`changelog-replay.ts`) on changes written here as Flink's
 * `AbstractStateChangeLogger` writes them, for every operation and state kind its appliers take
 * (the real changelog fixtures exercise value SET, list ADD_ELEMENT, map ADD_OR_UPDATE_ELEMENT,
 * aggregating SET_INTERNAL and CLEAR, timers ADD_ELEMENT and REMOVE_ELEMENT; `dump-model.test.ts`
 * checks those against the job's state): the result after each kind of change, merged namespaces,
 * key-group filtering and order, and typed errors for what does not decode.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CorruptSnapshotError, InvalidArgumentError } from "../../../src/errors.js";
import { DataOutput } from "../../../src/formats/io/data-output.js";
import type { InMemoryChangelogStateHandle } from "../../../src/formats/metadata/model.js";
import { STATE_CHANGE_OPERATIONS, type StateChangeOperation } from "../../../src/formats/state/changelog.js";
import {
  type ChangelogLog,
  ChangelogReplayError,
  decodeChanges,
  keyGroupParts,
  readChangelogLog,
  replayChangelog,
  selectChanges,
  timerKeySerializer,
} from "../../../src/formats/state/changelog-replay.js";
import { type StateMetaInfo, writeStateMetaInfo } from "../../../src/formats/state/headers.js";
import {
  type KeyedStateEntry,
  type KeyedStateInfo,
  keyedStatesOf,
} from "../../../src/formats/state/keyed.js";
import { LoggedChangesBuilder } from "../../../src/formats/state/logged-changes.js";
import { basicSerializer } from "../../../src/formats/state/serializers/basic-types.js";
import type {
  SerializerSnapshot,
  StateValue,
  TypeSerializer,
} from "../../../src/formats/state/serializers/types.js";
import { UnsupportedSerializerError } from "../../../src/formats/state/serializers/types.js";
import { STRING } from "../../../src/formats/state/serializers/values.js";
import type { StateFileResolver } from "../../../src/formats/state/stream.js";

const BASE = "org.apache.flink.api.common.typeutils.base.";
const simple = (className: string): SerializerSnapshot => ({ className, version: 3 });
const LONG_S = simple(`${BASE}LongSerializer$LongSerializerSnapshot`);
const STRING_S = simple(`${BASE}StringSerializer$StringSerializerSnapshot`);
const VOID_S = simple(
  "org.apache.flink.runtime.state.VoidNamespaceSerializer$VoidNamespaceSerializerSnapshot",
);
const WINDOW_S = simple(
  "org.apache.flink.streaming.api.windowing.windows.TimeWindow$Serializer$TimeWindowSerializerSnapshot",
);
const composite = (className: string, nested: SerializerSnapshot[]): SerializerSnapshot => ({
  className,
  version: 1,
  composite: { outerVersion: 1, nestedVersion: 1, nested },
});

function kv(name: string, type: string, ns: SerializerSnapshot, value: SerializerSnapshot): StateMetaInfo {
  return {
    name,
    backendStateType: "KEY_VALUE",
    options: [["KEYED_STATE_TYPE", type]],
    serializers: [
      { key: "NAMESPACE_SERIALIZER", snapshot: ns },
      { key: "VALUE_SERIALIZER", snapshot: value },
    ],
  };
}

const METAS: StateMetaInfo[] = [
  kv("count", "VALUE", VOID_S, LONG_S),
  kv("items", "LIST", VOID_S, composite(`${BASE}ListSerializerSnapshot`, [LONG_S])),
  kv("buckets", "MAP", VOID_S, composite(`${BASE}MapSerializerSnapshot`, [STRING_S, LONG_S])),
  kv("window-sum", "AGGREGATING", WINDOW_S, LONG_S),
  kv("window-max", "REDUCING", WINDOW_S, LONG_S),
  kv("window-items", "LIST", WINDOW_S, composite(`${BASE}ListSerializerSnapshot`, [LONG_S])),
  {
    name: "timers",
    backendStateType: "PRIORITY_QUEUE",
    options: [],
    serializers: [
      {
        key: "VALUE_SERIALIZER",
        snapshot: composite("org.apache.flink.streaming.api.operators.TimerSerializerSnapshot", [
          STRING_S,
          VOID_S,
        ]),
      },
    ],
  },
];
const INFOS = keyedStatesOf(METAS);
const info = (name: string): KeyedStateInfo => {
  const i = INFOS.find((s) => s.name === name);
  assert.ok(i && !i.unsupported, `${name}: ${i?.unsupported}`);
  return i;
};
const KINDS = new Map(INFOS.map((i) => [i.name, i.kind]));

/** One data change as `AbstractStateChangeLogger.serialize` writes it. */
function change(
  state: string,
  op: StateChangeOperation,
  scope: { key?: string; ns?: StateValue },
  data?: (out: DataOutput) => void,
): Uint8Array {
  const s = info(state);
  const out = new DataOutput();
  out.writeByte(STATE_CHANGE_OPERATIONS.indexOf(op));
  out.writeShort(s.id);
  if (s.kind !== "timers") {
    STRING.write(out, scope.key ?? null);
    (s.namespace as TypeSerializer).write(out, scope.ns ?? null);
  }
  data?.(out);
  return out.toBytes().slice();
}

const w = (start: number, end: number) => ({ start: BigInt(start), end: BigInt(end) });

/** A log of data changes (all in `keyGroup`, unless given per change). */
function logOf(
  changes: { state: string; bytes: Uint8Array; keyGroup?: number }[],
  keyGroup = 5,
): ChangelogLog {
  const logged = new LoggedChangesBuilder();
  changes.forEach((c, n) => {
    logged.add({
      change: { keyGroup: c.keyGroup ?? keyGroup, bytes: c.bytes, offset: n * 100 },
      uri: "file:///dstl/f",
      state: info(c.state),
    });
  });
  return {
    states: INFOS.map((i) => ({ stateId: i.id, info: i })),
    changes: logged.build(),
    complete: true,
    changed: [...new Set(changes.map((c) => info(c.state)))],
    keyGroupBytes: new Map(),
  };
}

function entry(
  state: string,
  key: StateValue,
  namespace: StateValue,
  value: StateValue,
  userKey?: StateValue,
  keyGroup = 5,
) {
  const e: KeyedStateEntry = { keyGroup, stateId: info(state).id, state, key, namespace, value, bytes: 7 };
  if (userKey !== undefined) e.userKey = userKey;
  return e;
}

async function* batches(entries: KeyedStateEntry[]): AsyncGenerator<KeyedStateEntry[]> {
  if (entries.length > 0) yield entries;
}

/** No materialized entries. */
async function* batches0(): AsyncGenerator<KeyedStateEntry[]> {}

async function replay(
  base: KeyedStateEntry[],
  log: ChangelogLog,
  range = { start: 0, end: 127 },
  keyGroups?: { start: number; end: number },
): Promise<KeyedStateEntry[]> {
  const changes = selectChanges(log, {
    keySerializer: STRING,
    keyGroupRange: range,
    ...(keyGroups ? { keyGroups } : {}),
  });
  const out: KeyedStateEntry[] = [];
  for await (const b of replayChangelog(batches(base), changes, KINDS)) out.push(...b);
  return out;
}

/** The entries as [state, key, namespace, userKey, value] rows, in order. */
function rows(entries: KeyedStateEntry[]): unknown[][] {
  return entries.map((e) => [e.state, e.key, e.namespace, e.userKey ?? null, e.value]);
}

const long = (out: DataOutput, v: number) => out.writeLong(BigInt(v));
const longList = (out: DataOutput, vs: number[]) => {
  out.writeInt(vs.length);
  for (const v of vs) long(out, v);
};

describe("changelog replay", () => {
  it("value state: SET replaces or adds, CLEAR removes; entries left alone keep order and bytes", async () => {
    const base = [
      entry("count", "a", null, 1n),
      entry("count", "b", null, 2n),
      entry("count", "c", null, 3n),
    ];
    const out = await replay(
      base,
      logOf([
        { state: "count", bytes: change("count", "SET", { key: "b" }, (o) => long(o, 20)) },
        { state: "count", bytes: change("count", "CLEAR", { key: "c" }) },
        { state: "count", bytes: change("count", "SET", { key: "d" }, (o) => long(o, 4)) },
        { state: "count", bytes: change("count", "SET", { key: "e" }, (o) => long(o, 5)) },
        { state: "count", bytes: change("count", "CLEAR", { key: "e" }) },
      ]),
    );
    assert.deepEqual(rows(out), [
      ["count", "a", null, null, 1n],
      ["count", "b", null, null, 20n],
      ["count", "d", null, null, 4n],
    ]);
    assert.deepEqual(
      out.map((e) => e.bytes),
      [7, 0, 0],
    );
  });

  it("list state: ADD_ELEMENT and ADD append, SET and SET_INTERNAL replace, an empty list is no entry", async () => {
    const base = [entry("items", "a", null, [1n, 2n]), entry("items", "b", null, [9n])];
    const out = await replay(
      base,
      logOf([
        { state: "items", bytes: change("items", "ADD_ELEMENT", { key: "a" }, (o) => long(o, 3)) },
        { state: "items", bytes: change("items", "ADD", { key: "a" }, (o) => longList(o, [4, 5])) },
        { state: "items", bytes: change("items", "SET_INTERNAL", { key: "b" }, (o) => longList(o, [])) },
        { state: "items", bytes: change("items", "SET", { key: "c" }, (o) => longList(o, [7])) },
        { state: "items", bytes: change("items", "ADD_ELEMENT", { key: "c" }, (o) => long(o, 8)) },
      ]),
    );
    assert.deepEqual(rows(out), [
      ["items", "a", null, null, [1n, 2n, 3n, 4n, 5n]],
      ["items", "c", null, null, [7n, 8n]],
    ]);
  });

  it("map state: ADD_OR_UPDATE_ELEMENT and ADD_ELEMENT put, ADD puts all (null values too), REMOVE_ELEMENT and CLEAR remove", async () => {
    const base = [
      entry("buckets", "a", null, 1n, "x"),
      entry("buckets", "a", null, 2n, "y"),
      entry("buckets", "b", null, 3n, "x"),
      entry("buckets", "c", null, 4n, "x"),
    ];
    const put = (k: string, v: number) => (o: DataOutput) => {
      STRING.write(o, k);
      long(o, v);
    };
    const out = await replay(
      base,
      logOf([
        { state: "buckets", bytes: change("buckets", "ADD_OR_UPDATE_ELEMENT", { key: "a" }, put("x", 10)) },
        { state: "buckets", bytes: change("buckets", "ADD_ELEMENT", { key: "a" }, put("z", 30)) },
        {
          state: "buckets",
          bytes: change("buckets", "REMOVE_ELEMENT", { key: "a" }, (o) => STRING.write(o, "y")),
        },
        // MapSerializer: size, then key, null flag, value
        {
          state: "buckets",
          bytes: change("buckets", "ADD", { key: "b" }, (o) => {
            o.writeInt(2);
            STRING.write(o, "p");
            o.writeBoolean(false);
            long(o, 5);
            STRING.write(o, "q");
            o.writeBoolean(true);
          }),
        },
        {
          state: "buckets",
          bytes: change("buckets", "REMOVE_ELEMENT", { key: "c" }, (o) => STRING.write(o, "x")),
        },
        { state: "buckets", bytes: change("buckets", "CLEAR", { key: "b" }) },
        { state: "buckets", bytes: change("buckets", "ADD_OR_UPDATE_ELEMENT", { key: "b" }, put("r", 6)) },
      ]),
    );
    assert.deepEqual(rows(out), [
      ["buckets", "a", null, "x", 10n],
      ["buckets", "a", null, "z", 30n],
      ["buckets", "b", null, "r", 6n],
    ]);
  });

  it("timers: ADD_ELEMENT adds each (a set), REMOVE_ELEMENT removes one", async () => {
    const t = (ts: number, key: string) => ({ timestamp: BigInt(ts), key, namespace: null });
    const timer = info("timers").value as TypeSerializer;
    const add =
      (...ts: ReturnType<typeof t>[]) =>
      (o: DataOutput) => {
        o.writeInt(ts.length);
        for (const x of ts) timer.write(o, x);
      };
    const base = [entry("timers", "a", null, t(10, "a")), entry("timers", "b", null, t(20, "b"))];
    const out = await replay(
      base,
      logOf([
        { state: "timers", bytes: change("timers", "ADD_ELEMENT", {}, add(t(30, "c"), t(40, "d"))) },
        { state: "timers", bytes: change("timers", "ADD_ELEMENT", {}, add(t(20, "b"))) },
        { state: "timers", bytes: change("timers", "REMOVE_ELEMENT", {}, (o) => timer.write(o, t(10, "a"))) },
        { state: "timers", bytes: change("timers", "REMOVE_ELEMENT", {}, (o) => timer.write(o, t(40, "d"))) },
      ]),
    );
    assert.deepEqual(
      out.map((e) => [e.key, e.value]),
      [
        ["b", t(20, "b")],
        ["c", t(30, "c")],
      ],
    );
  });

  /** MERGE_NS as `KvStateChangeLoggerImpl.namespacesMerged` writes it: scope (key, target), target, sources. */
  const merge = (state: string, key: string, target: StateValue, sources: StateValue[]) =>
    change(state, "MERGE_NS", { key, ns: target }, (o) => {
      const ns = info(state).namespace as TypeSerializer;
      ns.write(o, target);
      o.writeInt(sources.length);
      for (const s of sources) ns.write(o, s);
    });

  it("merged namespaces of list state: the target's list, then each source's, the sources gone", async () => {
    const base = [
      entry("window-items", "k", w(0, 10), [1n]),
      entry("window-items", "k", w(5, 15), [2n, 3n]),
      entry("window-items", "k", w(20, 30), [4n]),
      entry("window-items", "other", w(0, 10), [5n]),
    ];
    const out = await replay(
      base,
      logOf([
        {
          state: "window-items",
          bytes: merge("window-items", "k", w(0, 15), [w(0, 10), w(5, 15), w(40, 50)]),
        },
      ]),
    );
    assert.deepEqual(rows(out), [
      ["window-items", "k", w(20, 30), null, [4n]],
      ["window-items", "other", w(0, 10), null, [5n]],
      ["window-items", "k", w(0, 15), null, [1n, 2n, 3n]],
    ]);
    const into = await replay(
      base,
      logOf([{ state: "window-items", bytes: merge("window-items", "k", w(0, 10), [w(0, 10), w(5, 15)]) }]),
    );
    assert.deepEqual(rows(into).slice(-1), [["window-items", "k", w(0, 10), null, [1n, 2n, 3n]]]);
  });

  it("merged namespaces of aggregating and reducing state: one value moves to the target; several wait for the value set after the merge", async () => {
    for (const state of ["window-sum", "window-max"]) {
      const one = await replay(
        [entry(state, "k", w(5, 15), 7n)],
        logOf([{ state, bytes: merge(state, "k", w(0, 15), [w(0, 10), w(5, 15)]) }]),
      );
      assert.deepEqual(rows(one), [[state, "k", w(0, 15), null, 7n]]);
      const two = [entry(state, "k", w(0, 10), 1n), entry(state, "k", w(5, 15), 7n)];
      // the window operator adds the element that caused the merge: the whole merged value is logged
      const settled = await replay(
        two,
        logOf([
          { state, bytes: merge(state, "k", w(0, 15), [w(0, 10), w(5, 15)]) },
          { state, bytes: change(state, "SET_INTERNAL", { key: "k", ns: w(0, 15) }, (o) => long(o, 9)) },
        ]),
      );
      assert.deepEqual(rows(settled), [[state, "k", w(0, 15), null, 9n]]);
      const cleared = await replay(
        two,
        logOf([
          { state, bytes: merge(state, "k", w(0, 15), [w(0, 10), w(5, 15)]) },
          { state, bytes: change(state, "CLEAR", { key: "k", ns: w(0, 15) }) },
        ]),
      );
      assert.deepEqual(rows(cleared), []);
      // without it, only the job's function knows the value (also when merged again)
      for (const log of [
        logOf([{ state, bytes: merge(state, "k", w(0, 15), [w(0, 10), w(5, 15)]) }]),
        logOf([
          { state, bytes: merge(state, "k", w(0, 15), [w(0, 10), w(5, 15)]) },
          { state, bytes: merge(state, "k", w(0, 20), [w(0, 15)]) },
        ]),
      ]) {
        await assert.rejects(
          replay(two, log),
          (e: Error) =>
            e instanceof ChangelogReplayError &&
            /namespaces of 2 values .* merged, and no later change sets the result/.test(e.message),
        );
      }
      // SET and SET_INTERNAL both set the accumulator
      const set = await replay(
        [],
        logOf([
          { state, bytes: change(state, "SET", { key: "k", ns: w(0, 10) }, (o) => long(o, 3)) },
          { state, bytes: change(state, "SET_INTERNAL", { key: "k", ns: w(0, 10) }, (o) => long(o, 4)) },
        ]),
      );
      assert.deepEqual(rows(set), [[state, "k", w(0, 10), null, 4n]]);
    }
  });

  it("key groups: changes outside the subtask's range or the asked range are skipped; key groups come out ascending", async () => {
    const set = (key: string, v: number, keyGroup: number) => ({
      state: "count",
      keyGroup,
      bytes: change("count", "SET", { key }, (o) => long(o, v)),
    });
    const base = [entry("count", "a", null, 1n, undefined, 3), entry("count", "b", null, 2n, undefined, 9)];
    const log = logOf([
      set("x", 10, 12),
      set("y", 11, 1),
      set("z", 12, 6),
      set("far", 13, 40),
      set("b", 20, 9),
    ]);
    const out = await replay(base, log, { start: 0, end: 20 });
    assert.deepEqual(
      out.map((e) => [e.keyGroup, e.key, e.value]),
      [
        [1, "y", 11n],
        [3, "a", 1n],
        [6, "z", 12n],
        [9, "b", 20n],
        [12, "x", 10n],
      ],
    );
    const only = await replay(base.slice(1), log, { start: 0, end: 20 }, { start: 6, end: 9 });
    assert.deepEqual(
      only.map((e) => [e.keyGroup, e.key]),
      [
        [6, "z"],
        [9, "b"],
      ],
    );
  });

  it("changes are decoded key group by key group as the replay reaches them", async () => {
    const bad = change("count", "ADD", { key: "a" }, (o) => long(o, 1)); // not a value state's operation
    const log = logOf([
      { state: "count", keyGroup: 3, bytes: change("count", "SET", { key: "x" }, (o) => long(o, 1)) },
      { state: "count", keyGroup: 9, bytes: bad },
    ]);
    const changes = selectChanges(log, { keySerializer: STRING, keyGroupRange: { start: 0, end: 127 } });
    assert.deepEqual([...changes.byKeyGroup.keys()], [3, 9]);
    const batches = replayChangelog(batches0(), changes, KINDS);
    const first = await batches.next();
    assert.deepEqual(
      (first.value as KeyedStateEntry[]).map((e) => [e.keyGroup, e.key]),
      [[3, "x"]],
    );
    await assert.rejects(batches.next(), CorruptSnapshotError);
  });

  it("base entries out of key-group order are refused", async () => {
    const base = [entry("count", "a", null, 1n, undefined, 9), entry("count", "b", null, 2n, undefined, 3)];
    await assert.rejects(replay(base, logOf([])), InvalidArgumentError);
  });

  it("what does not decode is a typed error naming the changelog file and the change's offset", async () => {
    const decode = (bytes: Uint8Array, state = "count", keySerializer: TypeSerializer | null = STRING) =>
      decodeChanges(
        [
          ...logOf([
            { state, bytes },
            { state, bytes },
          ]).changes,
        ],
        keySerializer,
      );
    // bytes after the value: the first change lies at offset 0 of the stream, its extra byte at 14
    const long2 = change("count", "SET", { key: "a" }, (o) => {
      long(o, 1);
      o.writeByte(0);
    });
    assert.throws(
      () => decode(long2),
      (e: Error) =>
        e instanceof CorruptSnapshotError &&
        /file:\/\/\/dstl\/f \(changelog stream\) at byte 14: SET change of state count: 1 bytes after its data/.test(
          e.message,
        ),
    );
    // an operation the state's applier does not take (ValueStateChangeApplier: SET and CLEAR)
    assert.throws(
      () => decode(change("count", "ADD", { key: "a" }, (o) => long(o, 1))),
      (e: Error) =>
        e instanceof CorruptSnapshotError && /ADD is not an operation of value state count/.test(e.message),
    );
    // a value cut short
    assert.throws(
      () => decode(change("count", "SET", { key: "a" }, (o) => o.writeInt(1))),
      (e: Error) => e instanceof CorruptSnapshotError && /changelog stream/.test(e.message),
    );
    // no key serializer: key/value changes cannot be split
    assert.throws(
      () =>
        decode(
          change("count", "SET", { key: "a" }, (o) => long(o, 1)),
          "count",
          null,
        ),
      (e: Error) =>
        e instanceof UnsupportedSerializerError && /key's serializer is not recorded/.test(e.message),
    );
  });

  it("reads METADATA and data changes of changelog handles: state ids, the timers' key serializer, unknown ids refused", async () => {
    const metadata = (meta: StateMetaInfo, id: number, type: number) => {
      const o = new DataOutput();
      o.writeByte(STATE_CHANGE_OPERATIONS.indexOf("METADATA"));
      o.writeInt(7);
      writeStateMetaInfo(o, meta);
      o.writeBoolean(false); // no TTL (KvStateChangeLoggerImpl.writeDefaultValueAndTtl)
      o.writeBoolean(false); // no default value
      o.writeShort(id);
      o.writeByte(type);
      return o.toBytes().slice();
    };
    const handle = (changes: { keyGroup: number; data: Uint8Array }[]): InMemoryChangelogStateHandle => ({
      kind: "InMemoryChangelogStateHandle",
      keyGroupRange: { start: 0, end: 127 },
      from: 0n,
      to: 1n,
      changes,
      stateHandleId: "h",
    });
    const resolver = {} as StateFileResolver;
    const countMeta = METAS[0] as StateMetaInfo;
    const timerMeta = METAS[6] as StateMetaInfo;
    const set = change("count", "SET", { key: "a" }, (o) => long(o, 1)); // names state id 0
    const log = await readChangelogLog(
      [
        handle([
          { keyGroup: -1, data: metadata(countMeta, 0, 0) },
          { keyGroup: -1, data: metadata(timerMeta, 6, 3) },
          { keyGroup: 5, data: set },
        ]),
      ],
      resolver,
      new Map(),
    );
    assert.deepEqual(
      log.states.map((s) => [s.stateId, s.info.name, s.info.kind]),
      [
        [0, "count", "value"],
        [6, "timers", "timers"],
      ],
    );
    assert.deepEqual(
      [...log.changes].map((c) => [c.state.name, c.change.keyGroup]),
      [["count", 5]],
    );
    // a filter keeps the data changes asked for (their bytes copied); METADATA changes are all read
    const four = handle([
      { keyGroup: -1, data: metadata(countMeta, 0, 0) },
      { keyGroup: -1, data: metadata(timerMeta, 6, 3) },
      { keyGroup: 5, data: set },
      { keyGroup: 9, data: set },
    ]);
    const later = await readChangelogLog([four], resolver, new Map(), { keyGroups: { start: 6, end: 127 } });
    assert.equal(later.states.length, 2);
    assert.deepEqual(
      [...later.changes].map((c) => [c.state.name, c.change.keyGroup, [...c.change.bytes]]),
      [["count", 9, [...set]]],
    );
    const timersOnly = await readChangelogLog([four], resolver, new Map(), { states: new Set(["timers"]) });
    assert.equal(timersOnly.changes.count, 0);
    assert.equal(timersOnly.states.length, 2);
    assert.deepEqual(timersOnly.changed, []);
    // past maxBytes nothing is kept, but the bytes of each key group and the states changed are counted
    const whole = await readChangelogLog([four], resolver, new Map(), { maxBytes: set.byteLength * 2 });
    assert.equal(whole.complete, true);
    assert.equal(whole.changes.count, 2);
    const over = await readChangelogLog([four], resolver, new Map(), { maxBytes: set.byteLength * 2 - 1 });
    assert.equal(over.complete, false);
    assert.equal(over.changes.count, 0);
    assert.deepEqual(
      [...over.keyGroupBytes],
      [
        [5, set.byteLength],
        [9, set.byteLength],
      ],
    );
    assert.deepEqual(
      over.changed.map((i) => i.name),
      ["count"],
    );
    assert.equal(timerKeySerializer(log)?.type, "String");
    assert.equal(timerKeySerializer({ ...log, states: log.states.slice(0, 1) }), null);
    await assert.rejects(
      readChangelogLog([handle([{ keyGroup: 5, data: set }])], resolver, new Map()),
      (e: Error) =>
        e instanceof CorruptSnapshotError &&
        /SET change of state id 0, which no METADATA change registered/.test(e.message),
    );
    await assert.rejects(
      readChangelogLog([handle([{ keyGroup: -1, data: metadata(countMeta, 0, 1) }])], resolver, new Map()),
      (e: Error) =>
        e instanceof CorruptSnapshotError &&
        /backend state type 1, not KEY_VALUE or PRIORITY_QUEUE/.test(e.message),
    );
  });

  it("splits key groups into parts whose changes fit a budget", () => {
    const bytes = new Map([
      [2, 60],
      [3, 50],
      [5, 150], // over the budget alone: a part of its own
      [6, 10],
      [9, 30],
    ]);
    assert.deepEqual(keyGroupParts(bytes, { start: 0, end: 12 }, 100), [
      { start: 0, end: 2 },
      { start: 3, end: 4 },
      { start: 5, end: 5 },
      { start: 6, end: 12 },
    ]);
    assert.deepEqual(keyGroupParts(bytes, { start: 0, end: 12 }, 1000), [{ start: 0, end: 12 }]);
    assert.deepEqual(keyGroupParts(bytes, { start: 4, end: 6 }, 0), [
      { start: 4, end: 4 },
      { start: 5, end: 5 },
      { start: 6, end: 6 },
    ]);
    assert.deepEqual(keyGroupParts(new Map(), { start: 7, end: 7 }, 0), [{ start: 7, end: 7 }]);
  });

  it("key types by name", () => {
    assert.equal(basicSerializer("String"), STRING);
    assert.equal(basicSerializer(" long ").type, "Long");
    assert.equal(basicSerializer("int").type, basicSerializer("Integer").type);
    assert.throws(
      () => basicSerializer("Strin"),
      (e: Error) => e instanceof InvalidArgumentError && /expected one of String, Long/.test(e.message),
    );
  });
});
