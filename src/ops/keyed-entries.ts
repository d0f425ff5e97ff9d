/**
 * The keyed-state entries of one subtask, whatever holds them: key-group files (canonical savepoints,
 * heap-native checkpoints), RocksDB native state (`IncrementalRemoteKeyedStateHandle`), and the
 * changelog state backend (`ChangelogStateBackendHandle`: its materialized part, one of the former,
 * with the changes logged since replayed onto it, see `../formats/state/changelog-replay.ts`).
 */

import { tmpdir } from "node:os";
import { InvalidArgumentError, UnsupportedVersionError } from "../errors.js";
import type {
  ChangelogStateBackendHandle,
  KeyedStateHandle,
  KeyGroupRange,
  OperatorState,
  OperatorSubtaskState,
} from "../formats/metadata/model.js";
import { openFlinkRocksDb } from "../formats/rocksdb/flink.js";
import {
  keyGroupParts,
  readChangelogLog,
  replayChangelog,
  selectChanges,
  timerKeySerializer,
} from "../formats/state/changelog-replay.js";
import { spillChangelog } from "../formats/state/changelog-spill.js";
import type { ChangelogStreams } from "../formats/state/changelog-streams.js";
import type { KeyedBackendHeader } from "../formats/state/headers.js";
import {
  detectKeyedLayout,
  type KeyedLayout,
  type KeyedStateEntry,
  keyGroupPrefixBytes,
  readKeyedEntryBatches,
  readKeyedHeader,
} from "../formats/state/keyed.js";
import { readRocksDbKeyedEntryBatches } from "../formats/state/rocksdb-keyed.js";
import { serializerOf } from "../formats/state/serializers/snapshots.js";
import type { SerializerSnapshot, TypeSerializer } from "../formats/state/serializers/types.js";
import type { StateFileResolver } from "../formats/state/stream.js";

/** Keyed state savepoint-kit cannot read: a handle that holds no entries on its own, or a changelog whose key type is unknown. */
export class UnsupportedStateLayoutError extends UnsupportedVersionError {
  constructor(message: string, options: { uri?: string; offset?: number }) {
    super(message, {
      ...(options.uri === undefined ? {} : { uri: options.uri }),
      version: 0,
      offset: options.offset ?? 0,
    });
  }
}

/** The (unfinished) subtask states of an operator. */
export function subtasksOf(op: OperatorState): OperatorSubtaskState[] {
  return op.subtaskStates.filter((s): s is OperatorSubtaskState => s.kind === "OperatorSubtaskState");
}

/**
 * Reads the keyed header of any readable keyed handle: canonical/heap key-group files, or the meta
 * file of a RocksDB native/incremental handle.
 */
export async function keyedHeaderOf(
  handle: KeyedStateHandle,
  resolver: StateFileResolver,
): Promise<{ header: KeyedBackendHeader; layout: KeyedLayout | "rocksdb-native" } | null> {
  if (handle.kind === "KeyGroupsStateHandle" || handle.kind === "KeyGroupsSavepointStateHandle") {
    const file = await resolver.open(handle.delegate);
    const { header } = await readKeyedHeader(file);
    return { header, layout: await detectKeyedLayout(file, handle) };
  }
  if (handle.kind === "IncrementalRemoteKeyedStateHandle" && handle.metaStateHandle) {
    const file = await resolver.open(handle.metaStateHandle);
    const { header } = await readKeyedHeader(file);
    return { header, layout: "rocksdb-native" };
  }
  return null;
}

/** What to read of a subtask's keyed state. */
export interface KeyedEntryOptions {
  /** Only this state (by name). */
  state?: string;
  /** Only key groups in this inclusive range. */
  keyGroups?: KeyGroupRange;
  /** Verify Snappy chunk checksums and RocksDB block checksums (default true). */
  verifyChecksums?: boolean;
  /**
   * The key serializer to use when the snapshot records none (the changelog state backend before its
   * first materialization, without timers); a recorded one is always used.
   */
  keySerializer?: TypeSerializer;
}

/** Entries being read; `found()` tells, once they are all pulled, whether the wanted state is there. */
export interface KeyedEntries {
  batches: AsyncGenerator<KeyedStateEntry[]>;
  found: () => boolean;
}

