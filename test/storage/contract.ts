/**
 * The storage contract: one suite of assertions that every {@link Store} must pass, run unchanged
 * against the local store, S3 (moto) and HDFS (MiniDFSCluster). Each `*.test.ts` gives a factory that
 * starts what it needs and says the store's sizes (part/block size, listing page size) so the suite can
 * aim at the boundaries.
 */

import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import {
  AlreadyExistsError,
  NotFoundError,
  PermissionDeniedError,
  type SavepointKitError,
  StoreFaultError,
} from "../../src/errors.js";
import { concatBytes } from "../../src/formats/io/concat.js";
import type { FileStatus, Store } from "../../src/storage/store.js";
import { joinUri } from "../../src/storage/uri.js";

/** What a store's test file gives the contract suite. */
export interface ContractContext {
  store: Store;
  /** A fresh, empty directory URI for this run (no trailing slash). */
  base: string;
  /** The store's natural chunk boundary in bytes: multipart part size (S3), block size (HDFS). */
  boundary: number;
  /** Entries per listing page the store was configured with (the suite lists more than 2 pages). */
  listPageSize: number;
  /**
   * Makes a file the store under test may not read (and a path it may not write), or says why that
   * cannot be arranged here (the test then skips with that reason).
   */
  forbidden: () => Promise<{ readUri: string; writeUri: string } | { skip: string }>;
  /** Optional extra check that a copy ran server-side (e.g. the multipart copy path was taken). */
  expectServerSideCopy?: boolean;
  /** Frees what the factory started. */
  teardown?: () => Promise<void>;
}

/** The suite's options. */
export interface ContractOptions {
  /** Skip the whole suite with this reason (e.g. `SAVEPOINT_KIT_SKIP_SERVERS=1`). */
  skip?: string | false;
  /** Per-test timeout in ms (default 60 000). */
  timeoutMs?: number;
}

/** Deterministic pseudo-random bytes (so failures are reproducible and content mix-ups show). */
export function pattern(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed * 2654435761 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Splits bytes into chunks of uneven sizes, as an async iterable. */
export async function* chunked(
  bytes: Uint8Array,
  sizes = [1, 1000, 65_536, 7, 300_001],
): AsyncGenerator<Uint8Array> {
  let pos = 0;
  let i = 0;
  while (pos < bytes.byteLength) {
    const n = sizes[i++ % sizes.length] as number;
    yield bytes.subarray(pos, Math.min(bytes.byteLength, pos + n));
    pos += n;
    await new Promise((r) => setImmediate(r));
  }
}

/** Concatenates a stream's chunks. */
export async function collect(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of stream) parts.push(c);
  return concatBytes(parts);
}

/** Byte equality without assert's diff machinery (slow on large arrays). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

/** Asserts byte equality, reporting lengths and the first difference (never a huge diff). */
export function assertBytes(actual: Uint8Array, expected: Uint8Array, what = "bytes"): void {
  if (sameBytes(actual, expected)) return;
  let i = 0;
  while (i < actual.byteLength && i < expected.byteLength && actual[i] === expected[i]) i++;
  assert.fail(
    `${what}: got ${actual.byteLength} bytes, expected ${expected.byteLength}; first difference at byte ${i}`,
  );
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Asserts that `promise` rejects with an error of class `cls` naming `uri`. */
export async function rejectsWith(
  promise: Promise<unknown>,
  cls: new (...args: never[]) => SavepointKitError,
  uri?: string,
): Promise<SavepointKitError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught !== undefined, `expected ${cls.name}, but it resolved`);
  assert.ok(
    caught instanceof cls,
    `expected ${cls.name}, got ${(caught as Error)?.name}: ${(caught as Error)?.message}`,
  );
  if (uri !== undefined) assert.equal((caught as SavepointKitError).uri, uri);
  return caught as SavepointKitError;
}

async function listAll(store: Store, prefix: string, recursive = true): Promise<FileStatus[]> {
  const out: FileStatus[] = [];
  for await (const f of store.list(prefix, { recursive })) out.push(f);
  return out.sort((a, b) => (a.uri < b.uri ? -1 : 1));
}

/**
 * Registers the contract suite under `describe(name)`. `factory` runs in `before` (start servers there:
 * if it throws, every test fails, which is the point).
 */
