/**
 * Replays the changelog state backend's state changes onto its materialized state, entry by entry, as
 * Flink restores a `ChangelogStateBackendHandle`: the materialized part first, then every change of the
 * non-materialized handles in log order (`ChangelogBackendRestoreOperation`), each applied by
 * `ChangelogBackendLogApplier` and the state kind's applier (`ValueStateChangeApplier`,
 * `ListStateChangeApplier`, `MapStateChangeApplier`, `AggregatingStateChangeApplier`,
 * `ReducingStateChangeApplier`, `PriorityQueueStateChangeApplier`).
 *
 * A data change (`AbstractStateChangeLogger.serialize`): the operation byte, the state's short id (which
 * the state's METADATA change maps to its name), then for key/value states the key (the backend's key
 * serializer) and the namespace (`KvStateChangeLoggerImpl.serializeScope`), then the operation's data:
 *
 * | operation | value | list | map | reducing, aggregating | priority queue (timers) |
 * |---|---|---|---|---|---|
 * | SET | value | whole list | - | value | - |
 * | SET_INTERNAL | - | whole list | - | value | - |
 * | ADD | - | list to append | map to put | - | - |
 * | ADD_ELEMENT | - | element to append | user key, value | - | i32 n, n elements |
 * | ADD_OR_UPDATE_ELEMENT | - | - | user key, value | - | - |
 * | REMOVE_ELEMENT | - | - | user key | - | element |
 * | MERGE_NS | - | target ns, i32 n, n source ns | - | same | - |
 * | CLEAR | (no data) | (no data) | (no data) | (no data) | - |
 *
 * A METADATA change ends with the state's short id (i16) and backend state type (i8), after its
 * `StateMetaInfoSnapshot`, TTL configuration and default value (`AbstractStateChangeLogger.logMetaIfNeeded`).
 *
 * Memory: the bytes of a subtask's changes (the changelog since the last materialization, which Flink
 * truncates) in the key groups read, 32 bytes more per change (`./logged-changes.ts`), the streams a
 * `ChangelogStreamCache` keeps, and the decoded changes and entries of one key group at a time. A
 * caller bounds the first with `ChangelogLogFilter.maxBytes` and {@link keyGroupParts}. Entries
 * are identified by their decoded key, namespace and user key (as the heap backend compares them by
 * `equals`).
 */

import { InvalidArgumentError, UnsupportedVersionError } from "../../errors.js";
import { DataInput } from "../io/data-input.js";
import type { KeyedStateHandle, KeyGroupRange } from "../metadata/model.js";
import { changelogChanges, operationOf, readMetadataChange } from "./changelog.js";
import type { ChangelogStreams } from "./changelog-streams.js";
import { META_KEYS, metaSerializer, type StateMetaInfo } from "./headers.js";
import { type KeyedStateEntry, type KeyedStateInfo, keyedStatesOf } from "./keyed.js";
import { type LoggedChanges, LoggedChangesBuilder, type LoggedDataChange } from "./logged-changes.js";
import { serializerOf } from "./serializers/snapshots.js";
import {
  type SerializerSnapshot,
  type StateValue,
  type TypeSerializer,
  UnsupportedSerializerError,
} from "./serializers/types.js";
import type { StateFileResolver } from "./stream.js";

export type { LoggedDataChange } from "./logged-changes.js";

/** `StateMetaInfoSnapshot.BackendStateType` codes a keyed changelog registers. */
const KEY_VALUE = 0;
const PRIORITY_QUEUE = 3;

/** A state a METADATA change registers, with the short id its data changes name it by. */
export interface ChangelogStateRegistration {
  /** The state's short id in this subtask's changelog. */
  stateId: number;
  /** Decoders of the state (`id` is `stateId`). */
  info: KeyedStateInfo;
}

