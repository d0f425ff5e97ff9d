/**
 * Whole `_metadata` files, hand-built per version (2..7): read -> expected model -> write -> same bytes,
 * plus the envelope and operator-level errors.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CorruptSnapshotError,
  InvalidArgumentError,
  NotASnapshotError,
  UnsupportedVersionError,
} from "../../../src/errors.js";
import {
  METADATA_MAGIC,
  readMetadata,
  SUPPORTED_VERSIONS,
  writeMetadata,
} from "../../../src/formats/metadata/index.js";
import type {
  CheckpointMetadata,
  FileStateHandle,
  OperatorState,
  OperatorSubtaskState,
  RelativeFileStateHandle,
} from "../../../src/formats/metadata/model.js";
import { hex, i32, i64, toHex, utf } from "./helpers.js";
import { SAVEPOINT_PROPERTIES } from "./vectors.js";

const OP_A = "0123456789abcdef0123456789abcdef";
const OP_B = "897859f6655555855a890e51483ab5e6"; // murmur3_128("a"): the OperatorID of uid "a"

const REL_HEX = `06 ${utf("f1")} ${i64(200)}`;
const REL: RelativeFileStateHandle = { kind: "RelativeFileStateHandle", relativePath: "f1", stateSize: 200n };
const FILE_HEX = `02 ${i64(80)} ${utf("file:/cp/chk-9/chan")}`;
const FILE: FileStateHandle = { kind: "FileStateHandle", filePath: "file:/cp/chk-9/chan", stateSize: 80n };

/** Subtask slots: managed operator state (tag 4) + managed keyed state (tag 7), nothing raw. */
const SLOTS_HEX = [
  i32(1), // hasManagedOperatorState
  `04 ${i32(1)} ${utf("src")} 00 ${i32(1)} ${i64(0)} ${REL_HEX}`, // OperatorStreamStateHandle
  i32(0), // hasRawOperatorState
  `07 ${i32(0)} ${i32(2)} ${i64(0)} ${i64(10)} ${REL_HEX}`, // managed keyed: KeyGroupsSavepointStateHandle
  "00", // raw keyed: null
].join(" ");
const SLOTS = {
  managedOperatorState: {
    kind: "OperatorStreamStateHandle",
    states: [{ name: "src", mode: "SPLIT_DISTRIBUTE", offsets: [0n] }],
    delegate: REL,
  },
  rawOperatorState: null,
  managedKeyedState: {
    kind: "KeyGroupsSavepointStateHandle",
    tag: 7,
    keyGroupRange: { start: 0, end: 1 },
    offsets: [0n, 10n],
    delegate: REL,
    stateHandleId: null,
  },
  rawKeyedState: null,
} as const;
/** An empty V3+ subtask body: 18 bytes. */
const EMPTY_SUBTASK_HEX = `${i32(0)} ${i32(0)} 00 00 ${i32(0)} ${i32(0)}`;
const EMPTY_SLOTS = {
  managedOperatorState: null,
  rawOperatorState: null,
  managedKeyedState: null,
  rawKeyedState: null,
};

function subtask(index: number, extra: Partial<OperatorSubtaskState> = {}): OperatorSubtaskState {
  return {
    kind: "OperatorSubtaskState",
    subtaskIndex: index,
    ...EMPTY_SLOTS,
    inputChannelState: [],
    resultSubpartitionState: [],
    ...extra,
  };
}

function roundTrip(bytes: Uint8Array, expected: CheckpointMetadata): void {
  assert.deepStrictEqual(readMetadata(bytes), expected);
  assert.equal(toHex(writeMetadata(expected)), toHex(bytes));
}

// --- V2 --------------------------------------------------------------------------------------------

