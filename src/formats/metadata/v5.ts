/**
 * Metadata format version 5 (written by Flink 2.0; FLINK-36001 / FLIP-474): V4 with the operator's
 * name and uid in front of each operator record.
 *
 * Mirrors `MetadataV5Serializer extends MetadataV4Serializer`: `UTF name, UTF uid` precede the V3
 * operator layout. Flink stores an absent name/uid as "" and reads "" back as null; its writer refuses
 * an explicitly empty name or uid ("Empty string operator name is not allowed"), so the model uses
 * null for absent and our writer refuses "".
 */

import { InvalidArgumentError } from "../../errors.js";
import type { DataInput } from "../io/data-input.js";
import type { DataOutput } from "../io/data-output.js";
import { readString, writeString } from "./common.js";
import type { OperatorState } from "./model.js";
import { MetadataV4Serializer } from "./v4.js";

/** Codec for metadata V5 (`MetadataV5Serializer`). */
export class MetadataV5Serializer extends MetadataV4Serializer {
  override readonly version: number = 5;
  protected override readonly minOperatorBytes: number = 2 + 2 + 16 + 4 + 4 + 1 + 4;

  protected override readOperatorNames(input: DataInput): { name: string | null; uid: string | null } {
    const name = input.within("name", () => readString(input));
    const uid = input.within("uid", () => readString(input));
    return { name: name === "" ? null : name, uid: uid === "" ? null : uid };
  }

  protected override writeOperatorNames(out: DataOutput, op: OperatorState): void {
    if (op.name === "") throw new InvalidArgumentError("Empty string operator name is not allowed");
    if (op.uid === "") throw new InvalidArgumentError("Empty string operator uid is not allowed");
    writeString(out, op.name ?? "", `operator ${op.operatorId} name`);
    writeString(out, op.uid ?? "", `operator ${op.operatorId} uid`);
  }
}