/** The changes of one subtask's changelog, undecoded, with the states they apply to. */
export interface ChangelogLog {
  /** Every state METADATA changes register, the last registration of each short id. */
  states: ChangelogStateRegistration[];
  /**
   * The data changes (every operation but METADATA) that {@link ChangelogLogFilter} keeps, in log order;
   * none when they are more than its `maxBytes` (then `complete` is false).
   */
  changes: LoggedChanges;
  /** False when the changes kept would have been more than `maxBytes`, and `changes` is empty. */
  complete: boolean;
  /** The states the data changes the filter keeps apply to (counted even when not `complete`), each once. */
  changed: KeyedStateInfo[];
  /** Per key group, the bytes of its data changes the filter keeps (counted even when not `complete`). */
  keyGroupBytes: Map<number, number>;
}

/** Which data changes {@link readChangelogLog} keeps (all by default); METADATA changes are all read. */
export interface ChangelogLogFilter {
  /** Only changes of key groups in this inclusive range. */
  keyGroups?: KeyGroupRange;
  /** Only changes of these states (by name). */
  states?: ReadonlySet<string>;
  /**
   * The most bytes of changes to keep: past it, none are kept and the log is not `complete` (its
   * `keyGroupBytes` tell the caller how to read it in parts). Default: no limit.
   */
  maxBytes?: number;
}

/** A label for errors: the changelog file and that offsets count in its stream. */
function streamLabel(uri: string): string {
  return `${uri} (changelog stream)`;
}

/**
 * Reads the changes of a subtask's non-materialized changelog handles and resolves the state each
 * data change names, as `ChangelogBackendLogApplier` does (a short id maps to the state of the latest
 * METADATA change that registered it).
 *
 * @param cache as `changelogChanges` (one per snapshot).
 * @param filter the data changes to keep: their bytes are copied (`LoggedChanges`), the others skipped.
 * @throws CorruptSnapshotError for a data change (of the key groups read) naming a state id no METADATA change registered, a
 *   METADATA change too short for its id and type or of an unknown backend state type; the errors of
 *   `changelogChanges` and `readMetadataChange`.
 */
export async function readChangelogLog(
  handles: readonly KeyedStateHandle[],
  resolver: StateFileResolver,
  cache: ChangelogStreams,
  filter: ChangelogLogFilter = {},
): Promise<ChangelogLog> {
  const byId = new Map<number, ChangelogStateRegistration>();
  let changes: LoggedChangesBuilder | null = new LoggedChangesBuilder();
  const keyGroupBytes = new Map<number, number>();
  const changed = new Set<KeyedStateInfo>();
  let bytes = 0;
  const maxBytes = filter.maxBytes ?? Number.POSITIVE_INFINITY;
  for await (const logged of loggedDataChanges(handles, resolver, cache, filter, byId)) {
    const kg = logged.change.keyGroup;
    const n = logged.change.bytes.byteLength;
    keyGroupBytes.set(kg, (keyGroupBytes.get(kg) ?? 0) + n);
    changed.add(logged.state);
    bytes += n;
    if (bytes > maxBytes) changes = null; // from here on only counted
    changes?.add(logged);
  }
  return {
    states: [...byId.values()],
    changes: (changes ?? new LoggedChangesBuilder()).build(),
    complete: changes !== null,
    changed: [...changed],
    keyGroupBytes,
  };
}

/**
 * The data changes of a subtask's changelog handles that `filter` keeps (its `maxBytes` aside), in log
 * order, each with the state it applies to (a short id maps to the state of the latest METADATA change
 * that registered it, as `ChangelogBackendLogApplier` resolves it). The registrations go into `byId` as
 * they are read. The changes' bytes view the changelog files' streams: copy what is kept.
 *
 * @throws as {@link readChangelogLog}.
 */
