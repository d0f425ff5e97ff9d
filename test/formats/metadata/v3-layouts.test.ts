/**
 * The layouts of metadata V3 (see src/formats/metadata/v3.ts): Flink 1.11 wrote channel handles
 * without `subtaskIndex`, Flink 1.14 wrote short changelog bodies, Flink 1.12+ / 1.15 the current
 * forms, all as V3. The reader tries the current layout first and an older one only when the first
 * parse failed after meeting a body that differs in it; the writer writes the layout the model holds
 * and refuses models Flink could not have written or that would not read back.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CorruptSnapshotError, InvalidArgumentError } from "../../../src/errors.js";
import { DataInput } from "../../../src/formats/io/data-input.js";
import type { ReadContext } from "../../../src/formats/metadata/common.js";
import { readMetadata, writeMetadata } from "../../../src/formats/metadata/index.js";
import type {
  ChannelStateHandleBody,
  CheckpointMetadata,
  FileStateHandle,
  InputChannelStateHandle,
  KeyedStateHandle,
  OperatorSubtaskState,
} from "../../../src/formats/metadata/model.js";
import { MetadataV3Serializer } from "../../../src/formats/metadata/v3.js";
import { hex, i32, i64, REPO_ROOT, toHex, utf } from "./helpers.js";

const OP = "0123456789abcdef0123456789abcdef";
const FILE_HEX = `02 ${i64(80)} ${utf("file:/cp/chk-9/chan")}`;
const FILE: FileStateHandle = { kind: "FileStateHandle", filePath: "file:/cp/chk-9/chan", stateSize: 80n };
const EMPTY_OPERATOR_SLOTS = `${i32(0)} ${i32(0)}`;

/** A V3 file: one operator (parallelism 2) with the given subtask records (index + body hex). */
function v3File(...subtasks: string[]): Uint8Array {
  return hex(
    "4960672d 00000003",
    i64(7), // checkpoint id
    i32(0), // no master states
    i32(1), // 1 operator
    OP,
    i32(2), // parallelism
    i32(2), // max parallelism
    "00", // no coordinator state
    i32(subtasks.length),
    ...subtasks,
  );
}

/** A subtask record: index, empty operator slots, keyed slots, the two channel lists. */
function subtaskHex(index: number, keyed: string, inputs: string[], outputs: string[] = []): string {
  return [
    i32(index),
    EMPTY_OPERATOR_SLOTS,
    keyed,
    "00", // raw keyed: none
    i32(inputs.length),
    ...inputs,
    i32(outputs.length),
    ...outputs,
  ].join(" ");
}

/** A channel handle body; `subtaskIndex` null gives the Flink 1.11 form. */
function channelHex(subtaskIndex: number | null, a: number, b: number): string {
  const idx = subtaskIndex === null ? "" : i32(subtaskIndex);
  return `${idx} ${i32(a)} ${i32(b)} ${i32(1)} ${i64(0)} ${i64(80)} ${FILE_HEX}`;
}

function channel(
  subtaskIndex: number | null,
  a: number,
  b: number,
): ChannelStateHandleBody & { kind: "InputChannelStateHandle" } {
  return {
    kind: "InputChannelStateHandle",
    subtaskIndex,
    info: { a, b },
    offsets: [0n],
    stateSize: 80n,
    delegate: FILE,
  };
}

function model(...subtasks: OperatorSubtaskState[]): CheckpointMetadata {
  return {
    version: 3,
    checkpointId: 7n,
    masterStates: [],
    operatorStates: [
      {
        operatorId: OP,
        name: null,
        uid: null,
        parallelism: 2,
        maxParallelism: 2,
        coordinatorState: null,
        fullyFinished: false,
        subtaskStates: subtasks,
      },
    ],
    properties: null,
  };
}

function subtask(
  index: number,
  managedKeyedState: KeyedStateHandle | null,
  inputChannelState: InputChannelStateHandle[],
): OperatorSubtaskState {
  return {
    kind: "OperatorSubtaskState",
    subtaskIndex: index,
    managedOperatorState: null,
    rawOperatorState: null,
    managedKeyedState,
    rawKeyedState: null,
    inputChannelState,
    resultSubpartitionState: [],
  };
}

