// Generates the RocksDB test data under test/formats/rocksdb/data/ with real RocksDB (Debian's
// librocksdb-dev, 7.8.3), as an oracle independent of savepoint-kit's TypeScript reader.
//
// Development tool only: the tests read the committed output and never run this program.
//
//   apt-get install -y librocksdb-dev g++
//   g++ -std=c++17 -O1 -o /tmp/make-test-dbs test/formats/rocksdb/generator/make-test-dbs.cc -lrocksdb
//   /tmp/make-test-dbs test/formats/rocksdb/data
//
// Output:
//   tables/<name>.sst      single SST files written by SstFileWriter, one per (format_version,
//                          checksum, compression, index) combination; entries follow the formula in
//                          tableEntry() (the tests recompute it); tables.json lists them.
//   lsm/                   a RocksDB checkpoint (SSTs, MANIFEST, CURRENT, OPTIONS) of a database with
//                          several column families, levels L0..L2, overwrites, deletes, single
//                          deletes, range deletions and merges (stringappendtest, as Flink uses);
//                          lsm.json holds what RocksDB itself reads from it: live files per column
//                          family and level, every key version (GetAllKeyVersions) and the merged
//                          view of every column family (a DB iterator).
//
// Everything is deterministic except file-creation times, DB ids and session ids.

#include <rocksdb/db.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/convenience.h>
#include <rocksdb/options.h>
#include <rocksdb/sst_file_writer.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/utilities/debug.h>
#include <rocksdb/metadata.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

using namespace ROCKSDB_NAMESPACE;
namespace fs = std::filesystem;

static void check(const Status& s, const char* what) {
  if (!s.ok()) {
    std::cerr << what << ": " << s.ToString() << std::endl;
    std::exit(1);
  }
}

static std::string hex(const std::string& s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(d[c >> 4]);
    out.push_back(d[c & 15]);
  }
  return out;
}

// Keys longer than 64 bytes (the long-keys family) are written as the hex of their first 16 bytes,
// "...", and their length, to keep lsm.json small; the tests abbreviate the same way.
static std::string hexKey(const std::string& s) {
  if (s.size() <= 64) return hex(s);
  return hex(s.substr(0, 16)) + "..." + std::to_string(s.size());
}

static std::string jsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out.push_back(c);
    }
  }
  return out + "\"";
}

static std::string key(const char* prefix, int i) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s%05d", prefix, i);
  return buf;
}

// ---------------------------------------------------------------------------------------------
// tables/: one SST per format combination, written by SstFileWriter.

// Entry i of every table: key "key%05d", value "value-<i>-" followed by (i % 7) * 11 letters,
// compressible so that compressed blocks really are compressed.
static std::pair<std::string, std::string> tableEntry(int i) {
  std::string v = "value-" + std::to_string(i) + "-";
  for (int k = 0; k < (i % 7) * 11; k++) v.push_back(static_cast<char>('a' + (k % 3)));
  return {key("key", i), v};
}

struct TableSpec {
  std::string name;
  int formatVersion;
  ChecksumType checksum;
  CompressionType compression;
  BlockBasedTableOptions::IndexType indexType;
  bool hashIndex;
  int entries;
  bool rangeDeletions;
};

