/**
 * Channel state handles: in-flight data of unaligned checkpoints (metadata V3+), one list of input
 * channel handles and one of result subpartition handles per subtask.
 *
 * Mirrors Flink's `ChannelStateHandleSerializerV1` (called `ChannelStateHandleSerializer` up to Flink
 * 2.0; used by `MetadataV3Serializer`, and so by V4 and V5) and `ChannelStateHandleSerializerV2`
 * (used by `MetadataV6Serializer` and later), plus the list framing of
 * `MetadataV3Serializer.serializeCollection` / `MetadataV2V3SerializerBase.deserializeCollection`:
 *
 * ```
 * list     = int count, handle × count
 * V1 body  = int subtaskIndex, int a, int b, int nOffsets, long[nOffsets] offsets, long stateSize, stream delegate
 *            (a, b) = (gateIdx, inputChannelIdx) or (partitionIdx, subPartitionIdx)   [ChannelStateHelper]
 * V2 handle= byte tag, then
 *            1 InputChannelStateHandle / 2 ResultSubpartitionStateHandle: V1 body
 *            3 MergedInputChannelStateHandle / 4 MergedResultSubpartitionStateHandle:
 *              int subtaskIndex, long stateSize, stream delegate, int n, byte[n] serializedChannelOffsets
 * ```
 *
 * The V2 serializer accepts only tags 1 and 3 in the input list and 2 and 4 in the output list.
 *
 * **Flink 1.11 layout.** Flink 1.11's `ChannelStateHandleSerializer` wrote the V1 body without the
 * leading `int subtaskIndex`; Flink 1.12 added it without bumping the metadata version. A handle read
 * in that layout (`ReadContext.legacyLayout === "flink111"`, chosen per file by `v3.ts`) has
 * `subtaskIndex: null`, and the writer omits the int for such a handle, in V3 only and only when no
 * other channel handle of the file has one (`requireLayout` in `common.ts`).
 */

import { InvalidArgumentError } from "../../errors.js";
import type { DataInput } from "../io/data-input.js";
import type { DataOutput } from "../io/data-output.js";
import {
  descendRead,
  descendWrite,
  type ReadContext,
  readLengthPrefixedBytes,
  requireLayout,
  type WriteContext,
  writeInt32,
  writeInt64,
  writeLengthPrefixedBytes,
} from "./common.js";
import type {
  ChannelStateHandleBody,
  InputChannelStateHandle,
  MergedChannelStateHandleBody,
  ResultSubpartitionStateHandle,
  StreamStateHandle,
} from "./model.js";
import { readStreamStateHandle, writeStreamStateHandle } from "./stream-handles.js";

/** `ChannelStateHandleSerializerV2` type tags. */
export const ChannelTag = {
  INPUT_CHANNEL_STATE_HANDLE: 1,
  RESULT_SUBPARTITION_STATE_HANDLE: 2,
  MERGED_INPUT_CHANNEL_STATE_HANDLE: 3,
  MERGED_RESULT_SUBPARTITION_STATE_HANDLE: 4,
} as const;

/** Which channel serializer a metadata version uses: V1 (no tags) for V3..V5, V2 (tagged) from V6. */
export function channelSerializerVersion(metadataVersion: number): 1 | 2 {
  return metadataVersion >= 6 ? 2 : 1;
}

/** Smallest encoded channel handle: V1 body 4+4+4+4+8+1 (4 less in the 1.11 layout); V2 tag + merged body 1+4+8+1+4. */
const MIN_V1_HANDLE = 25;
const MIN_V2_HANDLE = 18;

/**
 * Reads the input channel list of one subtask.
 * @throws CorruptSnapshotError on truncation, a negative or impossible count, an unexpected tag.
 */
export function readInputChannelStateHandles(
  input: DataInput,
  ctx: ReadContext,
  serializer: 1 | 2 = channelSerializerVersion(ctx.version),
): InputChannelStateHandle[] {
  return readList(input, ctx, serializer, "input channel", (): InputChannelStateHandle => {
    if (serializer === 1) {
      return { kind: "InputChannelStateHandle", ...readV1Body(input, ctx) };
    }
    const at = input.position;
    const tag = input.readUnsignedByte();
    if (tag === ChannelTag.INPUT_CHANNEL_STATE_HANDLE)
      return { kind: "InputChannelStateHandle", ...readV1Body(input, ctx) };
    if (tag === ChannelTag.MERGED_INPUT_CHANNEL_STATE_HANDLE) {
      return { kind: "MergedInputChannelStateHandle", ...readMergedBody(input, ctx) };
    }
    throw input.corrupt(`unknown input state handle type tag ${tag}`, at);
  });
}

