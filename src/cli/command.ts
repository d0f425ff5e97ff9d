/**
 * The shape of a CLI command module. A command parses nothing itself beyond its yargs builder, calls
 * the library, and returns data; only `main.ts` prints and sets the exit code.
 */

import type { Argv } from "yargs";
import type { StoreRegistry } from "../storage/registry.js";

/** What a command produced: data for `--json` and a renderer for the terminal. */
export interface CommandOutput {
  /** JSON-ready data (bigints are written as decimal strings). */
  data: unknown;
  /** Human-readable text for a terminal. */
  text: () => string;
  /**
   * Output too large to hold in memory (a state dump): `main.ts` writes it to standard output as it is
   * produced, with back-pressure, before `text`. Commands never write to standard output themselves.
   */
  stream?: AsyncIterable<string>;
  /** Exit code (default 0). */
  exitCode?: number;
}

/** Services a command may use. */
export interface CliContext {
  stores: StoreRegistry;
}

/** Flags every command accepts. */
export interface GlobalArgs {
  json: boolean;
  debug: boolean;
}

/** A command module: yargs' command/describe/builder plus a `run` that returns {@link CommandOutput}. */
export interface CliCommand<A> {
  command: string;
  describe: string;
  // biome-ignore lint/suspicious/noExplicitAny: yargs builders change the argv type as options are added.
  builder: (y: Argv<GlobalArgs>) => Argv<any>;
  run: (args: A & GlobalArgs, ctx: CliContext) => Promise<CommandOutput>;
}
