/**
 * Metadata format version 3 (written by Flink 1.11 to 1.15), and the base of V4..V7.
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
 *
 * **The layouts of V3.** Flink also changed two bodies inside V3 without a version bump (checked
 * against the vectors Flink itself wrote, `fixtures/vectors/`):
 *
 * | Flink      | channel handle body (`ChannelStateHandleSerializer`) | changelog handles, tags 8/9/10 |
 * |------------|-------------------------------------------------------|--------------------------------|
 * | 1.11       | no `int subtaskIndex`                                 | none (no changelog backend)    |
 * | 1.12, 1.13 | `int subtaskIndex` first                              | none                           |
 * | 1.14       | `int subtaskIndex` first                              | short 1.14 bodies              |
 * | 1.15       | `int subtaskIndex` first                              | 1.15 bodies (kept by V4+)      |
 *
 * (1.11's `ChannelStateHandleSerializer.serializeChannelStateHandle` starts with the channel info;
 * 1.12's writes `handle.getSubtaskIndex()` first. 1.14's `MetadataV2V3SerializerBase` writes the
 * short changelog bodies; 1.15's adds checkpointed size, materialization id and state handle id.)
 *
 * Nothing in a V3 file says which Flink wrote it, so {@link MetadataV3Serializer.read} tries the
 * layouts in turn, each a parse of the whole body:
 *
 * 1. the current layout (1.12+ channel handles, 1.15 changelog bodies), which is what the loaders of
 *    Flink 1.12+ and 1.15+ read, and the likeliest;
 * 2. if attempt 1 failed with a {@link CorruptSnapshotError} after meeting a changelog handle of tag
 *    8, 9 or 10: the Flink 1.14 changelog bodies (`legacyLayout: "flink114"`, which refuses the
 *    Flink 1.16+ tags 13 and 14);
 * 3. if attempt 1 failed so after meeting a non-empty channel handle list: the Flink 1.11 channel
 *    layout (`legacyLayout: "flink111"`, which refuses changelog handles).
 *
 * The first that parses wins. A layout attempt 1 never met is not retried: the parse would be the same
 * up to the same failure. Other errors are not retried. If no layout parses, the error of attempt 1
 * is thrown (with its offset): for a damaged file the current layout is the likeliest, so its error
 * points at the damage. The reader is strict (counts checked against the bytes left, tags, strings,
 * no trailing bytes), so a wrong layout fails within a few bytes in practice; a file that parses in
 * the current layout is read that way even if an older one would parse too, as Flink 1.12+/1.15+ do.
 *
 * The model keeps the layout read (`subtaskIndex: null` on channel handles, `flink114Body` on
 * changelog handles) and the writer writes it back. The writer refuses the older forms outside V3, a
 * file mixing forms (`requireLayout` in `common.ts`), and a model in an older layout whose bytes the
 * reader would take for another layout (neither this reader nor Flink would read back that model).
 */

