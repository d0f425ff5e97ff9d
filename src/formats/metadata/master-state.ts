/**
 * Master states: opaque state of `MasterTriggerRestoreHook`s, stored at the top of `_metadata`.
 *
 * Mirrors `MetadataV2V3SerializerBase.serializeMasterState` / `deserializeMasterState`:
 *
 * ```
 * int 0xC96B1696                      MASTER_STATE_MAGIC_NUMBER
 * int len                             must be > 0
 * byte[len] = { int version, UTF name, int n, byte[n] payload }   no bytes may be left over
 * ```
 */

import { InvalidArgumentError } from "../../errors.js";
import { DataInput } from "../io/data-input.js";
import { DataOutput } from "../io/data-output.js";
import {
  readLengthPrefixedBytes,
  readString,
  writeInt32,
  writeLengthPrefixedBytes,
  writeString,
} from "./common.js";
import type { MasterState } from "./model.js";

/** `MASTER_STATE_MAGIC_NUMBER`, as a signed int. */
export const MASTER_STATE_MAGIC = 0xc96b1696 | 0;

/** Smallest encoded master state: magic, length, and a body of version + empty name + empty payload. */
export const MIN_MASTER_STATE_BYTES = 4 + 4 + 4 + 2 + 4;

/**
 * Reads one master state.
 * @throws CorruptSnapshotError on a wrong magic, non-positive length, truncation or trailing bytes.
 */
export function readMasterState(input: DataInput): MasterState {
  const magicAt = input.position;
  const magic = input.readInt();
  if (magic !== MASTER_STATE_MAGIC) {
    throw input.corrupt(`incorrect magic number 0x${(magic >>> 0).toString(16)} in master state`, magicAt);
  }
  const lenAt = input.position;
  const len = input.readInt();
  if (len <= 0) throw input.corrupt(`zero or negative length ${len} of master state bytes`, lenAt);
  const blockStart = input.fileOffset;
  const block = input.readFully(len, "master state bytes");
  const inner = new DataInput(block, input.uri, blockStart);
  return inner.within("masterState", () => {
    const version = inner.readInt();
    const name = readString(inner);
    const bytes = readLengthPrefixedBytes(inner, "master state payload");
    if (!inner.atEnd) throw inner.corrupt(`${inner.remaining} trailing bytes in master state`);
    return { name, version, bytes };
  });
}

/**
 * Writes one master state.
 * @throws InvalidArgumentError for a non-int version, a missing name or payload.
 */
export function writeMasterState(out: DataOutput, s: MasterState): void {
  if (!(s.bytes instanceof Uint8Array)) throw new InvalidArgumentError("MasterState.bytes must be bytes");
  const inner = new DataOutput(32 + s.bytes.byteLength);
  writeInt32(inner, s.version, "MasterState.version");
  writeString(inner, s.name, "MasterState.name");
  writeLengthPrefixedBytes(inner, s.bytes, "MasterState payload");
  out.writeInt(MASTER_STATE_MAGIC);
  writeLengthPrefixedBytes(out, inner.toBytes(), "MasterState");
}