// tag 8 with the Flink 1.14 body: range, materialized list, non-materialized list (one tag 9 of 1.14)
const SHORT_CHANGELOG_HEX = [
  "08",
  i32(0),
  i32(2), // key groups 0..1
  i32(0), // no materialized handles
  i32(1), // 1 non-materialized:
  `09 ${i32(0)} ${i32(2)} ${i64(3)} ${i64(4)} ${i32(1)} ${i32(1)} ${i32(2)} abcd`, // tag 9, no id
].join(" ");
const SHORT_CHANGELOG: KeyedStateHandle = {
  kind: "ChangelogStateBackendHandle",
  tag: 8,
  keyGroupRange: { start: 0, end: 1 },
  checkpointedSize: -1n,
  materialized: [],
  nonMaterialized: [
    {
      kind: "InMemoryChangelogStateHandle",
      keyGroupRange: { start: 0, end: 1 },
      from: 3n,
      to: 4n,
      changes: [{ keyGroup: 1, data: hex("abcd") }],
      stateHandleId: "",
      flink114Body: true,
    },
  ],
  materializationId: -1n,
  checkpointId: null,
  stateHandleId: "",
  flink114Body: true,
};
// the same handle with the Flink 1.15 bodies
const LONG_CHANGELOG_HEX = [
  "08",
  i32(0),
  i32(2),
  i64(11), // checkpointed size
  i32(0),
  i32(1),
  `09 ${i32(0)} ${i32(2)} ${i64(3)} ${i64(4)} ${i32(1)} ${i32(1)} ${i32(2)} abcd ${utf("in-mem")}`,
  i64(5), // materialization id
  utf("backend"),
].join(" ");
const LONG_CHANGELOG: KeyedStateHandle = {
  kind: "ChangelogStateBackendHandle",
  tag: 8,
  keyGroupRange: { start: 0, end: 1 },
  checkpointedSize: 11n,
  materialized: [],
  nonMaterialized: [
    {
      kind: "InMemoryChangelogStateHandle",
      keyGroupRange: { start: 0, end: 1 },
      from: 3n,
      to: 4n,
      changes: [{ keyGroup: 1, data: hex("abcd") }],
      stateHandleId: "in-mem",
    },
  ],
  materializationId: 5n,
  checkpointId: null,
  stateHandleId: "backend",
};

/** The V3 codec, recording the layouts `read` tries, and able to read with one layout only. */
class ProbedV3 extends MetadataV3Serializer {
  tried: string[] = [];
  protected override readBody(input: DataInput, ctx: ReadContext): CheckpointMetadata {
    this.tried.push(ctx.legacyLayout ?? "current");
    return super.readBody(input, ctx);
  }
  /** Reads a whole file (magic and version included) with one layout, no retries. */
  readWith(bytes: Uint8Array, legacyLayout?: "flink111" | "flink114", uri?: string): CheckpointMetadata {
    const input = new DataInput(bytes, uri);
    input.seek(8);
    return super.readBody(input, { version: 3, depth: 0, ...(legacyLayout ? { legacyLayout } : {}) });
  }
  /** `read` on a whole file, returning the layouts tried (and the error, if any). */
  layoutsTried(bytes: Uint8Array): { tried: string[]; error?: unknown } {
    this.tried = [];
    const input = new DataInput(bytes);
    input.seek(8);
    try {
      this.read(input);
      return { tried: this.tried };
    } catch (error) {
      return { tried: this.tried, error };
    }
  }
}

function roundTrip(bytes: Uint8Array, expected: CheckpointMetadata): void {
  assert.deepStrictEqual(readMetadata(bytes), expected);
  assert.equal(toHex(writeMetadata(expected)), toHex(bytes));
}

