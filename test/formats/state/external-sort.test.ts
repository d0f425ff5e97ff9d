/**
 * `ExternalSorter`: records come out in bytewise key order whether they fit in memory or were spilled
 * in many chunks merged in several passes; records in order make one chunk; chunk files are removed;
 * a damaged chunk file is a typed error.
 */

import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { CorruptSnapshotError, InvalidArgumentError } from "../../../src/errors.js";
import { ExternalSorter, type SortRecord } from "../../../src/formats/state/external-sort.js";

const dir = mkdtempSync(join(tmpdir(), "sk-external-sort-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** `n` records with pseudo-random keys of 1 to 40 bytes (xorshift32), values naming their index. */
function randomRecords(n: number, seed: number): SortRecord[] {
  let x = seed;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  const out: SortRecord[] = [];
  for (let i = 0; i < n; i++) {
    const key = new Uint8Array(1 + (next() % 40));
    for (let k = 0; k < key.length; k++) key[k] = next() & 0xff;
    out.push({ key, value: new TextEncoder().encode(`value ${i}`) });
  }
  return out;
}

const hex = (rs: SortRecord[]) =>
  rs.map((r) => `${Buffer.from(r.key).toString("hex")}=${Buffer.from(r.value).toString()}`);

async function sortAll(
  input: SortRecord[],
  memoryBytes: number,
  fanIn?: number,
): Promise<{ out: SortRecord[]; spills: number }> {
  const s = new ExternalSorter({ memoryBytes, directory: dir, readBlock: 100, ...(fanIn ? { fanIn } : {}) });
  try {
    for (const r of input) await s.add(r);
    const out: SortRecord[] = [];
    for await (const b of s.sorted(7)) {
      assert.ok(b.length <= 7);
      out.push(...b);
    }
    return { out, spills: s.spills };
  } finally {
    await s.close();
  }
}

describe("ExternalSorter", () => {
  it("sorts in memory, in chunks merged in one pass, and in several passes alike", async () => {
    const input = randomRecords(2000, 7);
    // Equal keys may come out in any order: compare keys, and the multiset of records.
    const expected = [...input].sort((a, b) => Buffer.compare(a.key, b.key));
    for (const [memoryBytes, fanIn, minSpills] of [
      [1 << 30, undefined, 0],
      [20_000, undefined, 2],
      [2_000, 3, 40],
    ] as const) {
      const { out, spills } = await sortAll(input, memoryBytes, fanIn);
      assert.ok(spills >= minSpills, `${spills} chunks at ${memoryBytes} bytes`);
      assert.deepEqual(
        out.map((r) => Buffer.from(r.key).toString("hex")),
        expected.map((r) => Buffer.from(r.key).toString("hex")),
      );
      assert.deepEqual(hex(out).sort(), hex(input).sort());
      assert.deepEqual(readdirSync(dir), [], "chunk files removed");
    }
  });

  it("writes records that come in order as one chunk, however often the buffer fills", async () => {
    const input = randomRecords(3000, 11).sort((a, b) => Buffer.compare(a.key, b.key));
    const unique = input.filter(
      (r, i) => i === 0 || Buffer.compare(r.key, (input[i - 1] as SortRecord).key) !== 0,
    );
    const { out, spills } = await sortAll(unique, 1024);
    assert.equal(spills, 1);
    assert.deepEqual(hex(out), hex(unique));
  });

  it("refuses a bad configuration; a truncated chunk file is a CorruptSnapshotError", async () => {
    assert.throws(() => new ExternalSorter({ memoryBytes: 0, directory: dir }), InvalidArgumentError);
    assert.throws(
      () => new ExternalSorter({ memoryBytes: 10, directory: dir, fanIn: 1 }),
      InvalidArgumentError,
    );
    const s = new ExternalSorter({ memoryBytes: 500, directory: dir });
    try {
      for (const r of randomRecords(100, 3)) await s.add(r);
      const sub = readdirSync(dir)[0] as string;
      const first = join(dir, sub, (readdirSync(join(dir, sub)) as string[]).sort()[0] as string);
      truncateSync(first, 13);
      await assert.rejects(
        (async () => {
          for await (const _ of s.sorted()) {
            // drain
          }
        })(),
        (e: unknown) => e instanceof CorruptSnapshotError && /truncated chunk/.test(e.message),
      );
    } finally {
      await s.close();
    }
    assert.deepEqual(readdirSync(dir), []);
  });
});
