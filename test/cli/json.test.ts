import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { jsonChunks, jsonReplacer, toJson } from "../../src/cli/json.js";

describe("CLI JSON", () => {
  it("streams exactly what JSON.stringify writes", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.bigInt(), (value, big) => {
        const data = {
          value,
          big,
          bytes: Uint8Array.of(1, 2, 3),
          skipped: undefined,
          list: [undefined, big],
        };
        assert.equal(toJson(data), `${JSON.stringify(data, jsonReplacer, 2)}\n`);
      }),
    );
  });

  it("writes large values in bounded chunks", () => {
    const data = { items: Array.from({ length: 50_000 }, (_, i) => ({ i, id: BigInt(i) * 10n ** 15n })) };
    const chunks = [...jsonChunks(data)];
    assert.ok(chunks.length > 10);
    assert.ok(chunks.every((c) => c.length < 128 * 1024));
    assert.equal(chunks.join(""), `${JSON.stringify(data, jsonReplacer, 2)}\n`);
  });
});
