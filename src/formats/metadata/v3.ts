/**
 * Metadata format version 3 (written by Flink 1.11 – 1.14), and the base of V4..V7.
 *
 * Mirrors `MetadataV3Serializer`. Operator record:
 *
 * ```
 * [V5+: UTF name, UTF uid]               (see v5.ts)
 * long lowerPart, long upperPart         OperatorID
 * int  parallelism
 * int  maxParallelism
 * StreamStateHandle coordinatorState     tag 0 or 1 only ("Expected a ByteStreamStateHandle ...")
 * int  numSubtasks                       -1: fully finished operator, nothing follows
 * × numSubtasks:
 *     int storedIndex                    < 0: finished subtask -(index+1), no body
 *     subtask slots                      (subtask-state.ts)
 *     ChannelList inputChannelState      (channel-handles.ts)
 *     ChannelList resultSubpartitionState
 *     [V7: byte marker, long refCheckpointId if marker = 1]   (see v7.ts)
 * ```
 *
 * Flink 1.14 added finished subtasks and fully finished operators without a version bump. A fully
 * finished operator must have no coordinator state (a `checkState` in Flink). Flink treats any
 * negative subtask count as "fully finished" but only writes -1; we refuse other negatives so
 * rewrites stay byte-exact.
 */

import { InvalidArgumentError } from "../../errors.js";
import type { DataInput } from "../io/data-input.js";
import type { DataOutput } from "../io/data-output.js";
import {
  readInputChannelStateHandles,
  readResultSubpartitionStateHandles,
  writeInputChannelStateHandles,
  writeResultSubpartitionStateHandles,
} from "./channel-handles.js";
import { type ReadContext, readOperatorId, type WriteContext, writeOperatorId } from "./common.js";
import type {
  ByteStreamStateHandle,
  OperatorState,
  OperatorSubtaskState,
  SubtaskStateEntry,
} from "./model.js";
import { checkReadParallelism, SubtaskIndexTracker } from "./operator-state.js";
import { readStreamStateHandle, writeStreamStateHandle } from "./stream-handles.js";
import {
  decodeSubtaskIndex,
  encodeSubtaskIndex,
  readSubtaskSlots,
  writeSubtaskSlots,
} from "./subtask-state.js";
import { MetadataSerializerBase } from "./v2v3-base.js";

/** Codec for metadata V3 (`MetadataV3Serializer`); V4..V7 extend it as Flink's classes do. */
export class MetadataV3Serializer extends MetadataSerializerBase {
  readonly version: number = 3;
  protected readonly minOperatorBytes: number = 16 + 4 + 4 + 1 + 4;
  /** Which `ChannelStateHandleSerializer` the version uses (V1 up to V5, V2 from V6). */
  protected readonly channelSerializer: 1 | 2 = 1;

  /** Reads what precedes the OperatorID (nothing before V5). */
  protected readOperatorNames(_input: DataInput): { name: string | null; uid: string | null } {
    return { name: null, uid: null };
  }

  /** Writes what precedes the OperatorID (nothing before V5: name and uid must be null). */
  protected writeOperatorNames(_out: DataOutput, op: OperatorState): void {
    if (op.name != null || op.uid != null) {
      throw new InvalidArgumentError(
        `operator ${op.operatorId}: metadata V${this.version} cannot hold name/uid (V5+)`,
      );
    }
  }