export async function* loggedDataChanges(
  handles: readonly KeyedStateHandle[],
  resolver: StateFileResolver,
  cache: ChangelogStreams,
  filter: ChangelogLogFilter,
  byId: Map<number, ChangelogStateRegistration>,
): AsyncGenerator<LoggedDataChange> {
  const { keyGroups: only, states: names } = filter;
  // (data changes of key groups not read are skipped unread)
  for await (const logged of changelogChanges(handles, resolver, cache, only)) {
    const { change, uri } = logged;
    const op = operationOf(change, uri);
    const kg = change.keyGroup;
    // (a data change of the metadata key group, which the reader passes on)
    if (op !== "METADATA" && only && (kg < only.start || kg > only.end)) continue;
    const input = new DataInput(change.bytes, streamLabel(uri), change.offset);
    if (op === "METADATA") {
      const meta = readMetadataChange(change, uri);
      const n = change.bytes.byteLength;
      if (n < 4) throw input.corrupt(`METADATA change of ${n} bytes`, 0);
      input.seek(n - 3);
      const stateId = input.readShort();
      const type = input.readUnsignedByte();
      if (type !== KEY_VALUE && type !== PRIORITY_QUEUE) {
        throw input.corrupt(
          `state ${meta.name}: backend state type ${type}, not KEY_VALUE or PRIORITY_QUEUE`,
          n - 1,
        );
      }
      const [info] = keyedStatesOf([meta]);
      if (!info) throw input.corrupt(`state ${meta.name} has no decoders`, 0);
      info.id = stateId;
      byId.set(stateId, { stateId, info });
      continue;
    }
    input.seek(1);
    const id = input.readShort();
    const reg = byId.get(id);
    if (!reg)
      throw input.corrupt(`${op} change of state id ${id}, which no METADATA change registered before`, 1);
    if (names && !names.has(reg.info.name)) continue;
    yield { change, uri, state: reg.info }; // (a literal, not a spread: one per change)
  }
}

/**
 * Splits `range` into consecutive ranges whose changes take at most `maxBytes` each (a key group over
 * it alone in a range of its own), by a log's `keyGroupBytes`: the parts in which to read a log too
 * large to hold at once ({@link ChangelogLogFilter.maxBytes}). Key groups without changes join a
 * neighbour.
 *
 * @returns the parts, ascending, covering `range` exactly; one (`range`) when all fits.
 */
export function keyGroupParts(
  keyGroupBytes: ReadonlyMap<number, number>,
  range: KeyGroupRange,
  maxBytes: number,
): KeyGroupRange[] {
  const parts: KeyGroupRange[] = [];
  let start = range.start;
  let bytes = 0;
  for (let kg = range.start; kg <= range.end; kg++) {
    const n = keyGroupBytes.get(kg) ?? 0;
    if (kg > start && bytes + n > maxBytes) {
      parts.push({ start, end: kg - 1 });
      start = kg;
      bytes = 0;
    }
    bytes += n;
  }
  parts.push({ start, end: range.end });
  return parts;
}

/**
 * The key serializer snapshot a timer state's `TimerSerializer` snapshot holds (its first nested
 * snapshot), of the first priority-queue state among `states`, or null.
 */
export function timerKeySnapshot(states: readonly StateMetaInfo[]): SerializerSnapshot | null {
  for (const m of states) {
    if (m.backendStateType !== "PRIORITY_QUEUE") continue;
    const key = metaSerializer(m, META_KEYS.VALUE_SERIALIZER)?.composite?.nested[0];
    if (key) return key;
  }
  return null;
}

/**
 * The key serializer a changelog records, if any: a timer state's `TimerSerializer` holds it (its first
 * nested serializer). The key serializer is otherwise only in the materialized part's meta data.
 */
export function timerKeySerializer(log: ChangelogLog): TypeSerializer | null {
  const snap = timerKeySnapshot(log.states.map((s) => s.info.meta));
  return snap ? serializerOf(snap) : null;
}

