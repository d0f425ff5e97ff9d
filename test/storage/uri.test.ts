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

  // relativeTo and resolveInside answer URIs and paths in normal form without parsing them; these pin
  // that they answer as parsing would, for any input (the references below parse everything).
  const dirs = [
    "file:///",
    "file:///sp/a",
    "file:/sp/a",
    "/sp/a",
    "FILE:///sp/a",
    "file://localhost/sp/a",
    "s3://b/",
    "s3://b/sp",
    "s3a://b/sp",
    "hdfs://nn:1/sp",
    "hdfs:///sp",
  ];
  const pieces = [
    "/",
    "//",
    ".",
    "..",
    "a",
    "sp",
    "b",
    ":",
    "s3://b",
    "file:",
    "hdfs://nn:1",
    "%2F",
    "x.y",
    "...",
  ];

  it("relativeTo gives what parsing both would give", () => {
    const reference = (dir: string, uri: string): string | undefined => {
      const d = parseUri(dir);
      const u = parseUri(uri, "/cwd");
      if (d.scheme !== u.scheme || d.authority !== u.authority) return undefined;
      const prefix = d.path === "/" ? "/" : `${d.path}/`;
      return u.path.startsWith(prefix) && u.path.length > prefix.length
        ? u.path.slice(prefix.length)
        : undefined;
    };
    fc.assert(
      fc.property(
        fc.constantFrom(...dirs),
        fc.constantFrom(...dirs, ""),
        fc.array(fc.constantFrom(...pieces), { maxLength: 8 }),
        (dir, base, parts) => {
          const uri = base + parts.join("");
          let expected: string | undefined;
          try {
            expected = reference(dir, uri);
          } catch (e) {
            assert.throws(() => relativeTo(dir, uri), (e as Error).constructor as never, uri);
            return;
          }
          if (!/^(?:\/|[a-zA-Z][a-zA-Z0-9+.-]+:)/.test(uri)) return; // a relative path: depends on the cwd
          assert.equal(relativeTo(dir, uri), expected, `${dir} ${uri}`);
          assert.equal(isInside(dir, uri), expected !== undefined, `${dir} ${uri}`);
        },
      ),
      { numRuns: 5000 },
    );
  });

  it("toLocalPath gives the path parseUri gives a local URI", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("file:///", "file://", "file:/", "FILE:///", "file://localhost/", "s3://b/", ""),
        fc.array(fc.constantFrom(...pieces), { maxLength: 8 }),
        (base, parts) => {
          const uri = base + parts.join("");
          let expected: string;
          try {
            const u = parseUri(uri, "/cwd");
            if (u.scheme !== "file") throw new UnsupportedUriError(uri, "not local");
            expected = u.path;
          } catch (e) {
            assert.throws(() => toLocalPath(uri), (e as Error).constructor as never, uri);
            return;
          }
          if (!/^(?:\/|[a-zA-Z][a-zA-Z0-9+.-]+:)/.test(uri)) return; // a relative path: depends on the cwd
          assert.equal(toLocalPath(uri), expected, uri);
        },
      ),
      { numRuns: 5000 },
    );
  });

  it("resolveInside gives what normalising the joined path would give", () => {
    const reference = (dir: string, child: string): string => {
      const d = parseUri(dir);
      const joined = parseUri(`file://${d.path === "/" ? "" : d.path}/${child}`).path;
      const prefix = d.path === "/" ? "/" : `${d.path}/`;
      if (!joined.startsWith(prefix)) throw new PointerEscapeError("escapes");
      return formatUri({ ...d, path: joined });
    };
    fc.assert(
      fc.property(
        fc.constantFrom(...dirs),
        fc.array(fc.constantFrom(...pieces), { maxLength: 8 }),
        (dir, parts) => {
          const child = parts.join("");
          if (child.startsWith("/") || /^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(child)) {
            assert.throws(() => resolveInside(dir, child), PointerEscapeError, child);
            return;
          }
          let expected: string;
          try {
            expected = reference(dir, child);
          } catch {
            assert.throws(() => resolveInside(dir, child), PointerEscapeError, `${dir} ${child}`);
            return;
          }
          assert.equal(resolveInside(dir, child), expected, `${dir} ${child}`);
        },
      ),
      { numRuns: 5000 },
    );
  });
});
