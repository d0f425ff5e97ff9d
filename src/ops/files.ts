/**
 * `files`: the inventory of a snapshot (every referenced file, how it is pointed at, who uses it), and
 * `verify`: whether every referenced file exists with at least the bytes the metadata claims.
 */

import pMap from "p-map";
import type { StoreRegistry } from "../storage/registry.js";
import { buildInventory, type InventoryFile, type SnapshotInventory } from "./inventory.js";
import { loadSnapshot } from "./locate.js";

/** Options of {@link listSnapshotFiles} and {@link verifySnapshot}. */
export interface FilesOptions {
  stores: StoreRegistry;
}

/** The report of `files`. */
export interface FilesReport extends SnapshotInventory {
  metadataUri: string;
  /** Size of `_metadata` (bytes). */
  metadataBytes: number;
  totals: {
    files: number;
    /** Sum of each file's `minSize` (bytes). */
    bytes: bigint;
    byLocation: Record<InventoryFile["location"], number>;
  };
}

/**
 * Lists every file the snapshot at `input` references (no file is opened but `_metadata`).
 * @throws the errors of `loadSnapshot`, and PointerEscapeError for a relative pointer leaving the directory.
 */
export async function listSnapshotFiles(input: string, options: FilesOptions): Promise<FilesReport> {
  const loaded = await loadSnapshot(input, options.stores);
  const inv = buildInventory(loaded.metadata, loaded.directory);
  const byLocation = { exclusive: 0, shared: 0, taskowned: 0, external: 0 };
  for (const f of inv.files) byLocation[f.location]++;
  return {
    metadataUri: loaded.metadataUri,
    metadataBytes: loaded.metadataSize,
    ...inv,
    totals: { files: inv.files.length, bytes: inv.files.reduce((n, f) => n + f.minSize, 0n), byLocation },
  };
}

/** One problem `verify` found. */
export interface VerifyProblem {
  uri: string;
  problem: "missing" | "too-small" | "unreadable";
  /** Bytes the metadata needs the file to have. */
  expectedMinSize: bigint;
  /** Bytes the file has, when it exists. */
  actualSize: number | null;
  message: string;
}

/** The report of `verify`. */
export interface VerifyReport {
  metadataUri: string;
  directory: string;
  ok: boolean;
  selfContained: boolean;
  filesChecked: number;
  problems: VerifyProblem[];
}

/**
 * Checks that every file the snapshot references exists with at least the size the metadata claims
 * (for a changelog file, whose handles claim its stream's length uncompressed: that length and its
 * first byte, unless that byte says the rest is compressed).
 * Runs `concurrency` (default 16) stat calls at a time.
 * @throws the errors of `loadSnapshot`; per-file store errors other than "missing" are reported as
 *   `unreadable` problems, not thrown.
 */
export async function verifySnapshot(
  input: string,
  options: FilesOptions & { concurrency?: number },
): Promise<VerifyReport> {
  const loaded = await loadSnapshot(input, options.stores);
  const inv = buildInventory(loaded.metadata, loaded.directory);
  const problems: VerifyProblem[] = [];
  await pMap(
    inv.files,
    async (f) => {
      try {
        const s = await options.stores.storeFor(f.uri).stat(f.uri);
        if (s === null) {
          problems.push({
            uri: f.uri,
            problem: "missing",
            expectedMinSize: f.minSize,
            actualSize: null,
            message: `missing: ${f.uri} (referenced by ${f.references.length} handle(s))`,
          });
        } else if (BigInt(s.size) < f.leastFileSize) {
          problems.push({
            uri: f.uri,
            problem: "too-small",
            expectedMinSize: f.leastFileSize,
            actualSize: s.size,
            message: `too small: ${f.uri} has ${s.size} bytes, the metadata needs at least ${f.leastFileSize}`,
          });
        } else if (f.changelogStream && BigInt(s.size) < f.minSize + 1n) {
          // a changelog file shorter than its stream: only a compressed one may be (ChangelogStreamWrapper)
          const [flag] = await options.stores.storeFor(f.uri).readRange(f.uri, 0, 1);
          if (flag !== 1) {
            const need = f.minSize + 1n;
            problems.push({
              uri: f.uri,
              problem: "too-small",
              expectedMinSize: need,
              actualSize: s.size,
              message: `too small: changelog file ${f.uri} is uncompressed (first byte ${flag}) and has ${s.size} bytes, the metadata needs at least ${need}`,
            });
          }
        }
      } catch (err) {
        problems.push({
          uri: f.uri,
          problem: "unreadable",
          expectedMinSize: f.minSize,
          actualSize: null,
          message: `cannot check ${f.uri}: ${(err as Error).message}`,
        });
      }
    },
    { concurrency: options.concurrency ?? 16 },
  );
  const order = new Map(inv.files.map((f, i) => [f.uri, i]));
  problems.sort((a, b) => (order.get(a.uri) ?? 0) - (order.get(b.uri) ?? 0));
  return {
    metadataUri: loaded.metadataUri,
    directory: loaded.directory,
    ok: problems.length === 0,
    selfContained: inv.selfContained,
    filesChecked: inv.files.length,
    problems,
  };
}
