import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { StoreFaultError } from "../../src/errors.js";
import { CommitWaves } from "../../src/ops/commit-waves.js";
import type { CommitOptions, FileStatus, StagedCopy, Store } from "../../src/storage/store.js";

/** A store that records its commits and discards; a commit takes until `release()` is called. */
function recordingStore(options?: { failOn?: string }) {
  const commits: string[][] = [];
  const commitOptions: (CommitOptions | undefined)[] = [];
  const discarded: string[] = [];
  let open = 0;
  let mostOpen = 0;
  const waiting: (() => void)[] = [];
  const store = {
    async commitStaged(staged: readonly StagedCopy[], given?: CommitOptions) {
      commitOptions.push(given);
      open++;
      mostOpen = Math.max(mostOpen, open);
      await new Promise<void>((r) => waiting.push(r));
      open--;
      if (staged.some((s) => s.target === options?.failOn))
        throw new StoreFaultError(`cannot sync ${options?.failOn}`);
      commits.push(staged.map((s) => s.target));
    },
    async discardStaged(staged: readonly StagedCopy[]) {
      discarded.push(...staged.map((s) => s.target));
    },
  } as unknown as Store;
  /** Lets the oldest waiting commit finish. */
  const release = async () => {
    while (waiting.length === 0) await new Promise((r) => setImmediate(r));
    (waiting.shift() as () => void)();
    await new Promise((r) => setImmediate(r));
  };
  return { store, commits, commitOptions, discarded, release, mostOpen: () => mostOpen };
}

const staged = (name: string): StagedCopy => ({ target: name, staged: `.${name}.tmp` });

describe("CommitWaves", () => {
  it("gives its commit options to every commit", async () => {
    for (const options of [{}, { perFile: true }]) {
      const { store, commitOptions, release } = recordingStore();
      const waves = new CommitWaves({ bytes: 100, files: 1 }, options);
      await waves.add(store, staged("a"), 1, () => {});
      const finished = waves.add(store, staged("b"), 1, () => {}).then(() => waves.finish());
      await release();
      await release();
      await finished;
      assert.deepEqual(commitOptions, [options, options]);
    }
  });

  it("commits a wave once it holds the byte or file limit, the rest at finish, and reports each file after its commit", async () => {
    const { store, commits, release } = recordingStore();
    const waves = new CommitWaves({ bytes: 100, files: 3 });
    const done: string[] = [];
    await waves.add(store, staged("a"), 60, () => done.push("a"));
    await waves.add(store, staged("b"), 60, () => done.push("b")); // 120 bytes: a wave
    await waves.add(store, staged("c"), 1, () => done.push("c"));
    await waves.add(store, staged("d"), 1, () => done.push("d"));
    assert.deepEqual(done, [], "nothing is reported before its wave is committed");
    const finished = waves.finish();
    await release();
    await release();
    await finished;
    assert.deepEqual(commits, [
      ["a", "b"],
      ["c", "d"],
    ]);
    assert.deepEqual(done, ["a", "b", "c", "d"]);
  });

  it("reports each file with the status its store gave when committing it, in the order of its wave", async () => {
    const statusOf = (s: StagedCopy): FileStatus => ({
      uri: s.target,
      size: s.target.length,
      modified: new Date(0),
    });
    const reported: [string, FileStatus | undefined][] = [];
    const withStatuses = {
      async commitStaged(staged: readonly StagedCopy[]) {
        return staged.map(statusOf);
      },
    } as unknown as Store;
    const without = { async commitStaged() {} } as unknown as Store;
    const waves = new CommitWaves({ bytes: 1000, files: 10 });
    for (const [name, store] of [
      ["aa", withStatuses],
      ["b", without],
      ["cccc", withStatuses],
    ] as const) {
      await waves.add(store, staged(name), 1, (status) => reported.push([name, status]));
    }
    await waves.finish();
    assert.deepEqual(
      reported.sort(([a], [b]) => a.localeCompare(b)),
      [
        ["aa", statusOf(staged("aa"))],
        ["b", undefined],
        ["cccc", statusOf(staged("cccc"))],
      ],
    );
  });

  it("commits one wave at a time: adding to a full wave waits for the previous one", async () => {
    const { store, commits, release, mostOpen } = recordingStore();
    const waves = new CommitWaves({ bytes: 1000, files: 2 });
    await waves.add(store, staged("a"), 1, () => {});
    await waves.add(store, staged("b"), 1, () => {}); // first wave committing
    await waves.add(store, staged("c"), 1, () => {});
    let added = false;
    const fourth = waves
      .add(store, staged("d"), 1, () => {})
      .then(() => {
        added = true;
      });
    await new Promise((r) => setImmediate(r));
    assert.equal(added, false, "the second full wave waits while the first is committed");
    await release();
    await fourth;
    assert.equal(added, true);
    const finished = waves.finish();
    await release();
    await finished;
    assert.deepEqual(commits, [
      ["a", "b"],
      ["c", "d"],
    ]);
    assert.equal(mostOpen(), 1);
  });

  it("a wave that fails to commit fails finish, and what comes after it is discarded, not committed", async () => {
    const { store, commits, discarded, release } = recordingStore({ failOn: "b" });
    const waves = new CommitWaves({ bytes: 1000, files: 2 });
    const done: string[] = [];
    await waves.add(store, staged("a"), 1, () => done.push("a"));
    await waves.add(store, staged("b"), 1, () => done.push("b"));
    await release(); // the first wave fails
    await assert.rejects(
      waves.add(store, staged("c"), 1, () => done.push("c")),
      /cannot sync b/,
    );
    await assert.rejects(waves.finish(), /cannot sync b/);
    assert.deepEqual(commits, []);
    assert.deepEqual(done, []);
    assert.deepEqual(discarded.sort(), ["a", "b", "c"]);
  });

  it("abort waits for the wave being committed and discards the staged copies not yet committed", async () => {
    const { store, commits, discarded, release } = recordingStore();
    const waves = new CommitWaves({ bytes: 1000, files: 2 });
    await waves.add(store, staged("a"), 1, () => {});
    await waves.add(store, staged("b"), 1, () => {});
    await waves.add(store, staged("c"), 1, () => {});
    const aborted = waves.abort();
    await release();
    await aborted;
    assert.deepEqual(commits, [["a", "b"]]);
    assert.deepEqual(discarded, ["c"]);
    await assert.rejects(
      waves.add(store, staged("d"), 1, () => {}),
      /aborted/,
    );
    assert.deepEqual(discarded, ["c", "d"]);
  });
});
