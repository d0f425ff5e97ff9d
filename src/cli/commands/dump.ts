/**
 * `savepoint dump <path> --operator <uid|hash> [--state <name>] [--key-group <a-b>] [--format ...]
 * [--proto <file.proto> --proto-type <package.Message>]`: the entries of an operator's state as NDJSON
 * (default), JSON or CSV, streamed with constant memory; protobuf values decoded with a `.proto`.
 *
 * The records go to `--output <file>` (written here, with back-pressure, and summarised on the
 * terminal) or to standard output, handed to `main.ts` as a stream: a dump can be far larger than
 * memory.
 */

import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { InvalidArgumentError } from "../../errors.js";
import type { DumpFormat } from "../../ops/dump.js";
import type { CliCommand } from "../command.js";
import { keyTypeOption } from "../key-type.js";

interface DumpArgs {
  path: string;
  operator: string;
  state?: string;
  keyGroup?: string;
  format: DumpFormat;
  output?: string;
  verifyChecksums: boolean;
  proto?: string;
  protoType?: string;
  keyType?: string;
}

/** What `dump` reports after writing. */
export interface DumpSummary {
  records: number;
  bytes: number;
  output: string;
}

export const dumpCommand: CliCommand<DumpArgs> = {
  command: "dump <path>",
  describe: "Write the entries of an operator's state as NDJSON, JSON or CSV (streamed)",
  builder: (y) =>
    y
      .positional("path", {
        describe: "snapshot directory or its _metadata file (local path, file://, s3://, hdfs://)",
        type: "string",
        demandOption: true,
      })
      .option("operator", {
        describe: "the operator: its uid or 32-hex OperatorID",
        type: "string",
        demandOption: true,
      })
      .option("state", { describe: "only this state (keyed or operator state name)", type: "string" })
      .option("key-group", { describe: "only key groups N or A-B (inclusive)", type: "string" })
      .option("format", {
        describe: "output format",
        choices: ["ndjson", "json", "csv"] as const,
        default: "ndjson" as DumpFormat,
      })
      .option("output", {
        alias: "o",
        describe: "write to this file instead of standard output",
        type: "string",
      })
      .option("verify-checksums", {
        describe: "verify the CRC-32C of compressed (Snappy) chunks",
        type: "boolean",
        default: true,
      })
      .option("proto", {
        describe: "a .proto file: decode byte[] and Kryo (chill-protobuf) values as --proto-type messages",
        type: "string",
      })
      .option("proto-type", {
        describe: "the message type of --proto values, e.g. my.package.Event",
        type: "string",
      })
      .option("key-type", keyTypeOption()),
  async run(args, ctx) {
    const { dumpState, formatDump, parseKeyGroupRange } = await import("../../ops/dump.js");
    const { loadProtobufDecoder } = await import("../../ops/protobuf.js");
    if (args.json) {
      throw new InvalidArgumentError(
        "dump writes its records itself: use --format json (or ndjson, csv) instead of --json",
      );
    }
    if ((args.proto === undefined) !== (args.protoType === undefined)) {
      throw new InvalidArgumentError("--proto and --proto-type go together");
    }
    const protobuf =
      args.proto !== undefined && args.protoType !== undefined
        ? await loadProtobufDecoder(args.proto, args.protoType)
        : undefined;
    const records = dumpState(args.path, {
      stores: ctx.stores,
      operator: args.operator,
      ...(args.state === undefined ? {} : { state: args.state }),
      ...(args.keyGroup === undefined ? {} : { keyGroups: parseKeyGroupRange(args.keyGroup) }),
      verifyChecksums: args.verifyChecksums,
      ...(protobuf ? { protobuf } : {}),
      ...(args.keyType === undefined ? {} : { keyType: args.keyType }),
    });
    let count = 0;
    const counted = (async function* () {
      for await (const r of records) {
        count++;
        yield r;
      }
    })();
    if (!args.output) {
      // Standard output is main.ts's: hand it the formatted records as a stream.
      return { data: null, stream: formatDump(counted, args.format), text: () => "" };
    }
    const target = createWriteStream(args.output);
    let bytes = 0;
    try {
      for await (const chunk of formatDump(counted, args.format)) {
        bytes += Buffer.byteLength(chunk);
        if (!target.write(chunk)) await once(target, "drain");
      }
    } finally {
      target.end();
      await once(target, "close");
    }
    const summary: DumpSummary = { records: count, bytes, output: args.output };
    return { data: summary, text: () => `wrote ${count} records (${bytes} bytes) to ${args.output}\n` };
  },
};
