/**
 * Compares our parsed model of every real fixture, field by field, with `expected.json`, which the
 * fixture harness (fixtures/harness, ExpectedWriter.java) writes from Flink's own loader
 * (`Checkpoints.loadCheckpointMetadata`). All differences of a fixture are collected and reported
 * together, each with its JSON path.
 *
 * Where Flink's loader does not reproduce the bytes, the comparison follows what the loader does:
 * operator state names are compared as a set (Flink reads them into a HashMap; the harness sorts
 * them by name), subtasks by index (the harness sorts them), empty key-group ranges as (0, -1)
 * (`KeyGroupRange.of`), and ids Flink invents on load (tag 3 / tag 5 handles get random state handle
 * ids) are not compared. Relative handles are checked against the path Flink resolved at generation
 * time: `file:<generatedUnder>/<metadata dir inside the snapshot>/<relativePath>`.
 */
import assert from "node:assert/strict";
import { dirname, posix } from "node:path";
import { describe, it } from "node:test";
import { decodeCheckpointProperties, readMetadata } from "../src/formats/metadata/index.js";
import type {
  CheckpointMetadata,
  KeyedStateHandle,
  OperatorState,
  OperatorStateHandle,
  OperatorSubtaskState,
  StreamStateHandle,
  SubtaskStateEntry,
} from "../src/formats/metadata/model.js";
import { type Fixture, listFixtures } from "./formats/metadata/helpers.js";
import {
  arr,
  flinkRange,
  type Json,
  type JsonObject,
  keyedSize,
  obj,
  streamSize,
} from "./helpers/flink-view.js";

/** Collects differences with their paths. */
class Diff {
  readonly problems: string[] = [];

  eq(path: string, expected: Json | undefined, actual: unknown): void {
    const a = typeof actual === "bigint" ? actual.toString() : actual;
    if (expected === undefined) {
      this.problems.push(`${path}: missing in expected.json (ours: ${JSON.stringify(a)})`);
    } else if (JSON.stringify(expected) !== JSON.stringify(a)) {
      this.problems.push(`${path}: expected ${JSON.stringify(expected)}, ours ${JSON.stringify(a)}`);
    }
  }

  fail(path: string, message: string): void {
    this.problems.push(`${path}: ${message}`);
  }
}

/** Java simple class name Flink reports for a model handle kind. */
function javaKind(kind: string, h?: { isEmpty?: boolean }): string {
  if (kind === "ChangelogStateBackendHandle") return "ChangelogStateBackendHandleImpl";
  if (kind === "FileMergingOperatorStreamStateHandle" && h?.isEmpty)
    return "EmptyFileMergingOperatorStreamStateHandle";
  return kind;
}

class Comparer {
  readonly d = new Diff();
  /** The directory holding `_metadata` at generation time (Flink's exclusive dir for relative handles). */
  private readonly generationMetadataDir: string;

  constructor(private readonly fixture: Fixture) {
    const under = String(fixture.expected.generatedUnder);
    const rel = String(fixture.expected.metadataPath); // e.g. snapshot/<job>/chk-2/_metadata
    const inside = posix.dirname(rel).split("/").slice(1).join("/"); // strip the leading snapshot/
    this.generationMetadataDir = inside ? `${under}/${inside}` : under;
  }

  metadata(m: CheckpointMetadata): void {
    const e = this.fixture.expected as JsonObject;
    this.d.eq("metadataVersion", e.metadataVersion, m.version);
    this.d.eq("checkpointId", e.checkpointId, m.checkpointId);
    const masters = arr(e.masterStates);
    this.d.eq("masterStates.length", masters.length, m.masterStates.length);
    m.masterStates.forEach((ms, i) => {
      const x = obj(masters[i]);
      this.d.eq(`masterStates[${i}].name`, x?.name, ms.name);
      this.d.eq(`masterStates[${i}].version`, x?.version, ms.version);
      this.d.eq(`masterStates[${i}].bytes`, x?.bytes, ms.bytes.length);
    });
    this.properties(obj(e.properties), m);
    const ops = arr(e.operators);
    this.d.eq("operators.length", ops.length, m.operatorStates.length);
    m.operatorStates.forEach((op, i) => {
      const x = obj(ops[i]);
      if (x) this.operator(`operators[${i}]`, x, op);
    });
  }

