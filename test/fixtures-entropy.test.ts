/**
 * The checkpoints Flink wrote to S3 with entropy injection (`fixtures/entropy/flink-<x.y>/checkpoint-entropy/`,
 * see fixtures/entropy/README.md): `_metadata` lies where the checkpoint directory names it with the
 * marker removed, every state file under a prefix of random characters, each pointer absolute. Our
 * reader finds exactly the files Flink's loader found (`expected.json`, written by the harness's
 * `Entropy`), with their sizes, all outside the checkpoint's directory; the writer gives back Flink's
 * bytes. Reading them from S3, relocating and restoring them is test/flink/entropy.test.ts.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { readMetadata, writeMetadata } from "../src/formats/metadata/index.js";
import { buildInventory } from "../src/ops/inventory.js";
import { listEntropyFixtures, listFixtures } from "./helpers/fixtures.js";

const fixtures = listEntropyFixtures();

it("there is an entropy-injected checkpoint of each Flink line", () => {
  assert.deepEqual(
    fixtures.map((f) => f.id),
    ["flink-1.20/checkpoint-entropy", "flink-2.3/checkpoint-entropy"],
  );
});

for (const f of fixtures) {
  describe(`entropy-injected checkpoint ${f.id}`, () => {
    const bytes = readFileSync(f.metadataFile);
    const m = readMetadata(bytes, f.metadataFile);
    const pointer = String(f.expected.pointer);

    it("our reader finds the files Flink's loader found: absolute, under entropy prefixes, with their sizes", () => {
      assert.equal(m.version, f.expected.metadataVersion);
      const inv = buildInventory(m, pointer);
      const ours = inv.files.map((x) => [x.uri, x.minSize.toString()]).sort();
      const flink = (f.expected.files as { uri: string; stateSize: string }[])
        .map((x) => [x.uri, x.stateSize])
        .sort();
      assert.deepEqual(ours, flink);
      assert.ok(inv.files.length > 0);
      for (const file of inv.files) {
        assert.equal(file.location, "external", `${file.uri} lies outside ${pointer} and its job's shared/`);
        assert.ok(
          file.references.every((r) => !r.relative),
          `${file.uri}: only absolute pointers where entropy is injected`,
        );
        // the marker replaced by random characters, right after the bucket
        const key = file.uri.slice(`s3://${f.expected.bucket}/`.length);
        assert.match(key, new RegExp(`^[^/]{${f.expected.entropyLength}}/checkpoints/`), file.uri);
      }
      assert.equal(inv.selfContained, false);
    });

    it("our writer gives back Flink's bytes", () => {
      assert.ok(Buffer.from(writeMetadata(m)).equals(bytes));
    });

    it("is the fixture job's checkpoint (its operators, as checkpoint-rocksdb-incremental's)", () => {
      const line = f.id.split("/")[0];
      const incremental = listFixtures().find((x) => x.id === `${line}/checkpoint-rocksdb-incremental`);
      assert.ok(incremental);
      assert.deepEqual(f.expected.jobOperators, incremental.expected.jobOperators);
      assert.deepEqual(
        m.operatorStates.map((o) => o.operatorId).sort(),
        incremental.expected.operators.map((o: { operatorId: string }) => o.operatorId).sort(),
      );
    });
  });
}
