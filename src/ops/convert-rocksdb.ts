/**
 * The RocksDB target of `convert` (`to: "native"`, `backend: "rocksdb"`): one subtask's canonical records
 * written as the files of a native RocksDB savepoint (`../formats/state/write-rocksdb.ts`), uploaded into
 * the target directory under fresh UUID names, and the `IncrementalRemoteKeyedStateHandle` that
 * references them, shaped as Flink's native savepoints of the RocksDB backend have it
 * (`RocksNativeFullSnapshotStrategy`): every file private (`privateState`, with its RocksDB file name as
 * `localPath`), no shared files, a meta state handle, the checkpoint id of the snapshot, a new backend
 * identifier and state handle id.
 *
 * Table files are written side by side (a subtask's column families progress together). Into a local
 * target they are streamed in place (each its own atomic store write under its UUID name); for other
 * stores they are spooled to a local temporary directory, then uploaded one by one and deleted. The
 * spool also takes the external sort's chunks. Memory stays bounded by the writer's (about 256 KiB of
 * table bytes per column family plus `maxRunBytes` of one run), whatever the state size; runs in key
 * order (canonical savepoints of RocksDB jobs) are streamed past {@link STREAM_RUNS_AFTER_BYTES} when
 * the records can be read again, so that memory does not follow the runs' size either.
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
import { BLOCK_TRAILER_SIZE, type BlockHandle } from "../formats/rocksdb/format.js";
import { type FileMetaData, tableFileName } from "../formats/rocksdb/manifest.js";
import { SstReader } from "../formats/rocksdb/sst-reader.js";
import type { SstCompression } from "../formats/rocksdb/sst-writer.js";
import type { CanonicalRecord } from "../formats/state/canonical-writer.js";
import type { KeyedBackendHeader } from "../formats/state/headers.js";
import { snapshotFileResolver } from "../formats/state/stream.js";
import {
  type RocksDbInstanceFiles,
  RunOrderError,
  type TableSink,
  type WrittenTable,
  writeRocksDbInstance,
} from "../formats/state/write-rocksdb.js";
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
  /**
   * Check the written instance through the store (default true): the MANIFEST, every table's
   * properties and index, and its first and last data block against what was written (`checkInstance`).
   */
  verify?: boolean;
  /** Bytes of one run (key group of one state) sorted in memory; larger runs spill (`writeRocksDbInstance`). */
  maxRunBytes?: number;
  /** The source file, named in errors. */
  source?: string;
  /** Run bytes after which runs in key order are streamed (default {@link STREAM_RUNS_AFTER_BYTES}). */
  streamRunsAfterBytes?: number;
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

/** A table streamed straight into the target store (see {@link streamTable}). */
interface StreamedTable {
  /** The file's UUID name and URI. */
  name: string;
  uri: string;
  sink: TableSink;
  /** The store write: resolves to the bytes written once the sink is closed. */
  written: Promise<number>;
  /** Ends the write with an error (the store then leaves no file, or a partial one to delete). */
  abort(err: unknown): void;
}

/**
 * A table sink feeding one `store.write` of a fresh UUID name in `dir` as bytes come: the sink's
 * `write` resolves once the store has taken the previous piece, so at most one piece waits here
 * (plus what the store's own stream buffers).
 */
