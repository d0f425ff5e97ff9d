/**
 * Hand-built byte vectors for every state-handle kind: read -> expected model -> write -> same bytes.
 * Layouts as in Flink's MetadataV2V3SerializerBase and ChannelStateHandleSerializerV1/V2.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CorruptSnapshotError, InvalidArgumentError } from "../../../src/errors.js";
import {
  readInputChannelStateHandles,
  readResultSubpartitionStateHandles,
  writeInputChannelStateHandles,
  writeResultSubpartitionStateHandles,
} from "../../../src/formats/metadata/channel-handles.js";
import { readKeyedStateHandle, writeKeyedStateHandle } from "../../../src/formats/metadata/keyed-handles.js";
import type {
  ChannelStateHandleBody,
  FileStateHandle,
  InputChannelStateHandle,
  KeyedStateHandle,
  OperatorStateHandle,
  RelativeFileStateHandle,
  ResultSubpartitionStateHandle,
  StreamStateHandle,
} from "../../../src/formats/metadata/model.js";
import {
  readOperatorStateHandle,
  writeOperatorStateHandle,
} from "../../../src/formats/metadata/operator-handles.js";
import {
  readStreamStateHandle,
  writeStreamStateHandle,
} from "../../../src/formats/metadata/stream-handles.js";
import {
  ascii,
  assertRoundTrip,
  hex,
  i32,
  i64,
  readAll,
  utf,
  type VersionOrLayout,
  writeAll,
} from "./helpers.js";

const enc = (s: string) => new TextEncoder().encode(s);
const toHexOf = (b: Uint8Array) => Buffer.from(b).toString("hex");
const FLINK_111 = { version: 3, legacyLayout: "flink111" } as const;
const FLINK_114 = { version: 3, legacyLayout: "flink114" } as const;

// A relative file handle used as a delegate in many vectors: tag 6, UTF "f1", long 200.
const REL_HEX = `06 ${utf("f1")} ${i64(200)}`;
const REL: RelativeFileStateHandle = { kind: "RelativeFileStateHandle", relativePath: "f1", stateSize: 200n };
// An absolute file handle: tag 2, long size 100, UTF path.
const FILE_HEX = `02 ${i64(100)} ${utf("file:/tmp/cp/shared/abc")}`;
const FILE: FileStateHandle = {
  kind: "FileStateHandle",
  filePath: "file:/tmp/cp/shared/abc",
  stateSize: 100n,
};

const stream = (bytes: Uint8Array, expected: StreamStateHandle | null) =>
  assertRoundTrip(bytes, expected, readStreamStateHandle, writeStreamStateHandle);
const keyed = (bytes: Uint8Array, expected: KeyedStateHandle | null, version: VersionOrLayout = 4) =>
  assertRoundTrip(bytes, expected, readKeyedStateHandle, writeKeyedStateHandle, version);
const operator = (bytes: Uint8Array, expected: OperatorStateHandle | null) =>
  assertRoundTrip(bytes, expected, readOperatorStateHandle, writeOperatorStateHandle);

describe("stream state handles", () => {
  it("tag 0: null", () => stream(hex("00"), null));

  it("tag 1: ByteStreamStateHandle (UTF name, int length, bytes)", () =>
    stream(
      hex(
        "01", // tag BYTE_STREAM_STATE_HANDLE
        "0006", // UTF length 6
        ascii("handle"), // "handle"
        "00000003", // int data length 3
        "616263", // "abc"
      ),
      { kind: "ByteStreamStateHandle", handleName: "handle", data: enc("abc") },
    ));

  it("tag 2: FileStateHandle (size first, then path)", () =>
    stream(
      hex(
        "02", // tag FILE_STREAM_STATE_HANDLE
        "0000000000000064", // long stateSize 100
        utf("file:/tmp/cp/shared/abc"), // UTF path
      ),
      FILE,
    ));

  it("tag 6: RelativeFileStateHandle (path first, then size)", () =>
    stream(
      hex(
        "06", // tag RELATIVE_STREAM_STATE_HANDLE
        "0002 6631", // UTF "f1"
        "00000000000000c8", // long stateSize 200
      ),
      REL,
    ));

  it("tag 3: KeyGroupsStateHandle as a stream handle (no id)", () =>
    stream(
      hex(
        "03", // tag KEY_GROUPS_HANDLE
        "00000005", // int start key group 5
        "00000002", // int number of key groups 2
        "0000000000000000", // long offset of key group 5
        "0000000000000064", // long offset of key group 6
        REL_HEX, // delegate
      ),
      {
        kind: "KeyGroupsStateHandle",
        tag: 3,
        keyGroupRange: { start: 5, end: 6 },
        offsets: [0n, 100n],
        delegate: REL,
        stateHandleId: null,
      },
    ));

  it("tag 15: SegmentFileStateHandle", () =>
    stream(
      hex(
        "0f", // tag SEGMENT_FILE_HANDLE
        i64(10), // long startPos
        i64(20), // long stateSize
        "00000001", // int scope ordinal 1 = SHARED
        utf("file:/tmp/cp/shared/op_0_1_/uuid"), // UTF physical file path
        utf("logical-1"), // UTF logical file id
      ),
      {
        kind: "SegmentFileStateHandle",
        startPos: 10n,
        stateSize: 20n,
        scope: 1,
        physicalFilePath: "file:/tmp/cp/shared/op_0_1_/uuid",
        logicalFileId: "logical-1",
      },
    ));

  it("tag 16: EmptySegmentFileStateHandle", () => stream(hex("10"), { kind: "EmptySegmentFileStateHandle" }));

  it("keeps non-ASCII names in modified UTF-8", () =>
    stream(hex("06", "0006", "c080", "e282ac", "61", i64(1)), {
      kind: "RelativeFileStateHandle",
      relativePath: "\0€a",
      stateSize: 1n,
    }));

  it("refuses unknown tags, bad scopes, overlong UTF-8", () => {
    for (const bad of [hex("04"), hex("05"), hex("07"), hex("11"), hex("ff")]) {
      assert.throws(() => readAll(bad, readStreamStateHandle), CorruptSnapshotError);
    }
    assert.throws(
      () => readAll(hex("0f", i64(0), i64(0), i32(2), utf("p"), utf("i")), readStreamStateHandle),
      /Scope/,
    );
    // "a" encoded as the overlong 2-byte sequence C1 A1: Java's readUTF would accept it; Flink never writes it
    assert.throws(() => readAll(hex("06", "0002", "c1a1", i64(1)), readStreamStateHandle), /non-canonical/);
  });

  it("refuses to write key-group handles that would not read back as themselves", () => {
    const kg: StreamStateHandle = {
      kind: "KeyGroupsStateHandle",
      tag: 12,
      keyGroupRange: { start: 0, end: 0 },
      offsets: [0n],
      delegate: REL,
      stateHandleId: "x",
    };
    assert.throws(() => writeAll(kg, writeStreamStateHandle), InvalidArgumentError);
  });
});

describe("keyed state handles", () => {
  const kgBody = (start: number, offsets: bigint[]) =>
    `${i32(start)} ${i32(offsets.length)} ${offsets.map((o) => i64(o)).join(" ")} ${REL_HEX}`;

  it("tag 0: null", () => keyed(hex("00"), null));

  it("tag 3: legacy KeyGroupsStateHandle (no id)", () =>
    keyed(hex("03", kgBody(0, [0n, 10n])), {
      kind: "KeyGroupsStateHandle",
      tag: 3,
      keyGroupRange: { start: 0, end: 1 },
      offsets: [0n, 10n],
      delegate: REL,
      stateHandleId: null,
    }));

  it("tag 12: KeyGroupsStateHandle with a state handle id", () =>
    keyed(
      hex(
        "0c", // tag KEY_GROUPS_HANDLE_V2
        "00000040", // start 64
        "00000001", // 1 key group
        "0000000000000000", // offset of key group 64
        REL_HEX, // delegate
        utf("8f5c1e7a-id"), // UTF stateHandleId
      ),
      {
        kind: "KeyGroupsStateHandle",
        tag: 12,
        keyGroupRange: { start: 64, end: 64 },
        offsets: [0n],
        delegate: REL,
        stateHandleId: "8f5c1e7a-id",
      },
    ));

  it("tag 7: KeyGroupsSavepointStateHandle (canonical savepoint, no id)", () =>
    keyed(hex("07", kgBody(0, [0n, 5n, 9n])), {
      kind: "KeyGroupsSavepointStateHandle",
      tag: 7,
      keyGroupRange: { start: 0, end: 2 },
      offsets: [0n, 5n, 9n],
      delegate: REL,
      stateHandleId: null,
    }));

  it("empty key-group range (Flink writes start 0, count 0)", () =>
    keyed(hex("0c", i32(0), i32(0), REL_HEX, utf("id")), {
      kind: "KeyGroupsStateHandle",
      tag: 12,
      keyGroupRange: { start: 0, end: -1 },
      offsets: [],
      delegate: REL,
      stateHandleId: "id",
    }));

  it("tag 5: legacy IncrementalRemoteKeyedStateHandle (no checkpointed size, no id)", () =>
    keyed(
      hex(
        "05", // tag INCREMENTAL_KEY_GROUPS_HANDLE
        i64(7), // long checkpointId
        utf("backend-1"), // UTF backend id (not a UUID: pre FLINK-6964)
        i32(0), // start
        i32(128), // 128 key groups
        "00", // meta state handle: null
        i32(1), // 1 shared entry
        utf("000001.sst"), // local path
        FILE_HEX, // handle
        i32(0), // 0 private entries
      ),
      {
        kind: "IncrementalRemoteKeyedStateHandle",
        tag: 5,
        checkpointId: 7n,
        backendIdentifier: "backend-1",
        keyGroupRange: { start: 0, end: 127 },
        checkpointedSize: null,
        metaStateHandle: null,
        sharedState: [{ localPath: "000001.sst", handle: FILE }],
        privateState: [],
        stateHandleId: null,
      },
    ));

  it("tag 11: IncrementalRemoteKeyedStateHandle", () =>
    keyed(
      hex(
        "0b", // tag INCREMENTAL_KEY_GROUPS_HANDLE_V2
        i64(3), // long checkpointId
        utf("0b7e2a8c-1111-2222-3333-444455556666"), // UTF backend UUID
        i32(64), // start
        i32(64), // 64 key groups
        i64(4096), // long checkpointedSize
        REL_HEX, // meta state handle
        i32(1), // shared: 1 entry
        utf("000009.sst"),
        FILE_HEX,
        i32(1), // private: 1 entry
        utf("MANIFEST-000003"),
        `01 ${utf("m")} ${i32(2)} 0102`, // inline ByteStreamStateHandle
        utf("handle-id"), // UTF stateHandleId
      ),
      {
        kind: "IncrementalRemoteKeyedStateHandle",
        tag: 11,
        checkpointId: 3n,
        backendIdentifier: "0b7e2a8c-1111-2222-3333-444455556666",
        keyGroupRange: { start: 64, end: 127 },
        checkpointedSize: 4096n,
        metaStateHandle: REL,
        sharedState: [{ localPath: "000009.sst", handle: FILE }],
        privateState: [
          {
            localPath: "MANIFEST-000003",
            handle: { kind: "ByteStreamStateHandle", handleName: "m", data: hex("0102") },
          },
        ],
        stateHandleId: "handle-id",
      },
    ));

  // Changelog handles, Flink 1.15+ bodies (V4+)
  const inMemHex = `09 ${i32(0)} ${i32(2)} ${i64(1)} ${i64(5)} ${i32(2)} ${i32(0)} ${i32(2)} abcd ${i32(-1)} ${i32(0)} ${utf("mem-id")}`;
  const inMem: KeyedStateHandle = {
    kind: "InMemoryChangelogStateHandle",
    keyGroupRange: { start: 0, end: 1 },
    from: 1n,
    to: 5n,
    changes: [
      { keyGroup: 0, data: hex("abcd") },
      { keyGroup: -1, data: new Uint8Array(0) }, // META_KEY_GROUP
    ],
    stateHandleId: "mem-id",
  };
  const fileIncHex = `0d ${i32(0)} ${i32(2)} ${i32(1)} ${i64(8)} ${FILE_HEX} ${i64(64)} ${i64(32)} ${utf("dstl-id")} ${utf("filesystem")}`;
  const fileInc: KeyedStateHandle = {
    kind: "ChangelogStateHandleStreamImpl",
    tag: 13,
    keyGroupRange: { start: 0, end: 1 },
    handlesAndOffsets: [{ offset: 8n, handle: FILE }],
    size: 64n,
    checkpointedSize: 32n,
    stateHandleId: "dstl-id",
    storageIdentifier: "filesystem",
  };

  it("tag 9: InMemoryChangelogStateHandle", () => keyed(hex(inMemHex), inMem));

  it("tag 13: ChangelogStateHandleStreamImpl (offset before handle, storage id)", () =>
    keyed(hex(fileIncHex), fileInc));

  it("tag 10: ChangelogStateHandleStreamImpl without storage id (V4+ body)", () =>
    keyed(hex("0a", i32(0), i32(2), i32(1), i64(8), FILE_HEX, i64(64), i64(32), utf("dstl-id")), {
      ...(fileInc as object),
      tag: 10,
      storageIdentifier: null,
    } as KeyedStateHandle));

  it("tag 14: ChangelogStateBackendHandle nesting materialized and changelog parts", () =>
    keyed(
      hex(
        "0e", // tag CHANGELOG_HANDLE_V2
        i32(0), // start
        i32(2), // 2 key groups
        i64(500), // long checkpointedSize
        i32(1), // 1 materialized handle
        "0c",
        kgBody(0, [0n, 1n]),
        utf("mat-id"),
        i32(2), // 2 non-materialized handles
        inMemHex,
        fileIncHex,
        i64(3), // long materializationId
        i64(4), // long checkpointId
        utf("cl-id"), // UTF stateHandleId
      ),
      {
        kind: "ChangelogStateBackendHandle",
        tag: 14,
        keyGroupRange: { start: 0, end: 1 },
        checkpointedSize: 500n,
        materialized: [
          {
            kind: "KeyGroupsStateHandle",
            tag: 12,
            keyGroupRange: { start: 0, end: 1 },
            offsets: [0n, 1n],
            delegate: REL,
            stateHandleId: "mat-id",
          },
        ],
        nonMaterialized: [inMem, fileInc],
        materializationId: 3n,
        checkpointId: 4n,
        stateHandleId: "cl-id",
      },
    ));

  it("tag 8: ChangelogStateBackendHandle without checkpoint id (V4+ body)", () =>
    keyed(hex("08", i32(0), i32(1), i64(9), i32(0), i32(0), i64(2), utf("cl")), {
      kind: "ChangelogStateBackendHandle",
      tag: 8,
      keyGroupRange: { start: 0, end: 0 },
      checkpointedSize: 9n,
      materialized: [],
      nonMaterialized: [],
      materializationId: 2n,
      checkpointId: null,
      stateHandleId: "cl",
    }));

  it("tags 8, 9, 10 with the short Flink 1.14 bodies (V3, Flink 1.14 layout): flink114Body", () => {
    // tag 8, 1.14: start, count, materialized list, non-materialized list, nothing else
    keyed(
      hex(
        "08",
        i32(0),
        i32(1),
        i32(0), // 0 materialized
        i32(2), // 2 non-materialized:
        `09 ${i32(0)} ${i32(1)} ${i64(0)} ${i64(1)} ${i32(0)}`, // tag 9, 1.14: no id
        `0a ${i32(0)} ${i32(1)} ${i32(0)} ${i64(0)}`, // tag 10, 1.14: ends after long size
      ),
      {
        kind: "ChangelogStateBackendHandle",
        tag: 8,
        keyGroupRange: { start: 0, end: 0 },
        checkpointedSize: -1n,
        materialized: [],
        nonMaterialized: [
          {
            kind: "InMemoryChangelogStateHandle",
            keyGroupRange: { start: 0, end: 0 },
            from: 0n,
            to: 1n,
            changes: [],
            stateHandleId: "",
            flink114Body: true,
          },
          {
            kind: "ChangelogStateHandleStreamImpl",
            tag: 10,
            keyGroupRange: { start: 0, end: 0 },
            handlesAndOffsets: [],
            size: 0n,
            checkpointedSize: -1n,
            stateHandleId: "",
            storageIdentifier: null,
            flink114Body: true,
          },
        ],
        materializationId: -1n,
        checkpointId: null,
        stateHandleId: "",
        flink114Body: true,
      },
      FLINK_114,
    );
  });

  it("tags 8, 9, 10 in a V3 file read in the current layout have the Flink 1.15 bodies", () =>
    keyed(
      hex(
        `09 ${i32(0)} ${i32(1)} ${i64(0)} ${i64(1)} ${i32(0)} ${utf("id")}`, // tag 9 with its id
      ),
      {
        kind: "InMemoryChangelogStateHandle",
        keyGroupRange: { start: 0, end: 0 },
        from: 0n,
        to: 1n,
        changes: [],
        stateHandleId: "id",
      },
      3,
    ));

  it("the Flink 1.14 layout refuses tags 13/14; the Flink 1.11 layout refuses every changelog tag", () => {
    const tag13 = hex(`0d ${i32(0)} ${i32(1)} ${i32(0)} ${i64(0)} ${i64(0)} ${utf("id")} ${utf("fs")}`);
    assert.equal(readAll(tag13, readKeyedStateHandle, 3)?.kind, "ChangelogStateHandleStreamImpl");
    assert.throws(
      () => readAll(tag13, readKeyedStateHandle, FLINK_114),
      /tag 13 \(Flink 1\.16\+\) in the Flink 1\.14 layout/,
    );
    assert.throws(
      () =>
        readAll(hex(`09 ${i32(0)} ${i32(1)} ${i64(0)} ${i64(1)} ${i32(0)}`), readKeyedStateHandle, FLINK_111),
      (e: unknown) =>
        e instanceof CorruptSnapshotError && /tag 9\) in the Flink 1\.11 layout/.test(e.message),
    );
  });

  it("writes the Flink 1.14 bodies only in V3, only for tags 8/9/10 with the placeholders", () => {
    const inMem: KeyedStateHandle = {
      kind: "InMemoryChangelogStateHandle",
      keyGroupRange: { start: 0, end: 0 },
      from: 0n,
      to: 1n,
      changes: [],
      stateHandleId: "",
      flink114Body: true,
    };
    assert.equal(
      toHexOf(writeAll(inMem, writeKeyedStateHandle, 3)),
      `09${i32(0)}${i32(1)}${i64(0)}${i64(1)}${i32(0)}`,
    );
    assert.throws(() => writeAll(inMem, writeKeyedStateHandle, 4), /exist only in metadata V3, not V4/);
    assert.throws(
      () => writeAll({ ...inMem, stateHandleId: "x" }, writeKeyedStateHandle, 3),
      /must hold the placeholders/,
    );
    const stream13: KeyedStateHandle = {
      kind: "ChangelogStateHandleStreamImpl",
      tag: 13,
      keyGroupRange: { start: 0, end: 0 },
      handlesAndOffsets: [],
      size: 0n,
      checkpointedSize: -1n,
      stateHandleId: "",
      storageIdentifier: "fs",
      flink114Body: true,
    };
    assert.throws(() => writeAll(stream13, writeKeyedStateHandle, 3), /tag 13 has no Flink 1\.14 body/);
    const backend: KeyedStateHandle = {
      kind: "ChangelogStateBackendHandle",
      tag: 8,
      keyGroupRange: { start: 0, end: 0 },
      checkpointedSize: 7n,
      materialized: [],
      nonMaterialized: [],
      materializationId: -1n,
      checkpointId: null,
      stateHandleId: "",
      flink114Body: true,
    };
    assert.throws(() => writeAll(backend, writeKeyedStateHandle, 3), /must hold the placeholders/);
    // one handle with the short body and one with the long body in one file (the same WriteContext)
    const { flink114Body: _, ...inMemLong } = inMem;
    assert.throws(
      () =>
        writeAll(
          {
            ...backend,
            checkpointedSize: -1n,
            nonMaterialized: [inMem, { ...inMemLong, stateHandleId: "id" }],
          },
          writeKeyedStateHandle,
          3,
        ),
      /mixes changelog handles with Flink 1\.14 bodies/,
    );
  });

  it("refuses nulls and non-changelog handles inside changelog handles", () => {
    const nullMat = hex("0e", i32(0), i32(1), i64(0), i32(1), "00", i32(0), i64(0), i64(0), utf("x"));
    assert.throws(() => readAll(nullMat, readKeyedStateHandle), /null keyed state handle/);
    const kgAsDelta = hex(
      "0e",
      i32(0),
      i32(1),
      i64(0),
      i32(0),
      i32(1),
      "0c",
      kgBody(0, [0n]),
      utf("i"),
      i64(0),
      i64(0),
      utf("x"),
    );
    assert.throws(() => readAll(kgAsDelta, readKeyedStateHandle), /must be a ChangelogStateHandle/);
  });

  it("refuses unknown tags, negative counts, mismatched writer fields", () => {
    for (const t of ["01", "02", "04", "06", "0f", "10", "11", "12", "7f", "80"]) {
      assert.throws(() => readAll(hex(t), readKeyedStateHandle), CorruptSnapshotError, `tag ${t}`);
    }
    assert.throws(
      () => readAll(hex("0c", i32(0), i32(-1)), readKeyedStateHandle),
      /negative number of key groups/,
    );
    assert.throws(() => readAll(hex("0c", i32(-3), i32(2)), readKeyedStateHandle), /invalid key-group range/);
    assert.throws(
      () =>
        writeAll(
          {
            kind: "KeyGroupsStateHandle",
            tag: 12,
            keyGroupRange: { start: 0, end: 3 },
            offsets: [0n],
            delegate: REL,
            stateHandleId: "x",
          } as KeyedStateHandle,
          writeKeyedStateHandle,
        ),
      /1 offsets for 4 key groups/,
    );
    assert.throws(
      () =>
        writeAll(
          {
            kind: "KeyGroupsStateHandle",
            tag: 12,
            keyGroupRange: { start: 0, end: 0 },
            offsets: [0n],
            delegate: REL,
            stateHandleId: null,
          } as KeyedStateHandle,
          writeKeyedStateHandle,
        ),
      InvalidArgumentError,
    );
  });

  it("bounds nesting depth on read and on write", () => {
    // 40 nested changelog handles, each holding the next as its only materialized part
    let bytes = "00";
    for (let i = 0; i < 40; i++) bytes = `0e ${i32(0)} ${i32(1)} ${i64(0)} ${i32(1)} ${bytes}`;
    assert.throws(() => readAll(hex(bytes), readKeyedStateHandle), /nested deeper than 16/);
    type Mutable = { materialized: KeyedStateHandle[] };
    const cyclic = {
      kind: "ChangelogStateBackendHandle",
      tag: 14,
      keyGroupRange: { start: 0, end: 0 },
      checkpointedSize: 0n,
      materialized: [],
      nonMaterialized: [],
      materializationId: 0n,
      checkpointId: 0n,
      stateHandleId: "c",
    } as KeyedStateHandle & Mutable;
    cyclic.materialized.push(cyclic);
    assert.throws(() => writeAll(cyclic as KeyedStateHandle, writeKeyedStateHandle), /nested deeper/);
  });
});

describe("operator state handles", () => {
  it("tag 0: null", () => operator(hex("00"), null));

  it("tag 4: OperatorStreamStateHandle", () =>
    operator(
      hex(
        "04", // tag PARTITIONABLE_OPERATOR_STATE_HANDLE
        i32(2), // 2 named states
        utf("buffer"), // name
        "01", // mode ordinal 1 = UNION
        i32(2), // 2 offsets
        i64(0),
        i64(8),
        utf("bcast"), // name
        "02", // mode 2 = BROADCAST
        i32(0), // no offsets
        `01 ${utf("inline")} ${i32(1)} ff`, // delegate: inline ByteStreamStateHandle
      ),
      {
        kind: "OperatorStreamStateHandle",
        states: [
          { name: "buffer", mode: "UNION", offsets: [0n, 8n] },
          { name: "bcast", mode: "BROADCAST", offsets: [] },
        ],
        delegate: { kind: "ByteStreamStateHandle", handleName: "inline", data: hex("ff") },
      },
    ));

  it("tag 17: FileMergingOperatorStreamStateHandle and its empty variant", () => {
    const seg = `0f ${i64(0)} ${i64(12)} ${i32(0)} ${utf("/tm/file")} ${utf("lid")}`;
    operator(
      hex(
        "11", // tag SEGMENT_PARTITIONABLE_OPERATOR_STATE_HANDLE
        i32(1),
        utf("s"),
        "00", // SPLIT_DISTRIBUTE
        i32(1),
        i64(4),
        utf("file:/cp/taskowned/tm1"), // UTF task-owned dir
        utf("file:/cp/shared/op_0_1_"), // UTF shared dir
        "00", // boolean isEmpty = false
        seg, // delegate segment handle
      ),
      {
        kind: "FileMergingOperatorStreamStateHandle",
        states: [{ name: "s", mode: "SPLIT_DISTRIBUTE", offsets: [4n] }],
        taskOwnedDirPath: "file:/cp/taskowned/tm1",
        sharedDirPath: "file:/cp/shared/op_0_1_",
        isEmpty: false,
        delegate: {
          kind: "SegmentFileStateHandle",
          startPos: 0n,
          stateSize: 12n,
          scope: 0,
          physicalFilePath: "/tm/file",
          logicalFileId: "lid",
        },
      },
    );
    operator(hex("11", i32(0), utf("t"), utf("s"), "01", "10"), {
      kind: "FileMergingOperatorStreamStateHandle",
      states: [],
      taskOwnedDirPath: "t",
      sharedDirPath: "s",
      isEmpty: true,
      delegate: { kind: "EmptySegmentFileStateHandle" },
    });
  });

  it("refuses bad modes, duplicate names, non-segment delegates, unknown tags", () => {
    assert.throws(
      () => readAll(hex("04", i32(1), utf("a"), "03", i32(0), REL_HEX), readOperatorStateHandle),
      /Mode ordinal 3/,
    );
    assert.throws(
      () => readAll(hex("04", i32(1), utf("a"), "ff", i32(0), REL_HEX), readOperatorStateHandle),
      /Mode ordinal -1/,
    );
    assert.throws(
      () =>
        readAll(
          hex("04", i32(2), utf("a"), "00", i32(0), utf("a"), "00", i32(0), REL_HEX),
          readOperatorStateHandle,
        ),
      /duplicate operator state name/,
    );
    assert.throws(
      () => readAll(hex("11", i32(0), utf("t"), utf("s"), "00", REL_HEX), readOperatorStateHandle),
      /segment handle/,
    );
    assert.throws(
      () => readAll(hex("11", i32(0), utf("t"), utf("s"), "02", "10"), readOperatorStateHandle),
      /boolean/,
    );
    assert.throws(() => readAll(hex("04", i32(0), "00"), readOperatorStateHandle), /without a delegate/);
    for (const t of ["01", "03", "05", "0c", "12"]) {
      assert.throws(() => readAll(hex(t), readOperatorStateHandle), CorruptSnapshotError);
    }
  });
});

describe("channel state handles", () => {
  const body = (subtask: number, a: number, b: number) =>
    `${i32(subtask)} ${i32(a)} ${i32(b)} ${i32(2)} ${i64(0)} ${i64(40)} ${i64(80)} ${FILE_HEX}`;
  const input = (subtask: number, a: number, b: number): InputChannelStateHandle => ({
    kind: "InputChannelStateHandle",
    subtaskIndex: subtask,
    info: { a, b },
    offsets: [0n, 40n],
    stateSize: 80n,
    delegate: FILE,
  });

  const input111 = (a: number, b: number): InputChannelStateHandle => ({
    ...(input(0, a, b) as ChannelStateHandleBody),
    kind: "InputChannelStateHandle",
    subtaskIndex: null,
  });

  it("V1 serializer (metadata V3..V5): no per-handle tag", () => {
    assertRoundTrip(
      hex(
        i32(2), // 2 input channel handles
        body(0, 0, 1), // subtaskIndex 0, gate 0, channel 1, 2 offsets, size 80, delegate
        body(0, 1, 0),
      ),
      [input(0, 0, 1), input(0, 1, 0)],
      readInputChannelStateHandles,
      writeInputChannelStateHandles,
      5,
    );
    assertRoundTrip(
      hex(i32(1), body(3, 2, 7)),
      [{ ...input(3, 2, 7), kind: "ResultSubpartitionStateHandle" }] as ResultSubpartitionStateHandle[],
      readResultSubpartitionStateHandles,
      writeResultSubpartitionStateHandles,
      3,
    );
  });

  it("V2 serializer (metadata V6+): tags 1..4, merged handles keep their offsets blob", () => {
    assertRoundTrip(
      hex(
        i32(2),
        "01", // INPUT_CHANNEL_STATE_HANDLE
        body(1, 0, 0),
        "03", // MERGED_INPUT_CHANNEL_STATE_HANDLE
        i32(1), // subtaskIndex
        i64(160), // stateSize
        FILE_HEX, // delegate
        i32(3), // blob length
        "0a0b0c", // blob
      ),
      [
        input(1, 0, 0),
        {
          kind: "MergedInputChannelStateHandle",
          subtaskIndex: 1,
          stateSize: 160n,
          delegate: FILE,
          serializedChannelOffsets: hex("0a0b0c"),
        },
      ],
      readInputChannelStateHandles,
      writeInputChannelStateHandles,
      6,
    );
    assertRoundTrip(
      hex(i32(2), "02", body(1, 4, 5), "04", i32(1), i64(0), FILE_HEX, i32(0)),
      [
        { ...input(1, 4, 5), kind: "ResultSubpartitionStateHandle" },
        {
          kind: "MergedResultSubpartitionStateHandle",
          subtaskIndex: 1,
          stateSize: 0n,
          delegate: FILE,
          serializedChannelOffsets: hex(""),
        },
      ] as ResultSubpartitionStateHandle[],
      readResultSubpartitionStateHandles,
      writeResultSubpartitionStateHandles,
      6,
    );
  });

  it("refuses output tags in input lists, negative counts, merged handles before V6", () => {
    assert.throws(
      () => readAll(hex(i32(1), "02", body(0, 0, 0)), readInputChannelStateHandles, 6),
      /input state handle type tag 2/,
    );
    assert.throws(
      () => readAll(hex(i32(1), "01", body(0, 0, 0)), readResultSubpartitionStateHandles, 6),
      /output state handle/,
    );
    assert.throws(() => readAll(hex(i32(-1)), readInputChannelStateHandles, 4), /negative/);
    assert.throws(() => readAll(hex(i32(1_000_000)), readInputChannelStateHandles, 4), /cannot fit/);
    const merged: InputChannelStateHandle = {
      kind: "MergedInputChannelStateHandle",
      subtaskIndex: 0,
      stateSize: 0n,
      delegate: FILE,
      serializedChannelOffsets: new Uint8Array(0),
    };
    assert.throws(() => writeAll([merged], writeInputChannelStateHandles, 5), /V6\+/);
    const old: InputChannelStateHandle = {
      ...(input(0, 0, 0) as ChannelStateHandleBody),
      kind: "InputChannelStateHandle",
      subtaskIndex: null,
    };
    assert.throws(
      () => writeAll([old], writeInputChannelStateHandles, 4),
      /1\.11 layout\) exist only in metadata V3, not V4/,
    );
    assert.throws(() => writeAll([old], writeInputChannelStateHandles, 6), /not V6/);
  });

  it("Flink 1.11 layout (V3): no subtaskIndex; the writer omits it for subtaskIndex null", () => {
    const v111 = (a: number, b: number) => body(0, a, b).slice(i32(0).length + 1); // body without the index
    assertRoundTrip(
      hex(i32(2), v111(0, 1), v111(1, 0)),
      [input111(0, 1), input111(1, 0)],
      readInputChannelStateHandles,
      writeInputChannelStateHandles,
      FLINK_111,
    );
    assertRoundTrip(
      hex(i32(1), v111(2, 7)),
      [{ ...input111(2, 7), kind: "ResultSubpartitionStateHandle" }] as ResultSubpartitionStateHandle[],
      readResultSubpartitionStateHandles,
      writeResultSubpartitionStateHandles,
      FLINK_111,
    );
    // the count check allows for the shorter handle (21 bytes): this one fails at its null delegate
    const smallest = hex(i32(1), i32(0), i32(0), i32(0), i64(0), "00");
    assert.throws(() => readAll(smallest, readInputChannelStateHandles, 3), /cannot fit/);
    assert.throws(() => readAll(smallest, readInputChannelStateHandles, FLINK_111), /without a delegate/);
  });

  it("refuses handles with and without subtaskIndex in one file", () => {
    const old = input111(0, 0);
    assert.throws(
      () => writeAll([input(0, 0, 1), old], writeInputChannelStateHandles, 3),
      /mixes channel state handles without subtaskIndex/,
    );
    assert.throws(
      () => writeAll([old, input(0, 0, 1)], writeInputChannelStateHandles, 3),
      /mixes channel state handles without subtaskIndex/,
    );
  });
});
