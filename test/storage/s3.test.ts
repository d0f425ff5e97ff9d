/**
 * The S3 store against a real S3-compatible server (moto, started here on loopback), plus S3-only
 * checks: the UploadPartCopy path, aborted multipart uploads, error mapping of a 403 server, and faults
 * injected by a TCP proxy between the store and the server.
 */

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { HeadObjectCommand, ListMultipartUploadsCommand } from "@aws-sdk/client-s3";
import { NotFoundError, PermissionDeniedError, StoreFaultError } from "../../src/errors.js";
import { createDefaultRegistry } from "../../src/storage/defaults.js";
import { S3Store, type S3StoreOptions } from "../../src/storage/s3.js";
import { serverSkip } from "../servers/process.js";
import { type S3TestServer, startForbiddenS3Stub, startS3Server } from "../servers/s3-server.js";
import { startTcpProxy, type TcpProxy } from "../servers/tcp-proxy.js";
import { assertBytes, chunked, collect, pattern, rejectsWith, runStoreContract, sha256 } from "./contract.js";

const skip = serverSkip("the S3 test server (moto)");
const MiB = 1024 * 1024;
/** S3's minimum part size; moto enforces it too. */
const PART = 5 * MiB;

let server: S3TestServer | undefined;
let starting: Promise<S3TestServer> | undefined;
/** One moto for the whole file (started by the first suite that needs it, stopped at the end). */
function s3(): Promise<S3TestServer> {
  starting ??= startS3Server().then((s) => {
    server = s;
    return s;
  });
  return starting;
}

function storeOptions(srv: S3TestServer, endpoint = srv.endpoint): S3StoreOptions {
  return {
    endpoint,
    region: srv.region,
    credentials: srv.credentials,
    forcePathStyle: true,
    partSize: PART,
    queueSize: 2,
    listPageSize: 3,
    multipartCopyThreshold: 2 * PART,
    copyPartSize: PART,
  };
}

async function freshBucket(srv: S3TestServer): Promise<string> {
  const bucket = `spk-${randomBytes(5).toString("hex")}`;
  await srv.createBucket(bucket);
  return bucket;
}

runStoreContract(
  "s3 (moto)",
  async () => {
    const srv = await s3();
    const bucket = await freshBucket(srv);
    return {
      store: new S3Store(storeOptions(srv)),
      base: `s3://${bucket}/run`,
      boundary: PART,
      listPageSize: 3,
      async forbidden() {
        // moto does not enforce ACLs or policies, so the refusal comes from a stub that answers every
        // request like S3 does for a denied key (403 AccessDenied). Same store code, another endpoint.
        return { skip: "moto does not enforce permissions; see 's3: error mapping' for the 403 stub" };
      },
    };
  },
  { skip, timeoutMs: 120_000 },
);