const V2_HEX = [
  "4960672d", // magic
  "00000002", // version 2
  i64(5), // checkpoint id
  i32(1), // 1 master state:
  "c96b1696", //   MASTER_STATE_MAGIC_NUMBER
  i32(16), //   16 bytes follow:
  i32(1), //     master state version 1
  utf("hook"), //     name (6 bytes)
  i32(2), //     payload length
  "abcd", //     payload
  i32(1), // 1 operator:
  OP_A, //   lowerPart, upperPart
  i32(2), //   parallelism
  i32(128), //   max parallelism
  i32(1), //   former chain length (always 1)
  i32(1), //   1 subtask:
  i32(1), //     subtask index 1
  i64(-1), //     unused duration
  i32(0), //     no legacy state
  SLOTS_HEX, //     slots (no channel state in V2)
].join(" ");

const V2_MODEL: CheckpointMetadata = {
  version: 2,
  checkpointId: 5n,
  masterStates: [{ name: "hook", version: 1, bytes: hex("abcd") }],
  operatorStates: [
    {
      operatorId: OP_A,
      name: null,
      uid: null,
      parallelism: 2,
      maxParallelism: 128,
      coordinatorState: null,
      fullyFinished: false,
      subtaskStates: [subtask(1, SLOTS as unknown as Partial<OperatorSubtaskState>)],
    },
  ],
  properties: null,
};

// --- V3 --------------------------------------------------------------------------------------------

const V3_OPERATORS_HEX = [
  i32(2), // 2 operators
  // operator 1: fully finished
  OP_A,
  i32(1), // parallelism
  i32(1), // max parallelism
  "00", // coordinator state: null
  i32(-1), // -1 subtasks: fully finished
  // operator 2: coordinator state, a finished subtask, a running subtask with channel state
  OP_B,
  i32(2),
  i32(4),
  `01 ${utf("coord")} ${i32(1)} 2a`, // coordinator: ByteStreamStateHandle "coord" [0x2a]
  i32(2), // 2 subtask records:
  i32(-2), //   stored index -2: subtask 1 finished, no body
  i32(0), //   subtask 0:
  SLOTS_HEX,
  i32(1), //     1 input channel handle (ChannelStateHandleSerializerV1, no tag):
  `${i32(0)} ${i32(0)} ${i32(1)} ${i32(1)} ${i64(0)} ${i64(80)} ${FILE_HEX}`,
  i32(0), //     0 result subpartition handles
].join(" ");

const V3_OPERATORS: OperatorState[] = [
  {
    operatorId: OP_A,
    name: null,
    uid: null,
    parallelism: 1,
    maxParallelism: 1,
    coordinatorState: null,
    fullyFinished: true,
    subtaskStates: [],
  },
  {
    operatorId: OP_B,
    name: null,
    uid: null,
    parallelism: 2,
    maxParallelism: 4,
    coordinatorState: { kind: "ByteStreamStateHandle", handleName: "coord", data: hex("2a") },
    fullyFinished: false,
    subtaskStates: [
      { kind: "FinishedOperatorSubtaskState", subtaskIndex: 1 },
      subtask(0, {
        ...(SLOTS as unknown as Partial<OperatorSubtaskState>),
        inputChannelState: [
          {
            kind: "InputChannelStateHandle",
            subtaskIndex: 0,
            info: { a: 0, b: 1 },
            offsets: [0n],
            stateSize: 80n,
            delegate: FILE,
          },
        ],
      }),
    ],
  },
];

const V3_HEX = ["4960672d", "00000003", i64(9), i32(0), V3_OPERATORS_HEX].join(" ");
const V3_MODEL: CheckpointMetadata = {
  version: 3,
  checkpointId: 9n,
  masterStates: [],
  operatorStates: V3_OPERATORS,
  properties: null,
};

