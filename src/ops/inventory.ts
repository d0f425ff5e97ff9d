/**
 * The file inventory of a snapshot: every file its `_metadata` references, who references it, and
 * where it lies relative to the snapshot directory. The basis of `files`, `verify` and `relocate`.
 *
 * Locations, in Flink's terms (`AbstractFsCheckpointStorageAccess`, `FsCheckpointStorageLocation`):
 * - `exclusive`: inside the directory holding `_metadata` (a savepoint directory or `chk-N`);
 * - `shared`: under the job's `shared/` directory beside `chk-N` (incremental RocksDB SST files);
 * - `taskowned`: under the job's `taskowned/` directory beside `chk-N`;
 * - `external`: anywhere else (another snapshot, entropy-injected paths, another bucket or cluster).
 */

import type { CheckpointMetadata, StreamStateHandle } from "../formats/metadata/model.js";
import { filePointer } from "../formats/metadata/pointers.js";
import { allHandles, type HandleVisit, streamLeaves } from "../formats/metadata/traverse.js";
import { isInside, joinUri, parentUri, relativeTo } from "../storage/uri.js";

/** Where a referenced file lies relative to the snapshot (see the module doc). */
export type FileLocation = "exclusive" | "shared" | "taskowned" | "external";

/** One use of a file by a handle. */
export interface FileReference {
  operatorId: string;
  /** Stored uid (V5+), when there is one. */
  uid: string | null;
  subtaskIndex: number;
  /** Subtask slot, e.g. `managedKeyedState`; `coordinatorState` never references files. */
  slot: string;
  /** Top-level handle kind. */
  handleKind: string;
  /** Role of the stream handle in it, e.g. `delegate`, `shared/000012.sst`. */
  role: string;
  /** The pointer as stored. */
  stored: string;
  relative: boolean;
  /** Bytes of state this reference claims (bytes). */
  stateSize: bigint;
  /** Where the referenced bytes start in the file (file-merging segments); otherwise 0. */
  startPos: bigint;
}

/** One distinct file. */
export interface InventoryFile {
  /** Normalised URI. */
  uri: string;
  location: FileLocation;
  /** Path relative to the snapshot directory, for `exclusive` files. */
  relativePath: string | null;
  /**
   * The size the metadata claims for the file: the largest `startPos + stateSize` of its references
   * (bytes). For a changelog file ({@link changelogStream}) the length of its stream uncompressed.
   */
  minSize: bigint;
  /**
   * The least size the file must have for its references (bytes): {@link minSize}, but 1 for a
   * changelog file (its compression byte; a compressed changelog is shorter than its stream, an
   * uncompressed one holds `minSize + 1` bytes, which `verify` checks by that byte).
   */
  leastFileSize: bigint;
  /**
   * Referenced as a changelog (DSTL) file by `ChangelogStateHandleStreamImpl`s, whose state sizes are
   * lengths of the file's stream, not of the file (Flink's `OutputStreamWithPos`).
   */
  changelogStream: boolean;
  references: FileReference[];
}

/** The inventory of one snapshot. */
export interface SnapshotInventory {
  /** Directory holding `_metadata`. */
  directory: string;
  files: InventoryFile[];
  /** Inline state (ByteStreamStateHandles in `_metadata`, coordinator state included). */
  inline: { handles: number; bytes: bigint };
  /** True when every referenced file is `exclusive`: the directory can be moved as a whole. */
  selfContained: boolean;
}

/** Options of {@link buildInventory}. */
export interface BuildInventoryOptions {
  /**
   * Whether each file lists its references (default true). Without them (`references` empty), an
   * inventory of many files takes less time and memory: what a caller that needs only the files, their
   * places and least sizes asks for (relocate).
   */
  references?: boolean;
}

/**
 * Builds the inventory of parsed metadata whose `_metadata` lies in `directory` (pure; no I/O).
 * Files are listed in order of first reference.
 *
 * @throws PointerEscapeError when a relative pointer leaves `directory`.
 */
export function buildInventory(
  m: CheckpointMetadata,
  directory: string,
  options: BuildInventoryOptions = {},
): SnapshotInventory {
  const withReferences = options.references ?? true;
  const byUri = new Map<string, InventoryFile>();
  let inlineHandles = 0;
  let inlineBytes = 0n;
  const jobDir = parentUri(directory);
  const sharedDir = joinUri(jobDir, "shared");
  const taskOwnedDir = joinUri(jobDir, "taskowned");

  const visitLeaf = (leaf: StreamStateHandle, v: HandleVisit, role: string, changelogStream: boolean) => {
    if (leaf.kind === "ByteStreamStateHandle") {
      inlineHandles++;
      inlineBytes += BigInt(leaf.data.byteLength);
      return;
    }
    const p = filePointer(leaf, directory);
    if (!p) return;
    let file = byUri.get(p.uri);
    if (!file) {
      const relativePath = relativeTo(directory, p.uri) ?? null;
      const location: FileLocation =
        relativePath !== null
          ? "exclusive"
          : isInside(sharedDir, p.uri)
            ? "shared"
            : isInside(taskOwnedDir, p.uri)
              ? "taskowned"
              : "external";
      file = {
        uri: p.uri,
        location,
        relativePath,
        minSize: 0n,
        leastFileSize: 0n,
        changelogStream: false,
        references: [],
      };
      byUri.set(p.uri, file);
    }
    const end = p.startPos === 0n ? p.stateSize : p.startPos + p.stateSize;
    if (end > file.minSize) file.minSize = end;
    const least = changelogStream ? 1n : end;
    if (least > file.leastFileSize) file.leastFileSize = least;
    if (changelogStream) file.changelogStream = true;
    if (!withReferences) return;
    file.references.push({
      operatorId: v.operator.operatorId,
      uid: v.operator.uid,
      subtaskIndex: v.subtask.subtaskIndex,
      slot: v.slot,
      handleKind: v.handle.kind,
      role,
      stored: p.stored,
      relative: p.relative,
      stateSize: p.stateSize,
      startPos: p.startPos,
    });
  };

  for (const op of m.operatorStates) {
    if (op.coordinatorState) {
      inlineHandles++;
      inlineBytes += BigInt(op.coordinatorState.data.byteLength);
    }
  }
  for (const v of allHandles(m)) {
    for (const leaf of streamLeaves(v.handle))
      visitLeaf(leaf.handle, v, leaf.role, leaf.changelogStream === true);
  }
  const files = [...byUri.values()];
  return {
    directory,
    files,
    inline: { handles: inlineHandles, bytes: inlineBytes },
    selfContained: files.every((f) => f.location === "exclusive"),
  };
}
