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

/**
 * A command module: yargs' command/describe/builder plus a `run` that returns {@link CommandOutput}.
 * `run` imports the library modules it calls (`await import("../../ops/…")`; types statically), so that
 * starting the CLI loads yargs and the command definitions only, not every command's dependencies
 * (JSON Schema validation, RocksDB checksums and codecs, the state serializers): process start is a fixed
 * cost of every run (see `bench/relocate.ts`).
 */
export interface CliCommand<A> {
  command: string;
  describe: string;
  // biome-ignore lint/suspicious/noExplicitAny: yargs builders change the argv type as options are added.
  builder: (y: Argv<GlobalArgs>) => Argv<any>;
  run: (args: A & GlobalArgs, ctx: CliContext) => Promise<CommandOutput>;
}
