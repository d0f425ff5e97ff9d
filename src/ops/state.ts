/**
 * `state`: what is inside an operator's state, without the job's classes: every keyed state (name,
 * kind, key/namespace/value types, TTL, timers) and operator state (list, union, broadcast), read
 * from the headers of the state files (for RocksDB native state, the meta file), with entry counts and
 * bytes from a scan of the data (for RocksDB, of the column families, undecoded).
 *
 * Mirrors what Flink's restore learns from `KeyedBackendSerializationProxy` and
 * `OperatorBackendSerializationProxy` (see `src/formats/state/headers.ts`).
 */

import { InvalidArgumentError, UnsupportedVersionError } from "../errors.js";
import type {
  ChangelogStateBackendHandle,
  CheckpointMetadata,
  KeyedStateHandle,
  OperatorState,
  OperatorStateDistributionMode,
  OperatorStateHandle,
} from "../formats/metadata/model.js";
import { isOperatorIdHex, operatorIdFromUid } from "../formats/operator-id.js";
import { openFlinkRocksDb } from "../formats/rocksdb/flink.js";
import { readChangelogStates } from "../formats/state/changelog.js";
import { timerKeySnapshot } from "../formats/state/changelog-replay.js";
import { ChangelogStreamCache } from "../formats/state/changelog-streams.js";
import { META_KEYS, metaSerializer } from "../formats/state/headers.js";
import {
  type KeyedLayout,
  type KeyedStateInfo,
  type KeyedStateKind,
  keyedStates,
  keyedStatesOf,
  keyGroupPrefixBytes,
  readKeyedEntries,
} from "../formats/state/keyed.js";
import { operatorStates, readOperatorEntries, readOperatorHeader } from "../formats/state/operator.js";
import { readRocksDbCanonicalRecords } from "../formats/state/rocksdb-canonical.js";
import { basicSerializer } from "../formats/state/serializers/basic-types.js";
import { typeNameOf } from "../formats/state/serializers/snapshots.js";
import { type SerializerSnapshot, UnsupportedSerializerError } from "../formats/state/serializers/types.js";
import { type StateFileResolver, snapshotFileResolver } from "../formats/state/stream.js";
import type { StoreRegistry } from "../storage/registry.js";
import {
  type KeyedReadContext,
  keyedEntries,
  keyedHeaderOf,
  subtasksOf,
  UnsupportedStateLayoutError,
} from "./keyed-entries.js";
import { loadSnapshot } from "./locate.js";

export { keyedHeaderOf, subtasksOf, UnsupportedStateLayoutError };

/** One serializer of a state, as stored. */
export interface SerializerDescription {
  /** `VALUE_SERIALIZER`, `NAMESPACE_SERIALIZER`, `KEY_SERIALIZER`. */
  role: string;
  /** The snapshot class, e.g. `org.apache.flink.api.common.typeutils.base.LongSerializer$LongSerializerSnapshot`. */
  snapshotClass: string;
  /** Display type, e.g. `Long`, `List<Long>`. */
  type: string;
}

/** A keyed state of an operator. */
export interface KeyedStateDescription {
  name: string;
  /** `value`, `list`, `map`, `reducing`, `aggregating`, `timers` (priority queue) or `unknown`. */
  kind: KeyedStateKind;
  /** `StateMetaInfoSnapshot.BackendStateType`: `KEY_VALUE` or `PRIORITY_QUEUE`. */
  backendStateType: string;
  namespaceType: string | null;
  /** The state serializer's type (for lists `List<E>`, for maps `Map<K, V>`, for timers `Timer<K, N>`). */
  valueType: string | null;
  /** Values carry a TTL wrapper (`TtlSerializerSnapshot`). */
  ttl: boolean;
  serializers: SerializerDescription[];
  /** Entries over all subtasks (map entries count one each; timers one each), or null when not counted. */
  entries: number | null;
  /**
   * Bytes of those entries in the uncompressed data (canonical and RocksDB: key with its key-group
   * prefix plus value; heap: namespace, key and value as serialized), or null when not counted.
   */
  bytes: bigint | null;
  /** Why the state's values cannot be decoded, or null. */
  unsupported: string | null;
}

