/** Every CLI command, in the order `--help` lists them. */

import type { CliCommand } from "../command.js";
import { convertCommand } from "./convert.js";
import { dropCommand } from "./drop.js";
import { dumpCommand } from "./dump.js";
import { filesCommand } from "./files.js";
import { hashCommand } from "./hash.js";
import { inspectCommand } from "./inspect.js";
import { planCommand } from "./plan.js";
import { pruneCommand } from "./prune.js";
import { relocateCommand } from "./relocate.js";
import { renameCommand } from "./rename.js";
import { stateCommand } from "./state.js";
import { verifyCommand } from "./verify.js";

// biome-ignore lint/suspicious/noExplicitAny: each command has its own argument type.
export const commands: CliCommand<any>[] = [
  inspectCommand,
  filesCommand,
  verifyCommand,
  relocateCommand,
  planCommand,
  pruneCommand,
  dropCommand,
  renameCommand,
  hashCommand,
  stateCommand,
  dumpCommand,
  convertCommand,
];
