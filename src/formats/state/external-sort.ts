/**
 * An external merge sort of key/value records in bytewise key order, in bounded memory: what writing a
 * RocksDB instance needs for a run of canonical records in hash order (a hashmap-written savepoint's
 * key group of one state) too large to sort in memory. RocksDB itself sorts in its memtables and merges
 * sorted runs in compaction (`db/compaction/compaction_job.cc`, `table/merging_iterator.cc`); this is the
 * offline equivalent: sorted chunks spilled to a local directory, then a k-way merge.
 *
 * - {@link ExternalSorter.add} buffers records; once the buffer holds `memoryBytes`, it is sorted and
 *   written to a chunk file (`[u32 key length][u32 value length][key][value]*`, big-endian lengths). A
 *   buffer already in order that continues the last chunk is appended to it: records that come in key
 *   order (a RocksDB-written run) make a single chunk, read back once, never merged.
 * - {@link ExternalSorter.sorted} hands the records out in key order, in batches: from memory when
 *   nothing was spilled; otherwise the last buffer is spilled too and the chunks are merged, `fanIn` at a
 *   time (a chunk read `readBlock` bytes ahead), in several passes when there are more chunks than that.
 *
 * Memory: `memoryBytes` (plus about 64 bytes per record) while adding, `fanIn * readBlock` while
 * merging, whatever the number of records. Equal keys come out in any order (callers refuse them).
 */

import { mkdtemp, open, rm } from "node:fs/promises";
import { join } from "node:path";
import { CorruptSnapshotError, InvalidArgumentError } from "../../errors.js";

/** A record to sort: bytes, compared bytewise by key. */
export interface SortRecord {
  key: Uint8Array;
  value: Uint8Array;
}

/** Options of an {@link ExternalSorter}. */
export interface ExternalSortOptions {
  /** Bytes of records held in memory before a chunk is spilled (keys + values + 64 per record). */
  memoryBytes: number;
  /** The local directory under which the chunk files go (a fresh subdirectory, removed by `close`). */
  directory: string;
  /** Chunks merged at once (default 64). */
  fanIn?: number;
  /** Bytes read ahead per chunk while merging (default 256 KiB). */
  readBlock?: number;
}

/** Per-record overhead counted against `memoryBytes` (object, two arrays). */
export const RECORD_OVERHEAD = 64;

const byKey = (a: SortRecord, b: SortRecord) => Buffer.compare(a.key, b.key);

/** Records sorted in memory (or already in order), in batches. */
function* inBatches<T>(records: T[], size: number): Generator<T[]> {
  for (let i = 0; i < records.length; i += size) yield records.slice(i, i + size);
}

/** A chunk file still open for appending. */
interface OpenChunk {
  path: string;
  fh: Awaited<ReturnType<typeof open>>;
  writer: ChunkWriter;
  /** The last key written to it. */
  lastKey: Uint8Array;
}

/** Sorts records in bytewise key order, spilling to disk past a memory bound; see the module doc. */
export class ExternalSorter<T extends SortRecord = SortRecord> {
  private buffer: T[] = [];
  private bufferBytes = 0;
  /** Whether the buffered records are strictly ascending (then spilling needs no sort). */
  private bufferSorted = true;
  private dir: string | null = null;
  private chunks: string[] = [];
  private open: OpenChunk | null = null;
  private nextChunk = 0;
  private spilledRecords = 0;
  private readonly fanIn: number;
  private readonly readBlock: number;

  /** @throws InvalidArgumentError for a memory bound below 1 byte or a fan-in below 2. */
  constructor(private readonly options: ExternalSortOptions) {
    if (!(options.memoryBytes >= 1)) {
      throw new InvalidArgumentError(`external sort memory ${options.memoryBytes} (at least 1 byte)`);
    }
    this.fanIn = options.fanIn ?? 64;
    this.readBlock = options.readBlock ?? 256 * 1024;
    if (!Number.isInteger(this.fanIn) || this.fanIn < 2) {
      throw new InvalidArgumentError(`external sort fan-in ${this.fanIn} (at least 2)`);
    }
  }

  /** Chunk files written so far (0 while everything fits in memory). */
  get spills(): number {
    return this.nextChunk;
  }

  /** Adds a record; spills a sorted chunk when the buffer is full. */
  async add(record: T): Promise<void> {
    const last = this.buffer[this.buffer.length - 1];
    if (this.bufferSorted && last !== undefined && Buffer.compare(record.key, last.key) <= 0) {
      this.bufferSorted = false;
    }
    this.buffer.push(record);
    this.bufferBytes += record.key.byteLength + record.value.byteLength + RECORD_OVERHEAD;
    if (this.bufferBytes >= this.options.memoryBytes) await this.spill();
  }

