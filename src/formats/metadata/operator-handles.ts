/**
 * Operator state handles: the named list/union/broadcast states of one subtask in one stream.
 *
 * Mirrors `MetadataV2V3SerializerBase.serializeOperatorStateHandle` /
 * `deserializeOperatorStateHandle` (apache/flink 1.20-era layout). After the one-byte tag (read
 * signed, as Flink's `readByte()`):
 *
 * | tag | class                                      | body                                                      |
 * |-----|--------------------------------------------|-----------------------------------------------------------|
 * | 0   | null                                       | —                                                         |
 * | 4   | `OperatorStreamStateHandle` (1.3/1.4: the class `OperatorStateHandle`) | map, stream delegate          |
 * | 17  | `FileMergingOperatorStreamStateHandle`     | map, UTF taskOwnedDir, UTF sharedDir, boolean isEmpty, stream delegate (segment handle) |
 *
 * where `map` is `int n, {UTF name, byte mode, int k, long[k] offsets}×n`, `mode` being the ordinal
 * of `OperatorStateHandle.Mode` (0 SPLIT_DISTRIBUTE, 1 UNION, 2 BROADCAST; Flink 1.3/1.4 had only 0
 * and 1, which it called BROADCAST: the union redistribution that 1.5 renamed UNION when it added the
 * broadcast state as 2, so 1.5+ reads those files' 1 as UNION, as we do). Flink reads the map into a
 * `HashMap`, so entry order carries no meaning; the model keeps file order for byte-exact rewrites.
 * `isEmpty = true` is Flink's `EmptyFileMergingOperatorStreamStateHandle`.
 */

import { InvalidArgumentError } from "../../errors.js";
import type { DataInput } from "../io/data-input.js";
import type { DataOutput } from "../io/data-output.js";
import {
  descendRead,
  descendWrite,
  type ReadContext,
  readStrictBoolean,
  readString,
  type WriteContext,
  writeInt32,
  writeInt64,
  writeString,
} from "./common.js";
import type {
  OperatorStateDistributionMode,
  OperatorStateEntry,
  OperatorStateHandle,
  StreamStateHandle,
} from "./model.js";
import { readStreamStateHandle, writeStreamStateHandle } from "./stream-handles.js";
import { HandleTag } from "./tags.js";

/** `OperatorStateHandle.Mode.values()`, in ordinal order. */
export const OPERATOR_STATE_MODES: readonly OperatorStateDistributionMode[] = [
  "SPLIT_DISTRIBUTE",
  "UNION",
  "BROADCAST",
];

/**
 * Reads one operator state handle (tag byte + body), as `deserializeOperatorStateHandle`.
 * @returns the handle, or null for tag 0.
 * @throws CorruptSnapshotError on truncation, an unknown tag or mode, duplicate state names, or a
 *   missing/wrong delegate.
 */
export function readOperatorStateHandle(input: DataInput, ctx: ReadContext): OperatorStateHandle | null {
  const at = input.position;
  const tag = input.readByte();
  if (tag === HandleTag.NULL_HANDLE) return null;
  if (
    tag !== HandleTag.PARTITIONABLE_OPERATOR_STATE_HANDLE &&
    tag !== HandleTag.SEGMENT_PARTITIONABLE_OPERATOR_STATE_HANDLE
  ) {
    throw input.corrupt(`unknown OperatorStateHandle type tag ${tag}`, at);
  }
  const states = readStateMap(input);
  if (tag === HandleTag.PARTITIONABLE_OPERATOR_STATE_HANDLE) {
    const delegate = readDelegate(input, ctx);
    return { kind: "OperatorStreamStateHandle", states, delegate };
  }
  const taskOwnedDirPath = readString(input);
  const sharedDirPath = readString(input);
  const isEmpty = readStrictBoolean(input, "FileMergingOperatorStreamStateHandle isEmpty");
  const dAt = input.position;
  const delegate = readDelegate(input, ctx);
  if (delegate.kind !== "SegmentFileStateHandle" && delegate.kind !== "EmptySegmentFileStateHandle") {
    throw input.corrupt(
      `FileMergingOperatorStreamStateHandle delegate must be a segment handle, found ${delegate.kind}`,
      dAt,
    );
  }
  return {
    kind: "FileMergingOperatorStreamStateHandle",
    states,
    taskOwnedDirPath,
    sharedDirPath,
    isEmpty,
    delegate,
  };
}

