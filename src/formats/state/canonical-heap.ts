/**
 * Heap native key groups as raw bytes, and their canonical records: the reading half of converting a
 * hashmap checkpoint or native hashmap savepoint (`KeyGroupsStateHandle` written by Flink's
 * `HeapSnapshotStrategy`) into a canonical savepoint.
 *
 * The heap layout (see `./keyed.ts`) has no lengths: `(namespace, key, state value)` triples written by
 * the serializers back to back (`CopyOnWriteStateMapSnapshot.writeState`), timers as counted elements
 * (`KeyGroupPartitioner`). So the boundaries come from decoding with the serializers of the header;
 * the bytes themselves are passed on untouched. States whose serializers cannot delimit their values
 * (Kryo and other opaque ones) cannot be converted and are refused with UnsupportedSerializerError.
 *
 * The canonical records are what Flink's `HeapKeyValueStateIterator` produces for the same state
 * (`SerializedCompositeKeyBuilder` keys, `ListDelimitedSerializer` lists, one row per map entry,
 * timers in the key), so a canonical savepoint written from them equals the one Flink writes, up to the
 * order of states and entries inside a key group (Flink follows `HashMap` iteration order there).
 */

import { CorruptSnapshotError } from "../../errors.js";
import type { DataInput } from "../io/data-input.js";
import type { KeyGroupsStateHandle } from "../metadata/model.js";
import { keyGroupPieces, keyGroupSpans, type RawReadOptions, RECORD_BATCH } from "./canonical-records.js";
import {
  type CanonicalRecord,
  compositeKey,
  joinListElements,
  mapEntryValue,
  timerKey,
} from "./canonical-writer.js";
import type { KeyedBackendHeader } from "./headers.js";
import { type KeyedStateInfo, keyedStates } from "./keyed.js";
import { serializerOf } from "./serializers/snapshots.js";
import { type TypeSerializer, UnsupportedSerializerError } from "./serializers/types.js";
import { FileCursor, NEED_MORE, type StateFile, StreamInput } from "./stream.js";

/** One entry of a heap key group, as raw serializer bytes. */
export type HeapRawEntry =
  | {
      /** Value, reducing and aggregating states: the whole state value. */
      kind: "value";
      keyGroup: number;
      stateId: number;
      namespace: Uint8Array;
      key: Uint8Array;
      value: Uint8Array;
    }
  | {
      /** List states: each element's bytes (the ListSerializer's count is dropped). */
      kind: "list";
      keyGroup: number;
      stateId: number;
      namespace: Uint8Array;
      key: Uint8Array;
      elements: Uint8Array[];
    }
  | {
      /** Map states: per map entry, the user key's bytes and the user value's (null for a null value). */
      kind: "map";
      keyGroup: number;
      stateId: number;
      namespace: Uint8Array;
      key: Uint8Array;
      entries: { userKey: Uint8Array; value: Uint8Array | null }[];
    }
  | {
      /** Priority queue states (timers): the element serializer's bytes. */
      kind: "timer";
      keyGroup: number;
      stateId: number;
      element: Uint8Array;
    };

/** The serializers a state needs to be delimited, and why it cannot be, if so. */
interface Delimiters {
  info: KeyedStateInfo;
  kind: HeapRawEntry["kind"];
  key: TypeSerializer;
  problem: string | null;
}

function delimitersOf(header: KeyedBackendHeader): Delimiters[] {
  const key = serializerOf(header.keySerializer);
  return keyedStates(header).map((info) => {
    const kind: HeapRawEntry["kind"] =
      info.kind === "timers"
        ? "timer"
        : info.kind === "list"
          ? "list"
          : info.kind === "map"
            ? "map"
            : "value";
    let problem: string | null = info.unsupported;
    if (!problem && info.kind === "unknown")
      problem = `keyed state type ${info.keyedStateType ?? "?"} is not known`;
    const needed: [string, TypeSerializer | null][] =
      kind === "timer"
        ? [["timer", info.value]]
        : [
            ["key", key],
            ["namespace", info.namespace],
            ...(kind === "list"
              ? ([["list element", info.element]] as [string, TypeSerializer | null][])
              : kind === "map"
                ? ([
                    ["map user key", info.userKey],
                    ["map user value", info.userValue],
                  ] as [string, TypeSerializer | null][])
                : ([["value", info.value]] as [string, TypeSerializer | null][])),
          ];
    for (const [what, ser] of needed) {
      if (problem) break;
      if (!ser) problem = `no ${what} serializer`;
      else if (ser.opaque) problem = `the ${what} serializer (${ser.type}) does not delimit its values`;
    }
    return { info, kind, key, problem };
  });
}

