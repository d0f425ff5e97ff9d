/**
 * Writing canonical savepoint key-groups files: the format Flink's `FullSnapshotAsyncWriter` writes
 * for every canonical savepoint (hashmap and RocksDB alike) and `FullSnapshotRestoreOperation` reads
 * (`HeapSavepointRestoreOperation`, `RocksDBFullRestoreOperation`). See `./keyed.ts` for the layout:
 *
 * ```
 * KeyedBackendSerializationProxy header                            (never compressed)
 * per NON-EMPTY key group, ascending; offset[kg] = file position here (0 for empty key groups):
 *   [a fresh Snappy framed stream when the header says compressed]
 *   i16 kvStateId
 *   ( i32 keyLength, key, i32 valueLength, value
 *     ; on the LAST pair of a state run: key[0] |= 0x80, then i16 next kvStateId or 0xFFFF )*
 * ```
 *
 * Keys and values are RocksDB's bytes ({@link compositeKey}, {@link joinListElements},
 * {@link mapEntryValue}, {@link timerKey}), as `HeapKeyValueStateIterator` builds them for the heap
 * backend with `SerializedCompositeKeyBuilder` and `ListDelimitedSerializer`.
 *
 * The writer keeps one record of lookahead, exactly as Flink does (the "meta data follows" flag is
 * only known once the next record is seen), and emits bytes as it goes: memory is one record plus one
 * stage (a 64 KiB Snappy block, or 1 MiB of an uncompressed file), whatever the state size. Offsets are positions in the output, so the caller
 * may stream the bytes straight to a store.
 */

import { InvalidArgumentError } from "../../errors.js";
import { DataOutput } from "../io/data-output.js";
import type { KeyGroupRange } from "../metadata/model.js";
import { type KeyedBackendHeader, writeKeyedBackendHeader } from "./headers.js";
import { END_OF_KEY_GROUP_MARK, META_DATA_FOLLOWS_FLAG } from "./keyed.js";
import { concatBytes, SnappyFramedWriter, type SnappyWriterOptions } from "./snappy.js";

/** `ListDelimitedSerializer`'s delimiter between list elements (`,`). */
export const LIST_DELIMITER = 0x2c;

/**
 * `CompositeKeySerializationUtils.writeVariableIntBytes`: `value` little-endian, lowest byte first, as
 * many bytes as needed and at least one (0 -> `00`, 300 -> `2C 01`). The length markers of ambiguous
 * composite keys.
 */
export function variableIntBytes(value: number): Uint8Array {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    out.push(v & 0xff);
    v >>>= 8;
  } while (v !== 0);
  return Uint8Array.from(out);
}

/** `CompositeKeySerializationUtils.writeKeyGroup`: the key group big-endian in 1 or 2 bytes. */
export function keyGroupPrefix(keyGroup: number, prefixBytes: 1 | 2): Uint8Array {
  return prefixBytes === 1
    ? Uint8Array.of(keyGroup & 0xff)
    : Uint8Array.of((keyGroup >>> 8) & 0xff, keyGroup & 0xff);
}

/** The parts of a RocksDB / canonical composite key. */
export interface CompositeKeyParts {
  keyGroup: number;
  /** 1 when max parallelism <= 128, else 2 (`computeRequiredBytesInKeyGroupPrefix`). */
  prefixBytes: 1 | 2;
  /** The key serializer's bytes. */
  key: Uint8Array;
  /** The namespace serializer's bytes (`00` for VoidNamespace, 16 bytes for a TimeWindow). */
  namespace: Uint8Array;
  /**
   * Length markers follow key and namespace: true exactly when the key serializer and the namespace
   * serializer both report a variable length (`getLength() < 0`; `isAmbiguousKeyPossible`).
   */
  ambiguous: boolean;
  /** Map states: the user key serializer's bytes, appended last. */
  userKey?: Uint8Array;
}

/**
 * A composite key as `SerializedCompositeKeyBuilder` builds it: key-group prefix, key, [key length
 * marker], namespace, [namespace length marker], [map user key].
 */
export function compositeKey(p: CompositeKeyParts): Uint8Array {
  const prefix = keyGroupPrefix(p.keyGroup, p.prefixBytes);
  const parts: Uint8Array[] = [prefix, p.key];
  if (p.ambiguous) parts.push(variableIntBytes(p.key.byteLength));
  parts.push(p.namespace);
  if (p.ambiguous) parts.push(variableIntBytes(p.namespace.byteLength));
  if (p.userKey) parts.push(p.userKey);
  return concatBytes(parts);
}

