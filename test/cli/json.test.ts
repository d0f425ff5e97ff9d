import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import fc from "fast-check";
import {
  JsonByteWriter,
  jsonByteChunks,
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
import { ADVERSARIAL_STRINGS as ADVERSARIAL } from "../helpers/json-strings.js";

const stores = new StoreRegistry();
after(() => stores.close());

const native = (data: unknown) => `${JSON.stringify(data, jsonReplacer, 2)}\n`;

/** The bytes {@link jsonByteChunks} writes for `data` in chunks of `size`, checked to be at most `size` each. */
function bytesOf(data: unknown, size: number): Buffer {
  const chunks = [...jsonByteChunks(data, size)];
  for (const c of chunks) assert.ok(c.length >= 1 && c.length <= size, `chunk of ${c.length} > ${size}`);
  return Buffer.concat(chunks);
}

/** Nests `v` `depth` levels deep, alternating objects and arrays. */
function nest(v: unknown, depth: number): unknown {
  let out = v;
  for (let i = 0; i < depth; i++) out = i % 2 === 0 ? { [`k${i}`]: out, n: i } : [out, null];
  return out;
}

/** {@link jsonChunks} text with byte chunks of `size`. */
function toJsonIn(data: unknown, size: number): string {
  return [...jsonChunks(data, size)].join("");
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

  it("writes repeated strings (copied from where they were written) and short strings, in any chunk size", () => {
    const uri = "s3://bucket/jobs/6c1e0f9b/shared/op-0-0/000000000042.sst";
    const other = "hdfs://nn:8020/flink/checkpoints/chk-42/_metadata-and-more";
    const values = [
      uri,
      uri,
      "meta",
      other,
      'q"uote-and-longer-than-short',
      uri,
      other,
      other,
      "é",
      uri,
      "",
      "x",
    ];
    for (const size of [1, 2, 3, 7, 20, 60, 61, 62, 63, 64, 100, 128, 1 << 20]) {
      assert.deepEqual(bytesOf(values, size), Buffer.from(native(values), "utf8"), `chunk size ${size}`);
    }
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(fc.constantFrom(uri, other, "delegate"), fc.string({ unit: "binary", maxLength: 40 })),
          {
            maxLength: 12,
          },
        ),
        fc.integer({ min: 1, max: 90 }),
        (strings, size) => assert.deepEqual(bytesOf(strings, size), Buffer.from(native(strings), "utf8")),
      ),
      { numRuns: 300 },
    );
  });

  it("writes integers and bigints of every decimal length as JSON.stringify does", () => {
    const values: unknown[] = [
      0,
      -0,
      1,
      9,
      10,
      2 ** 31 - 1,
      2 ** 31,
      2 ** 32 - 1,
      2 ** 32,
      2 ** 53 - 1,
      2 ** 53,
      0.5,
      -1,
    ];
    for (let p = 1n; p < 1n << 70n; p *= 10n) values.push(p - 1n, p, p + 1n, -p, Number(p), Number(p) - 1);
    values.push(BigInt(Number.MAX_SAFE_INTEGER), BigInt(Number.MAX_SAFE_INTEGER) + 1n, -(1n << 63n));
    // Nested: below the walked levels values are written by the byte writer itself (no replacer).
    const data = nest(values, 6);
    for (const size of [1, 3, 1 << 20]) {
      assert.deepEqual(bytesOf(data, size), Buffer.from(native(data), "utf8"), `chunk size ${size}`);
    }
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.bigInt(), fc.maxSafeNat(), fc.nat(), fc.double())), (v) => {
        const d = nest(v, 6);
        assert.deepEqual(bytesOf(d, 1 << 16), Buffer.from(native(d), "utf8"));
      }),
      { numRuns: 300 },
    );
  });

  it("writes large values in bounded chunks", () => {
    const data = { items: Array.from({ length: 50_000 }, (_, i) => ({ i, id: BigInt(i) * 10n ** 15n })) };
    const chunks = [...jsonChunks(data)];
    assert.ok(chunks.length > 10);
    assert.ok(chunks.every((c) => c.length < 128 * 1024));
    assert.equal(chunks.join(""), native(data));
  });

  // 1 KiB chunks lie below every Node.js line's pool threshold, 16 KiB below Node.js 24's (64 KiB pool)
  for (const size of [1024, 4096 * 4]) {
    it(`with reuse, writes over a chunk's memory once the next is asked for, and the bytes stay right (${size}-byte chunks)`, () => {
      const data = {
        items: Array.from({ length: 20_000 }, (_, i) => ({
          i,
          uri: `s3://bucket/job/shared/${i}.sst`,
          n: BigInt(i),
        })),
      };
      const copied: Buffer[] = [];
      const memories = new Set<ArrayBufferLike>();
      let count = 0;
      for (const chunk of jsonByteChunks(data, size, { reuse: true })) {
        copied.push(Buffer.from(chunk)); // the consumer is done with it before asking for the next
        memories.add(chunk.buffer);
        count++;
      }
      assert.equal(Buffer.concat(copied).toString("utf8"), native(data));
      assert.ok(count > 20, `${count} chunks`);
      assert.ok(memories.size <= 4, `${memories.size} buffers for ${count} chunks: not reused`);
      // without reuse every chunk is its own memory (not a slice of Buffer's shared pool), kept intact
      const kept = [...jsonByteChunks(data, size)];
      assert.equal(new Set(kept.map((c) => c.buffer)).size, kept.length);
      assert.equal(Buffer.concat(kept).toString("utf8"), native(data));
    });
  }

  describe("byte chunks", () => {
    it("are the UTF-8 bytes of JSON.stringify for random values, at every chunk size", () => {
      fc.assert(
        fc.property(
          fc.jsonValue(),
          fc.bigInt(),
          fc.integer({ min: 0, max: 7 }),
          fc.constantFrom(1, 2, 3, 5, 16, 4096),
          (value, big, depth, size) => {
            const data = nest({ value, big, deep: nest([value, big, undefined], 3) }, depth);
            assert.deepEqual(bytesOf(data, size), Buffer.from(native(data), "utf8"));
          },
        ),
        { numRuns: 400 },
      );
    });

    it("escape strings and keys as JSON.stringify, split anywhere (lone surrogates, non-ASCII, long)", () => {
      const long = [`${"a".repeat(5000)}é${"b".repeat(5000)}`, "\u0001".repeat(3000), "中".repeat(4000)];
      for (const s of [...ADVERSARIAL, ...long]) {
        const data = nest({ [s]: s, list: [s, { [s]: [s] }], n: 1.5e-9, big: -(2n ** 70n) }, 5);
        const expected = Buffer.from(native(data), "utf8");
        for (const size of [1, 2, 3, 4, 7, 64, 1 << 20]) {
          assert.deepEqual(bytesOf(data, size), expected, `${JSON.stringify(s.slice(0, 20))} size ${size}`);
        }
      }
      fc.assert(
        fc.property(
          fc.string({ unit: "binary", maxLength: 60 }),
          fc.integer({ min: 1, max: 9 }),
          (s, size) => {
            const data = nest({ [s]: [s, s], x: s }, 6);
            assert.deepEqual(bytesOf(data, size), Buffer.from(native(data), "utf8"));
          },
        ),
        { numRuns: 500 },
      );
    });

    it("write numbers and bigints at the edges of their digit fast paths as JSON.stringify", () => {
      const edges = [
        0,
        -0,
        1,
        9,
        10,
        99,
        100,
        2 ** 31,
        2 ** 32 - 1,
        2 ** 32,
        2 ** 53 - 1,
        2 ** 53,
        -1,
        0.5,
        1e21,
        1e-7,
      ];
      const bigs = [
        0n,
        9n,
        10n,
        2n ** 53n - 1n,
        2n ** 53n,
        2n ** 53n + 1n,
        -1n,
        -(2n ** 63n),
        2n ** 64n - 1n,
      ];
      const data = { edges, bigs, mixed: nest([...edges, ...bigs], 5) };
      const expected = Buffer.from(native(data), "utf8");
      for (const size of [1, 2, 3, 5, 11, 4096])
        assert.deepEqual(bytesOf(data, size), expected, `size ${size}`);
      fc.assert(
        fc.property(
          fc.nat(),
          fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }),
          fc.integer({ min: 1, max: 6 }),
          (n, b, size) => {
            const d = [n, b, n / 7, Number(b)];
            assert.deepEqual(bytesOf(d, size), Buffer.from(native(d), "utf8"));
          },
        ),
        { numRuns: 500 },
      );
    });

    it("are handed over as filled and never reused by the writer", () => {
      const w = new JsonByteWriter(8);
      assert.ok(w.value({ a: "0123456789", b: [1, 2] }, 0));
      const first = w.take();
      assert.ok(first.length >= 2);
      const copy = Buffer.concat(first);
      w.value("z".repeat(100), 0);
      assert.deepEqual(Buffer.concat(first), copy, "earlier chunks unchanged by later writes");
      assert.equal(
        Buffer.concat([...first, ...w.end()]).toString(),
        `${JSON.stringify({ a: "0123456789", b: [1, 2] }, null, 2)}"${"z".repeat(100)}"`,
      );
      assert.equal(w.pending, 0);
      assert.throws(() => new JsonByteWriter(0), RangeError);
    });

    it("split a multi-byte character between chunks yet decode to the same text", () => {
      const data = { s: "é中🙂".repeat(50) };
      for (const size of [1, 2, 3, 5]) assert.equal(toJsonIn(data, size), native(data));
    });
  });

  describe("inspect reports of every fixture", () => {
    const fixtures = listFixtures();
    it("has fixtures", () => assert.ok(fixtures.length >= 10));
    for (const f of fixtures) {
      it(`${f.id}: same text as JSON.stringify`, async () => {
        const r = await inspectSnapshot(f.metadataDir, { stores });
        assert.equal(toJson(r), native(r));
        assert.deepEqual(bytesOf(r, 1000), Buffer.from(native(r), "utf8"));
      });
    }
  });
});
