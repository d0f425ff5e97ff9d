/**
 * The target directory of an operation that writes a new snapshot (relocate, convert): checked once,
 * the same way, before any byte is written.
 */

import { AlreadyExistsError, InvalidArgumentError } from "../errors.js";
import type { StoreRegistry } from "../storage/registry.js";
import type { Store } from "../storage/store.js";
import { isInside, joinUri, normalizeUri } from "../storage/uri.js";
import { METADATA_FILE_NAME } from "./locate.js";

/** A checked target: its normalised directory, its store and where its `_metadata` goes. */
export interface SnapshotTarget {
  directory: string;
  store: Store;
  metadataUri: string;
}

/**
 * Checks and resolves the target directory for a new snapshot made from the one in `sourceDir`.
 *
 * @throws InvalidArgumentError when the target is the source directory or lies inside it.
 * @throws AlreadyExistsError when the target already holds a `_metadata` (unless `overwrite`).
 */
export async function prepareTarget(
  sourceDir: string,
  target: string,
  stores: StoreRegistry,
  overwrite = false,
): Promise<SnapshotTarget> {
  const directory = normalizeUri(target);
  if (directory === sourceDir || isInside(sourceDir, directory)) {
    throw new InvalidArgumentError(`the target ${directory} must not be the snapshot directory or inside it`);
  }
  const store = stores.storeFor(directory);
  const metadataUri = joinUri(directory, METADATA_FILE_NAME);
  if (!overwrite && (await store.stat(metadataUri))) {
    throw new AlreadyExistsError(metadataUri, {
      message: `${metadataUri} already exists; pass overwrite to replace it`,
    });
  }
  return { directory, store, metadataUri };
}