/** An operator (non-keyed) state. */
export interface OperatorStateDescription {
  name: string;
  mode: OperatorStateDistributionMode;
  /** Broadcast states: the key type. */
  keyType: string | null;
  valueType: string | null;
  serializers: SerializerDescription[];
  /** Elements (list states, summed over subtasks) or entries (broadcast, summed over subtasks). */
  entries: number | null;
  bytes: bigint | null;
  /** Subtasks that hold the state. */
  subtasks: number;
  unsupported: string | null;
}

/** The state of one operator. */
export interface OperatorStateReport {
  operatorId: string;
  uid: string | null;
  name: string | null;
  parallelism: number;
  maxParallelism: number;
  /** Keyed state, or null when the operator has none. */
  keyed: {
    /**
     * The key type, or null where no file of the snapshot records the key serializer (keyed state of
     * the changelog state backend that was never materialized: its changes name no key serializer).
     */
    keyType: string | null;
    /** The key serializer's snapshot class, or null as {@link keyType}. */
    keySerializer: string | null;
    /**
     * Layouts of the keyed files: `canonical`, `heap`, `rocksdb-native`; `changelog` for the changelog
     * state backend (and the layout of its materialized part, where it has one).
     */
    layouts: string[];
    compressed: boolean;
    states: KeyedStateDescription[];
  } | null;
  operatorStates: OperatorStateDescription[];
  notes: string[];
}

/** The whole report. */
export interface StateReport {
  metadataUri: string;
  operators: OperatorStateReport[];
}

/** Options of {@link describeState}. */
export interface StateOptions {
  stores: StoreRegistry;
  /** Only this operator: a uid or a 32-hex OperatorID. */
  operator?: string;
  /** Scan the data for entry counts and bytes (default true). */
  counts?: boolean;
  /** Verify Snappy checksums while scanning (default true). */
  verifyChecksums?: boolean;
  /**
   * The key type (`basicSerializer` names: String, Long, Integer...) of keyed state whose snapshot does
   * not record it (a changelog checkpoint never materialized, without timers): with it, its entries are
   * replayed and counted. The report's key type stays what the snapshot records.
   */
  keyType?: string;
}

/**
 * Finds an operator by uid (stored, or hashed as Flink does) or OperatorID.
 * @throws InvalidArgumentError when no operator matches.
 */
export function findOperator(m: CheckpointMetadata, ref: string): OperatorState {
  const byHex = isOperatorIdHex(ref)
    ? m.operatorStates.find((o) => o.operatorId === ref.toLowerCase())
    : undefined;
  if (byHex) return byHex;
  const byUid =
    m.operatorStates.find((o) => o.uid === ref) ??
    m.operatorStates.find((o) => o.operatorId === operatorIdFromUid(ref));
  if (byUid) return byUid;
  throw new InvalidArgumentError(
    `no operator ${JSON.stringify(ref)} in this snapshot (give a uid or a 32-hex OperatorID; operators: ${m.operatorStates
      .map((o) => o.uid ?? o.operatorId)
      .join(", ")})`,
  );
}

function describeSerializers(
  serializers: { key: string; snapshot: { className: string } }[],
): SerializerDescription[] {
  return serializers.map((s) => ({
    role: s.key,
    snapshotClass: s.snapshot.className,
    type: typeNameOf(s.snapshot as never),
  }));
}

/**
 * Loads the snapshot and describes the state of its operators (or of one).
 *
 * @throws NotASnapshotError, CorruptSnapshotError, UnsupportedVersionError (incl.
 *   UnsupportedSerializerError for an unknown serializer snapshot class), InvalidArgumentError (no
 *   such operator, an unknown `keyType`), and the stores' errors.
 */
export async function describeState(input: string, options: StateOptions): Promise<StateReport> {
  if (options.keyType !== undefined) basicSerializer(options.keyType); // an unknown name fails first
  const loaded = await loadSnapshot(input, options.stores);
  const resolver = snapshotFileResolver(loaded.directory, (u) => options.stores.storeFor(u));
  const ops = options.operator
    ? [findOperator(loaded.metadata, options.operator)]
    : loaded.metadata.operatorStates;
  /** Changelog (DSTL) files read so far: one holds the changes of many subtasks. */
  const changelogCache = new ChangelogStreamCache();
  const operators: OperatorStateReport[] = [];
  for (const op of ops) {
    const r = await describeOperator(op, options, {
      resolver,
      changelogCache,
      metadataUri: loaded.metadataUri,
    });
    // A uid given as --operator that matched by its hash labels an operator whose metadata has none.
    if (r.uid === null && options.operator && operatorIdFromUid(options.operator) === op.operatorId) {
      r.uid = options.operator;
    }
    operators.push(r);
  }
  return { metadataUri: loaded.metadataUri, operators };
}

