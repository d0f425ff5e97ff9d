/** `savepoint inspect <path>`: operators, parallelism and state sizes of a snapshot. */

import { readFile } from "node:fs/promises";
import { InvalidArgumentError } from "../../errors.js";
import type { InspectReport, InspectSummary, OperatorReport } from "../../ops/inspect.js";
import type { CliCommand } from "../command.js";
import { LaterJson, StreamedJsonArray } from "../json.js";
import { formatBytes, renderTable } from "../render/table.js";
import { operatorJson } from "./inspect-json.js";

interface InspectArgs {
  path: string;
  uid?: string[];
  uidsFile?: string;
}

export const inspectCommand: CliCommand<InspectArgs> = {
  command: "inspect <path>",
  describe: "Show a savepoint's or checkpoint's operators, parallelism and state sizes",
  builder: (y) =>
    y
      .positional("path", {
        describe: "snapshot directory or its _metadata file (local path, file://, s3://, hdfs://)",
        type: "string",
        demandOption: true,
      })
      .option("uid", {
        describe: "uid of a job operator, to label operators whose metadata stores no uid (repeatable)",
        type: "string",
        array: true,
      })
      .option("uids-file", {
        describe: "file with uids: one per line (# comments) or a JSON array of strings",
        type: "string",
      }),
  async run(args, ctx) {
    const { openInspect } = await import("../../ops/inspect.js");
    const uids = [...(args.uid ?? []), ...(args.uidsFile ? await readUidsFile(args.uidsFile) : [])];
    const stream = await openInspect(args.path, { stores: ctx.stores, uids });
    // Operators are parsed and reported one at a time while the output is written: `--json` streams
    // each operator's full report; the table keeps only the per-operator rows (no handles).
    const later = (pick: (s: InspectSummary) => unknown) => new LaterJson(() => pick(stream.summary()));
    const data = {
      ...stream.head,
      operators: new StreamedJsonArray(operatorsJson(stream.operators())),
      snapshot: later((s) => s.snapshot),
      unmatchedUids: later((s) => s.unmatchedUids),
      totals: later((s) => s.totals),
    };
    const text = () => {
      const operators: OperatorReport[] = [];
      for (const op of stream.operators()) operators.push({ ...op, subtaskStates: [] });
      return renderInspect({ ...stream.head, operators, ...stream.summary() });
    };
    return { data, text };
  },
};

function* operatorsJson(operators: Iterable<OperatorReport>): Generator<unknown> {
  for (const op of operators) yield operatorJson(op);
}

/**
 * Reads a uids file: a JSON array of strings, or one uid per line (blank lines and lines starting
 * with `#` ignored).
 * @throws InvalidArgumentError when the file cannot be read or is a JSON value other than a string array.
 */
export async function readUidsFile(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new InvalidArgumentError(`cannot read uids file ${path}: ${(err as Error).message}`);
  }
  const trimmed = text.trim();
  if (trimmed.startsWith("[")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (err) {
      throw new InvalidArgumentError(`uids file ${path} is not valid JSON: ${(err as Error).message}`);
    }
    if (!Array.isArray(parsed) || !parsed.every((u) => typeof u === "string")) {
      throw new InvalidArgumentError(`uids file ${path} must be a JSON array of strings`);
    }
    return parsed;
  }
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
}

/** Renders an inspect report as text for a terminal. */
export function renderInspect(r: InspectReport): string {
  const kind = r.snapshot.type
    ? `${r.snapshot.type}${r.snapshot.formatType ? ` (${r.snapshot.formatType.toLowerCase()})` : ""}` +
      (r.snapshot.source === "handles" ? " [inferred from handles]" : "")
    : "unknown (no CheckpointProperties in this metadata version)";
  const head = [
    `Snapshot   ${r.metadataUri}`,
    `Kind       ${kind}`,
    `Metadata   version ${r.metadataVersion} (written by ${r.writtenBy}), ${formatBytes(r.metadataBytes)}`,
    `Checkpoint ${r.checkpointId}`,
  ];
  if (r.masterStates.length > 0) {
    head.push(`Master     ${r.masterStates.map((m) => `${m.name} (${formatBytes(m.bytes)})`).join(", ")}`);
  }
  const rows = r.operators.map((o) => [
    o.operatorId,
    o.uid === null ? "-" : o.uidSource === "supplied" ? `${o.uid}*` : o.uid,
    o.name ?? "-",
    String(o.parallelism),
    String(o.maxParallelism),
    o.fullyFinished ? "finished" : `${o.subtasksWithState}/${o.subtasks}`,
    formatBytes(o.stateBytes.keyed),
    formatBytes(o.stateBytes.operator),
    formatBytes(o.stateBytes.coordinator),
    formatBytes(o.stateBytes.channel),
    formatBytes(o.stateBytes.inline),
    formatBytes(o.stateBytes.files),
    String(o.fileCount),
  ]);
  const t = r.totals;
  const footer = [
    [
      `${t.operators} operators, ${t.operatorsWithState} with state`,
      "",
      "",
      "",
      "",
      "",
      formatBytes(t.stateBytes.keyed),
      formatBytes(t.stateBytes.operator),
      formatBytes(t.stateBytes.coordinator),
      formatBytes(t.stateBytes.channel),
      formatBytes(t.stateBytes.inline),
      formatBytes(t.stateBytes.files),
      String(t.fileCount),
    ],
  ];
  const table = renderTable(
    [
      { header: "OPERATOR ID" },
      { header: "UID" },
      { header: "NAME" },
      { header: "PAR", align: "right" },
      { header: "MAXPAR", align: "right" },
      { header: "STATEFUL", align: "right" },
      { header: "KEYED", align: "right" },
      { header: "OPERATOR", align: "right" },
      { header: "COORD", align: "right" },
      { header: "CHANNEL", align: "right" },
      { header: "INLINE", align: "right" },
      { header: "IN FILES", align: "right" },
      { header: "FILES", align: "right" },
    ],
    rows,
    footer,
  );
  const notes: string[] = [];
  if (r.operators.some((o) => o.uidSource === "supplied")) notes.push("* uid matched from --uid/--uids-file");
  for (const u of r.unmatchedUids)
    notes.push(`uid ${JSON.stringify(u.uid)} (${u.operatorId}) has no state here`);
  notes.push("STATEFUL: subtasks with state / subtask records. Use --json for every handle and file.");
  return `${head.join("\n")}\n\n${table}\n\n${notes.join("\n")}\n`;
}
