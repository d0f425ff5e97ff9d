/**
 * The spill of a changelog's changes by key-group parts (`src/formats/state/changelog-spill.ts`), on the
 * in-memory changelog storage's real checkpoint (its changes inline in `_metadata`): each part's file
 * reads back as exactly that part's changes, in log order; the files go with `close`; a spill directory
 * that cannot be made is a typed error naming it.
 */

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { StoreFaultError } from "../../../src/errors.js";
import { readMetadata } from "../../../src/formats/metadata/index.js";
import type {
  ChangelogStateBackendHandle,
  OperatorSubtaskState,
} from "../../../src/formats/metadata/model.js";
import { keyGroupParts, readChangelogLog } from "../../../src/formats/state/changelog-replay.js";
import { spillChangelog } from "../../../src/formats/state/changelog-spill.js";
import type { StateFileResolver } from "../../../src/formats/state/stream.js";
import { listChangelogOpsFixtures } from "../../helpers/fixtures.js";

const tmp = mkdtempSync(join(tmpdir(), "sk-changelog-spill-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Inline handles: nothing to open. */
const resolver = {} as StateFileResolver;

const plain = (c: {
  change: { keyGroup: number; offset: number; bytes: Uint8Array };
  uri: string;
  state: { name: string };
}) =>
  [c.change.keyGroup, c.change.offset, Buffer.from(c.change.bytes).toString("hex"), c.uri, c.state.name].join(
    " ",
  );

describe("spillChangelog", () => {
  const fixtures = listChangelogOpsFixtures().filter((f) => f.expected.case.endsWith("-memory"));
  it("has the in-memory storage's fixture of both lines", () => assert.equal(fixtures.length, 2));

  for (const f of fixtures) {
    it(`${f.id}: every part reads back as its changes, in log order, and close removes the files`, async () => {
      const m = readMetadata(readFileSync(f.metadataFile), f.metadataFile);
      let subtasks = 0;
      for (const op of m.operatorStates)
        for (const s of op.subtaskStates) {
          const kh = (s as OperatorSubtaskState).managedKeyedState as ChangelogStateBackendHandle | null;
          if (kh?.kind !== "ChangelogStateBackendHandle") continue;
          subtasks++;
          const all = await readChangelogLog(kh.nonMaterialized, resolver, new Map(), {
            keyGroups: kh.keyGroupRange,
          });
          assert.ok(all.changes.count > 0);
          // parts of about a third of the changes each
          const total = [...all.keyGroupBytes.values()].reduce((a, b) => a + b, 0);
          const parts = keyGroupParts(all.keyGroupBytes, kh.keyGroupRange, Math.ceil(total / 3));
          assert.ok(parts.length >= 3, `${parts.length} parts`);
          const dir = mkdtempSync(join(tmp, "d-"));
          const spilled = await spillChangelog(kh.nonMaterialized, resolver, new Map(), {
            parts,
            directory: dir,
          });
          for (let i = 0; i < parts.length; i++) {
            const part = parts[i] as { start: number; end: number };
            const back = [...(await spilled.read(i))].map(plain);
            const want = [...all.changes]
              .filter((c) => c.change.keyGroup >= part.start && c.change.keyGroup <= part.end)
              .map(plain);
            assert.deepEqual(back, want, `part ${i}`);
          }
          await spilled.close();
          assert.deepEqual(readdirSync(dir), []);
        }
      assert.equal(subtasks, 4);
    });
  }

  it("a spill directory that cannot be made is a StoreFaultError naming it", async () => {
    const f = fixtures[0];
    assert.ok(f);
    const m = readMetadata(readFileSync(f.metadataFile), f.metadataFile);
    const kh = m.operatorStates
      .flatMap((op) => op.subtaskStates)
      .map((s) => (s as OperatorSubtaskState).managedKeyedState)
      .find((k) => k?.kind === "ChangelogStateBackendHandle") as ChangelogStateBackendHandle;
    const missing = join(tmp, "no", "such");
    await assert.rejects(
      spillChangelog(kh.nonMaterialized, resolver, new Map(), {
        parts: [kh.keyGroupRange],
        directory: missing,
      }),
      (e: unknown) => e instanceof StoreFaultError && e.uri === missing,
    );
    assert.equal(existsSync(missing), false);
  });
});
