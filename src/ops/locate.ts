/**
 * Finding and loading a snapshot's `_metadata`, on any store.
 *
 * Mirrors Flink's `AbstractFsCheckpointStorageAccess.resolveCheckpointPointer`: a pointer that names a
 * directory means `<dir>/_metadata`; a pointer that names a file means that file, and its parent is the
 * snapshot directory (the exclusive directory relative handles resolve against).
 */

import { NotASnapshotError, NotFoundError } from "../errors.js";
import { readMetadata } from "../formats/metadata/index.js";
import type { CheckpointMetadata } from "../formats/metadata/model.js";
import type { StoreRegistry } from "../storage/registry.js";
import type { Store } from "../storage/store.js";
import { joinUri, parentUri } from "../storage/uri.js";
import { findSnapshotsBelow, type SnapshotsBelow } from "./snapshots-below.js";

/** Flink's `AbstractFsCheckpointStorageAccess.METADATA_FILE_NAME`. */
export const METADATA_FILE_NAME = "_metadata";

/** Largest `_metadata` we load (bytes); Flink's own are far smaller, even for huge jobs. */
export const MAX_METADATA_BYTES = 2 * 1024 * 1024 * 1024 - 1;

/** Where a snapshot's `_metadata` is. */
export interface SnapshotLocation {
  /** The store holding the snapshot. */
  store: Store;
  /** Normalised URI of the `_metadata` file. */
  metadataUri: string;
  /** Normalised URI of the directory holding it (relative pointers resolve against it). */
  directory: string;
  /** Size of `_metadata` in bytes. */
  metadataSize: number;
}

/**
 * Finds the `_metadata` file for `input` (a snapshot directory or the `_metadata` file itself; a URI or
 * local path).
 *
 * @throws NotASnapshotError when neither `input` nor `input/_metadata` is a file; when `input` is a
 *   directory holding snapshots (a checkpoint directory, a job's, a savepoint directory), the error names
 *   them (`snapshotsBelow`, and the first few in its message).
 * @throws UnsupportedUriError for a URI scheme no store serves.
 */
export async function locateSnapshot(input: string, stores: StoreRegistry): Promise<SnapshotLocation> {
  const { store, uri } = stores.resolve(input);
  const direct = await store.stat(uri);
  if (direct) {
    return { store, metadataUri: direct.uri, directory: parentUri(direct.uri), metadataSize: direct.size };
  }
  const nested = await store.stat(joinUri(uri, METADATA_FILE_NAME));
  if (nested) {
    return { store, metadataUri: nested.uri, directory: uri, metadataSize: nested.size };
  }
  const below = await findSnapshotsBelow(uri, stores);
  throw new NotASnapshotError(
    `not a Flink snapshot: no file ${input} and no ${METADATA_FILE_NAME} in it${belowHint(input, below)}`,
    { uri, cause: new NotFoundError(uri), snapshotsBelow: below.snapshots.map((s) => s.directory) },
  );
}

/** Snapshots named in the message at most (all of them are on the error). */
const HINT_SNAPSHOTS = 5;

/** `; it holds 3 snapshots, newest first: <input>/<job>/chk-42, …`, or nothing when none were found. */
function belowHint(input: string, below: SnapshotsBelow): string {
  const { snapshots, truncated } = below;
  if (snapshots.length === 0) return "";
  const base = input.replace(/\/+$/, "");
  const shown = snapshots.slice(0, HINT_SNAPSHOTS).map((s) => `${base}/${s.relative}`);
  const more = snapshots.length - shown.length;
  const count = `${snapshots.length}${truncated ? " or more" : ""} snapshot${snapshots.length === 1 && !truncated ? "" : "s"}`;
  const order = snapshots.length > 1 ? ", newest first" : "";
  const rest = more > 0 ? `, and ${more} more` : truncated ? ", and maybe more" : "";
  return `; it holds ${count}${order}: ${shown.join(", ")}${rest}`;
}

/** A loaded snapshot: where it is, the raw `_metadata` bytes and the parsed model. */
export interface LoadedSnapshot extends SnapshotLocation {
  bytes: Uint8Array;
  metadata: CheckpointMetadata;
}

/**
 * Locates and parses a snapshot's `_metadata`.
 *
 * @throws NotASnapshotError, CorruptSnapshotError (with file and byte offset), UnsupportedVersionError,
 *   and the store's NotFoundError / PermissionDeniedError / StoreFaultError.
 */
export async function loadSnapshot(input: string, stores: StoreRegistry): Promise<LoadedSnapshot> {
  return loadLocated(await locateSnapshot(input, stores));
}

/**
 * Reads and parses the `_metadata` of a snapshot already located ({@link locateSnapshot}).
 *
 * @throws as {@link loadSnapshot}, but for locating.
 */
export async function loadLocated(location: SnapshotLocation): Promise<LoadedSnapshot> {
  const bytes = await location.store.readAll(location.metadataUri, { maxBytes: MAX_METADATA_BYTES });
  const metadata = readMetadata(bytes, location.metadataUri);
  return { ...location, bytes, metadata };
}
