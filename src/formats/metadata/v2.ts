/**
 * Metadata format version 2 (written by Flink 1.3 – 1.10; read-only in Flink 1.11+).
 *
 * Mirrors `MetadataV2Serializer` (Flink 1.11+; `SavepointV2Serializer` in the releases that wrote V2).
 * Operator record:
 *
 * ```
 * long lowerPart, long upperPart     OperatorID
 * int  parallelism
 * int  maxParallelism
 * int  chainLength                   former "chain length"; Flink writes 1, ignores it on read
 * int  numSubtasks
 * × numSubtasks:
 *     int  subtaskIndex
 *     long duration                  unused; Flink writes -1, ignores it on read
 *     int  numLegacyStates           0 (1.3: 1 + a stream handle, "legacy state"; refused, see below)
 *     subtask slots                  (subtask-state.ts; no channel state in V2)
 * ```
 *
 * V2 has no coordinator state, no finished markers, no channel state, no names. Non-default
 * `chainLength` / `duration` values are kept in the model (`OperatorState.v2ChainLength`,
 * `OperatorSubtaskState.v2Legacy`) so rewrites are byte-exact; a negative legacy-state count (which
 * Flink never writes) is refused as corrupt.
 *
 * **Flink 1.3 to 1.10.** Every release from 1.3 to 1.10 writes these bytes with its own
 * `SavepointV2Serializer` (package `checkpoint.savepoint`; written through `SavepointStore` in 1.3 and
 * 1.4, `Checkpoints` from 1.5; renamed `MetadataV2Serializer` in 1.11, which only reads V2). Checked
 * against files written by each line's own serializer (fixtures/vectors/1.3.3 to 1.10.3): the layout
 * is the same in all of them, only the Java classes behind the tags and one field differ:
 *
 * - legacy operator state: Flink 1.3's `OperatorSubtaskState` still carries the state of operators
 *   using the deprecated `Checkpointed` interface, written as legacy count 1 followed by a stream
 *   handle (count 0 when there is none). Flink 1.4 removed it, always writes 0 and, like every later
 *   loader (`FAIL_WHEN_LEGACY_STATE_DETECTED`), refuses a count other than 0. This reader does the same
 *   (UnsupportedVersionError at the count), so a 1.3 savepoint with such state is refused, one
 *   without it is read like any other V2 file.
 * - tag 4 is the concrete class `OperatorStateHandle` in 1.3/1.4 (`OperatorStreamStateHandle` from
 *   1.5), whose `Mode` has two constants: ordinal 1 was named `BROADCAST` and is what 1.5 renamed
 *   `UNION` (see operator-handles.ts); the byte is the same.
 * - tag 5 is `IncrementalKeyedStateHandle` up to 1.7, `IncrementalRemoteKeyedStateHandle` from 1.8;
 *   same body.
 *
 * So the model (which names handles as current Flink does) needs no per-version variant for V2.
 */

import { InvalidArgumentError, UnsupportedVersionError } from "../../errors.js";
import type { DataInput } from "../io/data-input.js";
import type { DataOutput } from "../io/data-output.js";
import {
  type ReadContext,
  readOperatorId,
  type WriteContext,
  writeInt32,
  writeInt64,
  writeOperatorId,
} from "./common.js";
import type { OperatorState, OperatorSubtaskState } from "./model.js";
import { checkReadParallelism, SubtaskIndexTracker } from "./operator-state.js";
import { MIN_SUBTASK_SLOTS_BYTES, readSubtaskSlots, writeSubtaskSlots } from "./subtask-state.js";
import { MetadataSerializerBase } from "./v2v3-base.js";

/** Codec for metadata V2 (`MetadataV2Serializer`). */
export class MetadataV2Serializer extends MetadataSerializerBase {
  readonly version: number = 2;
  protected readonly minOperatorBytes = 16 + 4 + 4 + 4 + 4;