/** A decoded data change. */
export type DecodedChange =
  | { op: "CLEAR"; state: KeyedStateInfo; key: StateValue; namespace: StateValue }
  /** value, reducing, aggregating: the new value; list: the new list. */
  | { op: "SET"; state: KeyedStateInfo; key: StateValue; namespace: StateValue; value: StateValue }
  /** list: elements to append. */
  | { op: "APPEND"; state: KeyedStateInfo; key: StateValue; namespace: StateValue; values: StateValue[] }
  /** map: entries to put (a null value is a null value, as `putAll` stores it). */
  | {
      op: "PUT";
      state: KeyedStateInfo;
      key: StateValue;
      namespace: StateValue;
      entries: { userKey: StateValue; value: StateValue }[];
    }
  | { op: "REMOVE"; state: KeyedStateInfo; key: StateValue; namespace: StateValue; userKey: StateValue }
  | {
      op: "MERGE_NS";
      state: KeyedStateInfo;
      key: StateValue;
      target: StateValue;
      sources: StateValue[];
    }
  | { op: "ADD_TIMERS"; state: KeyedStateInfo; timers: StateValue[] }
  | { op: "REMOVE_TIMER"; state: KeyedStateInfo; timer: StateValue };

/** Which changes {@link selectChanges} keeps. */
export interface ChangelogDecodeOptions {
  /** The backend's key serializer (from the materialized part, or {@link timerKeySerializer}). */
  keySerializer: TypeSerializer | null;
  /** The subtask's key groups: changes of other key groups are skipped, as Flink skips them. */
  keyGroupRange: KeyGroupRange;
  /** Only key groups in this inclusive range. */
  keyGroups?: KeyGroupRange;
  /** Only these states (by name). */
  states?: ReadonlySet<string>;
}

/** A subtask's data changes by key group, undecoded, and the key serializer to decode them with. */
export interface ChangelogChanges {
  keySerializer: TypeSerializer | null;
  /** The log's changes. */
  changes: LoggedChanges;
  /** Per key group, the indexes in `changes` of its changes, in log order. */
  byKeyGroup: Map<number, Uint32Array>;
}

/**
 * Selects the data changes of a changelog to replay and groups them by key group (log order within
 * each). Nothing is decoded yet: {@link replayChangelog} decodes one key group's changes at a time, so
 * that memory holds the changes' bytes (`ChangelogLog.changes`), 4 bytes per change selected, and one
 * key group decoded.
 */
export function selectChanges(log: ChangelogLog, options: ChangelogDecodeOptions): ChangelogChanges {
  const { keyGroupRange: range, keyGroups: only } = options;
  const changes = log.changes;
  const selected = (i: number): boolean => {
    const kg = changes.keyGroup(i);
    if (kg < range.start || kg > range.end) return false;
    if (only && (kg < only.start || kg > only.end)) return false;
    return !options.states || options.states.has(changes.state(i).name);
  };
  // counted first, then filled: an index array per key group, no object per change
  const counts = new Map<number, number>();
  for (let i = 0; i < changes.count; i++) {
    if (selected(i)) counts.set(changes.keyGroup(i), (counts.get(changes.keyGroup(i)) ?? 0) + 1);
  }
  const byKeyGroup = new Map<number, Uint32Array>();
  const filled = new Map<number, number>();
  for (const [kg, n] of counts) {
    byKeyGroup.set(kg, new Uint32Array(n));
    filled.set(kg, 0);
  }
  for (let i = 0; i < changes.count; i++) {
    if (!selected(i)) continue;
    const kg = changes.keyGroup(i);
    const at = filled.get(kg) as number;
    (byKeyGroup.get(kg) as Uint32Array)[at] = i;
    filled.set(kg, at + 1);
  }
  return { keySerializer: options.keySerializer, changes, byKeyGroup };
}

/**
 * Decodes data changes (as `KvStateChangeApplier` and the appliers of each state kind read them).
 *
 * @throws CorruptSnapshotError (file, offset in its stream) for a change whose bytes do not decode to
 *   exactly their length, or an operation the state's kind does not log; UnsupportedSerializerError for
 *   states whose serializers are not supported, a key or user key of a serializer that does not delimit
 *   its bytes (Kryo), and key/value changes when `keySerializer` is null.
 */
