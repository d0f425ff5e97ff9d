/**
 * Helpers shared by the `_metadata` codec modules: the read/write contexts that carry the format
 * version and bound the nesting depth, key-group ranges, strict modified-UTF-8 strings, Java int
 * range checks and OperatorID conversion.
 *
 * Policy shared by every reader in this directory: accept exactly the encodings Flink's writers
 * produce. Where Flink's reader is laxer than its writer (a boolean int that is neither 0 nor 1, an
 * overlong UTF-8 sequence, a fully-finished marker other than -1), we refuse the bytes with a
 * {@link CorruptSnapshotError}: Flink never writes them, and refusing them is what makes
 * `writeMetadata(readMetadata(bytes))` byte-identical for every file we accept.
 */

import { InvalidArgumentError } from "../../errors.js";
import { type DataInput, decodeModifiedUtf8 } from "../io/data-input.js";
import { type DataOutput, encodeModifiedUtf8 } from "../io/data-output.js";
import type { KeyGroupRange } from "./model.js";

/**
 * How deep handles may nest (a changelog handle holds keyed handles, which hold stream handles,
 * which may be key-group handles holding stream handles...). Real files nest at most 4 deep; the
 * bound only stops corrupt or cyclic input from exhausting the stack.
 */
export const MAX_HANDLE_DEPTH = 16;

/**
 * The two older layouts of metadata V3, which Flink changed twice without bumping the version (see
 * `v3.ts` for how a file's layout is detected):
 *
 * - `"flink111"`: Flink 1.11's `ChannelStateHandleSerializer` wrote channel state handles without the
 *   leading `int subtaskIndex` (added in 1.12). Flink 1.11 had no changelog state handles.
 * - `"flink114"`: Flink 1.14 wrote the changelog handles (tags 8, 9, 10) with shorter bodies than
 *   1.15 (see `keyed-handles.ts`). Flink 1.14 had no tags 13 and 14 (1.16+).
 *
 * Absent: the current layout (Flink 1.12+ channel handles, 1.15+ changelog bodies), the only one in
 * V4 and later.
 */
export type LegacyV3Layout = "flink111" | "flink114";

/** State threaded through the readers: the format version and the current handle nesting depth. */
export interface ReadContext {
  /** Metadata format version being read (2..7); a few bodies depend on it. */
  readonly version: number;
  /** Handle nesting depth so far (0 at a subtask slot). */
  depth: number;
  /** V3 only: read with this older layout instead of the current one. */
  readonly legacyLayout?: LegacyV3Layout;
  /**
   * Set by the readers when they meet bytes read differently in an older V3 layout: a non-empty
   * channel handle list (`"flink111"`: its count bound and bodies) or a changelog handle of tag 8, 9
   * or 10 (`"flink114"`). A parse that failed before meeting one would fail the same way in that
   * layout, so the V3 reader only retries the layouts met.
   */
  met?: Set<LegacyV3Layout>;
}

/** State threaded through the writers: the format version written and the handle nesting depth. */
export interface WriteContext {
  /** Metadata format version being written (2..7). */
  readonly version: number;
  /** Handle nesting depth so far. */
  depth: number;
  /**
   * The V3 layout the handles written so far need, set by the first layout-dependent handle:
   * `"current"`, or a {@link LegacyV3Layout}. See {@link requireLayout}.
   */
  channelLayout?: "current" | "flink111";
  /** As {@link channelLayout}, for changelog handles. */
  changelogLayout?: "current" | "flink114";
}

/**
 * Records, while writing one file, which V3 layout a handle needs (`legacy`: the handle has the
 * older form, e.g. a channel handle without `subtaskIndex`), and refuses what Flink could not have
 * written: an older form outside V3, both forms of one kind in one file, or changelog handles next to
 * Flink 1.11 channel handles. Such a file would not read back as the model.
 *
 * @param kind `"channel"` (legacy = Flink 1.11 layout) or `"changelog"` (legacy = Flink 1.14 bodies;
 *   every changelog handle counts, tags 13/14 in the current form).
 * @param what the handle, for messages.
 * @throws InvalidArgumentError as described.
 */
