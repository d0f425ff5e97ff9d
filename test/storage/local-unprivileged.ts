/**
 * Child-process half of the local permission test when the suite runs as root (root bypasses file
 * modes): `local.test.ts` runs this file as user `nobody` with a file it may not read and a directory it
 * may not write, and it prints the error code each store operation gave, as one JSON line.
 */

import { LocalStore } from "../../src/storage/local.js";

const [readUri, writeUri] = process.argv.slice(2) as [string, string];
const store = new LocalStore();
const code = async (op: () => Promise<unknown>): Promise<string> => {
  try {
    await op();
    return "OK";
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
};
const result = {
  readAll: await code(() => store.readAll(readUri)),
  readRange: await code(() => store.readRange(readUri, 0, 1)),
  createReadStream: await code(async () => {
    for await (const _ of store.createReadStream(readUri)) {
      // drain
    }
  }),
  write: await code(() => store.write(writeUri, new Uint8Array(3))),
  writeAtomic: await code(() => store.writeAtomic(writeUri, new Uint8Array(3))),
};
process.stdout.write(`${JSON.stringify(result)}\n`);
