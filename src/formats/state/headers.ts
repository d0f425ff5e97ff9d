/**
 * The headers of keyed and operator state files: Flink's `KeyedBackendSerializationProxy` and
 * `OperatorBackendSerializationProxy`, with the `StateMetaInfoSnapshot`s they hold.
 *
 * ```
 * StateMetaInfoSnapshot (StateMetaInfoSnapshotReadersWriters.CurrentWriterImpl, formats 6 and 7):
 *   UTF state name, i32 BackendStateType ordinal,
 *   i32 option count, (UTF key, UTF value)*,
 *   i32 serializer count, (UTF key, TypeSerializerSnapshotSerializationUtil.writeSerializerSnapshot)*
 *
 * KeyedBackendSerializationProxy (version 6, Flink 1.7+):
 *   i32 version, boolean usingKeyGroupCompression, key serializer snapshot,
 *   i16 state count, StateMetaInfoSnapshot*
 *
 * OperatorBackendSerializationProxy (version 5: Flink 1.7-1.16; version 6: 1.17+):
 *   i32 version, [boolean compression: version 6 only],
 *   i16 operator state count, StateMetaInfoSnapshot*, i16 broadcast state count, StateMetaInfoSnapshot*
 * ```
 *
 * Options and serializers are Java `HashMap`s when written, so their order is arbitrary; it is kept
 * as read, so that writing gives back the same bytes.
 */

import { UnsupportedVersionError } from "../../errors.js";
import type { DataInput } from "../io/data-input.js";
import type { DataOutput } from "../io/data-output.js";
import { readSerializerSnapshot, writeSerializerSnapshot } from "./serializers/snapshots.js";
import type { SerializerSnapshot } from "./serializers/types.js";

/** `StateMetaInfoSnapshot.BackendStateType`, by ordinal. */
export const BACKEND_STATE_TYPES = ["KEY_VALUE", "OPERATOR", "BROADCAST", "PRIORITY_QUEUE"] as const;
export type BackendStateType = (typeof BACKEND_STATE_TYPES)[number];

/** `StateMetaInfoSnapshot.CommonOptionsKeys` and `CommonSerializerKeys` values. */
export const META_KEYS = {
  KEYED_STATE_TYPE: "KEYED_STATE_TYPE",
  OPERATOR_STATE_DISTRIBUTION_MODE: "OPERATOR_STATE_DISTRIBUTION_MODE",
  KEY_SERIALIZER: "KEY_SERIALIZER",
  NAMESPACE_SERIALIZER: "NAMESPACE_SERIALIZER",
  VALUE_SERIALIZER: "VALUE_SERIALIZER",
} as const;

/** One state's meta information, as `StateMetaInfoSnapshot`. */
export interface StateMetaInfo {
  name: string;
  backendStateType: BackendStateType;
  /** Options in file order, e.g. `[["KEYED_STATE_TYPE", "VALUE"]]`. */
  options: [string, string][];
  /** Serializer snapshots by key (`NAMESPACE_SERIALIZER`, `VALUE_SERIALIZER`, ...), in file order. */
  serializers: { key: string; snapshot: SerializerSnapshot }[];
}

/** The value of an option, or null. */
export function metaOption(m: StateMetaInfo, key: string): string | null {
  return m.options.find(([k]) => k === key)?.[1] ?? null;
}

/** A serializer snapshot of a state by key, or null. */
export function metaSerializer(m: StateMetaInfo, key: string): SerializerSnapshot | null {
  return m.serializers.find((s) => s.key === key)?.snapshot ?? null;
}

/**
 * Reads one `StateMetaInfoSnapshot` (format 6/7).
 * @throws CorruptSnapshotError (bad ordinal, counts), UnsupportedSerializerError (unknown snapshot class).
 */
export function readStateMetaInfo(input: DataInput): StateMetaInfo {
  const name = input.readUTF();
  return input.within(`state ${JSON.stringify(name)}`, () => {
    const at = input.position;
    const ordinal = input.readInt();
    const backendStateType = BACKEND_STATE_TYPES[ordinal];
    if (backendStateType === undefined)
      throw input.corrupt(`unknown backend state type ordinal ${ordinal}`, at);
    const nOptions = input.readCount("state options", 4);
    const options: [string, string][] = [];
    for (let k = 0; k < nOptions; k++) options.push([input.readUTF(), input.readUTF()]);
    const nSerializers = input.readCount("state serializers", 8);
    const serializers: { key: string; snapshot: SerializerSnapshot }[] = [];
    for (let k = 0; k < nSerializers; k++) {
      const key = input.readUTF();
      serializers.push({ key, snapshot: input.within(key, () => readSerializerSnapshot(input)) });
    }
    return { name, backendStateType, options, serializers };
  });
}

