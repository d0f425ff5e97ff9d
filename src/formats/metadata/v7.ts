/**
 * Metadata format version 7: V6 plus an optional `refCheckpointId` after each running subtask.
 *
 * Mirrors `MetadataV7Serializer extends MetadataV6Serializer` as found in apache/flink @e1feef48, a
 * commit of PR #28963 (FLINK-40209 / FLIP-600 "Regional Checkpoint"), which was **not merged or
 * released** when this was written; support is provisional. The override sits in
 * `serializeSubtaskState`, so the field follows the channel lists of each running subtask (finished
 * subtasks carry nothing):
 *
 * ```
 * byte marker          1 = present, 0 = absent
 * long refCheckpointId if marker = 1
 * ```
 *
 * Flink's reader treats any marker other than 1 as absent; it writes only 0 and 1, and so do we, and
 * we refuse other values so rewrites stay byte-exact.
 */

import type { DataInput } from "../io/data-input.js";
import type { DataOutput } from "../io/data-output.js";
import { type ReadContext, type WriteContext, writeInt64 } from "./common.js";
import type { OperatorSubtaskState } from "./model.js";
import { MetadataV6Serializer } from "./v6.js";

/** Codec for metadata V7 (`MetadataV7Serializer`, unreleased). */
export class MetadataV7Serializer extends MetadataV6Serializer {
  override readonly version: number = 7;

  protected override readSubtaskState(
    input: DataInput,
    ctx: ReadContext,
    subtaskIndex: number,
  ): OperatorSubtaskState {
    const s = super.readSubtaskState(input, ctx, subtaskIndex);
    const at = input.position;
    const marker = input.readByte();
    if (marker !== 0 && marker !== 1) throw input.corrupt(`invalid refCheckpointId marker ${marker}`, at);
    s.refCheckpointId = marker === 1 ? input.readLong() : null;
    return s;
  }

  protected override writeSubtaskState(out: DataOutput, s: OperatorSubtaskState, ctx: WriteContext): void {
    super.writeSubtaskState(out, s, ctx);
    if (s.refCheckpointId == null) {
      out.writeByte(0);
    } else {
      out.writeByte(1);
      writeInt64(out, s.refCheckpointId, `subtask ${s.subtaskIndex} refCheckpointId`);
    }
  }
}