/** Where {@link describeChangelog} reports. */
interface KeyedSink {
  notes: string[];
  layouts: Set<string>;
  addKeyed(
    keySerializer: SerializerSnapshot | null,
    compressed: boolean,
    infos: KeyedStateInfo[],
    counted: boolean,
  ): void;
  /** The description of a state added, by name. */
  described(name: string): KeyedStateDescription | undefined;
}

/**
 * The keyed state of the changelog state backend in one subtask (`ChangelogStateBackendHandle`): the
 * states of its materialized part (RocksDB or heap keyed handles, read as any other), then those its
 * changelog registers since (METADATA changes, `readChangelogStates`). With `counts`, entries are
 * counted after replaying the changes onto the materialized part (`keyedEntries`); bytes are not (a
 * replayed entry has no stored size). Where the replay cannot run (no key type recorded, merged
 * namespaces of reducing state, an unsupported serializer), the entries stay uncounted, with a note.
 */
async function describeChangelog(
  op: OperatorState,
  kh: ChangelogStateBackendHandle,
  subtask: number,
  ctx: KeyedReadContext,
  options: StateOptions,
  sink: KeyedSink,
): Promise<void> {
  const counts = options.counts !== false;
  const names: string[] = [];
  let materializedKey: SerializerSnapshot | null = null;
  for (const m of kh.materialized) {
    const got = await keyedHeaderOf(m, ctx.resolver);
    if (!got) {
      sink.notes.push(`subtask ${subtask}: materialized keyed handle ${m.kind} is not read`);
      continue;
    }
    sink.layouts.add(got.layout);
    materializedKey ??= got.header.keySerializer;
    const infos = keyedStates(got.header);
    names.push(...infos.map((i) => i.name));
    sink.addKeyed(got.header.keySerializer, got.header.compressed, infos, counts);
  }
  const log = await readChangelogStates(kh.nonMaterialized, ctx.resolver, ctx.changelogCache);
  const logged = keyedStatesOf(log.states);
  names.push(...logged.map((i) => i.name));
  const keySnapshot = materializedKey ?? timerKeySnapshot(log.states);
  sink.addKeyed(keySnapshot, false, logged, counts);
  const changes = `${log.dataChanges} state change${log.dataChanges === 1 ? "" : "s"}`;
  let counted = "entries not counted";
  if (counts) {
    const described = names.map((n) => sink.described(n)).filter((d) => d !== undefined);
    for (const d of described) d.bytes = null;
    try {
      const entries = keyedEntries(op, subtask, kh, ctx, {
        ...(options.verifyChecksums === undefined ? {} : { verifyChecksums: options.verifyChecksums }),
        ...(options.keyType === undefined ? {} : { keySerializer: basicSerializer(options.keyType) }),
      });
      for await (const batch of entries.batches) {
        for (const e of batch) {
          const d = sink.described(e.state);
          if (d && d.entries !== null) d.entries++;
        }
      }
      counted = "replayed to count entries";
    } catch (err) {
      // what the replay needs and the checkpoint does not hold (UnsupportedStateLayoutError,
      // ChangelogReplayError, UnsupportedSerializerError)
      if (!(err instanceof UnsupportedVersionError)) throw err;
      for (const d of described) d.entries = null;
      counted =
        err instanceof UnsupportedStateLayoutError && !keySnapshot
          ? "entries not counted: the key type is not recorded (--key-type names it)"
          : `entries not counted: ${err.message}`;
    }
  }
  sink.notes.push(
    kh.materialized.length > 0
      ? `subtask ${subtask}: changelog state backend, materialization ${kh.materializationId} and ${changes} since (${counted})`
      : `subtask ${subtask}: changelog state backend, not materialized: the states its ${changes} register (a state without changes is not listed; ${counted})`,
  );
}

