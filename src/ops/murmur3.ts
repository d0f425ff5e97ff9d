/**
 * MurmurHash3, x86 128-bit variant (Austin Appleby's `MurmurHash3_x86_128`, public domain, as in
 * SMHasher), for strings.
 *
 * Why our own (about 160 lines): it is used for the distinct-file counts of `inspect` (about 750,000
 * URIs for a 100 MB `_metadata`), where hashing through N-API (XXH3 of `@node-rs/xxhash`, returning a
 * `bigint`) took a fifth of the run. This one allocates nothing per string (no `bigint`, no buffer) and
 * works in 32-bit `Math.imul` arithmetic; the npm MurmurHash3 packages hash only the low byte of each
 * character, or return strings or arrays.
 *
 * Not a cryptographic hash: strings built on purpose to collide can be found. See `distinct-count.ts`
 * for what a collision means there.
 */

const C1 = 0x239b961b;
const C2 = 0xab0e9789;
const C3 = 0x38b34ae5;
const C4 = 0xa1e38b93;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Scratch bytes for ASCII strings, read as little-endian 32-bit words. */
const SCRATCH_BYTES = 4096;
const scratch = new Uint8Array(SCRATCH_BYTES);
const scratchWords = new Uint32Array(scratch.buffer);
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;
const encoder = new TextEncoder();

/** Seeds that keep the two encodings apart: `"ab"` (bytes 61 62) and `"\u6261"` (UTF-16LE 61 62). */
const ASCII_SEED = 0;
const UTF16_SEED = 1;

/**
 * Writes a 128-bit digest of `s` into `out` as four unsigned 32-bit words: for a string of ASCII
 * characters only (up to 1365 of them), `MurmurHash3_x86_128(its bytes, seed 0)`; for any other
 * string, `MurmurHash3_x86_128(its UTF-16LE bytes, seed 1)` (see {@link murmur3x86_128}). Different
 * strings differ in what is hashed: ASCII strings differ in bytes, others in code units (a lone
 * surrogate is hashed as itself, never replaced), and the seeds keep the two kinds apart.
 *
 * @param out at least 4 words; words 0 to 3 are overwritten.
 */
export function stringDigest128(s: string, out: Uint32Array): void {
  if (LITTLE_ENDIAN && s.length * 3 <= SCRATCH_BYTES) {
    // Every character fits (at most 3 bytes per code unit), so `written` is the UTF-8 length, which
    // equals the number of code units exactly when all are ASCII.
    const written = encoder.encodeInto(s, scratch).written;
    if (written === s.length) {
      murmur3Words(scratchWords, written, ASCII_SEED, out);
      return;
    }
  }
  murmur3x86_128(s, UTF16_SEED, out);
}

/**
 * `MurmurHash3_x86_128` of `byteLength` bytes held as little-endian words in `words` (bytes past
 * `byteLength` in the last word are ignored).
 */
function murmur3Words(words: Uint32Array, byteLength: number, seed: number, out: Uint32Array): void {
  let h1 = seed;
  let h2 = seed;
  let h3 = seed;
  let h4 = seed;
  const blockWords = (byteLength >>> 4) << 2;
  let w = 0;
  for (; w < blockWords; w += 4) {
    h1 ^= Math.imul(rotl(Math.imul(words[w] as number, C1), 15), C2);
    h1 = (Math.imul(rotl(h1, 19) + h2, 5) + 0x561ccd1b) | 0;
    h2 ^= Math.imul(rotl(Math.imul(words[w + 1] as number, C2), 16), C3);
    h2 = (Math.imul(rotl(h2, 17) + h3, 5) + 0x0bcaa747) | 0;
    h3 ^= Math.imul(rotl(Math.imul(words[w + 2] as number, C3), 17), C4);
    h3 = (Math.imul(rotl(h3, 15) + h4, 5) + 0x96cd1c35) | 0;
    h4 ^= Math.imul(rotl(Math.imul(words[w + 3] as number, C4), 18), C1);
    h4 = (Math.imul(rotl(h4, 13) + h1, 5) + 0x32ac3b17) | 0;
  }
  // Tail: 0 to 15 bytes; tail word j is mixed when it holds any byte, its missing bytes as zeros.
  const rest = byteLength & 15;
  if (rest > 12) h4 ^= Math.imul(rotl(Math.imul(tailWord(words, w + 3, rest - 12), C4), 18), C1);
  if (rest > 8) h3 ^= Math.imul(rotl(Math.imul(tailWord(words, w + 2, rest - 8), C3), 17), C4);
  if (rest > 4) h2 ^= Math.imul(rotl(Math.imul(tailWord(words, w + 1, rest - 4), C2), 16), C3);
  if (rest > 0) h1 ^= Math.imul(rotl(Math.imul(tailWord(words, w, rest), C1), 15), C2);
  finish(h1, h2, h3, h4, byteLength, out);
}