/**
 * Default of {@link KeyedReadContext.changelogReplayBytes} (bytes): a subtask's changelog changes up to
 * this are held at once (copied out of the changelog files, with 36 bytes of index each); a subtask with
 * more has its changelog read a second time, its changes written to local files by parts of its key
 * groups (`keyGroupParts`, `formats/state/changelog-spill.ts`), and replayed a part at a time, so that
 * memory does not grow with the changelog, and the changelog is read twice whatever its size.
 */
export const CHANGELOG_REPLAY_BYTES = 128 * 1024 * 1024;

/** Per-snapshot reading context: changelog files are shared by many subtasks. */
export interface KeyedReadContext {
  resolver: StateFileResolver;
  /**
   * Changelog (DSTL) streams already read, by URI: one per snapshot, a `ChangelogStreamCache` (a
   * budget of bytes) or a `Map` (every stream read kept).
   */
  changelogCache: ChangelogStreams;
  /**
   * The most bytes of a subtask's changelog changes replayed at once (default
   * {@link CHANGELOG_REPLAY_BYTES}): a changelog with more is spilled to local files by parts of its key
   * groups (`formats/state/changelog-spill.ts`) and replayed a part at a time.
   */
  changelogReplayBytes?: number;
  /** The local directory under which such spill files go (default `os.tmpdir()`). */
  spillDirectory?: string;
  /** The snapshot's `_metadata`, for errors. */
  metadataUri: string;
}

/**
 * The keyed-state entries of one subtask's handle, key groups ascending, read lazily as the batches are
 * pulled (constant memory, but for the changelog state backend: see {@link changelogEntries}).
 *
 * @throws (as the batches are pulled) UnsupportedStateLayoutError for a handle kind that holds no keyed
 *   entries to read (a changelog handle alone), and the errors of the readers (CorruptSnapshotError,
 *   UnsupportedVersionError, UnsupportedSerializerError, the stores' errors).
 */
export function keyedEntries(
  op: OperatorState,
  subtask: number,
  handle: KeyedStateHandle,
  ctx: KeyedReadContext,
  options: KeyedEntryOptions,
): KeyedEntries {
  if (handle.kind === "ChangelogStateBackendHandle")
    return changelogEntries(op, subtask, handle, ctx, options);
  let found = false;
  async function* batches(): AsyncGenerator<KeyedStateEntry[]> {
    const r = await materializedEntries(op, subtask, handle, ctx, options);
    found = r.found;
    yield* r.batches;
  }
  return { batches: batches(), found: () => found };
}

/** The entries of a key-groups or RocksDB handle, and the key serializer of its header. */
interface MaterializedEntries {
  batches: AsyncGenerator<KeyedStateEntry[]>;
  /** Whether the wanted state is one of the header's (true when no state is asked for). */
  found: boolean;
  keySerializer: TypeSerializer;
}

