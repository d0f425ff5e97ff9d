/**
 * The V4+ trailer of `_metadata`: Flink's `CheckpointProperties` written with
 * `new ObjectOutputStream(dos).writeObject(props)` (`MetadataV4Serializer.serializeProperties`), and
 * read back with `ObjectInputStream.readObject()`. It runs to the end of the file.
 *
 * The model keeps the trailer as raw bytes ({@link CheckpointMetadata.properties}), so rewrites are
 * byte-exact whatever Flink version wrote it. This module (1) checks that the trailer is one complete
 * serialized object (`null` or a `CheckpointProperties`), which is what makes a truncated V4+ file
 * detectable, and (2) decodes it for display with {@link decodeCheckpointProperties}.
 *
 * Java serialization writes an object's fields in its class descriptor's order (primitive fields
 * first, then object fields, each sorted by name), so the decoder follows the descriptor rather than
 * assuming an order. Flink's class (apache/flink `CheckpointProperties`, `serialVersionUID = 2L`):
 * booleans `forced`, `discardSubsumed`, `discardFinished`, `discardCancelled`, `discardFailed`,
 * `discardSuspended`, `unclaimed` and `SnapshotType checkpointType`, which is a `CheckpointType`
 * (`String name`, `SnapshotType.SharingFilesStrategy sharingFilesStrategy`) or a `SavepointType`
 * (`String name`, `SavepointType.PostCheckpointAction postCheckpointAction`,
 * `org.apache.flink.core.execution.SavepointFormatType formatType`).
 */

import type { JavaClassDesc, JavaObject, JavaValue } from "../java/stream.js";
import { JavaStreamError, readJavaSerializedObject } from "../java/stream.js";

/** Fully-qualified name of the class the trailer holds. */
export const CHECKPOINT_PROPERTIES_CLASS = "org.apache.flink.runtime.checkpoint.CheckpointProperties";

/**
 * The trailer Flink writes when the metadata carries no properties (`writeObject(null)`):
 * `AC ED 00 05` + `TC_NULL`. The writer uses it for a V4+ model whose `properties` is null.
 */
export const NULL_PROPERTIES_TRAILER: Uint8Array = Uint8Array.of(0xac, 0xed, 0x00, 0x05, 0x70);

/** Decoded `CheckpointProperties`, for display. Mirrors the Java class's fields. */
export interface CheckpointPropertiesInfo {
  /** `forced`: the snapshot had to be taken even when too many were in progress. */
  forced: boolean;
  /** Whether `checkpointType` is a `SavepointType` or a `CheckpointType`. */
  snapshotType: "savepoint" | "checkpoint";
  /** `checkpointType.name`, e.g. "Checkpoint", "Full Checkpoint", "Savepoint", "Terminate Savepoint". */
  typeName: string;
  /** Savepoints: `SavepointFormatType` (CANONICAL or NATIVE); null for checkpoints. */
  formatType: "CANONICAL" | "NATIVE" | null;
  /** Savepoints: `SavepointType.PostCheckpointAction` (stop-with-savepoint variants). */
  postCheckpointAction?: "NONE" | "SUSPEND" | "TERMINATE";
  /** Checkpoints: `SnapshotType.SharingFilesStrategy`. */
  sharingFilesStrategy?: "FORWARD_BACKWARD" | "FORWARD" | "NO_SHARING";
  discardSubsumed: boolean;
  discardFinished: boolean;
  discardCancelled: boolean;
  discardFailed: boolean;
  discardSuspended: boolean;
  /** `unclaimed` (restored in NO_CLAIM mode); false when the writing Flink had no such field. */
  unclaimed: boolean;
}

/**
 * Checks that `bytes` is exactly one Java-serialized `null` or `CheckpointProperties` object.
 * @returns null when valid, else a problem description and its offset relative to `bytes[0]`.
 */
