/** Options shared by the commands that write an edited snapshot (prune, drop, rename). */

import type { Argv } from "yargs";
import { InvalidArgumentError } from "../../errors.js";
import type { WriteEditedOptions, WriteEditedReport } from "../../ops/edit.js";
import type { JobSpec } from "../../ops/job-spec.js";
import type { CliContext, GlobalArgs } from "../command.js";

/** Flags of the output of an edit. */
export interface EditOutputArgs {
  dst?: string;
  copy: boolean;
  inPlace: boolean;
  dryRun: boolean;
  overwrite: boolean;
}

/** Adds `[dst]`, `--copy`, `--in-place`, `--dry-run`, `--overwrite`. */
export function withEditOutput<T>(y: Argv<T>) {
  return y
    .positional("dst", { describe: "directory for the new snapshot (omit with --in-place)", type: "string" })
    .option("copy", {
      describe: "copy the state files the result still uses, for a self-contained snapshot",
      type: "boolean",
      default: false,
    })
    .option("in-place", {
      describe: "rewrite the source's _metadata (the old one is kept as _metadata.bak-<time>)",
      type: "boolean",
      default: false,
    })
    .option("dry-run", { describe: "show what would change; write nothing", type: "boolean", default: false })
    .option("overwrite", { describe: "replace a _metadata already at dst", type: "boolean", default: false });
}

/** Flags naming the new job's operators. */
export interface JobArgs {
  job?: string;
  operator?: string[];
}

/** Adds `--job <file>` and `--operator <uid|id>...`. */
export function withJob<T>(y: Argv<T>) {
  return y
    .option("job", {
      describe: "JSON file with the new job's operators (schemas/job.schema.json)",
      type: "string",
    })
    .option("operator", {
      describe: "an operator of the new job, by uid or OperatorID (repeatable)",
      type: "string",
      array: true,
    });
}

/** The job spec from `--job` and `--operator`. */
export async function jobFromArgs(args: JobArgs): Promise<JobSpec> {
  const { jobSpecFromRefs, readJobSpec } = await import("../../ops/job-spec.js");
  const fromFile = args.job ? (await readJobSpec(args.job)).operators : [];
  const fromFlags = jobSpecFromRefs(args.operator ?? []).operators;
  if (fromFile.length + fromFlags.length === 0) {
    throw new InvalidArgumentError("name the new job's operators with --job <file> or --operator <uid|id>");
  }
  return { operators: [...fromFile, ...fromFlags] };
}

/** One paragraph on where an edited snapshot went. */
export function renderWritten(w: WriteEditedReport, args: GlobalArgs & EditOutputArgs): string {
  const verb = w.dryRun ? "Would write" : "Wrote";
  switch (w.mode) {
    case "in-place":
      return `${verb} ${w.metadataUri} in place (previous _metadata ${w.dryRun ? "would be" : "kept as"} ${w.backupUri})\n`;
    case "copy":
      return `${verb} a self-contained snapshot: ${w.metadataUri} (${w.copy?.totals.files ?? 0} files copied${args.dryRun ? ", dry run" : ""})\n`;
    case "reference":
      return (
        `${verb} ${w.metadataUri}\n` +
        `It references ${w.referencedSourceFiles} state files of the source snapshot by absolute path: keep the ` +
        "source, or rerun with --copy for a self-contained snapshot.\n"
      );
  }
}

/** The `writeEdited` options the output flags ask for. */
export function editWriteOptions(args: EditOutputArgs, ctx: CliContext): WriteEditedOptions {
  return {
    stores: ctx.stores,
    ...(args.dst === undefined ? {} : { target: args.dst }),
    copy: args.copy,
    inPlace: args.inPlace,
    dryRun: args.dryRun,
    overwrite: args.overwrite,
  };
}
