/**
 * mapStreamHandles: every stream handle reached once, and only what changes copied.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { CheckpointMetadata, StreamStateHandle } from "../../../src/formats/metadata/model.js";
import { mapStreamHandles } from "../../../src/formats/metadata/rewrite.js";
import { anyMetadata } from "./arbitraries.js";

/** Every object reachable from `v` (arrays, plain objects), for identity checks. */
function objectsOf(v: unknown, out = new Set<object>()): Set<object> {
  if (v === null || typeof v !== "object" || ArrayBuffer.isView(v) || out.has(v)) return out;
  out.add(v);
  for (const x of Array.isArray(v) ? v : Object.values(v)) objectsOf(x, out);
  return out;
}

describe("mapStreamHandles", () => {
  it("returns the metadata itself when every handle is kept", () => {
    fc.assert(
      fc.property(anyMetadata, (m) => {
        assert.equal(
          mapStreamHandles(m, (h) => h),
          m,
        );
      }),
      { numRuns: 200 },
    );
  });

  it("copies the path to each changed handle and shares everything else with the input", () => {
    fc.assert(
      fc.property(anyMetadata, fc.integer({ min: 0, max: 50 }), (m: CheckpointMetadata, pick) => {
        const seen: StreamStateHandle[] = [];
        mapStreamHandles(m, (h) => {
          seen.push(h);
          return h;
        });
        fc.pre(seen.length > 0);
        const target = seen[pick % seen.length] as StreamStateHandle;
        const replacement: StreamStateHandle = {
          kind: "FileStateHandle",
          filePath: "s3://b/new",
          stateSize: 7n,
        };
        const before = JSON.stringify(m, (_k, v) => (typeof v === "bigint" ? `${v}n` : v));
        const out = mapStreamHandles(m, (h) => (h === target ? replacement : h));
        // the input is never modified
        assert.equal(
          JSON.stringify(m, (_k, v) => (typeof v === "bigint" ? `${v}n` : v)),
          before,
        );
        assert.notEqual(out, m);
        // what does not contain the changed handle is shared: every stream handle but the target is
        // reached in the output as the same object
        const again: StreamStateHandle[] = [];
        mapStreamHandles(out, (h) => {
          again.push(h);
          return h;
        });
        assert.equal(again.length, seen.length);
        again.forEach((h, i) => {
          assert.equal(h, seen[i] === target ? replacement : seen[i]);
        });
        // an operator without the changed handle is the input's own object; the one with it is a copy
        m.operatorStates.forEach((op, i) => {
          const holds = objectsOf(op).has(target);
          assert.equal(out.operatorStates[i] === op, !holds);
        });
      }),
      { numRuns: 200 },
    );
  });
});
