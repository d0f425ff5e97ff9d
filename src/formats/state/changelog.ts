/**
 * The files of the changelog state backend (DSTL, "durable short-term log"): the state changes a
 * `ChangelogStateHandleStreamImpl` points at, as Flink's `flink-dstl-dfs` writes them, and the
 * metadata records among those changes.
 *
 * A file (`ChangelogStreamWrapper`): one byte, 1 when the rest is Snappy-framed
 * (`SnappyStreamCompressionDecorator`, `dstl.dfs.compression.enabled`), else 0; then change sets back
 * to back. A handle names each of its change sets by an offset into the stream after that byte
 * (uncompressed). A change set (`StateChangeFormat.writeChangeSet`): int group count; per group an int
 * change count, an int key group, and per change an int length and that many bytes. Key group -1
 * (`AbstractStateChangeLogger.COMMON_KEY_GROUP`) holds metadata, written before the data changes.
 *
 * A change (`AbstractStateChangeLogger`): a byte `StateChangeOperation` code; for METADATA an int
 * `StateMetaInfoSnapshot` version, the snapshot, then (key/value states) the TTL configuration and
 * default value, a short state id and the backend state type; for data changes a short state id, the
 * key and namespace, then the operation's data.
 */

import { CorruptSnapshotError, InvalidArgumentError, UnsupportedVersionError } from "../../errors.js";
import { concatBytes } from "../io/concat.js";
import { DataInput } from "../io/data-input.js";
import type { KeyedStateHandle, KeyGroupRange } from "../metadata/model.js";
import type { ChangelogStreams } from "./changelog-streams.js";
import { readStateMetaInfo, type StateMetaInfo } from "./headers.js";
import { decodeSnappyFramed } from "./snappy.js";
import type { StateFileResolver } from "./stream.js";

/**
 * `StateChangeOperation`, by code, as the released Flink 1.20.5 and 2.3.0 jars number them (read from
 * their bytecode): METADATA is 8. (A later source of apache/flink, at 462cbd1, adds a
 * REMOVE_FIRST_ELEMENT as 8 and moves METADATA to 9; no release we read writes that.)
 */
export const STATE_CHANGE_OPERATIONS = [
  "CLEAR",
  "SET",
  "SET_INTERNAL",
  "ADD",
  "MERGE_NS",
  "ADD_ELEMENT",
  "ADD_OR_UPDATE_ELEMENT",
  "REMOVE_ELEMENT",
  "METADATA",
] as const;
export type StateChangeOperation = (typeof STATE_CHANGE_OPERATIONS)[number];

/** The key group of metadata changes (`AbstractStateChangeLogger.COMMON_KEY_GROUP`). */
export const COMMON_KEY_GROUP = -1;

/** `StateMetaInfoSnapshot` versions a METADATA change may carry that we read (Flink 1.7+ writes 6, 1.15+ 7). */
const META_VERSIONS = new Set([6, 7]);

/** One state change (Flink's `StateChange`) and where it lies. */
export interface StateChange {
  /** The key group the change belongs to; {@link COMMON_KEY_GROUP} for metadata. */
  keyGroup: number;
  /** The change's bytes (operation code first). */
  bytes: Uint8Array;
  /** Offset of those bytes in the file's stream (after the compression byte; uncompressed). */
  offset: number;
}

/**
 * The stream of a changelog file, after its compression byte, uncompressed (`ChangelogStreamWrapper`).
 *
 * @param bytes the whole file.
 * @param uri the file, for errors.
 * @returns the stream; offsets of the file's handles index it.
 * @throws CorruptSnapshotError for an empty file, an unknown compression byte or bad Snappy framing.
 */
export function changelogStream(bytes: Uint8Array, uri: string): Uint8Array {
  if (bytes.byteLength === 0) throw new CorruptSnapshotError("empty changelog file", { uri, offset: 0 });
  const flag = bytes[0];
  if (flag === 0) return bytes.subarray(1);
  if (flag !== 1) {
    throw new CorruptSnapshotError(`changelog compression byte ${flag}, not 0 or 1`, { uri, offset: 0 });
  }
  const chunks = decodeSnappyFramed(bytes.subarray(1), { baseOffset: 1, uri });
  return concatBytes(chunks.map((c) => c.data));
}

