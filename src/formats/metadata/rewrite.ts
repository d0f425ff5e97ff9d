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
 * `m` with every stream handle under every subtask's handles replaced by what `fn` returns. Key-group
 * handles used as stream handles are descended into (their delegate is mapped). Coordinator state and
 * master states carry no pointers and are kept.
 *
 * Only what changes is copied: an object whose parts `fn` all returns as they were (the same object) is
 * the input's own, and so is the result when `fn` keeps every handle. (A relocation that keeps a
 * savepoint's relative pointers allocates nothing here.)
 */
export function mapStreamHandles(
  m: CheckpointMetadata,
  fn: StreamHandleMapper,
  options: MapStreamHandlesOptions = {},
): CheckpointMetadata {
  const ctx: Ctx = { fn, mapDirectoryPath: options.mapDirectoryPath };
  const operatorStates = mapArray(m.operatorStates, (op) => {
    const subtaskStates = mapArray(op.subtaskStates, (s) =>
      s.kind === "OperatorSubtaskState" ? mapSubtask(s, op.operatorId, ctx) : s,
    );
    return subtaskStates === op.subtaskStates ? op : { ...op, subtaskStates };
  });
  return operatorStates === m.operatorStates ? m : { ...m, operatorStates };
}

/** `a.map(f)`, or `a` itself when `f` returns every element as it was. */
function mapArray<T>(a: T[], f: (x: T, i: number) => T): T[] {
  let out: T[] | undefined;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as T;
    const y = f(x, i);
    if (out) out.push(y);
    else if (y !== x) {
      out = a.slice(0, i);
      out.push(y);
    }
  }
  return out ?? a;
}

function mapSubtask(s: OperatorSubtaskState, operatorId: string, ctx: Ctx): OperatorSubtaskState {
  const site = (slot: string) => ({ operatorId, subtaskIndex: s.subtaskIndex, slot });
  const managedOperatorState =
    s.managedOperatorState && mapOperator(s.managedOperatorState, site("managedOperatorState"), ctx);
  const rawOperatorState =
    s.rawOperatorState && mapOperator(s.rawOperatorState, site("rawOperatorState"), ctx);
  const managedKeyedState =
    s.managedKeyedState && mapKeyed(s.managedKeyedState, site("managedKeyedState"), "", ctx);
  const rawKeyedState = s.rawKeyedState && mapKeyed(s.rawKeyedState, site("rawKeyedState"), "", ctx);
  const inputChannelState = mapArray(s.inputChannelState, (h) =>
    mapChannel(h, site("inputChannelState"), ctx),
  );
  const resultSubpartitionState = mapArray(s.resultSubpartitionState, (h) =>
    mapChannel(h, site("resultSubpartitionState"), ctx),
  );
  return managedOperatorState === s.managedOperatorState &&
    rawOperatorState === s.rawOperatorState &&
    managedKeyedState === s.managedKeyedState &&
    rawKeyedState === s.rawKeyedState &&
    inputChannelState === s.inputChannelState &&
    resultSubpartitionState === s.resultSubpartitionState
    ? s
    : {
        ...s,
        managedOperatorState,
        rawOperatorState,
        managedKeyedState,
        rawKeyedState,
        inputChannelState,
        resultSubpartitionState,
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
    const delegate = mapStream(h.delegate, site, join(role, "delegate"), ctx);
    return delegate === h.delegate ? h : { ...h, delegate };
  }
  return ctx.fn(h, { ...site, role: role || "delegate" });
}

function mapKeyed(h: KeyedStateHandle, site: Site, prefix: string, ctx: Ctx): KeyedStateHandle {
  switch (h.kind) {
    case "KeyGroupsStateHandle":
    case "KeyGroupsSavepointStateHandle": {
      const delegate = mapStream(h.delegate, site, join(prefix, "delegate"), ctx);
      return delegate === h.delegate ? h : { ...h, delegate };
    }
    case "IncrementalRemoteKeyedStateHandle": {
      const metaStateHandle =
        h.metaStateHandle && mapStream(h.metaStateHandle, site, join(prefix, "meta"), ctx);
      const mapEntry = (e: (typeof h.sharedState)[number], role: string) => {
        const handle = mapStream(e.handle, site, join(prefix, `${role}/${e.localPath}`), ctx);
        return handle === e.handle ? e : { ...e, handle };
      };
      const sharedState = mapArray(h.sharedState, (e) => mapEntry(e, "shared"));
      const privateState = mapArray(h.privateState, (e) => mapEntry(e, "private"));
      return metaStateHandle === h.metaStateHandle &&
        sharedState === h.sharedState &&
        privateState === h.privateState
        ? h
        : { ...h, metaStateHandle, sharedState, privateState };
    }
    case "ChangelogStateBackendHandle": {
      const materialized = mapArray(h.materialized, (k, i) =>
        mapKeyed(k, site, join(prefix, `materialized[${i}]`), ctx),
      );
      const nonMaterialized = mapArray(h.nonMaterialized, (k, i) =>
        mapKeyed(k, site, join(prefix, `nonMaterialized[${i}]`), ctx),
      );
      return materialized === h.materialized && nonMaterialized === h.nonMaterialized
        ? h
        : { ...h, materialized, nonMaterialized };
    }
    case "ChangelogStateHandleStreamImpl": {
      const handlesAndOffsets = mapArray(h.handlesAndOffsets, (e, i) => {
        const handle = mapStream(e.handle, site, join(prefix, `changes[${i}]`), ctx);
        return handle === e.handle ? e : { ...e, handle };
      });
      return handlesAndOffsets === h.handlesAndOffsets ? h : { ...h, handlesAndOffsets };
    }
    case "InMemoryChangelogStateHandle":
      return h;
  }
}

function mapOperator(h: OperatorStateHandle, site: Site, ctx: Ctx): OperatorStateHandle {
  const delegate = mapStream(h.delegate, site, "delegate", ctx);
  const dirMapper = ctx.mapDirectoryPath;
  if (h.kind === "FileMergingOperatorStreamStateHandle" && dirMapper) {
    const taskOwnedDirPath = dirMapper(h.taskOwnedDirPath);
    const sharedDirPath = dirMapper(h.sharedDirPath);
    return delegate === h.delegate &&
      taskOwnedDirPath === h.taskOwnedDirPath &&
      sharedDirPath === h.sharedDirPath
      ? h
      : { ...h, delegate, taskOwnedDirPath, sharedDirPath };
  }
  return delegate === h.delegate ? h : { ...h, delegate };
}

function mapChannel<T extends ChannelStateHandle>(h: T, site: Site, ctx: Ctx): T {
  const delegate = mapStream(h.delegate, site, "delegate", ctx);
  return delegate === h.delegate ? h : { ...h, delegate };
}
