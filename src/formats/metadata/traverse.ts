/**
 * Walking the handle tree of a {@link CheckpointMetadata}: which handles a subtask holds, which stream
 * handles (the leaves that hold bytes: inline or in files) sit under each handle, and state sizes as
 * Flink's `StateObject.getStateSize()` reports them.
 *
 * A new handle kind is added here once, and every operation (inspect, files, relocate, prune) sees it.
 */

import { ExactSum } from "../io/exact-sum.js";
import type {
  ChannelStateHandle,
  CheckpointMetadata,
  KeyedStateHandle,
  OperatorState,
  OperatorStateHandle,
  OperatorSubtaskState,
  StreamStateHandle,
} from "./model.js";

/** The slots of an `OperatorSubtaskState`, named as Flink names its fields. */
export type SubtaskSlot =
  | "managedOperatorState"
  | "rawOperatorState"
  | "managedKeyedState"
  | "rawKeyedState"
  | "inputChannelState"
  | "resultSubpartitionState";

/** What a slot holds: keyed, operator or channel state. */
export type StateFamily = "keyed" | "operator" | "channel";

export const SLOT_FAMILY: Record<SubtaskSlot, StateFamily> = {
  managedOperatorState: "operator",
  rawOperatorState: "operator",
  managedKeyedState: "keyed",
  rawKeyedState: "keyed",
  inputChannelState: "channel",
  resultSubpartitionState: "channel",
};

/** Any top-level handle a subtask can hold. */
export type SubtaskHandle = KeyedStateHandle | OperatorStateHandle | ChannelStateHandle;

/** The handles of one subtask, each with the slot it is in. */
export function subtaskHandles(s: OperatorSubtaskState): { slot: SubtaskSlot; handle: SubtaskHandle }[] {
  const out: { slot: SubtaskSlot; handle: SubtaskHandle }[] = [];
  if (s.managedOperatorState) out.push({ slot: "managedOperatorState", handle: s.managedOperatorState });
  if (s.rawOperatorState) out.push({ slot: "rawOperatorState", handle: s.rawOperatorState });
  if (s.managedKeyedState) out.push({ slot: "managedKeyedState", handle: s.managedKeyedState });
  if (s.rawKeyedState) out.push({ slot: "rawKeyedState", handle: s.rawKeyedState });
  for (const h of s.inputChannelState) out.push({ slot: "inputChannelState", handle: h });
  for (const h of s.resultSubpartitionState) out.push({ slot: "resultSubpartitionState", handle: h });
  return out;
}

/**
 * `OperatorSubtaskState.hasState()`: true when any slot holds a handle (even an operator handle with
 * no state names, as Flink counts it).
 */
export function subtaskHasState(s: OperatorSubtaskState): boolean {
  return subtaskHandles(s).length > 0;
}

/** A stream handle reached from a top-level handle, with the role it plays there. */
export interface StreamLeaf {
  /** Role in its parent, e.g. `delegate`, `meta`, `shared/000042.sst`, `private/MANIFEST-000003`. */
  role: string;
  handle: StreamStateHandle;
  /**
   * A changelog (DSTL) file of a `ChangelogStateHandleStreamImpl`: its `stateSize` is the length of the
   * file's stream uncompressed, without the file's first byte (`OutputStreamWithPos`), not the file's
   * size, which is smaller when the changelog is compressed.
   */
  changelogStream?: true;
}

/**
 * Every stream handle under `handle` that holds bytes (inline or in a file), in a stable order.
 * A KeyGroupsStateHandle used as a stream handle is descended into.
 */
export function streamLeaves(handle: SubtaskHandle | StreamStateHandle): StreamLeaf[] {
  const out: StreamLeaf[] = [];
  collect(handle, "", out);
  return out;
}