/**
 * The canonical key of a timer (priority queue element): key-group prefix + the element serializer's
 * bytes (`TimerSerializer`: flipped i64 timestamp, key, namespace). Its value is empty.
 */
export function timerKey(keyGroup: number, prefixBytes: 1 | 2, element: Uint8Array): Uint8Array {
  return concatBytes([keyGroupPrefix(keyGroup, prefixBytes), element]);
}

/**
 * `ListDelimitedSerializer.serializeList`: the elements' bytes joined by `,` (no count, no escaping,
 * no trailing delimiter). Flink writes no entry at all for an empty list.
 */
export function joinListElements(elements: readonly Uint8Array[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [i, e] of elements.entries()) {
    if (i > 0) parts.push(Uint8Array.of(LIST_DELIMITER));
    parts.push(e);
  }
  return concatBytes(parts);
}

/**
 * A map entry's canonical value, as RocksDB's `serializeValueNullSensitive`: a boolean "is null"
 * (`01` alone for a null user value), then the user value serializer's bytes.
 */
export function mapEntryValue(value: Uint8Array | null): Uint8Array {
  if (value === null) return Uint8Array.of(1);
  const out = new Uint8Array(value.byteLength + 1);
  out.set(value, 1);
  return out;
}

/** Bytes of key-group data staged before they go to the Snappy stream (64 KiB, one Snappy block). */
const STAGE_SIZE = 64 * 1024;

/**
 * Bytes staged before they are output in an uncompressed file (1 MiB, the size a caller takes at a
 * time): a full stage is handed out as it is and a fresh one started, so output bytes are copied once
 * (record -> stage), not three times (stage slice, then joined by {@link CanonicalKeyGroupsWriter.take}).
 */
const PLAIN_STAGE_SIZE = 1024 * 1024;

/** One key/value pair of canonical key-group data. */
export interface CanonicalRecord {
  keyGroup: number;
  /** The kvStateId: the state's index in the header. */
  stateId: number;
  /** The composite key, starting with the key-group prefix, without the 0x80 meta-data flag. */
  key: Uint8Array;
  value: Uint8Array;
}

/** Options of {@link CanonicalKeyGroupsWriter}. */
export interface CanonicalWriterOptions {
  /** The header to write; its `compressed` flag decides Snappy per key group. */
  header: KeyedBackendHeader;
  /** The key groups of the subtask (the handle's range); records outside it are refused. */
  keyGroupRange: KeyGroupRange;
  /** Key-group prefix width of the keys (1 when max parallelism <= 128, else 2). */
  keyGroupPrefixBytes: 1 | 2;
  /** Snappy writer settings (default Flink's: 64 KiB blocks, ratio 0.85). */
  snappy?: SnappyWriterOptions;
}

/** What {@link CanonicalKeyGroupsWriter.finish} reports. */
export interface CanonicalWriteResult {
  /** One offset per key group of the range (file positions; 0 for key groups without data). */
  offsets: bigint[];
  /** Bytes written in total (header included): the file's size. */
  size: number;
  /** Bytes of the header. */
  headerSize: number;
  /** Records written. */
  records: number;
  /** Key groups with data. */
  keyGroups: number;
}

/**
 * A streaming writer of one canonical key-groups file, mirroring Flink's `FullSnapshotAsyncWriter`
 * (`writeKVStateMetaData` + `writeKVStateData`): the header on construction, then records in key-group
 * order, grouped into runs per state. Bytes accumulate until {@link take}n.
 *
 * @example
 * const w = new CanonicalKeyGroupsWriter({ header, keyGroupRange: { start: 0, end: 63 }, keyGroupPrefixBytes: 1 });
 * for (const r of records) w.add(r);
 * const { offsets, size } = w.finish();
 * const bytes = w.take();
 */
export class CanonicalKeyGroupsWriter {
  private readonly parts: Uint8Array[] = [];
  private pending = 0;
  private written = 0;
  private readonly offsets: bigint[];
  private readonly headerSize: number;
  private prev: CanonicalRecord | null = null;
  /** The key group's compression stream (compressed files) while a key group is open. */
  private snappy: SnappyFramedWriter | null = null;
  private records = 0;
  private keyGroups = 0;
  private finished = false;
  /** Key-group bytes staged before they go to the Snappy stream or the output (fewer, larger pieces). */
  private stage: Uint8Array;
  private staged = 0;
  private stageView: DataView;

