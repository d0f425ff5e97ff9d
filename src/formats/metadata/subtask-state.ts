/**
 * The parts of a subtask record every version shares, and the finished-subtask index encoding.
 *
 * Mirrors `MetadataV2V3SerializerBase.serializeSubtaskState` / `deserializeSubtaskState`:
 *
 * ```
 * int hasManagedOperatorState (0/1)   [OperatorStateHandle if 1]
 * int hasRawOperatorState     (0/1)   [OperatorStateHandle if 1]
 * KeyedStateHandle managedKeyedState  (tag 0 = none)
 * KeyedStateHandle rawKeyedState      (tag 0 = none)
 * ```
 *
 * Each slot is a singleton in Flink (`extractSingleton`): the model holds at most one handle per slot.
 * Note that `hasManagedOperatorState = 1` may be followed by an operator handle with tag 0; Flink's
 * writer never produces that (it writes flag 0 for a missing handle), so we refuse it on read.
 *
 * V3 adds the two channel-state lists (see `channel-handles.ts`) after these slots, and V3+ encodes a
 * finished subtask as the negative index `-(index + 1)` with no body (`MetadataV3Serializer.
 * serializeSubtaskIndexAndFinishedState`).
 */

import { InvalidArgumentError } from "../../errors.js";
import type { DataInput } from "../io/data-input.js";
import type { DataOutput } from "../io/data-output.js";
import { type ReadContext, readIntFlag, type WriteContext } from "./common.js";
import { readKeyedStateHandle, writeKeyedStateHandle } from "./keyed-handles.js";
import type { KeyedStateHandle, OperatorStateHandle } from "./model.js";
import { readOperatorStateHandle, writeOperatorStateHandle } from "./operator-handles.js";

/** The four singleton slots of `OperatorSubtaskState` stored by every metadata version. */
export interface SubtaskSlots {
  managedOperatorState: OperatorStateHandle | null;
  rawOperatorState: OperatorStateHandle | null;
  managedKeyedState: KeyedStateHandle | null;
  rawKeyedState: KeyedStateHandle | null;
}

/** Smallest encoded slots: two int flags and two null keyed tags. */
export const MIN_SUBTASK_SLOTS_BYTES = 4 + 4 + 1 + 1;

/**
 * Reads the four slots.
 * @throws CorruptSnapshotError on truncation, a flag other than 0/1, a flag of 1 without a handle, or
 *   any handle error.
 */
export function readSubtaskSlots(input: DataInput, ctx: ReadContext): SubtaskSlots {
  const managedOperatorState = readOperatorSlot(input, ctx, "managedOperatorState");
  const rawOperatorState = readOperatorSlot(input, ctx, "rawOperatorState");
  const managedKeyedState = input.within("managedKeyedState", () => readKeyedStateHandle(input, ctx));
  const rawKeyedState = input.within("rawKeyedState", () => readKeyedStateHandle(input, ctx));
  return { managedOperatorState, rawOperatorState, managedKeyedState, rawKeyedState };
}

function readOperatorSlot(input: DataInput, ctx: ReadContext, slot: string): OperatorStateHandle | null {
  return input.within(slot, () => {
    if (!readIntFlag(input, `has${slot[0]?.toUpperCase()}${slot.slice(1)}`)) return null;
    const at = input.position;
    const h = readOperatorStateHandle(input, ctx);
    if (h === null) throw input.corrupt("operator state flagged present but its handle is null", at);
    return h;
  });
}

/**
 * Writes the four slots.
 * @throws InvalidArgumentError from the handle writers.
 */
export function writeSubtaskSlots(out: DataOutput, s: SubtaskSlots, ctx: WriteContext): void {
  for (const h of [s.managedOperatorState, s.rawOperatorState]) {
    if (h === null || h === undefined) {
      out.writeInt(0);
    } else {
      out.writeInt(1);
      writeOperatorStateHandle(out, h, ctx);
    }
  }
  writeKeyedStateHandle(out, s.managedKeyedState ?? null, ctx);
  writeKeyedStateHandle(out, s.rawKeyedState ?? null, ctx);
}

/**
 * Decodes a V3+ stored subtask index: `index` for a running subtask, `-(index + 1)` for a finished one.
 */
export function decodeSubtaskIndex(stored: number): { index: number; finished: boolean } {
  return stored < 0 ? { index: -stored - 1, finished: true } : { index: stored, finished: false };
}

/**
 * Encodes a V3+ subtask index (see {@link decodeSubtaskIndex}).
 * @throws InvalidArgumentError for a negative or non-int index.
 */
export function encodeSubtaskIndex(index: number, finished: boolean): number {
  if (!Number.isInteger(index) || index < 0 || index > 0x7fffffff) {
    throw new InvalidArgumentError(`invalid subtask index ${String(index)}`);
  }
  return finished ? -(index + 1) : index;
}