/** Word `at` with only its first `bytes` bytes (1 to 4; more means all). */
function tailWord(words: Uint32Array, at: number, bytes: number): number {
  const v = words[at] as number;
  return bytes >= 4 ? v : v & ((1 << (bytes * 8)) - 1);
}

/** Code units `at` and `at + 1` (0 past the end) as one little-endian 32-bit word. */
function unitPair(s: string, at: number, units: number): number {
  return s.charCodeAt(at) | (at + 1 < units ? s.charCodeAt(at + 1) << 16 : 0);
}

/**
 * Writes `MurmurHash3_x86_128` of `s`'s UTF-16LE bytes with `seed` into `out` as four unsigned 32-bit
 * words, `h1` to `h4` (the reference's output words, in order). Reads the string in place.
 *
 * @param seed an unsigned 32-bit seed.
 * @param out at least 4 words; words 0 to 3 are overwritten.
 */
export function murmur3x86_128(s: string, seed: number, out: Uint32Array): void {
  const units = s.length;
  let h1 = seed | 0;
  let h2 = seed | 0;
  let h3 = seed | 0;
  let h4 = seed | 0;
  // A 16-byte block is 8 code units; each 32-bit word is two units, the first in the low half.
  const blockEnd = units - (units & 7);
  let i = 0;
  for (; i < blockEnd; i += 8) {
    const k1 = s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16);
    const k2 = s.charCodeAt(i + 2) | (s.charCodeAt(i + 3) << 16);
    const k3 = s.charCodeAt(i + 4) | (s.charCodeAt(i + 5) << 16);
    const k4 = s.charCodeAt(i + 6) | (s.charCodeAt(i + 7) << 16);
    h1 ^= Math.imul(rotl(Math.imul(k1, C1), 15), C2);
    h1 = (Math.imul(rotl(h1, 19) + h2, 5) + 0x561ccd1b) | 0;
    h2 ^= Math.imul(rotl(Math.imul(k2, C2), 16), C3);
    h2 = (Math.imul(rotl(h2, 17) + h3, 5) + 0x0bcaa747) | 0;
    h3 ^= Math.imul(rotl(Math.imul(k3, C3), 17), C4);
    h3 = (Math.imul(rotl(h3, 15) + h4, 5) + 0x96cd1c35) | 0;
    h4 ^= Math.imul(rotl(Math.imul(k4, C4), 18), C1);
    h4 = (Math.imul(rotl(h4, 13) + h1, 5) + 0x32ac3b17) | 0;
  }
  // Tail: 0 to 7 code units (0 to 14 bytes); tail word j is mixed when it holds any byte.
  const rest = units - i;
  if (rest > 6) h4 ^= Math.imul(rotl(Math.imul(s.charCodeAt(i + 6), C4), 18), C1);
  if (rest > 4) h3 ^= Math.imul(rotl(Math.imul(unitPair(s, i + 4, units), C3), 17), C4);
  if (rest > 2) h2 ^= Math.imul(rotl(Math.imul(unitPair(s, i + 2, units), C2), 16), C3);
  if (rest > 0) h1 ^= Math.imul(rotl(Math.imul(unitPair(s, i, units), C1), 15), C2);
  finish(h1, h2, h3, h4, units * 2, out);
}

/** The reference's finalisation: length, cross-lane sums and `fmix32` avalanche. */
function finish(h1: number, h2: number, h3: number, h4: number, byteLength: number, out: Uint32Array): void {
  h1 ^= byteLength;
  h2 ^= byteLength;
  h3 ^= byteLength;
  h4 ^= byteLength;
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  h1 = fmix(h1);
  h2 = fmix(h2);
  h3 = fmix(h3);
  h4 = fmix(h4);
  h1 = (h1 + h2 + h3 + h4) | 0;
  out[0] = h1;
  out[1] = h2 + h1;
  out[2] = h3 + h1;
  out[3] = h4 + h1;
}