  /**
   * Writes the buffer, sorted, to disk: appended to the open chunk when it continues it in key order
   * (records that come in order make one chunk however many times the buffer fills), else as a new
   * chunk.
   */
  private async spill(): Promise<void> {
    if (this.buffer.length === 0) return;
    if (!this.bufferSorted) this.buffer.sort(byKey);
    const first = (this.buffer[0] as T).key;
    if (!this.open || Buffer.compare(first, this.open.lastKey) <= 0) {
      await this.closeChunk();
      this.dir ??= await mkdtemp(join(this.options.directory, "savepoint-kit-sort-"));
      const path = join(this.dir, `chunk-${this.nextChunk++}`);
      const fh = await open(path, "w");
      this.open = { path, fh, writer: new ChunkWriter(fh), lastKey: first };
      this.chunks.push(path);
    }
    const w = this.open.writer;
    for (const r of this.buffer) {
      const p = w.add(r);
      if (p) await p;
    }
    await w.flush();
    this.open.lastKey = (this.buffer[this.buffer.length - 1] as T).key;
    this.spilledRecords += this.buffer.length;
    this.buffer = [];
    this.bufferBytes = 0;
    this.bufferSorted = true;
  }

  private async closeChunk(): Promise<void> {
    const c = this.open;
    this.open = null;
    if (c) await c.fh.close();
  }

  /**
   * The records in key order, in batches of at most `batchSize`. Call once, after the last
   * {@link add}; then {@link close}.
   * @throws CorruptSnapshotError when a chunk file does not read back as written; the file system's errors.
   */
  async *sorted(batchSize = 1024): AsyncGenerator<SortRecord[]> {
    if (this.chunks.length === 0) {
      if (!this.bufferSorted) this.buffer.sort(byKey);
      yield* inBatches(this.buffer, batchSize);
      this.buffer = [];
      this.bufferBytes = 0;
      return;
    }
    await this.spill();
    await this.closeChunk();
    // Merge passes until one merge of at most fanIn chunks is left.
    while (this.chunks.length > this.fanIn) {
      const next: string[] = [];
      for (let i = 0; i < this.chunks.length; i += this.fanIn) {
        const group = this.chunks.slice(i, i + this.fanIn);
        if (group.length === 1) {
          next.push(group[0] as string);
          continue;
        }
        const path = join(this.dir as string, `chunk-${this.nextChunk++}`);
        const out = await open(path, "w");
        try {
          const w = new ChunkWriter(out);
          for await (const batch of mergeChunks(group, this.readBlock, batchSize)) {
            for (const r of batch) {
              const p = w.add(r);
              if (p) await p;
            }
          }
          await w.flush();
        } finally {
          await out.close();
        }
        await Promise.all(group.map((p) => rm(p, { force: true })));
        next.push(path);
      }
      this.chunks = next;
    }
    let n = 0;
    for await (const batch of mergeChunks(this.chunks, this.readBlock, batchSize)) {
      n += batch.length;
      yield batch;
    }
    if (n !== this.spilledRecords) {
      throw new CorruptSnapshotError(`external sort: ${n} records merged, ${this.spilledRecords} spilled`, {
        uri: this.dir ?? "",
        offset: 0,
      });
    }
  }

  /** Removes the chunk files (idempotent). */
  async close(): Promise<void> {
    this.buffer = [];
    await this.closeChunk().catch(() => {});
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
    this.dir = null;
    this.chunks = [];
  }
}

/** Buffered writing of chunk records. */
class ChunkWriter {
  private buf = Buffer.allocUnsafe(1024 * 1024);
  private pos = 0;

  constructor(private readonly fh: Awaited<ReturnType<typeof open>>) {}

  /** Appends a record; returns a promise only when the buffer had to be written out first. */
  add(r: SortRecord): Promise<void> | undefined {
    const need = 8 + r.key.byteLength + r.value.byteLength;
    if (this.pos + need > this.buf.byteLength) {
      return this.flush().then(() => {
        if (need > this.buf.byteLength) this.buf = Buffer.allocUnsafe(need);
        this.put(r, need);
      });
    }
    this.put(r, need);
    return undefined;
  }

  private put(r: SortRecord, need: number): void {
    this.buf.writeUInt32BE(r.key.byteLength, this.pos);
    this.buf.writeUInt32BE(r.value.byteLength, this.pos + 4);
    this.buf.set(r.key, this.pos + 8);
    this.buf.set(r.value, this.pos + 8 + r.key.byteLength);
    this.pos += need;
  }

  async flush(): Promise<void> {
    let done = 0;
    while (done < this.pos) {
      const { bytesWritten } = await this.fh.write(this.buf, done, this.pos - done);
      done += bytesWritten;
    }
    this.pos = 0;
  }
}

