/**
 * The `--key-type` option of the commands that read keyed state (`state`, `dump`, `convert`): the key
 * type of a changelog checkpoint that was never materialized, which records it nowhere.
 */

import { BASIC_TYPE_NAMES } from "../formats/state/serializers/basic-types.js";

/**
 * The yargs option; `what` ends its description's first part (e.g. "to record" for convert, which writes
 * the key serializer into the savepoint it makes).
 */
export function keyTypeOption(what = "") {
  return {
    describe: `the key type ${what ? `${what} ` : ""}where the snapshot records none (a changelog checkpoint never materialized): ${BASIC_TYPE_NAMES.join(", ")}`,
    type: "string" as const,
  };
}