  constructor(private readonly options: CanonicalWriterOptions) {
    const r = options.keyGroupRange;
    if (!(Number.isInteger(r.start) && Number.isInteger(r.end) && r.start >= 0 && r.end >= r.start - 1)) {
      throw new InvalidArgumentError(`bad key-group range ${r.start}-${r.end}`);
    }
    if (r.end > (options.keyGroupPrefixBytes === 1 ? 127 : 32767)) {
      throw new InvalidArgumentError(
        `key group ${r.end} does not fit a ${options.keyGroupPrefixBytes}-byte key-group prefix`,
      );
    }
    this.offsets = new Array<bigint>(Math.max(0, r.end - r.start + 1)).fill(0n);
    this.stage = new Uint8Array(options.header.compressed ? STAGE_SIZE : PLAIN_STAGE_SIZE);
    this.stageView = new DataView(this.stage.buffer);
    const out = new DataOutput(1024);
    writeKeyedBackendHeader(out, options.header);
    this.emit(out.toBytes());
    this.headerSize = this.written;
  }

  /** Bytes produced so far (the file position; in a compressed key group, up to its last Snappy chunk). */
  get position(): number {
    return this.written + (this.snappy ? 0 : this.staged);
  }

  /** Bytes produced (or staged) and not yet {@link take}n. */
  get buffered(): number {
    return this.pending + this.staged;
  }

  /**
   * Adds one record. Records must come in non-decreasing key-group order; within a key group, a change
   * of `stateId` starts a new state run (Flink writes each state once per key group).
   *
   * @throws InvalidArgumentError for a key group outside the range or going backwards, an unknown
   *   state id, or a key that does not start with its key group's prefix.
   */
  add(record: CanonicalRecord): void {
    if (this.finished) throw new InvalidArgumentError("canonical writer already finished");
    const { keyGroup, stateId, key } = record;
    const r = this.options.keyGroupRange;
    if (!Number.isInteger(keyGroup) || keyGroup < r.start || keyGroup > r.end) {
      throw new InvalidArgumentError(`key group ${keyGroup} outside the range ${r.start}-${r.end}`);
    }
    if (!Number.isInteger(stateId) || stateId < 0 || stateId >= this.options.header.states.length) {
      throw new InvalidArgumentError(
        `state id ${stateId}, but the header has ${this.options.header.states.length} states`,
      );
    }
    const pb = this.options.keyGroupPrefixBytes;
    const prefix =
      key.byteLength < pb
        ? -1
        : pb === 1
          ? (key[0] as number)
          : ((key[0] as number) << 8) | (key[1] as number);
    if (prefix !== keyGroup) {
      throw new InvalidArgumentError(
        `record of key group ${keyGroup} has a key starting with key-group prefix ${prefix} (state id ${stateId})`,
      );
    }
    const prev = this.prev;
    if (prev === null) {
      this.beginKeyGroup(keyGroup, stateId);
    } else {
      if (keyGroup < prev.keyGroup) {
        throw new InvalidArgumentError(
          `key group ${keyGroup} after key group ${prev.keyGroup}: records must come in key-group order`,
        );
      }
      const newKeyGroup = keyGroup !== prev.keyGroup;
      const newState = newKeyGroup || stateId !== prev.stateId;
      this.writePair(prev, newState);
      if (newKeyGroup) {
        this.endKeyGroup();
        this.beginKeyGroup(keyGroup, stateId);
      } else if (newState) {
        this.putShort(stateId);
      }
    }
    this.prev = record;
    this.records++;
  }

  /**
   * Writes the last record with its end-of-key-group mark and closes the key group.
   * @returns the offsets (one per key group of the range) and sizes.
   */
  finish(): CanonicalWriteResult {
    if (!this.finished) {
      if (this.prev !== null) {
        this.writePair(this.prev, true);
        this.endKeyGroup();
        this.prev = null;
      }
      this.drain();
      this.finished = true;
    }
    return {
      offsets: [...this.offsets],
      size: this.written,
      headerSize: this.headerSize,
      records: this.records,
      keyGroups: this.keyGroups,
    };
  }

  /** Bytes of complete pieces (output, not the stage being filled) not yet taken: what {@link takeParts} returns. */
  get ready(): number {
    return this.pending;
  }

