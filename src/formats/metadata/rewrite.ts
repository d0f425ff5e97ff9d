/**
 * Pure rewrites of a {@link CheckpointMetadata}: the single traversal that changes stream handles (the
 * leaves that hold file pointers or inline bytes) wherever they sit: delegates of key-group, operator
 * and channel handles, the meta/shared/private files of incremental RocksDB handles, and changelog
 * handles. Relocation, pruning (making pointers absolute) and conversion change pointers only through
 * {@link mapStreamHandles}, so a new handle kind is handled in one place.
 *
 * The input is never modified; unchanged parts of the tree are shared with the result.
 */

import type {
  ChannelStateHandle,
  CheckpointMetadata,
  KeyedStateHandle,
  OperatorStateHandle,
  OperatorSubtaskState,
  StreamStateHandle,
} from "./model.js";

/** Where a stream handle sits, for the callback of {@link mapStreamHandles}. */
export interface StreamHandleSite {
  operatorId: string;
  subtaskIndex: number;
  /** Slot of the top-level handle, e.g. `managedKeyedState`. */
  slot: string;
  /** Role of the stream handle in it, e.g. `delegate`, `meta`, `shared/000012.sst`. */
  role: string;
}

/** Returns the replacement for a stream handle (or the handle itself to keep it). */
export type StreamHandleMapper = (handle: StreamStateHandle, site: StreamHandleSite) => StreamStateHandle;

/** Options of {@link mapStreamHandles}. */
export interface MapStreamHandlesOptions {
  /**
   * Maps the absolute directory path strings of `FileMergingOperatorStreamStateHandle`
   * (`taskOwnedDirPath`, `sharedDirPath`), which are not stream handles; kept when absent.
   */
  mapDirectoryPath?: (path: string) => string;
}

/**
 * A copy of `m` in which every stream handle under every subtask's handles is replaced by what `fn`
 * returns. Key-group handles used as stream handles are descended into (their delegate is mapped).
 * Coordinator state and master states carry no pointers and are kept.
 */
export function mapStreamHandles(
  m: CheckpointMetadata,
  fn: StreamHandleMapper,
  options: MapStreamHandlesOptions = {},
): CheckpointMetadata {
  const ctx: Ctx = { fn, mapDirectoryPath: options.mapDirectoryPath };
  return {
    ...m,
    operatorStates: m.operatorStates.map((op) => ({
      ...op,
      subtaskStates: op.subtaskStates.map((s) =>
        s.kind === "OperatorSubtaskState" ? mapSubtask(s, op.operatorId, ctx) : s,
      ),
    })),
  };
}

function mapSubtask(s: OperatorSubtaskState, operatorId: string, ctx: Ctx): OperatorSubtaskState {
  const site = (slot: string) => ({ operatorId, subtaskIndex: s.subtaskIndex, slot });
  return {
    ...s,
    managedOperatorState:
      s.managedOperatorState && mapOperator(s.managedOperatorState, site("managedOperatorState"), ctx),
    rawOperatorState: s.rawOperatorState && mapOperator(s.rawOperatorState, site("rawOperatorState"), ctx),
    managedKeyedState:
      s.managedKeyedState && mapKeyed(s.managedKeyedState, site("managedKeyedState"), "", ctx),
    rawKeyedState: s.rawKeyedState && mapKeyed(s.rawKeyedState, site("rawKeyedState"), "", ctx),
    inputChannelState: s.inputChannelState.map((h) => mapChannel(h, site("inputChannelState"), ctx)),
    resultSubpartitionState: s.resultSubpartitionState.map((h) =>
      mapChannel(h, site("resultSubpartitionState"), ctx),
    ),
  };
}

type Site = Omit<StreamHandleSite, "role">;

/** What every step of the traversal needs. */
interface Ctx {
  fn: StreamHandleMapper;
  mapDirectoryPath: ((path: string) => string) | undefined;
}

function join(prefix: string, role: string): string {
  return prefix ? `${prefix}/${role}` : role;
}

function mapStream(h: StreamStateHandle, site: Site, role: string, ctx: Ctx): StreamStateHandle {
  if (h.kind === "KeyGroupsStateHandle" || h.kind === "KeyGroupsSavepointStateHandle") {
    return { ...h, delegate: mapStream(h.delegate, site, join(role, "delegate"), ctx) };
  }
  return ctx.fn(h, { ...site, role: role || "delegate" });
}

function mapKeyed(h: KeyedStateHandle, site: Site, prefix: string, ctx: Ctx): KeyedStateHandle {
  switch (h.kind) {
    case "KeyGroupsStateHandle":
    case "KeyGroupsSavepointStateHandle":
      return { ...h, delegate: mapStream(h.delegate, site, join(prefix, "delegate"), ctx) };
    case "IncrementalRemoteKeyedStateHandle":
      return {
        ...h,
        metaStateHandle: h.metaStateHandle && mapStream(h.metaStateHandle, site, join(prefix, "meta"), ctx),
        sharedState: h.sharedState.map((e) => ({
          ...e,
          handle: mapStream(e.handle, site, join(prefix, `shared/${e.localPath}`), ctx),
        })),
        privateState: h.privateState.map((e) => ({
          ...e,
          handle: mapStream(e.handle, site, join(prefix, `private/${e.localPath}`), ctx),
        })),
      };
    case "ChangelogStateBackendHandle":
      return {
        ...h,
        materialized: h.materialized.map((k, i) =>
          mapKeyed(k, site, join(prefix, `materialized[${i}]`), ctx),
        ),
        nonMaterialized: h.nonMaterialized.map((k, i) =>
          mapKeyed(k, site, join(prefix, `nonMaterialized[${i}]`), ctx),
        ),
      };
    case "ChangelogStateHandleStreamImpl":
      return {
        ...h,
        handlesAndOffsets: h.handlesAndOffsets.map((e, i) => ({
          ...e,
          handle: mapStream(e.handle, site, join(prefix, `changes[${i}]`), ctx),
        })),
      };
    case "InMemoryChangelogStateHandle":
      return h;
  }
}

function mapOperator(h: OperatorStateHandle, site: Site, ctx: Ctx): OperatorStateHandle {
  const delegate = mapStream(h.delegate, site, "delegate", ctx);
  const dirMapper = ctx.mapDirectoryPath;
  if (h.kind === "FileMergingOperatorStreamStateHandle" && dirMapper) {
    return {
      ...h,
      delegate,
      taskOwnedDirPath: dirMapper(h.taskOwnedDirPath),
      sharedDirPath: dirMapper(h.sharedDirPath),
    };
  }
  return { ...h, delegate };
}

function mapChannel<T extends ChannelStateHandle>(h: T, site: Site, ctx: Ctx): T {
  return { ...h, delegate: mapStream(h.delegate, site, "delegate", ctx) };
}
