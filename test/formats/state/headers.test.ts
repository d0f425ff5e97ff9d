/**
 * Keyed and operator state headers (KeyedBackendSerializationProxy, OperatorBackendSerializationProxy)
 * of every state file of every fixture: read, written back byte for byte, and what they say checked
 * against the job (state names, kinds, serializers) and the fixture's configuration (compression).
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CorruptSnapshotError } from "../../../src/errors.js";
import { DataInput } from "../../../src/formats/io/data-input.js";
import { DataOutput } from "../../../src/formats/io/data-output.js";
import {
  type KeyedBackendHeader,
  type OperatorBackendHeader,
  readKeyedBackendHeader,
  readOperatorBackendHeader,
  writeKeyedBackendHeader,
  writeOperatorBackendHeader,
} from "../../../src/formats/state/headers.js";
import { keyedStates } from "../../../src/formats/state/keyed.js";
import { typeNameOf } from "../../../src/formats/state/serializers/snapshots.js";
import { UnsupportedSerializerError } from "../../../src/formats/state/serializers/types.js";
import { fixtureStateFiles } from "./helpers.js";

const files = await fixtureStateFiles();

/** The keyed states of each keyed operator of the fixture job: name -> [kind, value type]. */
const JOB_KEYED: Record<string, Record<string, [string, string]>> = {
  "word-stats": {
    "word-count": ["value", "Long"],
    "word-timestamps": ["list", "List<Long>"],
    "bucket-counts": ["map", "Map<Long, TTL<Long>>"],
    "_timer_state/processing_user-timers": ["timers", "Timer<String, VoidNamespace>"],
    "_timer_state/event_user-timers": ["timers", "Timer<String, VoidNamespace>"],
  },
  "word-windows": {
    "window-contents": ["aggregating", "Long"],
    "_timer_state/processing_window-timers": ["timers", "Timer<String, TimeWindow>"],
    "_timer_state/event_window-timers": ["timers", "Timer<String, TimeWindow>"],
  },
  "rule-applier": {
    "max-ts": ["value", "Long"],
    "_timer_state/processing_user-timers": ["timers", "Timer<String, VoidNamespace>"],
    "_timer_state/event_user-timers": ["timers", "Timer<String, VoidNamespace>"],
  },
};

describe("state file headers of every fixture", () => {
  it("has keyed, meta and operator files from both lines", () => {
    for (const kind of ["keyed", "meta", "operator"]) {
      assert.ok(files.filter((f) => f.kind === kind).length >= 8, `${kind} files`);
    }
  });

  for (const f of files) {
    it(`${f.id}: reads, writes back byte-exactly, and matches the job`, () => {
      const input = new DataInput(f.bytes, f.id);
      const out = new DataOutput();
      if (f.kind === "operator") {
        const h: OperatorBackendHeader = readOperatorBackendHeader(input);
        writeOperatorBackendHeader(out, h);
        assert.equal(h.version, 6);
        assert.equal(h.compressed, f.fixture.expected.compression === true);
        const names = [...h.operatorStates, ...h.broadcastStates].map((s) => s.name).sort();
        const handleNames = (f.handle as { states: { name: string }[] }).states.map((s) => s.name).sort();
        assert.deepEqual(names, handleNames);
      } else {
        const h: KeyedBackendHeader = readKeyedBackendHeader(input);
        writeKeyedBackendHeader(out, h);
        assert.equal(h.version, 6);
        // Snapshot compression applies to canonical key-group files, never to RocksDB meta files.
        assert.equal(h.compressed, f.kind === "keyed" && f.fixture.expected.compression === true);
        assert.equal(typeNameOf(h.keySerializer), "String");
        if (f.kind === "meta") assert.equal(input.position, f.bytes.length, "a meta file is only the header");
        const uid =
          f.operator.uid ??
          f.fixture.expected.jobOperators?.find((o) => o.operatorId === f.operator.operatorId)?.uid;
        const job = JOB_KEYED[uid ?? ""];
        if (job) {
          const got = Object.fromEntries(keyedStates(h).map((s) => [s.name, [s.kind, s.value?.type]]));
          assert.deepEqual(got, job);
        }
      }
      assert.deepEqual(out.toBytes(), f.bytes.subarray(0, input.position));
    });
  }

  it("bucket-counts is marked TTL, the others not", () => {
    const f = files.find((x) => x.kind === "keyed" && x.id.includes("word-stats"));
    assert.ok(f);
    const states = keyedStates(readKeyedBackendHeader(new DataInput(f.bytes, f.id)));
    assert.deepEqual(
      states.filter((s) => s.ttl).map((s) => s.name),
      ["bucket-counts"],
    );
  });

  it("an unknown serializer snapshot class stops with its name and offset, never a misread", () => {
    const f = files.find((x) => x.kind === "keyed" && x.id.includes("word-stats"));
    assert.ok(f);
    const bytes = f.bytes.slice();
    const name = Buffer.from("LongSerializer$LongSerializerSnapshot");
    const at = Buffer.from(bytes).indexOf(name);
    assert.ok(at > 0);
    bytes[at + name.length - 1] = "X".charCodeAt(0);
    const classStart = Buffer.from(bytes).lastIndexOf(Buffer.from("org.apache"), at) - 2;
    assert.throws(
      () => readKeyedBackendHeader(new DataInput(bytes, "file:///h")),
      (e: unknown) =>
        e instanceof UnsupportedSerializerError &&
        e.className === "org.apache.flink.api.common.typeutils.base.LongSerializer$LongSerializerSnapshoX" &&
        e.offset === classStart &&
        e.uri === "file:///h",
    );
  });

  it("a truncated header is a CorruptSnapshotError at the end of the bytes", () => {
    const f = files.find((x) => x.kind === "meta");
    assert.ok(f);
    const cut = f.bytes.subarray(0, 300);
    assert.throws(
      () => readKeyedBackendHeader(new DataInput(cut, "file:///m")),
      (e: unknown) => e instanceof CorruptSnapshotError && e.uri === "file:///m" && e.offset <= 300,
    );
  });
});