async function materializedEntries(
  op: OperatorState,
  subtask: number,
  handle: KeyedStateHandle,
  ctx: KeyedReadContext,
  options: KeyedEntryOptions,
): Promise<MaterializedEntries> {
  const { resolver } = ctx;
  const stateIdsOf = (names: readonly string[]) => {
    if (options.state === undefined) return undefined;
    const id = names.indexOf(options.state);
    return new Set(id >= 0 ? [id] : []);
  };
  if (handle.kind === "IncrementalRemoteKeyedStateHandle") {
    const rocks = await openFlinkRocksDb(handle, resolver, {
      label: `${op.uid ?? op.operatorId}[${subtask}]`,
      ...(options.verifyChecksums === undefined
        ? {}
        : { table: { verifyChecksums: options.verifyChecksums } }),
    });
    const stateIds = stateIdsOf(rocks.header.states.map((s) => s.name));
    const uri = handle.metaStateHandle ? (await resolver.open(handle.metaStateHandle)).uri : undefined;
    const none = stateIds !== undefined && stateIds.size === 0;
    return {
      found: !none,
      keySerializer: serializerOf(rocks.header.keySerializer),
      batches: none
        ? empty()
        : readRocksDbKeyedEntryBatches(rocks, op.maxParallelism, {
            ...(stateIds ? { stateIds } : {}),
            ...(options.keyGroups ? { keyGroups: options.keyGroups } : {}),
            ...(uri === undefined ? {} : { uri }),
          }),
    };
  }
  if (handle.kind === "KeyGroupsStateHandle" || handle.kind === "KeyGroupsSavepointStateHandle") {
    const file = await resolver.open(handle.delegate);
    const { header } = await readKeyedHeader(file);
    const stateIds = stateIdsOf(header.states.map((s) => s.name));
    const none = stateIds !== undefined && stateIds.size === 0;
    return {
      found: !none,
      keySerializer: serializerOf(header.keySerializer),
      batches: none
        ? empty()
        : readKeyedEntryBatches(file, handle, header, {
            keyGroupPrefixBytes: keyGroupPrefixBytes(op.maxParallelism),
            ...(stateIds ? { stateIds } : {}),
            ...(options.keyGroups ? { keyGroups: options.keyGroups } : {}),
            ...(options.verifyChecksums === undefined ? {} : { verifyChecksums: options.verifyChecksums }),
          }),
    };
  }
  throw new UnsupportedStateLayoutError(
    `operator ${op.uid ?? op.operatorId} subtask ${subtask}: keyed state in ${handle.kind} cannot be read on its own`,
    { uri: ctx.metadataUri },
  );
}

async function* empty(): AsyncGenerator<KeyedStateEntry[]> {}

/**
 * Batches of entries in ascending key-group order, handed out a key-group range at a time (a batch that
 * straddles a range's end is split): the materialized part of a changelog replayed in parts.
 */
class KeyGroupCursor {
  private pending: KeyedStateEntry[] | null = null;
  private done = false;

  constructor(private readonly batches: AsyncIterator<KeyedStateEntry[]>) {}

  /**
   * The entries up to `range.end`, after those of earlier calls (ranges ascending, adjoining).
   * @throws InvalidArgumentError for an entry of a key group before `range.start` (out of order).
   */
  async *upTo(range: KeyGroupRange): AsyncGenerator<KeyedStateEntry[]> {
    for (;;) {
      let batch = this.pending;
      this.pending = null;
      if (!batch) {
        if (this.done) return;
        const next = await this.batches.next();
        if (next.done) {
          this.done = true;
          return;
        }
        batch = next.value;
      }
      const first = batch[0];
      if (!first) continue;
      if (first.keyGroup < range.start) {
        throw new InvalidArgumentError(
          `materialized entries out of key-group order: ${first.keyGroup} after key group ${range.start} began`,
        );
      }
      let i = 0;
      while (i < batch.length && (batch[i] as KeyedStateEntry).keyGroup <= range.end) i++;
      if (i === batch.length) {
        yield batch;
        continue;
      }
      if (i > 0) yield batch.slice(0, i);
      this.pending = batch.slice(i);
      return;
    }
  }
}

function intersect(a: KeyGroupRange, b: KeyGroupRange | undefined): KeyGroupRange {
  return b ? { start: Math.max(a.start, b.start), end: Math.min(a.end, b.end) } : a;
}

/**
 * The key serializer snapshot of an operator of the changelog state backend: the meta data of the first
 * subtask's materialized part (every subtask of an operator has the job's key serializer), or null.
 */
export async function materializedKeySnapshot(
  op: OperatorState,
  ctx: KeyedReadContext,
): Promise<SerializerSnapshot | null> {
  for (const sub of subtasksOf(op)) {
    const kh = sub.managedKeyedState;
    if (kh?.kind !== "ChangelogStateBackendHandle") continue;
    for (const m of kh.materialized) {
      const got = await keyedHeaderOf(m, ctx.resolver);
      if (got) return got.header.keySerializer;
    }
  }
  return null;
}

