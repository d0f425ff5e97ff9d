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

  it("counts exactly when presized for an expected count, below it and past it (growth)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ maxLength: 6 }), { maxLength: 4000 }),
        fc.integer({ min: 0, max: 5000 }),
        (values, expected) => {
          const c = new DistinctCounter(expected);
          const set = new Set<string>();
          for (const v of values) assert.equal(c.add(v), !set.has(v) && set.add(v) !== undefined);
          assert.equal(c.size, set.size);
        },
      ),
      { numRuns: 50 },
    );
  });

  it("adds to a second counter too (one digest): per-part and overall counts", () => {
    const total = new DistinctCounter();
    const union = new Set<string>();
    for (let part = 0; part < 5; part++) {
      const c = new DistinctCounter();
      const mine = new Set<string>();
      for (let i = 0; i < 2000; i++) {
        const v = `f-${(i * 7 + part * 500) % 3000}`; // parts overlap
        c.add(v, total);
        mine.add(v);
        union.add(v);
      }
      assert.equal(c.size, mine.size);
    }
    assert.equal(total.size, union.size);
  });

  it("keeps counting exactly past a million URIs", () => {
    const c = new DistinctCounter();
    for (let i = 0; i < 1_100_000; i++) c.add(`s3://bucket/jobs/j/shared/op-${i % 1000}/${i}.sst`);
    for (let i = 0; i < 1_100_000; i += 3)
      assert.equal(c.add(`s3://bucket/jobs/j/shared/op-${i % 1000}/${i}.sst`), false);
    assert.equal(c.size, 1_100_000);
  });

  it("tells apart near-identical strings: one code unit changed anywhere, every length, any encoding", () => {
    const c = new DistinctCounter();
    const set = new Set<string>();
    const base = "s3://bucket/jobs/6c1e0f9b2a3d4e5f/shared/op-0-0/0000-1111-2222-3333";
    const replacements = ["0", "1", "\u0000", "é", "\u6261", "\ud800", "\udc00", "\uffff"];
    for (let n = 0; n <= base.length; n++) {
      const prefix = base.slice(0, n);
      for (let at = 0; at < n; at++) {
        for (const r of replacements) {
          const v = prefix.slice(0, at) + r + prefix.slice(at + 1);
          assert.equal(c.add(v), !set.has(v) && set.add(v) !== undefined, JSON.stringify(v));
        }
      }
      c.add(prefix);
      set.add(prefix);
    }
    assert.equal(c.size, set.size);
  });
});
