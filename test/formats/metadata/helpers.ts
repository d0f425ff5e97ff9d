/**
 * Test helpers for the `_metadata` codec tests: hex byte vectors written field by field, round-trip
 * helpers for single handles, and discovery of the real fixtures under `fixtures/flink-*`.
 */

import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CorruptSnapshotError, NotASnapshotError, UnsupportedVersionError } from "../../../src/errors.js";
import { DataInput } from "../../../src/formats/io/data-input.js";
import { DataOutput } from "../../../src/formats/io/data-output.js";
import type { LegacyV3Layout, ReadContext, WriteContext } from "../../../src/formats/metadata/common.js";

/** Bytes from hex fragments; spaces, newlines and `_` are ignored. */
export function hex(...parts: string[]): Uint8Array {
  const s = parts.join("").replace(/[\s_]/g, "");
  assert.equal(s.length % 2, 0, `odd hex length: ${s}`);
  assert.match(s, /^[0-9a-fA-F]*$/);
  return Uint8Array.from(Buffer.from(s, "hex"));
}

/** Hex of bytes. */
export function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

/** Hex of a Java `int`. */
export function i32(n: number): string {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b.toString("hex");
}

/** Hex of a Java `long`. */
export function i64(n: bigint | number): string {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(n));
  return b.toString("hex");
}

/** Hex of `writeUTF(s)` for an ASCII string: u16 length + bytes. */
export function utf(s: string): string {
  const body = Buffer.from(s, "latin1");
  const len = Buffer.alloc(2);
  len.writeUInt16BE(body.length);
  return len.toString("hex") + body.toString("hex");
}

/** Hex of ASCII bytes (no length). */
export function ascii(s: string): string {
  return Buffer.from(s, "latin1").toString("hex");
}

/** A metadata version, or a V3 version with one of its older layouts (see `v3.ts`). */
export type VersionOrLayout = number | { version: 3; legacyLayout: LegacyV3Layout };

function readContext(v: VersionOrLayout): ReadContext {
  return typeof v === "number" ? { version: v, depth: 0 } : { ...v, depth: 0 };
}

/** Reads one value with `read`, asserting every byte was consumed. */
export function readAll<T>(
  bytes: Uint8Array,
  read: (input: DataInput, ctx: ReadContext) => T,
  version: VersionOrLayout = 4,
): T {
  const input = new DataInput(bytes);
  const v = read(input, readContext(version));
  assert.equal(input.remaining, 0, "bytes left after reading");
  return v;
}

/** Writes one value with `write` and returns the bytes. */
export function writeAll<T>(
  value: T,
  write: (out: DataOutput, v: T, ctx: WriteContext) => void,
  version: VersionOrLayout = 4,
): Uint8Array {
  const out = new DataOutput();
  write(out, value, { version: typeof version === "number" ? version : version.version, depth: 0 });
  return out.toBytes().slice();
}

/** Asserts read(bytes) deep-equals `expected` and write(expected) equals `bytes`. */
export function assertRoundTrip<T>(
  bytes: Uint8Array,
  expected: T,
  read: (input: DataInput, ctx: ReadContext) => T,
  write: (out: DataOutput, v: T, ctx: WriteContext) => void,
  version: VersionOrLayout = 4,
): void {
  assert.deepStrictEqual(readAll(bytes, read, version), expected);
  assert.equal(toHex(writeAll(expected, write, version)), toHex(bytes));
}

/** True for the three typed errors a reader may throw on bad input. */
export function isTypedReadError(e: unknown): boolean {
  return (
    e instanceof CorruptSnapshotError ||
    e instanceof UnsupportedVersionError ||
    e instanceof NotASnapshotError
  );
}

/** Runs `fn` and fails unless it throws one of the typed read errors (returns that error). */
export function expectTypedReadError(fn: () => unknown, what = ""): Error {
  try {
    fn();
  } catch (e) {
    if (isTypedReadError(e)) return e as Error;
    throw new assert.AssertionError({ message: `${what}: expected a typed read error, got ${String(e)}` });
  }
  throw new assert.AssertionError({ message: `${what}: expected a typed read error, but it parsed` });
}

// ---------------------------------------------------------------------------------------------------
// Fixtures

/** Repository root. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/** One generated fixture: its directory, parsed `expected.json` and `_metadata` bytes. */
export interface Fixture {
  /** e.g. `flink-1.20/savepoint-canonical`. */
  name: string;
  dir: string;
  expected: Record<string, unknown>;
  metadataFile: string;
  bytes: Uint8Array;
}

/** Every `fixtures/flink-*\/*\/expected.json` with its metadata file, sorted by name. */
export function listFixtures(): Fixture[] {
  const root = join(REPO_ROOT, "fixtures");
  if (!existsSync(root)) return [];
  const out: Fixture[] = [];
  for (const flink of readdirSync(root)
    .filter((d) => d.startsWith("flink-"))
    .sort()) {
    const flinkDir = join(root, flink);
    let cases: string[];
    try {
      cases = readdirSync(flinkDir).sort();
    } catch {
      continue;
    }
    for (const c of cases) {
      const dir = join(flinkDir, c);
      const expectedFile = join(dir, "expected.json");
      if (!existsSync(expectedFile)) continue;
      const expected = JSON.parse(readFileSync(expectedFile, "utf8")) as Record<string, unknown>;
      const rel = expected.metadataPath;
      if (typeof rel !== "string") throw new Error(`${expectedFile}: no metadataPath`);
      const metadataFile = join(dir, rel);
      out.push({
        name: `${flink}/${c}`,
        dir,
        expected,
        metadataFile,
        bytes: new Uint8Array(readFileSync(metadataFile)),
      });
    }
  }
  return out;
}
