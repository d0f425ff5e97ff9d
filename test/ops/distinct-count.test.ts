import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { DistinctCounter } from "../../src/ops/distinct-count.js";

describe("DistinctCounter", () => {
  it("counts what a Set<string> counts, across table growth", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 6 }), { maxLength: 3000 }), (values) => {
        const c = new DistinctCounter();
        const set = new Set<string>();
        for (const v of values) assert.equal(c.add(v), !set.has(v) && set.add(v) !== undefined);
        assert.equal(c.size, set.size);
      }),
      { numRuns: 50 },
    );
  });

  it("keeps counting exactly past a million URIs", () => {
    const c = new DistinctCounter();
    for (let i = 0; i < 1_100_000; i++) c.add(`s3://bucket/jobs/j/shared/op-${i % 1000}/${i}.sst`);
    for (let i = 0; i < 1_100_000; i += 3)
      assert.equal(c.add(`s3://bucket/jobs/j/shared/op-${i % 1000}/${i}.sst`), false);
    assert.equal(c.size, 1_100_000);
  });
});
