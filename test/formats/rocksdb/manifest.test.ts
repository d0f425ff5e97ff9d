/**
 * MANIFEST, CURRENT and OPTIONS: the checkpoint of a RocksDB 7.8.3 database with history
 * (`data/lsm`, whose live files per level RocksDB itself listed in `data/lsm.json`), the Flink
 * fixtures' MANIFESTs (6.20.3 and 8.10.0), and hand-built MANIFESTs for edits RocksDB writes rarely
 * (dropped families, deleted files, atomic groups, future tags).
 */

import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { CorruptSnapshotError } from "../../../src/errors.js";
import { crc32cOf } from "../../../src/formats/rocksdb/checksum.js";
import { rocksDbFilesOf } from "../../../src/formats/rocksdb/flink.js";
import {
  EditTag,
  LogRecordType,
  maskCrc,
  parseCurrentFile,
  parseOptionStruct,
  parseOptionsFile,
  readLogRecords,
  readManifest,
  summarizeColumnFamilyOptions,
  tableFileName,
} from "../../../src/formats/rocksdb/index.js";
import { StoreRegistry } from "../../../src/storage/registry.js";
import { abbreviateKey, dataBytes, dataJson, rocksDbSubtasks, varint64 } from "./helpers.js";

const stores = new StoreRegistry();
after(() => stores.close());

// ------------------------------------------------------------------------------------------------
// A minimal MANIFEST writer for hand-built cases (the log format of db/log_writer.cc).

function slice(b: Uint8Array | string): number[] {
  const bytes = typeof b === "string" ? new TextEncoder().encode(b) : b;
  return [...varint64(bytes.byteLength), ...bytes];
}

function ikey(user: string, seq: number, type: number): Uint8Array {
  const u = new TextEncoder().encode(user);
  const out = new Uint8Array(u.byteLength + 8);
  out.set(u);
  new DataView(out.buffer, u.byteLength).setBigUint64(0, (BigInt(seq) << 8n) | BigInt(type), true);
  return out;
}

/** kNewFile4 with the epoch number custom field. */
function newFile(
  level: number,
  number: number,
  size: number,
  lo: string,
  hi: string,
  seqs: [number, number],
): number[] {
  return [
    ...varint64(EditTag.NEW_FILE4),
    ...varint64(level),
    ...varint64(number),
    ...varint64(size),
    ...slice(ikey(lo, seqs[0], 1)),
    ...slice(ikey(hi, seqs[1], 1)),
    ...varint64(seqs[0]),
    ...varint64(seqs[1]),
    ...varint64(13),
    ...slice(Uint8Array.from(varint64(number))),
    ...varint64(1),
  ];
}

/** Writes records into 32 KiB log blocks, fragmenting as RocksDB's log writer does. */
function logFile(records: number[][]): Uint8Array {
  const out: number[] = [];
  for (const rec of records) {
    let left = rec;
    let first = true;
    do {
      const room = 32768 - (out.length % 32768);
      if (room < 7) {
        for (let k = 0; k < room; k++) out.push(0);
        continue;
      }
      const n = Math.min(left.length, room - 7);
      const end = n === left.length;
      const type = first && end ? 1 : first ? 2 : end ? 4 : 3;
      const payload = Uint8Array.from(left.slice(0, n));
      const crc = maskCrc(crc32cOf(Uint8Array.from([type, ...payload])));
      out.push(
        crc & 0xff,
        (crc >>> 8) & 0xff,
        (crc >>> 16) & 0xff,
        crc >>> 24,
        n & 0xff,
        n >>> 8,
        type,
        ...payload,
      );
      left = left.slice(n);
      first = false;
    } while (left.length > 0);
  }
  return Uint8Array.from(out);
}

// ------------------------------------------------------------------------------------------------

