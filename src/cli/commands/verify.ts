/** `savepoint verify <path>`: do all referenced files exist with the bytes the metadata claims? */

import type { VerifyReport } from "../../ops/files.js";
import { isInside, parentUri } from "../../storage/uri.js";
import type { CliCommand } from "../command.js";
import { EXIT_OK, EXIT_VERIFY_FAILED } from "../exit-codes.js";

interface VerifyArgs {
  path: string;
  concurrency: number;
}

export const verifyCommand: CliCommand<VerifyArgs> = {
  command: "verify <path>",
  describe: "Check that every file a snapshot references exists with at least the size the metadata claims",
  builder: (y) =>
    y
      .positional("path", {
        describe: "snapshot directory or its _metadata file (local path, file://, s3://, hdfs://)",
        type: "string",
        demandOption: true,
      })
      .option("concurrency", { describe: "files checked at a time", type: "number", default: 16 }),
  async run(args, ctx) {
    const { verifySnapshot } = await import("../../ops/files.js");
    const report = await verifySnapshot(args.path, { stores: ctx.stores, concurrency: args.concurrency });
    return {
      data: report,
      text: () => renderVerify(report),
      exitCode: report.ok ? EXIT_OK : EXIT_VERIFY_FAILED,
    };
  },
};

/** Renders a verify report for a terminal. */
export function renderVerify(r: VerifyReport): string {
  const lines = [
    `${r.ok ? "OK" : "FAILED"}: ${r.filesChecked} files checked, ${r.problems.length} problem(s)`,
    r.selfContained
      ? "self-contained: every file lies inside the snapshot directory"
      : "not self-contained: some files lie outside the snapshot directory",
    ...r.problems.map((p) => `  ${p.message}`),
  ];
  // Files missing from the snapshot's own directory: the checkpoints Flink 1.20 and 2.x take after a
  // CLAIM-mode restore from a native savepoint name the savepoint's files there (FLINK-39964).
  const dir = parentUri(r.metadataUri);
  const ownMissing = r.problems.filter((p) => p.problem === "missing" && isInside(dir, p.uri)).length;
  if (ownMissing > 0)
    lines.push(
      `hint: ${ownMissing} missing file(s) would lie in the snapshot's own directory. If this is a checkpoint taken after a CLAIM-mode restore from a native savepoint (FLINK-39964), they are in that savepoint's directory: 'savepoint relocate ${dir} <dst> --missing-from <savepoint dir>' writes a copy Flink restores.`,
    );
  return `${lines.join("\n")}\n`;
}
