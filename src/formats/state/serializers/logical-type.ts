/**
 * Flink's Table/SQL `LogicalType`s as the Table runtime serializer snapshots store them: Java-serialized
 * objects (`InstantiationUtil.serializeObject`) of the classes in
 * `org.apache.flink.table.types.logical` (`IntType`, `VarCharType`, `DecimalType`, `RowType`, ...),
 * turned into a plain model from the tree our Java serialization walker (`../../java/stream.ts`)
 * gives.
 *
 * Every `LogicalType` carries the fields of its base class, `isNullable` and `typeRoot` (a
 * `LogicalTypeRoot` enum); the subclasses add their parameters under their own field names
 * (`length`, `precision`, `scale`, `elementType`, `keyType`, `valueType`, `fields` of `RowField`s,
 * `clazz` of `RawType`...). The model keeps what reading values needs.
 */

import type { JavaArray, JavaObject, JavaValue } from "../../java/stream.js";

/** One field of a `RowType` (`RowType.RowField`) or attribute of a `StructuredType`. */
export interface LogicalField {
  name: string;
  type: LogicalType;
  description: string | null;
}

/**
 * A logical type. `root` is Flink's `LogicalTypeRoot` name (`INTEGER`, `VARCHAR`, `DECIMAL`,
 * `TIMESTAMP_WITHOUT_TIME_ZONE`, `ROW`, ...); the optional members are set for the roots that have
 * them.
 */
export interface LogicalType {
  root: string;
  nullable: boolean;
  /** The Java class, e.g. `org.apache.flink.table.types.logical.IntType`. */
  className: string;
  /** CHAR, VARCHAR, BINARY, VARBINARY: the declared length. */
  length?: number;
  /** DECIMAL, TIME, TIMESTAMP*: the precision (fractional digits for times and timestamps). */
  precision?: number;
  /** DECIMAL: the scale. */
  scale?: number;
  /** ARRAY, MULTISET. */
  elementType?: LogicalType;
  /** MAP. */
  keyType?: LogicalType;
  /** MAP. */
  valueType?: LogicalType;
  /** ROW (fields) and STRUCTURED_TYPE (attributes), in order. */
  fields?: LogicalField[];
  /** RAW: the originating Java class (`RawType.getOriginatingClass()`), when stored. */
  rawClass?: string;
  /** DISTINCT_TYPE: the source type. */
  sourceType?: LogicalType;
}

/** Thrown for a Java object that is not a LogicalType savepoint-kit can read. */
export class LogicalTypeError extends Error {}

const LOGICAL = "org.apache.flink.table.types.logical.";

function isObject(v: JavaValue | undefined): v is JavaObject {
  return v !== null && typeof v === "object" && (v as { kind?: string }).kind === "object";
}

function field(o: JavaObject, name: string): JavaValue | undefined {
  return o.fields.get(name);
}

function intField(o: JavaObject, name: string): number {
  const v = field(o, name);
  if (typeof v !== "number") throw new LogicalTypeError(`${o.classDesc.name}.${name} is not an int`);
  return v;
}

/**
 * The elements of a serialized `java.util.List`: `ArrayList` and `LinkedList` (elements in their
 * `writeObject` data), the `Collections.unmodifiable*` / `synchronized*` wrappers (field `list` or
 * `c`), `Arrays.asList` (field `a`) and the `List.of` lists (`CollSer`, externalizable).
 *
 * @throws LogicalTypeError for anything else.
 */
export function javaListElements(v: JavaValue): JavaValue[] {
  if (!isObject(v)) throw new LogicalTypeError("expected a java.util.List object");
  for (const inner of ["list", "c"]) {
    const x = field(v, inner);
    if (isObject(x)) return javaListElements(x);
  }
  const a = field(v, "a");
  if (a && typeof a === "object" && (a as JavaArray).kind === "array") return (a as JavaArray).elements;
  const name = v.classDesc.name;
  if (
    name === "java.util.ArrayList" ||
    name === "java.util.LinkedList" ||
    name === "java.util.CollSer" ||
    name === "java.util.Vector"
  ) {
    const out: JavaValue[] = [];
    for (const ann of v.annotations)
      for (const c of ann.contents) if (!(c instanceof Uint8Array)) out.push(c);
    return out;
  }
  throw new LogicalTypeError(`cannot read the elements of a serialized ${name}`);
}

/**
 * The model of one Java-serialized `LogicalType`.
 * @throws LogicalTypeError when the value is not a LogicalType object or a parameter is missing.
 */
