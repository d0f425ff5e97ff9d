import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import fc from "fast-check";
import {
  jsonChunks,
  jsonReplacer,
  LaterJson,
  quoteJsonString,
  StreamedJsonArray,
  serializeJson,
  toJson,
} from "../../src/cli/json.js";
import { inspectSnapshot } from "../../src/ops/inspect.js";
import { StoreRegistry } from "../../src/storage/registry.js";
import { listFixtures } from "../helpers/fixtures.js";

const stores = new StoreRegistry();
after(() => stores.close());

const native = (data: unknown) => `${JSON.stringify(data, jsonReplacer, 2)}\n`;

/** Strings JSON must escape, or that look as if it might: quotes, backslashes, controls, non-ASCII. */
const ADVERSARIAL = [
  "",
  '"',
  '\\"',
  "back\\slash",
  "tab\tnew\nline\r",
  "\u0000\u0001\u001f\u007f\u0080",
  "\u2028\u2029",
  "é中文🙂",
  "\ud800",
  "x\udfffy",
  "\udc00\ud800",
  "\ud83d\ude00",
  "</script>",
  "s3://bucket/key with spaces/ümlaut",
];

/** Nests `v` `depth` levels deep, alternating objects and arrays. */
function nest(v: unknown, depth: number): unknown {
  let out = v;
  for (let i = 0; i < depth; i++) out = i % 2 === 0 ? { [`k${i}`]: out, n: i } : [out, null];
  return out;
}

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
        assert.equal(toJson(data), native(data));
      }),
    );
  });

  it("writes deep values (the hand-written serializer) exactly as JSON.stringify", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.bigInt(), fc.integer({ min: 0, max: 9 }), (value, big, depth) => {
        const data = nest({ value, big, deep: nest([value, big, undefined], 3) }, depth);
        assert.equal(toJson(data), native(data));
      }),
      { numRuns: 300 },
    );
  });

  it("escapes strings and keys exactly as JSON.stringify (quotes, controls, lone surrogates)", () => {
    for (const s of ADVERSARIAL) {
      assert.equal(quoteJsonString(s), JSON.stringify(s), JSON.stringify(s));
      const data = nest({ [s]: s, list: [s, { [s]: [s] }] }, 5);
      assert.equal(toJson(data), native(data));
    }
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 40 }), (s) => {
        assert.equal(quoteJsonString(s), JSON.stringify(s));
        const data = nest({ [s]: [s, s], x: s }, 6);
        assert.equal(toJson(data), native(data));
      }),
      { numRuns: 500 },
    );
  });

  it("writes values that are not plain data as JSON.stringify does (toJSON, typed arrays, classes)", () => {
    class Point {
      constructor(
        readonly x: number,
        readonly y: bigint,
      ) {}
    }
    const odd = {
      date: new Date(0),
      buffer: Buffer.from("hi"),
      bytes: Uint8Array.of(255, 0),
      point: new Point(1, 2n),
      map: new Map([[1, 2]]),
      withToJson: { toJSON: () => ({ replaced: [1n] }) },
      nullProto: Object.assign(Object.create(null), { a: 1 }),
      numbers: [Number.NaN, Number.POSITIVE_INFINITY, -0, 1e21, 5e-7],
      sparse: new Array<number>(3).fill(1, 0, 1), // a hole is written as null
      fn: () => 1,
      sym: Symbol("s"),
      empty: { a: undefined },
      emptyList: [],
    };
    for (let depth = 0; depth < 8; depth++) {
      const data = nest(odd, depth);
      assert.equal(toJson(data), native(data), `depth ${depth}`);
    }
    assert.equal(serializeJson(undefined, 0), undefined);
    assert.equal(
      serializeJson(() => 1, 3),
      undefined,
    );
  });

  it("writes LaterJson and StreamedJsonArray as their value and elements", () => {
    const items = [{ a: 1n }, { b: [2, { c: "3" }] }];
    const streamed = {
      head: 1,
      ops: new StreamedJsonArray(items.values()),
      tail: new LaterJson(() => ({ n: 2n })),
    };
    assert.equal(toJson(streamed), native({ head: 1, ops: items, tail: { n: 2n } }));
    assert.equal(toJson({ ops: new StreamedJsonArray([]) }), native({ ops: [] }));
  });

  it("writes large values in bounded chunks", () => {
    const data = { items: Array.from({ length: 50_000 }, (_, i) => ({ i, id: BigInt(i) * 10n ** 15n })) };
    const chunks = [...jsonChunks(data)];
    assert.ok(chunks.length > 10);
    assert.ok(chunks.every((c) => c.length < 128 * 1024));
    assert.equal(chunks.join(""), native(data));
  });

  describe("inspect reports of every fixture", () => {
    const fixtures = listFixtures();
    it("has fixtures", () => assert.ok(fixtures.length >= 10));
    for (const f of fixtures) {
      it(`${f.id}: same text as JSON.stringify`, async () => {
        const r = await inspectSnapshot(f.metadataDir, { stores });
        assert.equal(toJson(r), native(r));
      });
    }
  });
});