describe("s3: specifics against moto", { skip, timeout: 300_000 }, () => {
  let srv: S3TestServer;
  let bucket: string;
  let store: S3Store;
  before(async () => {
    srv = await s3();
    bucket = await freshBucket(srv);
    store = new S3Store(storeOptions(srv));
  });
  after(async () => {
    await store?.close();
  });

  it("copies above the threshold with UploadPartCopy, byte for byte", async () => {
    const src = `s3://${bucket}/mp/src.bin`;
    const dst = `s3a://${bucket}/mp/dst.bin`; // another scheme of the same store
    const bytes = pattern(2 * PART + 12345, 21);
    await store.write(src, chunked(bytes));
    await store.copy(src, dst);
    const head = await srv.client.send(new HeadObjectCommand({ Bucket: bucket, Key: "mp/dst.bin" }));
    // A multipart object's ETag ends in -<parts>: proof the part-copy path ran (3 parts of 5 MiB).
    assert.match(head.ETag ?? "", /-3"?$/, `ETag ${head.ETag} is not a 3-part ETag`);
    assert.equal(sha256(await store.readAll(dst)), sha256(bytes));
    assert.equal((await store.stat(dst))?.uri, dst);
  });

  it("a failed multipart upload is aborted and leaves no object", async () => {
    const uri = `s3://${bucket}/abort/x.bin`;
    const failing = async function* () {
      yield pattern(PART + 100, 1); // at least one part goes up
      await new Promise((r) => setTimeout(r, 200));
      throw new Error("source broke");
    };
    await assert.rejects(store.write(uri, failing()), StoreFaultError);
    assert.equal(await store.stat(uri), null);
    const uploads = await srv.client.send(
      new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: "abort/" }),
    );
    assert.equal(uploads.Uploads?.length ?? 0, 0, "the multipart upload must be aborted");
  });

  it("serves s3, s3a and s3p from one store via the default registry, configured from the environment", async () => {
    const env = {
      AWS_ENDPOINT_URL_S3: srv.endpoint,
      AWS_REGION: srv.region,
      AWS_ACCESS_KEY_ID: srv.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: srv.credentials.secretAccessKey,
    };
    const saved = { ...process.env };
    Object.assign(process.env, env); // the SDK's credential chain reads process.env
    const registry = createDefaultRegistry({ env });
    try {
      const a = registry.resolve(`s3://${bucket}/reg/one`);
      const b = registry.resolve(`s3a://${bucket}/reg/one`);
      const c = registry.resolve(`s3p://${bucket}/reg/one`);
      assert.equal(a.store, b.store);
      assert.equal(a.store, c.store);
      await a.store.writeAtomic(a.uri, pattern(10));
      assertBytes(await c.store.readAll(c.uri), pattern(10));
      const listed: string[] = [];
      for await (const f of b.store.list(`s3a://${bucket}/reg`)) listed.push(f.uri);
      assert.deepEqual(listed, [`s3a://${bucket}/reg/one`]);
    } finally {
      await registry.close();
      for (const k of Object.keys(env)) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    }
  });

  it("a missing bucket is NotFoundError; listing it yields nothing", async () => {
    const uri = "s3://spk-no-such-bucket-here/x";
    await rejectsWith(store.readAll(uri), NotFoundError, uri);
    const out: unknown[] = [];
    for await (const f of store.list("s3://spk-no-such-bucket-here/dir")) out.push(f);
    assert.equal(out.length, 0);
  });

  it("works with checksums set to WHEN_REQUIRED (for servers that reject the SDK defaults)", async () => {
    const s = new S3Store({
      ...storeOptions(srv),
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
    try {
      const uri = `s3://${bucket}/cksum/a`;
      const bytes = pattern(PART + 7, 5);
      await s.write(uri, chunked(bytes));
      await s.writeAtomic(`${uri}.small`, pattern(9));
      assert.equal(sha256(await s.readAll(uri)), sha256(bytes));
    } finally {
      await s.close();
    }
  });
});

describe("s3: error mapping (403 stub on loopback)", { timeout: 60_000 }, () => {
  let stub: { endpoint: string; stop: () => Promise<void> };
  let store: S3Store;
  before(async () => {
    stub = await startForbiddenS3Stub();
    store = new S3Store({
      endpoint: stub.endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "k", secretAccessKey: "s" },
      maxAttempts: 1,
    });
  });
  after(async () => {
    await store?.close();
    await stub?.stop();
  });

  it("maps 403 AccessDenied to PermissionDeniedError naming the URI, for every operation", async () => {
    const uri = "s3://locked/secret/_metadata";
    await rejectsWith(store.stat(uri), PermissionDeniedError, uri);
    await rejectsWith(store.readAll(uri), PermissionDeniedError, uri);
    await rejectsWith(store.readRange(uri, 0, 4), PermissionDeniedError, uri);
    await rejectsWith(collect(store.createReadStream(uri)), PermissionDeniedError, uri);
    await rejectsWith(store.write(uri, pattern(10)), PermissionDeniedError, uri);
    await rejectsWith(store.writeAtomic(uri, pattern(10)), PermissionDeniedError, uri);
    await rejectsWith(store.delete(uri), PermissionDeniedError, uri);
    await rejectsWith(
      (async () => {
        for await (const _ of store.list("s3://locked/secret")) {
          // nothing
        }
      })(),
      PermissionDeniedError,
      "s3://locked/secret",
    );
  });

  it("maps a server that is not there to StoreFaultError", async () => {
    const dead = new S3Store({
      endpoint: "http://127.0.0.1:9", // discard port: connection refused
      region: "us-east-1",
      credentials: { accessKeyId: "k", secretAccessKey: "s" },
      maxAttempts: 1,
    });
    try {
      await rejectsWith(dead.readAll("s3://b/k"), StoreFaultError, "s3://b/k");
    } finally {
      await dead.close();
    }
  });
});