export function decodeChanges(
  changes: readonly LoggedDataChange[],
  keySerializer: TypeSerializer | null,
): DecodedChange[] {
  return changes.map((c) => decodeChange(c, keySerializer));
}

function unsupported(
  state: KeyedStateInfo,
  message: string,
  at: number,
  uri: string,
): UnsupportedSerializerError {
  return new UnsupportedSerializerError(`state ${state.name}: ${message}`, {
    uri: streamLabel(uri),
    offset: at,
    className: state.meta.serializers.map((x) => x.snapshot.className).join(", "),
  });
}

function decodeChange(logged: LoggedDataChange, keySer: TypeSerializer | null): DecodedChange {
  const { change, uri, state } = logged;
  const op = operationOf(change, uri);
  const input = new DataInput(change.bytes, streamLabel(uri), change.offset);
  if (state.unsupported) throw unsupported(state, state.unsupported, change.offset, uri);
  const bad = () => input.corrupt(`${op} is not an operation of ${state.kind} state ${state.name}`, 0);
  /** A value followed by more bytes: its serializer must delimit itself. */
  const inner = (ser: TypeSerializer, what: string): StateValue => {
    if (ser.opaque)
      throw unsupported(
        state,
        `the ${what}'s serializer (${ser.type}) does not delimit its bytes`,
        input.fileOffset,
        uri,
      );
    return input.within(what, () => ser.read(input));
  };
  /** The last value of the change: may take the rest of it. */
  const last = (ser: TypeSerializer, what: string): StateValue => input.within(what, () => ser.read(input));
  const decoded = input.within(
    `${op} change of state ${state.name} in key group ${change.keyGroup}`,
    (): DecodedChange => {
      input.seek(3);
      if (state.kind === "timers") {
        const timer = state.value as TypeSerializer;
        if (op === "ADD_ELEMENT") {
          const n = input.readCount("timers", 8);
          const timers: StateValue[] = [];
          for (let i = 0; i < n; i++) timers.push(i === n - 1 ? last(timer, "timer") : inner(timer, "timer"));
          return { op: "ADD_TIMERS", state, timers };
        }
        if (op === "REMOVE_ELEMENT") return { op: "REMOVE_TIMER", state, timer: last(timer, "timer") };
        throw bad();
      }
      if (!keySer) {
        throw unsupported(
          state,
          "the key's serializer is not recorded (the changelog was never materialized and registers no timers)",
          change.offset,
          uri,
        );
      }
      const ns = state.namespace as TypeSerializer;
      const key = inner(keySer, "key");
      const scope = { state, key };
      if (op === "CLEAR") return { op, ...scope, namespace: last(ns, "namespace") };
      if (op === "MERGE_NS") {
        if (state.kind !== "list" && state.kind !== "reducing" && state.kind !== "aggregating") throw bad();
        inner(ns, "namespace"); // the target again, as the scope of the change
        const target = inner(ns, "target namespace");
        const n = input.readCount("source namespaces", 1);
        const sources: StateValue[] = [];
        for (let i = 0; i < n; i++)
          sources.push(i === n - 1 ? last(ns, "source namespace") : inner(ns, "source namespace"));
        return { op, ...scope, target, sources };
      }
      const namespace = inner(ns, "namespace");
      const at = { ...scope, namespace };
      const value = state.value as TypeSerializer;
      switch (state.kind) {
        case "value":
          if (op === "SET") return { op, ...at, value: last(value, "value") };
          throw bad();
        case "reducing":
        case "aggregating":
          if (op === "SET" || op === "SET_INTERNAL") return { op: "SET", ...at, value: last(value, "value") };
          throw bad();
        case "list":
          if (op === "SET" || op === "SET_INTERNAL") return { op: "SET", ...at, value: last(value, "list") };
          if (op === "ADD") return { op: "APPEND", ...at, values: last(value, "list") as StateValue[] };
          if (op === "ADD_ELEMENT")
            return { op: "APPEND", ...at, values: [last(state.element as TypeSerializer, "element")] };
          throw bad();
        case "map": {
          if (op === "ADD") {
            const entries = (last(value, "map") as { key: StateValue; value: StateValue }[]).map((e) => ({
              userKey: e.key,
              value: e.value,
            }));
            return { op: "PUT", ...at, entries };
          }
          if (op === "ADD_ELEMENT" || op === "ADD_OR_UPDATE_ELEMENT") {
            const userKey = inner(state.userKey as TypeSerializer, "user key");
            return {
              op: "PUT",
              ...at,
              entries: [{ userKey, value: last(state.userValue as TypeSerializer, "user value") }],
            };
          }
          if (op === "REMOVE_ELEMENT")
            return { op: "REMOVE", ...at, userKey: last(state.userKey as TypeSerializer, "user key") };
          throw bad();
        }
        default:
          throw bad();
      }
    },
  );
  if (!input.atEnd) {
    throw input.corrupt(`${op} change of state ${state.name}: ${input.remaining} bytes after its data`);
  }
  return decoded;
}

