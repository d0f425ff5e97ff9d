/**
 * URIs as savepoint-kit uses them: one normal form per location, so that two pointers to the same file
 * compare equal as strings.
 *
 * Normal forms:
 * - local files: `file:///abs/path` (Flink writes `file:/abs/path`; plain and relative paths are
 *   resolved against the working directory); as in Flink's `Path`, nothing is percent-decoded
 *   (`file:///a%20b` names the file `a%20b`, `file:/a b` the file `a b`);
 * - S3: `s3://bucket/key` (also `s3a://`, `s3p://`, `s3n://`: the scheme is kept, since Flink treats
 *   them as different file systems);
 * - HDFS: `hdfs://host:port/path` or `hdfs:///path` (default namenode).
 *
 * Directories have no trailing slash, except a bare root (`file:///`, `s3://bucket/`).
 */

import { isAbsolute, resolve as resolvePath } from "node:path";
import { PointerEscapeError, UnsupportedUriError } from "../errors.js";

/** A parsed URI: `scheme://authority/path`. `path` always starts with `/`. */
export interface ParsedUri {
  /** Lower-case scheme without `:`, e.g. `file`, `s3`, `s3a`, `hdfs`. */
  scheme: string;
  /** Host[:port] for HDFS, the bucket for S3, empty for local files and default namenodes. */
  authority: string;
  /** Absolute, normalised path (no `.`/`..`, no duplicate or trailing slashes except the root `/`). */
  path: string;
}

const SCHEME_RE = /^([a-zA-Z][a-zA-Z0-9+.-]*):(.*)$/s;

/** A `.` or `..` segment, an empty segment (`//`) or a trailing slash. */
const NEEDS_NORMALIZING = /\/\.{1,2}(\/|$)|\/\/|.\/$/;

/**
 * A relative path in normal form: one or more segments, none empty, `.` or `..` (so no leading,
 * trailing or double slash). Such a path below a directory's normal form is a URI's normal form.
 */
const NORMAL_RELATIVE_PATH = /^(?!\.\.?(?:\/|$))[^/]+(?:\/(?!\.\.?(?:\/|$))[^/]+)*$/s;

/** Normalises `.`/`..` and duplicate slashes of an absolute POSIX path; refuses `..` above the root. */
export function normalizePath(path: string, forUri: string): string {
  // Fast path: most paths (every pointer Flink writes) are already normal.
  if (path.startsWith("/") && !NEEDS_NORMALIZING.test(path)) return path;
  const out: string[] = [];
  for (const seg of path.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (out.length === 0) throw new PointerEscapeError(`path escapes the root: ${forUri}`, { uri: forUri });
      out.pop();
      continue;
    }
    out.push(seg);
  }
  return `/${out.join("/")}`;
}

/**
 * Parses a URI or local path into its normal form.
 *
 * @param input a URI (`file:/x`, `file:///x`, `s3://b/k`, `hdfs://nn:8020/p`) or a local path, which is
 *   resolved against `cwd`.
 * @param cwd base for relative local paths (default `process.cwd()`).
 * @throws UnsupportedUriError when the URI has no path or a malformed authority.
 */
export function parseUri(input: string, cwd?: string): ParsedUri {
  const m = SCHEME_RE.exec(input);
  // A single letter before ':' is a Windows drive, not a scheme; we treat it as a path too.
  if (!m || (m[1] as string).length === 1) {
    const abs = isAbsolute(input) ? input : resolvePath(cwd ?? process.cwd(), input);
    return { scheme: "file", authority: "", path: normalizePath(abs, input) };
  }
  const scheme = (m[1] as string).toLowerCase();
  let rest = m[2] as string;
  let authority = "";
  if (rest.startsWith("//")) {
    rest = rest.slice(2);
    const slash = rest.indexOf("/");
    authority = slash < 0 ? rest : rest.slice(0, slash);
    rest = slash < 0 ? "/" : rest.slice(slash);
  }
  if (!rest.startsWith("/")) {
    throw new UnsupportedUriError(input, `not an absolute URI (no path after the scheme): ${input}`);
  }
  if (scheme === "file" && authority !== "" && authority !== "localhost") {
    throw new UnsupportedUriError(input, `file URIs on another host are not supported: ${input}`);
  }
  if (scheme === "file") authority = "";
  // No percent-decoding, for any scheme: Flink's `Path(String)` takes "URIs, but with unescaped
  // elements" (it builds `new URI(scheme, authority, path, ...)`, which quotes `%`), so the pointer
  // `file:/data/a%41b` Flink writes names the directory `a%41b`, and `a b` is written as it is.
  return { scheme, authority, path: normalizePath(rest, input) };
}

/** A scheme of two or more characters and its `:` (one letter before `:` is a Windows drive, a path). */
const SCHEME_PREFIX_RE = /^([a-zA-Z][a-zA-Z0-9+.-]+):/;

/**
 * The scheme {@link parseUri} gives `input` (lower case; `file` for a local path), without parsing the
 * rest: what choosing a store needs, per file of a relocation. It does not check the rest of the URI.
 */
export function schemeOf(input: string): string {
  const m = SCHEME_PREFIX_RE.exec(input);
  return m ? (m[1] as string).toLowerCase() : "file";
}

/** A directory as {@link parseDirectory} gives it: parsed, and the normal form of its children's prefix. */
interface ParsedDirectory extends ParsedUri {
  /**
   * What the normal form of every URI inside the directory starts with: its normal form and `/`
   * (`file:///a/b/`), or only its normal form for a root, which ends with `/` already (`s3://bucket/`).
   */
  childPrefix: string;
}

