import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { commandLoaders, commandsFor, loadAllCommands } from "../../src/cli/commands/index.js";
import { runCli } from "../../src/cli/main.js";

describe("commands loaded on demand", () => {
  it("names each loader after the first word of its command", async () => {
    const all = await loadAllCommands();
    assert.equal(all.length, 12);
    assert.deepEqual(
      all.map((c) => String(c.command).split(" ")[0]),
      [...commandLoaders.keys()],
    );
  });

  it("loads only the named command for a run, every command for help, a typo or options first", async () => {
    assert.deepEqual(
      (await commandsFor(["hash", "word-stats"])).map((c) => c.command),
      ["hash <uid..>"],
    );
    for (const argv of [[], ["--help"], ["hash", "--help"], ["relocat", "a", "b"], ["--json", "hash", "x"]]) {
      assert.equal((await commandsFor(argv)).length, 12, JSON.stringify(argv));
    }
  });

  it("still suggests the command meant and shows one command's help", async () => {
    const typo = await runCli(["relocat", "a", "b"]);
    assert.equal(typo.exitCode, 64);
    assert.match(typo.stderr, /relocate/);
    const help = await runCli(["relocate", "--help"]);
    assert.equal(help.exitCode, 0);
    assert.match(help.stdout, /relocate <src> <dst>/);
    assert.match(help.stdout, /--no-sync|--sync/);
  });

  it("runs a command given options before its name", async () => {
    const r = await runCli(["--json", "hash", "word-stats"]);
    assert.equal(r.exitCode, 0);
    assert.match(r.stdout, /[0-9a-f]{32}/);
  });
});