async function describeOperator(
  op: OperatorState,
  options: StateOptions,
  ctx: KeyedReadContext,
): Promise<OperatorStateReport> {
  const { resolver } = ctx;
  const counts = options.counts !== false;
  const notes: string[] = [];
  const report: OperatorStateReport = {
    operatorId: op.operatorId,
    uid: op.uid,
    name: op.name,
    parallelism: op.parallelism,
    maxParallelism: op.maxParallelism,
    keyed: null,
    operatorStates: [],
    notes,
  };
  const keyedByName = new Map<string, KeyedStateDescription>();
  const opByName = new Map<string, OperatorStateDescription>();
  const layouts = new Set<string>();
  /** Adds the states of one keyed handle (entries counted from zero when `counted`). */
  const addKeyed = (
    keySerializer: SerializerSnapshot | null,
    compressed: boolean,
    infos: KeyedStateInfo[],
    counted: boolean,
  ) => {
    if (!report.keyed) {
      report.keyed = { keyType: null, keySerializer: null, layouts: [], compressed, states: [] };
    }
    if (keySerializer && report.keyed.keySerializer === null) {
      report.keyed.keyType = typeNameOf(keySerializer);
      report.keyed.keySerializer = keySerializer.className;
    }
    report.keyed.compressed ||= compressed;
    for (const info of infos) {
      const known = keyedByName.get(info.name);
      if (known) {
        // a state the changelog registers beside a materialized part: its entries are not all counted
        if (!counted) {
          known.entries = null;
          known.bytes = null;
        }
        continue;
      }
      const nsSnap = metaSerializer(info.meta, META_KEYS.NAMESPACE_SERIALIZER);
      keyedByName.set(info.name, {
        name: info.name,
        kind: info.kind,
        backendStateType: info.meta.backendStateType,
        namespaceType: info.namespace?.type ?? (nsSnap ? typeNameOf(nsSnap) : null),
        valueType: info.value?.type ?? null,
        ttl: info.ttl,
        serializers: describeSerializers(info.meta.serializers),
        entries: counted ? 0 : null,
        bytes: counted ? 0n : null,
        unsupported: info.unsupported,
      });
    }
  };
  for (const sub of subtasksOf(op)) {
    if (sub.rawKeyedState)
      notes.push(`subtask ${sub.subtaskIndex}: raw keyed state (${sub.rawKeyedState.kind}) is not read`);
    if (sub.rawOperatorState) notes.push(`subtask ${sub.subtaskIndex}: raw operator state is not read`);
    const kh = sub.managedKeyedState;
    if (kh?.kind === "ChangelogStateBackendHandle") {
      layouts.add("changelog");
      await describeChangelog(op, kh, sub.subtaskIndex, ctx, options, {
        notes,
        layouts,
        addKeyed,
        described: (name) => keyedByName.get(name),
      });
    } else if (kh) {
      const got = await keyedHeaderOf(kh, resolver);
      if (!got) {
        notes.push(`subtask ${sub.subtaskIndex}: keyed handle ${kh.kind} is not read`);
      } else {
        layouts.add(got.layout);
        const { header } = got;
        addKeyed(header.keySerializer, header.compressed, keyedStates(header), counts);
        if (counts && got.layout === "rocksdb-native" && kh.kind === "IncrementalRemoteKeyedStateHandle") {
          // RocksDB entries are counted undecoded (key and value bytes), so every state counts.
          const rocks = await openFlinkRocksDb(kh, resolver, {
            label: `${op.uid ?? op.operatorId}[${sub.subtaskIndex}]`,
            ...(options.verifyChecksums === undefined
              ? {}
              : { table: { verifyChecksums: options.verifyChecksums } }),
          });
          for await (const batch of readRocksDbCanonicalRecords(rocks, op.maxParallelism)) {
            for (const r of batch) {
              const d = keyedByName.get(header.states[r.stateId]?.name ?? "");
              if (d && d.entries !== null && d.bytes !== null) {
                d.entries++;
                d.bytes += BigInt(r.key.byteLength + r.value.byteLength);
              }
            }
          }
        } else if (
          counts &&
          (kh.kind === "KeyGroupsStateHandle" || kh.kind === "KeyGroupsSavepointStateHandle")
        ) {
          const file = await resolver.open(kh.delegate);
          const supported = new Set(
            keyedStates(header)
              .filter((s) => !s.unsupported)
              .map((s) => s.id),
          );
          try {
            for await (const e of readKeyedEntries(file, kh, header, {
              keyGroupPrefixBytes: keyGroupPrefixBytes(op.maxParallelism),
              layout: got.layout as KeyedLayout,
              stateIds: supported,
              ...(options.verifyChecksums === undefined ? {} : { verifyChecksums: options.verifyChecksums }),
            })) {
              const d = keyedByName.get(e.state);
              if (d && d.entries !== null && d.bytes !== null) {
                d.entries++;
                d.bytes += BigInt(e.bytes);
              }
            }
          } catch (err) {
            // A heap file with a state whose values cannot be decoded cannot be scanned past it.
            if (!(err instanceof UnsupportedSerializerError)) throw err;
            for (const d of keyedByName.values()) {
              d.entries = null;
              d.bytes = null;
            }
            notes.push(`subtask ${sub.subtaskIndex}: entries not counted: ${err.message}`);
          }
        }
      }
    }
    const oh = sub.managedOperatorState;
    if (oh) await describeOperatorHandle(oh, resolver, opByName, counts, options);
  }
  if (report.keyed) {
    report.keyed.layouts = [...layouts].sort();
    report.keyed.states = [...keyedByName.values()];
  }
  report.operatorStates = [...opByName.values()].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  const channel = channelStateOf(op);
  if (channel.handles > 0)
    notes.push(
      `channel state (records in flight at an unaligned checkpoint, replayed by Flink on restore) is not read: ` +
        `${channel.handles} handles of ${channel.subtasks} subtasks, ${channel.bytes} bytes`,
    );
  return report;
}