function collect(h: SubtaskHandle | StreamStateHandle, prefix: string, out: StreamLeaf[]): void {
  const at = (role: string) => (prefix ? `${prefix}/${role}` : role);
  switch (h.kind) {
    case "ByteStreamStateHandle":
    case "FileStateHandle":
    case "RelativeFileStateHandle":
    case "SegmentFileStateHandle":
    case "EmptySegmentFileStateHandle":
      out.push({ role: prefix || "delegate", handle: h });
      return;
    case "KeyGroupsStateHandle":
    case "KeyGroupsSavepointStateHandle":
    case "OperatorStreamStateHandle":
    case "FileMergingOperatorStreamStateHandle":
    case "InputChannelStateHandle":
    case "ResultSubpartitionStateHandle":
    case "MergedInputChannelStateHandle":
    case "MergedResultSubpartitionStateHandle":
      collect(h.delegate, at("delegate"), out);
      return;
    case "IncrementalRemoteKeyedStateHandle":
      if (h.metaStateHandle) collect(h.metaStateHandle, at("meta"), out);
      for (const e of h.sharedState) collect(e.handle, at(`shared/${e.localPath}`), out);
      for (const e of h.privateState) collect(e.handle, at(`private/${e.localPath}`), out);
      return;
    case "ChangelogStateBackendHandle":
      h.materialized.forEach((m, i) => {
        collect(m, at(`materialized[${i}]`), out);
      });
      h.nonMaterialized.forEach((m, i) => {
        collect(m, at(`nonMaterialized[${i}]`), out);
      });
      return;
    case "InMemoryChangelogStateHandle":
      return;
    case "ChangelogStateHandleStreamImpl":
      h.handlesAndOffsets.forEach((e, i) => {
        const first = out.length;
        collect(e.handle, at(`changes[${i}]`), out);
        for (let k = first; k < out.length; k++) (out[k] as StreamLeaf).changelogStream = true;
      });
      return;
  }
}

/** Bytes a stream handle holds: inline bytes, or the state size recorded for a file. */
export function streamHandleSize(h: StreamStateHandle): bigint {
  switch (h.kind) {
    case "ByteStreamStateHandle":
      return BigInt(h.data.byteLength);
    case "FileStateHandle":
    case "RelativeFileStateHandle":
    case "SegmentFileStateHandle":
      return h.stateSize;
    case "EmptySegmentFileStateHandle":
      return 0n;
    case "KeyGroupsStateHandle":
    case "KeyGroupsSavepointStateHandle":
      return streamHandleSize(h.delegate);
  }
}

/**
 * `getStateSize()` of a top-level handle, as Flink computes it (bytes). For incremental RocksDB handles
 * this is the full size (meta + shared + private), not the incremental `checkpointedSize`.
 *
 * @param leaves `streamLeaves(h)` when the caller has it already (it is not walked again).
 */
export function stateSize(h: SubtaskHandle | StreamStateHandle, leaves?: readonly StreamLeaf[]): bigint {
  switch (h.kind) {
    case "ChangelogStateBackendHandle": {
      // ChangelogStateBackendHandleImpl.getStateSize(): its materialized and non-materialized handles'
      // sizes, not the sizes of the changelog files (which hold the changes of many backends)
      const sum = new ExactSum();
      for (const k of [...h.materialized, ...h.nonMaterialized]) sum.add(stateSize(k));
      return sum.value;
    }
    case "InMemoryChangelogStateHandle":
      return h.changes.reduce((n, c) => n + BigInt(c.data.byteLength), 0n);
    case "ChangelogStateHandleStreamImpl":
      return h.size;
    case "InputChannelStateHandle":
    case "ResultSubpartitionStateHandle":
    case "MergedInputChannelStateHandle":
    case "MergedResultSubpartitionStateHandle":
      return h.stateSize;
    default: {
      const sum = new ExactSum();
      for (const l of leaves ?? streamLeaves(h)) sum.add(streamHandleSize(l.handle));
      return sum.value;
    }
  }
}

/** One top-level handle with where it sits in the metadata. */
export interface HandleVisit {
  operatorIndex: number;
  operator: OperatorState;
  subtask: OperatorSubtaskState;
  slot: SubtaskSlot;
  handle: SubtaskHandle;
}

/** Every top-level handle of every (unfinished) subtask of every operator, in file order. */
export function* allHandles(m: CheckpointMetadata): Generator<HandleVisit> {
  for (const [operatorIndex, operator] of m.operatorStates.entries()) {
    for (const subtask of operator.subtaskStates) {
      if (subtask.kind !== "OperatorSubtaskState") continue;
      for (const { slot, handle } of subtaskHandles(subtask)) {
        yield { operatorIndex, operator, subtask, slot, handle };
      }
    }
  }
}
