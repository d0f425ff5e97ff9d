/**
 * A small, strict, bounded walker for one Java serialization stream (`ObjectOutputStream`). It reads
 * the V4+ `CheckpointProperties` trailer of `_metadata` and the Java-serialized objects inside type
 * serializer snapshots (the `LogicalType`s of Flink's Table/SQL serializers, written by
 * `InstantiationUtil.serializeObject`). It follows the grammar of the Java Object Serialization
 * Specification, chapter 6 ("Object Serialization Stream Protocol"): `AC ED 00 05`, then one content
 * element.
 *
 * Supported: `TC_NULL`, `TC_REFERENCE`, `TC_CLASSDESC`, `TC_PROXYCLASSDESC`, `TC_OBJECT` (default
 * field data, `writeObject` annotations, block-data externalizables), `TC_STRING`, `TC_LONGSTRING`,
 * `TC_ENUM`, `TC_ARRAY`, `TC_CLASS`, `TC_BLOCKDATA(LONG)` in annotations, `TC_RESET`. Refused:
 * `TC_EXCEPTION`, protocol-1 externalizable data (not self-delimiting), anything else. What a class's
 * `writeObject` wrote after its fields (e.g. the elements of a `java.util.ArrayList`) is kept, in
 * order, as the object's {@link JavaAnnotation}s.
 *
 * Nothing is instantiated and no class is looked up: the result is a plain tree of values. Bounds:
 * nesting depth {@link MAX_JAVA_DEPTH}, counts checked against the bytes left, so corrupt input
 * throws {@link JavaStreamError} quickly instead of allocating or looping.
 */

import { type DataInput, decodeModifiedUtf8 } from "../io/data-input.js";

/** Problem found while walking a Java serialization stream; `offset` is relative to its first byte. */
export class JavaStreamError extends Error {
  constructor(
    message: string,
    readonly offset: number,
    /** True when the stream ended before the object did (more bytes might complete it). */
    readonly truncated = false,
  ) {
    super(message);
    this.name = "JavaStreamError";
  }
}

/** Maximum nesting of objects/arrays/annotations the walker follows. */
export const MAX_JAVA_DEPTH = 32;

/** `java.io.ObjectStreamConstants` values used here. */
export const TC = {
  NULL: 0x70,
  REFERENCE: 0x71,
  CLASSDESC: 0x72,
  OBJECT: 0x73,
  STRING: 0x74,
  ARRAY: 0x75,
  CLASS: 0x76,
  BLOCKDATA: 0x77,
  ENDBLOCKDATA: 0x78,
  RESET: 0x79,
  BLOCKDATALONG: 0x7a,
  EXCEPTION: 0x7b,
  LONGSTRING: 0x7c,
  PROXYCLASSDESC: 0x7d,
  ENUM: 0x7e,
} as const;

const SC_WRITE_METHOD = 0x01;
const SC_SERIALIZABLE = 0x02;
const SC_EXTERNALIZABLE = 0x04;
const SC_BLOCK_DATA = 0x08;
const BASE_WIRE_HANDLE = 0x7e0000;

/** A field of a class descriptor: type code (`B C D F I J S Z [ L`), name, and class name for objects. */
export interface JavaFieldDesc {
  typeCode: string;
  name: string;
  /** JVM type signature for object/array fields, e.g. `Ljava/lang/String;`. */
  className: string | null;
}

/** A class descriptor (`ObjectStreamClass`) as written in the stream. */
export interface JavaClassDesc {
  kind: "classDesc";
  name: string;
  serialVersionUID: bigint;
  flags: number;
  fields: JavaFieldDesc[];
  superClass: JavaClassDesc | null;
}

/**
 * What one class's `writeObject` (or an externalizable's `writeExternal`) wrote after its default
 * fields: objects and block data (raw bytes written with `writeInt`, `writeUTF`...), in order.
 */
export interface JavaAnnotation {
  className: string;
  contents: (JavaValue | Uint8Array)[];
}

/** A deserialized object: its class descriptor and its field values (most-derived class wins). */
export interface JavaObject {
  kind: "object";
  classDesc: JavaClassDesc;
  fields: Map<string, JavaValue>;
  /** The `writeObject` / `writeExternal` data of the classes in its hierarchy, superclass first. */
  annotations: JavaAnnotation[];
}

/** An enum constant. */
export interface JavaEnum {
  kind: "enum";
  classDesc: JavaClassDesc;
  constant: string;
}

