/**
 * File pointers of stream handles, and how they resolve.
 *
 * Flink resolves a `RelativeFileStateHandle` against the directory that holds `_metadata` (the
 * exclusive directory, `MetadataSerializer`'s `DeserializationContext.getExclusiveDirPath()`); every
 * other file handle stores an absolute path string. This module turns both into normalised URIs
 * (`../../storage/uri.ts`), without touching any store.
 */

import { normalizeUri, resolveInside } from "../../storage/uri.js";
import type { StreamStateHandle } from "./model.js";

/** A file a stream handle points at. */
export interface FilePointer {
  /** The pointer exactly as stored in `_metadata`. */
  stored: string;
  /** True for a RelativeFileStateHandle (resolved against the `_metadata` directory). */
  relative: boolean;
  /** Normalised URI of the file. */
  uri: string;
  /** Bytes of state the handle claims in the file (for a segment: the segment's size). */
  stateSize: bigint;
  /** For file-merging segments: where the segment starts in the physical file; otherwise 0. */
  startPos: bigint;
}

/**
 * The file a stream handle points at, or null for inline and empty handles.
 *
 * @param metadataDir normalised URI of the directory holding `_metadata`.
 * @throws PointerEscapeError when a relative pointer is absolute or climbs out of `metadataDir`.
 * @throws UnsupportedUriError when an absolute pointer is not a URI or absolute path.
 */
export function filePointer(h: StreamStateHandle, metadataDir: string): FilePointer | null {
  switch (h.kind) {
    case "RelativeFileStateHandle":
      return {
        stored: h.relativePath,
        relative: true,
        uri: resolveInside(metadataDir, h.relativePath),
        stateSize: h.stateSize,
        startPos: 0n,
      };
    case "FileStateHandle":
      return {
        stored: h.filePath,
        relative: false,
        uri: resolveAbsolute(h.filePath),
        stateSize: h.stateSize,
        startPos: 0n,
      };
    case "SegmentFileStateHandle":
      return {
        stored: h.physicalFilePath,
        relative: false,
        uri: resolveAbsolute(h.physicalFilePath),
        stateSize: h.stateSize,
        startPos: h.startPos,
      };
    case "KeyGroupsStateHandle":
    case "KeyGroupsSavepointStateHandle":
      return filePointer(h.delegate, metadataDir);
    case "ByteStreamStateHandle":
    case "EmptySegmentFileStateHandle":
      return null;
  }
}

/**
 * An absolute pointer as Flink stores it (`file:/x`, `s3://b/k`, `hdfs://nn/p`, or a bare `/x`, which
 * Flink's `Path` treats as the default file system: local here) in normal form.
 */
export function resolveAbsolute(stored: string): string {
  return normalizeUri(stored, "/");
}