/**
 * Reads the result subpartition list of one subtask.
 * @throws CorruptSnapshotError on truncation, a negative or impossible count, an unexpected tag.
 */
export function readResultSubpartitionStateHandles(
  input: DataInput,
  ctx: ReadContext,
  serializer: 1 | 2 = channelSerializerVersion(ctx.version),
): ResultSubpartitionStateHandle[] {
  return readList(input, ctx, serializer, "result subpartition", (): ResultSubpartitionStateHandle => {
    if (serializer === 1) {
      return { kind: "ResultSubpartitionStateHandle", ...readV1Body(input, ctx) };
    }
    const at = input.position;
    const tag = input.readUnsignedByte();
    if (tag === ChannelTag.RESULT_SUBPARTITION_STATE_HANDLE) {
      return { kind: "ResultSubpartitionStateHandle", ...readV1Body(input, ctx) };
    }
    if (tag === ChannelTag.MERGED_RESULT_SUBPARTITION_STATE_HANDLE) {
      return { kind: "MergedResultSubpartitionStateHandle", ...readMergedBody(input, ctx) };
    }
    throw input.corrupt(`unknown output state handle type tag ${tag}`, at);
  });
}

function readList<T>(
  input: DataInput,
  ctx: ReadContext,
  serializer: 1 | 2,
  what: string,
  readOne: () => T,
): T[] {
  if (serializer === 1 && ctx.met !== undefined && input.remaining >= 4) {
    // a non-empty V1 list differs between the V3 layouts from its count on (the bound below)
    const at = input.position;
    if (input.readInt() > 0) ctx.met.add("flink111");
    input.seek(at);
  }
  const min = serializer === 2 ? MIN_V2_HANDLE : MIN_V1_HANDLE - (ctx.legacyLayout === "flink111" ? 4 : 0);
  const n = input.readCount(`number of ${what} state handles`, min);
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(input.within(`${what}[${i}]`, readOne));
  return out;
}

function readV1Body(input: DataInput, ctx: ReadContext): ChannelStateHandleBody {
  const subtaskIndex = ctx.legacyLayout === "flink111" ? null : input.readInt();
  const a = input.readInt();
  const b = input.readInt();
  const n = input.readCount("number of channel state offsets", 8);
  const offsets: bigint[] = new Array(n);
  for (let i = 0; i < n; i++) offsets[i] = input.readLong();
  const stateSize = input.readLong();
  const delegate = readDelegate(input, ctx);
  return { subtaskIndex, info: { a, b }, offsets, stateSize, delegate };
}

function readMergedBody(input: DataInput, ctx: ReadContext): MergedChannelStateHandleBody {
  const subtaskIndex = input.readInt();
  const stateSize = input.readLong();
  const delegate = readDelegate(input, ctx);
  const serializedChannelOffsets = readLengthPrefixedBytes(input, "merged channel offsets");
  return { subtaskIndex, stateSize, delegate, serializedChannelOffsets };
}

function readDelegate(input: DataInput, ctx: ReadContext): StreamStateHandle {
  const at = input.position;
  const d = descendRead(input, ctx, () => readStreamStateHandle(input, ctx));
  if (d === null) throw input.corrupt("channel state handle without a delegate stream handle", at);
  return d;
}

// ---------------------------------------------------------------------------------------------------

/**
 * Writes the input channel list of one subtask (count, then each handle).
 * @throws InvalidArgumentError for merged handles before V6, output kinds in the input list, a null
 *   subtask index (1.11 layout) outside V3 or next to handles with one, or bad field values.
 */
