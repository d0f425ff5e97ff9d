/** `savepoint drop <src> [dst] --operator <uid|id>...`: remove operators' state. */

import type { CliCommand } from "../command.js";
import { type EditOutputArgs, editWriteOptions, renderWritten, withEditOutput } from "./edit-options.js";

interface DropArgs extends EditOutputArgs {
  src: string;
  operator: string[];
}

export const dropCommand: CliCommand<DropArgs> = {
  command: "drop <src> [dst]",
  describe: "Write a snapshot without the named operators' state",
  builder: (y) =>
    withEditOutput(
      y.positional("src", {
        describe: "snapshot directory or its _metadata",
        type: "string",
        demandOption: true,
      }),
    ).option("operator", {
      describe: "operator to drop, by uid or OperatorID (repeatable)",
      type: "string",
      array: true,
      demandOption: true,
    }),
  async run(args, ctx) {
    const { dropOperators, writeEdited } = await import("../../ops/edit.js");
    const { parseOperatorRef } = await import("../../ops/job-spec.js");
    const { loadSnapshot } = await import("../../ops/locate.js");
    const refs = args.operator.map(parseOperatorRef);
    const loaded = await loadSnapshot(args.src, ctx.stores);
    const written = await writeEdited(
      loaded,
      dropOperators(loaded.metadata, refs),
      editWriteOptions(args, ctx),
    );
    return {
      data: { dropped: refs, written },
      text: () =>
        `Dropped ${refs.map((r) => `${r.text} (${r.operatorId})`).join(", ")}\n${renderWritten(written, args)}`,
    };
  },
};