/** An array (elements as values). */
export interface JavaArray {
  kind: "array";
  classDesc: JavaClassDesc;
  elements: JavaValue[];
}

/** A `Class` object. */
export interface JavaClassRef {
  kind: "class";
  classDesc: JavaClassDesc | null;
}

/** Any value the walker returns; primitives map to boolean/number/bigint (long)/string (char as string). */
export type JavaValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | JavaObject
  | JavaEnum
  | JavaArray
  | JavaClassRef
  | JavaClassDesc;

/**
 * Walks `AC ED 00 05` plus exactly one content element from the start of `bytes`.
 * @returns the value and the number of bytes it took (the caller decides what trailing bytes mean).
 * @throws JavaStreamError on any malformed, truncated, unsupported or over-deep input.
 */
export function readJavaSerializedObject(bytes: Uint8Array): { value: JavaValue; length: number } {
  const r = new Walker(bytes);
  r.header();
  const value = r.object(0);
  return { value, length: r.pos };
}

/**
 * Reads one Java serialization stream (`InstantiationUtil.serializeObject`: its own `AC ED 00 05`
 * header, one object) at the position of `input`, and moves past it.
 *
 * @param what names the object in error messages.
 * @returns the walked value and its bytes.
 * @throws CorruptSnapshotError naming the file and the byte offset of the problem (a streaming input
 *   first asks for more bytes when the object runs past the buffered ones).
 */
export function readJavaObject(input: DataInput, what: string): { value: JavaValue; bytes: Uint8Array } {
  const start = input.position;
  const available = input.bytes.subarray(start);
  try {
    const { value, length } = readJavaSerializedObject(available);
    const bytes = input.readFully(length, what);
    return { value, bytes };
  } catch (e) {
    if (!(e instanceof JavaStreamError)) throw e;
    if (e.truncated) input.require(available.byteLength + 1, what);
    throw input.corrupt(`${what}: ${e.message}`, start + e.offset);
  }
}

class Walker {
  pos = 0;
  private handles: unknown[] = [];
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(message: string, at = this.pos): never {
    throw new JavaStreamError(message, at);
  }

  need(n: number, what: string): void {
    if (n > this.bytes.byteLength - this.pos)
      throw new JavaStreamError(
        `unexpected end of Java serialization stream reading ${what}`,
        this.pos,
        true,
      );
  }

  u8(): number {
    this.need(1, "byte");
    return this.view.getUint8(this.pos++);
  }

  i8(): number {
    this.need(1, "byte");
    return this.view.getInt8(this.pos++);
  }

