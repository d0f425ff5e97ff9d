/**
 * `convert` on worker threads (`workers: true`, one subtask per worker): the output is the same as in the
 * main thread (canonical key-groups files byte for byte, RocksDB instances with the same records), errors
 * thrown in a worker arrive as the same typed errors (class, message, uri, offset), and the built library
 * and CLI (`dist/`, `.js` worker entry) run workers as the sources under tsx (`.ts` entry) do.
 */

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, describe, it } from "node:test";
import { CorruptSnapshotError, SavepointKitError } from "../../src/errors.js";
import { readMetadata } from "../../src/formats/metadata/index.js";
import type {
  ByteStreamStateHandle,
  IncrementalRemoteKeyedStateHandle,
  KeyGroupsStateHandle,
} from "../../src/formats/metadata/model.js";
import { allHandles } from "../../src/formats/metadata/traverse.js";
import { type ConvertProgress, convertSnapshot } from "../../src/ops/convert.js";
import { reviveError, serializeError } from "../../src/ops/convert-workers.js";
import { StoreRegistry } from "../../src/storage/registry.js";
import { listFixtures } from "../helpers/fixtures.js";

const stores = new StoreRegistry();
const tmp = mkdtempSync(join(tmpdir(), "sk-convert-workers-"));
after(async () => {
  await stores.close();
  rmSync(tmp, { recursive: true, force: true });
});
const fixture = (id: string) => {
  const f = listFixtures().find((x) => x.id === id);
  assert.ok(f, id);
  return f.metadataDir;
};
const NATIVE = fixture("flink-2.3/savepoint-native-rocksdb");
const CANONICAL = fixture("flink-2.3/savepoint-canonical-hashmap");

/** The bytes of every converted key-groups file of a snapshot, and its offsets, by `operator/subtask`. */
function keyedFiles(dir: string): Map<string, { bytes: string; offsets: string }> {
  const m = readMetadata(readFileSync(join(dir, "_metadata")));
  const out = new Map<string, { bytes: string; offsets: string }>();
  for (const v of allHandles(m)) {
    if (v.slot !== "managedKeyedState") continue;
    const h = v.handle as KeyGroupsStateHandle;
    assert.equal(h.delegate.kind, "RelativeFileStateHandle");
    const rel = (h.delegate as { relativePath: string }).relativePath;
    out.set(`${v.operator.operatorId}/${v.subtask.subtaskIndex}`, {
      bytes: readFileSync(join(dir, rel)).toString("base64"),
      offsets: h.offsets.join(","),
    });
  }
  return out;
}

