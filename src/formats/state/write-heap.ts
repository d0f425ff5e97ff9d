/**
 * Writing heap native key-groups files (the hashmap backend's checkpoints and native savepoints), and
 * turning canonical records into their entries: the writing half of converting a canonical savepoint
 * into a native hashmap one.
 *
 * The layout, as Flink's `HeapSnapshotStrategy` writes it and `HeapRestoreOperation` reads it
 * (`StateTableByKeyGroupReaders`, `KeyGroupPartitioner`):
 *
 * ```
 * KeyedBackendSerializationProxy header                              (never compressed)
 * per key group of the range, EVERY one, ascending; offset[kg] = file position here:
 *   i32 keyGroup                                                     (never compressed)
 *   per state of the header (each section a fresh Snappy framed stream when compressed):
 *     i16 kvStateId, i32 count,
 *     count x (namespace, key, state value)   key/value states (whole ListSerializer / MapSerializer values)
 *     count x element                         priority queue states (TimerSerializer bytes)
 * ```
 *
 * Flink reads exactly one section per state of the header in every key group, in any order (it reads
 * the state id of each), so every key group must hold a section for every state, empty or not.
 */

import { InvalidArgumentError } from "../../errors.js";
import { DataInput } from "../io/data-input.js";
import { DataOutput } from "../io/data-output.js";
import type { KeyGroupRange } from "../metadata/model.js";
import { type CanonicalRecord, LIST_DELIMITER } from "./canonical-writer.js";
import { type KeyedBackendHeader, writeKeyedBackendHeader } from "./headers.js";
import { type KeyedStateInfo, keyedStates } from "./keyed.js";
import { serializerOf } from "./serializers/snapshots.js";
import { type TypeSerializer, UnsupportedSerializerError } from "./serializers/types.js";
import { concatBytes, SnappyFramedWriter, type SnappyWriterOptions } from "./snappy.js";

/** The entries of one state in one key group, each already serialized as the heap layout has it. */
export interface HeapStateSection {
  stateId: number;
  /** `namespace + key + state value` bytes per entry (key/value states) or element bytes (timers). */
  entries: readonly Uint8Array[];
}

/** Options of {@link HeapKeyGroupsWriter}. */
export interface HeapWriterOptions {
  /** The header to write; its `compressed` flag decides Snappy per (key group, state). */
  header: KeyedBackendHeader;
  /** The key groups of the subtask: every one of them is written. */
  keyGroupRange: KeyGroupRange;
  /** Snappy writer settings (default Flink's). */
  snappy?: SnappyWriterOptions;
}

/** What {@link HeapKeyGroupsWriter.finish} reports. */
export interface HeapWriteResult {
  /** One offset per key group of the range (all non-zero). */
  offsets: bigint[];
  /** Bytes written in total: the file's size. */
  size: number;
  headerSize: number;
  /** Entries written (map states count one per key and namespace, timers one each). */
  entries: number;
}

/**
 * A streaming writer of one heap native key-groups file, mirroring `HeapSnapshotStrategy.asyncSnapshot`.
 * Key groups come in ascending order through {@link writeKeyGroup}; key groups that are skipped (and
 * those after the last one, at {@link finish}) are written with every state empty, as Flink does.
 */
export class HeapKeyGroupsWriter {
  private readonly parts: Uint8Array[] = [];
  private pending = 0;
  private written = 0;
  private readonly offsets: bigint[];
  private readonly headerSize: number;
  private nextKeyGroup: number;
  private entries = 0;
  private finished = false;

  constructor(private readonly options: HeapWriterOptions) {
    const r = options.keyGroupRange;
    if (!(Number.isInteger(r.start) && Number.isInteger(r.end) && r.start >= 0 && r.end >= r.start - 1)) {
      throw new InvalidArgumentError(`bad key-group range ${r.start}-${r.end}`);
    }
    this.offsets = new Array<bigint>(Math.max(0, r.end - r.start + 1)).fill(0n);
    this.nextKeyGroup = r.start;
    const out = new DataOutput(1024);
    writeKeyedBackendHeader(out, options.header);
    this.emit(out.toBytes());
    this.headerSize = this.written;
  }

  /** Bytes produced so far (the file position). */
  get position(): number {
    return this.written;
  }

  /** Bytes produced and not yet {@link take}n. */
  get buffered(): number {
    return this.pending;
  }

