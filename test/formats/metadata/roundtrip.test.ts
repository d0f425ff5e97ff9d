/**
 * Properties over whole files:
 *  - random valid models of every version survive write -> read -> write unchanged;
 *  - every real fixture round-trips byte for byte and fails typed at every truncation;
 *  - mutated files (bit flips, insertions, deletions, extreme ints) either parse -- and then write
 *    back to exactly the mutated bytes -- or throw one of the typed read errors, never anything else.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import fc from "fast-check";
import { DataInput } from "../../../src/formats/io/data-input.js";
import { readMetadata, writeMetadata } from "../../../src/formats/metadata/index.js";
import {
  listChangelogOpsFixtures,
  listClaimNativeFixtures,
  listEntropyFixtures,
  listUnalignedFixtures,
} from "../../helpers/fixtures.js";
import { anyMetadata, metadata } from "./arbitraries.js";
import { expectTypedReadError, isTypedReadError, listFixtures, toHex } from "./helpers.js";

const fixtures = listFixtures();

describe("random models", () => {
  it("write -> read gives the model back, and writing it again gives the same bytes", () => {
    fc.assert(
      fc.property(anyMetadata, (m) => {
        const bytes = writeMetadata(m);
        const back = readMetadata(bytes);
        assert.deepStrictEqual(back, structuredClone(m)); // fast-check records have null prototypes
        assert.equal(toHex(writeMetadata(back)), toHex(bytes));
      }),
      { numRuns: 300 },
    );
  });
});

describe("real fixtures of the other families (changelog-ops, claim-native, entropy, unaligned)", () => {
  const others = [
    ...listChangelogOpsFixtures(),
    ...listClaimNativeFixtures(),
    ...listEntropyFixtures(),
    ...listUnalignedFixtures(),
  ];
  it("there are some", () => assert.ok(others.length >= 12, `${others.length}`));
  for (const f of others) {
    it(`${f.id} (${f.caseDir.split("/fixtures/")[1]?.split("/")[0]}): writeMetadata(readMetadata(bytes)) equals the file`, () => {
      const bytes = readFileSync(f.metadataFile);
      assert.equal(toHex(writeMetadata(readMetadata(bytes, f.metadataFile))), toHex(bytes));
    });
  }
});

describe("real fixtures", () => {
  if (fixtures.length === 0) {
    it("no fixtures generated yet (fixtures/flink-*/*/expected.json)", { skip: true }, () => {});
  }
  for (const f of fixtures) {
    it(`${f.name}: writeMetadata(readMetadata(bytes)) equals the file`, () => {
      const m = readMetadata(f.bytes, f.metadataFile);
      assert.equal(toHex(writeMetadata(m)), toHex(f.bytes));
    });

    it(`${f.name}: every truncation throws a typed error`, () => {
      const offsets = process.env.FULL_TRUNCATION
        ? Array.from({ length: f.bytes.length }, (_, n) => n)
        : truncationOffsets(f.bytes);
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = 0; // thousands of expected errors: skip stack capture
      try {
        for (const n of offsets) {
          expectTypedReadError(
            () => readMetadata(f.bytes.subarray(0, n), f.metadataFile),
            `${f.name} cut at ${n}`,
          );
        }
      } finally {
        Error.stackTraceLimit = limit;
      }
    });
  }
});

/**
 * The lengths to cut a file at: every length from 0 to size-1, except deep inside long runs of
 * uniform data: raw byte arrays (inline state, long strings) and arrays of longs (key-group and
 * state offsets). A cut anywhere strictly inside such a run fails in the same `readFully(len)` call,
 * or in the same loop of `readLong()`s, so there we take the first and last 8 positions and every
 * 61st in between. The runs come from one instrumented parse of the whole file. The properties
 * trailer and master state blocks are parsed further, so they are never skipped.
 * `FULL_TRUNCATION=1 npm test` cuts at every length without exception (about 20 s for the fixtures).
 */