describe("s3: faults mid-transfer (TCP proxy between the store and moto)", { skip, timeout: 300_000 }, () => {
  let srv: S3TestServer;
  let bucket: string;
  let proxy: TcpProxy;
  let store: S3Store;
  const big = pattern(3 * PART + 333, 31);
  before(async () => {
    srv = await s3();
    bucket = await freshBucket(srv);
    proxy = await startTcpProxy(srv.port);
    store = new S3Store({ ...storeOptions(srv, `http://127.0.0.1:${proxy.port}`), maxAttempts: 2 });
    // Seed through the direct connection.
    const direct = new S3Store(storeOptions(srv));
    await direct.write(`s3://${bucket}/seed/big.bin`, big);
    await direct.close();
  });
  after(async () => {
    await store?.close();
    await proxy?.close();
  });

  it("a read whose connection is cut mid-body resumes with a Range request and returns the exact bytes", async () => {
    proxy.setDown(false);
    let cut = false;
    proxy.onBytes("down", 4 * MiB, () => {
      cut = true;
      proxy.cutAll();
    });
    const before = proxy.connections;
    const got = await collect(store.createReadStream(`s3://${bucket}/seed/big.bin`));
    assert.ok(cut, "the connection was cut during the read");
    assert.ok(proxy.connections >= before + 2, "the read went on over a new connection");
    assert.equal(got.byteLength, big.byteLength);
    assert.equal(sha256(got), sha256(big));
  });

  it("a read whose server stays down fails with StoreFaultError, never a short success", async () => {
    proxy.setDown(false);
    proxy.onBytes("down", 3 * MiB, () => {
      proxy.setDown(true);
      proxy.cutAll();
    });
    let received = 0;
    const stream = store.createReadStream(`s3://${bucket}/seed/big.bin`);
    const err = await (async () => {
      try {
        for await (const c of stream) received += (c as Uint8Array).byteLength;
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    proxy.setDown(false);
    assert.ok(err instanceof StoreFaultError, `expected StoreFaultError, got ${String(err)}`);
    assert.ok(received < big.byteLength, "the stream must not end as if complete");
  });

  it("an upload whose connection is cut mid-part either retries to a complete object or leaves none", async () => {
    const uri = `s3://${bucket}/fault/up-cut.bin`;
    proxy.setDown(false);
    proxy.onBytes("up", 2 * MiB, () => proxy.cutAll());
    let failed: unknown;
    try {
      await store.write(uri, chunked(big));
    } catch (e) {
      failed = e;
    }
    const s = await new S3Store(storeOptions(srv)).stat(uri);
    if (failed) {
      assert.ok(failed instanceof StoreFaultError, `expected StoreFaultError, got ${String(failed)}`);
      assert.equal(s, null, "a failed upload must not leave an object");
    } else {
      assert.equal(s?.size, big.byteLength);
      const direct = new S3Store(storeOptions(srv));
      assert.equal(sha256(await direct.readAll(uri)), sha256(big));
      await direct.close();
    }
  });

  it("an upload whose server goes down mid-transfer fails with StoreFaultError and leaves no object", async () => {
    const uri = `s3://${bucket}/fault/up-down.bin`;
    proxy.setDown(false);
    proxy.onBytes("up", 6 * MiB, () => {
      proxy.setDown(true);
      proxy.cutAll();
    });
    await rejectsWith(store.write(uri, chunked(big)), StoreFaultError, uri);
    proxy.setDown(false);
    const direct = new S3Store(storeOptions(srv));
    assert.equal(await direct.stat(uri), null, "a failed upload must not leave an object");
    await direct.close();
  });

  it("a server-side multipart copy cut mid-way fails typed or completes whole", async () => {
    const dst = `s3://${bucket}/fault/copy.bin`;
    proxy.setDown(false);
    // Cut once the first requests (HEAD, create, part copies) have gone out.
    proxy.onBytes("up", 2000, () => {
      proxy.setDown(true);
      proxy.cutAll();
    });
    let failed: unknown;
    try {
      await store.copy(`s3://${bucket}/seed/big.bin`, dst);
    } catch (e) {
      failed = e;
    }
    proxy.setDown(false);
    const direct = new S3Store(storeOptions(srv));
    const s = await direct.stat(dst);
    if (failed) {
      assert.ok(failed instanceof StoreFaultError, `expected StoreFaultError, got ${String(failed)}`);
      assert.equal(s, null);
    } else {
      assert.equal(sha256(await direct.readAll(dst)), sha256(big));
    }
    await direct.close();
  });
});

after(async () => {
  await server?.stop();
});
