/**
 * Metadata format version 4 (written by Flink 1.16 to 1.20): the V3 body followed by the
 * Java-serialized `CheckpointProperties`, which runs to the end of the file.
 *
 * Mirrors `MetadataV4Serializer` (apache/flink @c100972a: `MetadataV3Serializer` body, then
 * `new ObjectOutputStream(dos).writeObject(properties)`). The trailer is kept as raw bytes in
 * `CheckpointMetadata.properties`; the reader checks it is exactly one serialized `null` or
 * `CheckpointProperties` object (so a truncated file is detected), and the writer writes it back
 * unchanged (or Flink's `writeObject(null)` bytes when `properties` is null).
 */

import { InvalidArgumentError } from "../../errors.js";
import type { DataInput } from "../io/data-input.js";
import type { DataOutput } from "../io/data-output.js";
import type { CheckpointMetadata } from "./model.js";
import { checkPropertiesTrailer, NULL_PROPERTIES_TRAILER } from "./properties.js";
import { MetadataV3Serializer } from "./v3.js";

/** Codec for metadata V4 (`MetadataV4Serializer`). */
export class MetadataV4Serializer extends MetadataV3Serializer {
  override readonly version: number = 4;

  protected override readTrailer(input: DataInput): Uint8Array {
    const at = input.position;
    const trailer = input.readFully(input.remaining, "CheckpointProperties");
    const problem = checkPropertiesTrailer(trailer);
    if (problem) throw input.corrupt(problem.message, at + problem.offset);
    return trailer;
  }

  protected override writeTrailer(out: DataOutput, m: CheckpointMetadata): void {
    const trailer = m.properties ?? NULL_PROPERTIES_TRAILER;
    if (!(trailer instanceof Uint8Array)) throw new InvalidArgumentError("properties must be bytes or null");
    const problem = checkPropertiesTrailer(trailer);
    if (problem)
      throw new InvalidArgumentError(`properties: ${problem.message} (at trailer byte ${problem.offset})`);
    out.write(trailer);
  }
}