  u16(): number {
    this.need(2, "short");
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  i16(): number {
    this.need(2, "short");
    const v = this.view.getInt16(this.pos);
    this.pos += 2;
    return v;
  }

  i32(): number {
    this.need(4, "int");
    const v = this.view.getInt32(this.pos);
    this.pos += 4;
    return v;
  }

  i64(): bigint {
    this.need(8, "long");
    const v = this.view.getBigInt64(this.pos);
    this.pos += 8;
    return v;
  }

  f32(): number {
    this.need(4, "float");
    const v = this.view.getFloat32(this.pos);
    this.pos += 4;
    return v;
  }

  f64(): number {
    this.need(8, "double");
    const v = this.view.getFloat64(this.pos);
    this.pos += 8;
    return v;
  }

  skip(n: number, what: string): void {
    this.need(n, what);
    this.pos += n;
  }

  utf(len: number): string {
    const at = this.pos;
    this.need(len, "string");
    const s = decodeModifiedUtf8(
      this.bytes.subarray(this.pos, this.pos + len),
      (m, i) => new JavaStreamError(m, at + i),
    );
    this.pos += len;
    return s;
  }

  header(): void {
    if (this.u16() !== 0xaced) this.fail("not a Java serialization stream (magic is not AC ED)", 0);
    const v = this.u16();
    if (v !== 5) this.fail(`unsupported Java serialization stream version ${v}`, 2);
  }

  newHandle(value: unknown): number {
    this.handles.push(value);
    return this.handles.length - 1;
  }

  setHandle(h: number, value: unknown): void {
    this.handles[h] = value;
  }

  reference(): unknown {
    const at = this.pos;
    const h = this.i32() - BASE_WIRE_HANDLE;
    if (h < 0 || h >= this.handles.length)
      this.fail(`invalid back reference to handle ${h + BASE_WIRE_HANDLE}`, at);
    return this.handles[h];
  }

  checkDepth(depth: number): void {
    if (depth > MAX_JAVA_DEPTH) this.fail(`Java objects nested deeper than ${MAX_JAVA_DEPTH} levels`);
  }

  /** `object` production (also accepts TC_RESET before it). */
  object(depth: number): JavaValue {
    this.checkDepth(depth);
    for (;;) {
      const at = this.pos;
      const tc = this.u8();
      switch (tc) {
        case TC.NULL:
          return null;
        case TC.REFERENCE:
          return this.reference() as JavaValue;
        case TC.CLASSDESC:
        case TC.PROXYCLASSDESC:
          this.pos = at;
          return this.classDesc(depth);
        case TC.OBJECT:
          return this.newObject(depth);
        case TC.STRING:
          return this.newString(false);
        case TC.LONGSTRING:
          return this.newString(true);
        case TC.ENUM:
          return this.newEnum(depth);
        case TC.ARRAY:
          return this.newArray(depth);
        case TC.CLASS: {
          const desc = this.classDesc(depth + 1);
          const ref: JavaClassRef = { kind: "class", classDesc: desc };
          this.newHandle(ref);
          return ref;
        }
        case TC.RESET:
          this.handles = [];
          continue;
        case TC.EXCEPTION:
          return this.fail("the stream holds a serialized exception (TC_EXCEPTION)", at);
        default:
          return this.fail(`unexpected type code 0x${tc.toString(16)}`, at);
      }
    }
  }

  newString(long: boolean): string {
    let len: number;
    if (long) {
      const at = this.pos;
      const l = this.i64();
      if (l < 0n || l > BigInt(this.bytes.byteLength - this.pos))
        this.fail(`invalid long string length ${l}`, at);
      len = Number(l);
    } else {
      len = this.u16();
    }
    const h = this.newHandle(null);
    const s = this.utf(len);
    this.setHandle(h, s);
    return s;
  }

  /** `classDesc` production: new descriptor, proxy descriptor, null or back reference. */
  classDesc(depth: number): JavaClassDesc | null {
    this.checkDepth(depth);
    const at = this.pos;
    const tc = this.u8();
    if (tc === TC.NULL) return null;
    if (tc === TC.REFERENCE) {
      const v = this.reference();
      if (!v || (v as { kind?: unknown }).kind !== "classDesc")
        this.fail("back reference is not a class descriptor", at);
      return v as JavaClassDesc;
    }
    if (tc === TC.CLASSDESC) {
      const name = this.utf(this.u16());
      const serialVersionUID = this.i64();
      const desc: JavaClassDesc = {
        kind: "classDesc",
        name,
        serialVersionUID,
        flags: 0,
        fields: [],
        superClass: null,
      };
      this.newHandle(desc);
      desc.flags = this.u8();
      const n = this.i16();
      if (n < 0 || n * 3 > this.bytes.byteLength - this.pos)
        this.fail(`invalid field count ${n}`, this.pos - 2);
      for (let i = 0; i < n; i++) desc.fields.push(this.fieldDesc(depth));
      this.annotation(depth + 1);
      desc.superClass = this.classDesc(depth + 1);
      return desc;
    }
    if (tc === TC.PROXYCLASSDESC) {
      const desc: JavaClassDesc = {
        kind: "classDesc",
        name: "<proxy>",
        serialVersionUID: 0n,
        flags: SC_SERIALIZABLE,
        fields: [],
        superClass: null,
      };
      this.newHandle(desc);
      const n = this.i32();
      if (n < 0 || n * 2 > this.bytes.byteLength - this.pos)
        this.fail(`invalid proxy interface count ${n}`, this.pos - 4);
      for (let i = 0; i < n; i++) this.utf(this.u16());
      this.annotation(depth + 1);
      desc.superClass = this.classDesc(depth + 1);
      return desc;
    }
    return this.fail(`expected a class descriptor, found type code 0x${tc.toString(16)}`, at);
  }

  fieldDesc(depth: number): JavaFieldDesc {
    const at = this.pos;
    const typeCode = String.fromCharCode(this.u8());
    const name = this.utf(this.u16());
    if ("BCDFIJSZ".includes(typeCode)) return { typeCode, name, className: null };
    if (typeCode === "[" || typeCode === "L") {
      const cn = this.object(depth + 1);
      if (typeof cn !== "string") this.fail(`field ${name}: class name is not a string`, at);
      return { typeCode, name, className: cn };
    }
    return this.fail(`invalid field type code ${JSON.stringify(typeCode)}`, at);
  }

  /** `classAnnotation` / `objectAnnotation`: contents up to TC_ENDBLOCKDATA, in order. */
  annotation(depth: number): (JavaValue | Uint8Array)[] {
    this.checkDepth(depth);
    const contents: (JavaValue | Uint8Array)[] = [];
    for (;;) {
      const at = this.pos;
      const tc = this.u8();
      if (tc === TC.ENDBLOCKDATA) return contents;
      if (tc === TC.BLOCKDATA) {
        contents.push(this.block(this.u8()));
      } else if (tc === TC.BLOCKDATALONG) {
        const n = this.i32();
        if (n < 0) this.fail(`negative block data length ${n}`, at + 1);
        contents.push(this.block(n));
      } else {
        this.pos = at;
        contents.push(this.object(depth + 1));
      }
    }
  }

  block(n: number): Uint8Array {
    this.need(n, "block data");
    const b = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  newObject(depth: number): JavaObject {
    const desc = this.classDesc(depth + 1);
    if (desc === null) this.fail("object without a class descriptor");
    const obj: JavaObject = { kind: "object", classDesc: desc, fields: new Map(), annotations: [] };
    this.newHandle(obj);
    // class data from the topmost superclass down to the object's class
    const chain: JavaClassDesc[] = [];
    for (let c: JavaClassDesc | null = desc; c !== null; c = c.superClass) {
      if (chain.length > MAX_JAVA_DEPTH) this.fail("class hierarchy too deep");
      chain.unshift(c);
    }
    for (const c of chain) {
      if (c.flags & SC_EXTERNALIZABLE) {
        if (!(c.flags & SC_BLOCK_DATA))
          this.fail(`externalizable class ${c.name} without block data is not supported`);
        obj.annotations.push({ className: c.name, contents: this.annotation(depth + 1) });
        continue;
      }
      if (!(c.flags & SC_SERIALIZABLE)) continue;
      for (const f of c.fields) obj.fields.set(f.name, this.fieldValue(f.typeCode, depth));
      if (c.flags & SC_WRITE_METHOD)
        obj.annotations.push({ className: c.name, contents: this.annotation(depth + 1) });
    }
    return obj;
  }

  fieldValue(typeCode: string, depth: number): JavaValue {
    switch (typeCode) {
      case "B":
        return this.i8();
      case "C":
        return String.fromCharCode(this.u16());
      case "D":
        return this.f64();
      case "F":
        return this.f32();
      case "I":
        return this.i32();
      case "J":
        return this.i64();
      case "S":
        return this.i16();
      case "Z": {
        const at = this.pos;
        const b = this.u8();
        if (b > 1) this.fail(`boolean field holds ${b}`, at);
        return b === 1;
      }
      default:
        return this.object(depth + 1);
    }
  }

  newEnum(depth: number): JavaEnum {
    const desc = this.classDesc(depth + 1);
    if (desc === null) this.fail("enum without a class descriptor");
    const h = this.newHandle(null);
    const at = this.pos;
    const name = this.object(depth + 1);
    if (typeof name !== "string") this.fail("enum constant name is not a string", at);
    const e: JavaEnum = { kind: "enum", classDesc: desc, constant: name };
    this.setHandle(h, e);
    return e;
  }

  newArray(depth: number): JavaArray {
    const desc = this.classDesc(depth + 1);
    if (desc === null || !desc.name.startsWith("[")) this.fail("array without an array class descriptor");
    const arr: JavaArray = { kind: "array", classDesc: desc, elements: [] };
    this.newHandle(arr);
    const at = this.pos;
    const n = this.i32();
    const elem = desc.name.charAt(1);
    const size = { B: 1, Z: 1, C: 2, S: 2, I: 4, F: 4, J: 8, D: 8 }[elem] ?? 1;
    if (n < 0 || n > Math.floor((this.bytes.byteLength - this.pos) / size))
      this.fail(`invalid array length ${n}`, at);
    for (let i = 0; i < n; i++)
      arr.elements.push(this.fieldValue(elem === "[" || elem === "L" ? "L" : elem, depth));
    return arr;
  }
}
