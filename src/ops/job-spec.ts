/**
 * The operators of the job a snapshot is restored into, as `plan` and `prune` take them: a JSON file
 * validated against `schemas/job.schema.json`, or uids and OperatorIDs from flags.
 */

import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import type { ValidateFunction } from "ajv/dist/2020.js";
import { InvalidArgumentError } from "../errors.js";
import { isOperatorIdHex, operatorIdFromUid, parseOperatorId } from "../formats/operator-id.js";

/** One operator of the new job. */
export interface JobOperator {
  uid?: string;
  /** An explicit OperatorID: the generated id of an operator without uid, or a `setUidHash` value. */
  operatorId?: string;
  name?: string;
  parallelism?: number;
  /** Set only when the job configures max parallelism explicitly (Flink then refuses a mismatch). */
  maxParallelism?: number;
}

/** The new job: its operators. */
export interface JobSpec {
  operators: JobOperator[];
}

let validator: ValidateFunction<JobSpec> | undefined;

/**
 * The compiled schema, built on first use: ajv is loaded and the schema compiled only by the commands
 * that take a job spec, so that every other command starts fast.
 */
async function jobSchemaValidator(): Promise<ValidateFunction<JobSpec>> {
  if (!validator) {
    const { Ajv2020 } = await import("ajv/dist/2020.js");
    // The schema ships in the package's schemas/ folder, two levels above both src/ops and dist/ops.
    const schema = createRequire(import.meta.url)("../../schemas/job.schema.json") as object;
    validator = new Ajv2020({ allErrors: true }).compile<JobSpec>(schema);
  }
  return validator;
}

/**
 * The OperatorIDs state can map to for a job operator (Flink's `OperatorIDPair`: the id generated from
 * the uid and the user-defined one), lower-case hex.
 */
export function jobOperatorIds(op: JobOperator): string[] {
  const ids: string[] = [];
  if (op.uid !== undefined) ids.push(operatorIdFromUid(op.uid));
  if (op.operatorId !== undefined) ids.push(parseOperatorId(op.operatorId));
  return ids;
}

/**
 * Checks a parsed JSON value against the job schema.
 * @throws InvalidArgumentError listing every schema violation.
 */
export async function parseJobSpec(value: unknown, source = "job spec"): Promise<JobSpec> {
  const validate = await jobSchemaValidator();
  if (!validate(value)) {
    const problems = (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}`).join("; ");
    throw new InvalidArgumentError(`${source} does not match schemas/job.schema.json: ${problems}`);
  }
  return value;
}

/**
 * Reads a job spec file: JSON per `schemas/job.schema.json`.
 * @throws InvalidArgumentError when it cannot be read, is not JSON, or does not match the schema.
 */
export async function readJobSpec(path: string): Promise<JobSpec> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new InvalidArgumentError(`cannot read job spec ${path}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`job spec ${path} is not valid JSON: ${(err as Error).message}`);
  }
  return parseJobSpec(value, `job spec ${path}`);
}

/**
 * An operator reference as users type it: a 32-hex OperatorID, or a uid. `uid:` and `id:` prefixes
 * force one reading (for a uid that happens to be 32 hex characters).
 */
export interface OperatorRef {
  /** The OperatorID it denotes. */
  operatorId: string;
  /** The uid, when given as one. */
  uid: string | null;
  /** As typed. */
  text: string;
}

/** Parses an operator reference (see {@link OperatorRef}). */
export function parseOperatorRef(text: string): OperatorRef {
  if (text.startsWith("uid:")) {
    const uid = text.slice(4);
    if (uid === "") throw new InvalidArgumentError("empty uid in 'uid:'");
    return { operatorId: operatorIdFromUid(uid), uid, text };
  }
  if (text.startsWith("id:")) return { operatorId: parseOperatorId(text.slice(3)), uid: null, text };
  if (isOperatorIdHex(text)) return { operatorId: text.toLowerCase(), uid: null, text };
  if (text === "") throw new InvalidArgumentError("empty operator reference");
  return { operatorId: operatorIdFromUid(text), uid: text, text };
}

/** A job spec from operator references given as flags (uids or OperatorIDs). */
export function jobSpecFromRefs(refs: readonly string[]): JobSpec {
  return {
    operators: refs.map((r) => {
      const ref = parseOperatorRef(r);
      return ref.uid !== null ? { uid: ref.uid } : { operatorId: ref.operatorId };
    }),
  };
}
