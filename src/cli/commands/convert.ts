/**
 * `savepoint convert <src> <dst> --to canonical|native [--backend hashmap|rocksdb] [--dry-run]`: rewrite a
 * snapshot's keyed state into another format (heap native <-> canonical, RocksDB native -> canonical,
 * canonical or heap native -> RocksDB native), into a new directory.
 */

import type { ConvertProgress, ConvertReport } from "../../ops/convert.js";
import type { CliCommand } from "../command.js";
import { keyTypeOption } from "../key-type.js";
import { progressReporter } from "../render/progress.js";
import { formatBytes } from "../render/table.js";

interface ConvertArgs {
  src: string;
  dst: string;
  to: "canonical" | "native";
  backend?: "hashmap" | "rocksdb";
  dryRun: boolean;
  overwrite: boolean;
  compression?: boolean;
  concurrency?: number;
  verifyChecksums: boolean;
  keyType?: string;
}

export const convertCommand: CliCommand<ConvertArgs> = {
  command: "convert <src> <dst>",
  describe:
    "Convert a snapshot's keyed state between formats (canonical, hashmap native, RocksDB native) into a new directory",
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
      .option("to", {
        describe: "target format",
        choices: ["canonical", "native"] as const,
        demandOption: true,
      })
      .option("backend", {
        describe: "with --to native (required there): the backend whose native format to write",
        choices: ["hashmap", "rocksdb"] as const,
      })
      .option("dry-run", {
        describe: "print the plan (headers are read and checked); write nothing",
        type: "boolean",
        default: false,
      })
      .option("overwrite", {
        describe: "replace a _metadata already at the target",
        type: "boolean",
        default: false,
      })
      .option("compression", {
        describe:
          "Snappy-compress the converted key-group files (default: as the source files are); with --backend rocksdb the SST blocks (default: on)",
        type: "boolean",
      })
      .option("concurrency", {
        describe:
          "subtasks converted in parallel, each on a worker thread for local files (default: the number of CPUs)",
        type: "number",
      })
      .option("verify-checksums", {
        describe: "verify the CRC-32C of compressed (Snappy) chunks of the source",
        type: "boolean",
        default: true,
      })
      .option("key-type", keyTypeOption("to record")),
  async run(args, ctx) {
    const { convertSnapshot } = await import("../../ops/convert.js");
    const progress = args.json || args.dryRun ? undefined : progressReporter("converting");
    try {
      const report = await convertSnapshot(args.src, args.dst, {
        stores: ctx.stores,
        to: args.to,
        ...(args.backend === undefined ? {} : { backend: args.backend }),
        dryRun: args.dryRun,
        overwrite: args.overwrite,
        ...(args.compression === undefined ? {} : { compression: args.compression }),
        ...(args.concurrency === undefined ? {} : { concurrency: args.concurrency }),
        verifyChecksums: args.verifyChecksums,
        ...(args.keyType === undefined ? {} : { keyType: args.keyType }),
        ...(progress
          ? {
              onProgress: (p: ConvertProgress) =>
                progress.update({
                  filesDone: p.subtasksDone,
                  filesTotal: p.subtasksTotal,
                  bytesDone: p.bytesDone,
                  bytesTotal: p.bytesTotal,
                }),
            }
          : {}),
      });
      return { data: report, text: () => renderConvert(report) };
    } finally {
      progress?.stop();
    }
  },
};

/** Renders a conversion report for a terminal. */
export function renderConvert(r: ConvertReport): string {
  const target = r.to === "canonical" ? "canonical" : `native ${r.backend ?? ""}`.trim();
  const lines = [
    `${r.dryRun ? "Plan (dry run, nothing written)" : "Converted"} to ${target}: ${r.source.directory} -> ${r.target.directory}`,
    `Keyed     ${r.totals.converted} subtasks converted, ${r.totals.relabelled} relabelled, ${r.totals.kept} already ${target}`,
  ];
  for (const k of r.keyed) {
    const who = `${k.uid ?? k.operatorId}[${k.subtaskIndex}]`;
    const from = `${k.from.handleKind} (${k.from.layout}${k.from.compressed ? ", snappy" : ""}, ${formatBytes(k.from.bytes)})`;
    const to =
      k.action === "convert"
        ? `${k.to.handleKind} (${r.to === "canonical" ? "canonical" : r.backend === "rocksdb" ? "rocksdb" : "heap"}${k.to.compressed ? ", snappy" : ""}${
            k.to.bytes === null ? "" : `, ${formatBytes(k.to.bytes)}, ${k.to.records} records`
          })`
        : k.action === "relabel"
          ? `${k.to.handleKind} (same data)`
          : "kept";
    lines.push(`  ${k.action.padEnd(7)} ${who}: ${from} -> ${to}`);
    for (const p of k.problems) lines.push(`          cannot convert ${p}`);
  }
  lines.push(
    `Files     ${r.copies.length} other files copied${r.referenced.length > 0 ? `, ${r.referenced.length} referenced where they are` : ""}`,
  );
  if (r.referenced.length > 0)
    // e.g. a checkpoint's shared/ or taskowned/ files: deleting the source checkpoint deletes them
    lines.push(
      `Note      the new snapshot needs ${r.referenced.length === 1 ? "1 file" : `${r.referenced.length} files`} outside its directory, where the source has them (${r.referenced[0]}${r.referenced.length > 1 ? ", ..." : ""}): keep them, or make it self-contained with 'savepoint relocate ${r.target.directory} <dst>' before deleting the source`,
    );
  if (r.formatType.before !== null)
    lines.push(`Format    ${r.formatType.before} -> ${r.formatType.after} (savepoint properties)`);
  if (!r.dryRun)
    lines.push(
      `Metadata  ${r.target.metadataUri} (written last), ${formatBytes(r.totals.bytesWritten)} written`,
    );
  return `${lines.join("\n")}\n`;
}