/** The channel state handles of an operator's subtasks, their subtasks and bytes (their stateSize). */
function channelStateOf(op: OperatorState): { handles: number; subtasks: number; bytes: bigint } {
  let handles = 0;
  let subtasks = 0;
  let bytes = 0n;
  for (const sub of subtasksOf(op)) {
    const hs = [...sub.inputChannelState, ...sub.resultSubpartitionState];
    if (hs.length > 0) subtasks++;
    handles += hs.length;
    for (const h of hs) bytes += h.stateSize;
  }
  return { handles, subtasks, bytes };
}

async function describeOperatorHandle(
  handle: OperatorStateHandle,
  resolver: StateFileResolver,
  byName: Map<string, OperatorStateDescription>,
  counts: boolean,
  options: StateOptions,
): Promise<void> {
  // (a FileMergingOperatorStreamStateHandle's delegate is a segment of a physical file, which the
  // resolver opens as a file of its own; its empty variant has no states)
  if (handle.states.length === 0) return;
  const file = await resolver.open(handle.delegate);
  const { header, dataStart } = await readOperatorHeader(file);
  const infos = operatorStates(header);
  for (const s of handle.states) {
    const info = infos.get(s.name);
    let d = byName.get(s.name);
    if (!d) {
      d = {
        name: s.name,
        mode: s.mode,
        keyType: info?.key?.type ?? null,
        valueType: info?.value?.type ?? null,
        serializers: info ? describeSerializers(info.meta.serializers) : [],
        entries: counts ? 0 : null,
        bytes: counts ? 0n : null,
        subtasks: 0,
        unsupported: info ? info.unsupported : "not in the file's header",
      };
      byName.set(s.name, d);
    }
    d.subtasks++;
  }
  if (!counts) return;
  const supported = new Set([...infos.values()].filter((i) => !i.unsupported).map((i) => i.name));
  for await (const e of readOperatorEntries(file, handle, header, dataStart, {
    states: supported,
    ...(options.verifyChecksums === undefined ? {} : { verifyChecksums: options.verifyChecksums }),
  })) {
    const d = byName.get(e.state);
    if (d && d.entries !== null && d.bytes !== null) {
      d.entries++;
      d.bytes += BigInt(e.bytes);
    }
  }
}

/** Re-exported for callers that only need to know whether a keyed handle's data can be read. */
export function readableKeyedHandle(h: KeyedStateHandle): boolean {
  return h.kind === "KeyGroupsStateHandle" || h.kind === "KeyGroupsSavepointStateHandle";
}
