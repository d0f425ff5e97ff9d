/**
 * The unaligned checkpoints Flink wrote while its job was backpressured
 * (`fixtures/unaligned/flink-<x.y>/checkpoint-unaligned/`, see fixtures/unaligned/README.md): our reader
 * reads every channel state handle as Flink's loader does (`expected.json`, written by the harness's
 * `Unaligned.describe` from `Checkpoints.loadCheckpointMetadata`), the writer gives back the same bytes,
 * and `files` / `verify` see the channel state files. Flink 1.20 writes one `InputChannelStateHandle` or
 * `ResultSubpartitionStateHandle` per channel (metadata V4, ChannelStateHandleSerializerV1), several
 * subtasks' channels in one file; Flink 2.3 writes one merged handle per subtask and direction
 * (`MergedInputChannelStateHandle`, `MergedResultSubpartitionStateHandle`: V6, ChannelStateHandleSerializerV2).
 * The restore of these checkpoints after relocation is in test/flink/unaligned.test.ts.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { readMetadata, writeMetadata } from "../src/formats/metadata/index.js";
import type {
  ChannelStateHandle,
  OperatorSubtaskState,
  StreamStateHandle,
} from "../src/formats/metadata/model.js";
import { listSnapshotFiles, verifySnapshot } from "../src/ops/files.js";
import { StoreRegistry } from "../src/storage/registry.js";
import { listUnalignedFixtures, readableFixtureDir } from "./helpers/fixtures.js";

const fixtures = listUnalignedFixtures();
const stores = new StoreRegistry();
const scratch = mkdtempSync(join(tmpdir(), "savepoint-unaligned-"));
after(async () => {
  await stores.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** A stream handle as `Unaligned.stream` describes it. */
function describeStream(h: StreamStateHandle): Record<string, string> {
  const o: Record<string, string> = { kind: h.kind };
  if (h.kind === "RelativeFileStateHandle") {
    o.stateSize = h.stateSize.toString();
    o.relativePath = h.relativePath;
  } else if (h.kind === "FileStateHandle") {
    o.stateSize = h.stateSize.toString();
  } else if (h.kind === "ByteStreamStateHandle") {
    o.stateSize = String(h.data.length);
    o.handleName = h.handleName;
  } else {
    o.stateSize = "?";
  }
  return o;
}

/** A channel handle as `Unaligned.channelHandle` describes it (file paths compared apart). */
function describeChannel(h: ChannelStateHandle): Record<string, unknown> {
  const o: Record<string, unknown> = { kind: h.kind, stateSize: h.stateSize.toString() };
  if (h.kind === "InputChannelStateHandle" || h.kind === "ResultSubpartitionStateHandle") {
    if (h.kind === "InputChannelStateHandle") {
      o.gateIdx = h.info.a;
      o.inputChannelIdx = h.info.b;
    } else {
      o.partitionIdx = h.info.a;
      o.subPartitionIdx = h.info.b;
    }
    o.subtaskIndex = h.subtaskIndex;
    o.offsets = h.offsets.map(String);
  } else {
    o.subtaskIndex = h.subtaskIndex;
    o.serializedChannelOffsets = Buffer.from(h.serializedChannelOffsets).toString("base64");
  }
  o.delegate = describeStream(h.delegate);
  return o;
}

/** Flink's description without what {@link describeChannel} leaves out (absolute paths, toString). */
function flinkChannel(e: Record<string, any>): Record<string, unknown> {
  const { toString: _s, infos: _i, delegate, ...rest } = e;
  const { filePath: _f, ...d } = delegate;
  return { ...rest, delegate: d };
}