export function logicalTypeFromJava(v: JavaValue, depth = 0): LogicalType {
  if (depth > 64) throw new LogicalTypeError("logical types nested deeper than 64 levels");
  if (!isObject(v)) throw new LogicalTypeError("expected a LogicalType object");
  const className = v.classDesc.name;
  const rootValue = field(v, "typeRoot");
  const nullable = field(v, "isNullable");
  if (
    !rootValue ||
    typeof rootValue !== "object" ||
    (rootValue as { kind?: string }).kind !== "enum" ||
    typeof nullable !== "boolean"
  ) {
    throw new LogicalTypeError(`${className} is not a LogicalType (no typeRoot/isNullable)`);
  }
  const root = (rootValue as { constant: string }).constant;
  const t: LogicalType = { root, nullable, className };
  const child = (name: string): LogicalType => {
    const x = field(v, name);
    if (x === undefined) throw new LogicalTypeError(`${className} has no field ${name}`);
    return logicalTypeFromJava(x, depth + 1);
  };
  switch (root) {
    case "CHAR":
    case "VARCHAR":
    case "BINARY":
    case "VARBINARY":
      t.length = intField(v, "length");
      break;
    case "DECIMAL":
      t.precision = intField(v, "precision");
      t.scale = intField(v, "scale");
      break;
    case "TIME_WITHOUT_TIME_ZONE":
    case "TIMESTAMP_WITHOUT_TIME_ZONE":
    case "TIMESTAMP_WITH_TIME_ZONE":
    case "TIMESTAMP_WITH_LOCAL_TIME_ZONE":
      t.precision = intField(v, "precision");
      break;
    case "ARRAY":
    case "MULTISET":
      t.elementType = child("elementType");
      break;
    case "MAP":
      t.keyType = child("keyType");
      t.valueType = child("valueType");
      break;
    case "ROW":
    case "STRUCTURED_TYPE": {
      const list = field(v, root === "ROW" ? "fields" : "attributes");
      if (list === undefined) throw new LogicalTypeError(`${className} has no field list`);
      t.fields = javaListElements(list).map((f) => {
        if (!isObject(f)) throw new LogicalTypeError(`${className}: a field is not an object`);
        const name = field(f, "name");
        const description = field(f, "description") ?? null;
        const type = field(f, "type");
        if (typeof name !== "string" || type === undefined)
          throw new LogicalTypeError(`${className}: field without name or type`);
        return {
          name,
          type: logicalTypeFromJava(type, depth + 1),
          description: typeof description === "string" ? description : null,
        };
      });
      break;
    }
    case "DISTINCT_TYPE":
      t.sourceType = child("sourceType");
      break;
    case "RAW": {
      const clazz = field(v, "clazz");
      const desc = clazz && typeof clazz === "object" && "classDesc" in clazz ? clazz.classDesc : null;
      if (desc && typeof desc === "object" && "name" in desc) t.rawClass = desc.name;
      break;
    }
    default:
      break;
  }
  return t;
}

const MAX_LENGTH = 2147483647;

/**
 * A short SQL-like text of a type, in the manner of Flink's `asSummaryString()`: `INT`, `STRING`
 * (VARCHAR of maximum length), `BYTES`, `DECIMAL(10, 2)`, `TIMESTAMP(3)`, `TIMESTAMP_LTZ(6)`,
 * `ARRAY<INT>`, `MAP<STRING, BIGINT>`, ``ROW<`name` STRING>``, `RAW('java.lang.String', ...)`,
 * with ` NOT NULL` for non-nullable types.
 */
export function logicalTypeString(t: LogicalType): string {
  return base(t) + (t.nullable ? "" : " NOT NULL");
}

function base(t: LogicalType): string {
  switch (t.root) {
    case "INTEGER":
      return "INT";
    case "CHAR":
    case "BINARY":
      return `${t.root}(${t.length})`;
    case "VARCHAR":
      return t.length === MAX_LENGTH ? "STRING" : `VARCHAR(${t.length})`;
    case "VARBINARY":
      return t.length === MAX_LENGTH ? "BYTES" : `VARBINARY(${t.length})`;
    case "DECIMAL":
      return `DECIMAL(${t.precision}, ${t.scale})`;
    case "TIME_WITHOUT_TIME_ZONE":
      return `TIME(${t.precision})`;
    case "TIMESTAMP_WITHOUT_TIME_ZONE":
      return `TIMESTAMP(${t.precision})`;
    case "TIMESTAMP_WITH_TIME_ZONE":
      return `TIMESTAMP(${t.precision}) WITH TIME ZONE`;
    case "TIMESTAMP_WITH_LOCAL_TIME_ZONE":
      return `TIMESTAMP_LTZ(${t.precision})`;
    case "INTERVAL_YEAR_MONTH":
      return "INTERVAL YEAR TO MONTH";
    case "INTERVAL_DAY_TIME":
      return "INTERVAL DAY TO SECOND";
    case "ARRAY":
    case "MULTISET":
      return `${t.root}<${logicalTypeString(t.elementType as LogicalType)}>`;
    case "MAP":
      return `MAP<${logicalTypeString(t.keyType as LogicalType)}, ${logicalTypeString(t.valueType as LogicalType)}>`;
    case "ROW":
      return `ROW<${(t.fields ?? []).map((f) => `\`${f.name}\` ${logicalTypeString(f.type)}`).join(", ")}>`;
    case "STRUCTURED_TYPE":
      return `STRUCTURED<${(t.fields ?? []).map((f) => `\`${f.name}\` ${logicalTypeString(f.type)}`).join(", ")}>`;
    case "DISTINCT_TYPE":
      return `DISTINCT<${logicalTypeString(t.sourceType as LogicalType)}>`;
    case "RAW":
      return `RAW('${t.rawClass ?? "?"}', ...)`;
    default:
      return t.className.startsWith(LOGICAL) ? t.root : `${t.root} (${t.className})`;
  }
}