function truncationOffsets(bytes: Uint8Array): number[] {
  const runs: [number, number][] = [];
  const proto = DataInput.prototype;
  const { readFully, readLong } = proto;
  let longRun: [number, number] | null = null;
  const closeLongRun = () => {
    if (longRun && longRun[1] >= 32) runs.push(longRun);
    longRun = null;
  };
  proto.readFully = function (this: DataInput, n: number, what?: string) {
    closeLongRun();
    const start = this.fileOffset;
    const out = readFully.call(this, n, what);
    if (n >= 32 && what !== "CheckpointProperties" && what !== "master state bytes") runs.push([start, n]);
    return out;
  };
  proto.readLong = function (this: DataInput) {
    const start = this.fileOffset;
    if (longRun && longRun[0] + longRun[1] === start) longRun[1] += 8;
    else {
      closeLongRun();
      longRun = [start, 8];
    }
    return readLong.call(this);
  };
  try {
    readMetadata(bytes);
    closeLongRun();
  } finally {
    proto.readFully = readFully;
    proto.readLong = readLong;
  }
  const skip = new Uint8Array(bytes.length);
  for (const [start, n] of runs) {
    for (let i = start + 8; i < start + n - 8; i++) if ((i - start) % 61 !== 0) skip[i] = 1;
  }
  const out: number[] = [];
  for (let n = 0; n < bytes.length; n++) if (!skip[n]) out.push(n);
  return out;
}

/** Files to mutate: every fixture plus a few generated files of every version. */
function corpus(): { name: string; bytes: Uint8Array }[] {
  const out = fixtures.map((f) => ({ name: f.name, bytes: f.bytes }));
  for (const v of [2, 3, 4, 5, 6, 7]) {
    fc.sample(metadata(v), { numRuns: 4, seed: 42 + v }).forEach((m, i) => {
      out.push({ name: `generated V${v} #${i}`, bytes: writeMetadata(m) });
    });
  }
  return out;
}

const EXTREME_INTS = [0, -1, 1, 0x7fffffff, -0x80000000, 0x10000, 0xffff, 2, 3, 16, 17];

type Mutation =
  | { op: "flip"; at: number; bit: number }
  | { op: "insert"; at: number; data: Uint8Array }
  | { op: "delete"; at: number; len: number }
  | { op: "int"; at: number; value: number }
  | { op: "long"; at: number; value: bigint }
  | { op: "byte"; at: number; value: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({
    op: fc.constant("insert" as const),
    at: fc.nat(),
    data: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({ op: fc.constant("delete" as const), at: fc.nat(), len: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ op: fc.constant("int" as const), at: fc.nat(), value: fc.constantFrom(...EXTREME_INTS) }),
  fc.record({
    op: fc.constant("long" as const),
    at: fc.nat(),
    value: fc.constantFrom(0n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 0x7fffffffn),
  }),
  fc.record({ op: fc.constant("byte" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
);

function apply(bytes: Uint8Array, m: Mutation): Uint8Array {
  const at = bytes.length === 0 ? 0 : m.at % bytes.length;
  const b = Buffer.from(bytes);
  switch (m.op) {
    case "flip":
      b[at] = (b[at] as number) ^ (1 << m.bit);
      return new Uint8Array(b);
    case "insert":
      return new Uint8Array(Buffer.concat([b.subarray(0, at), m.data, b.subarray(at)]));
    case "delete":
      return new Uint8Array(Buffer.concat([b.subarray(0, at), b.subarray(at + m.len)]));
    case "int":
      if (at + 4 <= b.length) b.writeInt32BE(m.value | 0, at);
      return new Uint8Array(b);
    case "long":
      if (at + 8 <= b.length) b.writeBigInt64BE(m.value, at);
      return new Uint8Array(b);
    case "byte":
      b[at] = m.value;
      return new Uint8Array(b);
  }
}

describe("mutated files", () => {
  const files = corpus();
  it(`parse or throw typed errors; what parses writes back byte-identical (${files.length} files)`, () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: files.length - 1 }),
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        (i, ms) => {
          const file = files[i] as { name: string; bytes: Uint8Array };
          let bytes = file.bytes;
          for (const m of ms) bytes = apply(bytes, m);
          let parsed: ReturnType<typeof readMetadata>;
          try {
            parsed = readMetadata(bytes, file.name);
          } catch (e) {
            if (isTypedReadError(e)) return;
            throw e;
          }
          assert.equal(toHex(writeMetadata(parsed)), toHex(bytes), "accepted bytes must round-trip exactly");
        },
      ),
      { numRuns: 3000 },
    );
  });
});
