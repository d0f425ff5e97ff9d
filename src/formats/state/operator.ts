/**
 * Operator state files (`OperatorStreamStateHandle`; with file merging,
 * `FileMergingOperatorStreamStateHandle`, whose file is a segment of a physical file): the
 * {@link OperatorBackendHeader}, then the states' data at the offsets the handle records
 * (`DefaultOperatorStateBackendSnapshotStrategy`, `PartitionableListState.write`,
 * `HeapBroadcastState.write`; read back by `OperatorStateRestoreOperation`):
 *
 * - list states (split-distribute and union): the elements back to back, one offset per element in
 *   the handle (no lengths; an element ends where the next offset, of any state, begins);
 * - broadcast states: one offset, then i32 entry count and (key, value) pairs.
 *
 * With compression (header version 6, flag set) the data after the header is one Snappy framed
 * stream: the writer's `getPos()` flushes, so every recorded offset is a chunk boundary, and the reader
 * decompresses from each offset (`CompressibleFSDataInputStream.seek`).
 */

import { CorruptSnapshotError } from "../../errors.js";
import type { OperatorStateDistributionMode, OperatorStateHandle } from "../metadata/model.js";
import {
  META_KEYS,
  metaSerializer,
  type OperatorBackendHeader,
  readOperatorBackendHeader,
  type StateMetaInfo,
} from "./headers.js";
import { serializerOf } from "./serializers/snapshots.js";
import { type StateValue, type TypeSerializer, UnsupportedSerializerError } from "./serializers/types.js";
import { concatBytes, decodeSnappyFramed } from "./snappy.js";
import { BufferInput, FileCursor, FramedPieces, RawPieces, type StateFile, StreamInput } from "./stream.js";

/** One operator state element (list states) or broadcast entry. */
export interface OperatorStateEntry {
  state: string;
  mode: OperatorStateDistributionMode;
  /** Element index in the list (list states) or entry index (broadcast states). */
  index: number;
  /** Broadcast states: the entry's key; undefined for list states. */
  key?: StateValue;
  value: StateValue;
  /** Bytes the element or entry takes in the (uncompressed) data. */
  bytes: number;
}

/** An operator state with its decoders. */
export interface OperatorStateInfo {
  name: string;
  mode: OperatorStateDistributionMode;
  meta: StateMetaInfo;
  /** Broadcast states: the key decoder. */
  key: TypeSerializer | null;
  value: TypeSerializer | null;
  unsupported: string | null;
}

/** Decoders for every state of an operator header, by name. */
export function operatorStates(header: OperatorBackendHeader): Map<string, OperatorStateInfo> {
  const out = new Map<string, OperatorStateInfo>();
  const add = (meta: StateMetaInfo, broadcast: boolean) => {
    const mode = (meta.options.find(([k]) => k === META_KEYS.OPERATOR_STATE_DISTRIBUTION_MODE)?.[1] ??
      (broadcast ? "BROADCAST" : "SPLIT_DISTRIBUTE")) as OperatorStateDistributionMode;
    const info: OperatorStateInfo = {
      name: meta.name,
      mode,
      meta,
      key: null,
      value: null,
      unsupported: null,
    };
    try {
      const v = metaSerializer(meta, META_KEYS.VALUE_SERIALIZER);
      if (!v) throw new Error(`state ${meta.name} has no VALUE_SERIALIZER`);
      info.value = serializerOf(v);
      if (broadcast) {
        const k = metaSerializer(meta, META_KEYS.KEY_SERIALIZER);
        if (!k) throw new Error(`broadcast state ${meta.name} has no KEY_SERIALIZER`);
        info.key = serializerOf(k);
      }
    } catch (err) {
      info.unsupported = (err as Error).message;
    }
    out.set(meta.name, info);
  };
  for (const m of header.operatorStates) add(m, false);
  for (const m of header.broadcastStates) add(m, true);
  return out;
}

/** Reads the header at the start of an operator state file; returns it and where the data starts. */
export async function readOperatorHeader(
  file: StateFile,
): Promise<{ header: OperatorBackendHeader; dataStart: number }> {
  const cursor = new FileCursor(file, 0, file.claimedSize, 64 * 1024);
  const input = new StreamInput(new RawPieces(cursor), file.uri, 0);
  const header = await input.read(readOperatorBackendHeader);
  return { header, dataStart: input.position };
}

/** Options of {@link readOperatorEntries}. */
export interface OperatorReadOptions {
  /** Only these state names (default all). */
  states?: ReadonlySet<string>;
  /** Verify Snappy chunk checksums (default true). */
  verifyChecksums?: boolean;
}

/**
 * The elements and entries of an operator state file, state by state in the handle's order.
 *
 * @throws CorruptSnapshotError (file and offset) for offsets outside the data, elements that do not
 *   fill the bytes between offsets, bad Snappy chunks; UnsupportedSerializerError for undecodable values.
 */
