import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";

// DEVELOPERS.md: README.md keeps exactly two set-up commands, and .ci/run must run the test command,
// so that a missing install step fails in CI rather than on a user's machine.
describe("README set-up commands", () => {
  const readme = readFileSync("README.md", "utf8");
  const setup = readme.split(/^## /m).find((s) => s.startsWith("Set up")) ?? "";
  const commands = [...setup.matchAll(/```sh\n([^\n]+)\n```/g)].map((m) => m[1] as string);
  const ci = readFileSync(".ci/run", "utf8");

  it("has exactly two: the main job and the test suite", () => {
    assert.equal(commands.length, 2, `found ${JSON.stringify(commands)}`);
    assert.match(commands[0] as string, /inspect fixtures\//);
    assert.match(commands[1] as string, /npm test/);
  });

  it("are both run verbatim by .ci/run, and a failure stops it", () => {
    for (const c of commands) {
      const line = ci.split("\n").find((l) => l.includes(`{ ${c}; }`));
      assert.ok(line, `.ci/run does not run: ${c}`);
      assert.match(line, /^if ! \{ .*; \}; then/);
    }
  });
});
