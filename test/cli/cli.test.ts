import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { runCli } from "../../src/cli/main.js";
import { readMetadata, writeMetadata } from "../../src/formats/metadata/index.js";
import { normalizeUri } from "../../src/storage/uri.js";
import { listFixtures } from "../helpers/fixtures.js";

const fixtures = listFixtures();
const scratch = mkdtempSync(join(tmpdir(), "savepoint-cli-"));

/** What a consumer of `runCli`'s streamed output received, as text (`--json` comes as UTF-8 bytes). */
function joinChunks(chunks: (string | Uint8Array)[]): string {
  return Buffer.concat(chunks.map((c) => (typeof c === "string" ? Buffer.from(c) : c))).toString("utf8");
}
after(() => rmSync(scratch, { recursive: true, force: true }));

describe("savepoint inspect", () => {
  const f = fixtures.find((x) => x.id.includes("savepoint-canonical")) ?? fixtures[0];

  it("prints a table with every operator and exits 0", async () => {
    assert.ok(f, "no fixtures");
    const r = await runCli(["inspect", f.metadataDir]);
    assert.equal(r.exitCode, 0, r.stderr);
    for (const op of f.expected.operators) assert.ok(r.stdout.includes(op.operatorId), op.operatorId);
    assert.match(r.stdout, new RegExp(`version ${f.expected.metadataVersion} `));
    assert.equal(r.stderr, "");
  });

  it("prints JSON with --json", async () => {
    assert.ok(f);
    const r = await runCli(["inspect", join(f.metadataDir, "_metadata"), "--json"]);
    assert.equal(r.exitCode, 0, r.stderr);
    const json = JSON.parse(r.stdout);
    assert.equal(json.checkpointId, f.expected.checkpointId);
    assert.equal(json.operators.length, f.expected.operators.length);
  });

  it("labels operators from a uids file", async () => {
    const f14 = fixtures.find((x) => x.expected.metadataVersion === 4);
    assert.ok(f14, "no Flink 1.x fixture");
    const uids = (f14.expected.jobOperators ?? []).flatMap((j) => (j.uid ? [j.uid] : []));
    const file = join(scratch, "uids.txt");
    writeFileSync(file, `# job uids\n${uids.join("\n")}\n`);
    const r = await runCli(["inspect", f14.metadataDir, "--uids-file", file, "--json"]);
    assert.equal(r.exitCode, 0, r.stderr);
    const labelled = JSON.parse(r.stdout).operators.filter(
      (o: { uidSource: string }) => o.uidSource === "supplied",
    );
    assert.ok(labelled.length > 0);
  });

  it("exits 2 with a one-line message naming the file and byte offset for a corrupt _metadata", async () => {
    assert.ok(f);
    const bytes = readFileSync(f.metadataFile);
    const dir = join(scratch, "truncated");
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "_metadata"), bytes.subarray(0, Math.floor(bytes.length / 2)));
    const r = await runCli(["inspect", dir]);
    assert.equal(r.exitCode, 2);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /truncated\/_metadata at byte \d+/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    const debug = await runCli(["inspect", dir, "--debug"]);
    assert.match(debug.stderr, /\n\s+at /);
  });

  it("exits 2 for a directory without _metadata and for a file that is not a snapshot", async () => {
    const r = await runCli(["inspect", scratch]);
    assert.equal(r.exitCode, 2);
    assert.match(r.stderr, /not a Flink snapshot/);
    const notMeta = join(scratch, "notes.txt");
    writeFileSync(notMeta, "hello, this is not a savepoint");
    const r2 = await runCli(["inspect", notMeta]);
    assert.equal(r2.exitCode, 2);
    assert.match(r2.stderr, /notes\.txt/);
  });

  it("streams --json one operator at a time; damage found part way ends the output without garbling it", async () => {
    assert.ok(f);
    const bytes = readFileSync(f.metadataFile);
    // the same report, written in chunks to a consumer, equals the buffered one
    const chunks: (string | Uint8Array)[] = [];
    const ok = await runCli(["inspect", f.metadataDir, "--json"], undefined, {
      stdout: (c) => void chunks.push(c),
    });
    assert.equal(ok.exitCode, 0, ok.stderr);
    const buffered = await runCli(["inspect", f.metadataDir, "--json"]);
    assert.equal(joinChunks(chunks), buffered.stdout);
    // the summary (known after the last operator) follows the operators
    const keys = Object.keys(JSON.parse(buffered.stdout));
    assert.ok(keys.indexOf("operators") < keys.indexOf("totals"), keys.join());

    // a file with many operators, cut inside its last one: the header and earlier operators (well over
    // one output chunk) are written before the damage is met
    const m = readMetadata(bytes);
    const many = Array.from({ length: 300 }, (_, i) =>
      m.operatorStates.map((op) => ({
        ...op,
        operatorId: `${i.toString(16).padStart(8, "0")}${op.operatorId.slice(8)}`,
      })),
    ).flat();
    const big = writeMetadata({ ...m, operatorStates: many });
    const dir = join(scratch, "cut-late");
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "_metadata"), big.subarray(0, big.length - (m.properties?.length ?? 0) - 20));
    const partial: (string | Uint8Array)[] = [];
    const r = await runCli(["inspect", dir, "--json"], undefined, { stdout: (c) => void partial.push(c) });
    assert.equal(r.exitCode, 2);
    assert.match(r.stderr, /cut-late\/_metadata at byte \d+/);
    assert.ok(partial.length > 0, "output had started");
    assert.match(joinChunks(partial), /^\{\n {2}"metadataUri"/);
    assert.equal(r.stdout, "", "no error object appended to a partial document");
  });

  it("reports errors as JSON too with --json: the code, the message, the URI, and for corrupt bytes their offset", async () => {
    const r = await runCli(["inspect", join(scratch, "missing"), "--json"]);
    assert.equal(r.exitCode, 2);
    const missing = JSON.parse(r.stdout).error;
    assert.equal(missing.code, "NOT_A_SNAPSHOT");
    assert.equal(missing.uri, normalizeUri(join(scratch, "missing")));
    assert.equal(r.stderr, `savepoint: ${missing.message}\n`);
    // the magic number and a version, then nothing: cut where the checkpoint id should start
    const dir = join(scratch, "cut-early");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "_metadata"), Uint8Array.of(0x49, 0x60, 0x67, 0x2d, 0, 0, 0, 3));
    const cut = await runCli(["inspect", dir, "--json"]);
    const corrupt = JSON.parse(cut.stdout).error;
    assert.equal(corrupt.code, "CORRUPT_SNAPSHOT");
    assert.equal(corrupt.uri, normalizeUri(join(dir, "_metadata")));
    assert.equal(corrupt.offset, 8);
    assert.equal(typeof corrupt.message, "string");
  });
});

describe("savepoint hash", () => {
  it("prints Flink's OperatorID of each uid", async () => {
    const r = await runCli(["hash", "a", "my-operator-uid"]);
    assert.equal(r.exitCode, 0);
    assert.equal(
      r.stdout,
      "897859f6655555855a890e51483ab5e6  a\n4a0e6dd79906c200056e3630371c5f92  my-operator-uid\n",
    );
  });
});

describe("usage", () => {
  it("exits 64 for an unknown command or a missing argument", async () => {
    assert.equal((await runCli(["frobnicate"])).exitCode, 64);
    assert.equal((await runCli(["inspect"])).exitCode, 64);
    assert.equal((await runCli([])).exitCode, 64);
  });

  it("prints help with --help and exits 0", async () => {
    const r = await runCli(["--help"]);
    assert.equal(r.exitCode, 0);
    assert.match(r.stdout, /inspect <path>/);
    assert.match(r.stdout, /hash <uid\.\.>/);
  });
});
