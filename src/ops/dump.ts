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
 * Changelog state backend handles are refused.
 */

import { InvalidArgumentError } from "../errors.js";
import type {
  IncrementalRemoteKeyedStateHandle,
  KeyedStateHandle,
  KeyGroupRange,
  OperatorState,
} from "../formats/metadata/model.js";
import { openFlinkRocksDb } from "../formats/rocksdb/flink.js";
import {
  type KeyedStateEntry,
  keyGroupPrefixBytes,
  readKeyedEntries,
  readKeyedHeader,
} from "../formats/state/keyed.js";
import { readOperatorEntries, readOperatorHeader } from "../formats/state/operator.js";
import { readRocksDbKeyedEntryBatches } from "../formats/state/rocksdb-keyed.js";
import type { StateValue } from "../formats/state/serializers/types.js";
import { type StateFileResolver, snapshotFileResolver } from "../formats/state/stream.js";
import type { StoreRegistry } from "../storage/registry.js";
import { loadSnapshot } from "./locate.js";
import type { ProtobufValueDecoder } from "./protobuf.js";
import { findOperator, keyedHeaderOf, subtasksOf, UnsupportedStateLayoutError } from "./state.js";

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
 * @throws InvalidArgumentError (no such operator or state), UnsupportedStateLayoutError (changelog
 *   keyed state), CorruptSnapshotError (damaged state files, SST files, MANIFEST), UnsupportedVersionError
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
  for (const sub of subtasksOf(op)) {
    const kh = sub.managedKeyedState;
    if (kh?.kind === "IncrementalRemoteKeyedStateHandle") {
      const entries = rocksDbEntries(op, sub.subtaskIndex, kh, resolver, options);
      for await (const e of entries.records) yield keyedRecord(e, sub.subtaskIndex, value);
      if (entries.found()) found = true;
    } else if (kh) {
      if (kh.kind !== "KeyGroupsStateHandle" && kh.kind !== "KeyGroupsSavepointStateHandle") {
        const names = await keyedNamesOf(kh, resolver);
        if (options.state === undefined || names.includes(options.state)) {
          throw new UnsupportedStateLayoutError(
            `operator ${op.uid ?? op.operatorId} subtask ${sub.subtaskIndex}: keyed state in ${kh.kind} (changelog state backend files) cannot be dumped; take a savepoint`,
            { uri: loaded.metadataUri },
          );
        }
      } else {
        const file = await resolver.open(kh.delegate);
        const { header } = await readKeyedHeader(file);
        let stateIds: Set<number> | undefined;
        if (options.state !== undefined) {
          const id = header.states.findIndex((s) => s.name === options.state);
          stateIds = new Set(id >= 0 ? [id] : []);
          if (id >= 0) found = true;
        }
        if (!stateIds || stateIds.size > 0) {
          for await (const e of readKeyedEntries(file, kh, header, {
            keyGroupPrefixBytes: keyGroupPrefixBytes(op.maxParallelism),
            ...(stateIds ? { stateIds } : {}),
            ...(options.keyGroups ? { keyGroups: options.keyGroups } : {}),
            ...verify,
          })) {
            yield keyedRecord(e, sub.subtaskIndex, value);
          }
        }
      }
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

/**
 * The entries of one subtask's RocksDB native state, opened lazily when the records are pulled;
 * `found()` tells (afterwards) whether the wanted state is one of the meta file's.
 */
function rocksDbEntries(
  op: OperatorState,
  subtask: number,
  handle: IncrementalRemoteKeyedStateHandle,
  resolver: StateFileResolver,
  options: DumpOptions,
): { records: AsyncGenerator<KeyedStateEntry>; found: () => boolean } {
  let found = false;
  async function* records(): AsyncGenerator<KeyedStateEntry> {
    const rocks = await openFlinkRocksDb(handle, resolver, {
      label: `${op.uid ?? op.operatorId}[${subtask}]`,
      ...(options.verifyChecksums === undefined
        ? {}
        : { table: { verifyChecksums: options.verifyChecksums } }),
    });
    let stateIds: Set<number> | undefined;
    if (options.state !== undefined) {
      const id = rocks.header.states.findIndex((s) => s.name === options.state);
      if (id < 0) return;
      found = true;
      stateIds = new Set([id]);
    }
    const uri = handle.metaStateHandle ? (await resolver.open(handle.metaStateHandle)).uri : undefined;
    for await (const batch of readRocksDbKeyedEntryBatches(rocks, op.maxParallelism, {
      ...(stateIds ? { stateIds } : {}),
      ...(options.keyGroups ? { keyGroups: options.keyGroups } : {}),
      ...(uri === undefined ? {} : { uri }),
    })) {
      yield* batch;
    }
  }
  return { records: records(), found: () => found };
}

async function keyedNamesOf(kh: KeyedStateHandle, resolver: StateFileResolver): Promise<string[]> {
  const got = await keyedHeaderOf(kh, resolver).catch(() => null);
  return got ? got.header.states.map((s) => s.name) : [];
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