export function requireLayout(
  ctx: WriteContext,
  kind: "channel" | "changelog",
  legacy: boolean,
  what: string,
): void {
  const layout = kind === "channel" ? "flink111" : "flink114";
  const form =
    kind === "channel"
      ? "channel state handles without subtaskIndex (the Flink 1.11 layout)"
      : "changelog handles with Flink 1.14 bodies (flink114Body)";
  if (legacy && ctx.version !== 3) {
    throw new InvalidArgumentError(`${what}: ${form} exist only in metadata V3, not V${ctx.version}`);
  }
  const need = legacy ? layout : "current";
  const had = kind === "channel" ? ctx.channelLayout : ctx.changelogLayout;
  if (had !== undefined && had !== need) {
    throw new InvalidArgumentError(
      `${what}: one file mixes ${form} with the later form; Flink writes one layout per file`,
    );
  }
  if (kind === "channel") ctx.channelLayout = need as "current" | "flink111";
  else ctx.changelogLayout = need as "current" | "flink114";
  if (ctx.channelLayout === "flink111" && ctx.changelogLayout !== undefined) {
    throw new InvalidArgumentError(
      `${what}: the Flink 1.11 layout (channel state handles without subtaskIndex) cannot hold changelog state handles (Flink 1.14+)`,
    );
  }
}

/** Runs `fn` one nesting level deeper; throws {@link CorruptSnapshotError} past {@link MAX_HANDLE_DEPTH}. */
export function descendRead<T>(input: DataInput, ctx: ReadContext, fn: () => T): T {
  if (ctx.depth >= MAX_HANDLE_DEPTH) {
    throw input.corrupt(`state handles nested deeper than ${MAX_HANDLE_DEPTH} levels`);
  }
  ctx.depth++;
  try {
    return fn();
  } finally {
    ctx.depth--;
  }
}

/** Runs `fn` one nesting level deeper; throws {@link InvalidArgumentError} past {@link MAX_HANDLE_DEPTH}. */
export function descendWrite<T>(ctx: WriteContext, fn: () => T): T {
  if (ctx.depth >= MAX_HANDLE_DEPTH) {
    throw new InvalidArgumentError(
      `state handles nested deeper than ${MAX_HANDLE_DEPTH} levels (cyclic model?)`,
    );
  }
  ctx.depth++;
  try {
    return fn();
  } finally {
    ctx.depth--;
  }
}

/**
 * `DataInputStream.readUTF` (u16 byte length + Java modified UTF-8), refusing encodings Flink's
 * `writeUTF` never produces (overlong sequences, raw NUL), so that the string re-encodes to exactly
 * the bytes read. ASCII strings (the common case: paths, ids) take a fast path.
 * @throws CorruptSnapshotError on truncation, malformed or non-canonical modified UTF-8.
 */
export function readString(input: DataInput): string {
  const at = input.position;
  const len = input.readUnsignedShort();
  const ascii = input.readAsciiString(len, "UTF string");
  if (ascii !== null) return ascii;
  const b = input.readFully(len, "UTF string");
  const s = decodeModifiedUtf8(b, (msg, i) => input.corrupt(msg, at + 2 + i));
  if (encodeModifiedUtf8(s).byteLength !== len) {
    throw input.corrupt("non-canonical modified UTF-8 string (overlong encoding)", at);
  }
  return s;
}

/**
 * Reads an int that Flink writes as 0 or 1 (e.g. `hasManagedOperatorState`).
 * @throws CorruptSnapshotError for any other value (Flink's reader would take non-zero as true).
 */
export function readIntFlag(input: DataInput, what: string): boolean {
  const at = input.position;
  const v = input.readInt();
  if (v !== 0 && v !== 1) {
    throw input.corrupt(`${what} must be 0 or 1, found ${v}`, at);
  }
  return v === 1;
}

/**
 * Reads a byte that Flink writes with `writeBoolean` (0 or 1).
 * @throws CorruptSnapshotError for any other value.
 */
export function readStrictBoolean(input: DataInput, what: string): boolean {
  const at = input.position;
  const v = input.readUnsignedByte();
  if (v > 1) {
    throw input.corrupt(`${what} must be a boolean 0 or 1, found ${v}`, at);
  }
  return v === 1;
}

/**
 * The next `n` bytes as a **view** into the input buffer (no copy): byte fields of the model (inline
 * state, master state payloads, the properties trailer) share the caller's buffer, so a parse costs
 * no more memory than the file and a failed parse copies nothing. Callers that mutate the input
 * buffer afterwards must pass a copy.
 */
export function readBytes(input: DataInput, n: number, what: string): Uint8Array {
  return input.readFully(n, what);
}

/** Reads an `int` length followed by that many bytes (Flink's ad-hoc `writeInt(len); write(bytes)`). */
export function readLengthPrefixedBytes(input: DataInput, what: string): Uint8Array {
  const at = input.position;
  const n = input.readInt();
  if (n < 0) throw input.corrupt(`negative length ${n} of ${what}`, at);
  if (n > input.remaining) {
    throw input.corrupt(`length ${n} of ${what} exceeds the ${input.remaining} bytes left`, at);
  }
  return readBytes(input, n, what);
}

