import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidArgumentError } from "../../src/errors.js";
import { murmur3x64_128, operatorIdFromUid, parseOperatorId, toHex } from "../../src/formats/operator-id.js";
import { listFixtures } from "../helpers/fixtures.js";

describe("operatorIdFromUid", () => {
  // Guava 31.1 Hashing.murmur3_128(0).hashString(uid, UTF_8).asBytes(), as Flink's StreamGraphHasherV2
  // uses it (vectors from shared/reference: FLINK-20376 and a run of Debian's libguava-java).
  const vectors: [string, string][] = [
    ["", "00000000000000000000000000000000"],
    ["a", "897859f6655555855a890e51483ab5e6"],
    ["b", "eed1d3b157a9987ae9944e541e132efa"],
    ["c", "d7741f4a6cdf388e747557749a0f0d21"],
    ["z", "936222da3bb558848f700bb01edb34c0"],
    ["uid", "0e1febe90327d1cea326114660ec1de8"],
    ["my-operator-uid", "4a0e6dd79906c200056e3630371c5f92"],
  ];
  for (const [uid, id] of vectors) {
    it(`hashes ${JSON.stringify(uid)} like Flink`, () => {
      assert.equal(operatorIdFromUid(uid), id);
    });
  }

  it("covers every tail length and more than one block", () => {
    // Each length 0..40 exercises a different tail branch; the hashes must all differ and be stable.
    const seen = new Set<string>();
    for (let n = 0; n <= 40; n++) {
      const h = toHex(murmur3x64_128(new Uint8Array(n).map((_, i) => i + 1)));
      assert.equal(h.length, 32);
      seen.add(h);
    }
    assert.equal(seen.size, 41);
  });

  it("hashes the UTF-8 bytes, not UTF-16 code units", () => {
    const viaBytes = toHex(murmur3x64_128(new TextEncoder().encode("Zähler-€-😀")));
    assert.equal(operatorIdFromUid("Zähler-€-😀"), viaBytes);
    assert.notEqual(operatorIdFromUid("Zähler"), operatorIdFromUid("Zahler"));
  });
});

describe("parseOperatorId", () => {
  it("normalises hex to lower case", () => {
    assert.equal(parseOperatorId("897859F6655555855A890E51483AB5E6"), "897859f6655555855a890e51483ab5e6");
  });
  it("refuses anything else", () => {
    assert.throws(() => parseOperatorId("xyz"), InvalidArgumentError);
    assert.throws(() => parseOperatorId("897859f6655555855a890e51483ab5e"), InvalidArgumentError);
  });
});

describe("operatorIdFromUid against the jobs the harness ran", () => {
  // The harness records, from each job's JobGraph, the OperatorID Flink gave every operator it set a
  // uid on. Our hash must agree with real Flink on all of them.
  const pairs = new Map<string, string>();
  for (const f of listFixtures()) {
    for (const j of f.expected.jobOperators ?? [])
      if (j.uid) pairs.set(`${f.expected.flinkVersion} ${j.uid}`, j.operatorId);
  }
  it("has uids to check", () => {
    assert.ok(pairs.size > 0);
  });
  for (const [key, id] of pairs) {
    it(`Flink ${key}`, () => {
      assert.equal(operatorIdFromUid(key.slice(key.indexOf(" ") + 1)), id);
    });
  }
});
