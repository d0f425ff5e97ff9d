import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { syncFileSystem, syncfsReportsErrors } from "../../src/storage/sync-file-system.js";

describe("syncFileSystem", () => {
  it("is used only on Linux 5.8 or later, where syncfs reports write-back errors", () => {
    assert.equal(syncfsReportsErrors("linux", "5.8.0"), true);
    assert.equal(syncfsReportsErrors("linux", "6.18.44-fc-v445"), true);
    assert.equal(syncfsReportsErrors("linux", "10.0.1"), true);
    assert.equal(syncfsReportsErrors("linux", "5.7.19"), false);
    assert.equal(syncfsReportsErrors("linux", "4.19.0-26-amd64"), false);
    assert.equal(syncfsReportsErrors("linux", "weird"), false);
    assert.equal(syncfsReportsErrors("darwin", "23.4.0"), false);
    assert.equal(syncfsReportsErrors("win32", "10.0.22631"), false);
  });

  it("syncs the file system of a path where it can; answers false (never throws) where it cannot", async () => {
    const dir = mkdtempSync(join(tmpdir(), "spk-syncfs-"));
    try {
      writeFileSync(join(dir, "f"), "x");
      // true here only where `sync -f` exists and the kernel qualifies (the project's Linux machines)
      assert.equal(await syncFileSystem(join(dir, "f")), syncfsReportsErrors());
      assert.equal(await syncFileSystem(join(dir, "no-such-file")), false, "sync -f fails: nothing promised");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
