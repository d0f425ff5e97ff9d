import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { PointerEscapeError, UnsupportedUriError } from "../../src/errors.js";
import {
  baseName,
  formatUri,
  isInside,
  normalizeUri,
  parentUri,
  parseUri,
  relativeTo,
  resolveInside,
  schemeOf,
  toLocalPath,
} from "../../src/storage/uri.js";

describe("normalizeUri", () => {
  it("puts Flink's and users' spellings of one place in one form", () => {
    assert.equal(normalizeUri("file:/tmp/a/b"), "file:///tmp/a/b");
    assert.equal(normalizeUri("file:///tmp/a//b/"), "file:///tmp/a/b");
    assert.equal(normalizeUri("file://localhost/tmp/a"), "file:///tmp/a");
    assert.equal(normalizeUri("/tmp/./a/../b"), "file:///tmp/b");
    assert.equal(normalizeUri("rel/x", "/base"), "file:///base/rel/x");
    assert.equal(normalizeUri("s3://bucket/k/x"), "s3://bucket/k/x");
    assert.equal(normalizeUri("S3A://bucket/k"), "s3a://bucket/k");
    assert.equal(normalizeUri("hdfs://nn:8020/user/x"), "hdfs://nn:8020/user/x");
    assert.equal(normalizeUri("hdfs:///user/x"), "hdfs:///user/x");
    // as Flink's Path: no percent-decoding (`%` is a literal character of the name)
    assert.equal(normalizeUri("file:///a%20b"), "file:///a%20b");
    assert.equal(toLocalPath("file:///data/a%41b/x"), "/data/a%41b/x");
    assert.equal(normalizeUri("file:/a b"), "file:///a b");
  });

  it("refuses URIs it cannot place", () => {
    assert.throws(() => normalizeUri("s3:bucket"), UnsupportedUriError);
    assert.throws(() => normalizeUri("file://otherhost/x"), UnsupportedUriError);
    assert.throws(() => normalizeUri("file:///../x"), PointerEscapeError);
  });
});

describe("schemeOf", () => {
  it("gives the scheme parseUri gives, for any URI or path parseUri accepts", () => {
    const pieces = ["s3", "S3A", "hdfs", "file", "c", "x+y.z-1", ":", "//", "/", "a", "..", "b:c"];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 6 }), (parts) => {
        const input = parts.join("");
        let scheme: string;
        try {
          scheme = parseUri(input, "/cwd").scheme;
        } catch {
          return; // schemeOf does not check what it does not read
        }
        assert.equal(schemeOf(input), scheme, input);
      }),
      { numRuns: 2000 },
    );
    assert.equal(schemeOf("C:/data"), "file");
    assert.equal(schemeOf("relative/path"), "file");
    assert.equal(schemeOf("HDFS://nn:8020/x"), "hdfs");
  });
});

describe("normalizeUri's fast path for URIs already normal", () => {
  /** What normalizeUri gives by parsing (the slow path), or the error's class name. */
  const parsed = (u: string) => {
    try {
      return formatUri(parseUri(u, "/cwd"));
    } catch (err) {
      return (err as Error).constructor.name;
    }
  };
  const outcome = (u: string) => {
    try {
      return normalizeUri(u, "/cwd");
    } catch (err) {
      return (err as Error).constructor.name;
    }
  };

  it("gives what parsing gives, for URIs made of the characters that matter", () => {
    const pieces = [
      "s3",
      "S3",
      "hdfs",
      "file",
      "f",
      ":",
      "/",
      "//",
      ".",
      "..",
      "a",
      "b.c",
      "%20",
      "localhost",
      "-",
      "\n",
    ];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 12 }), (parts) => {
        const u = parts.join("");
        assert.equal(outcome(u), parsed(u), JSON.stringify(u));
      }),
      { numRuns: 3000 },
    );
    for (const u of [
      "s3://bucket/jobs/j/shared/x",
      "s3://bucket/",
      "s3://bucket",
      "s3://bucket/a/",
      "s3://bucket/a/./b",
      "s3://bucket/a/../b",
      "s3://bucket/.../b",
      "s3://bucket/..a/.b",
      "hdfs:///p/q",
      "hdfs://nn:8020/p",
      "s3a://b//k",
      "S3://b/k",
      "file:///tmp/a",
      "x1+.-://a/b",
    ]) {
      assert.equal(outcome(u), parsed(u), u);
    }
  });
});

describe("relative pointers", () => {
  it("resolve inside the metadata directory like Flink's new Path(dir, child)", () => {
    assert.equal(resolveInside("file:///sp/savepoint-1", "abc-uuid"), "file:///sp/savepoint-1/abc-uuid");
    assert.equal(resolveInside("s3://b/sp", "x/y"), "s3://b/sp/x/y");
  });

  it("never escape it", () => {
    assert.throws(() => resolveInside("file:///sp/a", "../b/x"), PointerEscapeError);
    assert.throws(() => resolveInside("file:///sp/a", "/etc/passwd"), PointerEscapeError);
    assert.throws(() => resolveInside("file:///sp/a", "file:/etc/passwd"), PointerEscapeError);
    assert.throws(() => resolveInside("file:///sp/a", ".."), PointerEscapeError);
  });

  it("relate files to directories", () => {
    assert.ok(isInside("file:///sp/a", "file:///sp/a/x"));
    assert.ok(!isInside("file:///sp/a", "file:///sp/ab/x"));
    assert.ok(!isInside("file:///sp/a", "file:///sp/a"));
    assert.ok(!isInside("s3://b/sp", "s3a://b/sp/x"));
    assert.equal(relativeTo("hdfs://nn:1/a", "hdfs://nn:1/a/b/c"), "b/c");
    assert.equal(relativeTo("hdfs://nn:1/a", "hdfs://nn:2/a/b/c"), undefined);
    assert.equal(relativeTo("file:///", "file:///a/b"), "a/b");
    assert.equal(relativeTo("s3://b/", "s3://b/k"), "k");
    assert.equal(relativeTo("file:///sp/a", "file:///sp/a"), undefined);
    assert.equal(relativeTo("file:///sp/a", "file:///sp/ab/x"), undefined);
    assert.equal(relativeTo("file:///sp/a", "s3://sp/a/x"), undefined);
    assert.equal(parentUri("file:///a/b/_metadata"), "file:///a/b");
    assert.equal(parentUri("s3://b/x"), "s3://b/");
    assert.equal(baseName("file:///a/b/_metadata"), "_metadata");
    assert.equal(toLocalPath("file:///a/b"), "/a/b");
  });
});