  private properties(e: JsonObject | null, m: CheckpointMetadata): void {
    if (e === null) {
      const hasObject = m.properties !== null && decodeCheckpointProperties(m.properties) !== null;
      if (hasObject) this.d.fail("properties", "expected null, ours decode to an object");
      return;
    }
    if (m.properties === null) {
      this.d.fail("properties", "expected an object, ours has no trailer");
      return;
    }
    const p = decodeCheckpointProperties(m.properties);
    if (p === null) {
      this.d.fail("properties", "our decoder returned null (unknown) for the trailer");
      return;
    }
    this.d.eq("properties.forced", e.forced, p.forced);
    this.d.eq("properties.checkpointType", e.checkpointType, p.typeName);
    this.d.eq("properties.isSavepoint", e.isSavepoint, p.snapshotType === "savepoint");
    this.d.eq("properties.formatType", e.formatType, p.formatType);
    // SavepointType.getSharingFilesStrategy() is a constant NO_SHARING, not a field
    this.d.eq(
      "properties.sharingFilesStrategy",
      e.sharingFilesStrategy,
      p.sharingFilesStrategy ?? "NO_SHARING",
    );
    for (const k of [
      "discardSubsumed",
      "discardFinished",
      "discardCancelled",
      "discardFailed",
      "discardSuspended",
      "unclaimed",
    ] as const) {
      this.d.eq(`properties.${k}`, e[k], p[k]);
    }
  }

  private operator(path: string, e: JsonObject, op: OperatorState): void {
    this.d.eq(`${path}.operatorId`, e.operatorId, op.operatorId);
    this.d.eq(`${path}.name`, e.name, op.name);
    this.d.eq(`${path}.uid`, e.uid, op.uid);
    this.d.eq(`${path}.parallelism`, e.parallelism, op.parallelism);
    this.d.eq(`${path}.maxParallelism`, e.maxParallelism, op.maxParallelism);
    this.d.eq(`${path}.fullyFinished`, e.fullyFinished, op.fullyFinished);
    this.stream(`${path}.coordinatorState`, e.coordinatorState, op.coordinatorState);
    const expectedSubtasks = arr(e.subtasks);
    const ours = [...op.subtaskStates].sort((a, b) => a.subtaskIndex - b.subtaskIndex);
    this.d.eq(`${path}.subtasks.length`, expectedSubtasks.length, ours.length);
    ours.forEach((s, i) => {
      const x = obj(expectedSubtasks[i]);
      if (x) this.subtask(`${path}.subtasks[${i}]`, x, s);
    });
  }

  private subtask(path: string, e: JsonObject, s: SubtaskStateEntry): void {
    this.d.eq(`${path}.index`, e.index, s.subtaskIndex);
    this.d.eq(`${path}.finished`, e.finished, s.kind === "FinishedOperatorSubtaskState");
    const running: OperatorSubtaskState | null = s.kind === "OperatorSubtaskState" ? s : null;
    this.slot(
      `${path}.managedOperatorState`,
      e.managedOperatorState,
      running?.managedOperatorState ?? null,
      (p, x, h) => this.operatorHandle(p, x, h),
    );
    this.slot(`${path}.rawOperatorState`, e.rawOperatorState, running?.rawOperatorState ?? null, (p, x, h) =>
      this.operatorHandle(p, x, h),
    );
    this.slot(
      `${path}.managedKeyedState`,
      e.managedKeyedState,
      running?.managedKeyedState ?? null,
      (p, x, h) => this.keyed(p, x, h),
    );
    this.slot(`${path}.rawKeyedState`, e.rawKeyedState, running?.rawKeyedState ?? null, (p, x, h) =>
      this.keyed(p, x, h),
    );
    for (const [name, list] of [
      ["inputChannelState", running?.inputChannelState ?? []],
      ["resultSubpartitionState", running?.resultSubpartitionState ?? []],
    ] as const) {
      const expected = arr(e[name]);
      this.d.eq(`${path}.${name}.length`, expected.length, list.length);
      list.forEach((h, i) => {
        const x = obj(expected[i]);
        this.d.eq(`${path}.${name}[${i}].kind`, x?.kind, h.kind);
        this.d.eq(`${path}.${name}[${i}].stateSize`, x?.stateSize, h.stateSize);
      });
    }
  }

