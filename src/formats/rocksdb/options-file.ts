/**
 * RocksDB's `OPTIONS-<number>` files: the options a database was last opened with, in an INI-like
 * text format (`options/options_parser.cc` `RocksDBOptionsParser::Parse`; the format is described
 * in `examples/rocksdb_option_file_example.ini`).
 *
 * ```
 * # comment
 * [Version]
 *   rocksdb_version=8.10.0
 *   options_file_version=1.1
 * [DBOptions]
 *   key=value
 * [CFOptions "name"]
 *   merge_operator={id=StringAppendTESTOperator;delimiter=,;}     (RocksDB 7+; 6.x: the bare name)
 *   compression=kSnappyCompression
 * [TableOptions/BlockBasedTable "name"]
 *   checksum=kXXH3
 *   format_version=5
 * ```
 *
 * Values are kept as written (with `\` escapes removed outside braces); structured values
 * (`{k=v;...}`) can be parsed with {@link parseOptionStruct}.
 */

import { type ByteOrigin, corrupt, utf8String } from "./coding.js";

/** The options of one column family. */
export interface ColumnFamilyOptionsSection {
  name: string;
  /** `[CFOptions "name"]`, keys in file order. */
  options: Map<string, string>;
  /** `[TableOptions/<factory> "name"]`: the table factory (e.g. "BlockBasedTable") and its options. */
  table: { factory: string; options: Map<string, string> } | null;
}

/** A parsed OPTIONS file. */
export interface OptionsFile {
  /** `[Version]` rocksdb_version, e.g. "8.10.0". */
  rocksdbVersion: string | null;
  /** `[Version]` options_file_version, e.g. "1.1". */
  optionsFileVersion: string | null;
  /** `[DBOptions]`. */
  db: Map<string, string>;
  /** Column families in file order. */
  columnFamilies: ColumnFamilyOptionsSection[];
}

/** What Flink's snapshots need to know about a column family's options. */
export interface ColumnFamilyOptionsSummary {
  name: string;
  /** Merge operator name: "StringAppendTESTOperator" for Flink ("nullptr" / null when none). */
  mergeOperator: string | null;
  /** The merge operator's delimiter option, when stated (RocksDB 7+ files). */
  mergeDelimiter: string | null;
  /** `compression`, e.g. "kSnappyCompression". */
  compression: string | null;
  /** `bottommost_compression`, e.g. "kDisableCompressionOption". */
  bottommostCompression: string | null;
  /** `compression_per_level`, e.g. "kSnappyCompression:kLZ4Compression" ("" when not set). */
  compressionPerLevel: string | null;
  /** `comparator`, e.g. "leveldb.BytewiseComparator". */
  comparator: string | null;
  /** Table factory, e.g. "BlockBasedTable". */
  tableFactory: string | null;
  /** Block-based table `checksum`, e.g. "kCRC32c", "kXXH3". */
  checksum: string | null;
  /** Block-based table `format_version`. */
  formatVersion: number | null;
  /** Block-based table `index_type`, e.g. "kBinarySearch". */
  indexType: string | null;
  /** Block-based table `block_size` in bytes. */
  blockSize: number | null;
}

/**
 * Parses an OPTIONS file.
 * @throws CorruptSnapshotError (line's byte offset) for lines that are neither a section, an
 *   assignment, a comment nor blank.
 */
