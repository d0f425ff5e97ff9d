/**
 * Reading and writing Flink `_metadata` files (checkpoint and savepoint metadata), byte for byte.
 *
 * File layout (Flink `Checkpoints.storeCheckpointMetadata` / `loadCheckpointMetadata`):
 *
 * ```
 * int  0x4960672D     HEADER_MAGIC_NUMBER
 * int  version        2..7 (1 is Flink 1.1/1.2 and no longer readable)
 * body                MetadataVnSerializer layout, to the end of the file (v2.ts ... v7.ts)
 * ```
 *
 * {@link readMetadata} returns the model of `model.ts` and {@link writeMetadata} writes it back in the
 * version it records, so `writeMetadata(readMetadata(bytes))` equals `bytes` for every file the reader
 * accepts. Pointers stay as stored (relative names are not resolved here; see `pointers.ts`).
 */

import {
  CorruptSnapshotError,
  InvalidArgumentError,
  NotASnapshotError,
  UnsupportedVersionError,
} from "../../errors.js";
import { DataInput } from "../io/data-input.js";
import { DataOutput } from "../io/data-output.js";
import type { CheckpointMetadata } from "./model.js";
import { MetadataV2Serializer } from "./v2.js";
import type { MetadataSerializerBase, MetadataStream } from "./v2v3-base.js";
import { MetadataV3Serializer } from "./v3.js";
import { MetadataV4Serializer } from "./v4.js";
import { MetadataV5Serializer } from "./v5.js";
import { MetadataV6Serializer } from "./v6.js";
import { MetadataV7Serializer } from "./v7.js";

export type { CheckpointPropertiesInfo } from "./properties.js";
export { decodeCheckpointProperties } from "./properties.js";
export type { MetadataStream } from "./v2v3-base.js";

/** `Checkpoints.HEADER_MAGIC_NUMBER`: the first four bytes of every `_metadata` file. */
export const METADATA_MAGIC = 0x4960672d;

/**
 * Metadata versions this module reads and writes, and the Flink releases that write them (checked
 * against vectors written by Flink itself, `fixtures/vectors/`): 2: Flink 1.3 to 1.10; 3: 1.11 to
 * 1.15 (in three layouts, see `v3.ts`); 4: 1.16 to 1.20; 5: 2.0; 6: 2.1 and later; 7: the unreleased
 * FLINK-40209 (Regional Checkpoint) format, provisional.
 */
export const SUPPORTED_VERSIONS: readonly number[] = [2, 3, 4, 5, 6, 7];

const CODECS: ReadonlyMap<number, MetadataSerializerBase> = new Map<number, MetadataSerializerBase>([
  [2, new MetadataV2Serializer()],
  [3, new MetadataV3Serializer()],
  [4, new MetadataV4Serializer()],
  [5, new MetadataV5Serializer()],
  [6, new MetadataV6Serializer()],
  [7, new MetadataV7Serializer()],
]);

const MAGIC_BYTES = Uint8Array.of(0x49, 0x60, 0x67, 0x2d);

/**
 * Parses a whole `_metadata` file.
 *
 * @param bytes the complete file contents. Byte fields of the returned model (inline state, master
 *   state payloads, the properties trailer) are views into this buffer, not copies: do not modify it
 *   while the model is in use (pass a copy if you must). ASCII strings (paths, names) are V8
 *   slices of latin1 windows of the file (`DataInput.readAsciiString`), so the model's strings keep
 *   at most the file's size of text alive, and short repeated names are one string.
 * @param uri the file's location, used only in error messages.
 * @returns the model; handles keep their pointers exactly as stored.
 * @throws NotASnapshotError when the file does not start with Flink's magic number.
 * @throws UnsupportedVersionError for version 1 (Flink 1.1/1.2), an unknown version, or legacy
 *   operator state (the `Checkpointed` interface, Flink ≤ 1.3) inside a V2 file.
 * @throws CorruptSnapshotError for anything else that does not follow the format (truncation, bad
 *   counts or tags, trailing bytes), with the byte offset and the structure being read.
 */
