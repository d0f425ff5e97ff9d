/**
 * The changelog (DSTL) file reader on the files Flink 1.20.5 and 2.3.0 wrote for the changelog
 * fixtures (checkpoint-rocksdb-changelog; -snappy, with the changelog files Snappy-framed;
 * -materialized, with the changes since a materialization): every
 * change set the checkpoint's handles point at reads,
 * its METADATA changes register the job's states; the Snappy-framed variant of a file reads the same;
 * damaged bytes are typed errors naming the file and the byte offset.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { CorruptSnapshotError } from "../../../src/errors.js";
import { readMetadata } from "../../../src/formats/metadata/index.js";
import type { ChangelogStateHandleStreamImpl } from "../../../src/formats/metadata/model.js";
import {
  changelogStream,
  operationOf,
  readChangeSet,
  readMetadataChange,
  STATE_CHANGE_OPERATIONS,
} from "../../../src/formats/state/changelog.js";
import { encodeSnappyFramed } from "../../../src/formats/state/snappy.js";
import { listFixtures } from "../../helpers/fixtures.js";

const fixtures = listFixtures().filter((f) => f.expected.case.startsWith("checkpoint-rocksdb-changelog"));
/** The case whose changelog files Flink compressed (`state.changelog.dstl.dfs.compression.enabled`). */
const compressed = (f: (typeof fixtures)[number]) =>
  f.expected.case === "checkpoint-rocksdb-changelog-snappy";

/** Each DSTL file of a fixture (its bytes, from the repository copy) with the offsets handles name. */
function changelogFiles(
  f: (typeof fixtures)[number],
): { uri: string; bytes: Uint8Array; offsets: number[] }[] {
  const m = readMetadata(readFileSync(f.metadataFile), f.metadataFile);
  const byFile = new Map<string, number[]>();
  for (const op of m.operatorStates)
    for (const s of op.subtaskStates) {
      if (s.kind !== "OperatorSubtaskState" || s.managedKeyedState?.kind !== "ChangelogStateBackendHandle")
        continue;
      for (const h of s.managedKeyedState.nonMaterialized as ChangelogStateHandleStreamImpl[])
        for (const { handle, offset } of h.handlesAndOffsets) {
          assert.equal(handle.kind, "FileStateHandle");
          const path = (handle as { filePath: string }).filePath;
          byFile.set(path, [...(byFile.get(path) ?? []), Number(offset)]);
        }
    }
  assert.ok(byFile.size > 0, `${f.id}: changelog files`);
  // the fixture's pointers name where it was generated; the files are under its snapshot/ here
  return [...byFile].map(([path, offsets]) => {
    const local = f.metadataDir.replace(
      /\/snapshot\/.*$/,
      `/snapshot/${path.replace(/^.*\/snapshot\//, "")}`,
    );
    return { uri: local, bytes: readFileSync(local), offsets };
  });
}

describe("changelog (DSTL) files", () => {
  it("there are changelog fixtures of each Flink line: plain, compressed, materialized", () =>
    assert.equal(fixtures.length, 6));

  for (const f of fixtures) {
    it(`${f.id}: every change set reads; METADATA changes come first and register the job's states`, () => {
      const names = new Set<string>();
      let data = 0;
      for (const file of changelogFiles(f)) {
        assert.equal(
          file.bytes[0],
          compressed(f) ? 1 : 0,
          "the compression byte (dstl.dfs.compression.enabled)",
        );
        const stream = changelogStream(file.bytes, file.uri);
        for (const offset of file.offsets) {
          const changes = readChangeSet(stream, offset, file.uri);
          assert.ok(changes.length > 0);
          // with key groups: those changes and the METADATA ones, the same, in the same order
          const some = { start: 20, end: 70 };
          assert.deepEqual(
            readChangeSet(stream, offset, file.uri, some),
            changes.filter((c) => c.keyGroup === -1 || (c.keyGroup >= some.start && c.keyGroup <= some.end)),
          );
          let seenData = false;
          for (const c of changes) {
            const op = operationOf(c, file.uri);
            if (op === "METADATA") {
              assert.equal(c.keyGroup, -1);
              assert.ok(!seenData, "metadata before data (StateChangeFormat sorts key group -1 first)");
              names.add(readMetadataChange(c, file.uri).name);
            } else {
              seenData = true;
              data++;
              assert.ok(c.keyGroup >= 0 && c.keyGroup < 128, `key group ${c.keyGroup}`);
            }
          }
        }
      }
      assert.ok(data > 0);
      for (const n of ["word-count", "word-timestamps", "bucket-counts", "window-contents", "max-ts"])
        assert.ok(names.has(n), `${n} in ${[...names].join(", ")}`);
    });

    it(`${f.id}: a Snappy-framed copy (compression byte 1) reads the same changes at the same offsets`, () => {
      for (const file of changelogFiles(f)) {
        if (file.bytes[0] === 1) continue; // Flink's own compressed files are read by the test above
        const plain = changelogStream(file.bytes, file.uri);
        const framed = Uint8Array.of(1, ...encodeSnappyFramed(plain));
        const again = changelogStream(framed, file.uri);
        assert.ok(Buffer.from(again).equals(Buffer.from(plain)));
        const plainly = (changes: ReturnType<typeof readChangeSet>) =>
          changes.map((c) => ({ ...c, bytes: Buffer.from(c.bytes).toString("hex") }));
        for (const offset of file.offsets)
          assert.deepEqual(
            plainly(readChangeSet(again, offset, file.uri)),
            plainly(readChangeSet(plain, offset, file.uri)),
          );
      }
    });

    it(`${f.id}: damage is a CorruptSnapshotError naming the file and the byte offset`, () => {
      const [file] = changelogFiles(f);
      assert.ok(file);
      const stream = changelogStream(file.bytes, file.uri);
      const named = (e: unknown) =>
        e instanceof CorruptSnapshotError && e.uri?.startsWith(file.uri) === true && e.offset >= 0;
      // every cut of the first change set's bytes
      const offset = file.offsets[0] as number;
      const end = Math.min(stream.byteLength, offset + 600);
      for (let cut = offset; cut < end; cut++) {
        const whole = readChangeSet(stream, offset, file.uri);
        const size = whole.reduce((n, c) => n + 4 + c.bytes.byteLength, 0);
        if (cut >= offset + size + 4) break;
        assert.throws(() => readChangeSet(stream.subarray(0, cut), offset, file.uri), named, `cut at ${cut}`);
      }
      assert.throws(() => readChangeSet(stream, stream.byteLength + 1, file.uri), named);
      assert.throws(() => changelogStream(Uint8Array.of(2, 0, 0, 0, 0), file.uri), named);
      assert.throws(() => changelogStream(new Uint8Array(0), file.uri), named);
      assert.throws(() => changelogStream(Uint8Array.of(1, 0x42), file.uri), named);
      // an operation code no release writes
      const c = readChangeSet(stream, offset, file.uri)[0];
      assert.ok(c);
      for (const code of [STATE_CHANGE_OPERATIONS.length, 200]) {
        const bad = { ...c, bytes: Uint8Array.of(code, ...c.bytes.subarray(1)) };
        assert.throws(() => operationOf(bad, file.uri), named);
      }
      // a METADATA change with a meta info version before 6
      const meta = readChangeSet(stream, offset, file.uri).find(
        (x) => operationOf(x, file.uri) === "METADATA",
      );
      assert.ok(meta);
      const old = meta.bytes.slice();
      old.set([0, 0, 0, 5], 1);
      assert.throws(() => readMetadataChange({ ...meta, bytes: old }, file.uri), /version 5/);
    });
  }
});
