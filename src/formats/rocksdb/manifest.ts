/**
 * RocksDB's MANIFEST (`MANIFEST-<number>`): a log (`./log-reader.ts`) of `VersionEdit` records
 * whose replay gives the live table files of every column family and level; and `CURRENT`, the
 * file naming the live MANIFEST.
 *
 * Mirrors `db/version_edit.h` / `db/version_edit.cc` (`VersionEdit::DecodeFrom`,
 * `DecodeNewFile4From`), `db/version_edit_handler.cc` and `db/version_set.cc` (replay,
 * `VersionSet::Recover`), `db/wal_edit.cc`, `db/blob/blob_file_addition.cc`,
 * `db/blob/blob_file_garbage.cc`.
 *
 * A VersionEdit is a sequence of `varint32 tag, field`:
 *
 * | tag | field |
 * |---|---|
 * | 1 comparator | length-prefixed name |
 * | 2 log number, 3 next file number, 4 last sequence, 9 prev log number, 10 min log to keep | varint64 |
 * | 5 compact cursor | varint32 level, length-prefixed internal key |
 * | 6 deleted file | varint32 level, varint64 file number |
 * | 7 new file | level, number, file size, smallest, largest (internal keys, length-prefixed) |
 * | 100 new file 2 | as 7 + varint64 smallest seqno, largest seqno |
 * | 102 new file 3 | as 100 with varint32 path id after the number |
 * | 103 new file 4 | as 100 + custom fields `varint32 tag, length-prefixed value` until tag 1 |
 * | 200 column family | varint32 id (the edit applies to it; default 0) |
 * | 201 column family add | length-prefixed name | 202 drop | — | 203 max column family | varint32 |
 * | 300 in atomic group | varint32 remaining entries |
 * | 400 blob file addition, 401 blob file garbage | (see the blob sources) |
 * | 8193 db id, 8198 full history ts low, 8201 persist UDT | length-prefixed |
 * | 8196 WAL addition, 8197 WAL deletion | inline; 8199/8200: length-prefixed |
 * | other tags with bit 13 (8192) set | length-prefixed, ignored |
 */

import { UnsupportedVersionError } from "../../errors.js";
import { type ByteOrigin, ByteReader, compareBytes, corrupt, utf8String } from "./coding.js";
import { type InternalKey, parseInternalKey } from "./format.js";
import { type LogReadOptions, readLogRecords } from "./log-reader.js";

/** `VersionEdit` tags (`db/version_edit.h` `Tag`). */
export const EditTag = {
  COMPARATOR: 1,
  LOG_NUMBER: 2,
  NEXT_FILE_NUMBER: 3,
  LAST_SEQUENCE: 4,
  COMPACT_CURSOR: 5,
  DELETED_FILE: 6,
  NEW_FILE: 7,
  PREV_LOG_NUMBER: 9,
  MIN_LOG_NUMBER_TO_KEEP: 10,
  NEW_FILE2: 100,
  NEW_FILE3: 102,
  NEW_FILE4: 103,
  COLUMN_FAMILY: 200,
  COLUMN_FAMILY_ADD: 201,
  COLUMN_FAMILY_DROP: 202,
  MAX_COLUMN_FAMILY: 203,
  IN_ATOMIC_GROUP: 300,
  BLOB_FILE_ADDITION: 400,
  BLOB_FILE_GARBAGE: 401,
  SAFE_IGNORE_MASK: 1 << 13,
  DB_ID: (1 << 13) + 1,
  BLOB_FILE_ADDITION_DEPRECATED: (1 << 13) + 2,
  BLOB_FILE_GARBAGE_DEPRECATED: (1 << 13) + 3,
  WAL_ADDITION: (1 << 13) + 4,
  WAL_DELETION: (1 << 13) + 5,
  FULL_HISTORY_TS_LOW: (1 << 13) + 6,
  WAL_ADDITION2: (1 << 13) + 7,
  WAL_DELETION2: (1 << 13) + 8,
  PERSIST_USER_DEFINED_TIMESTAMPS: (1 << 13) + 9,
} as const;

