/**
 * Writing a RocksDB MANIFEST and CURRENT: the twin of `./manifest.ts`. Mirrors
 * `db/version_edit.cc` (`VersionEdit::EncodeTo`), `db/version_set.cc` (`WriteCurrentStateToManifest`)
 * and `db/filename.cc` (`SetCurrentFile`, `DescriptorFileName`).
 *
 * {@link encodeVersionEdit} encodes one edit, tags in RocksDB's order: comparator (1), log number (2),
 * previous log number (9), next file number (3), max column family (203), last sequence (4), new files
 * as `kNewFile4` (103: level, number, size, smallest and largest internal keys, smallest and largest
 * seqno, then custom fields: none, ended by `kTerminate`), column family (200, when not 0), column
 * family add (201).
 *
 * {@link encodeManifest} writes a MANIFEST for a new database whose column families are all given at
 * once: one edit for `default` (comparator, log number, next file number, last sequence), then per
 * other column family an edit adding it (name, comparator, log number) and one edit with its files,
 * and a last edit with the max column family, next file number and last sequence. No WAL is referenced
 * (log number 0): the database is what the table files hold, like a RocksDB checkpoint after a flush.
 */

import { InvalidArgumentError } from "../../errors.js";
import { ByteWriter } from "./byte-writer.js";
import { compareInternal, encodeInternalKey, type InternalKey } from "./format.js";
import { LogWriter } from "./log-writer.js";
import { EditTag, NewFileCustomTag } from "./manifest.js";
import { BYTEWISE_COMPARATOR } from "./sst-reader.js";

/** A table file added by an edit (the fields `kNewFile4` carries). */
export interface NewFileEntry {
  level: number;
  /** File number: the table is `<number, 6 digits at least>.sst`. */
  number: number;
  /** File size in bytes (RocksDB checks it against the file when it opens the database). */
  fileSize: number;
  smallest: InternalKey;
  largest: InternalKey;
  smallestSeqno: bigint;
  largestSeqno: bigint;
}

/** The fields of a VersionEdit this writer encodes; absent fields are not written. */
export interface VersionEditInput {
  comparator?: string;
  logNumber?: bigint;
  prevLogNumber?: bigint;
  nextFileNumber?: bigint;
  maxColumnFamily?: number;
  lastSequence?: bigint;
  newFiles?: NewFileEntry[];
  /** The column family the edit applies to (default 0, not written). */
  columnFamily?: number;
  /** Adds column family `columnFamily` with this name. */
  columnFamilyAdd?: string;
}

/**
 * Encodes one VersionEdit (`VersionEdit::EncodeTo`).
 * @throws InvalidArgumentError for negative numbers or a file whose smallest key is above its largest.
 */
export function encodeVersionEdit(e: VersionEditInput): Uint8Array {
  const w = new ByteWriter(128);
  const enc = new TextEncoder();
  if (e.comparator !== undefined) w.varint(EditTag.COMPARATOR).lengthPrefixed(enc.encode(e.comparator));
  if (e.logNumber !== undefined) w.varint(EditTag.LOG_NUMBER).varint64(e.logNumber);
  if (e.prevLogNumber !== undefined) w.varint(EditTag.PREV_LOG_NUMBER).varint64(e.prevLogNumber);
  if (e.nextFileNumber !== undefined) w.varint(EditTag.NEXT_FILE_NUMBER).varint64(e.nextFileNumber);
  if (e.maxColumnFamily !== undefined) w.varint(EditTag.MAX_COLUMN_FAMILY).varint(e.maxColumnFamily);
  if (e.lastSequence !== undefined) w.varint(EditTag.LAST_SEQUENCE).varint64(e.lastSequence);
  for (const f of e.newFiles ?? []) {
    if (compareInternal(f.smallest, f.largest) > 0) {
      throw new InvalidArgumentError(`table ${f.number}: smallest key above largest key`);
    }
    w.varint(EditTag.NEW_FILE4).varint(f.level).varint(f.number).varint(f.fileSize);
    w.lengthPrefixed(encodeInternalKey(f.smallest)).lengthPrefixed(encodeInternalKey(f.largest));
    w.varint64(f.smallestSeqno).varint64(f.largestSeqno);
    w.varint(NewFileCustomTag.TERMINATE);
  }
  if (e.columnFamily !== undefined && e.columnFamily !== 0)
    w.varint(EditTag.COLUMN_FAMILY).varint(e.columnFamily);
  if (e.columnFamilyAdd !== undefined)
    w.varint(EditTag.COLUMN_FAMILY_ADD).lengthPrefixed(enc.encode(e.columnFamilyAdd));
  return w.toBytes();
}

