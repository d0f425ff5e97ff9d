import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Ajv2020 } from "ajv/dist/2020.js";
import schema from "../../schemas/inspect.schema.json" with { type: "json" };
import { toJson } from "../../src/cli/json.js";
import { operatorIdFromUid } from "../../src/formats/operator-id.js";
import { inspectSnapshot } from "../../src/ops/inspect.js";
import { StoreRegistry } from "../../src/storage/registry.js";
import { normalizeUri } from "../../src/storage/uri.js";
import { listFixtures, listUnalignedFixtures } from "../helpers/fixtures.js";

const fixtures = listFixtures();
const stores = new StoreRegistry();
after(() => stores.close());
const validate = new Ajv2020({ allErrors: true, strict: true }).compile(schema);

// Sizes and files computed from expected.json alone (Flink's view), independently of our traversal.
function expectedSize(h: any): bigint {
  if (h === null) return 0n;
  if (typeof h.stateSize === "string") return BigInt(h.stateSize);
  if (h.kind === "ByteStreamStateHandle") return BigInt(h.size);
  if (h.delegate) return expectedSize(h.delegate);
  throw new Error(`expected.json handle without a size: ${h.kind}`);
}
function expectedFiles(h: any, metadataDir: string, out: Set<string>): void {
  if (h === null || typeof h !== "object") return;
  if (h.kind === "RelativeFileStateHandle") out.add(normalizeUri(join(metadataDir, h.relativePath)));
  // (a file-merging segment's filePath is its physical file, which other segments share)
  else if (h.kind === "FileStateHandle" || h.kind === "SegmentFileStateHandle")
    out.add(normalizeUri(h.filePath, "/"));
  for (const v of Object.values(h)) {
    if (Array.isArray(v)) for (const x of v) expectedFiles(x, metadataDir, out);
    else if (v && typeof v === "object") expectedFiles(v, metadataDir, out);
  }
}

const KEYED = ["managedKeyedState", "rawKeyedState"];
const OPERATOR = ["managedOperatorState", "rawOperatorState"];

describe("inspect on snapshots real Flink wrote", () => {
  it("has fixtures to run on", () => {
    assert.ok(fixtures.length >= 10, `only ${fixtures.length} fixtures under fixtures/flink-*/`);
  });

  for (const f of fixtures) {
    describe(f.id, () => {
      it("reports the operators Flink's loader sees, with their sizes and files", async () => {
        const r = await inspectSnapshot(f.metadataDir, { stores });
        const e = f.expected;
        assert.equal(r.metadataVersion, e.metadataVersion);
        assert.equal(r.checkpointId, BigInt(e.checkpointId));
        assert.equal(r.metadataUri, normalizeUri(f.metadataFile));
        assert.deepEqual(
          r.operators.map((o) => o.operatorId),
          e.operators.map((o) => o.operatorId),
        );
        const allFiles = new Set<string>();
        for (const [i, eo] of e.operators.entries()) {
          const o = r.operators[i];
          assert.ok(o);
          assert.equal(o.parallelism, eo.parallelism, `${eo.operatorId} parallelism`);
          assert.equal(o.maxParallelism, eo.maxParallelism, `${eo.operatorId} maxParallelism`);
          assert.equal(o.name, eo.name);
          if (eo.uid !== null) assert.equal(o.uid, eo.uid);
          assert.equal(o.fullyFinished, eo.fullyFinished);
          assert.equal(o.subtasks, eo.subtasks.length);
          assert.equal(o.hasCoordinatorState, eo.coordinatorState !== null);
          assert.equal(o.stateBytes.coordinator, eo.coordinatorState ? BigInt(eo.coordinatorState.size) : 0n);
          const sum = (slots: string[]) =>
            eo.subtasks.reduce(
              (n: bigint, s: any) =>
                n +
                slots.reduce(
                  (m: bigint, k) => m + s[k].reduce((a: bigint, h: any) => a + expectedSize(h), 0n),
                  0n,
                ),
              0n,
            );
          assert.equal(o.stateBytes.keyed, sum(KEYED), `${eo.operatorId} keyed bytes`);
          assert.equal(o.stateBytes.operator, sum(OPERATOR), `${eo.operatorId} operator bytes`);
          const files = new Set<string>();
          for (const s of eo.subtasks) expectedFiles(s, f.metadataDir, files);
          for (const file of files) allFiles.add(file);
          assert.equal(o.fileCount, files.size, `${eo.operatorId} file count`);
          const ours = new Set(
            o.subtaskStates.flatMap((s) => s.handles.flatMap((h) => h.files.map((x) => x.uri))),
          );
          assert.deepEqual([...ours].sort(), [...files].sort());
          assert.equal(
            o.stateBytes.total,
            o.stateBytes.keyed + o.stateBytes.operator + o.stateBytes.coordinator,
          );
        }
        assert.equal(r.totals.fileCount, allFiles.size);
      });

      it("gives JSON that matches schemas/inspect.schema.json", async () => {
        const r = await inspectSnapshot(f.metadataFile, { stores });
        const json = JSON.parse(toJson(r));
        assert.ok(validate(json), JSON.stringify(validate.errors, null, 2));
      });

      it("labels operators with supplied uids by their hash", async () => {
        const uids = (f.expected.jobOperators ?? []).flatMap((j) => (j.uid ? [j.uid] : []));
        assert.ok(uids.length > 0, "the harness job sets uids");
        const r = await inspectSnapshot(f.metadataDir, { stores, uids: [...uids, "no-such-operator"] });
        for (const uid of uids) {
          const op = r.operators.find((o) => o.operatorId === operatorIdFromUid(uid));
          if (!op) continue; // a stateless operator need not appear
          assert.equal(op.uid, uid);
          assert.equal(op.uidSource, f.expected.metadataVersion >= 5 ? "stored" : "supplied");
        }
        assert.deepEqual(
          r.unmatchedUids.map((u) => u.uid),
          ["no-such-operator"],
        );
      });
    });
  }
});

