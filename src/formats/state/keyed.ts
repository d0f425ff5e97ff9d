/**
 * Keyed state files: the key-group data after a {@link KeyedBackendHeader}, in both layouts Flink
 * writes, read entry by entry with constant memory.
 *
 * **Canonical** (savepoints of every backend, `KeyGroupsSavepointStateHandle`; written by
 * `FullSnapshotAsyncWriter`, read by `FullSnapshotRestoreOperation`): per non-empty key group, from
 * its offset (empty key groups have offset 0), a fresh Snappy stream when compressed, then
 *
 * ```
 * i16 kvStateId
 * ( i32 keyLength, key, i32 valueLength, value ; when key[0] & 0x80: i16 next kvStateId or 0xFFFF )*
 * ```
 * 0x80 on the first key byte (the high byte of the key-group prefix) marks the last entry of a state
 * run; 0xFFFF (`END_OF_KEY_GROUP_MARK`) ends the key group. Keys and values are RocksDB's:
 * key = key-group prefix (1 byte, 2 when max parallelism > 128) + key + [key length marker] +
 * namespace + [namespace length marker] + [map user key]; the markers are present only when both
 * the key and the namespace serializer have variable length (`CompositeKeySerializationUtils`).
 * Values: the state serializer's bytes; list state elements joined by `,` (`ListDelimitedSerializer`);
 * map state one row per entry with value = null flag + user value; timers (priority queue states) in
 * the key (prefix + `TimerSerializer` bytes) with an empty value.
 *
 * **Heap native** (`KeyGroupsStateHandle` of the hashmap backend's checkpoints and native savepoints;
 * `HeapSnapshotStrategy` / `HeapSavepointRestoreOperation`, `StateTableByKeyGroupReaders`): every key
 * group of the range, from its offset:
 *
 * ```
 * i32 keyGroup (uncompressed)
 * per state (all of them, in the writer's order; each a fresh Snappy stream when compressed):
 *   i16 kvStateId, i32 count, count x (namespace, key, state value)     key/value states
 *   i16 kvStateId, i32 count, count x element (TimerSerializer)         priority queue states
 * ```
 * Lists are whole `ListSerializer` values and maps whole `MapSerializer` values.
 *
 * Entries come out in one shape for both layouts: one entry per key/namespace for value, list,
 * reducing and aggregating states (empty lists are skipped, as the canonical format never holds
 * them), one entry per map entry for map states, one per timer.
 */

import { CorruptSnapshotError, InvalidArgumentError } from "../../errors.js";
import { DataInput } from "../io/data-input.js";
import type { KeyGroupRange, KeyGroupsStateHandle } from "../metadata/model.js";
import {
  type KeyedBackendHeader,
  META_KEYS,
  metaOption,
  metaSerializer,
  readKeyedBackendHeader,
  type StateMetaInfo,
} from "./headers.js";
import { serializerOf } from "./serializers/snapshots.js";
import { type StateValue, type TypeSerializer, UnsupportedSerializerError } from "./serializers/types.js";
import {
  FileCursor,
  FramedPieces,
  NEED_MORE,
  type PieceSource,
  RawPieces,
  type StateFile,
  StreamInput,
} from "./stream.js";

/** Flink's `FullSnapshotUtil.END_OF_KEY_GROUP_MARK`. */
export const END_OF_KEY_GROUP_MARK = 0xffff;
/** Flink's `FullSnapshotUtil.FIRST_BIT_IN_BYTE_MASK`: the "meta data follows" flag in a key's first byte. */
export const META_DATA_FOLLOWS_FLAG = 0x80;

/** The layout of a keyed state file's data. */
export type KeyedLayout = "canonical" | "heap";

/** What a keyed state is, from its meta info. */
export type KeyedStateKind = "value" | "list" | "map" | "reducing" | "aggregating" | "timers" | "unknown";

