/**
 * Our model seen as Flink's loader shows it, for the tests that compare the model with what Flink
 * itself printed (`fixtures-expected.test.ts`: the harness's `expected.json`; `vectors-flink.test.ts`:
 * the vector generators' dumps). Computed here independently of `src/` (these are the oracles' rules,
 * not our code's), from the JSON the Java side wrote.
 */
import type { KeyedStateHandle, KeyGroupRange, StreamStateHandle } from "../../src/formats/metadata/model.js";

/** A parsed JSON value. */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
/** A parsed JSON object. */
export type JsonObject = { [k: string]: Json };

/** The value as an object, or null when it is anything else. */
export const obj = (j: Json | undefined): JsonObject | null =>
  j !== null && j !== undefined && typeof j === "object" && !Array.isArray(j) ? j : null;
/** The value as an array, or an empty one when it is anything else. */
export const arr = (j: Json | undefined): Json[] => (Array.isArray(j) ? j : []);

/** `KeyGroupRange.of`: every empty range is (0, -1). */
export function flinkRange(r: KeyGroupRange): { start: number; end: number } {
  return r.end < r.start ? { start: 0, end: -1 } : { start: r.start, end: r.end };
}

/** `StateObject.getStateSize()` of a stream handle, as Flink computes it. */
export function streamSize(h: StreamStateHandle | null): bigint {
  if (h === null) return 0n;
  switch (h.kind) {
    case "ByteStreamStateHandle":
      return BigInt(h.data.length);
    case "FileStateHandle":
    case "RelativeFileStateHandle":
    case "SegmentFileStateHandle":
      return h.stateSize;
    case "EmptySegmentFileStateHandle":
      return 0n;
    case "KeyGroupsStateHandle":
    case "KeyGroupsSavepointStateHandle":
      return streamSize(h.delegate);
  }
}

/** `getStateSize()` of a keyed handle, as Flink computes it. */
export function keyedSize(h: KeyedStateHandle): bigint {
  switch (h.kind) {
    case "KeyGroupsStateHandle":
    case "KeyGroupsSavepointStateHandle":
      return streamSize(h.delegate);
    case "IncrementalRemoteKeyedStateHandle":
      return [...h.sharedState, ...h.privateState].reduce(
        (s, e) => s + streamSize(e.handle),
        streamSize(h.metaStateHandle),
      );
    case "ChangelogStateBackendHandle":
      return [...h.materialized, ...h.nonMaterialized].reduce((s, k) => s + keyedSize(k), 0n);
    case "InMemoryChangelogStateHandle":
      return h.changes.reduce((s, c) => s + BigInt(c.data.length), 0n);
    case "ChangelogStateHandleStreamImpl":
      return h.size;
  }
}