function readStateMap(input: DataInput): OperatorStateEntry[] {
  // each entry: UTF length (2) + mode (1) + offsets count (4)
  const n = input.readCount("number of operator states", 7);
  const states: OperatorStateEntry[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const nameAt = input.position;
    const name = readString(input);
    if (seen.has(name)) throw input.corrupt(`duplicate operator state name ${JSON.stringify(name)}`, nameAt);
    seen.add(name);
    const modeAt = input.position;
    const ordinal = input.readByte();
    const mode = OPERATOR_STATE_MODES[ordinal];
    if (mode === undefined)
      throw input.corrupt(`invalid OperatorStateHandle.Mode ordinal ${ordinal}`, modeAt);
    const k = input.readCount(`number of offsets of operator state ${JSON.stringify(name)}`, 8);
    const offsets: bigint[] = new Array(k);
    for (let j = 0; j < k; j++) offsets[j] = input.readLong();
    states.push({ name, mode, offsets });
  }
  return states;
}

function readDelegate(input: DataInput, ctx: ReadContext): StreamStateHandle {
  const at = input.position;
  const delegate = descendRead(input, ctx, () => readStreamStateHandle(input, ctx));
  if (delegate === null) throw input.corrupt("operator state handle without a delegate stream handle", at);
  return delegate;
}

/**
 * Writes one operator state handle (tag byte + body), as `serializeOperatorStateHandle`.
 * @throws InvalidArgumentError for duplicate state names, an unknown mode, a missing delegate, a
 *   file-merging handle whose delegate is not a segment handle, or an unknown kind.
 */
export function writeOperatorStateHandle(
  out: DataOutput,
  h: OperatorStateHandle | null,
  ctx: WriteContext,
): void {
  if (h === null || h === undefined) {
    out.writeByte(HandleTag.NULL_HANDLE);
    return;
  }
  if (h.kind !== "OperatorStreamStateHandle" && h.kind !== "FileMergingOperatorStreamStateHandle") {
    throw new InvalidArgumentError(
      `unknown OperatorStateHandle kind ${JSON.stringify((h as { kind: unknown }).kind)}`,
    );
  }
  const merging = h.kind === "FileMergingOperatorStreamStateHandle";
  out.writeByte(
    merging
      ? HandleTag.SEGMENT_PARTITIONABLE_OPERATOR_STATE_HANDLE
      : HandleTag.PARTITIONABLE_OPERATOR_STATE_HANDLE,
  );
  writeStateMap(out, h.states);
  if (!h.delegate) throw new InvalidArgumentError(`${h.kind} without a delegate stream handle`);
  if (merging) {
    writeString(out, h.taskOwnedDirPath, "FileMergingOperatorStreamStateHandle.taskOwnedDirPath");
    writeString(out, h.sharedDirPath, "FileMergingOperatorStreamStateHandle.sharedDirPath");
    out.writeBoolean(h.isEmpty === true);
    if (h.delegate.kind !== "SegmentFileStateHandle" && h.delegate.kind !== "EmptySegmentFileStateHandle") {
      throw new InvalidArgumentError(
        `FileMergingOperatorStreamStateHandle delegate must be a segment handle, got ${h.delegate.kind}`,
      );
    }
  }
  descendWrite(ctx, () => writeStreamStateHandle(out, h.delegate, ctx));
}

function writeStateMap(out: DataOutput, states: OperatorStateEntry[]): void {
  if (!Array.isArray(states)) throw new InvalidArgumentError("operator state handle: states must be a list");
  writeInt32(out, states.length, "number of operator states");
  const seen = new Set<string>();
  for (const s of states) {
    if (seen.has(s.name))
      throw new InvalidArgumentError(`duplicate operator state name ${JSON.stringify(s.name)}`);
    seen.add(s.name);
    writeString(out, s.name, "operator state name");
    const ordinal = OPERATOR_STATE_MODES.indexOf(s.mode);
    if (ordinal < 0) throw new InvalidArgumentError(`unknown operator state mode ${JSON.stringify(s.mode)}`);
    out.writeByte(ordinal);
    if (!Array.isArray(s.offsets))
      throw new InvalidArgumentError(`operator state ${s.name}: offsets must be a list`);
    writeInt32(out, s.offsets.length, "number of offsets");
    for (const o of s.offsets) writeInt64(out, o, `operator state ${s.name} offset`);
  }
}