import { CorruptSnapshotError, InvalidArgumentError } from "../../errors.js";
import { DataInput } from "../io/data-input.js";
import type { DataOutput } from "../io/data-output.js";
import {
  readInputChannelStateHandles,
  readResultSubpartitionStateHandles,
  writeInputChannelStateHandles,
  writeResultSubpartitionStateHandles,
} from "./channel-handles.js";
import {
  type LegacyV3Layout,
  type ReadContext,
  readOperatorId,
  type WriteContext,
  writeOperatorId,
} from "./common.js";
import type {
  ByteStreamStateHandle,
  CheckpointMetadata,
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
import { MetadataSerializerBase, type MetadataStream } from "./v2v3-base.js";

/** Older V3 layouts in the order the reader retries them (after the current layout). */
const RETRY_ORDER: readonly LegacyV3Layout[] = ["flink114", "flink111"];

const LAYOUT_NAMES: Record<LegacyV3Layout | "current", string> = {
  current: "current V3 layout (Flink 1.12+ channel handles, 1.15+ changelog bodies)",
  flink111: "Flink 1.11 layout of V3 (channel handles without subtaskIndex)",
  flink114: "Flink 1.14 layout of V3 (short changelog bodies)",
};

/** Codec for metadata V3 (`MetadataV3Serializer`); V4..V7 extend it as Flink's classes do. */
export class MetadataV3Serializer extends MetadataSerializerBase {
  readonly version: number = 3;
  protected readonly minOperatorBytes: number = 16 + 4 + 4 + 1 + 4;
  /** Which `ChannelStateHandleSerializer` the version uses (V1 up to V5, V2 from V6). */
  protected readonly channelSerializer: 1 | 2 = 1;

  /** V3: reads the body in the layout that parses (see the module comment); V4+: the one layout. */
  override read(input: DataInput): CheckpointMetadata {
    if (this.version !== 3) return super.read(input);
    return this.readV3Layouts(input).metadata;
  }

  /**
   * V3: the whole body is read first (a later layout retry re-reads it from the start, so operators
   * cannot be handed out before the body has parsed) and then handed out one by one; V4+: streamed.
   */
  override stream(input: DataInput): MetadataStream {
    if (this.version !== 3) return super.stream(input);
    const m = this.readV3Layouts(input).metadata;
    let state: "new" | "reading" | "done" = "new";
    return {
      version: m.version,
      checkpointId: m.checkpointId,
      masterStates: m.masterStates,
      operatorCount: m.operatorStates.length,
      *operators() {
        if (state !== "new")
          throw new InvalidArgumentError("MetadataStream.operators() can be iterated once");
        state = "reading";
        yield* m.operatorStates;
        state = "done";
      },
      properties() {
        if (state !== "done") {
          throw new InvalidArgumentError("MetadataStream.properties() is known only after the last operator");
        }
        return m.properties;
      },
    };
  }

  /**
   * Tries the V3 layouts in turn from the current position (see the module comment).
   * @returns the model and the older layout it was read with (undefined: the current one).
   * @throws CorruptSnapshotError of the first attempt when no layout parses.
   */
  private readV3Layouts(input: DataInput): { metadata: CheckpointMetadata; layout?: LegacyV3Layout } {
    const start = input.position;
    const met = new Set<LegacyV3Layout>();
    try {
      return { metadata: this.readBody(input, { version: 3, depth: 0, met }) };
    } catch (first) {
      if (!(first instanceof CorruptSnapshotError)) throw first;
      for (const layout of RETRY_ORDER) {
        if (!met.has(layout)) continue;
        input.seek(start);
        try {
          return { metadata: this.readBody(input, { version: 3, depth: 0, legacyLayout: layout }), layout };
        } catch (e) {
          if (!(e instanceof CorruptSnapshotError)) throw e;
        }
      }
      throw first;
    }
  }

  /**
   * V3: writes the body in the layout the model's handles need, and checks that the reader would pick
   * that layout for the bytes (for an older layout); V4+: the one layout.
   */
  override write(out: DataOutput, m: CheckpointMetadata): void {
    if (this.version !== 3) {
      super.write(out, m);
      return;
    }
    const start = out.length;
    const ctx: WriteContext = { version: 3, depth: 0 };
    this.writeBody(out, m, ctx);
    const layout: LegacyV3Layout | undefined =
      ctx.channelLayout === "flink111"
        ? "flink111"
        : ctx.changelogLayout === "flink114"
          ? "flink114"
          : undefined;
    if (layout === undefined) return; // the current layout is always tried first
    const read = this.readV3Layouts(new DataInput(out.toBytes().subarray(start))).layout;
    if (read !== layout) {
      throw new InvalidArgumentError(
        `the model is in the ${LAYOUT_NAMES[layout]} but its bytes parse in the ${LAYOUT_NAMES[read ?? "current"]}, ` +
          "so neither this reader nor Flink would read them back as this model",
      );
    }
  }

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
