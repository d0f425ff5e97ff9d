/**
 * The default store registry: local files, S3 and HDFS, configured from options and the environment.
 *
 * Stores are created on first use, so a command that only touches local files never builds an AWS client
 * or reads HDFS settings.
 *
 * Environment variables read (options win; details in `docs/storage.md`):
 *
 * | variable | store | meaning |
 * | --- | --- | --- |
 * | `AWS_REGION`, `AWS_DEFAULT_REGION` | S3 | region (else the profile's; `us-east-1` with a custom endpoint) |
 * | `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL` | S3 | endpoint of an S3-compatible server |
 * | `AWS_PROFILE`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, … | S3 | the AWS SDK's default credential chain |
 * | `AWS_REQUEST_CHECKSUM_CALCULATION`, `AWS_RESPONSE_CHECKSUM_VALIDATION` | S3 | `WHEN_REQUIRED` for servers that reject the SDK's default checksums |
 * | `SAVEPOINT_KIT_S3_FORCE_PATH_STYLE` | S3 | `true`/`false`: path-style addressing (default: true iff a custom endpoint is set) |
 * | `SAVEPOINT_KIT_WEBHDFS` | HDFS | `nn:8020=http://host:9870,...`: WebHDFS address per NameNode (default `http://<nn host>:9870`) |
 * | `SAVEPOINT_KIT_HDFS_DEFAULT_FS` | HDFS | NameNode of `hdfs:///path` URIs, e.g. `hdfs://nn:8020` |
 * | `HADOOP_USER_NAME` | HDFS | user name sent as `user.name` (simple authentication) |
 * | `SAVEPOINT_KIT_HDFS_DELEGATION_TOKEN` | HDFS | delegation token (URL-safe string) sent as `delegation=` |
 */

import type { HdfsStoreOptions } from "./hdfs.js";
import { LazyStore } from "./lazy.js";
import { StoreRegistry } from "./registry.js";
import type { S3StoreOptions } from "./s3.js";
import type { StoreCapabilities } from "./store.js";

/** `S3Store`'s schemes and capabilities, so the SDK loads only when an S3 URI is used. */
export const S3_SCHEMES = ["s3", "s3a", "s3p"] as const;
export const S3_CAPABILITIES: StoreCapabilities = {
  serverSideCopy: true,
  atomicWrite: true,
  realDirectories: false,
  atomicRename: false,
};

/** `HdfsStore`'s schemes and capabilities. */
export const HDFS_SCHEMES = ["hdfs"] as const;
export const HDFS_CAPABILITIES: StoreCapabilities = {
  serverSideCopy: false,
  atomicWrite: true,
  realDirectories: true,
  atomicRename: true,
};

/** Options of {@link createDefaultRegistry}. */
export interface DefaultRegistryOptions {
  /** S3 store configuration (also serves `s3a://` and `s3p://`). */
  s3?: S3StoreOptions;
  /** HDFS store configuration. */
  hdfs?: HdfsStoreOptions;
  /** Environment to read defaults from (default `process.env`); passed to both stores unless they set their own. */
  env?: NodeJS.ProcessEnv;
}

/**
 * A registry serving `file://` (and plain paths), `s3://` / `s3a://` / `s3p://` (one S3 store) and
 * `hdfs://`. Each store is built on first use from `options` and the environment; close the registry to
 * release them.
 *
 * @example
 * const stores = createDefaultRegistry({ s3: { endpoint: "http://127.0.0.1:9000" } });
 * try {
 *   const { store, uri } = stores.resolve("s3a://bucket/savepoints/sp-1/_metadata");
 *   const bytes = await store.readAll(uri);
 * } finally {
 *   await stores.close();
 * }
 */
export function createDefaultRegistry(options: DefaultRegistryOptions = {}): StoreRegistry {
  const registry = new StoreRegistry();
  const env = options.env;
  registry.register(
    S3_SCHEMES,
    () =>
      new LazyStore(S3_SCHEMES, S3_CAPABILITIES, async () => {
        const { S3Store } = await import("./s3.js");
        return new S3Store({ ...(env ? { env } : {}), ...options.s3 });
      }),
  );
  registry.register(
    HDFS_SCHEMES,
    () =>
      new LazyStore(HDFS_SCHEMES, HDFS_CAPABILITIES, async () => {
        const { HdfsStore } = await import("./hdfs.js");
        return new HdfsStore({ ...(env ? { env } : {}), ...options.hdfs });
      }),
  );
  return registry;
}
