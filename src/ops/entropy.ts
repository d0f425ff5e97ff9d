/**
 * Entropy injection, undone: where a file of an entropy-injected S3 checkpoint would lie had Flink
 * written it without entropy.
 *
 * Flink's S3 file systems (`FlinkS3FileSystem`, the only `EntropyInjectingFileSystem`s) replace the
 * configured marker (`s3.entropy.key`) in a checkpoint's data-file paths with `s3.entropy.length`
 * random letters and digits (`StringUtils.generateRandomAlphanumericString`), and remove it from the
 * path of `_metadata` and of the checkpoint directories (`EntropyInjector.resolveEntropy`: the path
 * with the marker replaced, or removed, then `URI.normalize`, which also folds the `//` a removed
 * whole segment leaves). So with `execution.checkpointing.dir: s3://b/_entropy_/checkpoints`, chk-2's
 * `_metadata` is `s3://b/checkpoints/<job>/chk-2/_metadata` and its files are
 * `s3://b/<4 random>/checkpoints/<job>/{chk-2,shared,taskowned}/<uuid>`.
 *
 * The marker itself is not in the snapshot, so the random part is found by its place: a run of letters
 * and digits in the file's path whose removal puts the file inside the given directory.
 */

import { formatUri, parseUri } from "../storage/uri.js";

/** Schemes of Flink's entropy-injecting file systems (flink-s3-fs-hadoop, flink-s3-fs-presto). */
const ENTROPY_SCHEMES = new Set(["s3", "s3a", "s3p"]);

/** Longest random part looked for (characters; Flink's default `s3.entropy.length` is 4). */
export const MAX_ENTROPY_LENGTH = 64;

const isAlphanumeric = (c: number) =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);

/**
 * The URI `uri` would have without the random part entropy injection put in its path, when that URI
 * lies inside directory `dir` (both normalised URIs, same scheme and bucket); undefined when `uri` is
 * not an S3 URI, is inside `dir` already, or no single run of at most {@link MAX_ENTROPY_LENGTH}
 * letters and digits, removed, puts it there. The first such run from the left is taken.
 *
 * Example: `entropyFreeUri("s3://b/x7Qa/checkpoints/job/shared/f", "s3://b/checkpoints/job")` is
 * `s3://b/checkpoints/job/shared/f`.
 */
export function entropyFreeUri(uri: string, dir: string): string | undefined {
  const u = parseUri(uri);
  const d = parseUri(dir);
  if (!ENTROPY_SCHEMES.has(u.scheme) || u.scheme !== d.scheme || u.authority !== d.authority)
    return undefined;
  const path = u.path;
  const inside = d.path === "/" ? "/" : `${d.path}/`;
  if (path.startsWith(inside)) return undefined;
  // The kept start of the path is a prefix of `inside`: the random part starts within their common prefix.
  let common = 0;
  while (common < inside.length && path.charCodeAt(common) === inside.charCodeAt(common)) common++;
  for (let start = 1; start <= common; start++) {
    for (let end = start; end < path.length && end - start < MAX_ENTROPY_LENGTH; end++) {
      if (!isAlphanumeric(path.charCodeAt(end))) break;
      const rest = end + 1;
      // the removed run a whole segment: URI.normalize folds the `//` it leaves
      const from = path[start - 1] === "/" && path[rest] === "/" ? rest + 1 : rest;
      if (path.startsWith(inside.slice(start), from) && path.length > from + inside.length - start) {
        return formatUri({ ...u, path: path.slice(0, start) + path.slice(from) });
      }
    }
  }
  return undefined;
}