function refused(m: CheckpointMetadata, re: RegExp): void {
  assert.throws(
    () => writeMetadata(m),
    (e: unknown) => {
      assert.ok(e instanceof InvalidArgumentError, String(e));
      assert.match(e.message, re);
      return true;
    },
  );
}

describe("metadata V3 layouts: reading", () => {
  it("Flink 1.11: channel handles without subtaskIndex read as subtaskIndex null", () => {
    const bytes = v3File(
      subtaskHex(0, "00", [channelHex(null, 0, 1), channelHex(null, 1, 0)]),
      subtaskHex(1, "00", [channelHex(null, 0, 0)]),
    );
    roundTrip(
      bytes,
      model(
        subtask(0, null, [channel(null, 0, 1), channel(null, 1, 0)]),
        subtask(1, null, [channel(null, 0, 0)]),
      ),
    );
    assert.deepStrictEqual(new ProbedV3().layoutsTried(bytes).tried, ["current", "flink111"]);
  });

  it("Flink 1.12+: channel handles with subtaskIndex, read in the first attempt", () => {
    const bytes = v3File(subtaskHex(1, "00", [channelHex(1, 0, 1)]));
    roundTrip(bytes, model(subtask(1, null, [channel(1, 0, 1)])));
    assert.deepStrictEqual(new ProbedV3().layoutsTried(bytes).tried, ["current"]);
  });

  it("Flink 1.14: short changelog bodies read with flink114Body, next to 1.12+ channel handles", () => {
    const bytes = v3File(subtaskHex(0, SHORT_CHANGELOG_HEX, [channelHex(0, 0, 0)]));
    roundTrip(bytes, model(subtask(0, SHORT_CHANGELOG, [channel(0, 0, 0)])));
    assert.deepStrictEqual(new ProbedV3().layoutsTried(bytes).tried, ["current", "flink114"]);
  });

  it("Flink 1.15: the long changelog bodies, read in the first attempt", () => {
    const bytes = v3File(subtaskHex(0, LONG_CHANGELOG_HEX, [channelHex(0, 0, 0)]));
    roundTrip(bytes, model(subtask(0, LONG_CHANGELOG, [channel(0, 0, 0)])));
    assert.deepStrictEqual(new ProbedV3().layoutsTried(bytes).tried, ["current"]);
  });

  it("V4+ has one layout: Flink 1.11 channel handles in a V4 file are corrupt, nothing is retried", () => {
    const v3 = v3File(subtaskHex(0, "00", [channelHex(null, 0, 1)]));
    const v4 = hex(toHex(v3).replace(/^4960672d00000003/, "4960672d00000004"), "aced000570");
    assert.throws(() => readMetadata(v4), CorruptSnapshotError);
  });

  it("the vectors of Flink 1.11, 1.12, 1.14 and 1.15 are read in their layouts", () => {
    const vector = (v: string, name: string) =>
      readMetadata(
        new Uint8Array(readFileSync(join(REPO_ROOT, "fixtures", "vectors", v, `${name}.metadata`))),
      );
    const kinds = (m: CheckpointMetadata, ...ks: string[]) =>
      [...objects(m)].filter((o) => ks.includes(o.kind as string));
    const channelIndexes = (m: CheckpointMetadata) =>
      kinds(m, "InputChannelStateHandle", "ResultSubpartitionStateHandle").map((h) => h.subtaskIndex);
    const changelogFlags = (m: CheckpointMetadata) =>
      kinds(
        m,
        "ChangelogStateBackendHandle",
        "InMemoryChangelogStateHandle",
        "ChangelogStateHandleStreamImpl",
      ).map((h) => h.flink114Body);
    const c111 = channelIndexes(vector("1.11.6", "channel"));
    assert.ok(c111.length > 0 && c111.every((x) => x === null), String(c111));
    const c112 = channelIndexes(vector("1.12.7", "channel"));
    assert.ok(c112.length > 0 && c112.every((x) => typeof x === "number"), String(c112));
    const f114 = changelogFlags(vector("1.14.6", "changelog"));
    assert.ok(f114.length > 0 && f114.every((x) => x === true), String(f114));
    const f115 = changelogFlags(vector("1.15.4", "changelog"));
    assert.ok(f115.length > 0 && f115.every((x) => x === undefined), String(f115));
  });
});