  /**
   * Writes key group `keyGroup` (and, empty, any key group before it not yet written). States without a
   * section get an empty one.
   * @throws InvalidArgumentError for a key group outside the range or not after the last one written,
   *   an unknown state id, or a state given twice.
   */
  writeKeyGroup(keyGroup: number, sections: readonly HeapStateSection[]): void {
    if (this.finished) throw new InvalidArgumentError("heap writer already finished");
    const r = this.options.keyGroupRange;
    if (!Number.isInteger(keyGroup) || keyGroup < r.start || keyGroup > r.end) {
      throw new InvalidArgumentError(`key group ${keyGroup} outside the range ${r.start}-${r.end}`);
    }
    if (keyGroup < this.nextKeyGroup) {
      throw new InvalidArgumentError(
        `key group ${keyGroup} written after key group ${this.nextKeyGroup - 1}`,
      );
    }
    const n = this.options.header.states.length;
    const byState = new Map<number, readonly Uint8Array[]>();
    for (const s of sections) {
      if (!Number.isInteger(s.stateId) || s.stateId < 0 || s.stateId >= n) {
        throw new InvalidArgumentError(`state id ${s.stateId}, but the header has ${n} states`);
      }
      if (byState.has(s.stateId))
        throw new InvalidArgumentError(`state id ${s.stateId} given twice for key group ${keyGroup}`);
      byState.set(s.stateId, s.entries);
    }
    while (this.nextKeyGroup < keyGroup) this.writeOne(this.nextKeyGroup, new Map());
    this.writeOne(keyGroup, byState);
  }

  /** Writes the key groups not written yet (empty). @returns the offsets and sizes. */
  finish(): HeapWriteResult {
    if (!this.finished) {
      while (this.nextKeyGroup <= this.options.keyGroupRange.end) this.writeOne(this.nextKeyGroup, new Map());
      this.finished = true;
    }
    return {
      offsets: [...this.offsets],
      size: this.written,
      headerSize: this.headerSize,
      entries: this.entries,
    };
  }

  /** Returns (and forgets) the bytes produced so far. */
  take(): Uint8Array {
    const out = concatBytes(this.parts);
    this.parts.length = 0;
    this.pending = 0;
    return out;
  }

  private writeOne(keyGroup: number, byState: Map<number, readonly Uint8Array[]>): void {
    this.offsets[keyGroup - this.options.keyGroupRange.start] = BigInt(this.written);
    this.emit(new DataOutput(4).writeInt(keyGroup).toBytes());
    const n = this.options.header.states.length;
    for (let stateId = 0; stateId < n; stateId++) {
      const entries = byState.get(stateId) ?? [];
      const head = new DataOutput(6).writeShort(stateId).writeInt(entries.length).toBytes();
      this.entries += entries.length;
      if (this.options.header.compressed) {
        const z = new SnappyFramedWriter(this.options.snappy);
        z.write(head);
        for (const e of entries) z.write(e);
        this.emit(z.close());
      } else {
        this.emit(head);
        for (const e of entries) this.emit(e);
      }
    }
    this.nextKeyGroup = keyGroup + 1;
  }

  private emit(b: Uint8Array): void {
    if (b.byteLength === 0) return;
    this.parts.push(b);
    this.pending += b.byteLength;
    this.written += b.byteLength;
  }
}

/** How canonical keys of a header split into their parts. */
export interface HeapKeyLayout {
  prefixBytes: 1 | 2;
  key: TypeSerializer;
  states: KeyedStateInfo[];
}

/**
 * The key layout of a header's states for {@link canonicalToHeapSections}.
 * @param maxParallelism the operator's max parallelism (decides the key-group prefix width).
 */
export function heapKeyLayout(header: KeyedBackendHeader, maxParallelism: number): HeapKeyLayout {
  return {
    prefixBytes: maxParallelism > 128 ? 2 : 1,
    key: serializerOf(header.keySerializer),
    states: keyedStates(header),
  };
}

/**
 * Checks that every state of a header can be turned from canonical records into heap entries: keys
 * and namespaces (and list elements) must be delimited by their serializers, since the canonical key
 * holds them back to back without lengths.
 * @returns one line per state that cannot, naming it and the reason; empty when all can.
 */
export function canonicalToHeapProblems(header: KeyedBackendHeader): string[] {
  const layout = heapKeyLayout(header, 128);
  const out: string[] = [];
  for (const s of layout.states) {
    const p = problemOf(s, layout.key);
    if (p) out.push(`state ${JSON.stringify(s.name)}: ${p}`);
  }
  return out;
}

function problemOf(s: KeyedStateInfo, key: TypeSerializer): string | null {
  if (s.unsupported) return s.unsupported;
  if (s.kind === "unknown") return `keyed state type ${s.keyedStateType ?? "?"} is not known`;
  if (s.kind === "timers") return s.value ? null : "no timer serializer";
  if (key.opaque) return `the key serializer (${key.type}) does not delimit its values`;
  if (!s.namespace) return "no namespace serializer";
  if (s.namespace.opaque) return `the namespace serializer (${s.namespace.type}) does not delimit its values`;
  if (s.kind === "list" && (!s.element || s.element.opaque)) {
    return `the list element serializer (${s.element?.type ?? "none"}) does not delimit its values`;
  }
  return null;
}

/** Skips a length marker after `length` bytes (`CompositeKeySerializationUtils.readVariableIntBytes`). */
function skipMarker(i: DataInput, length: number): void {
  let v = length;
  do {
    i.readUnsignedByte();
    v >>>= 8;
  } while (v !== 0);
}