/**
 * Checks that every state of a heap header can be read as raw entries (and so converted).
 * @returns one line per state that cannot, naming it and the reason; empty when all can.
 */
export function heapConversionProblems(header: KeyedBackendHeader): string[] {
  return delimitersOf(header)
    .filter((d) => d.problem !== null)
    .map((d) => `state ${JSON.stringify(d.info.name)}: ${d.problem}`);
}

/** Bytes of `ser.read` at the input's position. */
function measure(i: DataInput, ser: TypeSerializer): Uint8Array {
  const start = i.position;
  ser.read(i);
  return i.bytes.slice(start, i.position);
}

/** Decodes one heap entry of state `d` from the buffered stream (throws underflow to retry). */
function readHeapEntry(i: DataInput, kg: number, d: Delimiters): HeapRawEntry {
  const stateId = d.info.id;
  if (d.kind === "timer") {
    return { kind: "timer", keyGroup: kg, stateId, element: measure(i, d.info.value as TypeSerializer) };
  }
  const namespace = measure(i, d.info.namespace as TypeSerializer);
  const key = measure(i, d.key);
  if (d.kind === "value") {
    return {
      kind: "value",
      keyGroup: kg,
      stateId,
      namespace,
      key,
      value: measure(i, d.info.value as TypeSerializer),
    };
  }
  if (d.kind === "list") {
    const element = d.info.element as TypeSerializer;
    const n = i.readCount("list size", Math.max(1, element.length));
    const elements: Uint8Array[] = [];
    for (let k = 0; k < n; k++) elements.push(measure(i, element));
    return { kind: "list", keyGroup: kg, stateId, namespace, key, elements };
  }
  const userKey = d.info.userKey as TypeSerializer;
  const userValue = d.info.userValue as TypeSerializer;
  const n = i.readCount("map size", Math.max(1, userKey.length) + 1);
  const entries: { userKey: Uint8Array; value: Uint8Array | null }[] = [];
  for (let k = 0; k < n; k++) {
    const uk = measure(i, userKey);
    const isNull = i.readBoolean();
    entries.push({ userKey: uk, value: isNull ? null : measure(i, userValue) });
  }
  return { kind: "map", keyGroup: kg, stateId, namespace, key, entries };
}

/**
 * The entries of a heap native key-groups file (every key group of the handle's range, ascending; per
 * key group the states in the order the file has them, as Flink's `HeapRestoreOperation` reads them),
 * in batches of at most {@link RECORD_BATCH} entries.
 *
 * @throws UnsupportedSerializerError when a state that has entries cannot be delimited (see
 *   {@link heapConversionProblems}); CorruptSnapshotError with file and offset for a key group whose
 *   leading int is not its index, a state id outside the header or seen twice in a key group, bad
 *   counts, truncated data, or bytes left at the end of a key group.
 */