export function parseOptionsFile(bytes: Uint8Array, origin: ByteOrigin): OptionsFile {
  const o: ByteOrigin = { ...origin, label: origin.label ?? "OPTIONS file" };
  const text = utf8String(bytes);
  const out: OptionsFile = {
    rocksdbVersion: null,
    optionsFileVersion: null,
    db: new Map(),
    columnFamilies: [],
  };
  let section: Map<string, string> | null = null;
  let offset = 0;
  const byName = new Map<string, ColumnFamilyOptionsSection>();
  const cf = (name: string) => {
    let s = byName.get(name);
    if (!s) {
      s = { name, options: new Map(), table: null };
      byName.set(name, s);
      out.columnFamilies.push(s);
    }
    return s;
  };
  const version = new Map<string, string>();
  for (const rawLine of text.split("\n")) {
    const lineOffset = offset;
    offset += Buffer.byteLength(rawLine, "utf8") + 1;
    const line = stripComment(rawLine).trim();
    if (line === "") continue;
    const sec = /^\[([^\]"]+?)(?:\s+"((?:[^"\\]|\\.)*)")?\]$/.exec(line);
    if (sec) {
      const kind = sec[1] as string;
      const name = sec[2] === undefined ? null : unescapeOption(sec[2]);
      if (kind === "Version") section = version;
      else if (kind === "DBOptions") section = out.db;
      else if (kind === "CFOptions" && name !== null) section = cf(name).options;
      else if (kind.startsWith("TableOptions/") && name !== null) {
        const s = cf(name);
        s.table = { factory: kind.slice("TableOptions/".length), options: new Map() };
        section = s.table.options;
      } else section = new Map(); // unknown sections are read and ignored
      continue;
    }
    const eq = line.indexOf("=");
    if (eq <= 0 || section === null) {
      throw corrupt(
        `not an option line: ${JSON.stringify(line.slice(0, 80))}`,
        o,
        (origin.baseOffset ?? 0) + lineOffset,
      );
    }
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    section.set(key, value.startsWith("{") ? value : unescapeOption(value));
  }
  out.rocksdbVersion = version.get("rocksdb_version") ?? null;
  out.optionsFileVersion = version.get("options_file_version") ?? null;
  return out;
}

/** Removes a `#` comment that is not escaped and not inside braces. */
function stripComment(line: string): string {
  let depth = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === "\\") i++;
    else if (c === "{") depth++;
    else if (c === "}") depth--;
    else if (c === "#" && depth <= 0) return line.slice(0, i);
  }
  return line;
}

/** `UnescapeOptionString`: drops the backslash of `\x` escapes. */
function unescapeOption(s: string): string {
  return s.replace(/\\(.)/g, "$1");
}

/** A structured option value: `{a=1;b={c=2;};}` as nested maps. */
export type OptionValue = string | Map<string, OptionValue>;

/**
 * Parses a structured option value (`{key=value;key={...};}`) into nested maps; a plain value
 * comes back unchanged.
 */
export function parseOptionStruct(value: string): OptionValue {
  const s = value.trim();
  if (!s.startsWith("{")) return s;
  let i = 1;
  const parse = (): Map<string, OptionValue> => {
    const m = new Map<string, OptionValue>();
    while (i < s.length) {
      while (s[i] === ";" || s[i] === " ") i++;
      if (s[i] === "}") {
        i++;
        return m;
      }
      const eq = s.indexOf("=", i);
      if (eq < 0) break;
      const key = s.slice(i, eq).trim();
      i = eq + 1;
      if (s[i] === "{") {
        i++;
        m.set(key, parse());
      } else {
        let v = "";
        while (i < s.length && s[i] !== ";" && s[i] !== "}") {
          if (s[i] === "\\" && i + 1 < s.length) i++;
          v += s[i];
          i++;
        }
        m.set(key, v);
      }
    }
    return m;
  };
  return parse();
}

/** The options Flink's RocksDB snapshots depend on, for one column family of an OPTIONS file. */
export function summarizeColumnFamilyOptions(cf: ColumnFamilyOptionsSection): ColumnFamilyOptionsSummary {
  const get = (k: string) => cf.options.get(k) ?? null;
  const table = (k: string) => cf.table?.options.get(k) ?? null;
  let mergeOperator = get("merge_operator");
  let mergeDelimiter: string | null = null;
  if (mergeOperator?.startsWith("{")) {
    const m = parseOptionStruct(mergeOperator);
    if (m instanceof Map) {
      const id = m.get("id");
      mergeOperator = typeof id === "string" ? id : null;
      const d = m.get("delimiter");
      mergeDelimiter = typeof d === "string" ? d : null;
    }
  }
  const fv = table("format_version");
  const bs = table("block_size");
  return {
    name: cf.name,
    mergeOperator,
    mergeDelimiter,
    compression: get("compression"),
    bottommostCompression: get("bottommost_compression"),
    compressionPerLevel: get("compression_per_level"),
    comparator: get("comparator"),
    tableFactory: cf.table?.factory ?? null,
    checksum: table("checksum"),
    formatVersion: fv === null ? null : Number(fv),
    indexType: table("index_type"),
    blockSize: bs === null ? null : Number(bs),
  };
}
