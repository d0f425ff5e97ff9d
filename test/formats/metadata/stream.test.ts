/**
 * `openMetadata`: the streaming reader gives exactly what `readMetadata` gives, one operator at a time,
 * on every fixture and every Flink-written vector (V2..V6, the V3 layouts included), and reports
 * damage in an operator record or the trailer from the iteration, with the same typed error. A vector
 * that `readMetadata` refuses (Flink 1.3's legacy operator state) is refused by the iteration too.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CorruptSnapshotError, InvalidArgumentError, UnsupportedVersionError } from "../../../src/errors.js";
import { openMetadata, readMetadata } from "../../../src/formats/metadata/index.js";
import type { CheckpointMetadata } from "../../../src/formats/metadata/model.js";
import { listFixtures, REPO_ROOT } from "./helpers.js";

const VECTORS_DIR = join(REPO_ROOT, "fixtures", "vectors");

/** `readMetadata`, or the UnsupportedVersionError it throws (any other error is thrown on). */
function readOrRefusal(bytes: Uint8Array, name: string): CheckpointMetadata | UnsupportedVersionError {
  try {
    return readMetadata(bytes, name);
  } catch (e) {
    if (e instanceof UnsupportedVersionError) return e;
    throw e;
  }
}

function allFiles(): { name: string; bytes: Uint8Array }[] {
  const out = listFixtures().map((f) => ({ name: f.name, bytes: f.bytes }));
  for (const version of readdirSync(VECTORS_DIR, { withFileTypes: true })) {
    if (!version.isDirectory() || !/^\d/.test(version.name)) continue;
    for (const file of readdirSync(join(VECTORS_DIR, version.name))) {
      if (!file.endsWith(".metadata")) continue;
      out.push({
        name: `${version.name}/${file}`,
        bytes: readFileSync(join(VECTORS_DIR, version.name, file)),
      });
    }
  }
  return out;
}

describe("openMetadata", () => {
  const files = allFiles();
  it("has fixtures and vectors of every version to read", () => {
    const versions = new Set(
      files
        .map((f) => readOrRefusal(f.bytes, f.name))
        .flatMap((m) => ("operatorStates" in m ? [m.version] : [])),
    );
    for (const v of [2, 3, 4, 5, 6]) assert.ok(versions.has(v), `no file of version ${v}`);
  });

  for (const f of files) {
    it(`streams what readMetadata reads: ${f.name}`, () => {
      const whole = readOrRefusal(f.bytes, f.name);
      const s = openMetadata(f.bytes, f.name);
      if (whole instanceof UnsupportedVersionError) {
        // refused inside an operator record: the header opens, the iteration refuses the same way
        assert.throws(
          () => [...s.operators()],
          (e: unknown) =>
            e instanceof UnsupportedVersionError && e.message === whole.message && e.offset === whole.offset,
        );
        return;
      }
      assert.equal(s.version, whole.version);
      assert.equal(s.checkpointId, whole.checkpointId);
      assert.deepEqual(s.masterStates, whole.masterStates);
      assert.equal(s.operatorCount, whole.operatorStates.length);
      assert.throws(() => s.properties(), InvalidArgumentError);
      const ops = [...s.operators()];
      assert.deepEqual(ops, whole.operatorStates);
      assert.deepEqual(s.properties(), whole.properties);
      assert.throws(() => [...s.operators()], InvalidArgumentError, "a second iteration is refused");
    });
  }

  it("reports a damaged operator record from the iteration, after the operators before it", () => {
    const f = listFixtures().find((x) => readMetadata(x.bytes).version >= 4);
    assert.ok(f, "a V4+ fixture");
    const whole = readMetadata(f.bytes);
    assert.ok(whole.operatorStates.length >= 2);
    // cut the file shorter and shorter: each cut is reported from the iteration, and a cut inside
    // operator 1 still yields operator 0 first
    let cut = f.bytes.byteLength - 1;
    let got: { ops: number; error: unknown } = { ops: 0, error: null };
    for (; cut > 16; cut -= 7) {
      const s = openMetadata(f.bytes.subarray(0, cut), f.name);
      let ops = 0;
      let error: unknown = null;
      try {
        for (const _ of s.operators()) ops++;
      } catch (e) {
        error = e;
      }
      assert.ok(error instanceof CorruptSnapshotError, `cut at ${cut}: ${String(error)}`);
      // (a cut in the trailer yields every operator, then the error)
      got = { ops, error };
      if (ops === 1) break;
    }
    assert.equal(got.ops, 1, "a cut inside operator 1 yields operator 0 first");
    const e = got.error as CorruptSnapshotError;
    assert.equal(e.uri, f.name);
    assert.equal(typeof e.offset, "number");
    assert.throws(() => readMetadata(f.bytes.subarray(0, cut), f.name), CorruptSnapshotError);
  });
});