describe("metadata files per version", () => {
  it("exports the magic number and versions", () => {
    assert.equal(METADATA_MAGIC, 0x4960672d);
    assert.deepStrictEqual([...SUPPORTED_VERSIONS], [2, 3, 4, 5, 6, 7]);
  });

  it("V2: master state, legacy operator fields, subtask slots", () => roundTrip(hex(V2_HEX), V2_MODEL));

  it("V2: keeps non-default chain length and duration", () => {
    const bytes = hex(
      V2_HEX.replace(`${i32(128)} ${i32(1)}`, `${i32(128)} ${i32(3)}`).replace(i64(-1), i64(77)),
    );
    const op = V2_MODEL.operatorStates[0] as OperatorState;
    roundTrip(bytes, {
      ...V2_MODEL,
      operatorStates: [
        {
          ...op,
          v2ChainLength: 3,
          subtaskStates: [{ ...(op.subtaskStates[0] as OperatorSubtaskState), v2Legacy: { duration: 77n } }],
        },
      ],
    });
  });

  it("V3: fully finished operator, coordinator state, finished subtask, channel state", () =>
    roundTrip(hex(V3_HEX), V3_MODEL));

  it("V4: the V3 body plus the CheckpointProperties trailer", () => {
    const body = ["4960672d", "00000004", i64(9), i32(0), V3_OPERATORS_HEX].join(" ");
    roundTrip(hex(body, Buffer.from(SAVEPOINT_PROPERTIES).toString("hex")), {
      ...V3_MODEL,
      version: 4,
      properties: SAVEPOINT_PROPERTIES,
    });
  });

  it("V4: a null properties trailer (writeObject(null)) round-trips; writer emits it for properties null", () => {
    const bytes = hex("4960672d 00000004", i64(1), i32(0), i32(0), "aced0005 70");
    const m = readMetadata(bytes);
    assert.deepStrictEqual(m.properties, hex("aced000570"));
    assert.equal(toHex(writeMetadata({ ...m, properties: null })), toHex(bytes));
  });

  it("V5: operator name and uid precede each operator record ('' = absent)", () => {
    const bytes = hex(
      "4960672d 00000005",
      i64(3),
      i32(0),
      i32(1),
      utf("Map -> Sink"), // UTF name
      utf(""), // UTF uid: absent
      OP_B,
      i32(1),
      i32(128),
      "00", // no coordinator
      i32(1),
      i32(0),
      EMPTY_SUBTASK_HEX,
      "aced000570",
    );
    roundTrip(bytes, {
      version: 5,
      checkpointId: 3n,
      masterStates: [],
      operatorStates: [
        {
          operatorId: OP_B,
          name: "Map -> Sink",
          uid: null,
          parallelism: 1,
          maxParallelism: 128,
          coordinatorState: null,
          fullyFinished: false,
          subtaskStates: [subtask(0)],
        },
      ],
      properties: hex("aced000570"),
    });
  });

  const v6Operator = (subtaskTail: string) =>
    [
      utf(""),
      utf("my-uid"),
      OP_A,
      i32(1),
      i32(1),
      "00",
      i32(1),
      i32(0),
      `${i32(0)} ${i32(0)} 00 00`, // empty slots
      i32(1), // 1 input handle:
      `03 ${i32(0)} ${i64(80)} ${FILE_HEX} ${i32(2)} beef`, // tag 3 merged: subtask, size, delegate, blob
      i32(1), // 1 output handle:
      `02 ${i32(0)} ${i32(0)} ${i32(0)} ${i32(0)} ${i64(0)} ${FILE_HEX}`, // tag 2, V1 body without offsets
      subtaskTail,
    ].join(" ");
  const v6Subtask = subtask(0, {
    inputChannelState: [
      {
        kind: "MergedInputChannelStateHandle",
        subtaskIndex: 0,
        stateSize: 80n,
        delegate: FILE,
        serializedChannelOffsets: hex("beef"),
      },
    ],
    resultSubpartitionState: [
      {
        kind: "ResultSubpartitionStateHandle",
        subtaskIndex: 0,
        info: { a: 0, b: 0 },
        offsets: [],
        stateSize: 0n,
        delegate: FILE,
      },
    ],
  });
  const v6Op: OperatorState = {
    operatorId: OP_A,
    name: null,
    uid: "my-uid",
    parallelism: 1,
    maxParallelism: 1,
    coordinatorState: null,
    fullyFinished: false,
    subtaskStates: [v6Subtask],
  };

  it("V6: channel state with ChannelStateHandleSerializerV2 tags and merged handles", () =>
    roundTrip(hex("4960672d 00000006", i64(4), i32(0), i32(1), v6Operator(""), "aced000570"), {
      version: 6,
      checkpointId: 4n,
      masterStates: [],
      operatorStates: [v6Op],
      properties: hex("aced000570"),
    }));

  it("V7 (unreleased): optional refCheckpointId after each running subtask", () => {
    roundTrip(hex("4960672d 00000007", i64(4), i32(0), i32(1), v6Operator(`01 ${i64(2)}`), "aced000570"), {
      version: 7,
      checkpointId: 4n,
      masterStates: [],
      operatorStates: [{ ...v6Op, subtaskStates: [{ ...v6Subtask, refCheckpointId: 2n }] }],
      properties: hex("aced000570"),
    });
    roundTrip(hex("4960672d 00000007", i64(4), i32(0), i32(1), v6Operator("00"), "aced000570"), {
      version: 7,
      checkpointId: 4n,
      masterStates: [],
      operatorStates: [{ ...v6Op, subtaskStates: [{ ...v6Subtask, refCheckpointId: null }] }],
      properties: hex("aced000570"),
    });
    assert.throws(
      () => readMetadata(hex("4960672d 00000007", i64(4), i32(0), i32(1), v6Operator("02"), "aced000570")),
      /refCheckpointId marker 2/,
    );
  });
});

