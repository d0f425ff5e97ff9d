"use strict";
/**
 * A reference for `bench/relocate.ts`: the least a Node process can do to copy a directory of files,
 * `node bench/copy-loop.cjs <src> <dst>`. It lists `<src>` and copies each file with `fs.copyFile`
 * (`copy_file_range` on Linux), 16 at a time as `savepoint relocate` does into a local directory,
 * straight to its final name. There is no `_metadata` parsing, no plan, no temporary names, no check
 * and no sync: what is left between it and `cp -r` is Node's start and its thread pool, and between it
 * and `savepoint relocate --no-sync` what the CLI does besides copying.
 */
const { copyFile, mkdir, readdir } = require("node:fs/promises");
const { constants } = require("node:fs");
const { join } = require("node:path");

async function main(src, dst) {
  const names = await readdir(src);
  await mkdir(dst, { recursive: true });
  let next = 0;
  const worker = async () => {
    while (next < names.length) {
      const name = names[next++];
      await copyFile(join(src, name), join(dst, name), constants.COPYFILE_EXCL);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

main(process.argv[2], process.argv[3]).catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