/** Writes `int length` then the bytes. */
export function writeLengthPrefixedBytes(out: DataOutput, bytes: Uint8Array, what: string): void {
  writeInt32(out, bytes.byteLength, `${what} length`);
  out.write(bytes);
}

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;

/** True when `v` is an integer in the Java `int` range. */
export function isInt32(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX;
}

/** `writeInt` for a value that must be a Java `int`; throws {@link InvalidArgumentError} otherwise. */
export function writeInt32(out: DataOutput, v: number, what: string): void {
  if (!isInt32(v))
    throw new InvalidArgumentError(`${what} must be a 32-bit signed integer, got ${String(v)}`);
  out.writeInt(v);
}

/** `writeLong` for a value that must be a Java `long`; throws {@link InvalidArgumentError} otherwise. */
export function writeInt64(out: DataOutput, v: bigint, what: string): void {
  if (typeof v !== "bigint" || v < -(2n ** 63n) || v > 2n ** 63n - 1n) {
    throw new InvalidArgumentError(`${what} must be a 64-bit signed bigint, got ${String(v)}`);
  }
  out.writeLong(v);
}

/** `writeUTF` with a clear error naming the field. */
export function writeString(out: DataOutput, s: string, what: string): void {
  if (typeof s !== "string") throw new InvalidArgumentError(`${what} must be a string, got ${typeof s}`);
  if (encodeModifiedUtf8(s).byteLength > 0xffff) {
    throw new InvalidArgumentError(`${what} is longer than 65535 bytes in modified UTF-8`);
  }
  out.writeUTF(s);
}

/**
 * Reads Flink's key-group range encoding `int start, int numberOfKeyGroups` (as written by
 * `KeyGroupRange.getStartKeyGroup()` / `getNumberOfKeyGroups()`), returning the inclusive range
 * `{start, end: start + count - 1}` and the count.
 *
 * Flink builds the range with `KeyGroupRange.of`, which maps any empty range to (0, -1); we keep the
 * stored start so the bytes round-trip. A non-empty range must start at 0 or above and end at most
 * at `Integer.MAX_VALUE` (the `KeyGroupRange` constructor's checks).
 * @throws CorruptSnapshotError for a negative count or an out-of-range non-empty range.
 */
export function readKeyGroupRange(input: DataInput): { range: KeyGroupRange; count: number } {
  const at = input.position;
  const start = input.readInt();
  const count = input.readInt();
  if (count < 0) throw input.corrupt(`negative number of key groups ${count}`, at + 4);
  if (count > 0 && (start < 0 || start + count - 1 > INT32_MAX)) {
    throw input.corrupt(`invalid key-group range: start ${start}, ${count} key groups`, at);
  }
  return { range: { start, end: start + count - 1 }, count };
}

/**
 * Writes a key-group range as `int start, int count` where `count = end - start + 1`.
 * @returns the count, for callers that write one item per key group.
 * @throws InvalidArgumentError when the range is not representable (count < 0 or out of int range).
 */
export function writeKeyGroupRange(out: DataOutput, r: KeyGroupRange, what: string): number {
  if (r === null || typeof r !== "object") throw new InvalidArgumentError(`${what}: missing keyGroupRange`);
  const count = r.end - r.start + 1;
  if (!isInt32(r.start) || !Number.isInteger(r.end) || !isInt32(count) || count < 0) {
    throw new InvalidArgumentError(`${what}: invalid key-group range [${r.start}, ${r.end}]`);
  }
  if (count > 0 && r.start < 0) {
    throw new InvalidArgumentError(`${what}: key-group range [${r.start}, ${r.end}] starts below 0`);
  }
  out.writeInt(r.start);
  out.writeInt(count);
  return count;
}

const HEX32 = /^[0-9a-fA-F]{32}$/;

/**
 * Reads an OperatorID as Flink writes it in the operator record: `long lowerPart, long upperPart`,
 * i.e. the 16 bytes `AbstractID.getBytes()` returns, shown as 32 lower-case hex characters
 * (the same string Flink prints in logs and the web UI).
 */
export function readOperatorId(input: DataInput): string {
  return Buffer.from(input.readFully(16, "OperatorID")).toString("hex");
}

/**
 * Writes a 32-hex-character OperatorID as its 16 bytes (lowerPart then upperPart, big-endian).
 * @throws InvalidArgumentError when `id` is not 32 hex characters.
 */
export function writeOperatorId(out: DataOutput, id: string): void {
  if (typeof id !== "string" || !HEX32.test(id)) {
    throw new InvalidArgumentError(`operatorId must be 32 hex characters, got ${JSON.stringify(id)}`);
  }
  out.write(Uint8Array.from(Buffer.from(id, "hex")));
}