describe("metadata envelope errors", () => {
  it("wrong magic is NotASnapshotError naming the file", () => {
    assert.throws(() => readMetadata(hex("cafebabe 00000003"), "/x/_metadata"), NotASnapshotError);
    assert.throws(
      () => readMetadata(hex("cafebabe 00000003"), "/x/_metadata"),
      /\/x\/_metadata: Unexpected magic number 0xcafebabe/,
    );
    assert.throws(() => readMetadata(new Uint8Array(0)), NotASnapshotError);
    assert.throws(() => readMetadata(hex("00")), NotASnapshotError);
    assert.throws(
      () => readMetadata(hex("4960")),
      CorruptSnapshotError,
      "a truncated magic is a truncated file",
    );
    assert.throws(() => readMetadata(hex("4960672d 0000")), CorruptSnapshotError);
  });

  it("version 1 and unknown versions are UnsupportedVersionError", () => {
    assert.throws(
      () => readMetadata(hex("4960672d 00000001 00")),
      (e: unknown) => {
        assert.ok(e instanceof UnsupportedVersionError);
        assert.equal(e.version, 1);
        assert.match(e.message, /Flink 1\.1 \/ 1\.2\) is no longer supported/);
        return true;
      },
    );
    for (const v of [0, 8, 99, -1]) {
      assert.throws(
        () => readMetadata(hex("4960672d", i32(v))),
        (e: unknown) => {
          assert.ok(e instanceof UnsupportedVersionError);
          assert.match(
            e.message,
            /Unrecognized checkpoint version number: .*supported versions are 2, 3, 4, 5, 6, 7/,
          );
          return true;
        },
      );
    }
  });

  it("V2/V3: trailing bytes are corrupt; V4+: garbage after the properties object is corrupt", () => {
    assert.throws(() => readMetadata(hex(V3_HEX, "00")), /1 trailing bytes after the last operator state/);
    assert.throws(() => readMetadata(hex(V2_HEX, "0000")), /2 trailing bytes/);
    assert.throws(
      () => readMetadata(hex("4960672d 00000004", i64(1), i32(0), i32(0), "aced0005 70 70")),
      /trailing bytes/,
    );
    assert.throws(
      () => readMetadata(hex("4960672d 00000004", i64(1), i32(0), i32(0))),
      /end of Java serialization/,
    );
  });

  it("refuses negative and impossible counts, negative checkpoint ids", () => {
    const head = (v: number) => `4960672d ${i32(v)}`;
    assert.throws(() => readMetadata(hex(head(3), i64(-1), i32(0), i32(0))), /invalid checkpoint ID: -1/);
    assert.throws(
      () => readMetadata(hex(head(3), i64(1), i32(-1), i32(0))),
      /negative number of master states/,
    );
    assert.throws(
      () => readMetadata(hex(head(3), i64(1), i32(0), i32(-5))),
      /negative number of operator states/,
    );
    assert.throws(() => readMetadata(hex(head(3), i64(1), i32(0), i32(0x7fffffff))), /cannot fit/);
    assert.throws(() => readMetadata(hex(head(3), i64(1), i32(0x7fffffff), i32(0))), /cannot fit/);
  });

  it("refuses bad master states", () => {
    const m = (body: string) => hex("4960672d 00000003", i64(1), i32(1), body, i32(0), "00".repeat(16));
    assert.throws(() => readMetadata(m(`c96b1697 ${i32(10)}`)), /incorrect magic number/);
    assert.throws(() => readMetadata(m(`c96b1696 ${i32(0)}`)), /zero or negative length/);
    assert.throws(
      () => readMetadata(m(`c96b1696 ${i32(13)} ${i32(1)} ${utf("n")} ${i32(0)} 00 00`)),
      /trailing bytes in master state/,
    );
    assert.throws(() => readMetadata(m(`c96b1696 ${i32(11)} ${i32(1)} ${utf("n")} ${i32(5)}`)), /exceeds/);
  });

  it("refuses operator records Flink would refuse or never writes", () => {
    const op = (p: number, max: number, tail: string) =>
      hex("4960672d 00000003", i64(1), i32(0), i32(1), OP_A, i32(p), i32(max), tail);
    assert.throws(
      () => readMetadata(op(4, 2, `00 ${i32(0)}`)),
      /invalid parallelism 4 for max parallelism 2/,
    );
    assert.throws(() => readMetadata(op(-1, 2, `00 ${i32(0)}`)), /invalid parallelism/);
    assert.throws(
      () => readMetadata(op(1, 1, `01 ${utf("c")} ${i32(0)} ${i32(-1)}`)),
      /Coordinator State should be null/,
    );
    assert.throws(() => readMetadata(op(1, 1, `00 ${i32(-2)}`)), /fully finished is -1/);
    assert.throws(() => readMetadata(op(1, 1, `${REL_HEX} ${i32(0)}`)), /Expected a ByteStreamStateHandle/);
    assert.throws(
      () => readMetadata(op(1, 1, `00 ${i32(1)} ${i32(1)} ${EMPTY_SUBTASK_HEX}`)),
      /subtask index 1 outside \[0, 1\)/,
    );
    assert.throws(
      () => readMetadata(op(2, 2, `00 ${i32(2)} ${i32(0)} ${EMPTY_SUBTASK_HEX} ${i32(-1)}`)),
      /duplicate subtask index 0/,
    );
    assert.throws(
      () => readMetadata(op(1, 1, `00 ${i32(1)} ${i32(0)} ${i32(2)} ${i32(0)} 00 00 ${i32(0)} ${i32(0)}`)),
      /must be 0 or 1/,
    );
    assert.throws(
      () => readMetadata(op(1, 1, `00 ${i32(1)} ${i32(0)} ${i32(1)} 00 ${i32(0)} 00 00 ${i32(0)} ${i32(0)}`)),
      /flagged present/,
    );
  });

  it("V2: legacy (Flink <= 1.1) state is UnsupportedVersionError, negative legacy counts are corrupt", () => {
    assert.throws(
      () => readMetadata(hex(V2_HEX.replace(`${i64(-1)} ${i32(0)}`, `${i64(-1)} ${i32(1)}`))),
      UnsupportedVersionError,
    );
    assert.throws(
      () => readMetadata(hex(V2_HEX.replace(`${i64(-1)} ${i32(0)}`, `${i64(-1)} ${i32(-1)}`))),
      /negative number of legacy/,
    );
  });

  it("errors carry the file, the byte offset and the structure being read", () => {
    const bad = hex(
      V3_HEX.replace(`${i32(0)} ${i32(1)} ${i32(1)} ${i64(0)}`, `${i32(0)} ${i32(1)} ${i32(-7)} ${i64(0)}`),
    );
    assert.throws(
      () => readMetadata(bad, "s3://b/chk-9/_metadata"),
      (e: unknown) => {
        assert.ok(e instanceof CorruptSnapshotError);
        assert.equal(e.uri, "s3://b/chk-9/_metadata");
        assert.match(e.message, /negative number of channel state offsets: -7/);
        assert.match(e.path ?? "", /operator\[1\] > subtask\[0\] > inputChannelState > input channel\[0\]/);
        assert.equal(toHex(bad.subarray(e.offset, e.offset + 4)), i32(-7));
        return true;
      },
    );
  });
});