export async function* readOperatorEntries(
  file: StateFile,
  handle: OperatorStateHandle,
  header: OperatorBackendHeader,
  dataStart: number,
  options: OperatorReadOptions = {},
): AsyncGenerator<OperatorStateEntry> {
  const infos = operatorStates(header);
  const boundaries = [...new Set(handle.states.flatMap((s) => s.offsets.map(Number))), file.claimedSize].sort(
    (a, b) => a - b,
  );
  const nextBoundary = (o: number) => boundaries.find((b) => b > o) ?? file.claimedSize;
  for (const entry of handle.states) {
    if (options.states && !options.states.has(entry.name)) continue;
    const info = infos.get(entry.name);
    if (!info) {
      throw new CorruptSnapshotError(
        `operator state ${entry.name} is in _metadata but not in the file's header`,
        {
          uri: file.uri,
          offset: 0,
        },
      );
    }
    if (info.unsupported) {
      throw new UnsupportedSerializerError(`operator state ${entry.name}: ${info.unsupported}`, {
        uri: file.uri,
        offset: 0,
        className: info.meta.serializers.map((s) => s.snapshot.className).join(", "),
      });
    }
    for (const off of entry.offsets) {
      const o = Number(off);
      if (o < dataStart || o >= file.claimedSize) {
        throw new CorruptSnapshotError(
          `operator state ${entry.name}: offset ${o} outside the data (bytes ${dataStart} to ${file.claimedSize})`,
          { uri: file.uri, offset: o },
        );
      }
    }
    if (entry.mode === "BROADCAST" || info.key) {
      yield* broadcastEntries(
        file,
        entry.name,
        info,
        entry.offsets.map(Number),
        nextBoundary,
        header.compressed,
        options,
      );
      continue;
    }
    const value = info.value as TypeSerializer;
    for (const [index, off] of entry.offsets.entries()) {
      const start = Number(off);
      const end = nextBoundary(start);
      const raw = await file.read(start, Math.min(end, file.size) - start);
      if (start + raw.length < end) {
        throw new CorruptSnapshotError(
          `state file is truncated: it has ${file.size} bytes, the state handle claims ${file.claimedSize}`,
          { uri: file.uri, offset: file.size },
        );
      }
      let bytes: Uint8Array;
      let input: BufferInput;
      if (header.compressed) {
        const chunks = decodeSnappyFramed(raw, {
          baseOffset: start,
          requireIdentifier: false,
          uri: file.uri,
          verifyChecksums: options.verifyChecksums !== false,
        });
        bytes = concatBytes(chunks.map((c) => c.data));
        const first = chunks[0]?.fileOffset ?? start;
        input = new BufferInput(
          bytes,
          file.uri,
          0,
          true,
          (l) => ({
            fileOffset: first,
            note: `decompressed byte ${l} of the element starting at file byte ${start}`,
          }),
          true,
        );
      } else {
        bytes = raw;
        input = new BufferInput(bytes, file.uri, start, true, null, true);
      }
      const v = input.within(`${entry.name}[${index}]`, () => value.read(input));
      if (!input.atEnd) {
        throw input.corrupt(
          `operator state ${entry.name} element ${index} is ${input.position} bytes, but its offsets leave ${bytes.length}`,
        );
      }
      yield { state: entry.name, mode: entry.mode, index, value: v, bytes: bytes.length };
    }
  }
}

async function* broadcastEntries(
  file: StateFile,
  name: string,
  info: OperatorStateInfo,
  offsets: number[],
  nextBoundary: (o: number) => number,
  compressed: boolean,
  options: OperatorReadOptions,
): AsyncGenerator<OperatorStateEntry> {
  const keySer = info.key as TypeSerializer;
  const valueSer = info.value as TypeSerializer;
  let index = 0;
  for (const start of offsets) {
    const end = nextBoundary(start);
    const cursor = new FileCursor(file, start, end);
    const input = new StreamInput(
      compressed
        ? new FramedPieces(cursor, { verifyChecksums: options.verifyChecksums !== false })
        : new RawPieces(cursor),
      file.uri,
      compressed ? 0 : start,
    );
    const size = await input.read((i) => i.readCount(`broadcast state ${name} size`, 1));
    for (let n = 0; n < size; n++) {
      const at = input.position;
      const kv = await input.read((i) => ({ key: keySer.read(i), value: valueSer.read(i) }));
      yield {
        state: name,
        mode: info.mode,
        index: index++,
        key: kv.key,
        value: kv.value,
        bytes: input.position - at,
      };
    }
    if (!(await input.atEnd())) {
      throw input.corrupt(`broadcast state ${name}: ${input.buffered} bytes after its ${size} entries`);
    }
  }
}