export function checkPropertiesTrailer(bytes: Uint8Array): { message: string; offset: number } | null {
  let parsed: { value: JavaValue; length: number };
  try {
    parsed = readJavaSerializedObject(bytes);
  } catch (e) {
    if (e instanceof JavaStreamError) {
      return { message: `CheckpointProperties trailer: ${e.message}`, offset: e.offset };
    }
    throw e;
  }
  const v = parsed.value;
  if (v !== null && !(isObject(v) && v.classDesc.name === CHECKPOINT_PROPERTIES_CLASS)) {
    return { message: `trailer holds ${describe(v)}, not a ${CHECKPOINT_PROPERTIES_CLASS}`, offset: 4 };
  }
  if (parsed.length !== bytes.byteLength) {
    return {
      message: `${bytes.byteLength - parsed.length} trailing bytes after the CheckpointProperties object`,
      offset: parsed.length,
    };
  }
  return null;
}

/**
 * Decodes the V4+ properties trailer for display.
 * @param bytes the trailer as kept in {@link CheckpointMetadata.properties}.
 * @returns the decoded fields, or null when the trailer is a Java `null`, malformed, or not shaped
 *   like any `CheckpointProperties` this code knows (callers show "unknown"). Never throws.
 */
export function decodeCheckpointProperties(bytes: Uint8Array): CheckpointPropertiesInfo | null {
  let value: JavaValue;
  try {
    value = readJavaSerializedObject(bytes).value;
  } catch {
    return null;
  }
  if (!isObject(value) || value.classDesc.name !== CHECKPOINT_PROPERTIES_CLASS) return null;
  const f = value.fields;
  const bool = (name: string, dflt?: boolean): boolean | undefined => {
    const x = f.get(name);
    return typeof x === "boolean" ? x : x === undefined ? dflt : undefined;
  };
  const forced = bool("forced");
  const discardSubsumed = bool("discardSubsumed");
  const discardFinished = bool("discardFinished");
  const discardCancelled = bool("discardCancelled");
  const discardFailed = bool("discardFailed");
  const discardSuspended = bool("discardSuspended");
  const unclaimed = bool("unclaimed", false);
  if (
    forced === undefined ||
    discardSubsumed === undefined ||
    discardFinished === undefined ||
    discardCancelled === undefined ||
    discardFailed === undefined ||
    discardSuspended === undefined ||
    unclaimed === undefined
  ) {
    return null;
  }
  const common = {
    forced,
    discardSubsumed,
    discardFinished,
    discardCancelled,
    discardFailed,
    discardSuspended,
    unclaimed,
  };

  const type = f.get("checkpointType");
  if (!isObject(type)) return null;
  const typeName = type.fields.get("name");
  if (typeof typeName !== "string") return null;
  const cls = type.classDesc.name;
  if (cls === "org.apache.flink.runtime.checkpoint.SavepointType") {
    const formatType = enumConstant(type.fields.get("formatType"), ["CANONICAL", "NATIVE"] as const);
    const postCheckpointAction = enumConstant(type.fields.get("postCheckpointAction"), [
      "NONE",
      "SUSPEND",
      "TERMINATE",
    ] as const);
    if (formatType === undefined || postCheckpointAction === undefined) return null;
    return { ...common, snapshotType: "savepoint", typeName, formatType, postCheckpointAction };
  }
  if (cls === "org.apache.flink.runtime.checkpoint.CheckpointType") {
    const sharingFilesStrategy = enumConstant(type.fields.get("sharingFilesStrategy"), [
      "FORWARD_BACKWARD",
      "FORWARD",
      "NO_SHARING",
    ] as const);
    if (sharingFilesStrategy === undefined) return null;
    return { ...common, snapshotType: "checkpoint", typeName, formatType: null, sharingFilesStrategy };
  }
  return null;
}

function isObject(v: JavaValue | undefined): v is JavaObject {
  return v !== null && v !== undefined && typeof v === "object" && v.kind === "object";
}

function enumConstant<T extends string>(v: JavaValue | undefined, allowed: readonly T[]): T | undefined {
  if (v === null || v === undefined || typeof v !== "object" || v.kind !== "enum") return undefined;
  return (allowed as readonly string[]).includes(v.constant) ? (v.constant as T) : undefined;
}

function describe(v: JavaValue): string {
  if (v === null) return "null";
  if (typeof v !== "object") return `a ${typeof v}`;
  const desc: JavaClassDesc | null =
    v.kind === "classDesc" ? v : v.kind === "class" ? v.classDesc : v.classDesc;
  return `a ${v.kind} of ${desc?.name ?? "?"}`;
}