/** One column family of {@link encodeManifest}. */
export interface ManifestColumnFamily {
  /** Id: 0 is `default`; the others 1, 2, ... */
  id: number;
  name: string;
  files: NewFileEntry[];
}

/** Options of {@link encodeManifest}. */
export interface ManifestOptions {
  /** Must exceed every file number in use (tables and the MANIFEST itself). */
  nextFileNumber: bigint;
  /** The largest sequence number of the tables (default 0). */
  lastSequence?: bigint;
}

/**
 * The MANIFEST of a new database holding `columnFamilies` (see the module doc).
 * @throws InvalidArgumentError when `default` (id 0) is missing, ids repeat, or a file number is not
 *   below `nextFileNumber`.
 */
export function encodeManifest(
  columnFamilies: readonly ManifestColumnFamily[],
  options: ManifestOptions,
): Uint8Array {
  const ids = new Set(columnFamilies.map((c) => c.id));
  if (ids.size !== columnFamilies.length) throw new InvalidArgumentError("column family ids repeat");
  const def = columnFamilies.find((c) => c.id === 0);
  if (def?.name !== "default") throw new InvalidArgumentError('column family 0 must be "default"');
  for (const cf of columnFamilies) {
    for (const f of cf.files) {
      if (BigInt(f.number) >= options.nextFileNumber) {
        throw new InvalidArgumentError(
          `table ${f.number} is not below the next file number ${options.nextFileNumber}`,
        );
      }
    }
  }
  const lastSequence = options.lastSequence ?? 0n;
  const log = new LogWriter();
  log.addRecord(
    encodeVersionEdit({
      comparator: BYTEWISE_COMPARATOR,
      logNumber: 0n,
      prevLogNumber: 0n,
      nextFileNumber: options.nextFileNumber,
      lastSequence,
    }),
  );
  if (def.files.length > 0) log.addRecord(encodeVersionEdit({ newFiles: def.files }));
  const others = columnFamilies.filter((c) => c.id !== 0).sort((a, b) => a.id - b.id);
  for (const cf of others) {
    log.addRecord(
      encodeVersionEdit({
        columnFamily: cf.id,
        columnFamilyAdd: cf.name,
        comparator: BYTEWISE_COMPARATOR,
        logNumber: 0n,
      }),
    );
    if (cf.files.length > 0) log.addRecord(encodeVersionEdit({ columnFamily: cf.id, newFiles: cf.files }));
  }
  log.addRecord(
    encodeVersionEdit({
      nextFileNumber: options.nextFileNumber,
      maxColumnFamily: others.length === 0 ? 0 : Math.max(...others.map((c) => c.id)),
      lastSequence,
    }),
  );
  return log.toBytes();
}

/** `DescriptorFileName`: `MANIFEST-000001`. */
export function manifestFileName(number: number): string {
  return `MANIFEST-${String(number).padStart(6, "0")}`;
}

/** The contents of `CURRENT` naming a MANIFEST (`SetCurrentFile`): the name and a newline. */
export function currentFileContents(manifestName: string): Uint8Array {
  if (!/^MANIFEST-\d+$/.test(manifestName))
    throw new InvalidArgumentError(`not a MANIFEST name: ${manifestName}`);
  return new TextEncoder().encode(`${manifestName}\n`);
}
