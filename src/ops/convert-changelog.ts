/**
 * Converting the keyed state of the changelog state backend (`ChangelogStateBackendHandle`) into canonical
 * records: the state Flink restores from it (its materialized part with the changes logged since
 * replayed, `./keyed-entries.ts`), encoded as Flink's `FullSnapshotAsyncWriter` writes a canonical
 * savepoint (`heapEntryToCanonical`: `SerializedCompositeKeyBuilder` keys, `ListDelimitedSerializer`
 * lists, one row per map entry, timers in the key). The result restores without the changelog state
 * backend, with either backend.
 *
 * The header of the converted subtask: the materialized part's states, then those the changelog
 * registers since (their `StateMetaInfoSnapshot`s as logged), with the key serializer of the
 * materialized part (this subtask's or another's), of a timer state, or the one the user names.
 */

import { DataOutput } from "../formats/io/data-output.js";
import type {
  ChangelogStateBackendHandle,
  KeyGroupsStateHandle,
  OperatorState,
} from "../formats/metadata/model.js";
import {
  canonicalKeyLayout,
  type HeapRawEntry,
  heapEntryToCanonical,
} from "../formats/state/canonical-heap.js";
import type { CanonicalRecord } from "../formats/state/canonical-writer.js";
import { readChangelogStates } from "../formats/state/changelog.js";
import { timerKeySnapshot } from "../formats/state/changelog-replay.js";
import {
  KEYED_PROXY_VERSION,
  type KeyedBackendHeader,
  type StateMetaInfo,
} from "../formats/state/headers.js";
import { type KeyedStateEntry, type KeyedStateInfo, keyedStates } from "../formats/state/keyed.js";
import { basicSnapshot } from "../formats/state/serializers/basic-types.js";
import { serializerOf } from "../formats/state/serializers/snapshots.js";
import type { SerializerSnapshot, StateValue, TypeSerializer } from "../formats/state/serializers/types.js";
import type { StateFile } from "../formats/state/stream.js";
import {
  type KeyedReadContext,
  keyedEntries,
  keyedHeaderOf,
  materializedKeySnapshot,
  UnsupportedStateLayoutError,
} from "./keyed-entries.js";

/** A changelog subtask opened for conversion. */
export interface ChangelogSource {
  /** The merged header the converted file gets. */
  header: KeyedBackendHeader;
  /** A key-groups stand-in over the handle's range (the writer's range). */
  handle: KeyGroupsStateHandle;
  /** A file of the source, for errors and progress: the materialized meta file, or a changelog file. */
  file: StateFile;
  /** Bytes of the source's files (materialized part and changelog files). */
  bytes: number;
}

/**
 * Opens a changelog subtask for conversion: reads the headers of its materialized part and the states
 * its changelog registers, and merges them.
 *
 * @param keyType the key type to record (`basicSnapshot` names) when the snapshot records none.
 * @throws UnsupportedStateLayoutError when no key serializer is recorded and none is given; the
 *   readers' errors.
 */
export async function openChangelogSource(
  op: OperatorState,
  subtask: number,
  h: ChangelogStateBackendHandle,
  ctx: KeyedReadContext,
  keyType: string | undefined,
): Promise<ChangelogSource> {
  const states: StateMetaInfo[] = [];
  const names = new Set<string>();
  const add = (list: readonly StateMetaInfo[]) => {
    for (const m of list) {
      if (names.has(m.name)) continue;
      names.add(m.name);
      states.push(m);
    }
  };
  let key: SerializerSnapshot | null = null;
  let compressed = false;
  let file: StateFile | null = null;
  let bytes = 0;
  for (const m of h.materialized) {
    const got = await keyedHeaderOf(m, ctx.resolver);
    if (!got) {
      throw new UnsupportedStateLayoutError(
        `operator ${op.uid ?? op.operatorId} subtask ${subtask}: materialized keyed handle ${m.kind} is not read`,
        { uri: ctx.metadataUri },
      );
    }
    key ??= got.header.keySerializer;
    compressed ||= got.header.compressed;
    add(got.header.states);
    const meta =
      m.kind === "IncrementalRemoteKeyedStateHandle"
        ? m.metaStateHandle
        : "delegate" in m
          ? m.delegate
          : null;
    if (meta) {
      const f = await ctx.resolver.open(meta);
      file ??= f;
      bytes += f.size;
    }
    if (m.kind === "IncrementalRemoteKeyedStateHandle") {
      for (const e of [...m.sharedState, ...m.privateState])
        bytes += (await ctx.resolver.open(e.handle)).size;
    }
  }
  const log = await readChangelogStates(h.nonMaterialized, ctx.resolver, ctx.changelogCache);
  add(log.states);
  key ??= await materializedKeySnapshot(op, ctx);
  key ??= timerKeySnapshot(log.states);
  if (!key && keyType !== undefined) key = basicSnapshot(keyType);
  if (!key) {
    throw new UnsupportedStateLayoutError(
      `operator ${op.uid ?? op.operatorId} subtask ${subtask}: the changelog state backend was never materialized and its changes record no key type; name it (convert --key-type, e.g. String)`,
      { uri: ctx.metadataUri },
    );
  }
  const seen = new Set<string>();
  for (const n of h.nonMaterialized) {
    if (n.kind !== "ChangelogStateHandleStreamImpl") continue;
    for (const { handle } of n.handlesAndOffsets) {
      const f = await ctx.resolver.open(handle);
      file ??= f;
      if (seen.has(f.uri)) continue;
      seen.add(f.uri);
      bytes += f.size;
    }
  }
  if (!file) {
    throw new UnsupportedStateLayoutError(
      `operator ${op.uid ?? op.operatorId} subtask ${subtask}: a changelog handle with no file`,
      { uri: ctx.metadataUri },
    );
  }
  return {
    header: { version: KEYED_PROXY_VERSION, compressed, keySerializer: key, states },
    handle: {
      kind: "KeyGroupsSavepointStateHandle",
      tag: 7,
      keyGroupRange: h.keyGroupRange,
      offsets: [],
      delegate: { kind: "FileStateHandle", filePath: file.uri, stateSize: BigInt(file.size) },
      stateHandleId: null,
    },
    file,
    bytes,
  };
}

