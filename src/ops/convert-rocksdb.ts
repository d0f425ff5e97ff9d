/**
 * The RocksDB target of `convert` (`to: "native"`, `backend: "rocksdb"`): one subtask's canonical records
 * written as the files of a native RocksDB savepoint (`../formats/state/write-rocksdb.ts`), uploaded into
 * the target directory under fresh UUID names, and the `IncrementalRemoteKeyedStateHandle` that
 * references them, shaped as Flink's native savepoints of the RocksDB backend have it
 * (`RocksNativeFullSnapshotStrategy`): every file private (`privateState`, with its RocksDB file name as
 * `localPath`), no shared files, a meta state handle, the checkpoint id of the snapshot, a new backend
 * identifier and state handle id.
 *
 * Table files are spooled to a local temporary directory while they are written (a subtask's column
 * families are written side by side), then uploaded one by one and deleted; memory stays bounded by
 * the writer's (one block per column family plus one sorted run), whatever the state size.
 */

import { randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StoreFaultError } from "../errors.js";
import type {
  HandleAndLocalPath,
  IncrementalRemoteKeyedStateHandle,
  KeyGroupRange,
  StreamStateHandle,
} from "../formats/metadata/model.js";
import { openFlinkRocksDb } from "../formats/rocksdb/flink.js";
import type { SstCompression } from "../formats/rocksdb/sst-writer.js";
import type { CanonicalRecord } from "../formats/state/canonical-writer.js";
import type { KeyedBackendHeader } from "../formats/state/headers.js";
import { readRocksDbCanonicalRecords } from "../formats/state/rocksdb-canonical.js";
import { snapshotFileResolver } from "../formats/state/stream.js";
import { type TableSink, writeRocksDbInstance } from "../formats/state/write-rocksdb.js";
import type { StoreRegistry } from "../storage/registry.js";
import { joinUri } from "../storage/uri.js";

/** What {@link writeRocksDbSubtask} needs. */
export interface RocksDbSubtaskTarget {
  /** The keyed header (states = column families), written as the meta file. */
  header: KeyedBackendHeader;
  keyGroupRange: KeyGroupRange;
  /** The operator's max parallelism (decides the key-group prefix width). */
  maxParallelism: number;
  /** The snapshot's checkpoint id, recorded in the handle. */
  checkpointId: bigint;
  /** The target directory (any store). */
  targetDir: string;
  stores: StoreRegistry;
  /** Table block compression. */
  compression: SstCompression;
  /** Local directory for the spool (default the OS temporary directory). */
  spoolDirectory?: string;
  /** Re-open the written instance with the reader and count its entries (default true). */
  verify?: boolean;
  /** The source file, named in errors. */
  source?: string;
}

/** The outcome of {@link writeRocksDbSubtask}. */
export interface RocksDbSubtaskResult {
  handle: IncrementalRemoteKeyedStateHandle;
  /** The meta file's URI. */
  metaUri: string;
  /** Bytes of all files written. */
  bytes: number;
  records: number;
  keyGroups: number;
  tables: number;
}

/** A sink appending to a local file. */
async function fileSink(path: string): Promise<TableSink> {
  const fh = await open(path, "w");
  return {
    async write(bytes) {
      let done = 0;
      while (done < bytes.byteLength) {
        const { bytesWritten } = await fh.write(bytes, done, bytes.byteLength - done);
        done += bytesWritten;
      }
    },
    close: () => fh.close(),
  };
}

/**
 * Writes one subtask's records as a RocksDB instance into `target.targetDir` and builds its handle.
 *
 * @param records canonical records in canonical order (see `writeRocksDbInstance`).
 * @throws the errors of `writeRocksDbInstance` (CorruptSnapshotError for records out of place,
 *   InvalidArgumentError for an unsorted run too large to sort), StoreFaultError when a written file
 *   has another size than produced or the instance does not read back with the same number of
 *   entries, and the stores' errors.
 */
export async function writeRocksDbSubtask(
  records: AsyncIterable<CanonicalRecord[]>,
  target: RocksDbSubtaskTarget,
): Promise<RocksDbSubtaskResult> {
  const spool = await mkdtemp(join(target.spoolDirectory ?? tmpdir(), "savepoint-kit-rocksdb-"));
  try {
    const files = await writeRocksDbInstance(records, {
      header: target.header,
      keyGroupRange: target.keyGroupRange,
      keyGroupPrefixBytes: target.maxParallelism > 128 ? 2 : 1,
      compression: target.compression,
      openTable: (name) => fileSink(join(spool, name)),
      dbId: randomUUID(),
      ...(target.source === undefined ? {} : { source: target.source }),
    });
    let bytes = 0;
    const upload = async (source: Uint8Array | string, size: number): Promise<StreamStateHandle> => {
      const name = randomUUID();
      const uri = joinUri(target.targetDir, name);
      const store = target.stores.storeFor(uri);
      const written = await store.write(uri, typeof source === "string" ? createReadStream(source) : source, {
        overwrite: true,
      });
      if (written !== size) {
        throw new StoreFaultError(`${uri}: ${written} bytes written, the converter produced ${size}`, {
          uri,
        });
      }
      bytes += size;
      return { kind: "RelativeFileStateHandle", relativePath: name, stateSize: BigInt(size) };
    };
    const privateState: HandleAndLocalPath[] = [];
    for (const t of files.tables) {
      const local = join(spool, t.fileName);
      privateState.push({ localPath: t.fileName, handle: await upload(local, t.info.size) });
      await rm(local, { force: true });
    }
    privateState.push({
      localPath: files.manifestName,
      handle: await upload(files.manifest, files.manifest.byteLength),
    });
    privateState.push({
      localPath: "CURRENT",
      handle: await upload(files.current, files.current.byteLength),
    });
    const metaStateHandle = await upload(files.meta, files.meta.byteLength);
    const handle: IncrementalRemoteKeyedStateHandle = {
      kind: "IncrementalRemoteKeyedStateHandle",
      tag: 11,
      checkpointId: target.checkpointId,
      backendIdentifier: randomUUID(),
      keyGroupRange: target.keyGroupRange,
      checkpointedSize: BigInt(bytes),
      metaStateHandle,
      sharedState: [],
      privateState,
      stateHandleId: randomUUID(),
    };
    const metaUri = joinUri(target.targetDir, (metaStateHandle as { relativePath: string }).relativePath);
    if (target.verify !== false) await verifyInstance(handle, target, files.records, metaUri);
    return {
      handle,
      metaUri,
      bytes,
      records: files.records,
      keyGroups: files.keyGroups,
      tables: files.tables.length,
    };
  } finally {
    await rm(spool, { recursive: true, force: true });
  }
}

/** Opens the written instance through the store and checks it holds `expected` entries. */
async function verifyInstance(
  handle: IncrementalRemoteKeyedStateHandle,
  target: RocksDbSubtaskTarget,
  expected: number,
  metaUri: string,
): Promise<void> {
  const resolver = snapshotFileResolver(target.targetDir, (u) => target.stores.storeFor(u));
  const state = await openFlinkRocksDb(handle, resolver, { label: metaUri });
  let n = 0;
  for await (const b of readRocksDbCanonicalRecords(state, target.maxParallelism)) n += b.length;
  if (n !== expected) {
    throw new StoreFaultError(
      `${metaUri}: the written RocksDB instance reads back ${n} entries, ${expected} written`,
      {
        uri: metaUri,
      },
    );
  }
}
