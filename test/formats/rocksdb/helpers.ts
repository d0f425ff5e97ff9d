/**
 * Test inputs for the RocksDB reader: the RocksDB subtasks of the committed Flink fixtures (native
 * savepoints and incremental checkpoints), and the files written by real RocksDB with
 * `generator/make-test-dbs.cc` under `data/`.
 */

import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type {
  IncrementalRemoteKeyedStateHandle,
  OperatorState,
  StreamStateHandle,
} from "../../../src/formats/metadata/model.js";
import { memoryFile, type RandomAccessFile } from "../../../src/formats/rocksdb/index.js";
import { type StateFileResolver, snapshotFileResolver } from "../../../src/formats/state/stream.js";
import { loadSnapshot } from "../../../src/ops/locate.js";
import type { StoreRegistry } from "../../../src/storage/registry.js";
import { FIXTURES_ROOT, type Fixture, listFixtures } from "../../helpers/fixtures.js";

/** Where Flink wrote the fixtures; the repo's `fixtures/` directory stands for it. */
export const GENERATED_ROOT = "file:/tmp/savepoint-kit-fixtures/";

/** The generated RocksDB test data. */
export const DATA_DIR = resolve("test/formats/rocksdb/data");

/** One RocksDB subtask of a Flink fixture. */
export interface RocksDbSubtask {
  /** e.g. `flink-2.3/checkpoint-rocksdb-incremental word-stats[1]`. */
  id: string;
  fixture: Fixture;
  operator: OperatorState;
  /** The operator's uid (from expected.json), or null for the operator without one. */
  uid: string | null;
  subtask: number;
  handle: IncrementalRemoteKeyedStateHandle;
  resolver: StateFileResolver;
}

/**
 * A resolver for a fixture snapshot that follows absolute pointers into the repo's `fixtures/`
 * (the checkpoint's `shared/` files are stored as `file:/tmp/savepoint-kit-fixtures/...`).
 */
export function fixtureResolver(directory: string, stores: StoreRegistry): StateFileResolver {
  const inner = snapshotFileResolver(directory, (u) => stores.storeFor(u));
  return {
    open(handle: StreamStateHandle) {
      if (handle.kind === "FileStateHandle" && handle.filePath.startsWith(GENERATED_ROOT)) {
        const filePath = `file:${FIXTURES_ROOT}/${handle.filePath.slice(GENERATED_ROOT.length)}`;
        return inner.open({ ...handle, filePath });
      }
      // a file-merging segment: its physical file
      if (handle.kind === "SegmentFileStateHandle" && handle.physicalFilePath.startsWith(GENERATED_ROOT)) {
        const physicalFilePath = `file:${FIXTURES_ROOT}/${handle.physicalFilePath.slice(GENERATED_ROOT.length)}`;
        return inner.open({ ...handle, physicalFilePath });
      }
      return inner.open(handle);
    },
  };
}

/** Every RocksDB subtask of every fixture, in fixture, operator and subtask order. */
export async function rocksDbSubtasks(stores: StoreRegistry): Promise<RocksDbSubtask[]> {
  const out: RocksDbSubtask[] = [];
  for (const fixture of listFixtures()) {
    const snapshot = await loadSnapshot(fixture.metadataFile, stores);
    const resolver = fixtureResolver(snapshot.directory, stores);
    for (const operator of snapshot.metadata.operatorStates) {
      const expectedOp = fixture.expected.operators.find((o: any) => o.operatorId === operator.operatorId);
      // uids are stored in _metadata from V5 (Flink 2.x) only; the JobGraph has them for both lines.
      const jobOp = fixture.expected.jobOperators?.find((o) => o.operatorId === operator.operatorId);
      for (const [subtask, state] of operator.subtaskStates.entries()) {
        if (state.kind !== "OperatorSubtaskState") continue;
        const handle = state.managedKeyedState;
        if (handle?.kind !== "IncrementalRemoteKeyedStateHandle") continue;
        const uid = jobOp?.uid ?? null;
        const name = uid ?? (expectedOp?.name as string | undefined) ?? operator.operatorId;
        out.push({
          id: `${fixture.id} ${name}[${subtask}]`,
          fixture,
          operator,
          uid,
          subtask,
          handle,
          resolver,
        });
      }
    }
  }
  return out;
}

/** The files of a directory under `data/` as in-memory files, by name. */
export function dataDirFiles(name: string): Map<string, RandomAccessFile> {
  const dir = join(DATA_DIR, name);
  return new Map(
    readdirSync(dir).map((n) => [n, memoryFile(new Uint8Array(readFileSync(join(dir, n))), join(dir, n))]),
  );
}

/** A file under `data/` as an in-memory file. */
export function dataFile(path: string): RandomAccessFile {
  const p = join(DATA_DIR, path);
  return memoryFile(new Uint8Array(readFileSync(p)), p);
}

/** The bytes of a file under `data/`. */
export function dataBytes(path: string): Uint8Array {
  return new Uint8Array(readFileSync(join(DATA_DIR, path)));
}

/** A JSON file under `data/`. */
export function dataJson<T = any>(path: string): T {
  return JSON.parse(readFileSync(join(DATA_DIR, path), "utf8")) as T;
}

/** Key rendering of the generator's lsm.json: hex, or for keys over 64 bytes `hex(first 16)...length`. */
export function abbreviateKey(k: Uint8Array): string {
  const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
  return k.byteLength <= 64 ? hex(k) : `${hex(k.subarray(0, 16))}...${k.byteLength}`;
}

/** The generator's entry formula for `data/tables/*.sst` (`tableEntry` in make-test-dbs.cc). */
export function tableEntry(i: number): { key: string; value: string } {
  let value = `value-${i}-`;
  for (let k = 0; k < (i % 7) * 11; k++) value += String.fromCharCode(97 + (k % 3));
  return { key: `key${String(i).padStart(5, "0")}`, value };
}

/** Bytes as a Latin-1 string (test data is ASCII). */
export function str(b: Uint8Array): string {
  return Buffer.from(b).toString("latin1");
}

/** Copies bytes and applies `edit` to the copy. */
export function mutate(bytes: Uint8Array, edit: (b: Uint8Array) => void): Uint8Array {
  const copy = new Uint8Array(bytes);
  edit(copy);
  return copy;
}

/**
 * RocksDB's varint64 (`util/coding.h` `EncodeVarint64`) of a non-negative value, for hand-built blocks
 * and log records in tests: 7 bits per byte, low bits first, the top bit set on all bytes but the last.
 */
export function varint64(n: number | bigint): number[] {
  let v = BigInt(n);
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}