describe("writer refuses models Flink could not have written", () => {
  const base = (): CheckpointMetadata => structuredClone(V3_MODEL);
  const bad = (m: CheckpointMetadata, re: RegExp) =>
    assert.throws(
      () => writeMetadata(m),
      (e: unknown) => {
        assert.ok(e instanceof InvalidArgumentError, String(e));
        assert.match(e.message, re);
        return true;
      },
    );
  const op1 = (m: CheckpointMetadata) => m.operatorStates[1] as OperatorState;

  it("unsupported versions, negative ids, properties before V4", () => {
    bad({ ...base(), version: 1 }, /cannot write metadata version 1/);
    bad({ ...base(), checkpointId: -1n }, /non-negative/);
    bad({ ...base(), properties: hex("aced000570") }, /V3 cannot hold CheckpointProperties/);
    bad({ ...base(), version: 4, properties: hex("aced00057070") }, /trailing bytes/);
  });

  it("name/uid before V5, empty name/uid in V5+", () => {
    const m = base();
    op1(m).name = "x";
    bad(m, /cannot hold name\/uid/);
    const m5 = { ...base(), version: 5, properties: null };
    op1(m5).uid = "";
    bad(m5, /Empty string operator uid is not allowed/);
    const m5b = { ...base(), version: 5, properties: null };
    op1(m5b).name = "";
    bad(m5b, /Empty string operator name is not allowed/);
  });

  it("fully finished operators: no coordinator, no subtasks; V2 cannot hold them", () => {
    const m = base();
    op1(m).fullyFinished = true;
    bad(m, /fully finished operator has no coordinator state/);
    const m2 = base();
    op1(m2).coordinatorState = null;
    op1(m2).fullyFinished = true;
    bad(m2, /fully finished operator has no subtasks/);
    bad({ ...base(), version: 2 }, /V2 cannot hold a fully finished operator/);
  });

  it("subtask indices, parallelism, operator ids", () => {
    const m = base();
    (op1(m).subtaskStates[0] as { subtaskIndex: number }).subtaskIndex = 0;
    bad(m, /duplicate subtask index 0/);
    const m2 = base();
    op1(m2).parallelism = 5;
    bad(m2, /parallelism 5 must be between 0 and maxParallelism 4/);
    const m3 = base();
    op1(m3).operatorId = "xyz";
    bad(m3, /32 hex characters/);
    const m4 = base();
    (op1(m4).subtaskStates[1] as OperatorSubtaskState).refCheckpointId = 5n;
    bad(m4, /refCheckpointId needs metadata V7/);
  });

  it("handle-level rules: singleton-free slots, offsets, int ranges, strings", () => {
    const m = base();
    const s = op1(m).subtaskStates[1] as OperatorSubtaskState;
    (s.inputChannelState[0] as { offsets: bigint[] }).offsets.push(2n ** 63n);
    bad(m, /64-bit/);
    const m2 = base();
    (op1(m2).subtaskStates[1] as OperatorSubtaskState).managedKeyedState = {
      kind: "KeyGroupsStateHandle",
      tag: 12,
      keyGroupRange: { start: 0, end: 0 },
      offsets: [0n],
      delegate: REL,
      stateHandleId: "x".repeat(70000),
    };
    bad(m2, /longer than 65535/);
  });
});
