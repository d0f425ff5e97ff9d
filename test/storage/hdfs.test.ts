/**
 * The HDFS store against a real HDFS (Hadoop's MiniDFSCluster, started here on loopback with WebHDFS,
 * permissions on, a 256 KiB block size and a LISTSTATUS_BATCH page of 3 entries), plus HDFS-only checks:
 * configuration (WebHDFS map, default NameNode, user), RemoteException mapping, and the DataNode stopping
 * in the middle of a write and of a read.
 */

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { after, before, describe, it } from "node:test";
import {
  AlreadyExistsError,
  NotFoundError,
  PermissionDeniedError,
  StoreFaultError,
} from "../../src/errors.js";
import { createDefaultRegistry } from "../../src/storage/defaults.js";
import { HdfsStore, parseWebHdfsMap } from "../../src/storage/hdfs.js";
import type { LazyStore } from "../../src/storage/lazy.js";
import { mapRemoteException } from "../../src/storage/webhdfs-client.js";
import { type HdfsTestCluster, startHdfsCluster } from "../servers/hdfs-server.js";
import { serverSkip } from "../servers/process.js";
import { chunked, collect, pattern, rejectsWith, runStoreContract, sha256 } from "./contract.js";

const skip = serverSkip("the HDFS test cluster (MiniDFSCluster)");
const USER = "spk-tester";
const OTHER = "spk-other";

let cluster: HdfsTestCluster | undefined;
let starting: Promise<HdfsTestCluster> | undefined;
/** One MiniDFSCluster for the whole file. */
function hdfs(): Promise<HdfsTestCluster> {
  starting ??= startHdfsCluster({ blockSize: 256 * 1024, lsLimit: 3 }).then((c) => {
    cluster = c;
    return c;
  });
  return starting;
}

function nn(c: HdfsTestCluster): string {
  return `127.0.0.1:${c.nameNodeRpcPort}`;
}

function storeFor(c: HdfsTestCluster, user = USER): HdfsStore {
  return new HdfsStore({ webhdfs: { [nn(c)]: c.webHdfsUrl }, user, env: {} });
}

runStoreContract(
  "hdfs (MiniDFSCluster)",
  async () => {
    const c = await hdfs();
    const run = randomBytes(4).toString("hex");
    const base = `hdfs://${nn(c)}/contract-${run}`;
    return {
      store: storeFor(c),
      base,
      boundary: c.blockSize,
      listPageSize: c.lsLimit,
      async forbidden() {
        // A file and a directory owned by another user, closed to everyone else.
        const other = storeFor(c, OTHER);
        const secret = `hdfs://${nn(c)}/private-${run}/secret`;
        await other.write(secret, pattern(10));
        await other.clientFor(secret).setPermission(`/private-${run}/secret`, "600");
        await other.clientFor(secret).setPermission(`/private-${run}`, "755");
        await other.close();
        return { readUri: secret, writeUri: `hdfs://${nn(c)}/private-${run}/new` };
      },
    };
  },
  { skip, timeoutMs: 120_000 },
);

