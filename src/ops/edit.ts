/**
 * Metadata-only edits of a snapshot: `prune` (keep what a job maps: `--allowNonRestoredState` made
 * permanent), `drop` (remove named operators) and `rename` (move an operator's state to another uid or
 * OperatorID, coordinator state included).
 *
 * The edits are pure functions over the model; {@link writeEdited} writes the result:
 * - by default to a new directory whose `_metadata` references the source's state files (relative
 *   pointers become absolute ones into the source directory; nothing is copied, so the source must stay);
 * - with `copy`, as a self-contained snapshot (only the files still referenced are copied; see relocate);
 * - with `inPlace`, over the source's own `_metadata`, after copying it to `_metadata.bak-<time>`.
 */

import { AlreadyExistsError, InvalidArgumentError } from "../errors.js";
import { readMetadata, writeMetadata } from "../formats/metadata/index.js";
import type { CheckpointMetadata, StreamStateHandle } from "../formats/metadata/model.js";
import { filePointer } from "../formats/metadata/pointers.js";
import { mapStreamHandles } from "../formats/metadata/rewrite.js";
import type { StoreRegistry } from "../storage/registry.js";
import { joinUri, normalizeUri } from "../storage/uri.js";
import { buildInventory } from "./inventory.js";
import type { OperatorRef } from "./job-spec.js";
import { type LoadedSnapshot, METADATA_FILE_NAME } from "./locate.js";
import { type RelocateReport, relocateLoaded, toFlinkPath } from "./relocate.js";
import type { RestorePlan } from "./restore-plan.js";

/** Keeps only the operators `plan` maps (what Flink keeps with `--allowNonRestoredState`). */
export function pruneMetadata(m: CheckpointMetadata, plan: RestorePlan): CheckpointMetadata {
  const keep = new Set(plan.operators.filter((o) => o.fate === "mapped").map((o) => o.operatorId));
  return { ...m, operatorStates: m.operatorStates.filter((op) => keep.has(op.operatorId)) };
}

/**
 * Removes the operators `refs` name.
 * @throws InvalidArgumentError when a reference matches no operator (a typo must not pass silently).
 */
export function dropOperators(m: CheckpointMetadata, refs: readonly OperatorRef[]): CheckpointMetadata {
  const present = new Set(m.operatorStates.map((o) => o.operatorId));
  const missing = refs.filter((r) => !present.has(r.operatorId));
  if (missing.length > 0) {
    throw new InvalidArgumentError(
      `no operator ${missing.map((r) => `${r.text} (${r.operatorId})`).join(", ")} in this snapshot`,
    );
  }
  const drop = new Set(refs.map((r) => r.operatorId));
  return { ...m, operatorStates: m.operatorStates.filter((op) => !drop.has(op.operatorId)) };
}

/**
 * Gives operator `from` the identity `to`: its OperatorID becomes `to`'s, and on metadata versions that
 * store uids (V5+) its uid becomes `to`'s uid (or none, when `to` is an OperatorID). All its state
 * moves with it, coordinator state included (unlike Flink's own `changeOperatorIdentifier`).
 *
 * @throws InvalidArgumentError when `from` is not in the snapshot, or `to` already is (unless `force`,
 *   which replaces that operator's state).
 */
export function renameOperator(
  m: CheckpointMetadata,
  from: OperatorRef,
  to: OperatorRef,
  force = false,
): CheckpointMetadata {
  if (!m.operatorStates.some((o) => o.operatorId === from.operatorId)) {
    throw new InvalidArgumentError(`no operator ${from.text} (${from.operatorId}) in this snapshot`);
  }
  if (from.operatorId === to.operatorId) {
    throw new InvalidArgumentError(`${from.text} and ${to.text} are the same operator (${to.operatorId})`);
  }
  const clash = m.operatorStates.some((o) => o.operatorId === to.operatorId);
  if (clash && !force) {
    throw new InvalidArgumentError(
      `the snapshot already has state for ${to.text} (${to.operatorId}); pass force to replace it`,
    );
  }
  const storesUids = m.version >= 5;
  return {
    ...m,
    operatorStates: m.operatorStates
      .filter((o) => o.operatorId !== to.operatorId)
      .map((o) =>
        o.operatorId === from.operatorId
          ? { ...o, operatorId: to.operatorId, uid: storesUids ? to.uid : o.uid }
          : o,
      ),
  };
}

