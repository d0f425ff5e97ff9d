/**
 * The compact store of a subtask's changelog changes (`src/formats/state/logged-changes.ts`): what is
 * added comes back, byte for byte and field for field, across arena chunks, independent of the
 * stream it was copied from; and the records a spill writes read back as written.
 */

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { CorruptSnapshotError } from "../../../src/errors.js";
import type { KeyedStateInfo } from "../../../src/formats/state/keyed.js";
import {
  ARENA_CHUNK_BYTES,
  LoggedChangesBuilder,
  type LoggedDataChange,
  loggedChangesFromSpill,
  SPILL_HEADER_BYTES,
  spillRecordBytes,
  writeSpillRecord,
} from "../../../src/formats/state/logged-changes.js";

const stateA = { name: "a", id: 0, kind: "value" } as KeyedStateInfo;
const stateB = { name: "b", id: 1, kind: "map" } as KeyedStateInfo;

describe("LoggedChanges", () => {
  it("gives back every change added, in order, across arena chunks", () => {
    // sizes around a chunk's end: small ones, one that does not fit what is left, one larger than a chunk
    const sizes = [1, 100, ARENA_CHUNK_BYTES - 150, 200, ARENA_CHUNK_BYTES + 3, 7, 0, 5000];
    const added: LoggedDataChange[] = sizes.map((n, i) => ({
      change: { keyGroup: (i * 37) % 128, bytes: randomBytes(n), offset: i * 1_000_000_007 },
      uri: i % 3 === 0 ? "file:///dstl/one" : "s3://b/dstl/two",
      state: i % 2 === 0 ? stateA : stateB,
    }));
    const builder = new LoggedChangesBuilder();
    // the bytes are copied: the stream they came from may be reused at once
    const copies = added.map((c) => Uint8Array.from(c.change.bytes));
    for (const c of added) {
      builder.add(c);
      c.change.bytes.fill(0xee);
    }
    const log = builder.build();
    assert.equal(log.count, sizes.length);
    const back = [...log];
    assert.equal(back.length, sizes.length);
    back.forEach((c, i) => {
      const a = added[i] as LoggedDataChange;
      assert.deepEqual(Buffer.from(c.change.bytes), Buffer.from(copies[i] as Uint8Array), `bytes of ${i}`);
      assert.equal(c.change.keyGroup, a.change.keyGroup);
      assert.equal(c.change.offset, a.change.offset);
      assert.equal(c.uri, a.uri);
      assert.equal(c.state, a.state);
      assert.equal(log.keyGroup(i), a.change.keyGroup);
      assert.equal(log.state(i), a.state);
    });
  });

  it("grows past its first capacity", () => {
    const builder = new LoggedChangesBuilder();
    for (let i = 0; i < 5000; i++) {
      builder.add({
        change: { keyGroup: i % 32768, bytes: Uint8Array.of(i & 0xff, i >> 8), offset: i },
        uri: "u",
        state: stateA,
      });
    }
    const log = builder.build();
    assert.equal(log.count, 5000);
    const last = log.at(4999);
    assert.deepEqual([...last.change.bytes], [4999 & 0xff, 4999 >> 8]);
    assert.equal(last.change.offset, 4999);
    assert.equal(log.at(1234).change.keyGroup, 1234);
  });

  it("refuses an index outside the changes and a negative key group", () => {
    const builder = new LoggedChangesBuilder();
    assert.throws(
      () =>
        builder.add({
          change: { keyGroup: -1, bytes: Uint8Array.of(1), offset: 0 },
          uri: "u",
          state: stateA,
        }),
      RangeError,
    );
    builder.add({ change: { keyGroup: 3, bytes: Uint8Array.of(1), offset: 0 }, uri: "u", state: stateA });
    const log = builder.build();
    assert.throws(() => log.at(1), RangeError);
    assert.throws(() => log.at(-1), RangeError);
    assert.equal(log.at(0).change.keyGroup, 3);
    assert.equal(new LoggedChangesBuilder().build().count, 0);
  });
});

/** Spill records of `changes` laid end to end (as a part's file holds them). */
function spilled(
  changes: LoggedDataChange["change"][],
  state: (i: number) => number,
  uri: (i: number) => number,
) {
  const out = new Uint8Array(changes.reduce((n, c) => n + spillRecordBytes(c), 0));
  let at = 0;
  changes.forEach((c, i) => {
    at = writeSpillRecord(out, at, c, state(i), uri(i));
  });
  assert.equal(at, out.byteLength);
  return out;
}

describe("spill records", () => {
  it("read back as the changes written, in order", () => {
    const changes = [
      { keyGroup: 0, bytes: Uint8Array.of(1, 2, 3), offset: 0 },
      { keyGroup: 127, bytes: new Uint8Array(0), offset: 2 ** 40 + 3 },
      { keyGroup: 32767, bytes: randomBytes(70_000), offset: 12 },
    ];
    const uris = ["file:///a", "s3://b/c"];
    const bytes = spilled(
      changes,
      (i) => i % 2,
      (i) => (i + 1) % 2,
    );
    const log = loggedChangesFromSpill(bytes, [stateA, stateB], uris, "/tmp/part-0");
    assert.equal(log.count, 3);
    [...log].forEach((c, i) => {
      const w = changes[i] as (typeof changes)[number];
      assert.equal(c.change.keyGroup, w.keyGroup);
      assert.equal(c.change.offset, w.offset);
      assert.deepEqual(Buffer.from(c.change.bytes), Buffer.from(w.bytes));
      assert.equal(c.state, i % 2 === 0 ? stateA : stateB);
      assert.equal(c.uri, uris[(i + 1) % 2]);
    });
    assert.equal(loggedChangesFromSpill(new Uint8Array(0), [], [], "x").count, 0);
  });

  it("a record cut short or naming what was not spilled is a typed error with the file and offset", () => {
    const change = { keyGroup: 1, bytes: Uint8Array.of(9, 9), offset: 0 };
    const one = spilled(
      [change],
      () => 0,
      () => 0,
    );
    const two = spilled(
      [change, change],
      () => 0,
      () => 0,
    );
    assert.throws(() => writeSpillRecord(one, 1, change, 0, 0), RangeError);
    const fails = (bytes: Uint8Array, offset: number, states = [stateA]) =>
      assert.throws(
        () => loggedChangesFromSpill(bytes, states, ["u"], "/tmp/part-3"),
        (e: unknown) => e instanceof CorruptSnapshotError && e.uri === "/tmp/part-3" && e.offset === offset,
      );
    fails(two.subarray(0, two.byteLength - 1), one.byteLength); // the second's bytes cut
    fails(two.subarray(0, one.byteLength + SPILL_HEADER_BYTES - 1), one.byteLength); // its header cut
    fails(two, 0, []); // a state index past the list
  });
});