/** Entries of one key group being replayed, by identity (state, key, namespace; or state and timer). */
interface Group {
  state: string;
  stateId: number;
  kind: KeyedStateInfo["kind"];
  key: StateValue;
  namespace: StateValue;
  /** value, reducing, aggregating; timers: the timer. */
  value?: StateValue;
  list?: StateValue[];
  map?: Map<string, { userKey: StateValue; value: StateValue; bytes: number }>;
  /** Bytes of the base entry, while unchanged; 0 once a change touched it. */
  bytes: number;
  /**
   * Reducing/aggregating state whose namespaces merged several values: only the job's function knows
   * the merged value, until a later SET or CLEAR of it (the window operator adds the element that
   * caused the merge right after, logging the whole new value) replaces it.
   */
  unmerged?: string;
}

/**
 * A stable text of a decoded value, for identity (longs as decimal, bytes as base64): JSON, whose
 * replacer (for bigints and bytes) takes V8 off its fast path, so the common keys and namespaces (strings,
 * numbers, longs, null) are written without it, as it would write them.
 */
function idText(v: StateValue): string {
  switch (typeof v) {
    case "string":
    case "number":
    case "boolean":
      return JSON.stringify(v);
    case "bigint":
      return JSON.stringify(`${v}n`);
  }
  if (v === null) return "null";
  return JSON.stringify(v, (_k, x) =>
    typeof x === "bigint"
      ? `${x}n`
      : x instanceof Uint8Array
        ? `b64:${Buffer.from(x).toString("base64")}`
        : x,
  );
}

function groupId(state: string, key: StateValue, namespace: StateValue): string {
  return `${state}\u0000${idText(key)}\u0000${idText(namespace)}`;
}

function timerId(state: string, timer: StateValue): string {
  return `${state}\u0001${idText(timer)}`;
}

/** A replay that needs what a checkpoint does not hold (a user function). */
export class ChangelogReplayError extends UnsupportedVersionError {
  constructor(message: string, options: { uri?: string; offset: number }) {
    super(message, {
      ...(options.uri === undefined ? {} : { uri: options.uri }),
      version: 0,
      offset: options.offset,
    });
  }
}