/** `NewFileCustomTag` of tag 103. */
export const NewFileCustomTag = {
  TERMINATE: 1,
  NEED_COMPACTION: 2,
  MIN_LOG_NUMBER_TO_KEEP_HACK: 3,
  OLDEST_BLOB_FILE_NUMBER: 4,
  OLDEST_ANCESTER_TIME: 5,
  FILE_CREATION_TIME: 6,
  FILE_CHECKSUM: 7,
  FILE_CHECKSUM_FUNC_NAME: 8,
  TEMPERATURE: 9,
  MIN_TIMESTAMP: 10,
  MAX_TIMESTAMP: 11,
  UNIQUE_ID: 12,
  EPOCH_NUMBER: 13,
  COMPENSATED_RANGE_DELETION_SIZE: 14,
  TAIL_SIZE: 15,
  USER_DEFINED_TIMESTAMPS_PERSISTED: 16,
  NON_SAFE_IGNORE_MASK: 1 << 6,
  PATH_ID: (1 << 6) + 1,
} as const;

/** A table file added by an edit (`FileMetaData`, the fields the reader needs). */
export interface FileMetaData {
  level: number;
  /** File number: the table is `<number, 6 digits at least>.sst`. */
  number: number;
  /** `db_paths` index (0 unless several data paths are configured). */
  pathId: number;
  /** File size in bytes. */
  fileSize: number;
  smallest: InternalKey;
  largest: InternalKey;
  smallestSeqno: bigint;
  largestSeqno: bigint;
  /** RocksDB 7.10+: orders L0 files (newest largest); null when not recorded. */
  epochNumber: bigint | null;
  fileCreationTime: bigint | null;
  oldestAncesterTime: bigint | null;
  /** File checksum and its function name, when file checksums are enabled. */
  fileChecksum: Uint8Array | null;
  fileChecksumFuncName: string | null;
  markedForCompaction: boolean;
  oldestBlobFileNumber: bigint | null;
}

/** One decoded `VersionEdit`. Absent fields are undefined. */
export interface VersionEdit {
  /** Offset of the record in the MANIFEST. */
  offset: number;
  comparator?: string;
  logNumber?: bigint;
  prevLogNumber?: bigint;
  nextFileNumber?: bigint;
  lastSequence?: bigint;
  minLogNumberToKeep?: bigint;
  maxColumnFamily?: number;
  /** The column family the edit applies to (0 when not set). */
  columnFamily: number;
  columnFamilyAdd?: string;
  columnFamilyDrop?: boolean;
  /** Remaining edits of an atomic group after this one. */
  remainingInAtomicGroup?: number;
  dbId?: string;
  deletedFiles: { level: number; number: number }[];
  newFiles: FileMetaData[];
  blobFileAdditions: number;
  /** Tags that were skipped (safe-to-ignore tags, WAL and blob bookkeeping). */
  ignoredTags: number[];
}

/** `db/filename.cc` `MakeTableFileName`: `000042.sst`. */
export function tableFileName(number: number): string {
  return `${String(number).padStart(6, "0")}.sst`;
}

/**
 * Decodes one VersionEdit record.
 * @throws CorruptSnapshotError for malformed fields and unknown tags that are not safe to ignore.
 */