/** A keyed state with its decoders, ready to read entries. */
export interface KeyedStateInfo {
  /** The kvStateId: the state's index in the header. */
  id: number;
  name: string;
  kind: KeyedStateKind;
  /** The `KEYED_STATE_TYPE` option as stored (`VALUE`, `LIST`...), or null for priority queues. */
  keyedStateType: string | null;
  meta: StateMetaInfo;
  /** Namespace decoder (the timer's namespace for priority queue states). */
  namespace: TypeSerializer | null;
  /** Whole state value decoder (ListSerializer, MapSerializer, TimerSerializer...). */
  value: TypeSerializer | null;
  /** List states: the element decoder. */
  element: TypeSerializer | null;
  /** Map states: user key and user value decoders. */
  userKey: TypeSerializer | null;
  userValue: TypeSerializer | null;
  /** Whether the values carry a TTL wrapper (`TtlSerializerSnapshot` found in the value serializer). */
  ttl: boolean;
  /** Why decoders could not be built (an unsupported serializer), or null. */
  unsupported: string | null;
}

/** One decoded entry of keyed state. */
export interface KeyedStateEntry {
  keyGroup: number;
  /** The state's kvStateId and name. */
  stateId: number;
  state: string;
  key: StateValue;
  /** The namespace (null for VoidNamespace; `{start, end}` for time windows). */
  namespace: StateValue;
  /** Map states: the user key; otherwise undefined. */
  userKey?: StateValue;
  /** The value: the state's value, list, map value; for timers `{timestamp, key, namespace}`. */
  value: StateValue;
  /** Bytes the entry takes in the (uncompressed) data: key + value for canonical, the serialized triple for heap. */
  bytes: number;
}

function kindOf(meta: StateMetaInfo): { kind: KeyedStateKind; type: string | null } {
  if (meta.backendStateType === "PRIORITY_QUEUE") return { kind: "timers", type: null };
  const t = metaOption(meta, META_KEYS.KEYED_STATE_TYPE);
  switch (t) {
    case "VALUE":
      return { kind: "value", type: t };
    case "LIST":
      return { kind: "list", type: t };
    case "MAP":
      return { kind: "map", type: t };
    case "REDUCING":
      return { kind: "reducing", type: t };
    case "AGGREGATING":
      return { kind: "aggregating", type: t };
    default:
      return { kind: "unknown", type: t };
  }
}

const TTL_SNAPSHOT = "org.apache.flink.runtime.state.ttl.TtlStateFactory$TtlSerializerSnapshot";

function hasTtl(s: { className: string; composite?: { nested: { className: string }[] } } | null): boolean {
  if (!s) return false;
  if (s.className === TTL_SNAPSHOT) return true;
  return (s.composite?.nested ?? []).some((n) => hasTtl(n as never));
}

/**
 * Builds the decoders of every state in a keyed header. States whose serializers are unsupported get
 * `unsupported` set instead of failing, so that `state` can still list them.
 */
export function keyedStates(header: KeyedBackendHeader): KeyedStateInfo[] {
  return keyedStatesOf(header.states);
}

/**
 * {@link keyedStates} of states not from a keyed header (e.g. those a changelog registers); a state's
 * `id` is its index in `states`.
 */
export function keyedStatesOf(states: readonly StateMetaInfo[]): KeyedStateInfo[] {
  return states.map((meta, id) => {
    const { kind, type } = kindOf(meta);
    const valueSnap = metaSerializer(meta, META_KEYS.VALUE_SERIALIZER);
    const nsSnap = metaSerializer(meta, META_KEYS.NAMESPACE_SERIALIZER);
    const info: KeyedStateInfo = {
      id,
      name: meta.name,
      kind,
      keyedStateType: type,
      meta,
      namespace: null,
      value: null,
      element: null,
      userKey: null,
      userValue: null,
      ttl: hasTtl(valueSnap as never),
      unsupported: null,
    };
    try {
      if (!valueSnap) throw new InvalidArgumentError(`state ${meta.name} has no VALUE_SERIALIZER`);
      info.value = serializerOf(valueSnap);
      if (kind === "timers") {
        const nested = valueSnap.composite?.nested ?? [];
        info.namespace = nested[1] ? serializerOf(nested[1]) : null;
      } else {
        info.namespace = nsSnap ? serializerOf(nsSnap) : null;
      }
      if (kind === "list") {
        const e = valueSnap.composite?.nested[0];
        if (!e)
          throw new InvalidArgumentError(
            `list state ${meta.name}: value serializer ${valueSnap.className} has no element serializer`,
          );
        info.element = serializerOf(e);
      }
      if (kind === "map") {
        const [k, v] = valueSnap.composite?.nested ?? [];
        if (!k || !v)
          throw new InvalidArgumentError(
            `map state ${meta.name}: value serializer ${valueSnap.className} has no key/value serializers`,
          );
        info.userKey = serializerOf(k);
        info.userValue = serializerOf(v);
      }
    } catch (err) {
      info.unsupported = (err as Error).message;
    }
    return info;
  });
}

