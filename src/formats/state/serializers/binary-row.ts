/**
 * Flink's binary Table/SQL data formats, read by logical type: `BinaryRowData`, `BinaryArrayData`,
 * `BinaryMapData` (module `flink-table-common`, `org.apache.flink.table.data.binary`), as
 * `BinaryRowWriter` / `BinaryArrayWriter` (`AbstractBinaryWriter`) write them and
 * `BinarySegmentUtils` reads them.
 *
 * Flink writes these through `MemorySegment` in the machine's byte order; every platform Flink runs
 * on is little-endian (`BinaryRowData.LITTLE_ENDIAN`), so multi-byte values here are little-endian,
 * unlike the big-endian `DataOutputView` framing around them.
 *
 * ```
 * BinaryRowData   : header + null bits, padded to 8-byte words: ((arity + 63 + 8) / 64) * 8 bytes;
 *                   bit 0-7 = the RowKind byte, bit 8 + i = field i is null (bit k of byte k/8, LSB first)
 *                   then 8 bytes per field, then the variable-length part (8-byte aligned pieces)
 * fixed slot      : BOOLEAN, TINYINT, SMALLINT, INT/DATE/TIME/INTERVAL YEAR TO MONTH, BIGINT/INTERVAL DAY
 *                   TO SECOND, FLOAT, DOUBLE in place; DECIMAL with precision <= 18 as the unscaled i64;
 *                   TIMESTAMP(_LTZ) with precision <= 3 as epoch millis;
 *                   otherwise (offset << 32 | size), offset relative to the row (array, map) start:
 *                   - strings and binaries up to 7 bytes inline: byte 7 = 0x80 | length, bytes 0-6 data
 *                   - wide DECIMAL: size bytes of the unscaled BigInteger (big-endian two's complement)
 *                   - wide TIMESTAMP: i64 millis at offset, the low 32 bits are the nano of millisecond
 *                   - ARRAY, MAP/MULTISET, ROW (a nested BinaryRowData), RAW (the inner serializer's bytes)
 * BinaryArrayData : i32 element count, null bits padded to 4-byte words (4 + ((n + 31) / 32) * 4 bytes
 *                   in all), n slots of 1 (BOOLEAN, TINYINT), 2 (SMALLINT), 4 (INT, FLOAT, DATE, TIME,
 *                   INTERVAL YEAR TO MONTH) or 8 bytes, then the variable-length part
 * BinaryMapData   : i32 byte size of the key array, key BinaryArrayData, value BinaryArrayData
 * ```
 *
 * Values decode to {@link StateValue}s: rows as `{kind, fields: {name: value}}` (fields of a row type
 * without names are `f0`, `f1`, ...), BIGINT as `bigint`, DECIMAL as its plain decimal string,
 * TIMESTAMP(_LTZ) as `{millisecond: bigint, nanoOfMillisecond}`, DATE as days since the epoch, TIME as
 * milliseconds of the day, BINARY/VARBINARY as bytes, ARRAY as a list, MAP and MULTISET as lists of
 * `{key, value}` (a multiset's value is the element's count), RAW as `{class, base64}`.
 */

import type { LogicalType } from "./logical-type.js";
import type { StateValue } from "./types.js";
import { ROW_KINDS } from "./values.js";

/** Reports a problem at a byte offset relative to the start of the outermost binary value. */
export type BinaryFail = (message: string, offset: number) => never;

/** `DecimalData.MAX_COMPACT_PRECISION`: decimals up to this precision are stored as an unscaled long. */
export const MAX_COMPACT_DECIMAL_PRECISION = 18;
/** `TimestampData.isCompact`: timestamps up to this precision are stored as epoch millis. */
export const MAX_COMPACT_TIMESTAMP_PRECISION = 3;

const utf8 = new TextDecoder("utf-8");

/** `BinaryRowData.calculateBitSetWidthInBytes`. */
export function rowNullBitsBytes(arity: number): number {
  return Math.floor((arity + 63 + 8) / 64) * 8;
}

/** `BinaryArrayData.calculateHeaderInBytes`. */
export function arrayHeaderBytes(count: number): number {
  return 4 + Math.floor((count + 31) / 32) * 4;
}

/**
 * `BinaryArrayData.calculateFixLengthPartSize`: the slot width of an element type.
 * @throws Error for types Flink cannot put in an array (NULL, SYMBOL, TIMESTAMP WITH TIME ZONE...).
 */
