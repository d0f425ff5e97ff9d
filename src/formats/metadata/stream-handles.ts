/**
 * Stream state handles: the leaves that hold state bytes, inline or in a file.
 *
 * Mirrors `MetadataV2V3SerializerBase.serializeStreamStateHandle` /
 * `deserializeStreamStateHandle` (apache/flink, 1.20-era layout; tags 15/16 verified in a copy of
 * the 1.20 file). Layouts, after the one-byte tag (read unsigned, as Flink's `dis.read()`):
 *
 * | tag | class                          | body                                                          |
 * |-----|--------------------------------|---------------------------------------------------------------|
 * | 0   | null                           | —                                                             |
 * | 1   | `ByteStreamStateHandle`        | UTF handleName, int n, byte[n]                                |
 * | 2   | `FileStateHandle`              | long stateSize, UTF filePath        (size first)              |
 * | 3   | `KeyGroupsStateHandle`         | int start, int count, long[count] offsets, stream delegate    |
 * | 6   | `RelativeFileStateHandle`      | UTF relativePath, long stateSize    (path first)              |
 * | 15  | `SegmentFileStateHandle`       | long startPos, long stateSize, int scope, UTF path, UTF id    |
 * | 16  | `EmptySegmentFileStateHandle`  | —                                                             |
 *
 * Relative paths are kept as stored; resolving them is `pointers.ts`'s job.
 */

import { InvalidArgumentError } from "../../errors.js";
import type { DataInput } from "../io/data-input.js";
import type { DataOutput } from "../io/data-output.js";
import {
  descendRead,
  descendWrite,
  isInt32,
  type ReadContext,
  readKeyGroupRange,
  readLengthPrefixedBytes,
  readString,
  type WriteContext,
  writeInt64,
  writeKeyGroupRange,
  writeLengthPrefixedBytes,
  writeString,
} from "./common.js";
import type { KeyGroupRange, KeyGroupsStateHandle, StreamStateHandle } from "./model.js";
import { HandleTag } from "./tags.js";

/** Number of `CheckpointedStateScope` values (EXCLUSIVE = 0, SHARED = 1). */
const SCOPE_COUNT = 2;

/**
 * Reads one stream state handle (tag byte + body), as `deserializeStreamStateHandle`.
 * @returns the handle, or null for tag 0.
 * @throws CorruptSnapshotError on truncation, an unknown tag, or an invalid field.
 */
export function readStreamStateHandle(input: DataInput, ctx: ReadContext): StreamStateHandle | null {
  const at = input.position;
  const tag = input.readUnsignedByte();
  switch (tag) {
    case HandleTag.NULL_HANDLE:
      return null;
    case HandleTag.FILE_STREAM_STATE_HANDLE: {
      const stateSize = input.readLong();
      const filePath = readString(input);
      return { kind: "FileStateHandle", filePath, stateSize };
    }
    case HandleTag.BYTE_STREAM_STATE_HANDLE: {
      const handleName = readString(input);
      const data = readLengthPrefixedBytes(input, "ByteStreamStateHandle data");
      return { kind: "ByteStreamStateHandle", handleName, data };
    }
    case HandleTag.RELATIVE_STREAM_STATE_HANDLE: {
      const relativePath = readString(input);
      const stateSize = input.readLong();
      return { kind: "RelativeFileStateHandle", relativePath, stateSize };
    }
    case HandleTag.KEY_GROUPS_HANDLE: {
      const body = readKeyGroupsBody(input, ctx);
      return { kind: "KeyGroupsStateHandle", tag: 3, ...body, stateHandleId: null };
    }
    case HandleTag.SEGMENT_FILE_HANDLE: {
      const startPos = input.readLong();
      const stateSize = input.readLong();
      const scopeAt = input.position;
      const scope = input.readInt();
      if (scope < 0 || scope >= SCOPE_COUNT) {
        throw input.corrupt(`invalid CheckpointedStateScope ordinal ${scope}`, scopeAt);
      }
      const physicalFilePath = readString(input);
      const logicalFileId = readString(input);
      return { kind: "SegmentFileStateHandle", startPos, stateSize, scope, physicalFilePath, logicalFileId };
    }
    case HandleTag.EMPTY_SEGMENT_FILE_HANDLE:
      return { kind: "EmptySegmentFileStateHandle" };
    default:
      throw input.corrupt(`unknown StreamStateHandle type tag ${tag}`, at);
  }
}

/**
 * Writes one stream state handle (tag byte + body), as `serializeStreamStateHandle`.
 * @throws InvalidArgumentError for a handle Flink could not have written (bad field values, a
 *   key-groups handle carrying an id or savepoint kind in a stream position, unknown kind).
 */
