/**
 * The `savepoint` executable (`src/cli/bin.cts`): sizes libuv's thread pool unless the user did, then
 * runs the CLI once, with its output and exit code.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { it } from "node:test";
import { listFixtures } from "../helpers/fixtures.js";

/** Runs the executable under tsx; an `exit` hook preloaded reports UV_THREADPOOL_SIZE on stderr. */
function runBin(args: string[], env: NodeJS.ProcessEnv = {}) {
  const hook = `data:text/javascript,process.on("exit",()=>process.stderr.write("pool="+process.env.UV_THREADPOOL_SIZE+"\\n"))`;
  const base = { ...process.env };
  delete base.UV_THREADPOOL_SIZE;
  return spawnSync(process.execPath, ["--import", "tsx", "--import", hook, "src/cli/bin.cts", ...args], {
    encoding: "utf8",
    env: { ...base, ...env },
  });
}

it("runs the command once with its output and exit code, on a pool of 16 threads", () => {
  const f = listFixtures().find((x) => x.id.endsWith("savepoint-canonical-rocksdb"));
  assert.ok(f, "fixture");
  const r = runBin(["inspect", f.metadataDir]);
  assert.equal(r.status, 0, r.stderr);
  for (const op of f.expected.operators) {
    assert.equal(r.stdout.split(op.operatorId).length - 1, 1, `${op.operatorId} printed once`);
  }
  assert.match(r.stderr, /^pool=16$/m);

  const bad = runBin(["no-such-command"]);
  assert.equal(bad.status, 64);
  assert.match(bad.stderr, /savepoint: /);
});

it("keeps a thread-pool size the user set", () => {
  const r = runBin(["--help"], { UV_THREADPOOL_SIZE: "5" });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /^pool=5$/m);
});
