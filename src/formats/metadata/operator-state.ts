/**
 * Checks on operator records shared by every metadata version: the ones Flink's `OperatorState`
 * constructor and `putState` make on load, and the rules its writers follow.
 *
 * Flink (`OperatorState`): `parallelism <= maxParallelism` ("Parallelism %s is not smaller or equal to
 * max parallelism %s."), a non-negative parallelism (it sizes a `HashMap` with it), and every subtask
 * index in `[0, parallelism)` ("The given sub task index ... exceeds the maximum number of sub
 * tasks"). Subtasks live in a `Map<Integer, ...>`, so an index can occur only once; Flink's loader
 * would silently keep the last of duplicates, which its writer never produces, so we refuse them.
 */

import { InvalidArgumentError } from "../../errors.js";
import type { DataInput } from "../io/data-input.js";
import { isInt32 } from "./common.js";
import type { OperatorState, SubtaskStateEntry } from "./model.js";

/**
 * Checks `0 <= parallelism <= maxParallelism` as read.
 * @throws CorruptSnapshotError pointing at `at` (the parallelism field) otherwise.
 */
export function checkReadParallelism(
  input: DataInput,
  at: number,
  parallelism: number,
  maxParallelism: number,
): void {
  if (parallelism < 0 || parallelism > maxParallelism) {
    throw input.corrupt(
      `invalid parallelism ${parallelism} for max parallelism ${maxParallelism} (need 0 <= parallelism <= max)`,
      at,
    );
  }
}

/**
 * Tracks the subtask indices of one operator while reading.
 * @throws CorruptSnapshotError (from {@link SubtaskIndexTracker.add}) for an index out of range or repeated.
 */
export class SubtaskIndexTracker {
  private readonly seen = new Set<number>();

  constructor(
    private readonly input: DataInput,
    private readonly parallelism: number,
  ) {}

  /** Registers `index`, read at relative position `at`. */
  add(index: number, at: number): void {
    if (index < 0 || index >= this.parallelism) {
      throw this.input.corrupt(`subtask index ${index} outside [0, ${this.parallelism})`, at);
    }
    if (this.seen.has(index)) throw this.input.corrupt(`duplicate subtask index ${index}`, at);
    this.seen.add(index);
  }
}

/**
 * Checks the operator fields every version writes (id format is checked by the id writer):
 * int-range, `0 <= parallelism <= maxParallelism`, subtask indices unique and in range, subtask kinds.
 * @throws InvalidArgumentError naming the operator.
 */
export function validateOperatorForWrite(op: OperatorState): void {
  const who = `operator ${op.operatorId}`;
  if (!isInt32(op.parallelism) || !isInt32(op.maxParallelism)) {
    throw new InvalidArgumentError(`${who}: parallelism and maxParallelism must be 32-bit ints`);
  }
  if (op.parallelism < 0 || op.parallelism > op.maxParallelism) {
    throw new InvalidArgumentError(
      `${who}: parallelism ${op.parallelism} must be between 0 and maxParallelism ${op.maxParallelism}`,
    );
  }
  if (!Array.isArray(op.subtaskStates))
    throw new InvalidArgumentError(`${who}: subtaskStates must be a list`);
  const seen = new Set<number>();
  for (const s of op.subtaskStates as SubtaskStateEntry[]) {
    if (!s || (s.kind !== "OperatorSubtaskState" && s.kind !== "FinishedOperatorSubtaskState")) {
      throw new InvalidArgumentError(
        `${who}: unknown subtask state kind ${JSON.stringify((s as { kind?: unknown } | null)?.kind)}`,
      );
    }
    if (!Number.isInteger(s.subtaskIndex) || s.subtaskIndex < 0 || s.subtaskIndex >= op.parallelism) {
      throw new InvalidArgumentError(
        `${who}: subtask index ${s.subtaskIndex} outside [0, ${op.parallelism})`,
      );
    }
    if (seen.has(s.subtaskIndex))
      throw new InvalidArgumentError(`${who}: duplicate subtask index ${s.subtaskIndex}`);
    seen.add(s.subtaskIndex);
  }
}