export async function* readHeapRawEntries(
  file: StateFile,
  handle: KeyGroupsStateHandle,
  header: KeyedBackendHeader,
  options: RawReadOptions = {},
): AsyncGenerator<HeapRawEntry[]> {
  const states = delimitersOf(header);
  const cursor = new FileCursor(file, 0, file.claimedSize, options.blockSize);
  let batch: HeapRawEntry[] = [];
  for (const span of keyGroupSpans(file, handle, true)) {
    const kg = span.keyGroup;
    cursor.seek(span.start);
    cursor.setLimit(span.end);
    const raw = await cursor.readExact(4, `key group ${kg} header`);
    const written = new DataView(raw.buffer, raw.byteOffset, 4).getInt32(0);
    if (written !== kg) {
      throw new CorruptSnapshotError(
        `key group ${kg} should start at byte ${span.start} (offset in _metadata), but the int there is ${written}`,
        { uri: file.uri, offset: span.start },
      );
    }
    const input = new StreamInput(
      keyGroupPieces(cursor, header.compressed, options.verifyChecksums),
      file.uri,
      header.compressed ? 0 : cursor.position,
    );
    const seen = new Set<number>();
    for (let s = 0; s < states.length; s++) {
      const at = input.position;
      const stateId = await input.read((i) => i.readUnsignedShort());
      const d = states[stateId];
      if (!d)
        throw input.corrupt(
          `key group ${kg}: state id ${stateId}, but the header has ${states.length} states`,
          at,
        );
      if (seen.has(stateId)) throw input.corrupt(`key group ${kg}: state id ${stateId} appears twice`, at);
      seen.add(stateId);
      const count = await input.read((i) => {
        const c = i.readInt();
        if (c < 0) throw i.corrupt(`negative entry count ${c}`);
        return c;
      });
      if (count > 0 && d.problem) {
        throw new UnsupportedSerializerError(
          `state ${d.info.name}: ${d.problem}; its entries cannot be converted`,
          {
            uri: file.uri,
            offset: input.locate(at).fileOffset,
            className: d.info.meta.serializers.map((x) => x.snapshot.className).join(", "),
          },
        );
      }
      const step = (i: DataInput) => readHeapEntry(i, kg, d);
      for (let n = 0; n < count; n++) {
        let e = input.tryRead(step);
        if (e === NEED_MORE) {
          if (batch.length > 0) {
            yield batch;
            batch = [];
          }
          e = await input.read(step);
        }
        batch.push(e);
        if (batch.length >= RECORD_BATCH) {
          yield batch;
          batch = [];
        }
      }
    }
    if (!(await input.atEnd())) {
      throw input.corrupt(`key group ${kg}: ${input.buffered} bytes after its last state`);
    }
  }
  if (batch.length > 0) yield batch;
}

/** What {@link heapEntryToCanonical} needs to know about the states of a header. */
export interface CanonicalKeyLayout {
  /** Key-group prefix width (1 when max parallelism <= 128, else 2). */
  prefixBytes: 1 | 2;
  /** Per state id: key and namespace both have variable length, so keys carry length markers. */
  ambiguous: boolean[];
}

/**
 * The key layout of a header's states for {@link heapEntryToCanonical}.
 * @param maxParallelism the operator's max parallelism (decides the key-group prefix width).
 */
export function canonicalKeyLayout(header: KeyedBackendHeader, maxParallelism: number): CanonicalKeyLayout {
  const key = serializerOf(header.keySerializer);
  return {
    prefixBytes: maxParallelism > 128 ? 2 : 1,
    ambiguous: keyedStates(header).map(
      (s) => s.kind !== "timers" && key.length < 0 && (s.namespace?.length ?? 0) < 0,
    ),
  };
}

/**
 * The canonical records of one heap entry, as `HeapKeyValueStateIterator` writes them: one record for
 * a value, a `,`-joined record for a non-empty list (none for an empty one), one record per map entry
 * (none for an empty map), a prefixed key with an empty value for a timer.
 */
export function heapEntryToCanonical(e: HeapRawEntry, layout: CanonicalKeyLayout): CanonicalRecord[] {
  const { keyGroup, stateId } = e;
  const pb = layout.prefixBytes;
  if (e.kind === "timer") {
    return [{ keyGroup, stateId, key: timerKey(keyGroup, pb, e.element), value: new Uint8Array(0) }];
  }
  const parts = {
    keyGroup,
    prefixBytes: pb,
    key: e.key,
    namespace: e.namespace,
    ambiguous: layout.ambiguous[stateId] === true,
  };
  switch (e.kind) {
    case "value":
      return [{ keyGroup, stateId, key: compositeKey(parts), value: e.value }];
    case "list":
      return e.elements.length === 0
        ? []
        : [{ keyGroup, stateId, key: compositeKey(parts), value: joinListElements(e.elements) }];
    case "map":
      return e.entries.map((m) => ({
        keyGroup,
        stateId,
        key: compositeKey({ ...parts, userKey: m.userKey }),
        value: mapEntryValue(m.value),
      }));
  }
}