/**
 * Reads the header at the start of a keyed state file.
 * @returns the header and the offset where the data starts.
 */
export async function readKeyedHeader(
  file: StateFile,
): Promise<{ header: KeyedBackendHeader; dataStart: number }> {
  const cursor = new FileCursor(file, 0, file.claimedSize, 64 * 1024);
  const input = new StreamInput(new RawPieces(cursor), file.uri, 0);
  const header = await input.read(readKeyedBackendHeader);
  return { header, dataStart: input.position };
}

/** Options of {@link readKeyedEntries}. */
export interface KeyedReadOptions {
  /** Key-group prefix width: 1 when the operator's max parallelism is at most 128, else 2. */
  keyGroupPrefixBytes: 1 | 2;
  /** The layout; default: detected (`KeyGroupsSavepointStateHandle` is canonical). */
  layout?: KeyedLayout;
  /** Only these kvStateIds (default all). Other states are skipped without decoding where the layout allows. */
  stateIds?: ReadonlySet<number>;
  /** Only key groups in this inclusive range (intersected with the handle's). */
  keyGroups?: KeyGroupRange;
  /** Verify Snappy chunk checksums (default true). */
  verifyChecksums?: boolean;
  /** Bytes read per store request (default 1 MiB). */
  blockSize?: number;
}

/** `CompositeKeySerializationUtils.computeRequiredBytesInKeyGroupPrefix`. */
export function keyGroupPrefixBytes(maxParallelism: number): 1 | 2 {
  return maxParallelism > 128 ? 2 : 1;
}

/**
 * Which layout a KeyGroups handle's file has. `KeyGroupsSavepointStateHandle` is always canonical.
 * A plain `KeyGroupsStateHandle` is heap native when every key group has an offset and the int at the
 * first two offsets is the key group itself (the canonical layout starts with a state id and a key
 * length there, or with a Snappy chunk); canonical otherwise (RocksDB full checkpoints before 1.15).
 */
export async function detectKeyedLayout(file: StateFile, handle: KeyGroupsStateHandle): Promise<KeyedLayout> {
  if (handle.kind === "KeyGroupsSavepointStateHandle") return "canonical";
  if (handle.offsets.length === 0 || handle.offsets.some((o) => o === 0n)) return "canonical";
  const probes = handle.offsets.slice(0, 2);
  for (const [k, off] of probes.entries()) {
    const o = Number(off);
    if (o + 4 > file.size) return "canonical";
    const b = await file.read(o, 4);
    const v = new DataView(b.buffer, b.byteOffset, 4).getInt32(0);
    if (v !== handle.keyGroupRange.start + k) return "canonical";
  }
  return "heap";
}

/**
 * The entries of one key-groups file, key group by key group (ascending), as an async iterator with
 * constant memory: bytes are read by ranges through the file's store.
 *
 * @param header the file's header (from {@link readKeyedHeader}).
 * @throws CorruptSnapshotError with file and offset for truncated data, wrong offsets, bad Snappy
 *   chunks or checksums, and bad values; UnsupportedSerializerError for values that cannot be decoded.
 */
export async function* readKeyedEntries(
  file: StateFile,
  handle: KeyGroupsStateHandle,
  header: KeyedBackendHeader,
  options: KeyedReadOptions,
): AsyncGenerator<KeyedStateEntry> {
  for await (const batch of readKeyedEntryBatches(file, handle, header, options)) yield* batch;
}

/** Entries decoded per batch by {@link readKeyedEntryBatches}, at most. */
export const ENTRY_BATCH = 1024;

/**
 * {@link readKeyedEntries} in batches of up to {@link ENTRY_BATCH} entries (all from bytes already
 * read), for callers that want to avoid one await per entry. Same order, same errors.
 */
