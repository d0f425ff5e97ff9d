/**
 * The state files of the committed fixtures (keyed key-group files, RocksDB meta files, operator state
 * files), loaded with the handles `_metadata` holds for them.
 */

import { readFileSync } from "node:fs";
import { readMetadata } from "../../../src/formats/metadata/index.js";
import type {
  KeyGroupsStateHandle,
  OperatorState,
  OperatorStateHandle,
  StreamStateHandle,
} from "../../../src/formats/metadata/model.js";
import { filePointer } from "../../../src/formats/metadata/pointers.js";
import { allHandles } from "../../../src/formats/metadata/traverse.js";
import { normalizeUri } from "../../../src/storage/uri.js";
import { type Fixture, listFixtures } from "../../helpers/fixtures.js";

export interface FixtureStateFile {
  /** e.g. `flink-1.20/savepoint-canonical-hashmap word-stats[1] keyed`. */
  id: string;
  fixture: Fixture;
  operator: OperatorState;
  subtask: number;
  kind: "keyed" | "meta" | "operator";
  /** The KeyGroups or OperatorStream handle (null for RocksDB meta files). */
  handle: KeyGroupsStateHandle | OperatorStateHandle | null;
  bytes: Uint8Array;
  /** Keyed files: [start, end) of each key group with data, ascending. */
  keyGroupSpans: [number, number][];
}

function bytesOf(h: StreamStateHandle, dir: string): Uint8Array | null {
  if (h.kind === "ByteStreamStateHandle") return new Uint8Array(h.data);
  const p = filePointer(h, dir);
  const uri = p?.uri;
  if (!uri?.startsWith("file://")) return null;
  try {
    const file = new Uint8Array(readFileSync(new URL(uri)));
    // a file-merging segment: its bytes within the physical file
    if (h.kind !== "SegmentFileStateHandle") return file;
    const start = Number(p?.startPos ?? 0n);
    return file.subarray(start, start + Number(p?.stateSize ?? 0n));
  } catch {
    return null;
  }
}

let cache: FixtureStateFile[] | undefined;

/** Every keyed, meta and operator state file of every fixture. */
export async function fixtureStateFiles(): Promise<FixtureStateFile[]> {
  if (cache) return cache;
  const out: FixtureStateFile[] = [];
  for (const fixture of listFixtures()) {
    const m = readMetadata(readFileSync(fixture.metadataFile), fixture.metadataFile);
    const dir = normalizeUri(fixture.metadataDir);
    for (const v of allHandles(m)) {
      const name = `${fixture.id} ${v.operator.uid ?? v.operator.operatorId.slice(0, 8)}[${v.subtask.subtaskIndex}]`;
      const h = v.handle;
      if (
        v.slot === "managedKeyedState" &&
        (h.kind === "KeyGroupsStateHandle" || h.kind === "KeyGroupsSavepointStateHandle")
      ) {
        const bytes = bytesOf(h.delegate, dir);
        if (!bytes) continue;
        const starts = h.offsets.map(Number).filter((o) => o !== 0);
        const spans = starts.map((s, i): [number, number] => [s, starts[i + 1] ?? bytes.length]);
        out.push({
          id: `${name} keyed`,
          fixture,
          operator: v.operator,
          subtask: v.subtask.subtaskIndex,
          kind: "keyed",
          handle: h,
          bytes,
          keyGroupSpans: spans,
        });
      } else if (
        v.slot === "managedKeyedState" &&
        h.kind === "IncrementalRemoteKeyedStateHandle" &&
        h.metaStateHandle
      ) {
        const bytes = bytesOf(h.metaStateHandle, dir);
        if (!bytes) continue;
        out.push({
          id: `${name} meta`,
          fixture,
          operator: v.operator,
          subtask: v.subtask.subtaskIndex,
          kind: "meta",
          handle: null,
          bytes,
          keyGroupSpans: [],
        });
      } else if (
        v.slot === "managedOperatorState" &&
        (h.kind === "OperatorStreamStateHandle" ||
          (h.kind === "FileMergingOperatorStreamStateHandle" && !h.isEmpty))
      ) {
        const bytes = bytesOf(h.delegate, dir);
        if (!bytes) continue;
        out.push({
          id: `${name} operator`,
          fixture,
          operator: v.operator,
          subtask: v.subtask.subtaskIndex,
          kind: "operator",
          handle: h,
          bytes,
          keyGroupSpans: [],
        });
      }
    }
  }
  cache = out;
  return out;
}

/** The keyed files of the canonical (compressed) savepoints. */
export async function canonicalKeyedFiles(): Promise<FixtureStateFile[]> {
  return (await fixtureStateFiles()).filter(
    (f) => f.kind === "keyed" && f.fixture.expected.case.startsWith("savepoint-canonical"),
  );
}
