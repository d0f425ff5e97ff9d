import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { entropyFreeUri, MAX_ENTROPY_LENGTH } from "../../src/ops/entropy.js";
import { listEntropyFixtures } from "../helpers/fixtures.js";

describe("entropyFreeUri", () => {
  for (const f of listEntropyFixtures()) {
    it(`${f.id}: every file Flink wrote lies in chk-2 or shared/ of its job once the random prefix is out`, () => {
      const pointer = String(f.expected.pointer); // s3://<bucket>/checkpoints/<job>/chk-2
      const job = pointer.slice(0, pointer.lastIndexOf("/"));
      const files = f.expected.files as { uri: string }[];
      assert.ok(files.length > 0);
      for (const { uri } of files) {
        const free = entropyFreeUri(uri, job);
        // the key is <entropy>/checkpoints/<job>/…: the same key without its first segment
        const key = uri.slice(`s3://${f.expected.bucket}/`.length);
        const expected = `s3://${f.expected.bucket}/${key.slice(key.indexOf("/") + 1)}`;
        assert.equal(free, expected, uri);
        assert.match(free ?? "", new RegExp(`^${job}/(chk-2|shared)/[^/]+$`));
      }
    });
  }

  it("takes the random part out of a segment, as a marker inside a name leaves it", () => {
    assert.equal(entropyFreeUri("s3://b/cp-Ab3x/job/shared/f", "s3://b/cp-/job"), "s3://b/cp-/job/shared/f");
    assert.equal(
      entropyFreeUri("s3a://b/flink/x7Qa/checkpoints/j/chk-4/f", "s3a://b/flink/checkpoints/j"),
      "s3a://b/flink/checkpoints/j/chk-4/f",
    );
  });

  it("finds the random part when it starts with the letters the directory's path goes on with", () => {
    assert.equal(
      entropyFreeUri("s3://b/chXy/checkpoints/j/shared/f", "s3://b/checkpoints/j"),
      "s3://b/checkpoints/j/shared/f",
    );
  });

  it("leaves alone what entropy injection cannot have made", () => {
    const job = "s3://b/checkpoints/j";
    for (const [uri, dir] of [
      ["s3://b/checkpoints/j/shared/f", job], // inside already
      ["s3://other/x7Qa/checkpoints/j/shared/f", job], // another bucket
      ["hdfs://nn/x7Qa/checkpoints/j/shared/f", "hdfs://nn/checkpoints/j"], // no entropy outside S3
      ["file:///x7Qa/checkpoints/j/shared/f", "file:///checkpoints/j"],
      ["s3://b/x-7Qa/checkpoints/j/shared/f", job], // not letters and digits only
      ["s3://b/x7Qa/y8Rb/checkpoints/j/shared/f", job], // two random parts
      ["s3://b/x7Qa/checkpoints/j", job], // the directory itself
      ["s3://b/x7Qa/checkpoints/k/shared/f", job], // another job
      [`s3://b/${"a".repeat(MAX_ENTROPY_LENGTH + 1)}/checkpoints/j/shared/f`, job], // too long
    ] as const) {
      assert.equal(entropyFreeUri(uri, dir), undefined, uri);
    }
    assert.equal(
      entropyFreeUri(`s3://b/${"a".repeat(MAX_ENTROPY_LENGTH)}/checkpoints/j/shared/f`, job),
      "s3://b/checkpoints/j/shared/f",
    );
  });

  it("undoes what Flink's EntropyInjector does, for any marker place and random part", () => {
    const segment = fc.stringMatching(/^[a-z0-9_-]{1,8}$/);
    const alnum = fc.stringMatching(/^[A-Za-z0-9]{1,16}$/);
    fc.assert(
      fc.property(
        fc.array(segment, { maxLength: 3 }),
        fc.array(segment, { maxLength: 3 }),
        fc.boolean(),
        alnum,
        segment,
        (before, after, wholeSegment, random, name) => {
          // the configured directory: <before>/<marker>/<after> (or the marker inside a segment),
          // the job directory under it, a shared file of the job
          const marker = "_entropy_";
          const dirPath = wholeSegment
            ? [...before, marker, ...after].join("/")
            : [...before, `cp${marker}`, ...after].join("/");
          const inject = (p: string, by: string) => `/${p.replace(marker, by)}`.replace(/\/+/g, "/");
          const job = `s3://b${inject(`${dirPath}/job`, "")}`;
          const file = `s3://b${inject(`${dirPath}/job/shared/${name}`, random)}`;
          const free = entropyFreeUri(file, job);
          assert.equal(free, `${job}/shared/${name}`);
        },
      ),
    );
  });
});
