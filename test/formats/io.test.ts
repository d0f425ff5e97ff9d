import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { CorruptSnapshotError } from "../../src/errors.js";
import { DataInput } from "../../src/formats/io/data-input.js";
import { DataOutput, encodeModifiedUtf8 } from "../../src/formats/io/data-output.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("DataOutput / DataInput", () => {
  it("writes Java's big-endian layouts", () => {
    const out = new DataOutput(1);
    out.writeByte(-1).writeBoolean(true).writeShort(-2).writeInt(0x01020304).writeLong(-2n).writeDouble(1.5);
    assert.equal(hex(out.toBytes()), "ff01fffe01020304fffffffffffffffe3ff8000000000000");
  });

  it("writes modified UTF-8 as DataOutputStream.writeUTF does", () => {
    assert.equal(hex(new DataOutput().writeUTF("a").toBytes()), "000161");
    assert.equal(hex(new DataOutput().writeUTF("\0").toBytes()), "0002c080");
    assert.equal(hex(new DataOutput().writeUTF("😀").toBytes()), "0006eda0bdedb880");
    assert.equal(hex(new DataOutput().writeUTF("é€").toBytes()), "0005c3a9e282ac");
  });

  it("round-trips every primitive", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -128, max: 127 }),
        fc.integer({ min: -32768, max: 32767 }),
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        fc.double({ noNaN: true }),
        fc.string({ unit: "binary", maxLength: 200 }),
        (b, s, i, l, d, str) => {
          const out = new DataOutput();
          out.writeByte(b).writeShort(s).writeInt(i).writeLong(l).writeDouble(d).writeUTF(str);
          const input = new DataInput(out.toBytes());
          assert.equal(input.readByte(), b);
          assert.equal(input.readShort(), s);
          assert.equal(input.readInt(), i);
          assert.equal(input.readLong(), l);
          assert.equal(input.readDouble(), d);
          assert.equal(input.readUTF(), str);
          assert.ok(input.atEnd);
        },
      ),
    );
  });

  it("refuses strings whose encoding exceeds 65535 bytes", () => {
    assert.throws(() => new DataOutput().writeUTF("€".repeat(21846)));
    assert.equal(encodeModifiedUtf8("€".repeat(21845)).byteLength, 65535);
  });
});

describe("DataInput bounds", () => {
  it("names the file and absolute offset when data runs out", () => {
    const input = new DataInput(new Uint8Array([0, 0, 0]), "file:///x/_metadata", 100);
    input.readByte();
    assert.throws(
      () => input.within("operator[0]", () => input.readInt()),
      (e: unknown) =>
        e instanceof CorruptSnapshotError &&
        e.offset === 101 &&
        e.uri === "file:///x/_metadata" &&
        /need 4 bytes, have 2/.test(e.message) &&
        /operator\[0\]/.test(e.message),
    );
  });

  it("refuses counts that cannot fit in the remaining bytes", () => {
    const bytes = new DataOutput().writeInt(1_000_000).writeInt(1).toBytes();
    assert.throws(() => new DataInput(bytes).readCount("operator count", 8), CorruptSnapshotError);
    assert.throws(
      () => new DataInput(new DataOutput().writeInt(-1).toBytes()).readCount("n"),
      CorruptSnapshotError,
    );
    assert.equal(new DataInput(new DataOutput().writeInt(0).toBytes()).readCount("n", 8), 0);
  });

  it("refuses malformed modified UTF-8", () => {
    assert.throws(() => new DataInput(new Uint8Array([0, 1, 0x80])).readUTF(), CorruptSnapshotError);
    assert.throws(() => new DataInput(new Uint8Array([0, 2, 0xc3])).readUTF(), CorruptSnapshotError);
    assert.throws(() => new DataInput(new Uint8Array([0, 1, 0])).readUTF(), CorruptSnapshotError);
  });

  it("readFully returns views without copying and checks lengths first", () => {
    const input = new DataInput(new Uint8Array([1, 2, 3, 4]));
    assert.deepEqual([...input.readFully(2)], [1, 2]);
    assert.throws(() => input.readFully(3), CorruptSnapshotError);
    assert.throws(() => input.readFully(-1), CorruptSnapshotError);
  });
});

describe("DataOutput.reset and writeAsciiChars", () => {
  it("reset: the next bytes are written from the start, the earlier ones forgotten", () => {
    const out = new DataOutput(4);
    out.writeInt(7).writeLong(9n);
    out.reset().writeShort(0x0102);
    assert.equal(hex(out.toBytes()), "0102");
    assert.equal(out.length, 2);
  });

  it("writes a byte per code unit for 0x00..0x7F only, short and long; else nothing, and says so", () => {
    for (const n of [0, 1, 63, 64, 65, 300]) {
      const ascii = Array.from({ length: n }, (_, i) => String.fromCharCode(i % 128)).join("");
      const out = new DataOutput(1).writeByte(0xaa);
      assert.equal(out.writeAsciiChars(ascii), true);
      assert.deepEqual([...out.toBytes()], [0xaa, ...Array.from({ length: n }, (_, i) => i % 128)]);
      // one other character anywhere (one latin1 would keep, one it would truncate to an ASCII byte)
      for (const other of ["\u0080", "\u00e9", "\u0141", "\u20ac"]) {
        for (const at of n > 0 ? [0, n >> 1, n - 1] : []) {
          const s = `${ascii.slice(0, at)}${other}${ascii.slice(at + 1)}`;
          const o = new DataOutput(1).writeByte(0xaa);
          assert.equal(o.writeAsciiChars(s), false, `${n} chars, ${JSON.stringify(other)} at ${at}`);
          assert.equal(hex(o.toBytes()), "aa");
        }
      }
    }
  });
});

