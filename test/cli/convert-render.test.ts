/**
 * `convert`'s text output: when the new snapshot still references files outside its directory (a
 * checkpoint's shared/ or taskowned/ files), it says so and how to make it self-contained, since deleting
 * the source would break it.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { renderConvert } from "../../src/cli/commands/convert.js";
import type { ConvertReport } from "../../src/ops/convert.js";

function report(referenced: string[]): ConvertReport {
  return {
    source: { metadataUri: "file:///src/chk-2/_metadata", directory: "file:///src/chk-2" },
    target: { metadataUri: "file:///out/sp/_metadata", directory: "file:///out/sp" },
    to: "canonical",
    backend: null,
    dryRun: false,
    keyed: [],
    copies: [],
    referenced,
    formatType: { before: null, after: null },
    totals: { converted: 0, relabelled: 0, kept: 0, copied: 0, bytesWritten: 0 },
  };
}

it("convert's output warns that files outside the new snapshot stay where the source has them", () => {
  const out = renderConvert(report(["file:///src/taskowned/a", "file:///src/taskowned/b"]));
  assert.match(out, /2 referenced where they are/);
  assert.match(
    out,
    /Note {6}the new snapshot needs 2 files outside its directory, where the source has them \(file:\/\/\/src\/taskowned\/a, \.\.\.\): keep them, or make it self-contained with 'savepoint relocate file:\/\/\/out\/sp <dst>'/,
  );
  assert.match(
    renderConvert(report(["file:///src/shared/x"])),
    /needs 1 file outside its directory, where the source has them \(file:\/\/\/src\/shared\/x\):/,
  );
});

it("convert's output has no such note for a self-contained result", () => {
  assert.doesNotMatch(renderConvert(report([])), /Note/);
});