/**
 * The canonical records of a changelog subtask, key group by key group (ascending; in a key group by
 * kvStateId of `header`), as Flink would write them into a canonical savepoint after restoring it.
 *
 * @param header from {@link openChangelogSource}.
 * @throws the replay's and readers' errors (`keyedEntries`); InvalidArgumentError for a value a
 *   serializer cannot encode back (cannot happen for what it decoded).
 */
export async function* changelogCanonicalRecords(
  op: OperatorState,
  subtask: number,
  h: ChangelogStateBackendHandle,
  ctx: KeyedReadContext,
  header: KeyedBackendHeader,
  verifyChecksums: boolean | undefined,
): AsyncGenerator<CanonicalRecord[]> {
  const infos = new Map(keyedStates(header).map((i) => [i.name, i]));
  const keySer = serializerOf(header.keySerializer);
  const layout = canonicalKeyLayout(header, op.maxParallelism);
  const entries = keyedEntries(op, subtask, h, ctx, {
    keySerializer: keySer,
    ...(verifyChecksums === undefined ? {} : { verifyChecksums }),
  });
  for await (const batch of entries.batches) {
    const out: CanonicalRecord[] = [];
    for (const e of batch) {
      const info = infos.get(e.state);
      if (!info) continue; // cannot happen: the header holds every state of the materialized part and the log
      out.push(...heapEntryToCanonical(rawEntry(e, info, keySer), layout));
    }
    // the canonical layout runs state by state in a key group (stable: entries keep their order)
    out.sort((a, b) => a.keyGroup - b.keyGroup || a.stateId - b.stateId);
    yield out;
  }
}

/** The initial capacity of {@link bytesOf}'s writer (bytes) ... */
const SCRATCH_BYTES = 4096;
/** ... and the most it keeps after a value (bytes). */
const SCRATCH_KEEP_BYTES = 1 << 20;

/** The writer {@link bytesOf} reuses: one value at a time, copied out (a writer per value cost more than its bytes). */
let scratch = new DataOutput(SCRATCH_BYTES);

function bytesOf(ser: TypeSerializer, v: StateValue): Uint8Array {
  scratch.reset();
  ser.write(scratch, v);
  const bytes = scratch.toBytes().slice();
  // a value far larger than most would otherwise keep its capacity for the rest of the process
  if (bytes.byteLength > SCRATCH_KEEP_BYTES) scratch = new DataOutput(SCRATCH_BYTES);
  return bytes;
}

/**
 * A replayed entry as the raw serializer bytes a heap key group would hold. (Object literals, not spreads:
 * this runs once per entry, and spreading the common fields cost a third of it.)
 */
function rawEntry(e: KeyedStateEntry, info: KeyedStateInfo, keySer: TypeSerializer): HeapRawEntry {
  const keyGroup = e.keyGroup;
  const stateId = info.id;
  if (info.kind === "timers")
    return { kind: "timer", keyGroup, stateId, element: bytesOf(info.value as TypeSerializer, e.value) };
  const key = bytesOf(keySer, e.key);
  const namespace = bytesOf(info.namespace as TypeSerializer, e.namespace);
  if (info.kind === "list") {
    const element = info.element as TypeSerializer;
    const elements = (e.value as StateValue[]).map((x) => bytesOf(element, x));
    return { kind: "list", keyGroup, stateId, key, namespace, elements };
  }
  if (info.kind === "map") {
    const userKey = bytesOf(info.userKey as TypeSerializer, e.userKey ?? null);
    const value = e.value === null ? null : bytesOf(info.userValue as TypeSerializer, e.value);
    return { kind: "map", keyGroup, stateId, key, namespace, entries: [{ userKey, value }] };
  }
  return {
    kind: "value",
    keyGroup,
    stateId,
    key,
    namespace,
    value: bytesOf(info.value as TypeSerializer, e.value),
  };
}