export async function* readKeyedEntryBatches(
  file: StateFile,
  handle: KeyGroupsStateHandle,
  header: KeyedBackendHeader,
  options: KeyedReadOptions,
): AsyncGenerator<KeyedStateEntry[]> {
  const states = keyedStates(header);
  const layout = options.layout ?? (await detectKeyedLayout(file, handle));
  const range = handle.keyGroupRange;
  const lo = Math.max(range.start, options.keyGroups?.start ?? range.start);
  const hi = Math.min(range.end, options.keyGroups?.end ?? range.end);
  if (handle.offsets.length !== range.end - range.start + 1) {
    throw new CorruptSnapshotError(
      `key-group handle has ${handle.offsets.length} offsets for key groups ${range.start}-${range.end}`,
      { uri: file.uri, offset: 0 },
    );
  }
  const cursor = new FileCursor(file, 0, file.claimedSize, options.blockSize);
  const offsetOf = (kg: number) => Number(handle.offsets[kg - range.start] as bigint);
  // The offset after key group kg's data: the next non-zero offset, or the end of the file.
  const endOf = (kg: number) => {
    for (let k = kg + 1; k <= range.end; k++) {
      const o = offsetOf(k);
      if (o !== 0) return o;
    }
    return file.claimedSize;
  };
  for (let kg = lo; kg <= hi; kg++) {
    const start = offsetOf(kg);
    if (start === 0) {
      if (layout === "heap") {
        throw new CorruptSnapshotError(`heap key-group file has no offset for key group ${kg}`, {
          uri: file.uri,
          offset: 0,
        });
      }
      continue;
    }
    const end = endOf(kg);
    if (start < 0 || start >= file.claimedSize || end < start) {
      throw new CorruptSnapshotError(
        `key group ${kg}: offset ${start} (next ${end}) outside the ${file.claimedSize} bytes of the file`,
        { uri: file.uri, offset: start },
      );
    }
    cursor.seek(start);
    cursor.setLimit(end);
    if (layout === "canonical") {
      yield* canonicalKeyGroup(kg, cursor, header, states, options);
    } else {
      const raw = await cursor.readExact(4, `key group ${kg} header`);
      const written = new DataView(raw.buffer, raw.byteOffset, 4).getInt32(0);
      if (written !== kg) {
        throw new CorruptSnapshotError(
          `key group ${kg} should start at byte ${start} (offset in _metadata), but the int there is ${written}`,
          { uri: file.uri, offset: start },
        );
      }
      yield* heapKeyGroup(kg, cursor, header, states, options);
    }
    if (cursor.position !== end) {
      throw new CorruptSnapshotError(
        `key group ${kg} ends at byte ${cursor.position}, but the next key group (or the file) starts at ${end}`,
        { uri: file.uri, offset: cursor.position },
      );
    }
  }
}

function pieces(cursor: FileCursor, compressed: boolean, verifyChecksums: boolean | undefined): PieceSource {
  return compressed
    ? new FramedPieces(cursor, { verifyChecksums: verifyChecksums !== false })
    : new RawPieces(cursor);
}

/** True when a state's values need bounded slices (an opaque serializer takes "the rest"). */
function needsSlices(state: KeyedStateInfo, keySer: TypeSerializer): boolean {
  return [keySer, state.value, state.element, state.userKey, state.userValue, state.namespace].some(
    (s) => s?.opaque === true,
  );
}

/**
 * Reads one canonical record (key, value, optional meta data) from the buffered stream and, when
 * `state` is given, decodes it in place (or through bounded slices for opaque serializers).
 */