/**
 * Applies a subtask's decoded changes to its materialized entries, key group by key group, and gives
 * the entries Flink would hold after restoring it, in the shape of the keyed readers (`./keyed.ts`):
 * one entry per key/namespace for value, list, reducing and aggregating states (empty lists left out),
 * one per map entry, one per timer. Entries the changes leave alone keep their order and `bytes`;
 * entries a change made or touched come after them in their key group, with `bytes` 0.
 *
 * @param base the materialized part's entries in batches, key groups ascending (the keyed readers'
 *   order); nothing when the changelog was never materialized.
 * @param changes from {@link selectChanges}; decoded key group by key group.
 * @param kinds the kind of every state the changes touch, by name (`ChangelogLog.states`); base
 *   entries of other states pass through.
 * Merged namespaces of reducing or aggregating state holding several values (session windows) are
 * merged by the job's function, which a checkpoint does not hold; the window operator then adds the
 * element that caused the merge, which logs the whole merged value (SET_INTERNAL), so the replay waits
 * for that. (Flink 1.20.5 and 2.3.0 themselves fail to restore such a changelog: their replay calls a
 * function the operator has not given yet.)
 *
 * @throws (as the batches are pulled) ChangelogReplayError for a merge of several reducing or
 *   aggregating values that no later change sets; InvalidArgumentError when `base` is not in ascending
 *   key-group order; the errors of {@link decodeChanges}.
 */
export async function* replayChangelog(
  base: AsyncIterable<KeyedStateEntry[]>,
  changes: ChangelogChanges,
  kinds: ReadonlyMap<string, KeyedStateInfo["kind"]>,
): AsyncGenerator<KeyedStateEntry[]> {
  const pending = [...changes.byKeyGroup.keys()].sort((a, b) => a - b);
  let next = 0;
  let current = -1;
  let groups = new Map<string, Group>();
  let passThrough = 0;
  const finish = (kg: number): KeyedStateEntry[] => {
    for (const i of changes.byKeyGroup.get(kg) ?? [])
      applyChange(groups, decodeChange(changes.changes.at(i), changes.keySerializer));
    const out = entriesOf(groups, kg);
    groups = new Map();
    return out;
  };
  for await (const batch of base) {
    for (const e of batch) {
      if (e.keyGroup !== current) {
        if (e.keyGroup < current) {
          throw new InvalidArgumentError(
            `materialized entries out of key-group order: ${e.keyGroup} after ${current}`,
          );
        }
        if (current >= 0) yield finish(current);
        while (next < pending.length && (pending[next] as number) < e.keyGroup) {
          const kg = pending[next++] as number;
          yield finish(kg);
        }
        if (pending[next] === e.keyGroup) next++;
        current = e.keyGroup;
      }
      const kind = kinds.get(e.state);
      if (kind === undefined) {
        groups.set(`\u0002${passThrough++}`, {
          state: e.state,
          stateId: e.stateId,
          kind: "unknown",
          key: e.key,
          namespace: e.namespace,
          value: e.value,
          ...(e.userKey === undefined
            ? {}
            : { map: new Map([["", { userKey: e.userKey, value: e.value, bytes: e.bytes }]]) }),
          bytes: e.bytes,
        });
      } else if (kind === "timers") {
        groups.set(timerId(e.state, e.value), { ...baseGroup(e, kind), value: e.value });
      } else {
        const id = groupId(e.state, e.key, e.namespace);
        if (kind === "map") {
          let g = groups.get(id);
          if (!g) {
            g = { ...baseGroup(e, kind), map: new Map() };
            groups.set(id, g);
          }
          g.map?.set(idText(e.userKey ?? null), {
            userKey: e.userKey ?? null,
            value: e.value,
            bytes: e.bytes,
          });
        } else if (kind === "list") {
          groups.set(id, { ...baseGroup(e, kind), list: e.value as StateValue[] });
        } else {
          groups.set(id, { ...baseGroup(e, kind), value: e.value });
        }
      }
    }
  }
  if (current >= 0) yield finish(current);
  while (next < pending.length) yield finish(pending[next++] as number);
}

function baseGroup(e: KeyedStateEntry, kind: KeyedStateInfo["kind"]): Group {
  return { state: e.state, stateId: e.stateId, kind, key: e.key, namespace: e.namespace, bytes: e.bytes };
}