/** Writes one `StateMetaInfoSnapshot` (the inverse of {@link readStateMetaInfo}). */
export function writeStateMetaInfo(out: DataOutput, m: StateMetaInfo): void {
  out.writeUTF(m.name).writeInt(BACKEND_STATE_TYPES.indexOf(m.backendStateType)).writeInt(m.options.length);
  for (const [k, v] of m.options) out.writeUTF(k).writeUTF(v);
  out.writeInt(m.serializers.length);
  for (const s of m.serializers) {
    out.writeUTF(s.key);
    writeSerializerSnapshot(out, s.snapshot);
  }
}

/** `KeyedBackendSerializationProxy.VERSION`. */
export const KEYED_PROXY_VERSION = 6;

/** The header of a keyed state file (`KeyedBackendSerializationProxy`). */
export interface KeyedBackendHeader {
  /** Proxy version (6). */
  version: number;
  /** Data after the header is Snappy-framed per key group (canonical) or per key group and state (heap). */
  compressed: boolean;
  keySerializer: SerializerSnapshot;
  /** The states; a state's index is its `kvStateId` in the data. */
  states: StateMetaInfo[];
}

/**
 * Reads a `KeyedBackendSerializationProxy` (version 6, written by Flink 1.7 and later, including 2.x).
 * @throws UnsupportedVersionError for versions before 6 (Flink 1.6 and older; Flink 1.17+ refuses
 *   them too), CorruptSnapshotError, UnsupportedSerializerError.
 */
export function readKeyedBackendHeader(input: DataInput): KeyedBackendHeader {
  const at = input.position;
  const version = input.readInt();
  if (version !== KEYED_PROXY_VERSION) {
    throw new UnsupportedVersionError(
      `keyed state header (KeyedBackendSerializationProxy) version ${version}; only version ${KEYED_PROXY_VERSION} (Flink 1.7+) is read`,
      { ...(input.uri === undefined ? {} : { uri: input.uri }), version, offset: input.baseOffset + at },
    );
  }
  const compressed = input.readBoolean();
  const keySerializer = input.within("key serializer", () => readSerializerSnapshot(input));
  const n = input.readShort();
  if (n < 0) throw input.corrupt(`negative state count ${n}`);
  const states: StateMetaInfo[] = [];
  for (let k = 0; k < n; k++) states.push(readStateMetaInfo(input));
  return { version, compressed, keySerializer, states };
}

/** Writes a keyed state header (the inverse of {@link readKeyedBackendHeader}). */
export function writeKeyedBackendHeader(out: DataOutput, h: KeyedBackendHeader): void {
  out.writeInt(h.version).writeBoolean(h.compressed);
  writeSerializerSnapshot(out, h.keySerializer);
  out.writeShort(h.states.length);
  for (const s of h.states) writeStateMetaInfo(out, s);
}

/** The header of an operator state file (`OperatorBackendSerializationProxy`). */
export interface OperatorBackendHeader {
  /** Proxy version: 5 (Flink 1.7-1.16, no compression flag) or 6 (1.17+). */
  version: number;
  /** Version 6: the element data is Snappy-framed. Always false for version 5. */
  compressed: boolean;
  /** List states (split-distribute and union). */
  operatorStates: StateMetaInfo[];
  /** Broadcast states. */
  broadcastStates: StateMetaInfo[];
}

/**
 * Reads an `OperatorBackendSerializationProxy` (versions 5 and 6).
 * @throws UnsupportedVersionError for other versions, CorruptSnapshotError, UnsupportedSerializerError.
 */
export function readOperatorBackendHeader(input: DataInput): OperatorBackendHeader {
  const at = input.position;
  const version = input.readInt();
  if (version !== 5 && version !== 6) {
    throw new UnsupportedVersionError(
      `operator state header (OperatorBackendSerializationProxy) version ${version}; versions 5 and 6 (Flink 1.7+) are read`,
      { ...(input.uri === undefined ? {} : { uri: input.uri }), version, offset: input.baseOffset + at },
    );
  }
  const compressed = version >= 6 ? input.readBoolean() : false;
  const list = (what: string) => {
    const n = input.readShort();
    if (n < 0) throw input.corrupt(`negative ${what} count ${n}`);
    const out: StateMetaInfo[] = [];
    for (let k = 0; k < n; k++) out.push(readStateMetaInfo(input));
    return out;
  };
  const operatorStates = list("operator state");
  const broadcastStates = list("broadcast state");
  return { version, compressed, operatorStates, broadcastStates };
}

/** Writes an operator state header (the inverse of {@link readOperatorBackendHeader}). */
export function writeOperatorBackendHeader(out: DataOutput, h: OperatorBackendHeader): void {
  out.writeInt(h.version);
  if (h.version >= 6) out.writeBoolean(h.compressed);
  for (const list of [h.operatorStates, h.broadcastStates]) {
    out.writeShort(list.length);
    for (const s of list) writeStateMetaInfo(out, s);
  }
}
