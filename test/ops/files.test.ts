import assert from "node:assert/strict";
import { cpSync, mkdtempSync, rmSync, truncateSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { runCli } from "../../src/cli/main.js";
import { listSnapshotFiles, verifySnapshot } from "../../src/ops/files.js";
import { buildInventory, type SnapshotInventory } from "../../src/ops/inventory.js";
import { loadSnapshot } from "../../src/ops/locate.js";
import { StoreRegistry } from "../../src/storage/registry.js";
import { normalizeUri } from "../../src/storage/uri.js";
import { listFixtures } from "../helpers/fixtures.js";

const fixtures = listFixtures();
const stores = new StoreRegistry();
const scratch = mkdtempSync(join(tmpdir(), "savepoint-files-"));
after(async () => {
  await stores.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe("files", () => {
  for (const f of fixtures) {
    it(`${f.id}: lists each referenced file once, classified by location`, async () => {
      const r = await listSnapshotFiles(f.metadataDir, { stores });
      const uris = r.files.map((x) => x.uri);
      assert.equal(new Set(uris).size, uris.length);
      for (const file of r.files) {
        assert.ok(file.references.length > 0);
        assert.ok(file.minSize > 0n || file.references.every((x) => x.stateSize === 0n));
        if (file.location === "exclusive") {
          assert.ok(file.relativePath);
          assert.equal(file.uri, normalizeUri(join(f.metadataDir, file.relativePath)));
        }
      }
      if (f.expected.snapshotType === "savepoint") {
        // Savepoints (canonical and native) write exclusive, relative files only: relocatable as a whole.
        assert.ok(r.selfContained, `${f.id} should be self-contained`);
        assert.ok(r.files.every((x) => x.references.every((ref) => ref.relative)));
      } else if (f.expected.case.includes("changelog")) {
        // The changelog state backend's changes lie in changelog files outside the job's directory,
        // referenced by absolute path, many handles into one file.
        assert.ok(!r.selfContained);
        const changelog = r.files.filter((x) => x.references.some((ref) => ref.role.includes("changes[")));
        assert.ok(changelog.length > 0);
        for (const x of changelog) {
          assert.equal(x.location, "external", x.uri);
          assert.ok(x.references.every((ref) => !ref.relative));
        }
      } else {
        // A retained incremental checkpoint points into the job's shared/ directory by absolute path.
        assert.ok(!r.selfContained);
        assert.ok(
          r.files.some((x) => x.references.some((ref) => !ref.relative && ref.role.startsWith("shared/"))),
        );
      }
    });
  }
});

describe("buildInventory without references", () => {
  for (const f of fixtures) {
    it(`${f.id}: the same files, places and least sizes, with no references`, async () => {
      const { metadata, directory } = await loadSnapshot(f.metadataDir, stores);
      const full = buildInventory(metadata, directory);
      const lean = buildInventory(metadata, directory, { references: false });
      // (a small hashmap savepoint may hold all its state inline: no files, and equal inline counts)
      assert.ok(lean.files.every((x) => x.references.length === 0));
      const strip = (inv: SnapshotInventory) => ({
        ...inv,
        files: inv.files.map((x) => ({ ...x, references: [] })),
      });
      assert.deepEqual(lean, strip(full));
    });
  }
});

describe("verify", () => {
  const sp = fixtures.find(
    (f) => f.expected.snapshotType === "savepoint" && f.expected.backend === "rocksdb",
  );

  it("passes on an intact savepoint", async () => {
    assert.ok(sp);
    const r = await verifySnapshot(sp.metadataDir, { stores });
    assert.ok(r.ok, JSON.stringify(r.problems));
    assert.ok(r.filesChecked > 0);
  });

  it("reports missing and short files, and the CLI exits 6", async () => {
    assert.ok(sp);
    const copy = join(scratch, "broken");
    cpSync(sp.metadataDir, copy, { recursive: true });
    const inv = await listSnapshotFiles(copy, { stores });
    const [a, b] = inv.files;
    assert.ok(a && b && a.relativePath && b.relativePath);
    unlinkSync(join(copy, a.relativePath));
    truncateSync(join(copy, b.relativePath), Number(b.minSize) - 1);
    const r = await verifySnapshot(copy, { stores });
    assert.ok(!r.ok);
    assert.deepEqual(
      r.problems.map((p) => [p.uri, p.problem]),
      [
        [a.uri, "missing"],
        [b.uri, "too-small"],
      ],
    );
    const cli = await runCli(["verify", copy]);
    assert.equal(cli.exitCode, 6);
    assert.match(cli.stdout, /FAILED: \d+ files checked, 2 problem/);
  });
});