function readCanonicalRecord(
  i: DataInput,
  input: StreamInput,
  kg: number,
  state: KeyedStateInfo | null,
  keySer: TypeSerializer,
  prefixBytes: 1 | 2,
  slices: boolean,
): { entry: KeyedStateEntry | null; next: number } {
  const kAt = i.position;
  const kLen = i.readInt();
  if (kLen < 1) throw i.corrupt(`key length ${kLen}`, kAt);
  const keyStart = i.position;
  i.require(kLen, "key");
  const keyEnd = keyStart + kLen;
  const flagged = ((i.bytes[keyStart] as number) & META_DATA_FOLLOWS_FLAG) !== 0;
  i.seek(keyEnd);
  const vAt = i.position;
  const vLen = i.readInt();
  if (vLen < 0) throw i.corrupt(`negative value length ${vLen}`, vAt);
  const valueStart = i.position;
  i.require(vLen, "value");
  const valueEnd = valueStart + vLen;
  i.seek(valueEnd);
  const next = flagged ? i.readUnsignedShort() : -1;
  if (!state) return { entry: null, next };
  const after = i.position;
  if (state.unsupported) {
    throw new UnsupportedSerializerError(`state ${state.name}: ${state.unsupported}`, {
      uri: input.uri,
      offset: input.locate(i.baseOffset + keyStart).fileOffset,
      className: state.meta.serializers.map((x) => x.snapshot.className).join(", "),
    });
  }
  let entry: KeyedStateEntry;
  if (slices) {
    const key = i.bytes.slice(keyStart, keyEnd);
    key[0] = (key[0] as number) & ~META_DATA_FOLLOWS_FLAG;
    const k = input.slice(key, i.baseOffset + keyStart);
    const v = input.slice(i.bytes.subarray(valueStart, valueEnd), i.baseOffset + valueStart);
    entry = decodeCanonical(k, 0, kLen, v, 0, vLen, kg, state, keySer, prefixBytes);
  } else {
    entry = decodeCanonical(i, keyStart, keyEnd, i, valueStart, valueEnd, kg, state, keySer, prefixBytes);
  }
  i.seek(after);
  return { entry, next };
}

async function* canonicalKeyGroup(
  kg: number,
  cursor: FileCursor,
  header: KeyedBackendHeader,
  states: KeyedStateInfo[],
  options: KeyedReadOptions,
): AsyncGenerator<KeyedStateEntry[]> {
  const input = new StreamInput(
    pieces(cursor, header.compressed, options.verifyChecksums),
    cursor.file.uri,
    header.compressed ? 0 : cursor.position,
  );
  let stateId = await input.read((i) => i.readUnsignedShort());
  const keySer = serializerOf(header.keySerializer);
  const slices = states.map((st) => needsSlices(st, keySer));
  let batch: KeyedStateEntry[] = [];
  for (;;) {
    const state = states[stateId];
    if (!state)
      throw input.corrupt(`key group ${kg}: state id ${stateId}, but the header has ${states.length} states`);
    const wanted = !options.stateIds || options.stateIds.has(stateId);
    const sliced = slices[stateId] === true;
    const step = (i: DataInput) =>
      readCanonicalRecord(i, input, kg, wanted ? state : null, keySer, options.keyGroupPrefixBytes, sliced);
    let rec = input.tryRead(step);
    if (rec === NEED_MORE) {
      if (batch.length > 0) {
        yield batch;
        batch = [];
      }
      rec = await input.read(step);
    }
    if (rec.entry) batch.push(rec.entry);
    if (batch.length >= ENTRY_BATCH) {
      yield batch;
      batch = [];
    }
    if (rec.next === -1) continue;
    if (rec.next === END_OF_KEY_GROUP_MARK) break;
    stateId = rec.next;
  }
  if (batch.length > 0) yield batch;
  if (input.buffered !== 0) {
    throw input.corrupt(`key group ${kg}: ${input.buffered} bytes after its end-of-key-group mark`);
  }
}

/**
 * Decodes one canonical record held as separate key and value bytes: a RocksDB column-family entry
 * (key = key-group prefix + key + namespace [+ user key], value = the state's bytes, list elements
 * joined by `,`, map values null-flagged, timers all in the key) or a raw record of
 * `canonical-records.ts`. The same decoding as the canonical file reader (Flink's
 * `RocksDBFullRestoreOperation` / `HeapSavepointRestoreOperation` read these bytes alike).
 *
 * @param record key and value bytes, the key group they belong to and the state's kvStateId.
 * @param state the state's decoders (`keyedStates(header)[record.stateId]`).
 * @param keySer the header's key serializer (`serializerOf(header.keySerializer)`).
 * @param where label of the bytes for errors (a file URI); offsets in errors count from the start of
 *   the key (or of the value), the error's `path` says which column family and key group.
 * @throws CorruptSnapshotError when the key or value does not decode to exactly its bytes, or the key's
 *   prefix is not `record.keyGroup`; UnsupportedSerializerError when the state's serializers are not
 *   supported.
 */