function streamTable(stores: StoreRegistry, dir: string): StreamedTable {
  const name = randomUUID();
  const uri = joinUri(dir, name);
  const queue: Uint8Array[] = [];
  let ended = false;
  /** Set once the store write failed or the writer gave up (a holder: closures set it). */
  const state: { failure: { error: unknown } | null } = { failure: null };
  let wakeConsumer: (() => void) | null = null;
  let wakeProducer: (() => void) | null = null;
  const wake = () => {
    wakeConsumer?.();
    wakeConsumer = null;
  };
  async function* source(): AsyncGenerator<Uint8Array> {
    for (;;) {
      if (state.failure) throw state.failure.error;
      const b = queue.shift();
      if (b) {
        wakeProducer?.();
        wakeProducer = null;
        yield b;
        continue;
      }
      if (ended) return;
      await new Promise<void>((r) => {
        wakeConsumer = r;
      });
    }
  }
  const written = stores.storeFor(uri).write(uri, source(), { overwrite: true });
  written.catch((error) => {
    state.failure ??= { error };
    wakeProducer?.();
    wakeProducer = null;
  });
  return {
    name,
    uri,
    written,
    sink: {
      async write(bytes) {
        if (state.failure) throw state.failure.error;
        queue.push(bytes);
        wake();
        while (queue.length > 1 && !state.failure) {
          await new Promise<void>((r) => {
            wakeProducer = r;
          });
        }
        const f = state.failure as { error: unknown } | null;
        if (f) throw f.error;
      },
      async close() {
        ended = true;
        wake();
      },
    },
    abort(error) {
      state.failure ??= { error };
      wake();
    },
  };
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
 * Run bytes after which a run in key order is written as it comes (`streamRunsAfterBytes`) when the
 * records can be read again: 1 MiB. A run is a key group of one state, so buffering whole runs made
 * memory follow the state's size (a 1 GiB bench savepoint's runs are 4x the 256 MiB one's, each record
 * an object and two views kept until its run ends).
 */
export const STREAM_RUNS_AFTER_BYTES = 1024 * 1024;

/**
 * Writes one subtask's records as a RocksDB instance into `target.targetDir` and builds its handle.
 *
 * @param records canonical records in canonical order (see `writeRocksDbInstance`); as a function that
 *   reads them anew, runs in key order are streamed ({@link STREAM_RUNS_AFTER_BYTES}), and should one
 *   turn out not to be in order after all, the instance is written again from a fresh read, buffering
 *   runs (the tables of the first attempt are removed).
 * @throws the errors of `writeRocksDbInstance` (CorruptSnapshotError for records out of place),
 *   StoreFaultError when a written file has another size than produced or the instance does not check
 *   out (`checkInstance`), and the stores' errors.
 */
export async function writeRocksDbSubtask(
  records: AsyncIterable<CanonicalRecord[]> | (() => AsyncIterable<CanonicalRecord[]>),
  target: RocksDbSubtaskTarget,
): Promise<RocksDbSubtaskResult> {
  if (typeof records !== "function") return writeSubtaskOnce(records, target, false);
  try {
    return await writeSubtaskOnce(records(), target, true);
  } catch (err) {
    if (!(err instanceof RunOrderError)) throw err;
    return writeSubtaskOnce(records(), target, false);
  }
}