describe("inspect on the unaligned checkpoints real Flink wrote (channel state)", () => {
  const unaligned = listUnalignedFixtures();
  it("has them to run on", () => assert.equal(unaligned.length, 2));

  for (const f of unaligned) {
    it(`${f.id}: channel bytes as Flink's handles give them; a shared channel state file counted once per operator`, async () => {
      const r = await inspectSnapshot(f.metadataDir, { stores });
      let channelOnly = 0;
      for (const eo of f.expected.operators) {
        const o = r.operators.find((x) => x.operatorId === eo.operatorId);
        assert.ok(o, eo.operatorId);
        const channel = eo.subtasks.flatMap((s: any) => [
          ...s.inputChannelState,
          ...s.resultSubpartitionState,
        ]);
        // AbstractChannelStateHandle.getStateSize / AbstractMergedChannelStateHandle.getStateSize: the
        // bytes of the handle's own channels, not of the file (which holds other subtasks' channels too)
        const size = (hs: any[]) => hs.reduce((n: bigint, h: any) => n + BigInt(h.stateSize), 0n);
        assert.equal(o.stateBytes.channel, size(channel), `${eo.operatorId} channel bytes`);
        const hasOther = eo.subtasks.some(
          (s: any) => s.managedKeyedState.length > 0 || s.managedOperatorState.length > 0,
        );
        if (hasOther || channel.length === 0) continue;
        channelOnly++;
        const inFiles = channel.filter((h: any) => h.delegate.kind !== "ByteStreamStateHandle");
        const inline = channel.filter((h: any) => h.delegate.kind === "ByteStreamStateHandle");
        assert.equal(o.stateBytes.files, size(inFiles), `${eo.operatorId} bytes in files`);
        assert.equal(o.stateBytes.inline, size(inline), `${eo.operatorId} inline bytes`);
        const files = new Set(inFiles.map((h: any) => h.delegate.relativePath));
        assert.equal(o.fileCount, files.size, `${eo.operatorId} files`);
      }
      assert.ok(channelOnly > 0, "operators whose only state is channel state");
    });
  }
});