export function arraySlotBytes(t: LogicalType): number {
  switch (t.root) {
    case "BOOLEAN":
    case "TINYINT":
      return 1;
    case "SMALLINT":
      return 2;
    case "INTEGER":
    case "FLOAT":
    case "DATE":
    case "TIME_WITHOUT_TIME_ZONE":
    case "INTERVAL_YEAR_MONTH":
      return 4;
    case "DISTINCT_TYPE":
      return arraySlotBytes(t.sourceType as LogicalType);
    case "TIMESTAMP_WITH_TIME_ZONE":
    case "NULL":
    case "SYMBOL":
    case "UNRESOLVED":
    case "DESCRIPTOR":
      throw new Error(`no binary array layout for ${t.root}`);
    default:
      return 8;
  }
}

/** A decimal string from an unscaled integer and a scale (`BigDecimal.toPlainString`). */
export function decimalString(unscaled: bigint, scale: number): string {
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString();
  if (scale <= 0) return (negative ? "-" : "") + digits + "0".repeat(-scale);
  const padded = digits.padStart(scale + 1, "0");
  const cut = padded.length - scale;
  return `${negative ? "-" : ""}${padded.slice(0, cut)}.${padded.slice(cut)}`;
}

/** The value of big-endian two's-complement bytes (`new BigInteger(byte[])`). */
export function bigIntegerFromBytes(b: Uint8Array): bigint {
  if (b.length === 0) return 0n;
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return (b[0] as number) & 0x80 ? v - (1n << BigInt(b.length * 8)) : v;
}

/** Field names of a row type: its own, or `f0`, `f1`, ... */
export function rowFieldNames(types: readonly LogicalType[], names?: readonly string[]): string[] {
  return types.map((_, k) => names?.[k] ?? `f${k}`);
}

/** Reader over one binary value (the bytes of one serialized row, array, map...). */
export class BinaryReader {
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    private readonly fail: BinaryFail,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private check(offset: number, n: number, what: string): void {
    if (offset < 0 || n < 0 || offset + n > this.bytes.byteLength) {
      this.fail(
        `${what}: ${n} bytes at offset ${offset} are outside the ${this.bytes.byteLength} bytes of the binary value`,
        Math.max(0, Math.min(offset, this.bytes.byteLength)),
      );
    }
  }

  private bit(base: number, index: number): boolean {
    return ((this.bytes[base + (index >>> 3)] as number) & (1 << (index & 7))) !== 0;
  }

  /**
   * A `BinaryRowData` of `types` at `[start, start + size)`.
   * @param names the field names (a RowType's), or none for `f0`, `f1`, ...
   */
  row(start: number, size: number, types: readonly LogicalType[], names?: readonly string[]): StateValue {
    const arity = types.length;
    const nullBytes = rowNullBitsBytes(arity);
    const fixed = nullBytes + 8 * arity;
    this.check(start, size, "binary row");
    if (size < fixed) this.fail(`binary row of ${arity} fields needs ${fixed} bytes, has ${size}`, start);
    const kindByte = this.bytes[start] as number;
    const kind = ROW_KINDS[kindByte];
    if (kind === undefined) this.fail(`binary row: RowKind byte ${kindByte} is not 0-3`, start);
    const fields: { [name: string]: StateValue } = {};
    const keys = rowFieldNames(types, names);
    types.forEach((t, i) => {
      // As RowData.createFieldGetter: the null bit of a NOT NULL field is not consulted.
      fields[keys[i] as string] =
        t.nullable && this.bit(start, i + 8)
          ? null
          : this.slot(start, start + nullBytes + 8 * i, start + size, t);
    });
    return { kind: kind as string, fields };
  }

  /** A `BinaryArrayData` of `element` at `[start, start + size)`. */
  array(start: number, size: number, element: LogicalType): StateValue[] {
    this.check(start, size, "binary array");
    if (size < 4) this.fail(`binary array of ${size} bytes has no element count`, start);
    const count = this.view.getInt32(start, true);
    const width = this.slotWidth(element, start);
    const header = count >= 0 ? arrayHeaderBytes(count) : 0;
    if (count < 0 || header + count * width > size) {
      this.fail(`binary array: ${count} elements of ${width} bytes do not fit in ${size} bytes`, start);
    }
    const out: StateValue[] = [];
    for (let i = 0; i < count; i++) {
      out.push(
        // As ArrayData.createElementGetter: the null bit of a NOT NULL element type is not consulted.
        element.nullable && this.bit(start + 4, i)
          ? null
          : this.slot(start, start + header + i * width, start + size, element),
      );
    }
    return out;
  }