describe("MANIFEST of a database with history (lsm/)", () => {
  const bytes = dataBytes("lsm/MANIFEST-000073");
  const expected = dataJson("lsm.json");

  it("log records: a snapshot record over 64 KiB comes in FIRST, MIDDLE and LAST fragments", () => {
    const types = new Set<number>();
    for (let b = 0; b + 7 <= bytes.byteLength; b += 32768) types.add(bytes[b + 6] as number);
    assert.ok(types.has(LogRecordType.FIRST) || types.has(LogRecordType.MIDDLE));
    const records = readLogRecords(bytes, { uri: "MANIFEST" });
    const largest = Math.max(...records.map((r) => r.payload.byteLength));
    assert.ok(largest > 65536, `largest record ${largest} bytes`);
  });

  it("replays to the live files RocksDB lists per column family and level", () => {
    const m = readManifest(bytes, { uri: "MANIFEST-000073" });
    assert.equal(m.comparator, "leveldb.BytewiseComparator");
    assert.equal(m.lastSequence, BigInt(expected.lastSequence));
    assert.deepEqual(
      m.columnFamilies.map((c) => [c.id, c.name]),
      expected.columnFamilies.map((c: any) => [c.id, c.name]),
    );
    for (const cf of m.columnFamilies) {
      const want = expected.columnFamilies.find((c: any) => c.name === cf.name);
      const got = cf.levels.flatMap((files, level) =>
        files.map((f) => ({
          name: tableFileName(f.number),
          level,
          size: f.fileSize,
          smallestSeqno: Number(f.smallestSeqno),
          largestSeqno: Number(f.largestSeqno),
          smallestKey: abbreviateKey(f.smallest.userKey),
          largestKey: abbreviateKey(f.largest.userKey),
        })),
      );
      const strip = (f: any) => {
        const { entries: _e, deletions: _d, ...rest } = f;
        return rest;
      };
      const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
      assert.deepEqual(got.sort(byName), want.files.map(strip).sort(byName), cf.name);
      // Level 0 newest first (as RocksDB searches it).
      const l0 = cf.levels[0] ?? [];
      for (let k = 1; k < l0.length; k++) {
        assert.ok((l0[k - 1]?.largestSeqno ?? 0n) >= (l0[k]?.largestSeqno ?? 0n));
      }
    }
  });

  it("CURRENT names the MANIFEST; anything else is CorruptSnapshotError", () => {
    assert.equal(parseCurrentFile(dataBytes("lsm/CURRENT"), { uri: "CURRENT" }), "MANIFEST-000073");
    for (const bad of ["MANIFEST-000073", "manifest\n", "", "MANIFEST-1\nMANIFEST-2\n"]) {
      assert.throws(
        () => parseCurrentFile(new TextEncoder().encode(bad), { uri: "CURRENT" }),
        CorruptSnapshotError,
      );
    }
  });

  it("OPTIONS: version, families, merge operator and table options", () => {
    const o = parseOptionsFile(dataBytes("lsm/OPTIONS-000075"), { uri: "OPTIONS" });
    assert.equal(o.rocksdbVersion, "7.8.3");
    assert.equal(o.optionsFileVersion, "1.1");
    assert.ok(o.db.size > 20);
    const summary = Object.fromEntries(
      o.columnFamilies.map((c) => [c.name, summarizeColumnFamilyOptions(c)]),
    );
    assert.deepEqual(Object.keys(summary), ["default", "values", "lists", "partitioned", "long-keys"]);
    assert.equal(summary.values?.mergeOperator, "StringAppendTESTOperator");
    assert.equal(summary.values?.checksum, "kXXH3");
    assert.equal(summary.values?.compression, "kLZ4Compression");
    assert.equal(summary.lists?.indexType, "kBinarySearchWithFirstKey");
    assert.equal(summary.partitioned?.checksum, "kxxHash64");
    assert.equal(summary.partitioned?.formatVersion, 2);
    assert.equal(summary.partitioned?.tableFactory, "BlockBasedTable");
    assert.deepEqual(
      parseOptionStruct("{id=StringAppendTESTOperator;delimiter=,;}"),
      new Map([
        ["id", "StringAppendTESTOperator"],
        ["delimiter", ","],
      ]),
    );
    assert.deepEqual(
      parseOptionStruct("{a=1;b={c=2;d=x\\;y;};}"),
      new Map<string, unknown>([
        ["a", "1"],
        [
          "b",
          new Map([
            ["c", "2"],
            ["d", "x;y"],
          ]),
        ],
      ]),
    );
  });
});

describe("MANIFESTs of the Flink fixtures", () => {
  it("replay with one column family per state, files as listed in the handle", async () => {
    const subtasks = await rocksDbSubtasks(stores);
    let edits = 0;
    for (const s of subtasks) {
      const files = await rocksDbFilesOf(s.handle, s.resolver);
      const current = files.get("CURRENT");
      assert.ok(current);
      const name = parseCurrentFile(await current.read(0, current.size), { uri: current.uri });
      const mf = files.get(name);
      assert.ok(mf, `${s.id}: ${name}`);
      const m = readManifest(await mf.read(0, mf.size), { uri: mf.uri });
      edits += m.edits;
      assert.equal(m.columnFamilies[0]?.name, "default");
      const live = m.columnFamilies
        .flatMap((c) => c.levels.flat().map((f) => tableFileName(f.number)))
        .sort();
      const sst = [...files.keys()].filter((n) => n.endsWith(".sst")).sort();
      assert.deepEqual(live, sst, `${s.id}: the handle holds exactly the live tables`);
      // RocksDB checkpoints: everything flushed to level 0, no compaction in these small jobs; except
      // in the cases made for it: compactions after every flush (levels), after the rescale's restores.
      if (!/levels|zstd|rescaled/.test(s.fixture.id)) {
        for (const c of m.columnFamilies) assert.ok(c.levels.length <= 1, `${s.id} ${c.name}: only L0`);
      }
    }
    assert.ok(edits > 80 * 5);
  });
});

