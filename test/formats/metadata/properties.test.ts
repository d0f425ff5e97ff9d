/**
 * The V4+ CheckpointProperties trailer: hand-built Java serialization streams, decoding, validation.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readJavaSerializedObject } from "../../../src/formats/java/stream.js";
import {
  checkPropertiesTrailer,
  decodeCheckpointProperties,
  NULL_PROPERTIES_TRAILER,
} from "../../../src/formats/metadata/properties.js";
import { hex, i64, utf } from "./helpers.js";
import { PKG, SAVEPOINT_PROPERTIES } from "./vectors.js";

/**
 * A retained-checkpoint `CheckpointProperties` (RETAIN_ON_CANCELLATION) whose CheckpointType carries
 * two extra volatile boolean fields (as in some Flink versions): the decoder must follow the class
 * descriptor. The `Ljava/lang/String;` type string is a back reference, as Java writes interned strings.
 */
const CHECKPOINT_PROPERTIES = hex(
  "aced 0005 73 72",
  utf(`${PKG}.CheckpointProperties`),
  i64(2),
  "02 0008",
  `5a ${utf("discardCancelled")}`,
  `5a ${utf("discardFailed")}`,
  `5a ${utf("discardFinished")}`,
  `5a ${utf("discardSubsumed")}`,
  `5a ${utf("discardSuspended")}`,
  `5a ${utf("forced")}`,
  `5a ${utf("unclaimed")}`,
  `4c ${utf("checkpointType")} 74 ${utf(`L${PKG.replaceAll(".", "/")}/SnapshotType;`)}`, // handle 1
  "78 70", //                                                                               object = 2
  "00 00 01 01 00 00 00", // cancelled=0, failed=0, finished=1, subsumed=1, suspended=0, forced=0, unclaimed=0
  "73 72", //                                                                                      handle 3
  utf(`${PKG}.CheckpointType`),
  "0102030405060708",
  "02 0004",
  `5a ${utf("isFull")}`,
  `5a ${utf("typeResolved")}`,
  `4c ${utf("name")} 74 ${utf("Ljava/lang/String;")}`, //                                           handle 4
  `4c ${utf("sharingFilesStrategy")} 74 ${utf(`L${PKG.replaceAll(".", "/")}/SnapshotType$SharingFilesStrategy;`)}`, // 5
  "78 70", //                                                                               object = 6
  "00 01", // isFull, typeResolved
  `74 ${utf("Checkpoint")}`, //                                                                   handle 7
  "7e 72", //                                                                                      handle 8
  utf(`${PKG}.SnapshotType$SharingFilesStrategy`),
  i64(0),
  "12 0000 78 72",
  utf("java.lang.Enum"), //                                                                        handle 9
  i64(0),
  "12 0000 78 70", //                                                                        enum = 10
  `74 ${utf("FORWARD_BACKWARD")}`, //                                                              handle 11
);

describe("CheckpointProperties trailer", () => {
  it("decodes a savepoint's properties", () => {
    assert.equal(checkPropertiesTrailer(SAVEPOINT_PROPERTIES), null);
    assert.deepStrictEqual(decodeCheckpointProperties(SAVEPOINT_PROPERTIES), {
      forced: true,
      snapshotType: "savepoint",
      typeName: "Savepoint",
      formatType: "NATIVE",
      postCheckpointAction: "NONE",
      discardSubsumed: false,
      discardFinished: false,
      discardCancelled: false,
      discardFailed: false,
      discardSuspended: false,
      unclaimed: false,
    });
  });

  it("decodes a checkpoint's properties, following the class descriptor's fields", () => {
    assert.equal(checkPropertiesTrailer(CHECKPOINT_PROPERTIES), null);
    assert.deepStrictEqual(decodeCheckpointProperties(CHECKPOINT_PROPERTIES), {
      forced: false,
      snapshotType: "checkpoint",
      typeName: "Checkpoint",
      formatType: null,
      sharingFilesStrategy: "FORWARD_BACKWARD",
      discardSubsumed: true,
      discardFinished: true,
      discardCancelled: false,
      discardFailed: false,
      discardSuspended: false,
      unclaimed: false,
    });
  });

  it("accepts Flink's writeObject(null) trailer and decodes it as unknown", () => {
    assert.deepStrictEqual([...NULL_PROPERTIES_TRAILER], [0xac, 0xed, 0, 5, 0x70]);
    assert.equal(checkPropertiesTrailer(NULL_PROPERTIES_TRAILER), null);
    assert.equal(decodeCheckpointProperties(NULL_PROPERTIES_TRAILER), null);
  });

  it("detects truncation at every length and trailing bytes", () => {
    for (const full of [SAVEPOINT_PROPERTIES, CHECKPOINT_PROPERTIES, NULL_PROPERTIES_TRAILER]) {
      for (let n = 0; n < full.length; n++) {
        assert.notEqual(checkPropertiesTrailer(full.subarray(0, n)), null, `prefix of ${n} bytes accepted`);
        assert.equal(decodeCheckpointProperties(full.subarray(0, n)), null);
      }
      const longer = new Uint8Array([...full, 0x70]);
      assert.match(checkPropertiesTrailer(longer)?.message ?? "", /trailing bytes/);
    }
  });

  it("refuses objects of other classes and unknown enum constants", () => {
    const other = hex("aced0005 74", utf("just a string"));
    assert.match(checkPropertiesTrailer(other)?.message ?? "", /not a org\.apache\.flink/);
    assert.equal(decodeCheckpointProperties(other), null);
    const vendor = Buffer.from(SAVEPOINT_PROPERTIES);
    const at = vendor.indexOf(Buffer.from(utf("NATIVE"), "hex"));
    const patched = Buffer.concat([
      vendor.subarray(0, at),
      Buffer.from(utf("COMPAT"), "hex"),
      vendor.subarray(at + 8),
    ]);
    assert.equal(checkPropertiesTrailer(patched), null);
    assert.equal(decodeCheckpointProperties(patched), null, "unknown SavepointFormatType constant");
  });

  it("refuses bad magic, bad back references, exceptions, deep nesting", () => {
    assert.throws(() => readJavaSerializedObject(hex("acee0005 70")), /magic/);
    assert.throws(() => readJavaSerializedObject(hex("aced0005 71 007e0005")), /back reference/);
    assert.throws(() => readJavaSerializedObject(hex("aced0005 7b")), /exception/);
    // an array of arrays of arrays ... deeper than the walker allows
    let deep = "70";
    for (let i = 0; i < 40; i++)
      deep = `75 72 ${utf("[[Ljava.lang.Object;")} ${i64(0)} 02 0000 78 70 00000001 ${deep}`;
    assert.throws(() => readJavaSerializedObject(hex("aced0005", deep)), /nested deeper/);
    // a huge array length is refused before allocating
    assert.throws(
      () => readJavaSerializedObject(hex("aced0005 75 72", utf("[J"), i64(0), "02 0000 78 70 7fffffff")),
      /invalid array length/,
    );
  });
});