export function decodeVersionEdit(payload: Uint8Array, origin: ByteOrigin, offset: number): VersionEdit {
  const o: ByteOrigin = { ...origin, baseOffset: offset, label: origin.label ?? "version edit" };
  const r = new ByteReader(payload, o);
  const edit: VersionEdit = {
    offset,
    columnFamily: 0,
    deletedFiles: [],
    newFiles: [],
    blobFileAdditions: 0,
    ignoredTags: [],
  };
  const level = () => r.varint32("level");
  const ikey = (what: string) => {
    const at = r.pos;
    const k = r.lengthPrefixed(what);
    return parseInternalKey(k, o, r.fileOffset(at));
  };
  const customFieldsUntilEnd = (what: string) => {
    // BlobFileAddition / BlobFileGarbage custom fields: tag 1 ends; bit 6 is forward incompatible.
    for (;;) {
      const t = r.varint32(`${what} custom field tag`);
      if (t === 1) return;
      if (t & (1 << 6)) throw r.corrupt(`${what}: forward-incompatible custom field ${t}`);
      r.lengthPrefixed(`${what} custom field`);
    }
  };
  const walAddition = (rr: ByteReader) => {
    rr.varint64("WAL log number");
    for (;;) {
      const t = rr.varint32("WAL addition tag");
      if (t === 1) return; // kTerminate
      if (t === 2) rr.varint64("WAL synced size");
      else throw rr.corrupt(`unknown WAL addition tag ${t}`);
    }
  };
  while (!r.atEnd) {
    const tagAt = r.pos;
    const tag = r.varint32("tag");
    switch (tag) {
      case EditTag.COMPARATOR:
        edit.comparator = utf8String(r.lengthPrefixed("comparator name"));
        break;
      case EditTag.LOG_NUMBER:
        edit.logNumber = r.varint64("log number");
        break;
      case EditTag.PREV_LOG_NUMBER:
        edit.prevLogNumber = r.varint64("previous log number");
        break;
      case EditTag.NEXT_FILE_NUMBER:
        edit.nextFileNumber = r.varint64("next file number");
        break;
      case EditTag.LAST_SEQUENCE:
        edit.lastSequence = r.varint64("last sequence");
        break;
      case EditTag.MIN_LOG_NUMBER_TO_KEEP:
        edit.minLogNumberToKeep = r.varint64("min log number to keep");
        break;
      case EditTag.MAX_COLUMN_FAMILY:
        edit.maxColumnFamily = r.varint32("max column family");
        break;
      case EditTag.COMPACT_CURSOR:
        level();
        ikey("compact cursor");
        break;
      case EditTag.DELETED_FILE:
        edit.deletedFiles.push({ level: level(), number: r.varint64Number("deleted file number") });
        break;
      case EditTag.NEW_FILE:
      case EditTag.NEW_FILE2:
      case EditTag.NEW_FILE3:
      case EditTag.NEW_FILE4: {
        const lvl = level();
        const number = r.varint64Number("file number");
        const pathId = tag === EditTag.NEW_FILE3 ? r.varint32("path id") : 0;
        const fileSize = r.varint64Number("file size");
        const smallest = ikey("smallest key");
        const largest = ikey("largest key");
        let smallestSeqno = 0n;
        let largestSeqno = (1n << 56n) - 1n;
        if (tag !== EditTag.NEW_FILE) {
          smallestSeqno = r.varint64("smallest seqno");
          largestSeqno = r.varint64("largest seqno");
        }
        const f: FileMetaData = {
          level: lvl,
          number,
          pathId,
          fileSize,
          smallest,
          largest,
          smallestSeqno,
          largestSeqno,
          epochNumber: null,
          fileCreationTime: null,
          oldestAncesterTime: null,
          fileChecksum: null,
          fileChecksumFuncName: null,
          markedForCompaction: false,
          oldestBlobFileNumber: null,
        };
        if (tag === EditTag.NEW_FILE4) {
          for (;;) {
            const ct = r.varint32("new file custom tag");
            if (ct === NewFileCustomTag.TERMINATE) break;
            const field = r.lengthPrefixed("new file custom field");
            const fr = new ByteReader(field, { ...o, label: `new file custom field ${ct}` });
            switch (ct) {
              case NewFileCustomTag.PATH_ID:
                if (field.byteLength !== 1) throw r.corrupt("path id field of wrong size");
                f.pathId = field[0] as number;
                break;
              case NewFileCustomTag.EPOCH_NUMBER:
                f.epochNumber = fr.varint64("epoch number");
                break;
              case NewFileCustomTag.FILE_CREATION_TIME:
                f.fileCreationTime = fr.varint64("file creation time");
                break;
              case NewFileCustomTag.OLDEST_ANCESTER_TIME:
                f.oldestAncesterTime = fr.varint64("oldest ancester time");
                break;
              case NewFileCustomTag.FILE_CHECKSUM:
                f.fileChecksum = field;
                break;
              case NewFileCustomTag.FILE_CHECKSUM_FUNC_NAME:
                f.fileChecksumFuncName = utf8String(field);
                break;
              case NewFileCustomTag.NEED_COMPACTION:
                f.markedForCompaction = field[0] === 1;
                break;
              case NewFileCustomTag.OLDEST_BLOB_FILE_NUMBER:
                f.oldestBlobFileNumber = fr.varint64("oldest blob file number");
                break;
              case NewFileCustomTag.MIN_LOG_NUMBER_TO_KEEP_HACK:
                if (field.byteLength === 8) {
                  edit.minLogNumberToKeep = new DataView(field.buffer, field.byteOffset, 8).getBigUint64(
                    0,
                    true,
                  );
                }
                break;
              default:
                if (ct & NewFileCustomTag.NON_SAFE_IGNORE_MASK) {
                  throw r.corrupt(`new file custom field ${ct} is not supported (not safe to ignore)`);
                }
            }
          }
        }
        edit.newFiles.push(f);
        break;
      }
      case EditTag.COLUMN_FAMILY:
        edit.columnFamily = r.varint32("column family id");
        break;
      case EditTag.COLUMN_FAMILY_ADD:
        edit.columnFamilyAdd = utf8String(r.lengthPrefixed("column family name"));
        break;
      case EditTag.COLUMN_FAMILY_DROP:
        edit.columnFamilyDrop = true;
        break;
      case EditTag.IN_ATOMIC_GROUP:
        edit.remainingInAtomicGroup = r.varint32("remaining entries in atomic group");
        break;
      case EditTag.BLOB_FILE_ADDITION:
      case EditTag.BLOB_FILE_ADDITION_DEPRECATED:
        r.varint64("blob file number");
        r.varint64("total blob count");
        r.varint64("total blob bytes");
        r.lengthPrefixed("checksum method");
        r.lengthPrefixed("checksum value");
        customFieldsUntilEnd("blob file addition");
        edit.blobFileAdditions++;
        edit.ignoredTags.push(tag);
        break;
      case EditTag.BLOB_FILE_GARBAGE:
      case EditTag.BLOB_FILE_GARBAGE_DEPRECATED:
        r.varint64("blob file number");
        r.varint64("garbage blob count");
        r.varint64("garbage blob bytes");
        customFieldsUntilEnd("blob file garbage");
        edit.ignoredTags.push(tag);
        break;
      case EditTag.WAL_ADDITION:
        walAddition(r);
        edit.ignoredTags.push(tag);
        break;
      case EditTag.WAL_DELETION:
        r.varint64("WAL log number");
        edit.ignoredTags.push(tag);
        break;
      case EditTag.DB_ID:
        edit.dbId = utf8String(r.lengthPrefixed("db id"));
        break;
      default:
        if (tag & EditTag.SAFE_IGNORE_MASK) {
          // WAL_ADDITION2, WAL_DELETION2, FULL_HISTORY_TS_LOW, PERSIST_USER_DEFINED_TIMESTAMPS and
          // future tags: a length-prefixed field.
          r.lengthPrefixed(`field of tag ${tag}`);
          edit.ignoredTags.push(tag);
          break;
        }
        throw r.corrupt(`unknown version edit tag ${tag}`, tagAt);
    }
  }
  return edit;
}