describe("hand-built MANIFESTs", () => {
  const header = [
    [...varint64(EditTag.COMPARATOR), ...slice("leveldb.BytewiseComparator")],
    [
      ...varint64(EditTag.COLUMN_FAMILY),
      ...varint64(1),
      ...varint64(EditTag.COLUMN_FAMILY_ADD),
      ...slice("state-a"),
    ],
    [
      ...varint64(EditTag.COLUMN_FAMILY),
      ...varint64(2),
      ...varint64(EditTag.COLUMN_FAMILY_ADD),
      ...slice("state-b"),
    ],
  ];

  it("adds, deletes and moves files; drops a family; applies atomic groups; skips safe-to-ignore tags", () => {
    const bytes = logFile([
      ...header,
      [...varint64(EditTag.COLUMN_FAMILY), ...varint64(1), ...newFile(0, 10, 100, "a", "c", [1, 3])],
      [...varint64(EditTag.COLUMN_FAMILY), ...varint64(1), ...newFile(0, 11, 200, "b", "d", [4, 6])],
      // A compaction: both L0 files to one L1 file.
      [
        ...varint64(EditTag.COLUMN_FAMILY),
        ...varint64(1),
        ...varint64(EditTag.DELETED_FILE),
        ...varint64(0),
        ...varint64(10),
        ...varint64(EditTag.DELETED_FILE),
        ...varint64(0),
        ...varint64(11),
        ...newFile(1, 12, 250, "a", "d", [0, 0]),
        ...varint64(EditTag.LAST_SEQUENCE),
        ...varint64(6),
        ...varint64(EditTag.NEXT_FILE_NUMBER),
        ...varint64(13),
      ],
      [...varint64(EditTag.COLUMN_FAMILY), ...varint64(2), ...newFile(0, 20, 50, "x", "y", [7, 7])],
      [...varint64(EditTag.COLUMN_FAMILY), ...varint64(2), ...varint64(EditTag.COLUMN_FAMILY_DROP)],
      // An atomic group of two edits, with a future tag that is safe to ignore.
      [
        ...varint64(EditTag.IN_ATOMIC_GROUP),
        ...varint64(1),
        ...varint64(EditTag.COLUMN_FAMILY),
        ...varint64(1),
        ...newFile(0, 30, 10, "e", "f", [8, 9]),
        ...varint64(EditTag.SAFE_IGNORE_MASK + 99),
        ...slice("whatever"),
      ],
      [...varint64(EditTag.IN_ATOMIC_GROUP), ...varint64(0), ...varint64(EditTag.DB_ID), ...slice("db-1")],
      // A big edit that spans two blocks.
      [
        ...varint64(EditTag.COLUMN_FAMILY),
        ...varint64(1),
        ...newFile(2, 40, 1, "g".repeat(40000), "h", [0, 0]),
      ],
    ]);
    const m = readManifest(bytes, { uri: "hand-built" });
    assert.deepEqual(
      m.columnFamilies.map((c) => c.name),
      ["default", "state-a"],
    );
    assert.deepEqual(m.dropped, [{ id: 2, name: "state-b" }]);
    const a = m.columnFamilies[1];
    assert.ok(a);
    assert.deepEqual(
      a.levels.map((l) => l.map((f) => f.number)),
      [[30], [12], [40]],
    );
    assert.equal(a.levels[0]?.[0]?.epochNumber, 30n);
    assert.equal(m.lastSequence, 6n);
    assert.equal(m.nextFileNumber, 13n);
    assert.equal(m.dbId, "db-1");
  });

  it("an incomplete atomic group at the end is not applied (as RocksDB does)", () => {
    const bytes = logFile([
      ...header,
      [
        ...varint64(EditTag.IN_ATOMIC_GROUP),
        ...varint64(1),
        ...varint64(EditTag.COLUMN_FAMILY),
        ...varint64(1),
        ...newFile(0, 5, 1, "a", "b", [1, 1]),
      ],
    ]);
    const m = readManifest(bytes, { uri: "hand-built" });
    assert.equal(m.columnFamilies[1]?.levels.flat().length, 0);
  });

  it("unknown tags, deleting a file that is not live, and bad records are CorruptSnapshotError", () => {
    const cases: [string, number[][]][] = [
      ["unknown tag", [...header, [...varint64(77), 1, 2, 3]]],
      ["not live", [...header, [...varint64(EditTag.DELETED_FILE), ...varint64(0), ...varint64(99)]]],
      [
        "unknown family",
        [[...varint64(EditTag.COLUMN_FAMILY), ...varint64(9), ...newFile(0, 1, 1, "a", "b", [1, 1])]],
      ],
      ["truncated field", [[...varint64(EditTag.COMPARATOR), 50, 65]]],
    ];
    for (const [what, records] of cases) {
      assert.throws(() => readManifest(logFile(records), { uri: what }), CorruptSnapshotError, what);
    }
  });
});