  /** A `BinaryMapData` at `[start, start + size)`: a list of `{key, value}`. */
  map(start: number, size: number, keyType: LogicalType, valueType: LogicalType): StateValue[] {
    this.check(start, size, "binary map");
    if (size < 4) this.fail(`binary map of ${size} bytes has no key array size`, start);
    const keyBytes = this.view.getInt32(start, true);
    if (keyBytes < 0 || keyBytes > size - 4)
      this.fail(`binary map: key array of ${keyBytes} bytes in a map of ${size} bytes`, start);
    const keys = this.array(start + 4, keyBytes, keyType);
    const values = this.array(start + 4 + keyBytes, size - 4 - keyBytes, valueType);
    if (keys.length !== values.length)
      this.fail(`binary map: ${keys.length} keys but ${values.length} values`, start);
    return keys.map((key, k) => ({ key, value: values[k] as StateValue }));
  }

  private slotWidth(t: LogicalType, at: number): number {
    try {
      return arraySlotBytes(t);
    } catch (e) {
      return this.fail((e as Error).message, at);
    }
  }

  /** The (offset, size) pair of a variable-length slot, checked against the enclosing value. */
  private pointer(base: number, slot: number, end: number, what: string): { start: number; size: number } {
    const size = this.view.getInt32(slot, true);
    const offset = this.view.getInt32(slot + 4, true);
    const start = base + offset;
    if (offset < 0 || size < 0 || start + size > end) {
      this.fail(`${what}: offset ${offset} and size ${size} point outside the enclosing value`, slot);
    }
    return { start, size };
  }

  /** Bytes of a string or binary slot: inline when the mark bit is set, else (offset, size). */
  private bytesAt(base: number, slot: number, end: number, what: string): Uint8Array {
    const mark = this.bytes[slot + 7] as number;
    if (mark & 0x80) {
      const len = mark & 0x7f;
      if (len > 7) this.fail(`${what}: inline length ${len} is more than 7`, slot);
      return this.bytes.subarray(slot, slot + len);
    }
    const { start, size } = this.pointer(base, slot, end, what);
    return this.bytes.subarray(start, start + size);
  }

  /** One field (row) or element (array) slot of type `t`; `base` is the row's or array's start. */
  slot(base: number, slot: number, end: number, t: LogicalType): StateValue {
    switch (t.root) {
      case "BOOLEAN":
        return this.bytes[slot] !== 0;
      case "TINYINT":
        return this.view.getInt8(slot);
      case "SMALLINT":
        return this.view.getInt16(slot, true);
      case "INTEGER":
      case "DATE":
      case "TIME_WITHOUT_TIME_ZONE":
      case "INTERVAL_YEAR_MONTH":
        return this.view.getInt32(slot, true);
      case "BIGINT":
      case "INTERVAL_DAY_TIME":
        return this.view.getBigInt64(slot, true);
      case "FLOAT":
        return floatValue(this.view.getFloat32(slot, true));
      case "DOUBLE":
        return floatValue(this.view.getFloat64(slot, true));
      case "CHAR":
      case "VARCHAR":
        return utf8.decode(this.bytesAt(base, slot, end, t.root));
      case "BINARY":
      case "VARBINARY":
        return new Uint8Array(this.bytesAt(base, slot, end, t.root));
      case "DECIMAL": {
        const precision = t.precision ?? 38;
        const scale = t.scale ?? 0;
        if (precision <= MAX_COMPACT_DECIMAL_PRECISION)
          return decimalString(this.view.getBigInt64(slot, true), scale);
        const { start, size } = this.pointer(base, slot, end, "DECIMAL");
        if (size > 16) this.fail(`DECIMAL of ${size} bytes (at most 16)`, slot);
        return decimalString(bigIntegerFromBytes(this.bytes.subarray(start, start + size)), scale);
      }
      case "TIMESTAMP_WITHOUT_TIME_ZONE":
      case "TIMESTAMP_WITH_LOCAL_TIME_ZONE": {
        if ((t.precision ?? 6) <= MAX_COMPACT_TIMESTAMP_PRECISION)
          return { millisecond: this.view.getBigInt64(slot, true), nanoOfMillisecond: 0 };
        const nanos = this.view.getInt32(slot, true);
        const offset = this.view.getInt32(slot + 4, true);
        const at = base + offset;
        if (offset < 0 || at + 8 > end)
          this.fail(`TIMESTAMP: offset ${offset} points outside the value`, slot);
        if (nanos < 0 || nanos > 999_999) this.fail(`TIMESTAMP: nano of millisecond ${nanos}`, slot);
        return { millisecond: this.view.getBigInt64(at, true), nanoOfMillisecond: nanos };
      }
      case "ARRAY": {
        const { start, size } = this.pointer(base, slot, end, "ARRAY");
        return this.array(start, size, t.elementType as LogicalType);
      }
      case "MAP": {
        const { start, size } = this.pointer(base, slot, end, "MAP");
        return this.map(start, size, t.keyType as LogicalType, t.valueType as LogicalType);
      }
      case "MULTISET": {
        const { start, size } = this.pointer(base, slot, end, "MULTISET");
        return this.map(start, size, t.elementType as LogicalType, INT_NOT_NULL);
      }
      case "ROW":
      case "STRUCTURED_TYPE": {
        const { start, size } = this.pointer(base, slot, end, t.root);
        const fields = t.fields ?? [];
        return this.row(
          start,
          size,
          fields.map((f) => f.type),
          fields.map((f) => f.name),
        );
      }
      case "RAW": {
        const { start, size } = this.pointer(base, slot, end, "RAW");
        return {
          class: t.rawClass ?? "?",
          base64: Buffer.from(this.bytes.subarray(start, start + size)).toString("base64"),
        };
      }
      case "DISTINCT_TYPE":
        return this.slot(base, slot, end, t.sourceType as LogicalType);
      default:
        return this.fail(`values of logical type ${t.root} (${t.className}) cannot be read`, slot);
    }
  }
}

