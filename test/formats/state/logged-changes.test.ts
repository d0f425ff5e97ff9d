/**
 * The compact store of a subtask's changelog changes (`src/formats/state/logged-changes.ts`): what is
 * added comes back, byte for byte and field for field, across arena chunks, independent of the
 * stream it was copied from.
 */

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import type { KeyedStateInfo } from "../../../src/formats/state/keyed.js";
import {
  ARENA_CHUNK_BYTES,
  LoggedChangesBuilder,
  type LoggedDataChange,
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
