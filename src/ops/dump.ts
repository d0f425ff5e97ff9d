/**
 * `dump`: the entries of an operator's state as records, streamed with constant memory, and their
 * NDJSON / JSON / CSV text.
 *
 * Keyed state comes from canonical savepoints (`KeyGroupsSavepointStateHandle`, every backend),
 * heap-native key-group files (`KeyGroupsStateHandle` of the hashmap backend) and RocksDB native state
 * (`IncrementalRemoteKeyedStateHandle` of native RocksDB savepoints and RocksDB checkpoints, full or
 * incremental: each subtask's SST files read through its MANIFEST, clipped to its key groups, see
 * `../formats/state/rocksdb-keyed.ts`); operator state from `OperatorStreamStateHandle` files (and
 * `FileMergingOperatorStreamStateHandle` segments).
 * The changelog state backend (`ChangelogStateBackendHandle`): its materialized part with the changes
 * logged since replayed onto it (`./keyed-entries.ts`), what Flink restores; the State Processor API
 * refuses these.
 */

import { InvalidArgumentError } from "../errors.js";
import type { KeyGroupRange } from "../formats/metadata/model.js";
import { ChangelogStreamCache } from "../formats/state/changelog-streams.js";
import type { KeyedStateEntry } from "../formats/state/keyed.js";
import { readOperatorEntries, readOperatorHeader } from "../formats/state/operator.js";
import { basicSerializer } from "../formats/state/serializers/basic-types.js";
import type { StateValue } from "../formats/state/serializers/types.js";
import { snapshotFileResolver } from "../formats/state/stream.js";
import type { StoreRegistry } from "../storage/registry.js";
import { keyedEntries, subtasksOf } from "./keyed-entries.js";
import { loadSnapshot } from "./locate.js";
import type { ProtobufValueDecoder } from "./protobuf.js";
import { findOperator } from "./state.js";

/**
 * One dumped record.
 *
 * Keyed state: `keyGroup`, `key`, `namespace` (null for VoidNamespace, `{start, end}` for time
 * windows), `userKey` (map states, else null), `value` (lists as arrays; TTL values as
 * `{value, lastAccessTimestamp}`; timers as `{timestamp, key, namespace}`).
 * Operator state: `keyGroup`, `namespace` and `userKey` null; `key` the broadcast key (else null);
 * `value` the element or broadcast value; `mode` and `index` set.
 */
export interface DumpRecord {
  state: string;
  subtask: number;
  keyGroup: number | null;
  key: StateValue;
  namespace: StateValue;
  userKey: StateValue;
  value: StateValue;
  /** Operator states: `SPLIT_DISTRIBUTE`, `UNION` or `BROADCAST`. */
  mode?: string;
  /** Operator states: element or entry index within the subtask. */
  index?: number;
}

/** Options of {@link dumpState}. */
export interface DumpOptions {
  stores: StoreRegistry;
  /** The operator: a uid or a 32-hex OperatorID. */
  operator: string;
  /** Only this state (keyed or operator state name). */
  state?: string;
  /** Only key groups in this inclusive range (keyed state; operator state is not key-grouped and is skipped). */
  keyGroups?: KeyGroupRange;
  /** Verify Snappy chunk checksums and RocksDB block checksums (default true). */
  verifyChecksums?: boolean;
  /**
   * Decode protobuf messages in the values (`byte[]` and chill-protobuf Kryo values) with this
   * decoder (`loadProtobufDecoder`); without it they stay bytes and `{class, base64}`.
   */
  protobuf?: ProtobufValueDecoder;
  /**
   * The key type (`basicSerializer` names: String, Long, Integer...) of keyed state whose snapshot does
   * not record it: the changelog state backend before its first materialization. A recorded key
   * serializer is always used.
   */
  keyType?: string;
}

/**
 * Parses a key-group range: `7` or `3-9` (inclusive).
 * @throws InvalidArgumentError for anything else.
 */
export function parseKeyGroupRange(s: string): KeyGroupRange {
  const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(s);
  if (!m) throw new InvalidArgumentError(`key-group range ${JSON.stringify(s)}: expected N or A-B`);
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  if (end < start || end > 32767) throw new InvalidArgumentError(`key-group range ${s}: bad bounds`);
  return { start, end };
}

/**
 * The records of one operator's state, subtask by subtask (keyed entries by key group, then
 * operator state), as an async iterator with constant memory.
 *
 * @throws InvalidArgumentError (no such operator or state, an unknown `keyType`),
 *   UnsupportedStateLayoutError (a changelog never materialized whose key type is neither recorded nor
 *   given), ChangelogReplayError (merged namespaces of reducing/aggregating state), CorruptSnapshotError (damaged state files, SST files, MANIFEST), UnsupportedVersionError
 *   and the stores' errors, as the records are pulled.
 */
