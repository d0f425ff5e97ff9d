import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import fc from "fast-check";
import { operatorJson, writeSubtaskReport } from "../../src/cli/commands/inspect-json.js";
import { JsonByteWriter, jsonByteChunks, jsonReplacer, StreamedJsonArray } from "../../src/cli/json.js";
import type { HandleFile, HandleReport, SubtaskReport } from "../../src/ops/inspect.js";
import { inspectSnapshot } from "../../src/ops/inspect.js";
import { StoreRegistry } from "../../src/storage/registry.js";
import { listFixtures } from "../helpers/fixtures.js";
import { ADVERSARIAL_STRINGS as ADVERSARIAL } from "../helpers/json-strings.js";

const stores = new StoreRegistry();
after(() => stores.close());

/** `JSON.stringify(v, jsonReplacer, 2)` as it reads `depth` levels deep. */
function native(v: unknown, depth: number): string {
  return (JSON.stringify(v, jsonReplacer, 2) as string).replace(/\n/g, `\n${"  ".repeat(depth)}`);
}

/** What {@link writeSubtaskReport} writes at `depth` into buffers of `chunkSize`, as text. */
function written(s: SubtaskReport, depth: number, chunkSize: number): string {
  const w = new JsonByteWriter(chunkSize);
  writeSubtaskReport(w, s, depth);
  const chunks = w.end();
  for (const c of chunks) assert.ok(c.length <= chunkSize);
  return Buffer.concat(chunks).toString("utf8");
}

const text = fc.oneof(
  fc.constantFrom(...ADVERSARIAL),
  fc.string({ unit: "binary", maxLength: 30 }),
  fc.stringMatching(/^s3:\/\/[a-z]{1,8}\/[a-z0-9/._-]{0,60}$/),
);
const long = fc.oneof(
  fc.bigInt({ min: 0n, max: 1n << 20n }),
  fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
  fc.constantFrom(0n, 9007199254740991n, 9007199254740992n, -1n),
);
const file: fc.Arbitrary<HandleFile> = fc.record({
  role: text,
  stored: text,
  relative: fc.boolean(),
  uri: text,
  stateSize: long,
});
const handle: fc.Arbitrary<HandleReport> = fc.record({
  slot: fc.constantFrom("managedKeyedState", "managedOperatorState", "rawKeyedState", "inputChannelState"),
  kind: text,
  keyGroupRange: fc.option(fc.record({ start: fc.integer({ min: 0, max: 32767 }), end: fc.integer() })),
  stateSize: long,
  checkpointedSize: fc.option(long),
  stateNames: fc.array(
    fc.record({ name: text, mode: fc.constantFrom("SPLIT_DISTRIBUTE", "UNION", "BROADCAST") }),
    { maxLength: 3 },
  ),
  files: fc.array(file, { maxLength: 5 }),
  inline: fc.array(fc.record({ role: text, bytes: long }), { maxLength: 3 }),
}) as fc.Arbitrary<HandleReport>;
const subtask: fc.Arbitrary<SubtaskReport> = fc.record({
  index: fc.nat(),
  finished: fc.boolean(),
  handles: fc.array(handle, { maxLength: 4 }),
});

describe("inspect --json subtask writer", () => {
  it("writes random subtask records as JSON.stringify does (adversarial strings, large and negative longs)", () => {
    fc.assert(
      fc.property(subtask, fc.integer({ min: 0, max: 9 }), (s, depth) => {
        assert.equal(written(s, depth, 1024 * 1024), native(s, depth));
      }),
      { numRuns: 400 },
    );
  });

  it("writes the same bytes with tiny buffers (every token split between chunks)", () => {
    fc.assert(
      fc.property(subtask, fc.integer({ min: 1, max: 7 }), (s, size) => {
        assert.equal(written(s, 4, size), native(s, 4));
      }),
      { numRuns: 200 },
    );
  });

  it("writes records whose stored pointer and URI are one string, and empty records", () => {
    const uri = "s3://b/jobs/x/shared/000001.sst";
    const s: SubtaskReport = {
      index: 3,
      finished: false,
      handles: [
        {
          slot: "managedKeyedState",
          kind: "IncrementalRemoteKeyedStateHandle",
          keyGroupRange: { start: 0, end: 127 },
          stateSize: 10n,
          checkpointedSize: 4n,
          stateNames: [],
          files: [
            { role: "meta", stored: uri, relative: false, uri, stateSize: 1n },
            { role: "shared/a", stored: "a", relative: true, uri, stateSize: 2n },
            { role: 'x"', stored: uri, relative: false, uri: `${uri}é`, stateSize: 3n },
          ],
          inline: [],
        },
      ],
    };
    for (const size of [1, 2, 3, 64, 1 << 20]) assert.equal(written(s, 4, size), native(s, 4));
    const empty: SubtaskReport = { index: 0, finished: true, handles: [] };
    for (const depth of [0, 4]) assert.equal(written(empty, depth, 1 << 20), native(empty, depth));
  });

  describe("operators of every fixture, as the CLI streams them", () => {
    for (const f of listFixtures()) {
      it(`${f.id}: same bytes as JSON.stringify`, async () => {
        const r = await inspectSnapshot(f.metadataDir, { stores });
        const expected = `${JSON.stringify({ operators: r.operators }, jsonReplacer, 2)}\n`;
        const data = { operators: new StreamedJsonArray(r.operators.map(operatorJson)) };
        for (const size of [7, 1 << 20]) {
          const got = Buffer.concat([...jsonByteChunks(data, size)]).toString("utf8");
          assert.equal(got, expected);
        }
      });
    }
  });
});