/** How an edited snapshot is written. */
export interface WriteEditedOptions {
  stores: StoreRegistry;
  /** Target directory (required unless `inPlace`). */
  target?: string;
  /** Copy the still-referenced files, for a self-contained result. */
  copy?: boolean;
  /** Rewrite the source's `_metadata` itself (a backup is kept beside it). */
  inPlace?: boolean;
  dryRun?: boolean;
  /** Replace an existing `_metadata` at the target. */
  overwrite?: boolean;
  concurrency?: number;
}

/** The outcome of {@link writeEdited}. */
export interface WriteEditedReport {
  mode: "reference" | "copy" | "in-place";
  metadataUri: string;
  dryRun: boolean;
  /** `reference` mode: files of the source the new snapshot points at (keep the source!). */
  referencedSourceFiles: number;
  /** `in-place` mode: where the previous `_metadata` was saved. */
  backupUri: string | null;
  /** `copy` mode: the relocation report. */
  copy: RelocateReport | null;
}

/**
 * Writes an edited model as a snapshot (see the module doc for the three modes). `_metadata` is always
 * written last and atomically, and read back before it is.
 *
 * @throws InvalidArgumentError for contradictory options (inPlace with copy or a target elsewhere, no
 *   target, a target equal to the source without inPlace); AlreadyExistsError for an existing target
 *   `_metadata` without `overwrite`; and store errors.
 */
export async function writeEdited(
  loaded: LoadedSnapshot,
  edited: CheckpointMetadata,
  options: WriteEditedOptions,
): Promise<WriteEditedReport> {
  const { stores } = options;
  const dryRun = options.dryRun ?? false;
  if (options.inPlace) {
    if (options.copy) throw new InvalidArgumentError("in-place and copy exclude each other");
    if (options.target !== undefined && normalizeUri(options.target) !== loaded.directory) {
      throw new InvalidArgumentError("in-place writes the source's _metadata; do not name another target");
    }
    const backupUri = joinUri(
      loaded.directory,
      `${METADATA_FILE_NAME}.bak-${new Date().toISOString().replace(/[:.]/g, "")}`,
    );
    const bytes = writeMetadata(edited);
    readMetadata(bytes, loaded.metadataUri);
    if (!dryRun) {
      await loaded.store.copy(loaded.metadataUri, backupUri, { overwrite: false });
      await loaded.store.writeAtomic(loaded.metadataUri, bytes, { overwrite: true });
    }
    return {
      mode: "in-place",
      metadataUri: loaded.metadataUri,
      dryRun,
      referencedSourceFiles: 0,
      backupUri,
      copy: null,
    };
  }
  if (options.target === undefined)
    throw new InvalidArgumentError("name a target directory, or pass in-place");
  const targetDir = normalizeUri(options.target);
  if (targetDir === loaded.directory) {
    throw new InvalidArgumentError(
      "the target is the source directory: pass in-place to rewrite the source's _metadata",
    );
  }
  if (options.copy) {
    const report = await relocateLoaded({ ...loaded, metadata: edited }, targetDir, {
      stores,
      dryRun,
      ...(options.overwrite ? { overwrite: true } : {}),
      ...(options.concurrency ? { concurrency: options.concurrency } : {}),
    });
    return {
      mode: "copy",
      metadataUri: report.target.metadataUri,
      dryRun,
      referencedSourceFiles: 0,
      backupUri: null,
      copy: report,
    };
  }
  const metadataUri = joinUri(targetDir, METADATA_FILE_NAME);
  const store = stores.storeFor(metadataUri);
  if (!options.overwrite && (await store.stat(metadataUri))) {
    throw new AlreadyExistsError(metadataUri, {
      message: `${metadataUri} already exists; pass overwrite to replace it`,
    });
  }
  // Relative pointers resolve against the directory of _metadata: in a new directory they must become
  // absolute pointers to the source's files.
  const absolute = mapStreamHandles(edited, (h: StreamStateHandle) => {
    if (h.kind !== "RelativeFileStateHandle") return h;
    const p = filePointer(h, loaded.directory);
    return { kind: "FileStateHandle", filePath: toFlinkPath(p?.uri as string), stateSize: h.stateSize };
  });
  const bytes = writeMetadata(absolute);
  const check = buildInventory(readMetadata(bytes, metadataUri), targetDir);
  if (!dryRun) await store.writeAtomic(metadataUri, bytes, { overwrite: options.overwrite ?? false });
  return {
    mode: "reference",
    metadataUri,
    dryRun,
    referencedSourceFiles: check.files.length,
    backupUri: null,
    copy: null,
  };
}
