/**
 * Both remote stores for one `describe` block: the S3 test server (moto) with a fresh bucket and an
 * HDFS MiniDFSCluster, started together in `before`, a store registry over both, and everything
 * stopped in `after`. Used by the suites that move snapshots between local disk, S3 and HDFS.
 */

import { randomBytes } from "node:crypto";
import { after, before } from "node:test";
import { createDefaultRegistry } from "../../src/storage/defaults.js";
import type { StoreRegistry } from "../../src/storage/registry.js";
import { type HdfsTestCluster, startHdfsCluster } from "./hdfs-server.js";
import { type S3TestServer, s3StoreOptions, startS3Server } from "./s3-server.js";

/** The started servers and the registry; fields other than `run` are set once `before` has run. */
export interface RemoteStores {
  s3: S3TestServer;
  hdfs: HdfsTestCluster;
  /** Resolves `s3://` (path-style, the server's credentials) and `hdfs://<nn>` (WebHDFS). */
  stores: StoreRegistry;
  /** `spk-<name>-<run>`, created empty. */
  bucket: string;
  /** The NameNode's authority, `127.0.0.1:<rpc port>`. */
  nn: string;
  /** 8 random hex digits naming this run (bucket, key and path prefixes). */
  run: string;
}

/**
 * Registers `before`/`after` hooks in the calling `describe` that start and stop both servers.
 * @param name names the bucket and the HDFS user (`spk-<name>`).
 * @param options `defaultFs`: also make the NameNode the registry's default file system.
 */
export function useRemoteStores(name: string, options: { defaultFs?: boolean } = {}): RemoteStores {
  const remote = { run: randomBytes(4).toString("hex") } as RemoteStores;
  before(async () => {
    [remote.s3, remote.hdfs] = await Promise.all([startS3Server(), startHdfsCluster()]);
    remote.bucket = `spk-${name}-${remote.run}`;
    await remote.s3.createBucket(remote.bucket);
    remote.nn = `127.0.0.1:${remote.hdfs.nameNodeRpcPort}`;
    const { s3, hdfs, nn } = remote;
    remote.stores = createDefaultRegistry({
      s3: s3StoreOptions(s3),
      hdfs: {
        webhdfs: { [nn]: hdfs.webHdfsUrl },
        ...(options.defaultFs ? { defaultFs: `hdfs://${nn}` } : {}),
        user: `spk-${name}`,
      },
    });
  });
  after(async () => {
    await remote.stores?.close();
    await Promise.all([remote.s3?.stop(), remote.hdfs?.stop()]);
  });
  return remote;
}
