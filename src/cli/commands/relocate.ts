/** `savepoint relocate <src> <dst>`: copy or move a snapshot elsewhere, rewriting its file pointers. */

import type { RelocateReport } from "../../ops/relocate.js";
import { parentUri } from "../../storage/uri.js";
import type { CliCommand } from "../command.js";
import { progressReporter } from "../render/progress.js";
import { formatBytes } from "../render/table.js";

interface RelocateArgs {
  src: string;
  dst: string;
  map?: string[];
  missingFrom?: string[];
  dryRun: boolean;
  move: boolean;
  overwrite: boolean;
  concurrency?: number;
  sync: boolean;
}

export const relocateCommand: CliCommand<RelocateArgs> = {
  command: "relocate <src> <dst>",
  describe:
    "Copy (or move) a savepoint or retained checkpoint to another directory or store, rewriting its pointers",
  builder: (y) =>
    y
      .positional("src", {
        describe: "snapshot directory or its _metadata",
        type: "string",
        demandOption: true,
      })
      .positional("dst", {
        describe: "target directory (local path, file://, s3://, hdfs://)",
        type: "string",
        demandOption: true,
      })
      .option("map", {
        describe:
          "rewrite pointers under <old-prefix> to <new-prefix> without copying those files (repeatable)",
        type: "string",
        array: true,
      })
      .option("missing-from", {
        describe:
          "look for referenced files that are missing in this directory, by name, and copy them from there (repeatable; for checkpoints taken after a CLAIM-mode restore from a native savepoint, whose re-used files Flink points at in chk-N: give the savepoint's directory)",
        type: "string",
        array: true,
      })
      .option("dry-run", {
        describe: "print the plan; copy and write nothing",
        type: "boolean",
        default: false,
      })
      .option("move", {
        describe:
          "move instead of copy: rename each file where source and target are on one local file system (as mv), else delete the source files once the target verifies; files other snapshots reference are copied",
        type: "boolean",
        default: false,
      })
      .option("overwrite", {
        describe: "replace a _metadata already at the target",
        type: "boolean",
        default: false,
      })
      .option("concurrency", {
        describe:
          "parallel transfers (default: 256 between local directories, 16 into a local directory from S3 or HDFS, 8 into S3 or HDFS)",
        type: "number",
      })
      .option("sync", {
        describe:
          "put every copy and the new _metadata on stable storage before exiting (fdatasync/fsync of local files); --no-sync leaves that to the OS, as cp does (not with --move)",
        type: "boolean",
        default: true,
      }),
  async run(args, ctx) {
    // The target's store may get ready for the copies (local: its worker threads start, 50 to 90 ms)
    // while the operation's modules load (some 50 of them, 30 to 50 ms) and the snapshot is read.
    // relocateSnapshot gives the same hint, later; a target no store handles fails there.
    if (!args.dryRun) {
      try {
        ctx.stores.storeFor(args.dst).prepareCopies?.();
      } catch {}
    }
    const { parsePrefixMap, relocateSnapshot } = await import("../../ops/relocate.js");
    const progress = args.json || args.dryRun ? undefined : progressReporter("copying");
    try {
      const report = await relocateSnapshot(args.src, args.dst, {
        stores: ctx.stores,
        maps: (args.map ?? []).map(parsePrefixMap),
        missingFrom: args.missingFrom ?? [],
        dryRun: args.dryRun,
        move: args.move,
        overwrite: args.overwrite,
        concurrency: args.concurrency,
        sync: args.sync,
        ...(progress ? { onProgress: progress.update } : {}),
      });
      return { data: report, text: () => renderRelocate(report) };
    } finally {
      progress?.stop();
    }
  },
};

/** How a dry run names each planned action. */
const PLAN_VERBS: Record<RelocateReport["copies"][number]["action"], string> = {
  copy: "copy",
  rename: "move (rename)",
  "copy-delete": "move (copy, then delete the source)",
};

/** Renders a relocation report for a terminal. */
export function renderRelocate(r: RelocateReport): string {
  const lines = [
    `${r.dryRun ? "Plan (dry run, nothing written)" : "Relocated"}: ${r.source.directory} -> ${r.target.directory}`,
    `Files     ${r.totals.files} to relocate (${formatBytes(r.totals.bytes)})` +
      (r.dryRun
        ? ""
        : `: ${r.totals.copied} copied, ${r.totals.moved > 0 ? `${r.totals.moved} moved (renamed, no bytes copied), ` : ""}${r.totals.skipped} already there and verified`),
  ];
  if (r.mapped.length > 0) lines.push(`Mapped    ${r.mapped.length} files by --map (not copied)`);
  const found = r.copies.filter((c) => c.missingAt !== undefined).length;
  if (found > 0)
    lines.push(
      `Found     ${found} missing files in --missing-from directories, copied from there to where their pointers resolve`,
    );
  lines.push(`Pointers  ${r.pointers.length} rewritten`);
  if (r.dryRun) {
    if (r.copies.some((c) => c.action === "rename")) {
      lines.push(
        "  (rename: no bytes copied; where source and target turn out to be on different file systems, copied, and the source deleted once the target verifies)",
      );
    }
    for (const c of r.copies) {
      const what = c.from === c.to ? "keep" : PLAN_VERBS[c.action];
      const found = c.missingAt ? ` (missing at ${c.missingAt})` : "";
      lines.push(`  ${what} ${c.from} -> ${c.to} (${formatBytes(c.size)})${found}`);
    }
    for (const m of r.mapped) lines.push(`  map  ${m.from} -> ${m.to}`);
    for (const p of r.pointers) {
      const what = p.directory ? "dir " : "ptr ";
      lines.push(`  ${what} ${p.before} -> ${p.after}${p.relative ? " (relative)" : ""}`);
    }
  } else {
    lines.push(`Metadata  ${r.target.metadataUri} (written last)`);
  }
  if (r.deleted.length > 0) lines.push(`Deleted   ${r.deleted.length} source files`);
  if (r.keptForOtherSnapshots.length > 0) {
    lines.push(`Kept      ${r.keptForOtherSnapshots.length} source files that other snapshots reference`);
  }
  for (const u of r.unreadableSiblings) {
    lines.push(
      `Unreadable ${u.uri}: ${u.reason}; it may reference any file beside it, so every source file under ${parentUri(r.source.directory)} is ${r.dryRun ? "to be copied and kept" : "kept"}`,
    );
  }
  return `${lines.join("\n")}\n`;
}