/** Directories parsed by {@link parseDirectory}, by the string given. */
const parsedDirectories = new Map<string, ParsedDirectory>();
/** A URI with a scheme of two or more characters, or an absolute path: parsed alike in any working directory. */
const CWD_INDEPENDENT = /^(?:\/|[a-zA-Z][a-zA-Z0-9+.-]+:)/;

/**
 * {@link parseUri} of a directory, remembered (up to 64 of them): the functions below test or resolve
 * many files against the same few directories. Relative paths, which depend on the working directory,
 * are parsed each time. The result is shared: never modify it.
 */
function parseDirectory(dir: string): ParsedDirectory {
  const known = parsedDirectories.get(dir);
  if (known) return known;
  const uri = parseUri(dir);
  const normal = formatUri(uri);
  const parsed = { ...uri, childPrefix: uri.path === "/" ? normal : `${normal}/` };
  if (CWD_INDEPENDENT.test(dir)) {
    if (parsedDirectories.size >= 64) parsedDirectories.clear();
    parsedDirectories.set(dir, parsed);
  }
  return parsed;
}

/** Formats a parsed URI back to its normal string form. */
export function formatUri(u: ParsedUri): string {
  return `${u.scheme}://${u.authority}${u.path}`;
}

/**
 * A URI already in normal form that {@link normalizeUri} returns unchanged without parsing: a
 * lower-case scheme of two or more characters other than `file` (local URIs may lose a `localhost`), `://`, an authority, and a path of one or more segments, none empty, `.` or
 * `..` (so no `//` and no trailing slash). Every pointer Flink writes to S3 or HDFS has this form.
 */
const NORMAL_REMOTE_URI = /^(?!file:)[a-z][a-z0-9+.-]+:\/\/[^/]*(?:\/(?!\.\.?(?:\/|$))[^/]+)+$/s;

/** Parses and re-formats: the normal form of `input` (see the module doc). */
export function normalizeUri(input: string, cwd?: string): string {
  // Fast path (no parse, no allocation): the 750,000 pointers of a large `_metadata` are all normal.
  if (NORMAL_REMOTE_URI.test(input)) return input;
  return formatUri(parseUri(input, cwd));
}

/** The local filesystem path of a `file://` URI. */
export function toLocalPath(uri: string): string {
  // Fast path (no parse): a local URI in normal form, as the stores pass them, file by file.
  if (uri.startsWith("file:///")) {
    const path = uri.slice(7);
    if (!NEEDS_NORMALIZING.test(path)) return path;
  }
  const u = parseUri(uri);
  if (u.scheme !== "file") throw new UnsupportedUriError(uri, `not a local file URI: ${uri}`);
  return u.path;
}

/** The parent directory of a normalised URI (`file:///a/b/_metadata` -> `file:///a/b`). */
export function parentUri(uri: string): string {
  const u = parseUri(uri);
  const i = u.path.lastIndexOf("/");
  return formatUri({ ...u, path: i <= 0 ? "/" : u.path.slice(0, i) });
}

/** The last path segment of a URI (`file:///a/b/_metadata` -> `_metadata`). */
export function baseName(uri: string): string {
  const u = parseUri(uri);
  return u.path.slice(u.path.lastIndexOf("/") + 1);
}

/**
 * Resolves `child` against directory `dir` like Flink's `new Path(dir, child)` does for a
 * RelativeFileStateHandle: the result must stay inside `dir`.
 *
 * @throws PointerEscapeError when `child` is absolute or climbs out of `dir` with `..`.
 */
export function resolveInside(dir: string, child: string): string {
  if (child.startsWith("/") || SCHEME_RE.test(child)) {
    throw new PointerEscapeError(`relative pointer is absolute: ${child}`, { uri: child });
  }
  const base = parseDirectory(dir);
  // Fast path (one regular expression, one string): a child in normal form, as Flink writes them.
  if (NORMAL_RELATIVE_PATH.test(child)) return base.childPrefix + child;
  const joined = normalizePath(`${base.path}/${child}`, child);
  const prefix = base.path === "/" ? "/" : `${base.path}/`;
  if (!joined.startsWith(prefix)) {
    throw new PointerEscapeError(`relative pointer ${JSON.stringify(child)} escapes ${dir}`, { uri: child });
  }
  return formatUri({ ...base, path: joined });
}

/** Joins a relative path under a directory URI (no escape allowed; see {@link resolveInside}). */
export function joinUri(dir: string, child: string): string {
  return resolveInside(dir, child);
}

/**
 * True when `uri` lies inside directory `dir` (both normalised; same scheme and authority). A URI is
 * not inside itself.
 */
export function isInside(dir: string, uri: string): boolean {
  return relativeTo(dir, uri) !== undefined;
}

/** The path of `uri` relative to directory `dir`, or undefined when it is not inside. */
export function relativeTo(dir: string, uri: string): string | undefined {
  const d = parseDirectory(dir);
  // Fast path, without parsing `uri`: in normal form under the directory's normal form, the rest is the
  // answer. (A URI in any other form, or not inside, is parsed below.)
  if (uri.startsWith(d.childPrefix)) {
    const rest = uri.slice(d.childPrefix.length);
    if (NORMAL_RELATIVE_PATH.test(rest)) return rest;
  }
  return insidePath(d, parseUri(uri));
}

/** `u`'s path relative to directory `d` when `u` lies inside it (parsed once by the two callers above). */
function insidePath(d: ParsedUri, u: ParsedUri): string | undefined {
  if (d.scheme !== u.scheme || d.authority !== u.authority) return undefined;
  const prefix = d.path === "/" ? "/" : `${d.path}/`;
  return u.path.startsWith(prefix) && u.path.length > prefix.length ? u.path.slice(prefix.length) : undefined;
}