export function decodeCanonicalRecord(
  record: { keyGroup: number; stateId: number; key: Uint8Array; value: Uint8Array },
  state: KeyedStateInfo,
  keySer: TypeSerializer,
  prefixBytes: 1 | 2,
  where?: string,
): KeyedStateEntry {
  if (state.unsupported) {
    throw new UnsupportedSerializerError(`state ${state.name}: ${state.unsupported}`, {
      ...(where === undefined ? {} : { uri: where }),
      offset: 0,
      className: state.meta.serializers.map((x) => x.snapshot.className).join(", "),
    });
  }
  if (record.key.byteLength < prefixBytes) {
    throw new CorruptSnapshotError(
      `state ${state.name}: key of ${record.key.byteLength} bytes has no ${prefixBytes}-byte key-group prefix`,
      { ...(where === undefined ? {} : { uri: where }), offset: 0 },
    );
  }
  const k = new DataInput(record.key, where);
  const v = new DataInput(record.value, where);
  const label = `state ${state.name} > key group ${record.keyGroup}`;
  return k.within(`${label} > key`, () =>
    v.within(`${label} > value`, () =>
      decodeCanonical(
        k,
        0,
        record.key.byteLength,
        v,
        0,
        record.value.byteLength,
        record.keyGroup,
        state,
        keySer,
        prefixBytes,
      ),
    ),
  );
}

/**
 * Decodes a canonical key (key-group prefix, key, namespace, [user key]) in `k` between `ks` and `ke`
 * and its value in `v` between `vs` and `ve` (positions in each input). The first key byte may carry
 * the meta-data flag, which is masked.
 */
function decodeCanonical(
  k: DataInput,
  ks: number,
  ke: number,
  v: DataInput,
  vs: number,
  ve: number,
  kg: number,
  state: KeyedStateInfo,
  keySer: TypeSerializer,
  prefixBytes: 1 | 2,
): KeyedStateEntry {
  k.seek(ks);
  const first = k.readUnsignedByte() & ~META_DATA_FOLLOWS_FLAG;
  const prefix = prefixBytes === 1 ? first : (first << 8) | k.readUnsignedByte();
  if (prefix !== kg) throw k.corrupt(`key-group prefix ${prefix} in the data of key group ${kg}`, ks);
  const bytes = ke - ks + (ve - vs);
  const endOfKey = (what: string) => {
    if (k.position !== ke)
      throw k.corrupt(`${what} ends at key byte ${k.position - ks}, the key has ${ke - ks}`);
  };
  const endOfValue = (what: string) => {
    if (v.position !== ve)
      throw v.corrupt(`${what} ends at value byte ${v.position - vs}, the value has ${ve - vs}`);
  };
  if (state.kind === "timers") {
    const timer = (state.value as TypeSerializer).read(k);
    endOfKey("the timer");
    const t = timer as { key: StateValue; namespace: StateValue };
    return {
      keyGroup: kg,
      stateId: state.id,
      state: state.name,
      key: t.key,
      namespace: t.namespace,
      value: timer,
      bytes,
    };
  }
  const ns = state.namespace as TypeSerializer;
  const ambiguous = keySer.length < 0 && ns.length < 0;
  const key = readWithMarker(k, keySer, ambiguous, "key");
  const namespace = readWithMarker(k, ns, ambiguous, "namespace");
  if (state.kind === "map") {
    const userKey = (state.userKey as TypeSerializer).read(k);
    endOfKey("the map user key");
    v.seek(vs);
    const isNull = v.readBoolean();
    const value = isNull ? null : (state.userValue as TypeSerializer).read(v);
    endOfValue("the map value");
    return { keyGroup: kg, stateId: state.id, state: state.name, key, namespace, userKey, value, bytes };
  }
  endOfKey("the namespace");
  v.seek(vs);
  let value: StateValue;
  if (state.kind === "list") {
    const element = state.element as TypeSerializer;
    const items: StateValue[] = [];
    while (v.position < ve) {
      if (items.length > 0) {
        const at = v.position;
        const d = v.readUnsignedByte();
        if (d !== 0x2c) throw v.corrupt(`list delimiter 0x${d.toString(16)}, expected ',' (0x2c)`, at);
      }
      items.push(element.read(v));
    }
    endOfValue("the list");
    value = items;
  } else {
    value = (state.value as TypeSerializer).read(v);
    endOfValue("the value");
  }
  return { keyGroup: kg, stateId: state.id, state: state.name, key, namespace, value, bytes };
}

