/**
 * Global flags that configure the stores (S3, HDFS) for one invocation. Flags win over the
 * environment variables documented in `docs/storage.md`, which win over built-in defaults.
 */

import type { Argv } from "yargs";
import type { DefaultRegistryOptions } from "../storage/defaults.js";
import { parseWebHdfsMap } from "../storage/webhdfs-map.js";

/** The parsed store flags. */
export interface StoreArgs {
  s3Endpoint?: string;
  s3Region?: string;
  s3Profile?: string;
  s3PathStyle?: boolean;
  s3ChecksumsWhenRequired?: boolean;
  webhdfs?: string[];
  hdfsDefaultFs?: string;
  hdfsUser?: string;
}

const GROUP = "Storage:";

/** Adds the store flags to a parser. */
export function withStoreOptions<T>(y: Argv<T>) {
  return y
    .option("s3-endpoint", {
      type: "string",
      group: GROUP,
      describe: "S3-compatible endpoint URL (else AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL)",
    })
    .option("s3-region", {
      type: "string",
      group: GROUP,
      describe: "S3 region (else AWS_REGION / the profile's)",
    })
    .option("s3-profile", {
      type: "string",
      group: GROUP,
      describe: "AWS profile for credentials (else AWS_PROFILE)",
    })
    .option("s3-path-style", {
      type: "boolean",
      group: GROUP,
      describe: "path-style S3 addressing (default: on with a custom endpoint)",
    })
    .option("s3-checksums-when-required", {
      type: "boolean",
      group: GROUP,
      describe: "send and check S3 checksums only when required (for servers that reject the SDK's defaults)",
    })
    .option("webhdfs", {
      type: "string",
      array: true,
      group: GROUP,
      describe:
        "WebHDFS address of a NameNode: nn:8020=http://nn:9870 (repeatable; else SAVEPOINT_KIT_WEBHDFS)",
    })
    .option("hdfs-default-fs", {
      type: "string",
      group: GROUP,
      describe: "NameNode of hdfs:/// URIs, e.g. hdfs://nn:8020",
    })
    .option("hdfs-user", {
      type: "string",
      group: GROUP,
      describe: "HDFS user name (else HADOOP_USER_NAME)",
    });
}

/** The registry options the flags ask for (only the flags given; the rest comes from the environment). */
export function storeOptionsFromArgs(a: StoreArgs): DefaultRegistryOptions {
  const s3: NonNullable<DefaultRegistryOptions["s3"]> = {};
  if (a.s3Endpoint !== undefined) s3.endpoint = a.s3Endpoint;
  if (a.s3Region !== undefined) s3.region = a.s3Region;
  if (a.s3Profile !== undefined) s3.profile = a.s3Profile;
  if (a.s3PathStyle !== undefined) s3.forcePathStyle = a.s3PathStyle;
  if (a.s3ChecksumsWhenRequired) {
    s3.requestChecksumCalculation = "WHEN_REQUIRED";
    s3.responseChecksumValidation = "WHEN_REQUIRED";
  }
  const hdfs: NonNullable<DefaultRegistryOptions["hdfs"]> = {};
  if (a.webhdfs !== undefined) hdfs.webhdfs = parseWebHdfsMap(a.webhdfs.join(","));
  if (a.hdfsDefaultFs !== undefined) hdfs.defaultFs = a.hdfsDefaultFs;
  if (a.hdfsUser !== undefined) hdfs.user = a.hdfsUser;
  return { s3, hdfs };
}
