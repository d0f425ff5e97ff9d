/** `savepoint files <path>`: every file a snapshot references, and where it lies. */

import type { FilesReport } from "../../ops/files.js";
import type { CliCommand } from "../command.js";
import { formatBytes, renderTable } from "../render/table.js";

interface FilesArgs {
  path: string;
}

export const filesCommand: CliCommand<FilesArgs> = {
  command: "files <path>",
  describe:
    "List every file a snapshot references, how it is pointed at, and whether it lies outside the snapshot",
  builder: (y) =>
    y.positional("path", {
      describe: "snapshot directory or its _metadata file (local path, file://, s3://, hdfs://)",
      type: "string",
      demandOption: true,
    }),
  async run(args, ctx) {
    const { listSnapshotFiles } = await import("../../ops/files.js");
    const report = await listSnapshotFiles(args.path, { stores: ctx.stores });
    return { data: report, text: () => renderFiles(report) };
  },
};

/** Renders a files report for a terminal. */
export function renderFiles(r: FilesReport): string {
  const rows = r.files.map((f) => {
    const owners = new Set(f.references.map((x) => `${x.uid ?? x.operatorId.slice(0, 8)}#${x.subtaskIndex}`));
    const pointer = f.references.some((x) => x.relative) ? "relative" : "absolute";
    return [f.relativePath ?? f.uri, f.location, pointer, formatBytes(f.minSize), [...owners].join(",")];
  });
  const t = r.totals;
  const summary = [
    `Snapshot  ${r.metadataUri}`,
    `Files     ${t.files} (${formatBytes(t.bytes)}): ${t.byLocation.exclusive} exclusive, ${t.byLocation.shared} shared, ` +
      `${t.byLocation.taskowned} task-owned, ${t.byLocation.external} external`,
    `Inline    ${r.inline.handles} handles, ${formatBytes(r.inline.bytes)} in _metadata`,
    `Relocate  ${
      r.selfContained
        ? "self-contained: the directory can be moved as a whole"
        : "NOT self-contained: files outside the directory are referenced by absolute paths"
    }`,
  ];
  const table = renderTable(
    [
      { header: "FILE" },
      { header: "LOCATION" },
      { header: "POINTER" },
      { header: "SIZE", align: "right" },
      { header: "USED BY (uid or id#subtask)" },
    ],
    rows,
  );
  return `${summary.join("\n")}\n\n${table}\n`;
}
