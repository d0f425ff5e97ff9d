/**
 * Counting distinct strings (file URIs) without keeping them: each string is kept as its 128-bit
 * MurmurHash3 digest (`murmur3.ts` {@link stringDigest128}, computed in JavaScript) in an
 * open-addressing table held in one `Uint32Array`, outside the JavaScript heap.
 *
 * Why our own: a snapshot of a large job references millions of files whose URIs (about 100 characters
 * each) would otherwise dominate the memory of a streamed `inspect` (a `Set<string>` of 575,000 URIs
 * held about 150 MB of heap, a `Set<bigint>` of their digests about 40 MB and kept the garbage collector
 * busy); this table needs 16 bytes per slot, at most three quarters full. npm has no maintained
 * off-heap set.
 *
 * Collisions: two different strings with the same digest are counted once, so a count can only be too
 * low, never too high. For strings not built to collide, MurmurHash3_x86_128 behaves as a random
 * 128-bit function (it passes SMHasher's distribution and collision tests; ASCII and other strings
 * are hashed with different seeds, so equal bytes from the two kinds do not meet), so among `n`
 * distinct strings the chance of any collision is about `n^2 / 2^129`: below 10^-24 for ten million
 * files.
 * It is not collision-resistant against an adversary, who could make two file names count as one;
 * the counts are a report figure only (nothing is deleted or copied by them).
 */

import { stringDigest128 } from "./murmur3.js";

const INITIAL_SLOTS = 1024;
/** Words of a slot: the digest as four 32-bit words (numbers compare without allocating). */
const WORDS = 4;

/** Scratch space for a digest's four 32-bit words. */
const digest = new Uint32Array(WORDS);

/** A set of strings that only counts: {@link add} and {@link size}, nothing is kept but digests. */
export class DistinctCounter {
  /** {@link WORDS} words per slot; a slot of zero words is empty. */
  private table: Uint32Array;
  /** A power of two. */
  private slots = INITIAL_SLOTS;
  private count = 0;
  /** Whether the one string whose digest is all zeroes (never met in practice) was added. */
  private zeroSeen = false;

  /**
   * @param expected how many distinct strings are expected (at most): the table is made large enough
   *   for them at once (16 bytes per slot, at most three quarters full), so it need not grow while
   *   they are added. More can be added; the table then grows.
   */
  constructor(expected = 0) {
    while (expected * 4 > this.slots * 3) this.slots *= 2;
    this.table = new Uint32Array(this.slots * WORDS);
  }

  /** Number of distinct strings added. */
  get size(): number {
    return this.count + (this.zeroSeen ? 1 : 0);
  }

  /**
   * Adds `value`; returns true if it was not in the set before.
   * @param also another counter to add `value` to as well (the digest is computed once).
   */
  add(value: string, also?: DistinctCounter): boolean {
    stringDigest128(value, digest);
    const w0 = digest[0] as number;
    const w1 = digest[1] as number;
    const w2 = digest[2] as number;
    const w3 = digest[3] as number;
    also?.addWords(w0, w1, w2, w3);
    return this.addWords(w0, w1, w2, w3);
  }

  private addWords(w0: number, w1: number, w2: number, w3: number): boolean {
    if ((w0 | w1 | w2 | w3) === 0) {
      const added = !this.zeroSeen;
      this.zeroSeen = true;
      return added;
    }
    if ((this.count + 1) * 4 > this.slots * 3) this.grow();
    const added = this.insert(w0, w1, w2, w3);
    if (added) this.count++;
    return added;
  }

  /** Linear probing from the slot the lowest digest word names (the digest bits are uniform). */
  private insert(w0: number, w1: number, w2: number, w3: number): boolean {
    const t = this.table;
    const mask = this.slots - 1;
    for (let i = w0 & mask; ; i = (i + 1) & mask) {
      const at = i * WORDS;
      if ((t[at] as number) === 0 && t[at + 1] === 0 && t[at + 2] === 0 && t[at + 3] === 0) {
        t[at] = w0;
        t[at + 1] = w1;
        t[at + 2] = w2;
        t[at + 3] = w3;
        return true;
      }
      if (t[at] === w0 && t[at + 1] === w1 && t[at + 2] === w2 && t[at + 3] === w3) return false;
    }
  }

  private grow(): void {
    const old = this.table;
    this.slots *= 2;
    this.table = new Uint32Array(this.slots * WORDS);
    for (let at = 0; at < old.length; at += WORDS) {
      const w0 = old[at] as number;
      const w1 = old[at + 1] as number;
      const w2 = old[at + 2] as number;
      const w3 = old[at + 3] as number;
      if ((w0 | w1 | w2 | w3) !== 0) this.insertNew(w0, w1, w2, w3);
    }
  }

  /** {@link insert} of a digest known not to be in the table (rehashing): no comparisons. */
  private insertNew(w0: number, w1: number, w2: number, w3: number): void {
    const t = this.table;
    const mask = this.slots - 1;
    let i = w0 & mask;
    for (
      let at = i * WORDS;
      t[at] !== 0 || t[at + 1] !== 0 || t[at + 2] !== 0 || t[at + 3] !== 0;
      at = i * WORDS
    ) {
      i = (i + 1) & mask;
    }
    const at = i * WORDS;
    t[at] = w0;
    t[at + 1] = w1;
    t[at + 2] = w2;
    t[at + 3] = w3;
  }
}
