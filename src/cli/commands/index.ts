/** Every CLI command, in the order `--help` lists them. */

import type { CliCommand } from "../command.js";
import { hashCommand } from "./hash.js";
import { inspectCommand } from "./inspect.js";

// biome-ignore lint/suspicious/noExplicitAny: each command has its own argument type.
export const commands: CliCommand<any>[] = [inspectCommand, hashCommand];