describe("metadata V3 layouts: errors", () => {
  it("a file no layout parses reports the error of the current layout, with its offset", () => {
    // a Flink 1.11 file with one trailing byte: the 1.11 layout fails at the very end, the current
    // layout inside the first channel handle; the current layout's error is the one reported
    const good = v3File(subtaskHex(0, "00", [channelHex(null, 0, 1)]));
    const bad = hex(toHex(good), "00");
    const probe = new ProbedV3();
    const current = expectCorrupt(() => probe.readWith(bad, undefined, "file:/cp/_metadata"));
    const flink111 = expectCorrupt(() => probe.readWith(bad, "flink111"));
    assert.match(flink111.message, /1 trailing bytes/);
    assert.equal(flink111.offset, good.length);
    const e = expectCorrupt(() => readMetadata(bad, "file:/cp/_metadata"));
    assert.equal(e.message, current.message);
    assert.equal(e.offset, current.offset);
    assert.equal(e.path, current.path);
    assert.equal(e.uri, "file:/cp/_metadata");
    assert.ok(e.offset < good.length, `offset ${e.offset}`);
    assert.match(e.path ?? "", /inputChannelState > input channel\[0\]/);
    assert.deepStrictEqual(probe.layoutsTried(bad).tried, ["current", "flink111"]);
  });

  it("the first attempt's error also when the short changelog bodies fail too", () => {
    const good = v3File(subtaskHex(0, SHORT_CHANGELOG_HEX, []));
    const bad = hex(toHex(good), "00");
    const probe = new ProbedV3();
    const current = expectCorrupt(() => probe.readWith(bad));
    assert.match(expectCorrupt(() => probe.readWith(bad, "flink114")).message, /1 trailing bytes/);
    const e = expectCorrupt(() => readMetadata(bad));
    assert.equal(e.message, current.message);
    assert.equal(e.offset, current.offset);
    assert.deepStrictEqual(probe.layoutsTried(bad).tried, ["current", "flink114"]);
  });

  it("a failure before any layout-dependent body is not retried", () => {
    // a bad coordinator tag, then a truncated subtask without channel or changelog handles
    const probe = new ProbedV3();
    const noChannel = v3File(subtaskHex(0, "00", []));
    const r = probe.layoutsTried(noChannel.subarray(0, noChannel.length - 2));
    assert.ok(r.error instanceof CorruptSnapshotError);
    assert.deepStrictEqual(r.tried, ["current"]);
    // a damaged channel list count fails before any handle body: not retried either
    const badCount = v3File(subtaskHex(0, "00", [])).slice();
    badCount.set(hex(i32(-3)), badCount.length - 8);
    const r2 = probe.layoutsTried(badCount);
    assert.match(String(r2.error), /negative number of input channel state handles/);
    assert.deepStrictEqual(r2.tried, ["current"]);
  });

  it("only a CorruptSnapshotError triggers a retry (a bug's error propagates)", () => {
    const probe = new ProbedV3();
    const bytes = v3File(subtaskHex(0, "00", [channelHex(null, 0, 1)]));
    const boom = new Error("not a format error");
    class Throwing extends ProbedV3 {
      protected override readBody(input: DataInput, ctx: ReadContext): CheckpointMetadata {
        if (ctx.legacyLayout === undefined) {
          ctx.met?.add("flink111");
          throw boom;
        }
        return super.readBody(input, ctx);
      }
    }
    assert.equal(new Throwing().layoutsTried(bytes).error, boom);
    assert.deepStrictEqual(probe.layoutsTried(bytes).tried, ["current", "flink111"]);
  });
});