  /**
   * Returns (and forgets) the complete pieces produced so far, in order, without the stage being filled
   * (after {@link finish}: everything). No bytes are copied: a full stage is handed out as it is, where
   * {@link take} joins the pieces and the partial stage into one array (a copy of every output byte).
   */
  takeParts(): Uint8Array[] {
    const out = this.parts.slice();
    this.parts.length = 0;
    this.pending = 0;
    return out;
  }

  /** Returns (and forgets) the bytes produced so far. */
  take(): Uint8Array {
    this.drain();
    const out = this.parts.length === 1 ? (this.parts[0] as Uint8Array) : concatBytes(this.parts);
    this.parts.length = 0;
    this.pending = 0;
    return out;
  }

  private beginKeyGroup(keyGroup: number, stateId: number): void {
    // The previous key group's Snappy stream is closed (endKeyGroup): staged bytes are output bytes.
    this.offsets[keyGroup - this.options.keyGroupRange.start] = BigInt(this.written + this.staged);
    this.keyGroups++;
    if (this.options.header.compressed) this.snappy = new SnappyFramedWriter(this.options.snappy);
    this.putShort(stateId);
  }

  private endKeyGroup(): void {
    this.putShort(END_OF_KEY_GROUP_MARK);
    if (this.snappy) {
      this.drain();
      this.emit(this.snappy.close());
      this.snappy = null;
    }
  }

  /** `writeKeyValuePair`, with the "meta data follows" flag on the key's first byte when `flagged`. */
  private writePair(r: CanonicalRecord, flagged: boolean): void {
    this.putInt(r.key.byteLength);
    const at = this.putBytes(r.key);
    if (flagged) this.stage[at] = (this.stage[at] as number) | META_DATA_FOLLOWS_FLAG;
    this.putInt(r.value.byteLength);
    this.putBytes(r.value);
  }

  private room(n: number): void {
    if (this.staged + n > this.stage.byteLength) this.drain();
  }

  private putShort(v: number): void {
    this.room(2);
    this.stageView.setUint16(this.staged, v & 0xffff);
    this.staged += 2;
  }

  private putInt(v: number): void {
    this.room(4);
    this.stageView.setInt32(this.staged, v);
    this.staged += 4;
  }

  /** Stages `b` whole (so a flag can still be set on its first byte); returns its index in the stage. */
  private putBytes(b: Uint8Array): number {
    if (b.byteLength > this.stage.byteLength) {
      this.drain();
      this.stage = new Uint8Array(b.byteLength);
      this.stageView = new DataView(this.stage.buffer);
    }
    this.room(b.byteLength);
    const at = this.staged;
    this.stage.set(b, at);
    this.staged += b.byteLength;
    return at;
  }

  /**
   * Moves the staged bytes into the key group's Snappy stream, or to the output: a stage at least half
   * full is output as it is (a fresh stage replaces it), a smaller one copied out.
   */
  private drain(): void {
    if (this.staged === 0) return;
    if (this.snappy) {
      const bytes = this.stage.slice(0, this.staged);
      this.staged = 0;
      const before = this.snappy.encodedLength;
      this.snappy.write(bytes);
      if (this.snappy.encodedLength !== before) this.emit(this.snappy.take());
    } else if (2 * this.staged >= this.stage.byteLength) {
      this.emit(this.stage.subarray(0, this.staged));
      this.staged = 0;
      this.stage = new Uint8Array(Math.max(PLAIN_STAGE_SIZE, this.stage.byteLength));
      this.stageView = new DataView(this.stage.buffer);
    } else {
      this.emit(this.stage.slice(0, this.staged));
      this.staged = 0;
    }
  }

  private emit(b: Uint8Array): void {
    if (b.byteLength === 0) return;
    this.parts.push(b);
    this.pending += b.byteLength;
    this.written += b.byteLength;
  }
}

/**
 * Encodes a whole canonical key-groups file in memory (tests and small states).
 * @throws as {@link CanonicalKeyGroupsWriter.add}.
 */
export function encodeCanonicalKeyGroups(
  options: CanonicalWriterOptions,
  records: Iterable<CanonicalRecord>,
): CanonicalWriteResult & { bytes: Uint8Array } {
  const w = new CanonicalKeyGroupsWriter(options);
  for (const r of records) w.add(r);
  const result = w.finish();
  return { ...result, bytes: w.take() };
}
