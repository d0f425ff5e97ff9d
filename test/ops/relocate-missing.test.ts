/**
 * `relocate --missing-from`: the checkpoints Flink 1.20.5 and 2.3.0 write after a CLAIM-mode restore from
 * a native savepoint (fixtures/claim-native) have relative pointers whose files lie in the savepoint's
 * directory, not in `chk-N` (FLINK-39964); Flink refuses them. Without the option relocate refuses them
 * too and writes nothing; with the savepoint's directory it copies each missing file from there to where
 * its pointer resolves in the target, and the result verifies. With `move` those files, which belong to
 * the savepoint, are copied and kept. Flink restoring the result is test/flink/claim-native.test.ts.
 */
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { runCli } from "../../src/cli/main.js";
import { NotFoundError } from "../../src/errors.js";
import { readMetadata } from "../../src/formats/metadata/index.js";
import { verifySnapshot } from "../../src/ops/files.js";
import { relocateSnapshot } from "../../src/ops/relocate.js";
import { StoreRegistry } from "../../src/storage/registry.js";
import { listClaimNativeFixtures } from "../helpers/fixtures.js";

const fixtures = listClaimNativeFixtures();
const stores = new StoreRegistry();
const scratch = mkdtempSync(join(tmpdir(), "savepoint-missing-"));
after(async () => {
  await stores.close();
  rmSync(scratch, { recursive: true, force: true });
});

it("there is a checkpoint taken after a CLAIM restore from a native savepoint, of each line", () => {
  assert.deepEqual(
    fixtures.map((f) => f.id),
    ["flink-1.20/checkpoint-claimed-native", "flink-2.3/checkpoint-claimed-native"],
  );
});

/** The names of the relative pointers of a `_metadata` (every RelativeFileStateHandle, anywhere). */
function relativeNames(metadataFile: string): Set<string> {
  const out = new Set<string>();
  const walk = (x: unknown): void => {
    if (x === null || typeof x !== "object") return;
    const o = x as Record<string, unknown>;
    if (o.kind === "RelativeFileStateHandle") out.add(o.relativePath as string);
    for (const v of Object.values(o)) walk(v);
  };
  walk(readMetadata(readFileSync(metadataFile)));
  return out;
}