/**
 * Reads the change set at `offset` of a changelog stream (`StateChangeFormat.read`).
 *
 * @param stream from {@link changelogStream} (offsets reported are into it).
 * @param offset where the handle says the change set starts.
 * @param uri the file, for errors.
 * @param keyGroups when given, only the changes of these key groups (and METADATA changes, of
 *   {@link COMMON_KEY_GROUP}) are returned; the others are skipped unread.
 * @throws CorruptSnapshotError (file, offset) for an offset outside the stream, negative counts or
 *   lengths, or a change set that runs past the stream's end.
 */
export function readChangeSet(
  stream: Uint8Array,
  offset: number,
  uri: string,
  keyGroups?: KeyGroupRange,
): StateChange[] {
  const input = new DataInput(stream, `${uri} (changelog stream)`);
  if (!Number.isSafeInteger(offset) || offset < 0 || offset > stream.byteLength) {
    throw input.corrupt(`change set offset ${offset} outside the stream's ${stream.byteLength} bytes`, 0);
  }
  input.seek(offset);
  return input.within(`change set at ${offset}`, () => {
    const changes: StateChange[] = [];
    const groups = input.readCount("key groups", 8);
    for (let g = 0; g < groups; g++) {
      const count = input.readCount("changes", 4);
      const keyGroup = input.readInt();
      const skip =
        keyGroups !== undefined &&
        keyGroup !== COMMON_KEY_GROUP &&
        (keyGroup < keyGroups.start || keyGroup > keyGroups.end);
      for (let c = 0; c < count; c++) {
        const size = input.readCount("change length", 1);
        if (skip) {
          input.skipBytes(size);
          continue;
        }
        const at = input.position;
        changes.push({ keyGroup, bytes: input.readFully(size, "change"), offset: at });
      }
    }
    return changes;
  });
}

/** The operation of a change (its first byte). @throws CorruptSnapshotError for an unknown code. */
export function operationOf(change: StateChange, uri: string): StateChangeOperation {
  const code = change.bytes[0];
  const op = code === undefined ? undefined : STATE_CHANGE_OPERATIONS[code];
  if (op === undefined) {
    throw new CorruptSnapshotError(`unknown state change operation ${code ?? "(empty change)"}`, {
      uri: `${uri} (changelog stream)`,
      offset: change.offset,
    });
  }
  return op;
}

/**
 * The state a METADATA change registers: its `StateMetaInfoSnapshot` (name, backend state type,
 * options, serializers), as `ChangelogBackendLogApplier.applyMetaDataChange` reads it first. What
 * follows it (TTL configuration, default value, state id) is not read.
 *
 * @throws CorruptSnapshotError, UnsupportedVersionError (a snapshot version other than 6 and 7),
 *   UnsupportedSerializerError (an unknown serializer snapshot class).
 */
export function readMetadataChange(change: StateChange, uri: string): StateMetaInfo {
  const input = new DataInput(change.bytes, `${uri} (changelog stream)`, change.offset);
  return input.within("changelog metadata", () => {
    const code = input.readUnsignedByte();
    if (STATE_CHANGE_OPERATIONS[code] !== "METADATA")
      throw input.corrupt(`operation ${code} is not METADATA`, 0);
    const at = input.position;
    const version = input.readInt();
    if (!META_VERSIONS.has(version)) {
      throw new UnsupportedVersionError(
        `changelog state meta info version ${version}; versions 6 and 7 are read`,
        {
          uri: `${uri} (changelog stream)`,
          version,
          offset: change.offset + at,
        },
      );
    }
    return readStateMetaInfo(input);
  });
}

