/**
 * Shared hand-built byte vectors for the metadata tests.
 */
import { hex, i64, utf } from "./helpers.js";

/** Java package of Flink's checkpoint classes. */
export const PKG = "org.apache.flink.runtime.checkpoint";

/**
 * `CheckpointProperties.forSavepoint(true, NATIVE)` as ObjectOutputStream writes it (the SavepointType
 * serialVersionUID is computed by the JVM; any value works here). Handles are numbered from 0x7e0000.
 */
export const SAVEPOINT_PROPERTIES = hex(
  "aced 0005", // STREAM_MAGIC, STREAM_VERSION 5
  "73", // TC_OBJECT
  "72", // TC_CLASSDESC                                       handle 0x7e0000
  utf(`${PKG}.CheckpointProperties`),
  i64(2), // serialVersionUID = 2L
  "02", // flags: SC_SERIALIZABLE
  "0008", // 8 fields: primitives first, each group sorted by name
  `5a ${utf("discardCancelled")}`, // 'Z' boolean
  `5a ${utf("discardFailed")}`,
  `5a ${utf("discardFinished")}`,
  `5a ${utf("discardSubsumed")}`,
  `5a ${utf("discardSuspended")}`,
  `5a ${utf("forced")}`,
  `5a ${utf("unclaimed")}`,
  `4c ${utf("checkpointType")}`, // 'L' object field, then its type as a string:
  `74 ${utf(`L${PKG.replaceAll(".", "/")}/SnapshotType;`)}`, // TC_STRING      handle 0x7e0001
  "78", // TC_ENDBLOCKDATA (no class annotation)
  "70", // TC_NULL: no serializable superclass
  //                                                            object = handle 0x7e0002
  "00 00 00 00 00", // discardCancelled, discardFailed, discardFinished, discardSubsumed, discardSuspended
  "01", // forced = true
  "00", // unclaimed = false
  "73 72", // checkpointType: TC_OBJECT, TC_CLASSDESC                   handle 0x7e0003
  utf(`${PKG}.SavepointType`),
  "1122334455667788", // computed serialVersionUID
  "02 0003", // SC_SERIALIZABLE, 3 fields
  `4c ${utf("formatType")} 74 ${utf("Lorg/apache/flink/core/execution/SavepointFormatType;")}`, // handle 4
  `4c ${utf("name")} 74 ${utf("Ljava/lang/String;")}`, //                                         handle 5
  `4c ${utf("postCheckpointAction")} 74 ${utf(`L${PKG.replaceAll(".", "/")}/SavepointType$PostCheckpointAction;`)}`, // 6
  "78 70", // end of annotation, no superclass                                             object = handle 7
  "7e 72", // formatType: TC_ENUM, TC_CLASSDESC                                                   handle 8
  utf("org.apache.flink.core.execution.SavepointFormatType"),
  i64(0), // enums have serialVersionUID 0
  "12 0000 78", // SC_SERIALIZABLE|SC_ENUM, no fields, no annotation
  "72", // superclass: TC_CLASSDESC                                                               handle 9
  utf("java.lang.Enum"),
  i64(0),
  "12 0000 78 70", // flags, no fields, no annotation, no superclass                        enum = handle 10
  `74 ${utf("NATIVE")}`, // constant name                                                        handle 11
  `74 ${utf("Savepoint")}`, // name                                                               handle 12
  "7e 72", // postCheckpointAction: TC_ENUM, TC_CLASSDESC                                         handle 13
  utf(`${PKG}.SavepointType$PostCheckpointAction`),
  i64(0),
  "12 0000 78",
  "71 007e0009", // superclass: TC_REFERENCE to java.lang.Enum (handle 0x7e0009)           enum = handle 14
  `74 ${utf("NONE")}`, //                                                                         handle 15
);
