/**
 * A real S3-compatible server for the tests: moto's server mode (PyPI `moto[s3,server]`, installed into
 * `.cache/test-servers/venv` by `scripts/install-test-servers.sh`), on a free port of 127.0.0.1.
 *
 * moto implements what the S3 store uses: multipart upload and AbortMultipartUpload, UploadPartCopy with
 * CopySourceRange, ListObjectsV2 with MaxKeys/continuation tokens, ranged GetObject, CopyObject. It keeps
 * everything in memory and does not enforce ACLs/policies by default, so permission mapping is tested
 * against a stub (see `startForbiddenS3Stub`).
 */

import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { freePort, spawnServer, TEST_SERVERS_DIR, waitFor } from "./process.js";

/** A running test S3 server. */
export interface S3TestServer {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  port: number;
  /** Static test credentials the server accepts. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  region: string;
  /** Process id of the server (the leader of its process group). */
  pid: number;
  /** The server's scratch directory (see `spawnServer`); gone after `stop()`. */
  scratch: string;
  /** A client for test set-up and checks (not through any fault proxy). */
  client: S3Client;
  /** Creates a bucket (idempotent for the tests' unique names). */
  createBucket(name: string): Promise<void>;
  /** Stops the server and its process tree, and removes its scratch directory (log, `TMPDIR`). */
  stop(): Promise<void>;
}

const MOTO = join(TEST_SERVERS_DIR, "venv/bin/moto_server");

/** Starts moto on a free loopback port and waits until it answers (at most `timeoutMs`, default 60 s). */
export async function startS3Server(timeoutMs = 60_000): Promise<S3TestServer> {
  const port = await freePort();
  const server = spawnServer(MOTO, ["-H", "127.0.0.1", "-p", String(port)], {
    env: { ...process.env, MOTO_PORT: String(port) },
  });
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitFor(
      "moto S3 server",
      async () => {
        const res = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(2000) });
        await res.body?.cancel();
        return res.status < 500;
      },
      timeoutMs,
      server.child,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${await server.stop()}`);
  }
  const credentials = { accessKeyId: "testing", secretAccessKey: "testing" };
  const region = "us-east-1";
  const client = new S3Client({ endpoint, region, credentials, forcePathStyle: true });
  return {
    endpoint,
    port,
    credentials,
    region,
    pid: server.child.pid as number,
    scratch: server.scratch,
    client,
    async createBucket(name: string) {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    },
    async stop() {
      client.destroy();
      await server.stop();
    },
  };
}

/** A loopback HTTP server answering every request with S3's 403 AccessDenied. */
export async function startForbiddenS3Stub(): Promise<{ endpoint: string; stop: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const body =
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message>' +
        "<RequestId>stub</RequestId><HostId>stub</HostId></Error>";
      res.writeHead(403, { "content-type": "application/xml", "x-amz-request-id": "stub" });
      res.end(req.method === "HEAD" ? undefined : body);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/**
 * The Flink options that point `flink-s3-fs-hadoop` at an S3-compatible server: Flink's S3 factory
 * (AbstractS3FileSystemFactory / S3FileSystemFactory) hands every `s3.*` key to Hadoop's S3A as
 * `fs.s3a.*` (`s3.access-key` and `s3.secret-key` mirrored to `fs.s3a.access.key` / `fs.s3a.secret.key`).
 */
export function flinkS3Config(server: S3TestServer): Record<string, string> {
  return {
    "s3.endpoint": server.endpoint,
    "s3.endpoint.region": server.region,
    "s3.path.style.access": "true",
    "s3.connection.ssl.enabled": "false",
    "s3.access-key": server.credentials.accessKeyId,
    "s3.secret-key": server.credentials.secretAccessKey,
  };
}

/** The options of our S3 store (`S3StoreOptions`) that reach this server. */
export function s3StoreOptions(server: S3TestServer) {
  return {
    endpoint: server.endpoint,
    region: server.region,
    credentials: server.credentials,
    forcePathStyle: true,
  };
}
