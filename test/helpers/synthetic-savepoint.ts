/**
 * A synthetic canonical savepoint for storage tests and benchmarks: one keyed operator whose subtask i
 * holds key group i in the state file `names[i]` (a relative pointer), every file `size` bytes. Written by
 * our writer; Flink-written snapshots are the fixtures (this one only exercises moving files).
 */

import type { CheckpointMetadata, OperatorSubtaskState } from "../../src/formats/metadata/model.js";

/** The metadata model (V6, Flink 2.x) of a savepoint whose state files are `names`, `size` bytes each. */
export function syntheticSavepoint(names: readonly string[], size: number): CheckpointMetadata {
  const subtasks: OperatorSubtaskState[] = names.map((name, i) => ({
    kind: "OperatorSubtaskState",
    subtaskIndex: i,
    managedOperatorState: null,
    rawOperatorState: null,
    managedKeyedState: {
      kind: "KeyGroupsSavepointStateHandle",
      tag: 7,
      keyGroupRange: { start: i, end: i },
      offsets: [0n],
      delegate: { kind: "RelativeFileStateHandle", relativePath: name, stateSize: BigInt(size) },
      stateHandleId: null,
    },
    rawKeyedState: null,
    inputChannelState: [],
    resultSubpartitionState: [],
  }));
  return {
    version: 6,
    checkpointId: 1n,
    masterStates: [],
    operatorStates: [
      {
        operatorId: "d0a4e4912796d2114f5e0db4e8dcf52a",
        name: "word-stats",
        uid: "word-stats",
        parallelism: names.length,
        maxParallelism: Math.max(128, names.length),
        coordinatorState: null,
        fullyFinished: false,
        subtaskStates: subtasks,
      },
    ],
    // a Java null CheckpointProperties
    properties: Uint8Array.of(0xac, 0xed, 0x00, 0x05, 0x70),
  };
}