describe("DataInput.readAsciiString", () => {
  it("reads strings of 0x01..0x7F bytes across windows, long and short (interned), as the bytes say", () => {
    // strings of every length up to 300 at every alignment, sized to cross the 32 KiB windows
    const strings: string[] = [];
    const out = new DataOutput();
    for (let k = 0; out.toBytes().byteLength < 200_000; k++) {
      const len = (k * 37) % 301;
      const s = Array.from({ length: len }, (_, i) => String.fromCharCode(1 + ((k + i * 7) % 127))).join("");
      strings.push(s);
      out.writeUTF(s);
      out.writeByte(0x80); // a non-ASCII byte between strings, never part of one
    }
    const written = out.toBytes();
    // at every alignment of the bytes in their ArrayBuffer (the scan reads aligned words)
    for (const shift of [0, 1, 2, 3]) {
      const padded = new Uint8Array(written.byteLength + shift + 3).fill(0xff);
      padded.set(written, shift);
      const input = new DataInput(padded.subarray(shift, shift + written.byteLength));
      for (const s of strings) {
        const len = input.readUnsignedShort();
        assert.equal(input.readAsciiString(len), s);
        assert.equal(input.readUnsignedByte(), 0x80);
      }
      assert.ok(input.atEnd);
    }
  });

  it("reads repeated and distinct short names as the bytes say, in small inputs and in large (interned) ones", () => {
    const names = ["001000.sst", "001001.sst", "001000.sst", "001001.sst"];
    for (const filler of [0, 40 * 1024]) {
      const out = new DataOutput();
      for (const s of names) out.writeUTF(s);
      out.write(new Uint8Array(filler).fill(0x80));
      for (const s of names) out.writeUTF(s);
      const input = new DataInput(out.toBytes());
      const round = () => names.map(() => input.readAsciiString(input.readUnsignedShort()));
      assert.deepEqual(round(), names);
      input.skipBytes(filler);
      assert.deepEqual(round(), names);
      assert.ok(input.atEnd);
    }
  });

  it("returns null and stays put for a NUL or a byte >= 0x80 anywhere, in short and long strings", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 120 }),
        fc.nat(),
        fc.constantFrom(0x00, 0x80, 0xc3, 0xff),
        (len, where, bad) => {
          for (const shift of [0, 1, 2, 3]) {
            const bytes = new Uint8Array(len + 6).fill(0x61);
            bytes[shift + 1 + (where % len)] = bad;
            const input = new DataInput(bytes.subarray(shift, shift + len + 3));
            input.readByte();
            assert.equal(input.readAsciiString(len), null);
            assert.equal(input.position, 1);
          }
        },
      ),
    );
  });

  it("throws CorruptSnapshotError with the file offset when the bytes are not there", () => {
    const input = new DataInput(new Uint8Array([0x61, 0x62, 0x63]), "file:///x/_metadata", 10);
    input.readByte();
    assert.throws(
      () => input.readAsciiString(3, "UTF string"),
      (e: unknown) =>
        e instanceof CorruptSnapshotError && e.offset === 11 && /need 3 bytes, have 2/.test(e.message),
    );
    assert.throws(() => input.readAsciiString(-1), CorruptSnapshotError);
    assert.equal(input.readAsciiString(2), "bc");
  });
});

describe("DataInput subclasses", () => {
  it("fixed-size reads and readAsciiString go through an overridden require when bytes run out", () => {
    class Underflow extends Error {}
    class Streaming extends DataInput {
      override require(n: number, what = "value"): void {
        if (n > this.remaining) throw new Underflow(`${what}: ${n}`);
        super.require(n, what);
      }
    }
    const reads: ((i: DataInput) => unknown)[] = [
      (i) => i.readByte(),
      (i) => i.readUnsignedByte(),
      (i) => i.readShort(),
      (i) => i.readUnsignedShort(),
      (i) => i.readInt(),
      (i) => i.readLong(),
      (i) => i.readFloat(),
      (i) => i.readDouble(),
      (i) => i.readAsciiString(1),
    ];
    for (const read of reads) {
      assert.throws(() => read(new Streaming(new Uint8Array(0))), Underflow);
      assert.throws(() => read(new DataInput(new Uint8Array(0))), CorruptSnapshotError);
    }
  });
});
