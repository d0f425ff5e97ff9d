/** `savepoint prune <src> [dst]`: keep only the state the new job maps. */

import type { CliCommand } from "../command.js";
import {
  type EditOutputArgs,
  editWriteOptions,
  type JobArgs,
  jobFromArgs,
  renderWritten,
  withEditOutput,
  withJob,
} from "./edit-options.js";

interface PruneArgs extends JobArgs, EditOutputArgs {
  src: string;
}

export const pruneCommand: CliCommand<PruneArgs> = {
  command: "prune <src> [dst]",
  describe:
    "Write a snapshot with only the operators the new job maps (--allowNonRestoredState made permanent)",
  builder: (y) =>
    withJob(
      withEditOutput(
        y.positional("src", {
          describe: "snapshot directory or its _metadata",
          type: "string",
          demandOption: true,
        }),
      ),
    ),
  async run(args, ctx) {
    const { pruneMetadata, writeEdited } = await import("../../ops/edit.js");
    const { loadSnapshot } = await import("../../ops/locate.js");
    const { toFlinkPath } = await import("../../ops/relocate.js");
    const { planRestore } = await import("../../ops/restore-plan.js");
    const job = await jobFromArgs(args);
    const loaded = await loadSnapshot(args.src, ctx.stores);
    const plan = planRestore(loaded.metadata, job, toFlinkPath(loaded.directory));
    const dropped = plan.operators.filter((o) => o.fate !== "mapped");
    const written = await writeEdited(
      loaded,
      pruneMetadata(loaded.metadata, plan),
      editWriteOptions(args, ctx),
    );
    const data = { dropped, kept: plan.operators.filter((o) => o.fate === "mapped"), written };
    return {
      data,
      text: () =>
        `${dropped.length === 0 ? "Nothing to drop: every operator maps." : `Dropped ${dropped.length} operator(s):`}\n` +
        dropped.map((o) => `  ${o.operatorId} ${o.uid ?? o.name ?? ""} (${o.fate})`).join("\n") +
        (dropped.length ? "\n" : "") +
        renderWritten(written, args),
    };
  },
};