/** Reads a key or namespace, then skips its length marker when the layout has one. */
function readWithMarker(k: DataInput, ser: TypeSerializer, ambiguous: boolean, what: string): StateValue {
  const start = k.position;
  const v = k.within(what, () => ser.read(k));
  if (ambiguous) {
    // CompositeKeySerializationUtils.readVariableIntBytes: one byte per 8 bits of the length, at least one.
    let len = k.position - start;
    do {
      k.readUnsignedByte();
      len >>>= 8;
    } while (len !== 0);
  }
  return v;
}

async function* heapKeyGroup(
  kg: number,
  cursor: FileCursor,
  header: KeyedBackendHeader,
  states: KeyedStateInfo[],
  options: KeyedReadOptions,
): AsyncGenerator<KeyedStateEntry[]> {
  const input = new StreamInput(
    pieces(cursor, header.compressed, options.verifyChecksums),
    cursor.file.uri,
    header.compressed ? 0 : cursor.position,
  );
  const keySer = serializerOf(header.keySerializer);
  const seen = new Set<number>();
  let batch: KeyedStateEntry[] = [];
  for (let s = 0; s < states.length; s++) {
    const at = input.position;
    const stateId = await input.read((i) => i.readUnsignedShort());
    const state = states[stateId];
    if (!state)
      throw input.corrupt(
        `key group ${kg}: state id ${stateId}, but the header has ${states.length} states`,
        at,
      );
    if (seen.has(stateId)) throw input.corrupt(`key group ${kg}: state id ${stateId} appears twice`, at);
    seen.add(stateId);
    if (state.unsupported) {
      throw new UnsupportedSerializerError(`state ${state.name}: ${state.unsupported}`, {
        uri: input.uri,
        offset: input.locate(at).fileOffset,
        className: state.meta.serializers.map((x) => x.snapshot.className).join(", "),
      });
    }
    const count = await input.read((i) => {
      const c = i.readInt();
      if (c < 0) throw i.corrupt(`negative entry count ${c}`);
      return c;
    });
    const wanted = !options.stateIds || options.stateIds.has(stateId);
    for (let n = 0; n < count; n++) {
      if (batch.length >= ENTRY_BATCH) {
        yield batch;
        batch = [];
      }
      const start = input.position;
      if (state.kind === "timers") {
        const timer = await input.read((i) => (state.value as TypeSerializer).read(i));
        if (wanted) {
          const t = timer as { key: StateValue; namespace: StateValue };
          batch.push({
            keyGroup: kg,
            stateId,
            state: state.name,
            key: t.key,
            namespace: t.namespace,
            value: timer,
            bytes: input.position - start,
          });
        }
        continue;
      }
      const decode = (i: DataInput) => {
        const namespace = (state.namespace as TypeSerializer).read(i);
        const key = keySer.read(i);
        return { namespace, key, value: (state.value as TypeSerializer).read(i) };
      };
      let e = input.tryRead(decode);
      if (e === NEED_MORE) e = await input.read(decode);
      if (!wanted) continue;
      const bytes = input.position - start;
      if (state.kind === "map") {
        for (const entry of e.value as { key: StateValue; value: StateValue }[]) {
          batch.push({
            keyGroup: kg,
            stateId,
            state: state.name,
            key: e.key,
            namespace: e.namespace,
            userKey: entry.key,
            value: entry.value,
            bytes,
          });
        }
        continue;
      }
      if (state.kind === "list" && (e.value as StateValue[]).length === 0) continue;
      batch.push({
        keyGroup: kg,
        stateId,
        state: state.name,
        key: e.key,
        namespace: e.namespace,
        value: e.value,
        bytes,
      });
    }
  }
  if (batch.length > 0) yield batch;
  if (input.buffered !== 0) {
    throw input.corrupt(`key group ${kg}: ${input.buffered} bytes after its last state`);
  }
}
