/**
 * The part of the `_metadata` body every version (2..7) shares, after the magic number and version:
 *
 * ```
 * long checkpointId                  (>= 0)
 * int  numMasterStates               (>= 0)   MasterState × n      (master-state.ts)
 * int  numOperatorStates             (>= 0)   OperatorState × n    (version-specific)
 * [V4+: Java-serialized CheckpointProperties to EOF]              (properties.ts)
 * ```
 *
 * Mirrors Flink's `MetadataV2V3SerializerBase.serializeMetadata` / `deserializeMetadata`; subclasses
 * (`v2.ts` ... `v7.ts`) follow Flink's `MetadataVnSerializer` class hierarchy.
 */

import { InvalidArgumentError } from "../../errors.js";
import type { DataInput } from "../io/data-input.js";
import type { DataOutput } from "../io/data-output.js";
import { type ReadContext, type WriteContext, writeInt32, writeInt64 } from "./common.js";
import { MIN_MASTER_STATE_BYTES, readMasterState, writeMasterState } from "./master-state.js";
import type { CheckpointMetadata, MasterState, OperatorState } from "./model.js";
import { validateOperatorForWrite } from "./operator-state.js";

/**
 * A `_metadata` file read one operator at a time, so that a consumer (a streaming `inspect`) never
 * holds every operator's model at once. Fields are the header, read when the stream is opened.
 */
export interface MetadataStream {
  /** The metadata format version (2..7). */
  readonly version: number;
  readonly checkpointId: bigint;
  readonly masterStates: MasterState[];
  /** Number of operator records in the file. */
  readonly operatorCount: number;
  /**
   * The operator records in file order, each parsed when the iteration reaches it (byte fields are
   * views into the file's buffer, as with `readMetadata`). Can be iterated once.
   * @throws CorruptSnapshotError / UnsupportedVersionError when a record (or, after the last record,
   *   the trailer) is malformed; InvalidArgumentError on a second iteration.
   */
  operators(): Generator<OperatorState>;
  /**
   * The raw CheckpointProperties trailer (V4+) or null (V2/V3, or a V4+ Java null).
   * @throws InvalidArgumentError before `operators()` has been iterated to the end.
   */
  properties(): Uint8Array | null;
}

/** A codec for one metadata format version: reads and writes the body after the version int. */
export abstract class MetadataSerializerBase {
  /** The format version this codec reads and writes. */
  abstract readonly version: number;

  /** Smallest possible encoded operator record, to bound the operator count. */
  protected abstract readonly minOperatorBytes: number;

  /**
   * Reads the body (everything after the version int) up to the end of `input`.
   * @throws CorruptSnapshotError / UnsupportedVersionError on malformed input.
   */
  read(input: DataInput): CheckpointMetadata {
    return this.readBody(input, { version: this.version, depth: 0 });
  }

  /**
   * Reads the body one operator at a time (see {@link MetadataStream}): the header now, each operator
   * record when the iteration reaches it, the trailer after the last one.
   * @throws CorruptSnapshotError / UnsupportedVersionError for a malformed header here, and for a
   *   malformed operator record or trailer from the iteration.
   */
  stream(input: DataInput): MetadataStream {
    return this.streamBody(input, { version: this.version, depth: 0 });
  }

  /** Reads the body with the given context (`read` with one layout; see `v3.ts`). */
  protected readBody(input: DataInput, ctx: ReadContext): CheckpointMetadata {
    const body = this.streamBody(input, ctx);
    const operatorStates = [...body.operators()];
    return {
      version: this.version,
      checkpointId: body.checkpointId,
      masterStates: body.masterStates,
      operatorStates,
      properties: body.properties(),
    };
  }