/** The live state of one column family after replaying a MANIFEST. */
export interface ColumnFamilyVersion {
  id: number;
  name: string;
  /** Comparator name recorded for the family ("" when none was recorded). */
  comparator: string;
  logNumber: bigint;
  /**
   * Live files per level. Level 0 is ordered newest first (by epoch number when recorded, else
   * by largest sequence number, then file number), as RocksDB searches it; other levels by
   * smallest key.
   */
  levels: FileMetaData[][];
}

/** The result of replaying a MANIFEST (`VersionSet::Recover`). */
export interface ManifestVersion {
  /** Column families alive at the end, by id ascending ("default" is id 0). */
  columnFamilies: ColumnFamilyVersion[];
  /** Column families dropped (id and name), in drop order. */
  dropped: { id: number; name: string }[];
  comparator: string;
  lastSequence: bigint;
  nextFileNumber: bigint;
  logNumber: bigint;
  prevLogNumber: bigint;
  minLogNumberToKeep: bigint;
  maxColumnFamily: number;
  dbId: string | null;
  /** Edits read (including those of an incomplete atomic group at the end, which are not applied). */
  edits: number;
}

/** Options of {@link readManifest}. */
export interface ManifestReadOptions extends LogReadOptions {}

/**
 * Reads a MANIFEST and replays its edits into the live version.
 *
 * @param bytes the whole MANIFEST file.
 * @throws CorruptSnapshotError for damaged records, edits for unknown column families, files
 *   deleted that are not live, a missing comparator; UnsupportedVersionError when a family's
 *   comparator is not bytewise.
 */
