/**
 * The Snappy framing codec: round trips, xerial's chunk choices, the real chunks Flink wrote, and
 * typed errors (with file offsets) for every kind of damage.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { CorruptSnapshotError } from "../../../src/errors.js";
import {
  CHUNK_COMPRESSED,
  CHUNK_STORED,
  decodeSnappyFramed,
  encodeSnappyFramed,
  maskedCrc32c,
  SNAPPY_STREAM_IDENTIFIER,
  SnappyFramedWriter,
} from "../../../src/formats/state/snappy.js";
import { canonicalKeyedFiles } from "./helpers.js";

const concat = (chunks: { data: Uint8Array }[]) => Buffer.concat(chunks.map((c) => c.data));

describe("Snappy framing", () => {
  it("masks CRC-32C as the framing format says (crc32c('123456789') = 0xe3069283)", () => {
    const crc = 0xe3069283;
    const masked = ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
    assert.equal(maskedCrc32c(new TextEncoder().encode("123456789")), masked);
  });

  it("round-trips any bytes, in chunks of at most the block size", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200_000 }),
        fc.integer({ min: 1, max: 65536 }),
        (data, blockSize) => {
          const enc = encodeSnappyFramed(data, { blockSize });
          assert.deepEqual(enc.subarray(0, 10), SNAPPY_STREAM_IDENTIFIER);
          const chunks = decodeSnappyFramed(enc);
          assert.ok(chunks.every((c) => c.data.length <= blockSize));
          assert.deepEqual(new Uint8Array(concat(chunks)), data);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("stores incompressible blocks and compresses compressible ones (min ratio 0.85, as xerial)", () => {
    const random = new Uint8Array(1000).map(() => Math.floor(Math.random() * 256));
    const stored = decodeSnappyFramed(encodeSnappyFramed(random));
    assert.equal(stored[0]?.type, CHUNK_STORED);
    const zeros = decodeSnappyFramed(encodeSnappyFramed(new Uint8Array(1000)));
    assert.equal(zeros[0]?.type, CHUNK_COMPRESSED);
  });

  it("writes one chunk per flush, like Flink's getPos() on a compressed stream", () => {
    const w = new SnappyFramedWriter();
    w.write(Uint8Array.of(1, 2, 3))
      .flush()
      .flush();
    w.write(Uint8Array.of(4)).flush();
    const chunks = decodeSnappyFramed(w.close());
    assert.deepEqual(
      chunks.map((c) => [...c.data]),
      [[1, 2, 3], [4]],
    );
  });

  it("decodes the key-group streams Flink wrote, with correct checksums, and re-encodes them", async () => {
    let streams = 0;
    for (const f of await canonicalKeyedFiles()) {
      for (const [start, end] of f.keyGroupSpans) {
        const raw = f.bytes.subarray(start, end);
        const chunks = decodeSnappyFramed(raw, { baseOffset: start, uri: f.id });
        assert.equal(chunks[0]?.fileOffset, start + 10, "data follows the stream identifier");
        const data = concat(chunks);
        assert.equal(data.readUInt16BE(data.length - 2), 0xffff, "ends with END_OF_KEY_GROUP_MARK");
        assert.deepEqual(concat(decodeSnappyFramed(encodeSnappyFramed(data))), data);
        streams++;
      }
    }
    assert.ok(streams >= 20, `only ${streams} streams`);
  });

  describe("damage gives CorruptSnapshotError at the chunk's file offset", () => {
    const data = new Uint8Array(5000).map((_, i) => i % 7);
    const enc = encodeSnappyFramed(data);
    const at = (mutate: (b: Uint8Array) => Uint8Array, base = 100) => {
      const b = mutate(enc.slice());
      assert.throws(
        () => decodeSnappyFramed(b, { baseOffset: base, uri: "file:///x" }),
        (e: unknown) => e instanceof CorruptSnapshotError && e.uri === "file:///x" && e.offset >= base,
      );
    };
    it("bad checksum", () =>
      at((b) => {
        b[14] = (b[14] as number) ^ 0xff;
        return b;
      }));
    it("bad compressed block", () =>
      at((b) => {
        b.fill(0xff, 18, 30);
        return b;
      }));
    it("truncated chunk", () => at((b) => b.subarray(0, b.length - 3)));
    it("reserved unskippable chunk type", () =>
      at((b) => {
        b[10] = 0x02;
        return b;
      }));
    it("missing stream identifier", () => at((b) => b.subarray(10)));
    it("bad stream identifier", () =>
      at((b) => {
        b[5] = 0;
        return b;
      }));
    it("names the exact chunk offset for a checksum error", () => {
      const b = enc.slice();
      b[14] = (b[14] as number) ^ 0xff;
      assert.throws(
        () => decodeSnappyFramed(b, { baseOffset: 1000 }),
        (e: unknown) => e instanceof CorruptSnapshotError && e.offset === 1010 && /checksum/.test(e.message),
      );
    });
    it("can skip checksum verification, as Flink does", () => {
      const b = enc.slice();
      b[14] = (b[14] as number) ^ 0xff;
      assert.deepEqual(new Uint8Array(concat(decodeSnappyFramed(b, { verifyChecksums: false }))), data);
    });
  });
});