  /** {@link stream} with the given context. */
  protected streamBody(input: DataInput, ctx: ReadContext): MetadataStream {
    const idAt = input.position;
    const checkpointId = input.readLong();
    if (checkpointId < 0n) throw input.corrupt(`invalid checkpoint ID: ${checkpointId}`, idAt);

    const numMasterStates = input.readCount("number of master states", MIN_MASTER_STATE_BYTES);
    const masterStates: MasterState[] = [];
    for (let i = 0; i < numMasterStates; i++) {
      masterStates.push(input.within(`masterState[${i}]`, () => readMasterState(input)));
    }

    const operatorCount = input.readCount("number of operator states", this.minOperatorBytes);
    let state: "new" | "reading" | "done" = "new";
    let trailer: Uint8Array | null = null;
    const readOperator = (i: number) =>
      input.within(`operator[${i}]`, () => this.readOperatorState(input, ctx));
    const readTrailer = () => this.readTrailer(input);
    return {
      version: this.version,
      checkpointId,
      masterStates,
      operatorCount,
      *operators() {
        if (state !== "new")
          throw new InvalidArgumentError("MetadataStream.operators() can be iterated once");
        state = "reading";
        for (let i = 0; i < operatorCount; i++) yield readOperator(i);
        trailer = readTrailer();
        state = "done";
      },
      properties() {
        if (state !== "done") {
          throw new InvalidArgumentError("MetadataStream.properties() is known only after the last operator");
        }
        return trailer;
      },
    };
  }

  /**
   * Writes the body for `m` (which must carry this codec's version).
   * @throws InvalidArgumentError for a model this version cannot hold or Flink could not have written.
   */
  write(out: DataOutput, m: CheckpointMetadata): void {
    this.writeBody(out, m, { version: this.version, depth: 0 });
  }

  /** Writes the body with the given context, which records the layout the handles needed. */
  protected writeBody(out: DataOutput, m: CheckpointMetadata, ctx: WriteContext): void {
    if (m.version !== this.version) {
      throw new InvalidArgumentError(`model is version ${m.version}, codec writes version ${this.version}`);
    }
    if (typeof m.checkpointId !== "bigint" || m.checkpointId < 0n) {
      throw new InvalidArgumentError(
        `checkpointId must be a non-negative bigint, got ${String(m.checkpointId)}`,
      );
    }
    writeInt64(out, m.checkpointId, "checkpointId");
    if (!Array.isArray(m.masterStates)) throw new InvalidArgumentError("masterStates must be a list");
    writeInt32(out, m.masterStates.length, "number of master states");
    for (const ms of m.masterStates) writeMasterState(out, ms);
    if (!Array.isArray(m.operatorStates)) throw new InvalidArgumentError("operatorStates must be a list");
    writeInt32(out, m.operatorStates.length, "number of operator states");
    for (const op of m.operatorStates) {
      if (!op) throw new InvalidArgumentError("operatorStates holds a null operator");
      validateOperatorForWrite(op);
      this.writeOperatorState(out, op, ctx);
    }
    this.writeTrailer(out, m);
  }

  /** Reads one operator record (`deserializeOperatorState`). */
  protected abstract readOperatorState(input: DataInput, ctx: ReadContext): OperatorState;

  /** Writes one operator record (`serializeOperatorState`); the operator passed the common checks. */
  protected abstract writeOperatorState(out: DataOutput, op: OperatorState, ctx: WriteContext): void;

  /**
   * What follows the operators. V2/V3: nothing, so any byte left is an error.
   * @returns the raw trailer for V4+, null before.
   */
  protected readTrailer(input: DataInput): Uint8Array | null {
    if (!input.atEnd) throw input.corrupt(`${input.remaining} trailing bytes after the last operator state`);
    return null;
  }

  /** Writes what follows the operators; before V4 there is nothing, so `properties` must be null. */
  protected writeTrailer(_out: DataOutput, m: CheckpointMetadata): void {
    if (m.properties !== null && m.properties !== undefined) {
      throw new InvalidArgumentError(`metadata V${this.version} cannot hold CheckpointProperties (V4+ only)`);
    }
  }
}