describe("hdfs: configuration and errors", { skip, timeout: 300_000 }, () => {
  let c: HdfsTestCluster;
  before(async () => {
    c = await hdfs();
  });

  it("resolves hdfs:/// through the default NameNode and the WebHDFS map from the environment", async () => {
    const env = {
      SAVEPOINT_KIT_WEBHDFS: `${nn(c)}=${c.webHdfsUrl}`,
      SAVEPOINT_KIT_HDFS_DEFAULT_FS: `hdfs://${nn(c)}`,
      HADOOP_USER_NAME: USER,
    };
    const registry = createDefaultRegistry({ env });
    try {
      const { store, uri } = registry.resolve("hdfs:///cfg/a//b/../file.bin");
      assert.equal(uri, "hdfs:///cfg/a/file.bin");
      await store.write(uri, pattern(100));
      const s = await store.stat(uri);
      assert.equal(s?.uri, "hdfs:///cfg/a/file.bin");
      // The same file through the explicit NameNode authority.
      const explicit = registry.resolve(`hdfs://${nn(c)}/cfg/a/file.bin`);
      assert.equal((await explicit.store.stat(explicit.uri))?.size, 100);
      // Owned by HADOOP_USER_NAME.
      // (The registry hands out a LazyStore that loads the HdfsStore on first use.)
      const hdfsStore = (await (store as LazyStore).store()) as HdfsStore;
      const st = await hdfsStore.clientFor(uri).getFileStatus("/cfg/a/file.bin");
      assert.equal(st?.owner, USER);
    } finally {
      await registry.close();
    }
  });

  it("defaults the WebHDFS address to http://<namenode host>:9870 and needs a default FS for hdfs:///", () => {
    const store = new HdfsStore({ env: {} });
    assert.equal(store.webHdfsUrl("nn.example.com:8020"), "http://nn.example.com:9870");
    assert.equal(store.webHdfsUrl("nn.example.com"), "http://nn.example.com:9870");
    assert.throws(() => store.webHdfsUrl(""), /SAVEPOINT_KIT_HDFS_DEFAULT_FS/);
    const mapped = new HdfsStore({
      env: { SAVEPOINT_KIT_WEBHDFS: "nn:8020=http://127.0.0.1:50070, nn2=https://x:9871" },
      defaultFs: "nn:8020",
    });
    assert.equal(mapped.webHdfsUrl(""), "http://127.0.0.1:50070");
    assert.equal(mapped.webHdfsUrl("nn2:8020"), "https://x:9871");
    assert.deepEqual(parseWebHdfsMap("a:1=http://h:2"), { "a:1": "http://h:2" });
  });

  it("rename between two NameNodes declines (false) without a request, so that relocate copies", async () => {
    const requests: string[] = [];
    const store = new HdfsStore({
      webhdfs: { "nn1:8020": "http://127.0.0.1:1", "nn2:8020": "http://127.0.0.1:2" },
      fetch: async (input) => {
        requests.push(String(input));
        throw new Error("no request expected");
      },
      env: {},
    });
    assert.equal(await store.rename("hdfs://nn1:8020/a/f", "hdfs://nn2:8020/b/f"), false);
    assert.deepEqual(requests, []);
  });

  it("maps RemoteException bodies to typed errors", () => {
    const body = (exception: string) =>
      JSON.stringify({ RemoteException: { exception, message: "m\nstack" } });
    assert.ok(mapRemoteException(404, body("FileNotFoundException"), "hdfs:///x") instanceof NotFoundError);
    assert.ok(
      mapRemoteException(403, body("AccessControlException"), "hdfs:///x") instanceof PermissionDeniedError,
    );
    assert.ok(
      mapRemoteException(403, body("FileAlreadyExistsException"), "hdfs:///x") instanceof AlreadyExistsError,
    );
    const fault = mapRemoteException(500, body("IOException"), "hdfs:///x");
    assert.ok(fault instanceof StoreFaultError);
    assert.equal(fault.uri, "hdfs:///x");
    assert.ok(mapRemoteException(401, "", "hdfs:///x") instanceof PermissionDeniedError);
  });

  it("sends the delegation token instead of user.name, and drops extra headers on a redirect to another host", async () => {
    const seen: { host: string; url: string; auth: string | undefined }[] = [];
    // A fake NameNode on 127.0.0.1 redirecting OPEN to a fake DataNode on "localhost" (another host).
    const dn = createServer((req, res) => {
      seen.push({ host: "dn", url: req.url ?? "", auth: req.headers.authorization });
      res.writeHead(200, { "content-length": "3" });
      res.end("abc");
    });
    await new Promise<void>((r) => dn.listen(0, "127.0.0.1", () => r()));
    const dnPort = (dn.address() as { port: number }).port;
    const nnServer = createServer((req, res) => {
      seen.push({ host: "nn", url: req.url ?? "", auth: req.headers.authorization });
      const url = new URL(req.url ?? "/", "http://x");
      if (url.searchParams.get("op") === "GETFILESTATUS") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify({ FileStatus: { type: "FILE", length: 3, modificationTime: 0, pathSuffix: "" } }),
        );
        return;
      }
      res.writeHead(307, { location: `http://localhost:${dnPort}/webhdfs/v1/f?op=OPEN&delegation=TOKEN` });
      res.end();
    });
    await new Promise<void>((r) => nnServer.listen(0, "127.0.0.1", () => r()));
    const nnPort = (nnServer.address() as { port: number }).port;
    try {
      const store = new HdfsStore({
        webhdfs: { "fake:8020": `http://127.0.0.1:${nnPort}` },
        delegationToken: "TOKEN",
        user: "ignored-with-token",
        headers: () => ({ authorization: "Negotiate secret" }),
        env: {},
      });
      assert.equal(Buffer.from(await store.readAll("hdfs://fake:8020/f")).toString(), "abc");
      const toNn = seen.filter((s) => s.host === "nn");
      assert.ok(
        toNn.length > 0 && toNn.every((s) => s.auth === "Negotiate secret"),
        "NameNode gets the header",
      );
      assert.ok(
        toNn.every((s) => s.url.includes("delegation=TOKEN") && !s.url.includes("user.name")),
        "token, not user",
      );
      const toDn = seen.filter((s) => s.host === "dn");
      assert.equal(toDn.length, 1);
      assert.equal(toDn[0]?.auth, undefined, "the header must not follow the redirect to another host");
    } finally {
      dn.close();
      nnServer.close();
    }
  });
});

