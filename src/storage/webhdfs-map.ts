/**
 * The NameNode-to-WebHDFS address map of `SAVEPOINT_KIT_WEBHDFS` and `--webhdfs`, in a module of its own
 * so that the CLI parses its flags without loading the HDFS store (and `node:http`/`node:https`) on
 * every start.
 */

import { InvalidArgumentError } from "../errors.js";

/** Parses `SAVEPOINT_KIT_WEBHDFS`: `nn:8020=http://host:9870,nn2=http://...` (commas or whitespace). */
export function parseWebHdfsMap(value: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!value) return out;
  for (const item of value.split(/[\s,]+/)) {
    if (item === "") continue;
    const eq = item.indexOf("=");
    if (eq <= 0)
      throw new InvalidArgumentError(`SAVEPOINT_KIT_WEBHDFS: expected nn:port=http://host:port, got ${item}`);
    out[item.slice(0, eq).replace(/^hdfs:\/\//, "")] = item.slice(eq + 1);
  }
  return out;
}