  protected readOperatorState(input: DataInput, ctx: ReadContext): OperatorState {
    const { name, uid } = this.readOperatorNames(input);
    const operatorId = readOperatorId(input);
    const pAt = input.position;
    const parallelism = input.readInt();
    const maxParallelism = input.readInt();
    checkReadParallelism(input, pAt, parallelism, maxParallelism);

    const cAt = input.position;
    const coordinator = input.within("coordinatorState", () => readStreamStateHandle(input, ctx));
    if (coordinator !== null && coordinator.kind !== "ByteStreamStateHandle") {
      throw input.corrupt(`Expected a ByteStreamStateHandle but found a ${coordinator.kind}`, cAt);
    }
    const coordinatorState: ByteStreamStateHandle | null = coordinator;

    const nAt = input.position;
    const n = input.readInt();
    if (n < 0) {
      if (n !== -1) throw input.corrupt(`invalid number of subtask states ${n} (fully finished is -1)`, nAt);
      if (coordinatorState !== null) {
        throw input.corrupt("Coordinator State should be null for fully finished operator state", nAt);
      }
      return {
        operatorId,
        name,
        uid,
        parallelism,
        maxParallelism,
        coordinatorState,
        fullyFinished: true,
        subtaskStates: [],
      };
    }
    // the smallest record is a finished subtask: its 4-byte index
    if (n > Math.floor(input.remaining / 4)) {
      throw input.corrupt(
        `number of subtask states ${n} cannot fit in the ${input.remaining} bytes left`,
        nAt,
      );
    }
    const tracker = new SubtaskIndexTracker(input, parallelism);
    const subtaskStates: SubtaskStateEntry[] = [];
    for (let i = 0; i < n; i++) {
      const at = input.position;
      const { index, finished } = decodeSubtaskIndex(input.readInt());
      tracker.add(index, at);
      if (finished) {
        subtaskStates.push({ kind: "FinishedOperatorSubtaskState", subtaskIndex: index });
      } else {
        subtaskStates.push(input.within(`subtask[${index}]`, () => this.readSubtaskState(input, ctx, index)));
      }
    }
    return {
      operatorId,
      name,
      uid,
      parallelism,
      maxParallelism,
      coordinatorState,
      fullyFinished: false,
      subtaskStates,
    };
  }

  /** Reads a running subtask's body: slots, then the two channel lists (`deserializeSubtaskState`). */
  protected readSubtaskState(input: DataInput, ctx: ReadContext, subtaskIndex: number): OperatorSubtaskState {
    const slots = readSubtaskSlots(input, ctx);
    const ser = this.channelSerializer;
    const inputChannelState = input.within("inputChannelState", () =>
      readInputChannelStateHandles(input, ctx, ser),
    );
    const resultSubpartitionState = input.within("resultSubpartitionState", () =>
      readResultSubpartitionStateHandles(input, ctx, ser),
    );
    return {
      kind: "OperatorSubtaskState",
      subtaskIndex,
      ...slots,
      inputChannelState,
      resultSubpartitionState,
    };
  }

  protected writeOperatorState(out: DataOutput, op: OperatorState, ctx: WriteContext): void {
    const who = `operator ${op.operatorId}`;
    if (op.v2ChainLength !== undefined) {
      throw new InvalidArgumentError(
        `${who}: v2ChainLength exists only in metadata V2, not V${this.version}`,
      );
    }
    this.writeOperatorNames(out, op);
    writeOperatorId(out, op.operatorId);
    out.writeInt(op.parallelism);
    out.writeInt(op.maxParallelism);
    const c = op.coordinatorState;
    if (c != null && c.kind !== "ByteStreamStateHandle") {
      throw new InvalidArgumentError(`${who}: coordinator state must be a ByteStreamStateHandle`);
    }
    writeStreamStateHandle(out, c ?? null, ctx);
    if (op.fullyFinished) {
      if (c != null)
        throw new InvalidArgumentError(`${who}: a fully finished operator has no coordinator state`);
      if (op.subtaskStates.length > 0)
        throw new InvalidArgumentError(`${who}: a fully finished operator has no subtasks`);
      out.writeInt(-1);
      return;
    }
    out.writeInt(op.subtaskStates.length);
    for (const s of op.subtaskStates) {
      out.writeInt(encodeSubtaskIndex(s.subtaskIndex, s.kind === "FinishedOperatorSubtaskState"));
      if (s.kind === "OperatorSubtaskState") this.writeSubtaskState(out, s, ctx);
    }
  }

  /** Writes a running subtask's body (`MetadataV3Serializer.serializeSubtaskState`). */
  protected writeSubtaskState(out: DataOutput, s: OperatorSubtaskState, ctx: WriteContext): void {
    if (s.refCheckpointId != null && this.version < 7) {
      throw new InvalidArgumentError(`subtask ${s.subtaskIndex}: refCheckpointId needs metadata V7`);
    }
    if (s.v2Legacy !== undefined && this.version !== 2) {
      throw new InvalidArgumentError(`subtask ${s.subtaskIndex}: v2Legacy fields exist only in metadata V2`);
    }
    writeSubtaskSlots(out, s, ctx);
    writeInputChannelStateHandles(out, s.inputChannelState, ctx, this.channelSerializer);
    writeResultSubpartitionStateHandles(out, s.resultSubpartitionState, ctx, this.channelSerializer);
  }
}