static void writeTables(const fs::path& out) {
  fs::create_directories(out / "tables");
  const auto bs = BlockBasedTableOptions::kBinarySearch;
  std::vector<TableSpec> specs = {
      {"v0-crc32c-none", 0, kCRC32c, kNoCompression, bs, false, 300, false},
      {"v0-crc32c-snappy", 0, kCRC32c, kSnappyCompression, bs, false, 300, false},
      {"v1-crc32c-lz4", 1, kCRC32c, kLZ4Compression, bs, false, 300, false},
      {"v1-crc32c-zlib", 1, kCRC32c, kZlibCompression, bs, false, 300, false},
      {"v2-xxhash-zlib", 2, kxxHash, kZlibCompression, bs, false, 300, false},
      {"v3-xxhash64-lz4", 3, kxxHash64, kLZ4Compression, bs, false, 300, false},
      {"v4-crc32c-snappy-hash", 4, kCRC32c, kSnappyCompression, bs, true, 300, false},
      {"v4-xxh3-lz4hc-firstkey", 4, kXXH3, kLZ4HCCompression, BlockBasedTableOptions::kBinarySearchWithFirstKey,
       false, 300, false},
      {"v5-xxh3-zstd", 5, kXXH3, kZSTD, bs, false, 300, false},
      {"v5-xxh3-zstd-partitioned", 5, kXXH3, kZSTD, BlockBasedTableOptions::kTwoLevelIndexSearch, false, 600,
       false},
      {"v5-nochecksum-none", 5, kNoChecksum, kNoCompression, bs, false, 50, false},
      {"v5-crc32c-snappy-rangedel", 5, kCRC32c, kSnappyCompression, bs, false, 100, true},
      {"v5-crc32c-bzip2", 5, kCRC32c, kBZip2Compression, bs, false, 40, false},
  };
  std::ostringstream json;
  json << "[\n";
  for (size_t n = 0; n < specs.size(); n++) {
    const TableSpec& t = specs[n];
    Options options;
    BlockBasedTableOptions table;
    table.format_version = t.formatVersion;
    table.checksum = t.checksum;
    table.block_size = 512;
    table.index_type = t.indexType;
    if (t.indexType == BlockBasedTableOptions::kTwoLevelIndexSearch) table.metadata_block_size = 128;
    if (t.hashIndex) table.data_block_index_type = BlockBasedTableOptions::kDataBlockBinaryAndHash;
    options.table_factory.reset(NewBlockBasedTableFactory(table));
    options.compression = t.compression;
    SstFileWriter writer(EnvOptions(), options);
    const std::string file = (out / "tables" / (t.name + ".sst")).string();
    check(writer.Open(file), "open sst writer");
    for (int i = 0; i < t.entries; i++) {
      auto [k, v] = tableEntry(i);
      check(writer.Put(k, v), "put");
    }
    if (t.rangeDeletions) {
      check(writer.DeleteRange(key("key", 10), key("key", 20)), "delete range");
      check(writer.DeleteRange(key("key", 50), key("key", 51)), "delete range");
    }
    ExternalSstFileInfo info;
    check(writer.Finish(&info), "finish");
    json << "  {\"name\": " << jsonString(t.name) << ", \"file\": " << jsonString(t.name + ".sst")
         << ", \"formatVersion\": " << t.formatVersion << ", \"checksum\": " << static_cast<int>(t.checksum)
         << ", \"compression\": " << static_cast<int>(t.compression)
         << ", \"indexType\": " << static_cast<int>(t.indexType)
         << ", \"dataBlockHashIndex\": " << (t.hashIndex ? "true" : "false") << ", \"entries\": " << t.entries
         << ", \"rangeDeletions\": " << (t.rangeDeletions ? 2 : 0) << ", \"fileSize\": " << info.file_size << "}"
         << (n + 1 < specs.size() ? ",\n" : "\n");
  }
  json << "]\n";
  std::ofstream(out / "tables.json") << json.str();
}

// ---------------------------------------------------------------------------------------------
// lsm/: a database with history, as a checkpoint.

static ColumnFamilyOptions cfOptions(int formatVersion, ChecksumType checksum, CompressionType compression,
                                     BlockBasedTableOptions::IndexType indexType) {
  ColumnFamilyOptions o;
  ConfigOptions config;
  check(MergeOperator::CreateFromString(config, "stringappendtest", &o.merge_operator), "merge operator");
  BlockBasedTableOptions table;
  table.format_version = formatVersion;
  table.checksum = checksum;
  table.block_size = 256;
  table.index_type = indexType;
  if (indexType == BlockBasedTableOptions::kTwoLevelIndexSearch) table.metadata_block_size = 128;
  o.table_factory.reset(NewBlockBasedTableFactory(table));
  o.compression = compression;
  o.disable_auto_compactions = true;
  o.num_levels = 4;
  return o;
}

static std::vector<ColumnFamilyDescriptor> lsmFamilies() {
  const auto bs = BlockBasedTableOptions::kBinarySearch;
  return {
      {kDefaultColumnFamilyName, cfOptions(5, kCRC32c, kSnappyCompression, bs)},
      {"values", cfOptions(5, kXXH3, kLZ4Compression, bs)},
      {"lists", cfOptions(4, kCRC32c, kSnappyCompression, BlockBasedTableOptions::kBinarySearchWithFirstKey)},
      {"partitioned", cfOptions(2, kxxHash64, kZSTD, BlockBasedTableOptions::kTwoLevelIndexSearch)},
      {"long-keys", cfOptions(5, kCRC32c, kSnappyCompression, bs)},
      {"dropped", cfOptions(5, kCRC32c, kNoCompression, bs)},
  };
}

