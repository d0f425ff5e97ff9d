/**
 * `plan`: what Flink will do when it restores a snapshot into a job, decided offline.
 *
 * Mirrors `Checkpoints.loadAndValidateCheckpoint` (1.15+) and
 * `StateAssignmentOperation.checkParallelismPreconditions`:
 * - an operator's state maps when its OperatorID is one of a job operator's ids (the id generated
 *   from the uid, or the user-defined `setUidHash` id);
 * - unmapped state is dropped silently when it is empty (no coordinator state, no subtask with a
 *   handle: `OperatorSubtaskState.hasState()`), and otherwise fails the restore unless
 *   `--allowNonRestoredState` is set;
 * - mapped state fails when the job configures a max parallelism other than the state's, or when the
 *   state's max parallelism is below the job operator's parallelism.
 * The messages are Flink's, with the snapshot pointer in Flink's Path form.
 */

import type { CheckpointMetadata, OperatorState } from "../formats/metadata/model.js";
import { subtaskHasState } from "../formats/metadata/traverse.js";
import { type JobOperator, type JobSpec, jobOperatorIds } from "./job-spec.js";

/** What happens to one operator's state. */
export type OperatorFate = "mapped" | "unmapped-with-state" | "unmapped-empty";

/** One snapshot operator in the plan. */
export interface PlannedOperator {
  operatorId: string;
  uid: string | null;
  name: string | null;
  fate: OperatorFate;
  /** The job operator it maps to (index into the job spec), when mapped. */
  jobOperator: number | null;
  maxParallelism: number;
  /** Flink's failure messages for this operator, if it would fail the restore. */
  errors: string[];
}

/** One job operator in the plan. */
export interface PlannedJobOperator extends JobOperator {
  /** The ids it matches state by. */
  ids: string[];
  /** A snapshot operator maps to it and has state. */
  findsState: boolean;
  /** The snapshot operator it matched, if any. */
  operatorId: string | undefined;
}

/** The whole plan. */
export interface RestorePlan {
  operators: PlannedOperator[];
  job: PlannedJobOperator[];
  /** Flink restores without `--allowNonRestoredState`. */
  restorable: boolean;
  /** Flink restores with `--allowNonRestoredState` (max-parallelism failures remain). */
  restorableWithAllowNonRestoredState: boolean;
  /** Every failure message, in operator order. */
  errors: string[];
}

/** True when the operator carries state Flink would refuse to drop silently. */
export function operatorHasState(op: OperatorState): boolean {
  if (op.coordinatorState !== null) return true;
  return op.subtaskStates.some((s) => s.kind === "OperatorSubtaskState" && subtaskHasState(s));
}

/**
 * Plans the restore of `m` (whose `_metadata` Flink would be pointed at as `pointer`) into `job`. Pure.
 */
export function planRestore(m: CheckpointMetadata, job: JobSpec, pointer: string): RestorePlan {
  const jobOps: PlannedJobOperator[] = job.operators.map((op) => ({
    ...op,
    ids: jobOperatorIds(op),
    findsState: false,
    operatorId: op.operatorId,
  }));
  const byId = new Map<string, number>();
  jobOps.forEach((op, i) => {
    for (const id of op.ids) if (!byId.has(id)) byId.set(id, i);
  });

  const errors: string[] = [];
  let parallelismErrors = 0;
  const operators = m.operatorStates.map((op): PlannedOperator => {
    const j = byId.get(op.operatorId);
    const base = { operatorId: op.operatorId, uid: op.uid, name: op.name, maxParallelism: op.maxParallelism };
    const hasState = operatorHasState(op);
    if (j === undefined) {
      if (!hasState) return { ...base, fate: "unmapped-empty", jobOperator: null, errors: [] };
      const msg =
        `Failed to rollback to checkpoint/savepoint ${pointer}. Cannot map checkpoint/savepoint state for operator ` +
        `${op.operatorId} to the new program, because the operator is not available in the new program. If you want ` +
        "to allow to skip this, you can set the --allowNonRestoredState option on the CLI.";
      errors.push(msg);
      return { ...base, fate: "unmapped-with-state", jobOperator: null, errors: [msg] };
    }
    const target = jobOps[j] as PlannedJobOperator;
    target.operatorId ??= op.operatorId;
    if (hasState) target.findsState = true;
    const own: string[] = [];
    if (target.maxParallelism !== undefined && target.maxParallelism !== op.maxParallelism) {
      own.push(
        // Flink formats this one with the CheckpointMetadata object, whose toString() is "Checkpoint Metadata".
        "Failed to rollback to checkpoint/savepoint Checkpoint Metadata. Max parallelism mismatch between checkpoint/savepoint " +
          `state and new program. Cannot map operator ${op.operatorId} with max parallelism ${op.maxParallelism} to new ` +
          `program with max parallelism ${target.maxParallelism}. This indicates that the program has been changed in a ` +
          "non-compatible way after the checkpoint/savepoint.",
      );
    }
    if (target.parallelism !== undefined && op.maxParallelism < target.parallelism) {
      own.push(
        `The state for task ${op.operatorId} can not be restored. The maximum parallelism (${op.maxParallelism}) of the ` +
          `restored state is lower than the configured parallelism (${target.parallelism}). Please reduce the ` +
          "parallelism of the task to be lower or equal to the maximum parallelism.",
      );
    }
    parallelismErrors += own.length;
    errors.push(...own);
    return { ...base, fate: "mapped", jobOperator: j, errors: own };
  });
  return {
    operators,
    job: jobOps,
    restorable: errors.length === 0,
    restorableWithAllowNonRestoredState: parallelismErrors === 0,
    errors,
  };
}
