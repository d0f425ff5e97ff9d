/**
 * Issue #5, the S3 stall: `savepoint relocate` S3 -> S3 as a separate process (the CLI), run by a caller
 * that waits synchronously (`spawnSync`, as the relocate benchmark does), against the test S3 server
 * started by this process. It hung with eight copy requests unanswered: the server's request log went
 * to a pipe that only this process's (blocked) event loop drained; once the socket buffer was full,
 * moto's logging call blocked under its logging lock and every request thread stopped. The server
 * helper now logs to a file (test/servers/process.ts).
 *
 * Enough objects for well over the few hundred log lines that filled the pipe; a hang fails after
 * `spawnSync`'s timeout instead of blocking the suite. Needs moto (skipped with SAVEPOINT_KIT_SKIP_SERVERS=1).
 */

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import pMap from "p-map";
import { writeMetadata } from "../../src/formats/metadata/index.js";
import type { CheckpointMetadata, OperatorSubtaskState } from "../../src/formats/metadata/model.js";
import { serverSkip } from "../servers/process.js";
import { type S3TestServer, startS3Server } from "../servers/s3-server.js";

const skip = serverSkip("the S3 test server (moto)");
const OBJECTS = 200;
const CLI_TIMEOUT_MS = 120_000;

/** A canonical savepoint whose keyed state is `count` small files, referenced relatively. */
function savepointOf(names: readonly string[], size: number): CheckpointMetadata {
  const subtasks: OperatorSubtaskState[] = names.map((name, i) => ({
    kind: "OperatorSubtaskState",
    subtaskIndex: i,
    managedOperatorState: null,
    rawOperatorState: null,
    managedKeyedState: {
      kind: "KeyGroupsSavepointStateHandle",
      tag: 7,
      keyGroupRange: { start: i, end: i },
      offsets: [0n],
      delegate: { kind: "RelativeFileStateHandle", relativePath: name, stateSize: BigInt(size) },
      stateHandleId: null,
    },
    rawKeyedState: null,
    inputChannelState: [],
    resultSubpartitionState: [],
  }));
  return {
    version: 6,
    checkpointId: 1n,
    masterStates: [],
    operatorStates: [
      {
        operatorId: "d0a4e4912796d2114f5e0db4e8dcf52a",
        name: "word-stats",
        uid: "word-stats",
        parallelism: names.length,
        maxParallelism: Math.max(128, names.length),
        coordinatorState: null,
        fullyFinished: false,
        subtaskStates: subtasks,
      },
    ],
    properties: Uint8Array.of(0xac, 0xed, 0x00, 0x05, 0x70),
  };
}

/** Runs the CLI (from source, through tsx) synchronously: this process's event loop is blocked meanwhile. */
function cliSync(args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
    env,
    encoding: "utf8",
    timeout: CLI_TIMEOUT_MS,
    killSignal: "SIGKILL",
  });
}

describe("S3 -> S3 relocate by the CLI while the caller waits synchronously", { skip }, () => {
  let s3: S3TestServer;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    s3 = await startS3Server();
    await s3.createBucket("sync");
    const size = 1024;
    const names = Array.from({ length: OBJECTS }, (_, i) => `state-${String(i).padStart(5, "0")}`);
    await pMap(
      names,
      (name, i) =>
        s3.client.send(
          new PutObjectCommand({ Bucket: "sync", Key: `src/${name}`, Body: new Uint8Array(size).fill(i) }),
        ),
      { concurrency: 8 },
    );
    await s3.client.send(
      new PutObjectCommand({
        Bucket: "sync",
        Key: "src/_metadata",
        Body: writeMetadata(savepointOf(names, size)),
      }),
    );
    env = {
      ...process.env,
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_REGION: s3.region,
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    };
  });
  after(async () => {
    await s3?.stop();
  });

  it(`copies ${OBJECTS} objects server-side and the copy verifies`, () => {
    const r = cliSync(["relocate", "s3://sync/src", "s3://sync/dst", "--json"], env);
    assert.equal(
      r.signal,
      null,
      `relocate did not finish in ${CLI_TIMEOUT_MS} ms (the S3 server stopped answering?)\n${r.stderr}`,
    );
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { totals: { files: number; copied: number } };
    assert.equal(report.totals.files, OBJECTS);
    assert.equal(report.totals.copied, OBJECTS);
    const v = cliSync(["verify", "s3://sync/dst"], env);
    assert.equal(v.signal, null, "verify did not finish");
    assert.equal(v.status, 0, v.stdout + v.stderr);
  });
});