  protected readOperatorState(input: DataInput, ctx: ReadContext): OperatorState {
    const operatorId = readOperatorId(input);
    const pAt = input.position;
    const parallelism = input.readInt();
    const maxParallelism = input.readInt();
    checkReadParallelism(input, pAt, parallelism, maxParallelism);
    const chainLength = input.readInt();
    // index + duration + legacy count + slots
    const n = input.readCount("number of subtask states", 4 + 8 + 4 + MIN_SUBTASK_SLOTS_BYTES);
    const tracker = new SubtaskIndexTracker(input, parallelism);
    const subtaskStates: OperatorSubtaskState[] = [];
    for (let i = 0; i < n; i++) {
      const at = input.position;
      const subtaskIndex = input.readInt();
      tracker.add(subtaskIndex, at);
      subtaskStates.push(
        input.within(`subtask[${subtaskIndex}]`, () => this.readSubtaskState(input, ctx, subtaskIndex)),
      );
    }
    const op: OperatorState = {
      operatorId,
      name: null,
      uid: null,
      parallelism,
      maxParallelism,
      coordinatorState: null,
      fullyFinished: false,
      subtaskStates,
    };
    if (chainLength !== 1) op.v2ChainLength = chainLength;
    return op;
  }

  private readSubtaskState(input: DataInput, ctx: ReadContext, subtaskIndex: number): OperatorSubtaskState {
    const duration = input.readLong();
    const legacyAt = input.position;
    const numLegacyStates = input.readInt();
    if (numLegacyStates > 0) {
      throw new UnsupportedVersionError(
        "Legacy operator state (written up to Flink 1.3 for operators using the 'Checkpointed' interface) " +
          "is not supported, as in Flink 1.4+.",
        {
          ...(input.uri === undefined ? {} : { uri: input.uri }),
          version: 2,
          offset: input.baseOffset + legacyAt,
        },
      );
    }
    if (numLegacyStates < 0)
      throw input.corrupt(`negative number of legacy states ${numLegacyStates}`, legacyAt);
    const slots = readSubtaskSlots(input, ctx);
    const s: OperatorSubtaskState = {
      kind: "OperatorSubtaskState",
      subtaskIndex,
      ...slots,
      inputChannelState: [],
      resultSubpartitionState: [],
    };
    if (duration !== -1n) s.v2Legacy = { duration };
    return s;
  }

  protected writeOperatorState(out: DataOutput, op: OperatorState, ctx: WriteContext): void {
    const who = `operator ${op.operatorId}`;
    if (op.fullyFinished) {
      // MetadataV2Serializer: "Could not support finished Operator state in state serializers."
      throw new InvalidArgumentError(`${who}: metadata V2 cannot hold a fully finished operator`);
    }
    if (op.coordinatorState)
      throw new InvalidArgumentError(`${who}: metadata V2 cannot hold coordinator state`);
    if (op.name != null || op.uid != null)
      throw new InvalidArgumentError(`${who}: metadata V2 cannot hold name/uid`);
    writeOperatorId(out, op.operatorId);
    out.writeInt(op.parallelism);
    out.writeInt(op.maxParallelism);
    writeInt32(out, op.v2ChainLength ?? 1, `${who}: v2ChainLength`);
    out.writeInt(op.subtaskStates.length);
    for (const s of op.subtaskStates) {
      if (s.kind !== "OperatorSubtaskState") {
        throw new InvalidArgumentError(`${who}: metadata V2 cannot hold finished subtask ${s.subtaskIndex}`);
      }
      if ((s.inputChannelState?.length ?? 0) > 0 || (s.resultSubpartitionState?.length ?? 0) > 0) {
        throw new InvalidArgumentError(
          `${who}: metadata V2 cannot hold channel state (subtask ${s.subtaskIndex})`,
        );
      }
      if (s.refCheckpointId != null) {
        throw new InvalidArgumentError(
          `${who}: refCheckpointId needs metadata V7 (subtask ${s.subtaskIndex})`,
        );
      }
      out.writeInt(s.subtaskIndex);
      writeInt64(out, s.v2Legacy?.duration ?? -1n, `${who}: v2Legacy.duration`);
      out.writeInt(0);
      writeSubtaskSlots(out, s, ctx);
    }
  }
}
