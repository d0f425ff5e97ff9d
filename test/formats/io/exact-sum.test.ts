import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ExactSum } from "../../../src/formats/io/exact-sum.js";

describe("ExactSum", () => {
  it("equals the bigint sum, across the 2^53 boundary and for any Java long", () => {
    const near = fc.bigInt({ min: 2n ** 53n - 1000n, max: 2n ** 53n + 1000n });
    const long = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
    const small = fc.bigInt({ min: -1000n, max: 1n << 40n });
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            near,
            long,
            small,
            near.map((x) => -x),
          ),
          { maxLength: 60 },
        ),
        (terms) => {
          const s = new ExactSum();
          for (const t of terms) s.add(t);
          assert.equal(
            s.value,
            terms.reduce((a, b) => a + b, 0n),
          );
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("sums many safe terms past 2^53 exactly", () => {
    const s = new ExactSum();
    const term = 2n ** 50n + 12345n;
    for (let i = 0; i < 100; i++) s.add(term);
    assert.equal(s.value, term * 100n);
  });
});
