import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { runCli } from "../../src/cli/main.js";
import { listSnapshotFiles, verifySnapshot } from "../../src/ops/files.js";
import { buildInventory, type SnapshotInventory } from "../../src/ops/inventory.js";
import { loadSnapshot } from "../../src/ops/locate.js";
import { relocateSnapshot } from "../../src/ops/relocate.js";
import { StoreRegistry } from "../../src/storage/registry.js";
import { normalizeUri, toLocalPath } from "../../src/storage/uri.js";
import { listFixtures, readableFixtureDir } from "../helpers/fixtures.js";

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

  for (const c of ["checkpoint-rocksdb-changelog", "checkpoint-rocksdb-changelog-snappy"]) {
    for (const line of ["1.20", "2.3"]) {
      it(`flink-${line}/${c}: changelog files are checked by their stream's length and compression byte`, async () => {
        const f = fixtures.find((x) => x.id === `flink-${line}/${c}`);
        assert.ok(f);
        // a copy of its own (the fixture's files are damaged below)
        const dir = join(scratch, `${line}-${c}`, "job", "chk-2");
        await relocateSnapshot(await readableFixtureDir(f, stores, join(scratch, `${line}-${c}-at`)), dir, {
          stores,
        });
        const intact = await verifySnapshot(dir, { stores });
        assert.ok(intact.ok, JSON.stringify(intact.problems));
        const inv = await listSnapshotFiles(dir, { stores });
        const changelog = inv.files.filter((x) => x.changelogStream);
        assert.ok(changelog.length > 0);
        for (const x of changelog) {
          const bytes = readFileSync(toLocalPath(x.uri));
          assert.equal(x.leastFileSize, 1n);
          // the handles claim the stream after the first byte: uncompressed, exactly the file's rest
          if (bytes[0] === 0) assert.equal(BigInt(bytes.length), x.minSize + 1n, x.uri);
          else assert.equal(bytes[0], 1, x.uri); // compressed: the file's length says nothing of the stream's
        }
        // one byte short: refused when uncompressed; a compressed file is only refused when empty
        const [victim] = changelog;
        assert.ok(victim);
        const path = toLocalPath(victim.uri);
        assert.ok(path.startsWith(scratch), path);
        const bytes = readFileSync(path);
        truncateSync(path, bytes[0] === 0 ? bytes.length - 1 : 0);
        const r = await verifySnapshot(dir, { stores });
        assert.deepEqual(
          r.problems.map((p) => [p.uri, p.problem, p.expectedMinSize]),
          [[victim.uri, "too-small", bytes[0] === 0 ? victim.minSize + 1n : 1n]],
        );
        writeFileSync(path, bytes);
      });
    }
  }
});