export function readMetadata(bytes: Uint8Array, uri?: string): CheckpointMetadata {
  const { codec, input } = openCodec(bytes, uri);
  return codec.read(input);
}

/**
 * Opens a whole `_metadata` file for reading one operator at a time: the header (version, checkpoint
 * id, master states, operator count) is read now, each operator record when the iteration reaches it
 * (see {@link MetadataStream}). Memory beyond `bytes` is then one operator's model at a time, except
 * for V3 files, whose layout retries need the whole body parsed first (see `v3.ts`).
 *
 * @param bytes the complete file contents (byte fields of the models are views into it).
 * @param uri the file's location, used only in error messages.
 * @throws the errors of {@link readMetadata}: from here for the magic number, version and header, and
 *   from the iteration for operator records and the trailer.
 */
export function openMetadata(bytes: Uint8Array, uri?: string): MetadataStream {
  const { codec, input } = openCodec(bytes, uri);
  return codec.stream(input);
}

/** Checks the magic number and version and picks the codec (the start of `readMetadata`). */
function openCodec(bytes: Uint8Array, uri?: string): { codec: MetadataSerializerBase; input: DataInput } {
  const input = new DataInput(bytes, uri);
  const opts = uri === undefined ? {} : { uri };
  if (bytes.byteLength < 4) {
    const prefix = bytes.every((b, i) => b === MAGIC_BYTES[i]);
    if (prefix && bytes.byteLength > 0) {
      throw new CorruptSnapshotError(`truncated metadata file: ${bytes.byteLength} bytes`, {
        ...opts,
        offset: 0,
      });
    }
    throw new NotASnapshotError(
      `${uri ?? "<bytes>"}: file too short (${bytes.byteLength} bytes) to be Flink metadata`,
      opts,
    );
  }
  const magic = input.readInt() >>> 0;
  if (magic !== METADATA_MAGIC) {
    throw new NotASnapshotError(
      `${uri ?? "<bytes>"}: Unexpected magic number 0x${magic.toString(16).padStart(8, "0")} (expected 0x4960672d). ` +
        "This can have multiple reasons: (1) You are trying to load a Flink 1.0 savepoint, which is not supported. " +
        "(2) The file you were pointing to is not a savepoint or checkpoint metadata file at all. " +
        "(3) The file has been corrupted.",
      opts,
    );
  }
  const version = input.readInt();
  if (version === 1) {
    throw new UnsupportedVersionError(
      "This savepoint / checkpoint version (Flink 1.1 / 1.2) is no longer supported, as in Flink 1.11+. " +
        "Restore it with Flink 1.3–1.10 and take a new savepoint.",
      { ...opts, version, offset: 4 },
    );
  }
  const codec = CODECS.get(version);
  if (!codec) {
    throw new UnsupportedVersionError(
      `Unrecognized checkpoint version number: ${version}; supported versions are ${SUPPORTED_VERSIONS.join(", ")}`,
      { ...opts, version, offset: 4 },
    );
  }
  return { codec, input };
}

/**
 * Serializes a model as a `_metadata` file in the version it records (`m.version`).
 *
 * @param m the metadata; pointers are written as held.
 * @returns the complete file contents.
 * @throws InvalidArgumentError for an unsupported version or a model that Flink could not have
 *   written in that version: e.g. name/uid before V5 or an empty name/uid in V5+, coordinator state
 *   on a fully finished operator, merged channel handles before V6, duplicate subtask indices or state
 *   names, offsets that do not match a key-group range, values out of Java int/long range.
 */
export function writeMetadata(m: CheckpointMetadata): Uint8Array {
  if (m === null || typeof m !== "object") throw new InvalidArgumentError("metadata model expected");
  const codec = CODECS.get(m.version);
  if (!codec) {
    throw new InvalidArgumentError(
      `cannot write metadata version ${String(m.version)}; supported versions are ${SUPPORTED_VERSIONS.join(", ")}`,
    );
  }
  const out = new DataOutput(4096);
  out.writeInt(METADATA_MAGIC);
  out.writeInt(m.version);
  codec.write(out, m);
  return out.toBytes().slice();
}
