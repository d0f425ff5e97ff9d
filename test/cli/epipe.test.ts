/**
 * The CLI binary when its reader goes away (`savepoint inspect --json … | head`): the output ends
 * quietly, exit code 0, nothing on standard error (it used to end with "internal error: write EPIPE").
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, it } from "node:test";
import { readMetadata, writeMetadata } from "../../src/formats/metadata/index.js";
import { listFixtures } from "../helpers/fixtures.js";

const scratch = mkdtempSync(join(tmpdir(), "savepoint-epipe-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

it("inspect --json into a pipe closed after the first chunk exits 0 without an error", async () => {
  const f = listFixtures().find((x) => x.id.endsWith("savepoint-canonical-rocksdb"));
  assert.ok(f, "fixture");
  // a snapshot whose report is far larger than a pipe's buffer (64 KiB)
  const m = readMetadata(readFileSync(f.metadataFile));
  const many = Array.from({ length: 400 }, (_, i) =>
    m.operatorStates.map((op) => ({
      ...op,
      operatorId: `${i.toString(16).padStart(8, "0")}${op.operatorId.slice(8)}`,
    })),
  ).flat();
  const dir = join(scratch, "big");
  mkdirSync(dir);
  writeFileSync(join(dir, "_metadata"), writeMetadata({ ...m, operatorStates: many }));

  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "inspect", "--json", dir], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
  });
  let first = "";
  await new Promise<void>((resolve) => {
    child.stdout.once("data", (d: Buffer) => {
      first = d.toString("utf8");
      child.stdout.destroy(); // the reader goes away, as `head` does
      resolve();
    });
  });
  const code = await new Promise<number | null>((resolve) => child.on("close", (c) => resolve(c)));
  assert.match(first, /^\{\n {2}"metadataUri"/);
  assert.equal(stderr, "");
  assert.equal(code, 0);
});