describe("metadata V3 layouts: writing", () => {
  const old = channel(null, 0, 1);

  it("refuses subtaskIndex null in V4+", () => {
    refused({ ...model(subtask(0, null, [old])), version: 4 }, /exist only in metadata V3, not V4/);
    refused({ ...model(subtask(0, null, [old])), version: 6 }, /not V6/);
  });

  it("refuses handles with and without subtaskIndex in one file (across subtasks too)", () => {
    refused(
      model(subtask(0, null, [old, channel(0, 0, 0)])),
      /mixes channel state handles without subtaskIndex/,
    );
    refused(
      model(subtask(0, null, [channel(0, 0, 0)]), subtask(1, null, [old])),
      /mixes channel state handles without subtaskIndex/,
    );
    const m = model(subtask(0, null, [old]));
    m.operatorStates[0]?.subtaskStates.push({
      ...subtask(1, null, []),
      resultSubpartitionState: [{ ...channel(1, 0, 0), kind: "ResultSubpartitionStateHandle" }],
    });
    refused(m, /mixes channel state handles without subtaskIndex/);
  });

  it("refuses flink114Body in V4+ and mixed changelog forms in one file", () => {
    refused({ ...model(subtask(0, SHORT_CHANGELOG, [])), version: 4 }, /Flink 1\.14 bodies .* not V4/);
    refused(
      model(subtask(0, SHORT_CHANGELOG, []), subtask(1, LONG_CHANGELOG, [])),
      /mixes changelog handles with Flink 1\.14 bodies/,
    );
  });

  it("refuses changelog handles next to Flink 1.11 channel handles", () => {
    refused(model(subtask(0, LONG_CHANGELOG, [old])), /Flink 1\.11 layout .* cannot hold changelog/);
    refused(model(subtask(0, SHORT_CHANGELOG, []), subtask(1, null, [old])), /cannot hold changelog/);
  });

  it("refuses a Flink 1.11 model whose bytes parse in the current layout", () => {
    // The 1.11 bytes of this handle, read with a subtaskIndex, shift by 4 and still parse: the
    // delegate's size long 0x00000001_00000000 holds tag 1 (a ByteStreamStateHandle) and the empty
    // name, and the path's UTF length is that handle's data length, so the current layout ends where
    // the 1.11 layout does.
    const ambiguous: InputChannelStateHandle = {
      kind: "InputChannelStateHandle",
      subtaskIndex: null,
      info: { a: 1, b: 2 },
      offsets: [],
      stateSize: 5n,
      delegate: { kind: "FileStateHandle", filePath: "file:/x", stateSize: 0x1_0000_0000n },
    };
    const m = model(subtask(0, null, [ambiguous]));
    refused(m, /Flink 1\.11 layout .* parse in the current V3 layout/);
    // the bytes really are read as something else in the current layout
    const bytes = hex(
      toHex(v3File(subtaskHex(0, "00", []))).slice(0, -16),
      i32(1),
      `${i32(1)} ${i32(2)} ${i32(0)} ${i64(5)} 02 ${i64(0x1_0000_0000n)} ${utf("file:/x")}`,
      i32(0),
    );
    const read = readMetadata(bytes);
    const s = read.operatorStates[0]?.subtaskStates[0] as OperatorSubtaskState;
    assert.equal(s.inputChannelState[0]?.kind, "InputChannelStateHandle");
    assert.equal((s.inputChannelState[0] as { subtaskIndex: number }).subtaskIndex, 1);
    assert.equal(
      (s.inputChannelState[0] as { delegate: { kind: string } }).delegate.kind,
      "ByteStreamStateHandle",
    );
  });
});

function expectCorrupt(fn: () => unknown): CorruptSnapshotError {
  try {
    fn();
  } catch (e) {
    if (e instanceof CorruptSnapshotError) return e;
    throw e;
  }
  throw new assert.AssertionError({ message: "expected a CorruptSnapshotError, but it parsed" });
}

/** Every object in a model, depth first (byte arrays excluded). */
function* objects(x: unknown): Generator<Record<string, unknown>> {
  if (x === null || typeof x !== "object" || x instanceof Uint8Array) return;
  if (!Array.isArray(x)) yield x as Record<string, unknown>;
  for (const v of Object.values(x)) yield* objects(v);
}