/** Reads a chunk file's records in order, `readBlock` bytes at a time. */
class ChunkReader {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private fileOffset = 0;
  private eof = false;
  /** The current record, or null at the end. */
  current: SortRecord | null = null;

  private constructor(
    private readonly path: string,
    private readonly fh: Awaited<ReturnType<typeof open>>,
    private readonly readBlock: number,
  ) {}

  static async open(path: string, readBlock: number): Promise<ChunkReader> {
    const r = new ChunkReader(path, await open(path, "r"), readBlock);
    await r.advance();
    return r;
  }

  /** Buffers at least `n` bytes at `pos`; false when the file has fewer left. */
  private async fill(n: number): Promise<boolean> {
    while (this.buf.byteLength - this.pos < n && !this.eof) {
      const rest = this.buf.subarray(this.pos);
      const want = Math.max(this.readBlock, n - rest.byteLength);
      const next = Buffer.allocUnsafe(rest.byteLength + want);
      rest.copy(next, 0);
      const { bytesRead } = await this.fh.read(next, rest.byteLength, want, this.fileOffset);
      this.fileOffset += bytesRead;
      if (bytesRead < want) this.eof = true;
      this.buf = next.subarray(0, rest.byteLength + bytesRead);
      this.pos = 0;
    }
    return this.buf.byteLength - this.pos >= n;
  }

  /** Moves to the next record when it is buffered whole; false when bytes must be read first. */
  tryAdvance(): boolean {
    const have = this.buf.byteLength - this.pos;
    if (have < 8) return false;
    const kLen = this.buf.readUInt32BE(this.pos);
    const vLen = this.buf.readUInt32BE(this.pos + 4);
    if (have < 8 + kLen + vLen) return false;
    const start = this.buf.byteOffset + this.pos + 8;
    this.current = {
      key: new Uint8Array(this.buf.buffer, start, kLen),
      value: new Uint8Array(this.buf.buffer, start + kLen, vLen),
    };
    this.pos += 8 + kLen + vLen;
    return true;
  }

  /** Moves to the next record. @throws CorruptSnapshotError for a truncated chunk. */
  async advance(): Promise<void> {
    if (!(await this.fill(8))) {
      if (this.buf.byteLength - this.pos !== 0) throw this.truncated();
      this.current = null;
      return;
    }
    const kLen = this.buf.readUInt32BE(this.pos);
    const vLen = this.buf.readUInt32BE(this.pos + 4);
    if (!(await this.fill(8 + kLen + vLen))) throw this.truncated();
    const start = this.buf.byteOffset + this.pos + 8;
    const key = new Uint8Array(this.buf.buffer, start, kLen);
    const value = new Uint8Array(this.buf.buffer, start + kLen, vLen);
    this.pos += 8 + kLen + vLen;
    this.current = { key, value };
  }

  private truncated(): CorruptSnapshotError {
    return new CorruptSnapshotError("external sort: truncated chunk file", {
      uri: this.path,
      offset: this.fileOffset - (this.buf.byteLength - this.pos),
    });
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

/** Merges sorted chunk files (a binary min-heap of their current records). */
async function* mergeChunks(
  paths: readonly string[],
  readBlock: number,
  batchSize: number,
): AsyncGenerator<SortRecord[]> {
  const readers: ChunkReader[] = [];
  try {
    for (const p of paths) readers.push(await ChunkReader.open(p, readBlock));
    const heap = readers.filter((r) => r.current !== null);
    const less = (a: ChunkReader, b: ChunkReader) =>
      Buffer.compare((a.current as SortRecord).key, (b.current as SortRecord).key) < 0;
    const down = (i: number) => {
      const n = heap.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) return;
        const r = l + 1;
        const m = r < n && less(heap[r] as ChunkReader, heap[l] as ChunkReader) ? r : l;
        if (!less(heap[m] as ChunkReader, heap[i] as ChunkReader)) return;
        [heap[i], heap[m]] = [heap[m] as ChunkReader, heap[i] as ChunkReader];
        i = m;
      }
    };
    for (let i = (heap.length >> 1) - 1; i >= 0; i--) down(i);
    let batch: SortRecord[] = [];
    while (heap.length > 0) {
      const top = heap[0] as ChunkReader;
      batch.push(top.current as SortRecord);
      if (!top.tryAdvance()) await top.advance();
      if (top.current === null) {
        const last = heap.pop() as ChunkReader;
        if (heap.length > 0) heap[0] = last;
      }
      if (heap.length > 0) down(0);
      if (batch.length >= batchSize) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  } finally {
    await Promise.all(readers.map((r) => r.close()));
  }
}