export async function* dumpState(input: string, options: DumpOptions): AsyncGenerator<DumpRecord> {
  const loaded = await loadSnapshot(input, options.stores);
  const op = findOperator(loaded.metadata, options.operator);
  const resolver = snapshotFileResolver(loaded.directory, (u) => options.stores.storeFor(u));
  const verify = options.verifyChecksums === undefined ? {} : { verifyChecksums: options.verifyChecksums };
  const proto = options.protobuf;
  const value = (v: StateValue, where: string): StateValue => {
    if (!proto) return v;
    try {
      return proto.decode(v);
    } catch (e) {
      if (e instanceof InvalidArgumentError) throw new InvalidArgumentError(`${where}: ${e.message}`);
      throw e;
    }
  };
  let found = options.state === undefined;
  const keySerializer = options.keyType === undefined ? undefined : basicSerializer(options.keyType);
  const ctx = { resolver, changelogCache: new ChangelogStreamCache(), metadataUri: loaded.metadataUri };
  for (const sub of subtasksOf(op)) {
    const kh = sub.managedKeyedState;
    if (kh) {
      const entries = keyedEntries(op, sub.subtaskIndex, kh, ctx, {
        ...(options.state === undefined ? {} : { state: options.state }),
        ...(options.keyGroups ? { keyGroups: options.keyGroups } : {}),
        ...verify,
        ...(keySerializer ? { keySerializer } : {}),
      });
      for await (const batch of entries.batches) {
        for (const e of batch) yield keyedRecord(e, sub.subtaskIndex, value);
      }
      if (entries.found()) found = true;
    }
    const oh = sub.managedOperatorState;
    // (OperatorStreamStateHandle, or FileMergingOperatorStreamStateHandle: a segment of a physical file)
    if (oh && oh.states.length > 0) {
      if (options.state !== undefined && !oh.states.some((s) => s.name === options.state)) continue;
      if (options.state !== undefined) found = true;
      if (options.keyGroups) continue;
      const file = await resolver.open(oh.delegate);
      const { header, dataStart } = await readOperatorHeader(file);
      for await (const e of readOperatorEntries(file, oh, header, dataStart, {
        ...(options.state !== undefined ? { states: new Set([options.state]) } : {}),
        ...verify,
      })) {
        yield {
          state: e.state,
          subtask: sub.subtaskIndex,
          keyGroup: null,
          key: e.key === undefined ? null : e.key,
          namespace: null,
          userKey: null,
          value: value(e.value, `state ${e.state}, subtask ${sub.subtaskIndex}, element ${e.index}`),
          mode: e.mode,
          index: e.index,
        };
      }
    }
  }
  if (!found) {
    throw new InvalidArgumentError(
      `operator ${op.uid ?? op.operatorId} has no state named ${JSON.stringify(options.state)}`,
    );
  }
}

/** A keyed entry as a dump record; `value` decodes the value further (`--proto`) or returns it. */
function keyedRecord(
  e: KeyedStateEntry,
  subtask: number,
  value: (v: StateValue, where: string) => StateValue,
): DumpRecord {
  return {
    state: e.state,
    subtask,
    keyGroup: e.keyGroup,
    key: e.key,
    namespace: e.namespace,
    userKey: e.userKey === undefined ? null : e.userKey,
    value: value(e.value, `state ${e.state}, subtask ${subtask}, key group ${e.keyGroup}`),
  };
}

/** Output formats of {@link formatDump}. */
export type DumpFormat = "ndjson" | "json" | "csv";

/** JSON text of a state value: longs as decimal strings, bytes as base64. */
export function stateValueJson(v: unknown): string {
  return JSON.stringify(v, (_k, x) =>
    typeof x === "bigint" ? x.toString() : x instanceof Uint8Array ? Buffer.from(x).toString("base64") : x,
  );
}

const CSV_COLUMNS = [
  "state",
  "subtask",
  "keyGroup",
  "key",
  "namespace",
  "userKey",
  "value",
  "mode",
  "index",
] as const;

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return "";
  const s =
    typeof v === "string"
      ? v
      : typeof v === "bigint" || typeof v === "number"
        ? String(v)
        : stateValueJson(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * The text of dumped records, chunk by chunk (about 64 KiB each), in `ndjson` (one JSON object per
 * line), `json` (one array) or `csv` (a header line, then one row per record; strings and numbers as
 * is, other values as JSON; RFC 4180 quoting).
 */
export async function* formatDump(
  records: AsyncIterable<DumpRecord>,
  format: DumpFormat,
): AsyncGenerator<string> {
  let buf = "";
  let first = true;
  if (format === "json") buf = "[";
  if (format === "csv") buf = `${CSV_COLUMNS.join(",")}\n`;
  for await (const r of records) {
    if (format === "ndjson") buf += `${stateValueJson(r)}\n`;
    else if (format === "json") buf += `${first ? "\n" : ",\n"}${stateValueJson(r)}`;
    else buf += `${CSV_COLUMNS.map((c) => csvCell(r[c])).join(",")}\n`;
    first = false;
    if (buf.length >= 64 * 1024) {
      yield buf;
      buf = "";
    }
  }
  if (format === "json") buf += first ? "]\n" : "\n]\n";
  if (buf) yield buf;
}
