/** `savepoint hash <uid...>`: the OperatorID Flink derives from each uid. */

import { operatorIdFromUid } from "../../formats/operator-id.js";
import type { CliCommand } from "../command.js";

interface HashArgs {
  uid: string[];
}

export const hashCommand: CliCommand<HashArgs> = {
  command: "hash <uid..>",
  describe: "Print the OperatorID Flink derives from each operator uid",
  builder: (y) =>
    y.positional("uid", { describe: "operator uid(s)", type: "string", array: true, demandOption: true }),
  async run(args) {
    const rows = args.uid.map((uid) => ({ uid, operatorId: operatorIdFromUid(String(uid)) }));
    return { data: rows, text: () => `${rows.map((r) => `${r.operatorId}  ${r.uid}`).join("\n")}\n` };
  },
};