  private slot<T>(
    path: string,
    e: Json | undefined,
    h: T | null,
    compare: (p: string, x: JsonObject, h: T) => void,
  ): void {
    const expected = arr(e);
    this.d.eq(`${path}.length`, expected.length, h === null ? 0 : 1);
    const x = obj(expected[0]);
    if (h !== null && x) compare(`${path}[0]`, x, h);
  }

  private operatorHandle(path: string, e: JsonObject, h: OperatorStateHandle): void {
    this.d.eq(`${path}.kind`, e.kind, javaKind(h.kind, h as { isEmpty?: boolean }));
    if (h.kind === "FileMergingOperatorStreamStateHandle") {
      this.d.eq(`${path}.taskOwnedDirPath`, e.taskOwnedDirPath, h.taskOwnedDirPath);
      this.d.eq(`${path}.sharedDirPath`, e.sharedDirPath, h.sharedDirPath);
    }
    // Flink keeps the names in a HashMap: compare as a set (the harness sorts by name)
    const ours = [...h.states].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const expected = arr(e.states);
    this.d.eq(`${path}.states.length`, expected.length, ours.length);
    ours.forEach((st, i) => {
      const x = obj(expected[i]);
      this.d.eq(`${path}.states[${i}].name`, x?.name, st.name);
      this.d.eq(`${path}.states[${i}].mode`, x?.mode, st.mode);
      this.d.eq(`${path}.states[${i}].offsets`, x?.offsets, st.offsets.map(String));
    });
    this.stream(`${path}.delegate`, e.delegate, h.delegate);
  }

  private keyed(path: string, e: JsonObject, h: KeyedStateHandle): void {
    this.d.eq(`${path}.kind`, e.kind, javaKind(h.kind));
    switch (h.kind) {
      case "KeyGroupsStateHandle":
      case "KeyGroupsSavepointStateHandle":
        this.d.eq(`${path}.keyGroupRange`, e.keyGroupRange, flinkRange(h.keyGroupRange));
        this.d.eq(`${path}.offsets`, e.offsets, h.offsets.map(String));
        if (h.tag !== 3) this.d.eq(`${path}.stateHandleId`, e.stateHandleId, h.stateHandleId); // tag 3: random on load
        this.stream(`${path}.delegate`, e.delegate, h.delegate);
        return;
      case "IncrementalRemoteKeyedStateHandle": {
        this.d.eq(`${path}.checkpointId`, e.checkpointId, h.checkpointId);
        // Flink parses the id as a UUID (lower-case when printed) or derives one from its bytes
        const isUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(
          h.backendIdentifier,
        );
        if (isUuid)
          this.d.eq(`${path}.backendIdentifier`, e.backendIdentifier, h.backendIdentifier.toLowerCase());
        this.d.eq(`${path}.keyGroupRange`, e.keyGroupRange, flinkRange(h.keyGroupRange));
        if (h.tag === 11) {
          this.d.eq(`${path}.checkpointedSize`, e.checkpointedSize, h.checkpointedSize);
          this.d.eq(`${path}.stateHandleId`, e.stateHandleId, h.stateHandleId);
        }
        this.d.eq(`${path}.stateSize`, e.stateSize, keyedSize(h));
        this.stream(`${path}.metaStateHandle`, e.metaStateHandle, h.metaStateHandle);
        for (const [name, list] of [
          ["sharedState", h.sharedState],
          ["privateState", h.privateState],
        ] as const) {
          const expected = arr(e[name]);
          this.d.eq(`${path}.${name}.length`, expected.length, list.length);
          list.forEach((entry, i) => {
            const x = obj(expected[i]);
            this.d.eq(`${path}.${name}[${i}].localPath`, x?.localPath, entry.localPath);
            this.stream(`${path}.${name}[${i}].handle`, x?.handle, entry.handle);
          });
        }
        return;
      }
      default:
        this.d.eq(`${path}.stateSize`, e.stateSize, keyedSize(h));
    }
  }

