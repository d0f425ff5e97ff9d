/** `savepoint state <path> [--operator <uid|hash>]`: state names, kinds, types, TTL, entries and bytes. */

import type { StateReport } from "../../ops/state.js";
import type { CliCommand } from "../command.js";
import { keyTypeOption } from "../key-type.js";
import { formatBytes, renderTable } from "../render/table.js";

interface StateArgs {
  path: string;
  operator?: string;
  counts: boolean;
  verifyChecksums: boolean;
  keyType?: string;
}

export const stateCommand: CliCommand<StateArgs> = {
  command: "state <path>",
  describe:
    "List the states of a snapshot's operators: names, kinds, serializers, TTL, entry counts and bytes",
  builder: (y) =>
    y
      .positional("path", {
        describe: "snapshot directory or its _metadata file (local path, file://, s3://, hdfs://)",
        type: "string",
        demandOption: true,
      })
      .option("operator", { describe: "only this operator: its uid or 32-hex OperatorID", type: "string" })
      .option("counts", {
        describe: "scan the state data for entry counts and bytes (--no-counts reads headers only)",
        type: "boolean",
        default: true,
      })
      .option("verify-checksums", {
        describe: "verify the CRC-32C of compressed (Snappy) chunks while scanning",
        type: "boolean",
        default: true,
      })
      .option("key-type", keyTypeOption()),
  async run(args, ctx) {
    const { describeState } = await import("../../ops/state.js");
    const report = await describeState(args.path, {
      stores: ctx.stores,
      ...(args.operator === undefined ? {} : { operator: args.operator }),
      counts: args.counts,
      verifyChecksums: args.verifyChecksums,
      ...(args.keyType === undefined ? {} : { keyType: args.keyType }),
    });
    return { data: report, text: () => renderState(report) };
  },
};

const n = (v: number | null) => (v === null ? "-" : String(v));
const b = (v: bigint | null) => (v === null ? "-" : formatBytes(v));

/** Renders a state report for a terminal: one table per operator with state. */
export function renderState(r: StateReport): string {
  const parts: string[] = [`Snapshot   ${r.metadataUri}`];
  for (const op of r.operators) {
    if (!op.keyed && op.operatorStates.length === 0 && op.notes.length === 0) continue;
    const head = `${op.uid ?? "(no uid)"}  ${op.operatorId}  ${op.name ?? ""}`.trimEnd();
    const lines = [head];
    const rows: string[][] = [];
    if (op.keyed) {
      lines.push(
        `  keyed: key ${op.keyed.keyType ?? "(not recorded)"}, ${op.keyed.layouts.join("/")}${op.keyed.compressed ? ", snappy" : ""}, max parallelism ${op.maxParallelism}`,
      );
      for (const s of op.keyed.states) {
        rows.push([
          s.name,
          s.kind,
          s.namespaceType ?? "-",
          s.valueType ?? (s.unsupported ? "unsupported" : "-"),
          s.ttl ? "yes" : "",
          n(s.entries),
          b(s.bytes),
        ]);
      }
    }
    for (const s of op.operatorStates) {
      rows.push([
        s.name,
        s.mode.toLowerCase().replace("_", "-"),
        "-",
        s.keyType ? `${s.keyType} -> ${s.valueType ?? "?"}` : (s.valueType ?? "unsupported"),
        "",
        n(s.entries),
        b(s.bytes),
      ]);
    }
    if (rows.length > 0) {
      const table = renderTable(
        [
          { header: "STATE" },
          { header: "KIND" },
          { header: "NAMESPACE" },
          { header: "VALUE" },
          { header: "TTL" },
          { header: "ENTRIES", align: "right" },
          { header: "BYTES", align: "right" },
        ],
        rows,
      );
      lines.push(table.replace(/^/gm, "  "));
    }
    for (const note of op.notes) lines.push(`  note: ${note}`);
    parts.push(lines.join("\n"));
  }
  return `${parts.join("\n\n")}\n`;
}
