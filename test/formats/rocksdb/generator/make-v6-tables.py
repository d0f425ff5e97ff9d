# Generates test/formats/rocksdb/data/tables/v6-*.sst: block-based tables of format_version 6
# (footer with extended magic and footer checksum, per-block context checksums), written by the
# RocksDB 9.8.4 that the `rocksdict` wheel (0.3.29) bundles. Debian's RocksDB 7.8.3 cannot write
# format_version 6. Development tool only; the tests read the committed files.
#
#   python3 -m venv /tmp/rdvenv && /tmp/rdvenv/bin/pip install rocksdict==0.3.29
#   /tmp/rdvenv/bin/python test/formats/rocksdb/generator/make-v6-tables.py test/formats/rocksdb/data/tables
#
# Entries follow the same formula as make-test-dbs.cc (tableEntry); raw_mode keeps RocksDB's
# bytewise comparator.
import rocksdict, sys, os
out = sys.argv[1]
def entry(i):
    v = "value-%d-" % i + "".join(chr(97 + (k % 3)) for k in range((i % 7) * 11))
    return ("key%05d" % i).encode(), v.encode()
specs = [("v6-xxh3-lz4", 6, rocksdict.ChecksumType.xxh3(), rocksdict.DBCompressionType.lz4()),
         ("v6-crc32c-zstd", 6, rocksdict.ChecksumType.crc32c(), rocksdict.DBCompressionType.zstd())]
for name, fv, ck, comp in specs:
    opts = rocksdict.Options(raw_mode=True)
    b = rocksdict.BlockBasedOptions()
    b.set_format_version(fv); b.set_checksum_type(ck); b.set_block_size(512)
    opts.set_block_based_table_factory(b)
    opts.set_compression_type(comp)
    w = rocksdict.SstFileWriter(options=opts)
    w.open(os.path.join(out, name + ".sst"))
    for i in range(300):
        k, v = entry(i)
        w[k] = v
    w.finish()
print("ok")