export function readManifest(
  bytes: Uint8Array,
  origin: ByteOrigin,
  options: ManifestReadOptions = {},
): ManifestVersion {
  const o: ByteOrigin = { ...origin, label: origin.label ?? "manifest record" };
  const records = readLogRecords(bytes, o, options);
  interface Cf {
    id: number;
    name: string;
    comparator: string;
    logNumber: bigint;
    files: Map<number, FileMetaData>;
  }
  const cfs = new Map<number, Cf>([
    [0, { id: 0, name: "default", comparator: "", logNumber: 0n, files: new Map() }],
  ]);
  const dropped: { id: number; name: string }[] = [];
  const state = {
    comparator: "",
    lastSequence: 0n,
    nextFileNumber: 0n,
    logNumber: 0n,
    prevLogNumber: 0n,
    minLogNumberToKeep: 0n,
    maxColumnFamily: 0,
    dbId: null as string | null,
  };
  const apply = (e: VersionEdit) => {
    const fail = (message: string) => corrupt(message, o, e.offset);
    if (e.columnFamilyAdd !== undefined) {
      if (cfs.has(e.columnFamily)) throw fail(`column family ${e.columnFamily} added twice`);
      cfs.set(e.columnFamily, {
        id: e.columnFamily,
        name: e.columnFamilyAdd,
        comparator: e.comparator ?? "",
        logNumber: e.logNumber ?? 0n,
        files: new Map(),
      });
    } else if (e.columnFamilyDrop) {
      const cf = cfs.get(e.columnFamily);
      if (!cf) throw fail(`drop of unknown column family ${e.columnFamily}`);
      cfs.delete(e.columnFamily);
      dropped.push({ id: cf.id, name: cf.name });
    } else {
      const cf = cfs.get(e.columnFamily);
      if (!cf) {
        // RocksDB ignores edits of dropped column families.
        if (dropped.some((d) => d.id === e.columnFamily)) return;
        throw fail(`edit for unknown column family ${e.columnFamily}`);
      }
      if (e.comparator !== undefined) cf.comparator = e.comparator;
      if (e.logNumber !== undefined) cf.logNumber = e.logNumber;
      for (const d of e.deletedFiles) {
        const f = cf.files.get(d.number);
        if (!f || f.level !== d.level) {
          throw fail(`edit deletes file ${d.number} at level ${d.level}, which is not live in ${cf.name}`);
        }
        cf.files.delete(d.number);
      }
      for (const f of e.newFiles) cf.files.set(f.number, f);
    }
    if (e.comparator !== undefined && e.columnFamily === 0) state.comparator = e.comparator;
    if (e.logNumber !== undefined && e.logNumber > state.logNumber) state.logNumber = e.logNumber;
    if (e.prevLogNumber !== undefined) state.prevLogNumber = e.prevLogNumber;
    if (e.nextFileNumber !== undefined) state.nextFileNumber = e.nextFileNumber;
    if (e.lastSequence !== undefined) state.lastSequence = e.lastSequence;
    if (e.minLogNumberToKeep !== undefined && e.minLogNumberToKeep > state.minLogNumberToKeep)
      state.minLogNumberToKeep = e.minLogNumberToKeep;
    if (e.maxColumnFamily !== undefined) state.maxColumnFamily = e.maxColumnFamily;
    if (e.dbId !== undefined) state.dbId = e.dbId;
  };
  let group: VersionEdit[] = [];
  let edits = 0;
  for (const rec of records) {
    const e = decodeVersionEdit(rec.payload, o, rec.offset);
    edits++;
    if (e.remainingInAtomicGroup !== undefined) {
      group.push(e);
      if (e.remainingInAtomicGroup === 0) {
        for (const g of group) apply(g);
        group = [];
      }
      continue;
    }
    if (group.length > 0) throw corrupt("atomic group interrupted by an edit outside it", o, e.offset);
    apply(e);
  }
  const columnFamilies: ColumnFamilyVersion[] = [...cfs.values()]
    .sort((a, b) => a.id - b.id)
    .map((cf) => {
      const comparator = cf.comparator || state.comparator;
      if (comparator !== "" && comparator !== "leveldb.BytewiseComparator") {
        throw new UnsupportedVersionError(
          `column family ${JSON.stringify(cf.name)} uses comparator ${JSON.stringify(comparator)}; only leveldb.BytewiseComparator is supported`,
          { ...(origin.uri === undefined ? {} : { uri: origin.uri }), version: 0, offset: 0 },
        );
      }
      const byLevel: FileMetaData[][] = [];
      for (const f of cf.files.values()) {
        while (byLevel.length <= f.level) byLevel.push([]);
        (byLevel[f.level] as FileMetaData[]).push(f);
      }
      for (const [lvl, files] of byLevel.entries()) {
        if (lvl === 0) files.sort(newestFirst);
        else
          files.sort((a, b) => compareBytes(a.smallest.userKey, b.smallest.userKey) || a.number - b.number);
      }
      return { id: cf.id, name: cf.name, comparator, logNumber: cf.logNumber, levels: byLevel };
    });
  return { columnFamilies, dropped, ...state, edits };
}

/** Level-0 order: newest first (epoch number, else largest seqno, then file number; all descending). */
function newestFirst(a: FileMetaData, b: FileMetaData): number {
  if (a.epochNumber !== null && b.epochNumber !== null && a.epochNumber !== b.epochNumber) {
    return a.epochNumber > b.epochNumber ? -1 : 1;
  }
  if (a.largestSeqno !== b.largestSeqno) return a.largestSeqno > b.largestSeqno ? -1 : 1;
  return b.number - a.number;
}

/**
 * Parses `CURRENT`: the name of the live MANIFEST followed by a newline (`db/filename.cc`
 * `SetCurrentFile`).
 * @throws CorruptSnapshotError when it is not `MANIFEST-<digits>\n`.
 */
export function parseCurrentFile(bytes: Uint8Array, origin: ByteOrigin): string {
  const text = utf8String(bytes);
  const m = /^(MANIFEST-\d+)\n$/.exec(text);
  if (!m) {
    throw corrupt(`CURRENT does not name a MANIFEST: ${JSON.stringify(text.slice(0, 80))}`, origin, 0);
  }
  return m[1] as string;
}