export function writeStreamStateHandle(
  out: DataOutput,
  h: StreamStateHandle | null,
  ctx: WriteContext,
): void {
  if (h === null || h === undefined) {
    out.writeByte(HandleTag.NULL_HANDLE);
    return;
  }
  switch (h.kind) {
    case "RelativeFileStateHandle":
      out.writeByte(HandleTag.RELATIVE_STREAM_STATE_HANDLE);
      writeString(out, h.relativePath, "RelativeFileStateHandle.relativePath");
      writeInt64(out, h.stateSize, "RelativeFileStateHandle.stateSize");
      return;
    case "SegmentFileStateHandle":
      out.writeByte(HandleTag.SEGMENT_FILE_HANDLE);
      writeInt64(out, h.startPos, "SegmentFileStateHandle.startPos");
      writeInt64(out, h.stateSize, "SegmentFileStateHandle.stateSize");
      if (!isInt32(h.scope) || h.scope < 0 || h.scope >= SCOPE_COUNT) {
        throw new InvalidArgumentError(`SegmentFileStateHandle.scope must be 0 or 1, got ${String(h.scope)}`);
      }
      out.writeInt(h.scope);
      writeString(out, h.physicalFilePath, "SegmentFileStateHandle.physicalFilePath");
      writeString(out, h.logicalFileId, "SegmentFileStateHandle.logicalFileId");
      return;
    case "EmptySegmentFileStateHandle":
      out.writeByte(HandleTag.EMPTY_SEGMENT_FILE_HANDLE);
      return;
    case "FileStateHandle":
      out.writeByte(HandleTag.FILE_STREAM_STATE_HANDLE);
      writeInt64(out, h.stateSize, "FileStateHandle.stateSize");
      writeString(out, h.filePath, "FileStateHandle.filePath");
      return;
    case "ByteStreamStateHandle":
      out.writeByte(HandleTag.BYTE_STREAM_STATE_HANDLE);
      writeString(out, h.handleName, "ByteStreamStateHandle.handleName");
      if (!(h.data instanceof Uint8Array))
        throw new InvalidArgumentError("ByteStreamStateHandle.data must be bytes");
      writeLengthPrefixedBytes(out, h.data, "ByteStreamStateHandle data");
      return;
    case "KeyGroupsStateHandle":
    case "KeyGroupsSavepointStateHandle":
      // Flink writes any KeyGroupsStateHandle in a stream position as tag 3 without an id; a handle
      // that says otherwise would not read back as itself.
      if (
        h.kind !== "KeyGroupsStateHandle" ||
        h.tag !== HandleTag.KEY_GROUPS_HANDLE ||
        h.stateHandleId !== null
      ) {
        throw new InvalidArgumentError(
          "a KeyGroupsStateHandle used as a stream handle must be kind KeyGroupsStateHandle, tag 3, without stateHandleId",
        );
      }
      out.writeByte(HandleTag.KEY_GROUPS_HANDLE);
      writeKeyGroupsBody(out, h, ctx);
      return;
    default:
      throw new InvalidArgumentError(
        `unknown StreamStateHandle kind ${JSON.stringify((h as { kind: unknown }).kind)}`,
      );
  }
}

/**
 * Reads the body shared by tags 3, 7 and 12 (keyed context) and tag 3 (stream context):
 * `int start, int count, long[count] offsets, StreamStateHandle delegate`.
 * @throws CorruptSnapshotError on truncation, impossible counts, or a null delegate.
 */
export function readKeyGroupsBody(
  input: DataInput,
  ctx: ReadContext,
): { keyGroupRange: KeyGroupRange; offsets: bigint[]; delegate: StreamStateHandle } {
  const { range, count } = readKeyGroupRange(input);
  if (count > Math.floor(input.remaining / 8)) {
    throw input.corrupt(`${count} key-group offsets cannot fit in the ${input.remaining} bytes left`);
  }
  const offsets: bigint[] = new Array(count);
  for (let i = 0; i < count; i++) offsets[i] = input.readLong();
  const at = input.position;
  const delegate = descendRead(input, ctx, () => readStreamStateHandle(input, ctx));
  if (delegate === null) {
    // Flink would accept a null delegate here and fail later on restore; it never writes one.
    throw input.corrupt("KeyGroupsStateHandle without a delegate stream handle", at);
  }
  return { keyGroupRange: range, offsets, delegate };
}

/**
 * Writes the body shared by the key-groups tags: range, one offset per key group, delegate.
 * @throws InvalidArgumentError when the offsets do not match the range or the delegate is missing.
 */
export function writeKeyGroupsBody(out: DataOutput, h: KeyGroupsStateHandle, ctx: WriteContext): void {
  const count = writeKeyGroupRange(out, h.keyGroupRange, h.kind);
  if (!Array.isArray(h.offsets) || h.offsets.length !== count) {
    throw new InvalidArgumentError(
      `${h.kind}: ${Array.isArray(h.offsets) ? h.offsets.length : "no"} offsets for ${count} key groups`,
    );
  }
  for (const o of h.offsets) writeInt64(out, o, `${h.kind}.offsets[]`);
  if (!h.delegate) throw new InvalidArgumentError(`${h.kind} without a delegate stream handle`);
  descendWrite(ctx, () => writeStreamStateHandle(out, h.delegate, ctx));
}