for (const f of fixtures) {
  describe(`unaligned checkpoint ${f.id}`, () => {
    const bytes = readFileSync(f.metadataFile);
    const m = readMetadata(bytes, f.metadataFile);

    it("our reader reads every channel state handle as Flink's loader does", () => {
      assert.equal(m.version, f.expected.metadataVersion);
      assert.equal(m.checkpointId.toString(), String(f.expected.checkpointId));
      const ours = [...m.operatorStates].sort((a, b) => a.operatorId.localeCompare(b.operatorId));
      assert.deepEqual(
        ours.map((o) => [o.operatorId, o.parallelism, o.maxParallelism]),
        f.expected.operators.map((o: any) => [o.operatorId, o.parallelism, o.maxParallelism]),
      );
      let handles = 0;
      for (const [i, op] of ours.entries()) {
        const want = f.expected.operators[i];
        const subtasks = op.subtaskStates
          .filter((s): s is OperatorSubtaskState => s.kind === "OperatorSubtaskState")
          .sort((a, b) => a.subtaskIndex - b.subtaskIndex);
        assert.deepEqual(
          subtasks.map((s) => s.subtaskIndex),
          want.subtasks.map((s: any) => s.index),
        );
        for (const [j, s] of subtasks.entries()) {
          const w = want.subtasks[j];
          const where = `${op.operatorId} subtask ${s.subtaskIndex}`;
          assert.deepEqual(
            s.inputChannelState.map(describeChannel),
            w.inputChannelState.map(flinkChannel),
            `${where}: input channels`,
          );
          assert.deepEqual(
            s.resultSubpartitionState.map(describeChannel),
            w.resultSubpartitionState.map(flinkChannel),
            `${where}: result subpartitions`,
          );
          handles += s.inputChannelState.length + s.resultSubpartitionState.length;
        }
      }
      assert.equal(handles, f.expected.channelHandles);
      assert.ok(handles > 0, "the checkpoint holds channel state");
    });

    it("the channel handles Flink 1.x and 2.x write: one per channel, or merged per subtask", () => {
      const kinds = new Set<string>(f.expected.handleKinds);
      if (f.expected.metadataVersion >= 6) {
        assert.ok(kinds.has("MergedInputChannelStateHandle"), [...kinds].join());
        assert.ok(kinds.has("MergedResultSubpartitionStateHandle"), [...kinds].join());
      } else {
        assert.ok(kinds.has("InputChannelStateHandle"), [...kinds].join());
        assert.ok(kinds.has("ResultSubpartitionStateHandle"), [...kinds].join());
      }
    });

    it("our writer gives back Flink's bytes", () => {
      assert.ok(Buffer.from(writeMetadata(m)).equals(bytes));
    });

    it("files lists each channel state file once, with every handle that reads it; verify passes", async () => {
      const dir = await readableFixtureDir(f, stores, scratch);
      const report = await listSnapshotFiles(dir, { stores });
      const channelFiles = (f.expected.channelStateFiles as string[]).map((p) => p.split("/").pop());
      for (const name of channelFiles) {
        const listed = report.files.filter((x) => x.uri.endsWith(`/${name}`));
        assert.equal(listed.length, 1, `${name} listed once`);
        const [file] = listed;
        assert.ok(file);
        assert.equal(file.location, "exclusive");
        const users = file.references.filter(
          (r) => r.slot === "inputChannelState" || r.slot === "resultSubpartitionState",
        );
        assert.ok(users.length > 0, `${name}: channel handles reference it`);
        assert.ok(
          users.every((r) => /(InputChannel|ResultSubpartition)StateHandle$/.test(r.handleKind)),
          JSON.stringify(users.map((r) => r.handleKind)),
        );
        const size = BigInt(readFileSync(join(f.metadataDir, name as string)).length);
        assert.equal(file.minSize, size, `${name}: the delegate's size is the file's`);
      }
      const v = await verifySnapshot(dir, { stores });
      assert.ok(
        v.ok,
        JSON.stringify(v.problems, (_k, x) => (typeof x === "bigint" ? String(x) : x)),
      );
    });
  });
}

it("there is an unaligned checkpoint of each Flink line", () => {
  assert.deepEqual(
    fixtures.map((f) => f.id),
    ["flink-1.20/checkpoint-unaligned", "flink-2.3/checkpoint-unaligned"],
  );
});