export function writeInputChannelStateHandles(
  out: DataOutput,
  list: InputChannelStateHandle[],
  ctx: WriteContext,
  serializer: 1 | 2 = channelSerializerVersion(ctx.version),
): void {
  writeList(out, list, "inputChannelState", (h) => {
    const v2 = serializer === 2;
    if (h.kind === "InputChannelStateHandle") {
      if (v2) out.writeByte(ChannelTag.INPUT_CHANNEL_STATE_HANDLE);
      writeV1Body(out, h, ctx);
    } else if (h.kind === "MergedInputChannelStateHandle") {
      if (!v2)
        throw new InvalidArgumentError(
          `merged channel state handles need metadata V6+ (ChannelStateHandleSerializerV2), not V${ctx.version}`,
        );
      out.writeByte(ChannelTag.MERGED_INPUT_CHANNEL_STATE_HANDLE);
      writeMergedBody(out, h, ctx);
    } else {
      throw new InvalidArgumentError(`inputChannelState cannot hold a ${(h as { kind: string }).kind}`);
    }
  });
}

/**
 * Writes the result subpartition list of one subtask (count, then each handle).
 * @throws InvalidArgumentError for merged handles before V6, input kinds in the output list, a null
 *   subtask index (1.11 layout) outside V3 or next to handles with one, or bad field values.
 */
export function writeResultSubpartitionStateHandles(
  out: DataOutput,
  list: ResultSubpartitionStateHandle[],
  ctx: WriteContext,
  serializer: 1 | 2 = channelSerializerVersion(ctx.version),
): void {
  writeList(out, list, "resultSubpartitionState", (h) => {
    const v2 = serializer === 2;
    if (h.kind === "ResultSubpartitionStateHandle") {
      if (v2) out.writeByte(ChannelTag.RESULT_SUBPARTITION_STATE_HANDLE);
      writeV1Body(out, h, ctx);
    } else if (h.kind === "MergedResultSubpartitionStateHandle") {
      if (!v2)
        throw new InvalidArgumentError(
          `merged channel state handles need metadata V6+ (ChannelStateHandleSerializerV2), not V${ctx.version}`,
        );
      out.writeByte(ChannelTag.MERGED_RESULT_SUBPARTITION_STATE_HANDLE);
      writeMergedBody(out, h, ctx);
    } else {
      throw new InvalidArgumentError(`resultSubpartitionState cannot hold a ${(h as { kind: string }).kind}`);
    }
  });
}

function writeList<T>(out: DataOutput, list: T[] | null | undefined, what: string, writeOne: (h: T) => void) {
  const items = list ?? [];
  if (!Array.isArray(items)) throw new InvalidArgumentError(`${what} must be a list`);
  writeInt32(out, items.length, `${what} size`);
  for (const h of items) {
    if (!h) throw new InvalidArgumentError(`${what} holds a null handle`);
    writeOne(h);
  }
}

function writeV1Body(out: DataOutput, h: ChannelStateHandleBody & { kind: string }, ctx: WriteContext): void {
  const flink111 = h.subtaskIndex === null;
  requireLayout(ctx, "channel", flink111, h.kind);
  if (!flink111) writeInt32(out, h.subtaskIndex as number, `${h.kind}.subtaskIndex`);
  writeInt32(out, h.info.a, `${h.kind}.info.a`);
  writeInt32(out, h.info.b, `${h.kind}.info.b`);
  if (!Array.isArray(h.offsets)) throw new InvalidArgumentError(`${h.kind}.offsets must be a list`);
  writeInt32(out, h.offsets.length, `${h.kind} offsets size`);
  for (const o of h.offsets) writeInt64(out, o, `${h.kind}.offsets[]`);
  writeInt64(out, h.stateSize, `${h.kind}.stateSize`);
  writeDelegate(out, h.delegate, ctx, h.kind);
}

function writeMergedBody(
  out: DataOutput,
  h: MergedChannelStateHandleBody & { kind: string },
  ctx: WriteContext,
): void {
  writeInt32(out, h.subtaskIndex, `${h.kind}.subtaskIndex`);
  writeInt64(out, h.stateSize, `${h.kind}.stateSize`);
  writeDelegate(out, h.delegate, ctx, h.kind);
  if (!(h.serializedChannelOffsets instanceof Uint8Array)) {
    throw new InvalidArgumentError(`${h.kind}.serializedChannelOffsets must be bytes`);
  }
  writeLengthPrefixedBytes(out, h.serializedChannelOffsets, `${h.kind} channel offsets`);
}

function writeDelegate(out: DataOutput, d: StreamStateHandle, ctx: WriteContext, kind: string): void {
  if (!d) throw new InvalidArgumentError(`${kind} without a delegate stream handle`);
  descendWrite(ctx, () => writeStreamStateHandle(out, d, ctx));
}
