/**
 * `checkCanonicalKeyGroups`, the structural walk `convert` runs over the canonical files it writes: on
 * Flink's own canonical key-groups files (compressed) and on re-encodings of them (uncompressed, and with
 * tiny Snappy blocks so records straddle pieces) it counts exactly the records `readCanonicalRecords`
 * reads; damaged files are refused as `readCanonicalRecords` refuses them.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CorruptSnapshotError } from "../../../src/errors.js";
import type { KeyGroupsStateHandle } from "../../../src/formats/metadata/model.js";
import { readCanonicalRecords } from "../../../src/formats/state/canonical-records.js";
import { checkCanonicalKeyGroups } from "../../../src/formats/state/canonical-verify.js";
import {
  type CanonicalRecord,
  encodeCanonicalKeyGroups,
} from "../../../src/formats/state/canonical-writer.js";
import type { KeyedBackendHeader } from "../../../src/formats/state/headers.js";
import { readKeyedHeader } from "../../../src/formats/state/keyed.js";
import { memoryStateFile } from "../../../src/formats/state/stream.js";
import { canonicalKeyedFiles } from "./helpers.js";

async function readAll(bytes: Uint8Array, handle: KeyGroupsStateHandle, header: KeyedBackendHeader) {
  const out: CanonicalRecord[] = [];
  for await (const b of readCanonicalRecords(memoryStateFile(bytes, "file:///f"), handle, header))
    out.push(...b);
  return out;
}

async function outcome<T>(p: Promise<T>): Promise<T | Error> {
  try {
    return await p;
  } catch (err) {
    return err as Error;
  }
}

describe("readCanonicalRecords", () => {
  it("leaves the file's bytes as they are: the meta-data flag is cleared in a copy of the key", async () => {
    const files = await canonicalKeyedFiles();
    assert.ok(files.length > 0);
    for (const f of files) {
      const handle = f.handle as KeyGroupsStateHandle;
      const { header } = await readKeyedHeader(memoryStateFile(f.bytes, "file:///flink"));
      const recs = await readAll(f.bytes, handle, header);
      // Uncompressed, the stream's buffers are the in-memory file's own bytes (no copy is made).
      const h = { ...header, compressed: false };
      const out = encodeCanonicalKeyGroups(
        { header: h, keyGroupRange: handle.keyGroupRange, keyGroupPrefixBytes: 1 },
        recs,
      );
      const before = out.bytes.slice();
      const again = await readAll(out.bytes, { ...handle, offsets: out.offsets }, h);
      assert.deepEqual(out.bytes, before, f.id);
      assert.equal(again.length, recs.length, f.id);
      for (const [i, r] of again.entries()) {
        assert.deepEqual(r.key, recs[i]?.key, f.id);
        assert.equal((r.key[0] as number) & 0x80, 0, f.id);
      }
    }
  });
});

describe("checkCanonicalKeyGroups", () => {
  it("counts the records readCanonicalRecords reads, on Flink's files and re-encodings of them", async () => {
    const files = await canonicalKeyedFiles();
    assert.ok(files.length > 0);
    let total = 0;
    for (const f of files) {
      const handle = f.handle as KeyGroupsStateHandle;
      const file = memoryStateFile(f.bytes, "file:///flink");
      const { header } = await readKeyedHeader(file);
      const recs = await readAll(f.bytes, handle, header);
      const check = await checkCanonicalKeyGroups(file, handle, header);
      assert.equal(check.records, recs.length, f.id);
      assert.equal(check.keyGroups, handle.offsets.filter((o) => o > 0n).length, f.id);
      total += recs.length;
      for (const [compressed, blockSize] of [
        [false, undefined],
        [true, 7],
      ] as const) {
        const h = { ...header, compressed };
        const out = encodeCanonicalKeyGroups(
          {
            header: h,
            keyGroupRange: handle.keyGroupRange,
            keyGroupPrefixBytes: 1,
            ...(blockSize ? { snappy: { blockSize } } : {}),
          },
          recs,
        );
        const c = await checkCanonicalKeyGroups(
          memoryStateFile(out.bytes),
          { ...handle, offsets: out.offsets },
          h,
        );
        assert.equal(c.records, recs.length, `${f.id} compressed=${compressed}`);
      }
    }
    assert.ok(total > 0);
  });

  it("refuses damaged files as readCanonicalRecords does (CorruptSnapshotError with the file)", async () => {
    const f = (await canonicalKeyedFiles()).find((x) =>
      (x.handle as KeyGroupsStateHandle).offsets.some((o) => o > 0n),
    );
    assert.ok(f);
    const handle = f.handle as KeyGroupsStateHandle;
    const { header: h0 } = await readKeyedHeader(memoryStateFile(f.bytes));
    const header = { ...h0, compressed: false };
    const recs = await readAll(f.bytes, handle, h0);
    const good = encodeCanonicalKeyGroups(
      { header, keyGroupRange: handle.keyGroupRange, keyGroupPrefixBytes: 1 },
      recs,
    );
    const h = { ...handle, offsets: good.offsets };
    const first = Number(good.offsets.find((o) => o > 0n));
    const put = (b: Uint8Array, bytes: number[], at: number) => {
      b.set(bytes, at);
      return b;
    };
    const damage: [string, (b: Uint8Array) => Uint8Array][] = [
      ["state id outside the header", (b) => put(b, [0x7f, 0x00], first)],
      ["negative key length", (b) => put(b, [0xff, 0xff, 0xff, 0xff], first + 2)],
      ["key longer than the data", (b) => put(b, [0x00, 0x7f, 0xff, 0xff], first + 2)],
      ["truncated file", (b) => b.subarray(0, b.byteLength - 3)],
      ["a byte after the last end mark", (b) => Uint8Array.from([...b, 0])],
    ];
    for (const [what, hurt] of damage) {
      const bytes = hurt(Uint8Array.from(good.bytes));
      const file = memoryStateFile(bytes, "file:///damaged");
      const ours = await outcome(checkCanonicalKeyGroups(file, h, header));
      const theirs = await outcome(readAll(bytes, h, header));
      assert.ok(
        theirs instanceof CorruptSnapshotError,
        `${what}: readCanonicalRecords refuses it (${theirs})`,
      );
      assert.ok(ours instanceof CorruptSnapshotError, `${what}: ${ours}`);
      assert.equal(ours.uri, "file:///damaged");
    }
  });
});