describe("convert on worker threads", () => {
  it("RocksDB native -> canonical: the same files as in the main thread, progress per subtask", async () => {
    const inProcess = join(tmp, "native-canonical-main");
    const threads = join(tmp, "native-canonical-workers");
    const a = await convertSnapshot(NATIVE, inProcess, { stores, to: "canonical", workers: false });
    const seen: ConvertProgress[] = [];
    const b = await convertSnapshot(NATIVE, threads, {
      stores,
      to: "canonical",
      workers: true,
      concurrency: 2,
      onProgress: (p) => seen.push(p),
    });
    assert.equal(b.totals.converted, 8);
    assert.deepEqual(
      b.keyed.map((k) => [k.to.records, k.to.keyGroups, k.to.bytes]),
      a.keyed.map((k) => [k.to.records, k.to.keyGroups, k.to.bytes]),
    );
    assert.ok(b.keyed.every((k) => (k.to.records ?? 0) > 0 && k.to.uri?.startsWith(`file://${threads}/`)));
    assert.deepEqual(keyedFiles(threads), keyedFiles(inProcess));
    assert.deepEqual(
      seen.map((p) => p.subtasksDone),
      [0, 1, 2, 3, 4, 5, 6, 7, 8],
    );
    assert.equal(seen.at(-1)?.bytesDone, seen.at(-1)?.bytesTotal);
  });

  it("canonical -> RocksDB native and -> hashmap native: the same records as in the main thread", async () => {
    for (const backend of ["rocksdb", "hashmap"] as const) {
      const a = await convertSnapshot(CANONICAL, join(tmp, `c-${backend}-main`), {
        stores,
        to: "native",
        backend,
        workers: false,
      });
      const b = await convertSnapshot(CANONICAL, join(tmp, `c-${backend}-workers`), {
        stores,
        to: "native",
        backend,
        workers: true,
        concurrency: 3,
      });
      assert.ok(b.totals.converted > 1, backend);
      assert.deepEqual(
        b.keyed.map((k) => [k.action, k.to.handleKind, k.to.records, k.to.keyGroups]),
        a.keyed.map((k) => [k.action, k.to.handleKind, k.to.records, k.to.keyGroups]),
        backend,
      );
      const m = readMetadata(readFileSync(join(tmp, `c-${backend}-workers`, "_metadata")));
      for (const v of allHandles(m)) {
        if (v.slot !== "managedKeyedState") continue;
        const kind = backend === "rocksdb" ? "IncrementalRemoteKeyedStateHandle" : "KeyGroupsStateHandle";
        assert.equal(v.handle.kind, kind);
        if (backend === "rocksdb") {
          for (const f of (v.handle as IncrementalRemoteKeyedStateHandle).privateState) {
            const rel = (f.handle as { relativePath: string }).relativePath;
            assert.ok(statSync(join(tmp, `c-${backend}-workers`, rel)).size > 0);
          }
        }
      }
    }
  });

  it("an error in a worker arrives as the same typed error as in the main thread", async () => {
    // A copy of the native savepoint with one byte of a table's data block flipped (tables are inline).
    const src = join(tmp, "corrupt-src");
    mkdirSync(src, { recursive: true });
    for (const f of readdirSync(NATIVE)) copyFileSync(join(NATIVE, f), join(src, f));
    const bytes = readFileSync(join(src, "_metadata"));
    const m = readMetadata(bytes);
    let table: ByteStreamStateHandle | undefined;
    for (const v of allHandles(m)) {
      if (v.handle.kind !== "IncrementalRemoteKeyedStateHandle" || v.subtask.subtaskIndex !== 1) continue;
      const sst = [...v.handle.sharedState, ...v.handle.privateState].find((e) =>
        e.localPath.endsWith(".sst"),
      );
      if (sst?.handle.kind === "ByteStreamStateHandle" && sst.handle.data.byteLength > 500) {
        table = sst.handle;
        break;
      }
    }
    assert.ok(table, "an inline table file");
    const at = Buffer.from(bytes).indexOf(Buffer.from(table.data));
    assert.ok(at > 0);
    bytes[at + 20] = (bytes[at + 20] as number) ^ 0xff; // inside the first data block
    writeFileSync(join(src, "_metadata"), bytes);

    const run = async (workers: boolean) => {
      try {
        await convertSnapshot(src, join(tmp, `corrupt-out-${workers}`), { stores, to: "canonical", workers });
      } catch (err) {
        return err as Error;
      }
      assert.fail("the conversion should fail");
    };
    const inProcess = await run(false);
    const threaded = await run(true);
    assert.ok(inProcess instanceof CorruptSnapshotError, String(inProcess));
    assert.ok(threaded instanceof CorruptSnapshotError, String(threaded));
    assert.ok(threaded instanceof SavepointKitError);
    assert.equal(threaded.constructor, CorruptSnapshotError);
    assert.equal(threaded.name, "CorruptSnapshotError");
    assert.equal(threaded.message, inProcess.message);
    assert.equal(threaded.uri, inProcess.uri);
    assert.equal(threaded.offset, inProcess.offset);
    assert.equal(threaded.code, "CORRUPT_SNAPSHOT");
    assert.equal(threaded.path, inProcess.path);
    assert.match(threaded.message, /checksum mismatch/);
    assert.ok(!existsSync(join(tmp, "corrupt-out-true", "_metadata")), "no _metadata after a failure");
  });

  it("serializeError / reviveError keep class and fields; unknown errors become Error", () => {
    const e = reviveError(
      serializeError(new CorruptSnapshotError("bad", { uri: "file:///x", offset: 7, path: "p" })),
    );
    assert.ok(e instanceof CorruptSnapshotError);
    assert.equal(e.message, "file:///x at byte 7: bad (in p)");
    assert.equal(e.offset, 7);
    const plain = reviveError(serializeError(new TypeError("oops")));
    assert.equal(plain.constructor, Error);
    assert.equal(plain.message, "oops");
  });
});

describe("convert on worker threads from the build (dist/)", () => {
  const root = resolve(".");
  const dist = join(root, "dist");
  const built = () => {
    const worker = join(dist, "ops", "convert-worker.js");
    if (!existsSync(worker)) return false;
    const newest = (dir: string): number =>
      Math.max(
        ...readdirSync(dir, { recursive: true, withFileTypes: true })
          .filter((f) => f.isFile() && f.name.endsWith(".ts"))
          .map((f) => statSync(join(f.parentPath, f.name)).mtimeMs),
      );
    return statSync(worker).mtimeMs >= newest(join(root, "src"));
  };

  it("the built library and CLI convert with workers", async () => {
    if (!built()) {
      const b = spawnSync("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: root, encoding: "utf8" });
      assert.equal(b.status, 0, b.stdout + b.stderr);
    }
    const lib = (await import(join(dist, "ops", "convert.js"))) as typeof import("../../src/ops/convert.js");
    const reg = (await import(
      join(dist, "storage", "registry.js")
    )) as typeof import("../../src/storage/registry.js");
    const own = new reg.StoreRegistry();
    const out = join(tmp, "dist-lib");
    const r = await lib.convertSnapshot(NATIVE, out, {
      stores: own,
      to: "canonical",
      workers: true,
      concurrency: 2,
    });
    await own.close();
    assert.equal(r.totals.converted, 8);
    assert.deepEqual(keyedFiles(out), keyedFiles(join(tmp, "native-canonical-main")));

    const cli = join(tmp, "dist-cli");
    const c = spawnSync(
      process.execPath,
      [
        join(dist, "cli", "main.js"),
        "convert",
        NATIVE,
        cli,
        "--to",
        "canonical",
        "--concurrency",
        "2",
        "--json",
      ],
      { encoding: "utf8", env: { ...process.env, SAVEPOINT_KIT_CONVERT_WORKERS: "1" } },
    );
    assert.equal(c.status, 0, c.stderr);
    assert.equal(JSON.parse(c.stdout).totals.converted, 8);
    assert.deepEqual(keyedFiles(cli), keyedFiles(join(tmp, "native-canonical-main")));
  });
});
