#!/usr/bin/env node
/**
 * The `savepoint` CLI entry point: the only place that prints and sets the exit code.
 *
 * Commands return data (see `command.ts`); this module renders it as text or, with `--json`, as JSON,
 * and maps typed errors to exit codes (`exit-codes.ts`) with a one-line message. `--debug` adds the
 * stack trace.
 */

import { once } from "node:events";
import { realpathSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { CorruptSnapshotError, NotASnapshotError, SavepointKitError } from "../errors.js";
import { createDefaultRegistry } from "../storage/defaults.js";
import type { StoreRegistry } from "../storage/registry.js";
import type { CliContext, CommandOutput, GlobalArgs } from "./command.js";
import { commandsFor } from "./commands/index.js";
import { EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, exitCodeFor } from "./exit-codes.js";
import { jsonByteChunks, jsonChunks, toJson } from "./json.js";
import { type StoreArgs, storeOptionsFromArgs, withStoreOptions } from "./store-options.js";

/** The result of one CLI invocation. */
export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

class UsageError extends Error {}

/**
 * yargs, loaded through its CommonJS build (`yargs/yargs`: one bundled file) rather than its ES module
 * entry, which Node's ES module loader reads as about 30 separate modules: 0.08 s of CPU at every start
 * against 0.03 s (Node 20, measured with `node -e`), the largest part of the CLI's start after Node's own.
 * The same yargs 17 code either way (its rollup build of the same sources); the types are the package's.
 */
const yargs = createRequire(import.meta.url)("yargs/yargs") as typeof import("yargs").default;

/**
 * Runs the CLI on `argv` (without `node` and the script name) and returns what it would print.
 * Never throws and never exits the process. With `io.stdout`, standard output is handed over in chunks
 * as it is produced (and `stdout` in the result is empty): `--json` output as UTF-8 bytes
 * (`Uint8Array`s the consumer may keep, unless `io.stdoutDoneOnResolve`: then a chunk's memory is
 * reused once the promise `io.stdout` returned for it resolves), other output as strings.
 */
export async function runCli(
  argv: string[],
  context?: Partial<CliContext>,
  io?: { stdout?: (chunk: string | Uint8Array) => void | Promise<void>; stdoutDoneOnResolve?: boolean },
): Promise<CliResult> {
  let created: StoreRegistry | undefined;
  let output: CommandOutput | undefined;
  let help = "";
  const wantsDebug = argv.includes("--debug");
  const wantsJson = argv.includes("--json");
  /** Whether output already went to `io.stdout` (a streamed report or dump that failed part way). */
  let streamed = false;
  try {
    let parser = withStoreOptions(yargs())
      .scriptName("savepoint")
      .usage(
        "$0 <command> [options]\n\nInspect, relocate, convert and prune Apache Flink savepoints and checkpoints.",
      )
      .option("json", { type: "boolean", default: false, describe: "print the result as JSON" })
      .option("debug", { type: "boolean", default: false, describe: "print stack traces on errors" })
      .strict()
      .demandCommand(1, "name a command")
      .recommendCommands()
      .exitProcess(false)
      .wrap(null)
      .fail((msg, err) => {
        throw err ?? new UsageError(msg);
      });
    for (const cmd of await commandsFor(argv)) {
      parser = parser.command(cmd.command, cmd.describe, cmd.builder, async (args) => {
        if (!context?.stores) created = createDefaultRegistry(storeOptionsFromArgs(args as StoreArgs));
        output = await cmd.run(args as never, { stores: context?.stores ?? (created as StoreRegistry) });
      });
    }
    await parser.parseAsync(argv, {}, (_err, _args, text) => {
      if (text) help = text;
    });
    if (!output) return { exitCode: EXIT_OK, stdout: help ? `${help}\n` : "", stderr: "" };
    const out = output as CommandOutput;
    let stdout = "";
    const toStdout = io?.stdout;
    const emit = toStdout
      ? (chunk: string | Uint8Array) => {
          streamed = true;
          return toStdout(chunk);
        }
      : (chunk: string | Uint8Array) => {
          stdout += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
        };
    if (out.stream) for await (const chunk of out.stream) await emit(chunk);
    if (wantsJson) {
      if (toStdout) {
        const reuse = io?.stdoutDoneOnResolve === true;
        for (const chunk of jsonByteChunks(out.data, undefined, { reuse })) await emit(chunk);
      } else for (const chunk of jsonChunks(out.data)) await emit(chunk);
    } else await emit(out.text());
    return { exitCode: out.exitCode ?? EXIT_OK, stdout, stderr: "" };
  } catch (err) {
    if (err instanceof UsageError) {
      return {
        exitCode: EXIT_USAGE,
        stdout: "",
        stderr: `${help ? `${help}\n\n` : ""}savepoint: ${err.message}\n`,
      };
    }
    if (streamed && isBrokenPipe(err)) return { exitCode: EXIT_OK, stdout: "", stderr: "" };
    const code = exitCodeFor(err);
    const message = err instanceof SavepointKitError ? err.message : `internal error: ${String(err)}`;
    const trace = wantsDebug && err instanceof Error && err.stack ? `\n${err.stack}` : "";
    const hint = code === EXIT_INTERNAL && !wantsDebug ? " (run with --debug for details)" : "";
    const stderr = `savepoint: ${message}${hint}${trace}\n`;
    // Once part of a document has been written, an error object after it would only garble it further:
    // the exit code and standard error say what happened.
    const stdout = wantsJson && !streamed ? toJson({ error: errorJson(err, message) }) : "";
    return { exitCode: code, stdout, stderr };
  } finally {
    await created?.close();
  }
}

/**
 * The `error` object of `--json` output: `code` and `message`; the file or URI the error is about
 * (`uri`), where there is one; for corrupt bytes, the byte offset (`offset`) and the structure being
 * read (`path`), as {@link CorruptSnapshotError} has them; for a directory that holds snapshots rather
 * than being one, their directories, newest first (`snapshotsBelow`, {@link NotASnapshotError}).
 */
function errorJson(err: unknown, message: string): Record<string, string | number | string[]> {
  if (!(err instanceof SavepointKitError)) return { code: "INTERNAL", message };
  const out: Record<string, string | number | string[]> = { code: err.code, message };
  if (err.uri !== undefined) out.uri = err.uri;
  if (err instanceof CorruptSnapshotError) {
    out.offset = err.offset;
    if (err.path !== undefined) out.path = err.path;
  }
  if (err instanceof NotASnapshotError && err.snapshotsBelow.length > 0)
    out.snapshotsBelow = [...err.snapshotsBelow];
  return out;
}

/** The reader of standard output went away (EPIPE): the output ends there, quietly, as with `head`. */
function isBrokenPipe(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === "EPIPE";
}

/**
 * Runs the CLI on `process.argv` and sets `process.exitCode`: what the `savepoint` executable
 * (`bin.cts`) calls, and what running this module directly (`node dist/cli/main.js`) does.
 */
export async function main(): Promise<void> {
  // Output goes to stdout as it is produced, with back-pressure, so a large --json report or a state
  // dump is never held in memory whole.
  // A reader that goes away (`savepoint dump … | head`) ends the output: the next write fails with EPIPE,
  // which runCli treats as the end of the command, not as an error.
  let stdoutError: Error | undefined;
  process.stdout.on("error", (err) => {
    stdoutError = err;
  });
  const result = await runCli(process.argv.slice(2), undefined, {
    // A chunk is written when this resolves: `write` answers false for any chunk above the stream's
    // 16 KiB high-water mark (all but the last chunk of --json are 1 MiB), and "drain" comes once the
    // stream has written everything it held; files and terminals write synchronously anyway.
    stdout: async (chunk) => {
      if (stdoutError) throw stdoutError;
      if (!process.stdout.write(chunk)) await once(process.stdout, "drain");
      if (stdoutError) throw stdoutError;
    },
    stdoutDoneOnResolve: true,
  });
  if (result.stdout && !stdoutError) process.stdout.write(result.stdout);
  if (result.stderr) process.stderr.write(result.stderr);
  process.exitCode = result.exitCode;
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  void main();
}

export type { GlobalArgs };