export function runStoreContract(
  name: string,
  factory: () => Promise<ContractContext>,
  options: ContractOptions = {},
): void {
  const timeout = options.timeoutMs ?? 60_000;
  describe(`${name}: store contract`, { skip: options.skip ?? false, timeout: timeout * 20 }, () => {
    let ctx: ContractContext;
    let store: Store;
    const u = (rel: string) => joinUri(ctx.base, rel);

    before(async () => {
      ctx = await factory();
      store = ctx.store;
    });
    after(async () => {
      await ctx?.store.close();
      await ctx?.teardown?.();
    });

    it("round-trips a small file: write, stat, readAll, overwrite", { timeout }, async () => {
      const uri = u("small/a.bin");
      const bytes = pattern(1000, 2);
      assert.equal(await store.write(uri, bytes), 1000);
      const s = await store.stat(uri);
      assert.ok(s, "stat after write");
      assert.equal(s.uri, uri);
      assert.equal(s.size, 1000);
      assertBytes(await store.readAll(uri), bytes);
      await store.write(uri, pattern(10, 3));
      assertBytes(await store.readAll(uri), pattern(10, 3));
    });

    it("round-trips an empty file", { timeout }, async () => {
      const uri = u("small/empty");
      assert.equal(await store.write(uri, new Uint8Array(0)), 0);
      assert.equal((await store.stat(uri))?.size, 0);
      assert.equal((await store.readAll(uri)).byteLength, 0);
      assert.equal((await collect(store.createReadStream(uri))).byteLength, 0);
    });

    it("round-trips a large streamed file (multipart / multi-block) and reads ranges at the boundaries", {
      timeout,
    }, async () => {
      const uri = u("large/big.bin");
      const b = ctx.boundary;
      const size = 3 * b + Math.floor(b / 2) + 17;
      const bytes = pattern(size, 4);
      assert.equal(await store.write(uri, chunked(bytes)), size);
      assert.equal((await store.stat(uri))?.size, size);
      assert.equal(sha256(await collect(store.createReadStream(uri))), sha256(bytes));
      assert.equal(sha256(await store.readAll(uri)), sha256(bytes));
      // Ranges straddling, starting at, and ending at block/part boundaries, and at the end.
      const ranges: [number, number][] = [
        [0, 1],
        [b - 10, 20],
        [b, b],
        [b - 1, 1],
        [2 * b - 1, b + 2],
        [size - 7, 7],
        [size - 1, 1],
        [0, size],
      ];
      for (const [offset, length] of ranges) {
        assertBytes(
          await store.readRange(uri, offset, length),
          bytes.subarray(offset, offset + length),
          `readRange(${offset}, ${length})`,
        );
        const streamed = await collect(store.createReadStream(uri, { offset, length }));
        assertBytes(streamed, bytes.subarray(offset, offset + length), `stream(${offset}, ${length})`);
      }
      assertBytes(await collect(store.createReadStream(uri, { offset: size - 5 })), bytes.subarray(size - 5));
      assert.equal((await collect(store.createReadStream(uri, { offset: size }))).byteLength, 0);
      assert.equal((await store.readRange(uri, 5, 0)).byteLength, 0);
      // A range past the end is a store fault, never a short buffer.
      await rejectsWith(store.readRange(uri, size - 3, 10), StoreFaultError);
    });

    it("lists more entries than one page, recursively and not", { timeout }, async () => {
      const dir = u("many");
      const top = 2 * ctx.listPageSize + 1;
      const expected: string[] = [];
      const writes: Promise<unknown>[] = [];
      for (let i = 0; i < top; i++) {
        const uri = joinUri(dir, `f${String(i).padStart(3, "0")}`);
        expected.push(uri);
        writes.push(store.write(uri, pattern(i + 1, i)));
      }
      for (let i = 0; i < ctx.listPageSize + 1; i++) {
        const uri = joinUri(dir, `sub/deeper/g${i}`);
        expected.push(uri);
        writes.push(store.write(uri, pattern(3, i)));
      }
      await Promise.all(writes);
      const all = await listAll(store, dir);
      assert.deepEqual(
        all.map((f) => f.uri),
        [...expected].sort(),
      );
      const f2 = all.find((f) => f.uri.endsWith("/f002"));
      assert.equal(f2?.size, 3, "listed sizes are the file sizes");
      const shallow = await listAll(store, dir, false);
      assert.equal(shallow.length, top);
      assert.ok(
        shallow.every((f) => !f.uri.includes("/sub/")),
        "a non-recursive listing must not descend",
      );
      // maxDepth: files of `dir` are at depth 1, `sub/deeper/g*` at depth 3
      const depth = async (maxDepth: number) => {
        const out: string[] = [];
        for await (const f of store.list(dir, { recursive: true, maxDepth })) out.push(f.uri);
        return out.length;
      };
      assert.equal(await depth(1), top, "maxDepth 1: the directory's own files");
      assert.equal(await depth(2), top, "maxDepth 2: nothing directly in sub/");
      assert.equal(await depth(3), expected.length, "maxDepth 3: down to sub/deeper/");
      assert.deepEqual(await listAll(store, u("no-such-dir")), []);
      // A prefix of a name is not a directory.
      assert.deepEqual(await listAll(store, joinUri(dir, "f00")), []);
    });

    it("writeAtomic: a concurrent reader sees the old or the new file whole, never a part", {
      timeout,
    }, async () => {
      const uri = u("atomic/_metadata");
      const size = ctx.boundary + 4099;
      const versions = [0, 1, 2, 3].map((v) => new Uint8Array(size).fill(0x41 + v));
      let writing = true;
      const seen = new Set<string>();
      const reader = (async () => {
        let reads = 0;
        while (writing || reads < 3) {
          reads++;
          let bytes: Uint8Array;
          try {
            bytes = await store.readAll(uri);
          } catch (err) {
            // Not there yet (before the first write) is the only acceptable failure.
            assert.ok(err instanceof NotFoundError, `reader failed: ${(err as Error).message}`);
            assert.equal(seen.size, 0, "file disappeared after it had appeared");
            continue;
          }
          assert.equal(bytes.byteLength, size, "reader saw a partial file");
          const first = bytes[0] as number;
          assert.ok(
            bytes.every((x) => x === first),
            "reader saw a mix of versions",
          );
          seen.add(String.fromCharCode(first));
        }
      })();
      try {
        for (const v of versions) await store.writeAtomic(uri, v);
      } finally {
        writing = false;
      }
      await reader;
      assertBytes(await store.readAll(uri), versions[3] as Uint8Array, "the last version must win");
      assert.ok(seen.size > 0, "the reader never saw the file");
    });

    it("write: the file is invisible until complete, and a failed write leaves the old file", {
      timeout,
    }, async () => {
      const uri = u("visible/data.bin");
      await store.write(uri, pattern(100, 9));
      let release!: () => void;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      const big = pattern(ctx.boundary + 1000, 10);
      const source = async function* () {
        yield big.subarray(0, 1000);
        await gate;
        yield big.subarray(1000);
      };
      const writing = store.write(uri, source());
      await new Promise((r) => setTimeout(r, 300));
      assertBytes(
        await store.readAll(uri),
        pattern(100, 9),
        "old content must stay until the write completes",
      );
      release();
      assert.equal(await writing, big.byteLength);
      assertBytes(await store.readAll(uri), big);

      // A source that fails half-way: the write rejects, and the previous file is untouched.
      const failing = async function* () {
        yield big.subarray(0, ctx.boundary + 10);
        throw new Error("source broke");
      };
      await assert.rejects(store.write(uri, failing()));
      assertBytes(await store.readAll(uri), big);
      const fresh = u("visible/never.bin");
      await assert.rejects(store.write(fresh, failing()));
      assert.equal(await store.stat(fresh), null, "a failed write must not create the file");
    });

    it("handles non-ASCII and space-containing names", { timeout }, async () => {
      const uri = u("ünï cödé/dir with space/€ + ß 😀.bin");
      const bytes = pattern(333, 11);
      await store.write(uri, bytes);
      assert.equal((await store.stat(uri))?.uri, uri);
      assertBytes(await store.readAll(uri), bytes);
      const listed = await listAll(store, u("ünï cödé"));
      assert.deepEqual(
        listed.map((f) => f.uri),
        [uri],
      );
      const copy = u("ünï cödé/kopie ä.bin");
      await store.copy(uri, copy);
      assertBytes(await store.readAll(copy), bytes);
      await store.writeAtomic(u("ünï cödé/_metadata é"), bytes);
      assertBytes(await store.readAll(u("ünï cödé/_metadata é")), bytes);
    });

    it("maps missing files to NotFoundError naming the URI", { timeout }, async () => {
      const missing = u("missing/nothing.bin");
      assert.equal(await store.stat(missing), null);
      await rejectsWith(store.readAll(missing), NotFoundError, missing);
      await rejectsWith(store.readRange(missing, 0, 1), NotFoundError, missing);
      await rejectsWith(collect(store.createReadStream(missing)), NotFoundError, missing);
      await rejectsWith(store.copy(missing, u("missing/target.bin")), NotFoundError, missing);
      assert.equal(await store.stat(u("missing/target.bin")), null);
    });

    it("maps refusals to PermissionDeniedError", { timeout }, async (t) => {
      const f = await ctx.forbidden();
      if ("skip" in f) {
        t.skip(f.skip);
        return;
      }
      await rejectsWith(store.readAll(f.readUri), PermissionDeniedError);
      await rejectsWith(store.readRange(f.readUri, 0, 1), PermissionDeniedError);
      await rejectsWith(collect(store.createReadStream(f.readUri)), PermissionDeniedError);
      await rejectsWith(store.write(f.writeUri, pattern(10)), PermissionDeniedError);
      await rejectsWith(store.writeAtomic(f.writeUri, pattern(10)), PermissionDeniedError);
    });

    it("delete is idempotent", { timeout }, async () => {
      const uri = u("del/x.bin");
      await store.write(uri, pattern(5));
      await store.delete(uri);
      assert.equal(await store.stat(uri), null);
      await store.delete(uri);
      await store.delete(u("del/never-existed"));
    });

    it("overwrite: false refuses an existing target with AlreadyExistsError", { timeout }, async () => {
      const uri = u("noclobber/a");
      await store.write(uri, pattern(5, 1), { overwrite: false });
      await rejectsWith(store.write(uri, pattern(5, 2), { overwrite: false }), AlreadyExistsError, uri);
      await rejectsWith(store.writeAtomic(uri, pattern(5, 3), { overwrite: false }), AlreadyExistsError, uri);
      await store.write(u("noclobber/b"), pattern(5, 4));
      await rejectsWith(store.copy(u("noclobber/b"), uri, { overwrite: false }), AlreadyExistsError, uri);
      assertBytes(await store.readAll(uri), pattern(5, 1));
    });

    it("copies within the store, small and large", { timeout }, async () => {
      const small = pattern(1234, 12);
      await store.write(u("copy/src-small"), small);
      await store.copy(u("copy/src-small"), u("copy/dst/small"));
      assertBytes(await store.readAll(u("copy/dst/small")), small);
      const large = pattern(3 * ctx.boundary + 5, 13);
      await store.write(u("copy/src-large"), chunked(large));
      await store.copy(u("copy/src-large"), u("copy/dst/large"));
      assert.equal(sha256(await store.readAll(u("copy/dst/large"))), sha256(large));
      // Overwriting copy.
      await store.copy(u("copy/src-small"), u("copy/dst/large"));
      assertBytes(await store.readAll(u("copy/dst/large")), small);
      assert.equal(typeof store.capabilities.serverSideCopy, "boolean");
    });

    it("renames within the store without copying, creating directories (where it has rename)", {
      timeout,
    }, async (t) => {
      if (!store.rename) {
        t.skip("this store has no rename (relocate --move copies, then deletes)");
        return;
      }
      const bytes = pattern(2 * ctx.boundary + 3, 14);
      await store.write(u("rename/a"), chunked(bytes));
      assert.equal(await store.rename(u("rename/a"), u("rename/new/dir/b")), true);
      assert.equal(await store.stat(u("rename/a")), null, "the source name is gone");
      assert.equal(sha256(await store.readAll(u("rename/new/dir/b"))), sha256(bytes));
      await store.write(u("rename/c"), pattern(10, 15));
      await rejectsWith(
        store.rename(u("rename/c"), u("rename/new/dir/b"), { overwrite: false }),
        AlreadyExistsError,
        u("rename/new/dir/b"),
      );
      assert.equal(sha256(await store.readAll(u("rename/new/dir/b"))), sha256(bytes), "refused: target kept");
      assert.equal(await store.rename(u("rename/c"), u("rename/new/dir/b")), true, "replaces by default");
      assertBytes(await store.readAll(u("rename/new/dir/b")), pattern(10, 15));
      await rejectsWith(store.rename(u("rename/missing"), u("rename/d")), NotFoundError, u("rename/missing"));
      assert.equal(await store.stat(u("rename/d")), null);
    });

    it("reports a stable random-name round trip through list + stat", { timeout }, async () => {
      const name = randomBytes(4).toString("hex");
      const uri = u(`stat/${name}`);
      await store.write(uri, pattern(42));
      const [listed] = await listAll(store, u("stat"));
      const s = await store.stat(uri);
      assert.equal(listed?.uri, s?.uri);
      assert.equal(listed?.size, 42);
      assert.ok(s?.modified instanceof Date, "stat gives a modification time");
    });
  });
}
