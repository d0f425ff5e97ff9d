/**
 * Every CLI command, in the order `--help` lists them, each loaded on demand: a run of one command
 * compiles only that command's module (and what it imports), not the other eleven.
 */

import type { CliCommand } from "../command.js";

// biome-ignore lint/suspicious/noExplicitAny: each command has its own argument type.
type AnyCommand = CliCommand<any>;

/** Loaders by command name (the first word of each command's `command` string), in `--help` order. */
export const commandLoaders: ReadonlyMap<string, () => Promise<AnyCommand>> = new Map<
  string,
  () => Promise<AnyCommand>
>([
  ["inspect", async () => (await import("./inspect.js")).inspectCommand],
  ["files", async () => (await import("./files.js")).filesCommand],
  ["verify", async () => (await import("./verify.js")).verifyCommand],
  ["relocate", async () => (await import("./relocate.js")).relocateCommand],
  ["plan", async () => (await import("./plan.js")).planCommand],
  ["prune", async () => (await import("./prune.js")).pruneCommand],
  ["drop", async () => (await import("./drop.js")).dropCommand],
  ["rename", async () => (await import("./rename.js")).renameCommand],
  ["hash", async () => (await import("./hash.js")).hashCommand],
  ["state", async () => (await import("./state.js")).stateCommand],
  ["dump", async () => (await import("./dump.js")).dumpCommand],
  ["convert", async () => (await import("./convert.js")).convertCommand],
]);

/** Every command, in `--help` order. */
export async function loadAllCommands(): Promise<AnyCommand[]> {
  return Promise.all([...commandLoaders.values()].map((load) => load()));
}

/**
 * The commands the parser needs for `argv` (without `node` and the script name): only the named one
 * when the first argument names a command and no help is asked for; otherwise every command (top-level
 * help, a misspelt command to suggest a fix for, global options before the command).
 */
export async function commandsFor(argv: readonly string[]): Promise<AnyCommand[]> {
  const load = argv.length > 0 ? commandLoaders.get(argv[0] as string) : undefined;
  const wantsHelp = argv.some((a) => a === "--help" || a === "-h" || a === "--version");
  return load && !wantsHelp ? [await load()] : loadAllCommands();
}
