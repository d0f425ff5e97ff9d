/** The files of a directory tree, for tests that compare a copy with its original. */

import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

/** The regular files under `dir`, as paths relative to it, sorted; none when `dir` does not exist. */
export function filesIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

/** The SHA-256 (hex) of each regular file under `dir`, by its path relative to `dir`. */
export function treeDigest(dir: string): Map<string, string> {
  return new Map(
    filesIn(dir).map((f) => [
      f,
      createHash("sha256")
        .update(readFileSync(join(dir, f)))
        .digest("hex"),
    ]),
  );
}