/** One attempt of {@link writeRocksDbSubtask}. */
async function writeSubtaskOnce(
  records: AsyncIterable<CanonicalRecord[]>,
  target: RocksDbSubtaskTarget,
  streamRuns: boolean,
): Promise<RocksDbSubtaskResult> {
  const spool = await mkdtemp(join(target.spoolDirectory ?? tmpdir(), "savepoint-kit-rocksdb-"));
  // A local target gets the tables streamed in place (each an atomic store write of its own); other
  // stores get them from the local spool, one at a time, once they are complete.
  const direct = target.stores.storeFor(target.targetDir).schemes.includes("file");
  const streamed = new Map<string, StreamedTable>();
  /** The spool files' sinks: a failed write leaves them open, so they are closed here (idempotent). */
  const spooled: TableSink[] = [];
  let bytes = 0;
  const checkSize = (uri: string, written: number, size: number) => {
    if (written !== size) {
      throw new StoreFaultError(`${uri}: ${written} bytes written, the converter produced ${size}`, { uri });
    }
    bytes += size;
  };
  try {
    let files: RocksDbInstanceFiles;
    try {
      files = await writeRocksDbInstance(records, {
        header: target.header,
        keyGroupRange: target.keyGroupRange,
        keyGroupPrefixBytes: target.maxParallelism > 128 ? 2 : 1,
        compression: target.compression,
        openTable: async (name) => {
          if (!direct) {
            const sink = await fileSink(join(spool, name));
            spooled.push(sink);
            return sink;
          }
          const t = streamTable(target.stores, target.targetDir);
          streamed.set(name, t);
          return t.sink;
        },
        spillDirectory: spool,
        ...(target.maxRunBytes === undefined ? {} : { maxRunBytes: target.maxRunBytes }),
        ...(streamRuns
          ? { streamRunsAfterBytes: target.streamRunsAfterBytes ?? STREAM_RUNS_AFTER_BYTES }
          : {}),
        dbId: randomUUID(),
        ...(target.source === undefined ? {} : { source: target.source }),
      });
    } catch (err) {
      await Promise.all(spooled.map((sink) => sink.close().catch(() => {})));
      // Tables streamed into the target are not referenced by anything: end and remove them.
      await Promise.all(
        [...streamed.values()].map(async (t) => {
          t.abort(err);
          await t.written.catch(() => {});
          await target.stores
            .storeFor(t.uri)
            .delete(t.uri)
            .catch(() => {});
        }),
      );
      throw err;
    }
    const upload = async (source: Uint8Array | string, size: number): Promise<StreamStateHandle> => {
      const name = randomUUID();
      const uri = joinUri(target.targetDir, name);
      const store = target.stores.storeFor(uri);
      const written = await store.write(uri, typeof source === "string" ? createReadStream(source) : source, {
        overwrite: true,
      });
      checkSize(uri, written, size);
      return { kind: "RelativeFileStateHandle", relativePath: name, stateSize: BigInt(size) };
    };
    const privateState: HandleAndLocalPath[] = [];
    for (const t of files.tables) {
      const s = streamed.get(t.fileName);
      if (s) {
        checkSize(s.uri, await s.written, t.info.size);
        privateState.push({
          localPath: t.fileName,
          handle: { kind: "RelativeFileStateHandle", relativePath: s.name, stateSize: BigInt(t.info.size) },
        });
        continue;
      }
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
    if (target.verify !== false) await checkInstance(handle, target, files, metaUri);
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

/**
 * Checks the written instance through the store without reading its data again: what the writer
 * recorded against what the files say. This replaces a full re-read of every entry (a second pass over
 * all the data, about a third of the conversion's time) by checks that catch the same faults (a file
 * stored with other bytes or size, a MANIFEST or table that does not describe what was written, lost
 * entries):
 * - the meta file reads back as a keyed header with the states written (`openFlinkRocksDb`); CURRENT
 *   names the MANIFEST, which replays to the column families of the header, each with exactly the
 *   tables written for it at level 6 (number, size, smallest and largest key);
 * - every table opens through the store with our reader (`SstReader.open`: footer, metaindex,
 *   properties and index block, their checksums verified; its size is the MANIFEST's); its properties
 *   count the entries, data blocks and data bytes the writer produced, with the column family's id and
 *   name; its index has one handle per data block, the blocks tiling the data region exactly; its first
 *   and last data blocks read back (checksums, decompression) with the smallest and largest key;
 * - the tables' entries add up to the records written.
 * Every data block's readability is covered by the tests (our reader, RocksDB's `ldb`, Flink's restore).
 *
 * @throws StoreFaultError naming the file when a check fails; the reader's errors (CorruptSnapshotError
 *   for a file that does not decode, NotFoundError for a missing one).
 */
async function checkInstance(
  handle: IncrementalRemoteKeyedStateHandle,
  target: RocksDbSubtaskTarget,
  files: RocksDbInstanceFiles,
  metaUri: string,
): Promise<void> {
  const resolver = snapshotFileResolver(target.targetDir, (u) => target.stores.storeFor(u));
  const { db, header } = await openFlinkRocksDb(handle, resolver, { label: metaUri });
  const fault = (uri: string, what: string) =>
    new StoreFaultError(`${uri}: the written RocksDB instance does not read back: ${what}`, { uri });
  const names = (hs: { name: string }[]) => JSON.stringify(hs.map((x) => x.name));
  if (names(header.states) !== names(target.header.states)) {
    throw fault(metaUri, `the meta file has the states ${names(header.states)}`);
  }
  const cfs = db.columnFamilies();
  if (names(cfs) !== names([{ name: "default" }, ...target.header.states])) {
    throw fault(metaUri, `the MANIFEST has the column families ${names(cfs)}`);
  }
  const eq = (a: Uint8Array | null, b: Uint8Array | null) =>
    a !== null && b !== null && Buffer.compare(a, b) === 0;
  let entries = 0;
  for (const cf of cfs) {
    const written = files.tables.filter((t) => t.columnFamily === cf.name);
    const live = cf.levels.flat();
    if (live.length !== written.length || (cf.levels[6]?.length ?? 0) !== written.length) {
      throw fault(
        metaUri,
        `column family ${cf.name}: ${live.length} tables in the MANIFEST, ${written.length} written`,
      );
    }
    for (let i = 0; i < written.length; i++) {
      const t = written[i] as WrittenTable;
      const m = cf.levels[6]?.[i] as FileMetaData;
      const uri = privateUri(handle, target, t.fileName);
      if (
        tableFileName(m.number) !== t.fileName ||
        m.fileSize !== t.info.size ||
        !eq(m.smallest.userKey, t.info.smallestKey) ||
        !eq(m.largest.userKey, t.info.largestKey)
      ) {
        throw fault(uri, `the MANIFEST's entry for ${t.fileName} is not the table written`);
      }
      // Opened on its own, not through the instance (which caches every table with its decoded index:
      // memory growing with the state), and dropped once checked.
      const file = db.files.get(t.fileName);
      if (!file || file.size !== t.info.size) {
        throw fault(uri, `${t.fileName} has ${file?.size ?? "no"} bytes, ${t.info.size} written`);
      }
      const sst = await SstReader.open(file);
      const p = sst.properties;
      if (
        p.numEntries !== t.info.entries ||
        p.numDataBlocks !== t.info.dataBlocks ||
        p.dataSize !== t.info.dataSize ||
        p.columnFamilyId !== cf.id ||
        p.columnFamilyName !== cf.name
      ) {
        throw fault(
          uri,
          `properties say ${p.numEntries} entries in ${p.numDataBlocks} blocks of column family ${p.columnFamilyId} ${p.columnFamilyName}; written ${t.info.entries} in ${t.info.dataBlocks} (${cf.id} ${cf.name})`,
        );
      }
      let end = 0;
      let first: BlockHandle | null = null;
      let last: BlockHandle | null = null;
      let blocks = 0;
      for await (const h of sst.dataBlockHandles()) {
        if (h.offset !== end) throw fault(uri, `data block at ${h.offset}, the previous one ends at ${end}`);
        end = h.offset + h.size + BLOCK_TRAILER_SIZE;
        first ??= h;
        last = h;
        blocks++;
      }
      if (blocks !== t.info.dataBlocks || end !== t.info.dataSize || !first || !last) {
        throw fault(uri, `the index has ${blocks} data blocks ending at ${end}`);
      }
      const head = (await sst.readDataBlock(first))[0];
      const tail = (await sst.readDataBlock(last)).at(-1);
      if (!head || !tail || !eq(head.userKey, t.info.smallestKey) || !eq(tail.userKey, t.info.largestKey)) {
        throw fault(uri, "the first and last data blocks do not hold the smallest and largest key written");
      }
      entries += p.numEntries;
    }
  }
  if (entries !== files.records) {
    throw fault(metaUri, `its tables hold ${entries} entries, ${files.records} written`);
  }
}

/** The URI of a private file of the handle, by RocksDB file name. */
function privateUri(
  handle: IncrementalRemoteKeyedStateHandle,
  target: RocksDbSubtaskTarget,
  fileName: string,
): string {
  const h = handle.privateState.find((e) => e.localPath === fileName)?.handle;
  return h && h.kind === "RelativeFileStateHandle" ? joinUri(target.targetDir, h.relativePath) : fileName;
}