function applyChange(groups: Map<string, Group>, c: DecodedChange): void {
  const s = c.state;
  const fresh = (key: StateValue, namespace: StateValue): Group => ({
    state: s.name,
    stateId: s.id,
    kind: s.kind,
    key,
    namespace,
    bytes: 0,
  });
  /** Sets a group anew (after the entries left alone, as a new entry). */
  const put = (id: string, g: Group) => {
    groups.delete(id);
    groups.set(id, g);
  };
  switch (c.op) {
    case "CLEAR":
      groups.delete(groupId(s.name, c.key, c.namespace));
      return;
    case "SET": {
      const g = fresh(c.key, c.namespace);
      if (s.kind === "list") g.list = c.value as StateValue[];
      else g.value = c.value;
      put(groupId(s.name, c.key, c.namespace), g);
      return;
    }
    case "APPEND": {
      const id = groupId(s.name, c.key, c.namespace);
      const g = fresh(c.key, c.namespace);
      g.list = [...(groups.get(id)?.list ?? []), ...c.values];
      put(id, g);
      return;
    }
    case "PUT":
    case "REMOVE": {
      const id = groupId(s.name, c.key, c.namespace);
      const g = fresh(c.key, c.namespace);
      g.map = new Map(groups.get(id)?.map ?? []);
      if (c.op === "PUT") {
        for (const e of c.entries) {
          g.map.delete(idText(e.userKey));
          g.map.set(idText(e.userKey), { userKey: e.userKey, value: e.value, bytes: 0 });
        }
      } else {
        g.map.delete(idText(c.userKey));
      }
      if (g.map.size === 0) groups.delete(id);
      else put(id, g);
      return;
    }
    case "MERGE_NS": {
      // AbstractHeapMergingState / RocksDB states: each source's value is taken out and merged, then
      // merged into the target's
      const targetId = groupId(s.name, c.key, c.target);
      const parts: Group[] = [];
      const target = groups.get(targetId);
      if (target) parts.push(target);
      for (const ns of c.sources) {
        const id = groupId(s.name, c.key, ns);
        if (id === targetId) continue;
        const g = groups.get(id);
        if (g) parts.push(g);
        groups.delete(id);
      }
      if (parts.length === 0) return;
      const g = fresh(c.key, c.target);
      if (s.kind === "list") {
        g.list = parts.flatMap((p) => p.list ?? []);
      } else if (parts.length === 1) {
        const only = parts[0] as Group;
        g.value = only.value;
        if (only.unmerged) g.unmerged = only.unmerged;
      } else {
        g.unmerged = `state ${s.name}: the namespaces of ${parts.length} values of ${s.kind} state merged, and no later change sets the result: only the job's function can merge them; take a savepoint`;
      }
      put(targetId, g);
      return;
    }
    case "ADD_TIMERS":
      for (const t of c.timers) {
        const id = timerId(s.name, t);
        if (groups.has(id)) continue; // a set: adding a timer again changes nothing
        const tt = t as { key: StateValue; namespace: StateValue };
        groups.set(id, { ...fresh(tt.key, tt.namespace), value: t });
      }
      return;
    case "REMOVE_TIMER":
      groups.delete(timerId(s.name, c.timer));
      return;
  }
}

function entriesOf(groups: Map<string, Group>, keyGroup: number): KeyedStateEntry[] {
  const out: KeyedStateEntry[] = [];
  for (const g of groups.values()) {
    if (g.unmerged) throw new ChangelogReplayError(g.unmerged, { offset: 0 });
    // (object literals, not a spread of the common fields: this runs once per entry)
    const { stateId, state, key, namespace } = g;
    if (g.map) {
      for (const e of g.map.values()) {
        out.push({
          keyGroup,
          stateId,
          state,
          key,
          namespace,
          userKey: e.userKey,
          value: e.value,
          bytes: e.bytes,
        });
      }
    } else if (g.list) {
      if (g.list.length > 0)
        out.push({ keyGroup, stateId, state, key, namespace, value: g.list, bytes: g.bytes });
    } else {
      out.push({ keyGroup, stateId, state, key, namespace, value: g.value ?? null, bytes: g.bytes });
    }
  }
  return out;
}
