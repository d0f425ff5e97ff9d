/**
 * The committed snapshots Flink wrote (fixtures/flink-<line>/<case>/) and their expected.json, written
 * by the Java harness from Flink's own metadata loader.
 */

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { relocateSnapshot } from "../../src/ops/relocate.js";
import type { StoreRegistry } from "../../src/storage/registry.js";

/** The parts of expected.json these tests use (see fixtures/README.md for the whole shape). */
export interface ExpectedSnapshot {
  flinkVersion: string;
  case: string;
  metadataVersion: number;
  checkpointId: string;
  generatedUnder: string;
  metadataPath: string;
  operators: any[];
  jobOperators?: { uid: string | null; name: string; operatorId: string }[];
  [key: string]: any;
}

export interface Fixture {
  /** e.g. `flink-1.20/savepoint-canonical-rocksdb`. */
  id: string;
  /** Absolute path of the case directory. */
  caseDir: string;
  /** Absolute path of `_metadata`. */
  metadataFile: string;
  /** Absolute path of the directory holding `_metadata`. */
  metadataDir: string;
  expected: ExpectedSnapshot;
}

export const FIXTURES_ROOT = resolve("fixtures");

/** Every fixture of the fixture job (`fixtures/flink-<x.y>/<case>/`) with an expected.json, sorted by id. */
export function listFixtures(): Fixture[] {
  return listCases(FIXTURES_ROOT);
}

/**
 * The unaligned-checkpoint fixture of each line (`fixtures/unaligned/flink-<x.y>/checkpoint-unaligned/`),
 * ids `flink-<x.y>/checkpoint-unaligned`. Another job wrote it (the harness's `UnalignedJob`), so it is not
 * among {@link listFixtures}; its expected.json has the shape `Unaligned.describe` writes
 * (fixtures/unaligned/README.md), not ExpectedWriter's.
 */
export function listUnalignedFixtures(): Fixture[] {
  return listCases(join(FIXTURES_ROOT, "unaligned"));
}

/**
 * The entropy-injected S3 checkpoint of each line (`fixtures/entropy/flink-<x.y>/checkpoint-entropy/`):
 * the fixture job's checkpoint written to S3 with `s3.entropy.key`, its objects under `bucket/<key>`
 * (metadataFile is `bucket/checkpoints/<job>/chk-2/_metadata`). Its pointers are absolute `s3://` URIs,
 * so it is read from a test S3 server the objects are put on (fixtures/entropy/README.md).
 */
export function listEntropyFixtures(): Fixture[] {
  return listCases(join(FIXTURES_ROOT, "entropy"));
}

/**
 * The checkpoint Flink cannot restore, of each line (`fixtures/claim-native/flink-<x.y>/checkpoint-claimed-native/`):
 * taken after a CLAIM-mode restore from a native savepoint, some of its relative pointers name files
 * that lie in the savepoint's directory (`expected.relativeInSavepoint`, `expected.savepointDir`), not in
 * `chk-N` (FLINK-39964; fixtures/claim-native/README.md).
 */
export function listClaimNativeFixtures(): Fixture[] {
  return listCases(join(FIXTURES_ROOT, "claim-native"));
}

/**
 * The changelog-operations checkpoint of each line (`fixtures/changelog-ops/flink-<x.y>/checkpoint-changelog-ops/`):
 * every change the changelog state backend logs, over a materialization, and beside it
 * (`expected.savepointDir`) the canonical savepoint Flink took after restoring it: Flink's own replay
 * (fixtures/changelog-ops/README.md).
 */
export function listChangelogOpsFixtures(): Fixture[] {
  return listCases(join(FIXTURES_ROOT, "changelog-ops"));
}

function listCases(root: string): Fixture[] {
  const out: Fixture[] = [];
  if (!existsSync(root)) return out;
  for (const line of readdirSync(root)
    .filter((d) => d.startsWith("flink-"))
    .sort()) {
    for (const name of readdirSync(join(root, line)).sort()) {
      const caseDir = join(root, line, name);
      const expectedFile = join(caseDir, "expected.json");
      if (!existsSync(expectedFile)) continue;
      const expected = JSON.parse(readFileSync(expectedFile, "utf8")) as ExpectedSnapshot;
      const metadataFile = join(caseDir, expected.metadataPath);
      out.push({
        id: `${line}/${name}`,
        caseDir,
        metadataFile,
        metadataDir: dirname(metadataFile),
        expected,
      });
    }
  }
  return out;
}

/**
 * The job directory of a checkpoint fixture (`snapshot/<jobId>/chk-N/_metadata`), beside which the
 * snapshot may hold other directories (the changelog state backend's `changelog/`).
 */
export function checkpointJobId(f: Fixture): string {
  return String(f.expected.metadataPath).split("/")[1] as string;
}

/** Where Flink wrote the fixtures; the repo's fixtures/ stands for it (fixtures/README.md). */
export const GENERATED_ROOT = "/tmp/savepoint-kit-fixtures";

/**
 * A directory holding the fixture's `_metadata` whose pointers all resolve here: the fixture's own
 * directory for savepoints (relative pointers only); for the checkpoint, whose `shared/` files are
 * referenced absolutely under {@link GENERATED_ROOT}, a copy relocated under `tmpRoot` with those
 * pointers mapped onto the repo's fixtures/ (`relocate --map`, nothing of the fixture changes).
 */
export async function readableFixtureDir(
  f: Fixture,
  stores: StoreRegistry,
  tmpRoot: string,
): Promise<string> {
  if (f.expected.snapshotType !== "checkpoint") return f.metadataDir;
  const jobId = checkpointJobId(f);
  const target = join(tmpRoot, f.id, jobId, f.metadataDir.split("/").pop() as string);
  if (!existsSync(join(target, "_metadata"))) {
    await relocateSnapshot(f.metadataDir, target, {
      stores,
      maps: [{ from: `file:${GENERATED_ROOT}`, to: FIXTURES_ROOT }],
    });
  }
  return target;
}