/** The states a changelog registers, and how much of it there is. */
export interface ChangelogStates {
  /** The states METADATA changes register, first registration of each name, in log order. */
  states: StateMetaInfo[];
  /** Data changes (every operation but METADATA) in the handles' change sets. */
  dataChanges: number;
}

/** One change of a changelog and the file (DSTL, or the inline label) it lies in. */
export interface LoggedChange {
  change: StateChange;
  /** The changelog file's URI, or `inline:InMemoryChangelogStateHandle`. */
  uri: string;
}

/**
 * The changes of a changelog state backend's non-materialized handles in log order, as
 * `ChangelogBackendRestoreOperation.readBackendHandle` reads them: handle by handle, and in a
 * `ChangelogStateHandleStreamImpl` change set by change set (`StateChangeFormat.read`).
 *
 * @param cache the streams of files already read, by URI (a DSTL file holds the change sets of many
 *   subtasks and checkpoints; pass one per snapshot: a `ChangelogStreamCache`, or a `Map` to keep all).
 * @param keyGroups when given, only data changes of these key groups are given (METADATA changes all).
 * @throws CorruptSnapshotError as {@link changelogStream} and {@link readChangeSet}; the stores'
 *   errors; InvalidArgumentError for a handle that is not a changelog handle.
 */
export async function* changelogChanges(
  handles: readonly KeyedStateHandle[],
  resolver: StateFileResolver,
  cache: ChangelogStreams,
  keyGroups?: KeyGroupRange,
): AsyncGenerator<LoggedChange> {
  for (const h of handles) {
    if (h.kind === "InMemoryChangelogStateHandle") {
      const uri = "inline:InMemoryChangelogStateHandle";
      for (const c of h.changes) {
        const kg = c.keyGroup;
        if (keyGroups && kg !== COMMON_KEY_GROUP && (kg < keyGroups.start || kg > keyGroups.end)) continue;
        yield { change: { keyGroup: kg, bytes: c.data, offset: 0 }, uri };
      }
    } else if (h.kind === "ChangelogStateHandleStreamImpl") {
      for (const { handle, offset } of h.handlesAndOffsets) {
        const file = await resolver.open(handle);
        let stream = cache.get(file.uri);
        if (!stream) {
          // the whole file: the handle claims the uncompressed stream's length (OutputStreamWithPos)
          stream = changelogStream(await file.read(0, file.fileSize ?? file.size), file.uri);
          cache.set(file.uri, stream);
        }
        for (const change of readChangeSet(stream, Number(offset), file.uri, keyGroups))
          yield { change, uri: file.uri };
      }
    } else {
      throw new InvalidArgumentError(`${h.kind} is not a changelog handle`);
    }
  }
}

/**
 * Reads the METADATA changes of a changelog state backend's non-materialized handles
 * (`ChangelogStateHandleStreamImpl`: change sets in DSTL files; `InMemoryChangelogStateHandle`:
 * changes inline), as `ChangelogBackendRestoreOperation` replays them before any data change.
 * Data changes are counted, not decoded (`./changelog-replay.ts` decodes them).
 *
 * @param cache as {@link changelogChanges}.
 * @throws CorruptSnapshotError, UnsupportedVersionError, UnsupportedSerializerError as
 *   {@link readChangeSet} and {@link readMetadataChange}; the stores' errors; InvalidArgumentError for
 *   a handle that is not a changelog handle.
 */
export async function readChangelogStates(
  handles: readonly KeyedStateHandle[],
  resolver: StateFileResolver,
  cache: ChangelogStreams,
): Promise<ChangelogStates> {
  const states: StateMetaInfo[] = [];
  const seen = new Set<string>();
  let dataChanges = 0;
  for await (const { change, uri } of changelogChanges(handles, resolver, cache)) {
    if (operationOf(change, uri) !== "METADATA") {
      dataChanges++;
      continue;
    }
    const meta = readMetadataChange(change, uri);
    if (seen.has(meta.name)) continue;
    seen.add(meta.name);
    states.push(meta);
  }
  return { states, dataChanges };
}
