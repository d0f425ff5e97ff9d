/**
 * A synthetic `_metadata` of a large job (Flink 2.x, version 6): `operators` operators at parallelism
 * `parallelism`, each subtask with an incremental RocksDB handle over `sharedFiles` shared SST files on
 * S3, 3 private files and a meta file, plus operator list state. The benchmark's files are written by
 * Flink's own serializer from the same model (bench/java-loader `WriteLargeMetadata`); this one is
 * the cross-check that our writer gives Flink's bytes.
 */

import { writeMetadata } from "../src/formats/metadata/index.js";
import type { CheckpointMetadata, HandleAndLocalPath, OperatorState } from "../src/formats/metadata/model.js";

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, "0");
}

function uuid(a: number, b: number): string {
  const h = hex(a, 16) + hex(b, 16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** Builds the model (see the module doc). */
export function largeMetadata(operators: number, parallelism = 128, sharedFiles = 24): CheckpointMetadata {
  const base = "s3://flink-prod-checkpoints/jobs/6c1e0f9b2a3d4e5f8a7b6c5d4e3f2a1b";
  const operatorStates: OperatorState[] = [];
  for (let o = 0; o < operators; o++) {
    const operatorId = hex(o + 1, 16) + hex(0xabcdef, 16);
    const keyGroupsPerSubtask = Math.floor(32768 / parallelism);
    const subtaskStates: OperatorState["subtaskStates"] = [];
    for (let s = 0; s < parallelism; s++) {
      const file = (k: number) => ({
        kind: "FileStateHandle" as const,
        filePath: `${base}/shared/op-${o}-${s}/${uuid(o * 1000 + s, k)}`,
        stateSize: BigInt(64 * 1024 * 1024 + k),
      });
      const shared: HandleAndLocalPath[] = [];
      for (let k = 0; k < sharedFiles; k++)
        shared.push({ localPath: `${String(1000 + k).padStart(6, "0")}.sst`, handle: file(k) });
      const priv: HandleAndLocalPath[] = ["MANIFEST-000004", "OPTIONS-000007", "CURRENT"].map(
        (localPath, k) => ({
          localPath,
          handle: file(100 + k),
        }),
      );
      subtaskStates.push({
        kind: "OperatorSubtaskState",
        subtaskIndex: s,
        managedOperatorState: {
          kind: "OperatorStreamStateHandle",
          states: [{ name: "SourceReaderState", mode: "SPLIT_DISTRIBUTE", offsets: [0n, 120n] }],
          delegate: { kind: "FileStateHandle", filePath: `${base}/chk-42/${uuid(o, s)}`, stateSize: 240n },
        },
        rawOperatorState: null,
        managedKeyedState: {
          kind: "IncrementalRemoteKeyedStateHandle",
          tag: 11,
          checkpointId: 42n,
          backendIdentifier: uuid(o, s + 7),
          keyGroupRange: { start: s * keyGroupsPerSubtask, end: (s + 1) * keyGroupsPerSubtask - 1 },
          checkpointedSize: 1024n * 1024n,
          metaStateHandle: {
            kind: "FileStateHandle",
            filePath: `${base}/chk-42/${uuid(o, s + 9)}`,
            stateSize: 4096n,
          },
          sharedState: shared,
          privateState: priv,
          stateHandleId: uuid(o, s + 11),
        },
        rawKeyedState: null,
        inputChannelState: [],
        resultSubpartitionState: [],
      });
    }
    operatorStates.push({
      operatorId,
      name: `operator-${o}`,
      uid: `uid-${o}`,
      parallelism,
      maxParallelism: 32768,
      coordinatorState: null,
      fullyFinished: false,
      subtaskStates,
    });
  }
  return {
    version: 6,
    checkpointId: 42n,
    masterStates: [],
    operatorStates,
    // A Java null in the properties slot: Flink 2.x reads it as "no properties".
    properties: Uint8Array.of(0xac, 0xed, 0x00, 0x05, 0x70),
  };
}

/** The bytes of {@link largeMetadata}. */
export function largeMetadataBytes(
  operators: number,
  parallelism?: number,
  sharedFiles?: number,
): Uint8Array {
  return writeMetadata(largeMetadata(operators, parallelism, sharedFiles));
}
