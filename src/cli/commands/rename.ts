/** `savepoint rename <src> [dst] --from <uid|id> --to <uid|id>`: move an operator's state to a new identity. */

import type { CliCommand } from "../command.js";
import { type EditOutputArgs, editWriteOptions, renderWritten, withEditOutput } from "./edit-options.js";

interface RenameArgs extends EditOutputArgs {
  src: string;
  from: string;
  to: string;
  force: boolean;
}

export const renameCommand: CliCommand<RenameArgs> = {
  command: "rename <src> [dst]",
  describe: "Move an operator's state (coordinator state included) to another uid or OperatorID",
  builder: (y) =>
    withEditOutput(
      y.positional("src", {
        describe: "snapshot directory or its _metadata",
        type: "string",
        demandOption: true,
      }),
    )
      .option("from", {
        describe: "the operator's current uid or OperatorID",
        type: "string",
        demandOption: true,
      })
      .option("to", { describe: "its new uid or OperatorID", type: "string", demandOption: true })
      .option("force", {
        describe: "replace the state of an operator that already has the new identity",
        type: "boolean",
        default: false,
      }),
  async run(args, ctx) {
    const { renameOperator, writeEdited } = await import("../../ops/edit.js");
    const { parseOperatorRef } = await import("../../ops/job-spec.js");
    const { loadSnapshot } = await import("../../ops/locate.js");
    const from = parseOperatorRef(args.from);
    const to = parseOperatorRef(args.to);
    const loaded = await loadSnapshot(args.src, ctx.stores);
    const written = await writeEdited(
      loaded,
      renameOperator(loaded.metadata, from, to, args.force),
      editWriteOptions(args, ctx),
    );
    return {
      data: { from, to, written },
      text: () =>
        `Renamed ${from.text} (${from.operatorId}) to ${to.text} (${to.operatorId})\n${renderWritten(written, args)}`,
    };
  },
};