  private stream(path: string, e: Json | undefined, h: StreamStateHandle | null): void {
    if (h === null || e === null || e === undefined) {
      this.d.eq(path, e ?? null, h === null ? null : `<${h.kind}>`);
      return;
    }
    const x = obj(e);
    if (!x) {
      this.d.fail(path, `expected ${JSON.stringify(e)}`);
      return;
    }
    this.d.eq(`${path}.kind`, x.kind, h.kind);
    switch (h.kind) {
      case "ByteStreamStateHandle":
        this.d.eq(`${path}.handleName`, x.handleName, h.handleName);
        this.d.eq(`${path}.size`, x.size, String(h.data.length));
        return;
      case "FileStateHandle":
        this.d.eq(`${path}.filePath`, x.filePath, h.filePath);
        this.d.eq(`${path}.stateSize`, x.stateSize, h.stateSize);
        return;
      case "RelativeFileStateHandle":
        this.d.eq(`${path}.relativePath`, x.relativePath, h.relativePath);
        this.d.eq(`${path}.filePath`, x.filePath, `file:${this.generationMetadataDir}/${h.relativePath}`);
        this.d.eq(`${path}.stateSize`, x.stateSize, h.stateSize);
        return;
      case "SegmentFileStateHandle":
        this.d.eq(`${path}.filePath`, x.filePath, h.physicalFilePath);
        this.d.eq(`${path}.startPos`, x.startPos, h.startPos);
        this.d.eq(`${path}.stateSize`, x.stateSize, h.stateSize);
        this.d.eq(`${path}.scope`, x.scope, h.scope === 1 ? "SHARED" : "EXCLUSIVE");
        return;
      default:
        this.d.eq(`${path}.stateSize`, x.stateSize, streamSize(h));
    }
  }
}

const fixtures = listFixtures();

describe("fixtures match Flink's loader (expected.json)", () => {
  if (fixtures.length === 0) {
    it("no fixtures generated yet", { skip: true }, () => {});
  }
  for (const f of fixtures) {
    it(`${f.name} (${dirname(String(f.expected.metadataPath))})`, () => {
      const m = readMetadata(f.bytes, f.metadataFile);
      const c = new Comparer(f);
      c.metadata(m);
      assert.deepStrictEqual(c.d.problems, [], `${c.d.problems.length} difference(s) in ${f.name}`);
    });
  }

  it("the comparer itself notices differences", { skip: fixtures.length === 0 }, () => {
    const f =
      fixtures.find((x) => x.expected.metadataPath !== "snapshot/_metadata") ?? (fixtures[0] as Fixture);
    const m = readMetadata(f.bytes);
    const op = m.operatorStates[0] as OperatorState;
    op.parallelism += 1;
    const first = op.subtaskStates.find((s): s is OperatorSubtaskState => s.kind === "OperatorSubtaskState");
    const d = first?.managedOperatorState?.delegate;
    if (d?.kind === "RelativeFileStateHandle") d.relativePath += "x";
    if (d?.kind === "ByteStreamStateHandle") d.handleName += "x";
    if (d?.kind === "SegmentFileStateHandle") d.startPos += 1n;
    const c = new Comparer(f);
    c.metadata(m);
    assert.ok(
      c.d.problems.some((p) => p.startsWith("operators[0].parallelism")),
      c.d.problems.join("\n"),
    );
    assert.ok(
      c.d.problems.some((p) =>
        /managedOperatorState\[0\]\.delegate\.(relativePath|handleName|startPos)/.test(p),
      ),
    );
  });
});
