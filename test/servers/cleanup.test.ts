/**
 * The test servers leave nothing behind in the temporary directory: each runs in a scratch directory of
 * its own (its log, its TMPDIR, the JVM's java.io.tmpdir, the MiniDFSCluster's base directory) that is
 * removed when it stops, and when the test process that started it is interrupted. Each case points
 * TMPDIR (which os.tmpdir() and so the servers' scratch directories follow) at a fresh directory and
 * checks that it is empty afterwards.
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, beforeEach, describe, it } from "node:test";
import { HdfsStore } from "../../src/storage/hdfs.js";
import { startHdfsCluster } from "./hdfs-server.js";
import { serverSkip } from "./process.js";
import { startS3Server } from "./s3-server.js";

const skip = serverSkip("the test servers");

/** True while `pid` runs (a zombie, killed but not reaped, counts as gone). */
function alive(pid: number): boolean {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

describe("test servers: nothing left in the temporary directory", { skip, timeout: 300_000 }, () => {
  let fresh: string;
  let savedTmpdir: string | undefined;
  const outerTmpdir = tmpdir();
  beforeEach(() => {
    fresh = mkdtempSync(join(outerTmpdir, "spk-tmpdir-check-"));
    savedTmpdir = process.env.TMPDIR;
    process.env.TMPDIR = fresh;
  });
  afterEach(() => {
    if (savedTmpdir === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmpdir;
    rmSync(fresh, { recursive: true, force: true });
  });

  it("HDFS: a start/stop cycle with data written leaves the temporary directory empty", async () => {
    const c = await startHdfsCluster();
    try {
      assert.deepEqual(readdirSync(fresh), [c.scratch.split("/").pop()]);
      // Jetty unpacked the web apps into the JVM's java.io.tmpdir: the scratch directory's tmp/
      assert.ok(
        readdirSync(join(c.scratch, "tmp")).some((e) => e.startsWith("jetty-")),
        `no jetty-* directory in ${join(c.scratch, "tmp")}`,
      );
      const nn = `127.0.0.1:${c.nameNodeRpcPort}`;
      const store = new HdfsStore({ webhdfs: { [nn]: c.webHdfsUrl }, user: "spk-tester", env: {} });
      await store.write(`hdfs://${nn}/cleanup/file`, new Uint8Array(600_000).fill(7));
      await store.close();
      assert.ok(readdirSync(join(c.scratch, "dfs")).length > 0, "the cluster's base directory is empty");
    } finally {
      await c.stop();
    }
    assert.equal(alive(c.pid), false, "the cluster's JVM still runs");
    assert.deepEqual(readdirSync(fresh), []);
  });

  it("S3: a start/stop cycle leaves the temporary directory empty", async () => {
    const s3 = await startS3Server();
    try {
      assert.deepEqual(readdirSync(fresh), [s3.scratch.split("/").pop()]);
      await s3.createBucket("cleanup-check");
    } finally {
      await s3.stop();
    }
    assert.equal(alive(s3.pid), false, "moto still runs");
    assert.deepEqual(readdirSync(fresh), []);
  });

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it(`a test process ended by ${signal} kills its servers and leaves the temporary directory empty`, async () => {
      const servers = signal === "SIGINT" ? ["hdfs", "s3"] : ["s3"];
      const child = spawn(
        process.execPath,
        ["--import", "tsx", resolve("test/servers/start-and-wait.ts"), fresh, ...servers],
        // the child's own TMPDIR is the outer one (tsx keeps its cache there); it points it at `fresh` itself
        { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, TMPDIR: outerTmpdir } },
      );
      const exited = new Promise<NodeJS.Signals | null>((r) => child.once("exit", (_code, sig) => r(sig)));
      try {
        const first = await new Promise<string>((r, reject) => {
          createInterface({ input: child.stdout }).once("line", r);
          child.once("exit", (code) =>
            reject(new Error(`start-and-wait exited with ${code} before starting`)),
          );
        });
        const { pids, scratch } = JSON.parse(first) as { pids: number[]; scratch: string[] };
        assert.equal(pids.length, servers.length);
        assert.deepEqual(readdirSync(fresh).sort(), scratch.map((d) => d.split("/").pop()).sort());
        child.kill(signal);
        assert.equal(await exited, signal, "the test process did not end by the signal");
        for (const pid of pids) assert.equal(alive(pid), false, `server ${pid} still runs`);
        assert.deepEqual(readdirSync(fresh), []);
      } finally {
        // a failed check must not leave the child (and its servers) running
        if (child.exitCode === null && child.signalCode === null) {
          child.kill("SIGTERM");
          await exited;
        }
      }
    });
  }
});