const INT_NOT_NULL: LogicalType = {
  root: "INTEGER",
  nullable: false,
  className: "org.apache.flink.table.types.logical.IntType",
};

function floatValue(x: number): StateValue {
  if (Number.isNaN(x)) return "NaN";
  if (x === Number.POSITIVE_INFINITY) return "Infinity";
  if (x === Number.NEGATIVE_INFINITY) return "-Infinity";
  return x;
}

// ---------------------------------------------------------------------------------------------------
// Writing: BinaryRowWriter / BinaryArrayWriter (AbstractBinaryWriter)

const utf8Encoder = new TextEncoder();

/** `AbstractBinaryWriter.roundNumberOfBytesToNearestWord`. */
function roundToWord(n: number): number {
  return (n + 7) & ~7;
}

/** Minimal big-endian two's-complement bytes of a value (`BigInteger.toByteArray`). */
export function bigIntegerToBytes(v: bigint): Uint8Array {
  let n = 1;
  while (v < -(1n << BigInt(8 * n - 1)) || v >= 1n << BigInt(8 * n - 1)) n++;
  const out = new Uint8Array(n);
  let x = BigInt.asUintN(8 * n, v);
  for (let k = n - 1; k >= 0; k--) {
    out[k] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

/** The unscaled value of a decimal string at `scale` (`DecimalData.fromBigDecimal`, exact only). */
export function unscaledDecimal(s: string, scale: number, fail: (m: string) => never): bigint {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(s.trim());
  if (!m || (m[2] === "" && (m[3] ?? "") === "")) return fail(`${JSON.stringify(s)} is not a decimal`);
  const frac = m[3] ?? "";
  if (frac.length > scale && /[1-9]/.test(frac.slice(scale)))
    return fail(`decimal ${s} has more than ${scale} fractional digits`);
  const digits = `${m[2]}${frac.slice(0, scale).padEnd(scale, "0")}`;
  const v = BigInt(digits === "" ? "0" : digits);
  return m[1] === "-" ? -v : v;
}

/** A growable little-endian buffer with a cursor, as `AbstractBinaryWriter`'s segment. */
class Segment {
  bytes: Uint8Array;
  view: DataView;
  cursor: number;

  constructor(fixed: number) {
    this.bytes = new Uint8Array(Math.max(fixed, 64));
    this.view = new DataView(this.bytes.buffer);
    this.cursor = fixed;
  }

  ensure(extra: number): void {
    const need = this.cursor + extra;
    if (need <= this.bytes.length) return;
    const next = new Uint8Array(Math.max(need, this.bytes.length * 2));
    next.set(this.bytes);
    this.bytes = next;
    this.view = new DataView(next.buffer);
  }

  /** Appends a variable-length piece (8-byte aligned) and returns (offset << 32 | size) parts. */
  append(piece: Uint8Array): { offset: number; size: number } {
    const rounded = roundToWord(piece.length);
    this.ensure(rounded);
    const offset = this.cursor;
    this.bytes.set(piece, offset);
    this.cursor += rounded;
    return { offset, size: piece.length };
  }

  done(): Uint8Array {
    return this.bytes.slice(0, this.cursor);
  }
}

/** Encodes values into Flink's binary formats; `fail` reports values of the wrong shape. */
export class BinaryWriter {
  constructor(private readonly fail: (message: string) => never) {}

  private object(v: StateValue, what: string): { [k: string]: StateValue } {
    if (v === null || typeof v !== "object" || Array.isArray(v) || v instanceof Uint8Array)
      return this.fail(`${what}: expected an object`);
    return v as { [k: string]: StateValue };
  }

  private list(v: StateValue, what: string): StateValue[] {
    if (!Array.isArray(v)) return this.fail(`${what}: expected a list`);
    return v;
  }

  /** A `BinaryRowData` (`BinaryRowWriter`) of `{kind, fields}`. */
  row(v: StateValue, types: readonly LogicalType[], names?: readonly string[]): Uint8Array {
    const r = this.object(v, "row");
    const kind = ROW_KINDS.indexOf((r.kind ?? "INSERT") as (typeof ROW_KINDS)[number]);
    if (kind < 0) this.fail(`row kind ${String(r.kind)}`);
    const fields = this.object(r.fields ?? null, "row fields");
    const nullBytes = rowNullBitsBytes(types.length);
    const seg = new Segment(nullBytes + 8 * types.length);
    seg.bytes[0] = kind;
    const keys = rowFieldNames(types, names);
    types.forEach((t, i) => {
      const x = fields[keys[i] as string] ?? null;
      if (x === null) {
        const bit = i + 8;
        seg.bytes[bit >>> 3] = (seg.bytes[bit >>> 3] as number) | (1 << (bit & 7));
      } else this.slot(seg, nullBytes + 8 * i, t, x);
    });
    return seg.done();
  }

  /** A `BinaryArrayData` (`BinaryArrayWriter`). */
  array(v: StateValue, element: LogicalType): Uint8Array {
    const a = this.list(v, "array");
    let width: number;
    try {
      width = arraySlotBytes(element);
    } catch (e) {
      return this.fail((e as Error).message);
    }
    const header = arrayHeaderBytes(a.length);
    const seg = new Segment(roundToWord(header + width * a.length));
    seg.view.setInt32(0, a.length, true);
    a.forEach((x, i) => {
      if (x === null) seg.bytes[4 + (i >>> 3)] = (seg.bytes[4 + (i >>> 3)] as number) | (1 << (i & 7));
      else this.slot(seg, header + width * i, element, x);
    });
    return seg.done();
  }

  /** A `BinaryMapData` of a list of `{key, value}`. */
  map(v: StateValue, keyType: LogicalType, valueType: LogicalType): Uint8Array {
    const entries = this.list(v, "map").map((e) => this.object(e, "map entry"));
    const keys = this.array(
      entries.map((e) => e.key ?? null),
      keyType,
    );
    const values = this.array(
      entries.map((e) => e.value ?? null),
      valueType,
    );
    const out = new Uint8Array(4 + keys.length + values.length);
    new DataView(out.buffer).setInt32(0, keys.length, true);
    out.set(keys, 4);
    out.set(values, 4 + keys.length);
    return out;
  }

  private pointer(seg: Segment, slot: number, piece: Uint8Array): void {
    const { offset, size } = seg.append(piece);
    seg.view.setInt32(slot, size, true);
    seg.view.setInt32(slot + 4, offset, true);
  }

  private bytesSlot(seg: Segment, slot: number, b: Uint8Array): void {
    if (b.length <= 7) {
      seg.bytes.set(b, slot);
      seg.bytes[slot + 7] = 0x80 | b.length;
    } else this.pointer(seg, slot, b);
  }

  private number(v: StateValue, what: string): number {
    if (typeof v === "number") return v;
    if (v === "NaN") return Number.NaN;
    if (v === "Infinity") return Number.POSITIVE_INFINITY;
    if (v === "-Infinity") return Number.NEGATIVE_INFINITY;
    return this.fail(`${what}: expected a number`);
  }

  private long(v: StateValue, what: string): bigint {
    if (typeof v === "bigint") return v;
    if (typeof v === "number" && Number.isInteger(v)) return BigInt(v);
    if (typeof v === "string" && /^-?\d+$/.test(v)) return BigInt(v);
    return this.fail(`${what}: expected an integer`);
  }

  private slot(seg: Segment, slot: number, t: LogicalType, v: StateValue): void {
    // seg.view changes when the segment grows: fixed slots are written before anything is appended.
    const view = seg.view;
    switch (t.root) {
      case "BOOLEAN":
        if (typeof v !== "boolean") this.fail("BOOLEAN: expected a boolean");
        seg.bytes[slot] = v ? 1 : 0;
        return;
      case "TINYINT":
        view.setInt8(slot, this.number(v, "TINYINT"));
        return;
      case "SMALLINT":
        view.setInt16(slot, this.number(v, "SMALLINT"), true);
        return;
      case "INTEGER":
      case "DATE":
      case "TIME_WITHOUT_TIME_ZONE":
      case "INTERVAL_YEAR_MONTH":
        view.setInt32(slot, this.number(v, t.root), true);
        return;
      case "BIGINT":
      case "INTERVAL_DAY_TIME":
        view.setBigInt64(slot, this.long(v, t.root), true);
        return;
      case "FLOAT":
        view.setFloat32(slot, this.number(v, "FLOAT"), true);
        return;
      case "DOUBLE":
        view.setFloat64(slot, this.number(v, "DOUBLE"), true);
        return;
      case "CHAR":
      case "VARCHAR":
        if (typeof v !== "string") this.fail(`${t.root}: expected a string`);
        this.bytesSlot(seg, slot, utf8Encoder.encode(v));
        return;
      case "BINARY":
      case "VARBINARY":
        if (!(v instanceof Uint8Array)) this.fail(`${t.root}: expected bytes`);
        this.bytesSlot(seg, slot, v);
        return;
      case "DECIMAL": {
        if (typeof v !== "string") this.fail("DECIMAL: expected a decimal string");
        const unscaled = unscaledDecimal(v, t.scale ?? 0, this.fail);
        if ((t.precision ?? 38) <= MAX_COMPACT_DECIMAL_PRECISION) {
          view.setBigInt64(slot, unscaled, true);
          return;
        }
        const b = bigIntegerToBytes(unscaled);
        if (b.length > 16) this.fail(`DECIMAL ${v} does not fit in 16 bytes`);
        const piece = new Uint8Array(16);
        piece.set(b);
        const { offset } = seg.append(piece);
        seg.view.setInt32(slot, b.length, true);
        seg.view.setInt32(slot + 4, offset, true);
        return;
      }
      case "TIMESTAMP_WITHOUT_TIME_ZONE":
      case "TIMESTAMP_WITH_LOCAL_TIME_ZONE": {
        const ts = this.object(v, t.root);
        const millis = this.long(ts.millisecond ?? null, `${t.root} millisecond`);
        const nanos = this.number(ts.nanoOfMillisecond ?? 0, `${t.root} nanoOfMillisecond`);
        if ((t.precision ?? 6) <= MAX_COMPACT_TIMESTAMP_PRECISION) {
          view.setBigInt64(slot, millis, true);
          return;
        }
        const piece = new Uint8Array(8);
        new DataView(piece.buffer).setBigInt64(0, millis, true);
        const { offset } = seg.append(piece);
        seg.view.setInt32(slot, nanos, true);
        seg.view.setInt32(slot + 4, offset, true);
        return;
      }
      case "ARRAY":
        this.pointer(seg, slot, this.array(v, t.elementType as LogicalType));
        return;
      case "MAP":
        this.pointer(seg, slot, this.map(v, t.keyType as LogicalType, t.valueType as LogicalType));
        return;
      case "MULTISET":
        this.pointer(seg, slot, this.map(v, t.elementType as LogicalType, INT_NOT_NULL));
        return;
      case "ROW":
      case "STRUCTURED_TYPE": {
        const fields = t.fields ?? [];
        this.pointer(
          seg,
          slot,
          this.row(
            v,
            fields.map((f) => f.type),
            fields.map((f) => f.name),
          ),
        );
        return;
      }
      case "RAW": {
        const raw = this.object(v, "RAW");
        if (typeof raw.base64 !== "string") this.fail("RAW: expected {class, base64}");
        this.pointer(seg, slot, Buffer.from(raw.base64, "base64"));
        return;
      }
      case "DISTINCT_TYPE":
        this.slot(seg, slot, t.sourceType as LogicalType, v);
        return;
      default:
        this.fail(`values of logical type ${t.root} cannot be written`);
    }
  }
}
