/** The budgeted cache of changelog streams (`src/formats/state/changelog-streams.ts`). */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ChangelogStreamCache } from "../../../src/formats/state/changelog-streams.js";

describe("ChangelogStreamCache", () => {
  it("keeps streams until the budget is reached, then none (the first ones stay)", () => {
    const cache = new ChangelogStreamCache(100);
    const a = new Uint8Array(60);
    const b = new Uint8Array(50);
    const c = new Uint8Array(40);
    cache.set("a", a).set("b", b).set("c", c);
    assert.equal(cache.get("a"), a);
    assert.equal(cache.get("b"), undefined, "would pass the budget");
    assert.equal(cache.get("c"), c, "fits what is left");
    assert.equal(cache.bytes, 100);
    cache.set("d", new Uint8Array(1));
    assert.equal(cache.get("d"), undefined);
    // a stream kept is not replaced or counted twice
    cache.set("a", new Uint8Array(0));
    assert.equal(cache.get("a"), a);
    assert.equal(cache.bytes, 100);
  });

  it("a budget of 0 keeps nothing; a bad budget is refused", () => {
    const none = new ChangelogStreamCache(0);
    none.set("a", new Uint8Array(1));
    assert.equal(none.get("a"), undefined);
    none.set("empty", new Uint8Array(0));
    assert.equal(none.bytes, 0);
    assert.throws(() => new ChangelogStreamCache(-1), RangeError);
    assert.throws(() => new ChangelogStreamCache(Number.NaN), RangeError);
    assert.throws(() => new ChangelogStreamCache(Number.POSITIVE_INFINITY), RangeError);
  });
});
