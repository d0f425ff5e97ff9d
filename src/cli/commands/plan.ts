/** `savepoint plan <snapshot>`: would Flink restore this snapshot into the new job? */

import type { RestorePlan } from "../../ops/restore-plan.js";
import type { CliCommand } from "../command.js";
import { EXIT_OK, EXIT_WOULD_NOT_RESTORE } from "../exit-codes.js";
import { renderTable } from "../render/table.js";
import { type JobArgs, jobFromArgs, withJob } from "./edit-options.js";

interface PlanArgs extends JobArgs {
  snapshot: string;
}

export const planCommand: CliCommand<PlanArgs> = {
  command: "plan <snapshot>",
  describe:
    "Report which operators' state the new job maps, and whether Flink would restore without --allowNonRestoredState",
  builder: (y) =>
    withJob(
      y.positional("snapshot", {
        describe: "snapshot directory or its _metadata",
        type: "string",
        demandOption: true,
      }),
    ),
  async run(args, ctx) {
    const { loadSnapshot } = await import("../../ops/locate.js");
    const { toFlinkPath } = await import("../../ops/relocate.js");
    const { planRestore } = await import("../../ops/restore-plan.js");
    const job = await jobFromArgs(args);
    const loaded = await loadSnapshot(args.snapshot, ctx.stores);
    const plan = planRestore(loaded.metadata, job, toFlinkPath(loaded.directory));
    return {
      data: plan,
      text: () => renderPlan(plan),
      exitCode: plan.restorable ? EXIT_OK : EXIT_WOULD_NOT_RESTORE,
    };
  },
};

const FATE: Record<string, string> = {
  mapped: "mapped",
  "unmapped-with-state": "NOT MAPPED (has state)",
  "unmapped-empty": "not mapped (empty: dropped silently)",
};

/** Renders a restore plan for a terminal. */
export function renderPlan(p: RestorePlan): string {
  const ops = renderTable(
    [{ header: "OPERATOR ID" }, { header: "UID" }, { header: "NAME" }, { header: "STATE" }],
    p.operators.map((o) => [o.operatorId, o.uid ?? "-", o.name ?? "-", FATE[o.fate] ?? o.fate]),
  );
  const job = renderTable(
    [{ header: "JOB OPERATOR" }, { header: "IDS" }, { header: "FINDS STATE" }],
    p.job.map((j) => [j.uid ?? j.name ?? "-", j.ids.join(","), j.findsState ? "yes" : "no"]),
  );
  const verdict = p.restorable
    ? "Flink restores this snapshot into the job without --allowNonRestoredState."
    : p.restorableWithAllowNonRestoredState
      ? "Flink refuses this snapshot unless --allowNonRestoredState is set (or prune it: savepoint prune)."
      : "Flink refuses this snapshot even with --allowNonRestoredState.";
  const errors = p.errors.map((e) => `  ${e}`);
  return `${ops}\n\n${job}\n\n${verdict}\n${errors.length ? `${errors.join("\n")}\n` : ""}`;
}
