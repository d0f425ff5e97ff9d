/** `savepoint dump --proto/--proto-type`: the options go together and load the .proto before dumping. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runCli } from "../../src/cli/main.js";
import { listFixtures } from "../helpers/fixtures.js";

const f = listFixtures().find((x) => x.id.includes("savepoint-canonical-hashmap"));

describe("savepoint dump --proto", () => {
  it("--proto without --proto-type is a usage error (exit 64)", async () => {
    assert.ok(f, "no fixture");
    const r = await runCli(["dump", f.metadataDir, "--operator", "word-stats", "--proto", "x.proto"]);
    assert.equal(r.exitCode, 64, r.stderr);
    assert.match(r.stderr, /--proto and --proto-type go together/);
  });

  it("a message type the .proto does not have is a usage error naming the types it has", async () => {
    assert.ok(f);
    const r = await runCli([
      "dump",
      f.metadataDir,
      "--operator",
      "word-stats",
      "--proto",
      "fixtures/vectors/serializers/proto/example.proto",
      "--proto-type",
      "savepointkit.example.Missing",
    ]);
    assert.equal(r.exitCode, 64, r.stderr);
    assert.match(r.stderr, /savepointkit\.example\.Reading/);
  });

  it("values that carry no protobuf bytes are dumped unchanged", async () => {
    assert.ok(f);
    const args = ["dump", f.metadataDir, "--operator", "word-stats", "--state", "word-count"];
    const plain = await runCli(args);
    const proto = await runCli([
      ...args,
      "--proto",
      "fixtures/vectors/serializers/proto/example.proto",
      "--proto-type",
      "savepointkit.example.Reading",
    ]);
    assert.equal(plain.exitCode, 0, plain.stderr);
    assert.equal(proto.exitCode, 0, proto.stderr);
    assert.ok(plain.stdout.length > 0);
    assert.equal(proto.stdout, plain.stdout);
  });
});