for (const f of fixtures) {
  describe(`relocate --missing-from, ${f.id}`, () => {
    const snapshot = join(f.caseDir, "snapshot");
    const savepoint = join(f.caseDir, f.expected.savepointDir as string);
    const inSavepoint = f.expected.relativeInSavepoint as string[];
    const maps = [{ from: `file:${f.expected.generatedUnder}`, to: snapshot }];

    it("Flink's checkpoint names files in chk-N that lie in the savepoint: relocate refuses it, writes nothing", async () => {
      assert.ok(inSavepoint.length > 0);
      for (const n of inSavepoint) {
        assert.equal(existsSync(join(f.metadataDir, n)), false, `${n} is not in chk-N`);
        assert.ok(existsSync(join(savepoint, n)), `${n} is in the savepoint`);
      }
      const target = join(scratch, f.id, "refused", "chk");
      await assert.rejects(relocateSnapshot(f.metadataDir, target, { stores, maps }), (e: unknown) => {
        assert.ok(e instanceof NotFoundError);
        assert.ok(
          inSavepoint.some((n) => e.message.includes(n)),
          e.message,
        );
        return true;
      });
      assert.equal(existsSync(join(scratch, f.id, "refused")), false);
      // a directory that does not have them either: refused as well, naming it
      await assert.rejects(
        relocateSnapshot(f.metadataDir, target, { stores, maps, missingFrom: [snapshot] }),
        /not in file:/,
      );
    });

    it("with the savepoint's directory, the missing files are copied from there; the result verifies", async () => {
      const target = join(scratch, f.id, "repaired", "new-job", "chk-2");
      const plan = await relocateSnapshot(f.metadataDir, target, {
        stores,
        maps,
        missingFrom: [join(scratch, "no-such-dir"), savepoint],
        dryRun: true,
      });
      assert.equal(existsSync(target), false, "a dry run writes nothing");
      const r = await relocateSnapshot(f.metadataDir, target, {
        stores,
        maps,
        missingFrom: [join(scratch, "no-such-dir"), savepoint],
      });
      for (const report of [plan, r]) {
        const found = report.copies.filter((c) => c.missingAt !== undefined);
        assert.deepEqual(found.map((c) => basename(c.from)).sort(), [...inSavepoint].sort());
        for (const c of found) {
          assert.equal(dirname(new URL(c.from).pathname), savepoint, "found in the savepoint's directory");
          assert.equal(basename(c.to), basename(c.from));
          assert.equal(dirname(new URL(c.to).pathname), target, "copied to where the pointer resolves");
        }
      }
      for (const n of inSavepoint)
        assert.ok(readFileSync(join(target, n)).equals(readFileSync(join(savepoint, n))), n);
      // the pointers stay relative: they now resolve
      const names = relativeNames(join(target, "_metadata"));
      for (const n of inSavepoint) assert.ok(names.has(n), `${n} relative`);
      const v = await verifySnapshot(target, { stores });
      assert.ok(
        v.ok,
        JSON.stringify(v.problems, (_k, x) => (typeof x === "bigint" ? String(x) : x)),
      );
    });

    it("the CLI: refused with exit 3 without --missing-from; with it, a plan naming where each file was missing", async () => {
      const target = join(scratch, f.id, "cli", "chk-2");
      const map = `--map=file:${f.expected.generatedUnder}=${snapshot}`;
      // verify names the missing files and says how to repair the checkpoint
      const v = await runCli(["verify", f.metadataDir]);
      assert.equal(v.exitCode, 6, v.stderr);
      assert.match(
        v.stdout,
        new RegExp(
          `hint: ${inSavepoint.length} missing file\\(s\\) would lie in the snapshot's own directory.*--missing-from <savepoint dir>`,
        ),
      );
      const refused = await runCli(["relocate", f.metadataDir, target, map]);
      assert.equal(refused.exitCode, 3, refused.stderr);
      assert.match(refused.stderr, /referenced file is missing/);
      const r = await runCli([
        "relocate",
        f.metadataDir,
        target,
        map,
        "--missing-from",
        savepoint,
        "--dry-run",
      ]);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.match(
        r.stdout,
        new RegExp(`Found {5}${inSavepoint.length} missing files in --missing-from directories`),
      );
      for (const n of inSavepoint)
        assert.match(
          r.stdout,
          new RegExp(`copy file://${savepoint}/${n} -> .*\\(missing at file://.*/chk-2/${n}\\)`),
        );
      assert.equal(existsSync(target), false);
    });

    it("with move, the savepoint's files are copied and kept, the checkpoint's own moved", async () => {
      const tree = join(scratch, f.id, "tree");
      cpSync(snapshot, tree, { recursive: true });
      const chk = join(tree, f.expected.metadataPath.split("/").slice(1, -1).join("/"));
      const sp = join(tree, basename(savepoint));
      const target = join(scratch, f.id, "moved", "new-job", "chk-2");
      const r = await relocateSnapshot(chk, target, {
        stores,
        maps: [{ from: `file:${f.expected.generatedUnder}`, to: tree }],
        missingFrom: [sp],
        move: true,
      });
      for (const n of inSavepoint) {
        assert.ok(existsSync(join(sp, n)), `${n} kept in the savepoint`);
        assert.ok(
          r.keptForOtherSnapshots.some((k) => k.endsWith(`/${n}`)),
          `${n} reported kept`,
        );
        assert.ok(existsSync(join(target, n)), `${n} copied`);
      }
      assert.equal(existsSync(join(chk, "_metadata")), false, "the checkpoint moved");
      assert.ok(existsSync(join(sp, "_metadata")), "the savepoint is whole");
      assert.ok((await verifySnapshot(sp, { stores })).ok, "the savepoint still verifies");
      assert.ok((await verifySnapshot(target, { stores })).ok);
    });
  });
}