/**
 * The heap sections of one key group from its canonical records (all of them; any order of states).
 * Values become `namespace + key + value` entries, lists `namespace + key + (i32 count, elements)`, map
 * rows of the same key and namespace one `namespace + key + MapSerializer` entry (in order of first
 * appearance), timers their element bytes.
 *
 * @throws UnsupportedSerializerError for a state with records that {@link canonicalToHeapProblems}
 *   names; CorruptSnapshotError (from the decoders) for keys that do not split as the serializers say,
 *   or a list value that is not `,`-delimited elements; InvalidArgumentError for a record of another
 *   key group.
 */
export function canonicalToHeapSections(
  keyGroup: number,
  records: readonly CanonicalRecord[],
  layout: HeapKeyLayout,
  uri = "<canonical>",
): HeapStateSection[] {
  const byState = new Map<
    number,
    { entries: Uint8Array[]; maps: Map<string, { head: Uint8Array; rows: Uint8Array[] }> }
  >();
  for (const r of records) {
    if (r.keyGroup !== keyGroup) {
      throw new InvalidArgumentError(
        `record of key group ${r.keyGroup} among those of key group ${keyGroup}`,
      );
    }
    const s = layout.states[r.stateId];
    if (!s)
      throw new InvalidArgumentError(
        `state id ${r.stateId}, but the header has ${layout.states.length} states`,
      );
    const problem = problemOf(s, layout.key);
    if (problem) {
      throw new UnsupportedSerializerError(`state ${s.name}: ${problem}; its entries cannot be converted`, {
        uri,
        offset: 0,
        className: s.meta.serializers.map((x) => x.snapshot.className).join(", "),
      });
    }
    let acc = byState.get(r.stateId);
    if (!acc) {
      acc = { entries: [], maps: new Map() };
      byState.set(r.stateId, acc);
    }
    const k = new DataInput(r.key, uri);
    const prefix = layout.prefixBytes === 1 ? k.readUnsignedByte() : k.readUnsignedShort();
    if (prefix !== keyGroup)
      throw k.corrupt(`key-group prefix ${prefix} in a record of key group ${keyGroup}`, 0);
    if (s.kind === "timers") {
      acc.entries.push(r.key.slice(layout.prefixBytes));
      continue;
    }
    const ns = s.namespace as TypeSerializer;
    const ambiguous = layout.key.length < 0 && ns.length < 0;
    const keyStart = k.position;
    k.within("key", () => layout.key.read(k));
    const keyBytes = r.key.subarray(keyStart, k.position);
    if (ambiguous) skipMarker(k, keyBytes.byteLength);
    const nsStart = k.position;
    k.within("namespace", () => ns.read(k));
    const nsBytes = r.key.subarray(nsStart, k.position);
    if (ambiguous) skipMarker(k, nsBytes.byteLength);
    const head = concatBytes([nsBytes, keyBytes]);
    if (s.kind === "map") {
      const userKey = r.key.subarray(k.position);
      const group = Buffer.from(r.key.buffer, r.key.byteOffset, k.position).toString("latin1");
      let m = acc.maps.get(group);
      if (!m) {
        m = { head, rows: [] };
        acc.maps.set(group, m);
      }
      if (r.value.byteLength < 1)
        throw new DataInput(r.value, uri).corrupt("map value without its null flag", 0);
      const isNull = r.value[0] !== 0;
      m.rows.push(userKey, isNull ? Uint8Array.of(1) : r.value);
      continue;
    }
    if (!k.atEnd) throw k.corrupt(`${k.remaining} bytes after the namespace of a ${s.kind} state key`);
    if (s.kind === "list") {
      const element = s.element as TypeSerializer;
      const v = new DataInput(r.value, uri);
      const elements: Uint8Array[] = [];
      while (!v.atEnd) {
        if (elements.length > 0) {
          const at = v.position;
          const d = v.readUnsignedByte();
          if (d !== LIST_DELIMITER) throw v.corrupt(`list delimiter 0x${d.toString(16)}, expected ','`, at);
        }
        const start = v.position;
        v.within("list element", () => element.read(v));
        elements.push(r.value.subarray(start, v.position));
      }
      const count = new DataOutput(4).writeInt(elements.length).toBytes();
      acc.entries.push(concatBytes([head, count, ...elements]));
      continue;
    }
    acc.entries.push(concatBytes([head, r.value]));
  }
  const sections: HeapStateSection[] = [];
  for (const [stateId, acc] of [...byState.entries()].sort((a, b) => a[0] - b[0])) {
    const entries = [...acc.entries];
    for (const m of acc.maps.values()) {
      const count = new DataOutput(4).writeInt(m.rows.length / 2).toBytes();
      entries.push(concatBytes([m.head, count, ...m.rows]));
    }
    sections.push({ stateId, entries });
  }
  return sections;
}