describe("hdfs: the DataNode stops mid-transfer", { skip, timeout: 300_000 }, () => {
  let c: HdfsTestCluster;
  let store: HdfsStore;
  let base: string;
  before(async () => {
    c = await hdfs();
    store = new HdfsStore({
      webhdfs: { [nn(c)]: c.webHdfsUrl },
      user: USER,
      env: {},
      requestTimeoutMs: 20_000,
      readRetries: 2,
    });
    base = `hdfs://${nn(c)}/faults-${randomBytes(4).toString("hex")}`;
  });
  after(async () => {
    // Leave the cluster usable for whatever runs next.
    await c?.command("restartDataNode", 120_000).catch(() => {});
    await store?.close();
  });

  it("a write fails with StoreFaultError and leaves no file (nor a temporary one)", async () => {
    const uri = `${base}/w/big.bin`;
    const bytes = pattern(8 * c.blockSize, 41);
    let stopped = false;
    const source = async function* () {
      let sent = 0;
      for await (const chunk of chunked(bytes, [64 * 1024])) {
        yield chunk;
        sent += chunk.byteLength;
        if (!stopped && sent >= 3 * c.blockSize) {
          stopped = true;
          await c.command("stopDataNode");
        }
      }
    };
    try {
      await rejectsWith(store.write(uri, source()), StoreFaultError, uri);
      assert.ok(stopped, "the DataNode was stopped during the write");
      assert.equal(await store.stat(uri), null, "no file may appear under the final name");
      const left: string[] = [];
      for await (const f of store.list(`${base}/w`)) left.push(f.uri);
      assert.deepEqual(left, [], "the temporary file is cleaned up");
    } finally {
      await c.command("restartDataNode", 120_000);
    }
  });

  it("a read fails with StoreFaultError before the end, never a short success", async () => {
    const uri = `${base}/r/big.bin`;
    const bytes = pattern(32 * c.blockSize, 42); // 8 MiB: more than socket buffers can hold
    await store.write(uri, bytes);
    assert.equal(sha256(await store.readAll(uri)), sha256(bytes));
    let received = 0;
    let stopped = false;
    let err: unknown;
    try {
      err = await (async () => {
        try {
          for await (const chunk of store.createReadStream(uri)) {
            received += (chunk as Uint8Array).byteLength;
            if (!stopped && received >= c.blockSize) {
              stopped = true;
              await c.command("stopDataNode");
            }
          }
        } catch (e) {
          return e;
        }
        return undefined;
      })();
    } finally {
      if (stopped) await c.command("restartDataNode", 120_000);
    }
    assert.ok(stopped, "the DataNode was stopped during the read");
    assert.ok(err instanceof StoreFaultError, `expected StoreFaultError, got ${String(err)}`);
    assert.ok(received < bytes.byteLength, "the stream must not end as if complete");
    // Back up: the file is whole.
    assert.equal(sha256(await collect(store.createReadStream(uri))), sha256(bytes));
  });
});

after(async () => {
  await cluster?.stop();
});