static std::string u64be(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 7; i >= 0; i--) {
    s[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return s;
}

static void flush(DB* db, ColumnFamilyHandle* cf) { check(db->Flush(FlushOptions(), cf), "flush"); }

static std::vector<std::string> level0Files(DB* db, ColumnFamilyHandle* cf) {
  ColumnFamilyMetaData meta;
  db->GetColumnFamilyMetaData(cf, &meta);
  std::vector<std::string> names;
  for (auto& f : meta.levels[0].files) names.push_back(f.name);
  return names;
}

static void toLevel(DB* db, ColumnFamilyHandle* cf, int level) {
  check(db->CompactFiles(CompactionOptions(), cf, level0Files(db, cf), level), "compact files");
}

static void writeLsm(const fs::path& out) {
  const fs::path work = fs::temp_directory_path() / "savepoint-kit-make-test-dbs";
  fs::remove_all(work);
  fs::create_directories(work);
  DBOptions dbo;
  dbo.create_if_missing = true;
  dbo.create_missing_column_families = true;
  std::vector<ColumnFamilyDescriptor> families = lsmFamilies();
  std::vector<ColumnFamilyHandle*> h;
  DB* db = nullptr;
  check(DB::Open(dbo, (work / "db").string(), families, &h, &db), "open");
  ColumnFamilyHandle *def = h[0], *values = h[1], *lists = h[2], *part = h[3], *longk = h[4], *dropped = h[5];
  WriteOptions wo;

  // default: a few keys (Flink leaves it empty; RocksDB requires it).
  check(db->Put(wo, def, "default-key", "default-value"), "put");
  flush(db, def);

  // values: L2 <- phase 1, L1 <- phase 2, two L0 files <- phases 3 and 4.
  for (int i = 0; i < 200; i++) check(db->Put(wo, values, key("k", i), "v1-" + std::to_string(i)), "put");
  flush(db, values);
  toLevel(db, values, 2);
  for (int i = 0; i < 50; i++) check(db->Put(wo, values, key("k", i), "v2-" + std::to_string(i)), "put");
  for (int i = 50; i < 60; i++) check(db->Delete(wo, values, key("k", i)), "delete");
  for (int i = 60; i < 70; i++) check(db->SingleDelete(wo, values, key("k", i)), "single delete");
  flush(db, values);
  toLevel(db, values, 1);
  check(db->DeleteRange(wo, values, key("k", 100), key("k", 120)), "delete range");
  check(db->Put(wo, values, key("k", 110), "v3-after-range"), "put");
  check(db->Merge(wo, values, key("k", 130), "m1"), "merge");
  check(db->Merge(wo, values, key("k", 130), "m2"), "merge");
  check(db->Delete(wo, values, key("k", 131)), "delete");
  check(db->Merge(wo, values, key("k", 131), "x"), "merge");
  check(db->Merge(wo, values, key("k", 300), "a"), "merge");
  check(db->Merge(wo, values, key("k", 300), "b"), "merge");
  flush(db, values);
  check(db->Put(wo, values, key("k", 5), "v4"), "put");
  check(db->Merge(wo, values, key("k", 300), "c"), "merge");
  check(db->DeleteRange(wo, values, key("k", 150), key("k", 151)), "delete range");
  flush(db, values);

  // lists: Flink-like list state (8-byte big-endian longs appended with merges), over several
  // flushes, with an update (put), a clear (delete) and re-adds.
  for (int round = 0; round < 4; round++) {
    for (int i = 0; i < 40; i++) {
      if (round == 2 && i % 10 == 3) {
        check(db->Put(wo, lists, key("list", i), u64be(1000 + i)), "put");
      } else if (round == 3 && i % 10 == 7) {
        check(db->Delete(wo, lists, key("list", i)), "delete");
      } else if (!(round == 3 && i % 10 == 8)) {
        check(db->Merge(wo, lists, key("list", i), u64be(round * 100 + i)), "merge");
      }
    }
    flush(db, lists);
    if (round == 1) toLevel(db, lists, 3);
  }

  // partitioned: enough keys for several index partitions, in one L1 file and one L0 file.
  for (int i = 0; i < 400; i++) check(db->Put(wo, part, key("p", i), "value-" + std::to_string(i * 7)), "put");
  flush(db, part);
  toLevel(db, part, 1);
  for (int i = 0; i < 400; i += 3) check(db->Put(wo, part, key("p", i), "new-" + std::to_string(i)), "put");
  flush(db, part);

  // long-keys: 12 files, each with two 3000-byte keys, so that the MANIFEST snapshot written on
  // reopen holds one record larger than two 32 KiB log blocks (FIRST, MIDDLE, LAST fragments).
  for (int f = 0; f < 12; f++) {
    for (int j = 0; j < 2; j++) {
      std::string k = key("long", f * 2 + j) + std::string(3000, static_cast<char>('a' + f));
      check(db->Put(wo, longk, k, "long-value-" + std::to_string(f * 2 + j)), "put");
    }
    flush(db, longk);
  }

  // dropped: a column family that is created, written and dropped (must not be listed).
  check(db->Put(wo, dropped, "gone", "gone"), "put");
  flush(db, dropped);
  check(db->DropColumnFamily(dropped), "drop");
  check(db->DestroyColumnFamilyHandle(dropped), "destroy handle");
  families.pop_back();
  h.pop_back();

  for (auto* c : h) check(db->DestroyColumnFamilyHandle(c), "destroy handle");
  check(db->Close(), "close");
  delete db;

  // Reopen: RocksDB writes a new MANIFEST starting with a snapshot of the whole version.
  h.clear();
  check(DB::Open(dbo, (work / "db").string(), families, &h, &db), "reopen");
  // One more edit after the snapshot: a put and a flush in `values`.
  check(db->Put(wo, h[1], key("k", 1), "v5-after-reopen"), "put");
  flush(db, h[1]);

  Checkpoint* cp = nullptr;
  check(Checkpoint::Create(db, &cp), "checkpoint");
  fs::remove_all(out / "lsm");
  check(cp->CreateCheckpoint((out / "lsm").string()), "create checkpoint");
  delete cp;

  // What RocksDB reads from it.
  std::ostringstream json;
  std::vector<LiveFileMetaData> live;
  db->GetLiveFilesMetaData(&live);
  json << "{\n  \"columnFamilies\": [\n";
  for (size_t c = 0; c < h.size(); c++) {
    ColumnFamilyHandle* cf = h[c];
    json << "    {\"name\": " << jsonString(cf->GetName()) << ", \"id\": " << cf->GetID() << ",\n";
    json << "     \"files\": [";
    bool first = true;
    for (auto& f : live) {
      if (f.column_family_name != cf->GetName()) continue;
      json << (first ? "\n" : ",\n") << "       {\"name\": " << jsonString(f.name.substr(1))
           << ", \"level\": " << f.level << ", \"size\": " << f.size
           << ", \"smallestSeqno\": " << f.smallest_seqno << ", \"largestSeqno\": " << f.largest_seqno
           << ", \"smallestKey\": " << jsonString(hexKey(f.smallestkey))
           << ", \"largestKey\": " << jsonString(hexKey(f.largestkey)) << ", \"entries\": " << f.num_entries
           << ", \"deletions\": " << f.num_deletions << "}";
      first = false;
    }
    json << "],\n     \"versions\": [";
    std::vector<KeyVersion> versions;
    check(GetAllKeyVersions(db, cf, Slice(), Slice(), 1000000, &versions), "key versions");
    first = true;
    for (auto& v : versions) {
      json << (first ? "\n" : ",\n") << "       [" << jsonString(hexKey(v.user_key)) << ", " << v.sequence << ", "
           << v.type << ", " << jsonString(hex(v.value)) << "]";
      first = false;
    }
    json << "],\n     \"merged\": [";
    std::unique_ptr<Iterator> it(db->NewIterator(ReadOptions(), cf));
    first = true;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      json << (first ? "\n" : ",\n") << "       [" << jsonString(hexKey(it->key().ToString())) << ", "
           << jsonString(hex(it->value().ToString())) << "]";
      first = false;
    }
    check(it->status(), "iterate");
    json << "]}" << (c + 1 < h.size() ? ",\n" : "\n");
  }
  json << "  ],\n  \"lastSequence\": " << db->GetLatestSequenceNumber() << "\n}\n";
  std::ofstream(out / "lsm.json") << json.str();

  for (auto* c : h) check(db->DestroyColumnFamilyHandle(c), "destroy handle");
  check(db->Close(), "close");
  delete db;
  fs::remove_all(work);
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make-test-dbs <output directory>" << std::endl;
    return 2;
  }
  const fs::path out(argv[1]);
  fs::create_directories(out);
  writeTables(out);
  writeLsm(out);
  std::cout << "written to " << out << std::endl;
  return 0;
}