/**
 * The entries a `ChangelogStateBackendHandle` restores to: its materialized part's entries (RocksDB or
 * key-group files, clipped to the handle's key groups), with the changes of its non-materialized
 * handles replayed onto them, key group by key group.
 *
 * The changes' keys are read with the key serializer of the materialized part (of this subtask, or of
 * another subtask of the operator), or, when the operator's changelog was never materialized, of a
 * timer state the changelog registers.
 *
 * Memory: the bytes of the subtask's changes in the key groups read (the changelog since its last
 * materialization), at most `ctx.changelogReplayBytes` of them at once (else spilled to local files and
 * replayed by parts), 36 bytes more per change, the streams `ctx.changelogCache` keeps, and one key
 * group's entries.
 *
 * @throws (as the batches are pulled) UnsupportedSerializerError for changes of key/value state when
 *   no key serializer is recorded; ChangelogReplayError for merged namespaces of reducing or
 *   aggregating state holding several values; the readers' errors.
 */
function changelogEntries(
  op: OperatorState,
  subtask: number,
  handle: ChangelogStateBackendHandle,
  ctx: KeyedReadContext,
  options: KeyedEntryOptions,
): KeyedEntries {
  let found = false;
  async function* batches(): AsyncGenerator<KeyedStateEntry[]> {
    const range = intersect(handle.keyGroupRange, options.keyGroups);
    if (range.start > range.end) return;
    const budget = ctx.changelogReplayBytes ?? CHANGELOG_REPLAY_BYTES;
    const states = options.state === undefined ? undefined : new Set([options.state]);
    const log = await readChangelogLog(handle.nonMaterialized, ctx.resolver, ctx.changelogCache, {
      keyGroups: range,
      ...(states ? { states } : {}),
      maxBytes: budget,
    });
    // the materialized part, by key groups (several handles after a rescaling, disjoint)
    const materialized = [...handle.materialized].sort(
      (a, b) => a.keyGroupRange.start - b.keyGroupRange.start,
    );
    const opened: MaterializedEntries[] = [];
    for (const m of materialized) {
      const r = await materializedEntries(op, subtask, m, ctx, { ...options, keyGroups: range });
      opened.push(r);
      if (r.found) found = true;
    }
    if (log.states.some((s) => options.state === undefined || s.info.name === options.state)) found = true;
    if (options.state === undefined) found = true;
    // this subtask's materialized part, another subtask's, a timer state's, or the one given
    const elsewhere = opened[0] ? null : await materializedKeySnapshot(op, ctx);
    const keySerializer =
      opened[0]?.keySerializer ??
      (elsewhere ? serializerOf(elsewhere) : null) ??
      timerKeySerializer(log) ??
      options.keySerializer ??
      null;
    // (the log counts only the changes of `options.state` in `range`)
    const keyed = log.changed.some((s) => s.kind !== "timers");
    if (!keySerializer && keyed) {
      throw new UnsupportedStateLayoutError(
        `operator ${op.uid ?? op.operatorId} subtask ${subtask}: the changelog state backend was never materialized and its changes record no key type; name it (dump --key-type, e.g. String)`,
        { uri: ctx.metadataUri },
      );
    }
    async function* base(): AsyncGenerator<KeyedStateEntry[]> {
      for (const r of opened) yield* r.batches;
    }
    const cursor = new KeyGroupCursor(base());
    const kinds = new Map(log.states.map((s) => [s.info.name, s.info.kind]));
    // the whole log at once when its changes fit the budget; else spilled to local files by parts of the
    // key groups, each part's changes within the budget, and replayed a part at a time (the materialized
    // entries taken part by part)
    const parts = log.complete ? [range] : keyGroupParts(log.keyGroupBytes, range, budget);
    const spilled = log.complete
      ? null
      : await spillChangelog(handle.nonMaterialized, ctx.resolver, ctx.changelogCache, {
          parts,
          ...(states ? { states } : {}),
          directory: ctx.spillDirectory ?? tmpdir(),
        });
    try {
      for (let i = 0; i < parts.length; i++) {
        const part = parts[i] as KeyGroupRange;
        const changes = selectChanges(spilled ? { ...log, changes: await spilled.read(i) } : log, {
          keySerializer,
          keyGroupRange: handle.keyGroupRange,
          keyGroups: part,
          ...(states ? { states } : {}),
        });
        yield* replayChangelog(cursor.upTo(part), changes, kinds);
      }
    } finally {
      await spilled?.close();
    }
  }
  return { batches: batches(), found: () => found };
}
