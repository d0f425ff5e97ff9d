/**
 * Summing Java longs (`bigint`) exactly without a `bigint` addition per term: terms and partial sums
 * that are safe integers (|x| < 2^53) are added as numbers, only the rest as `bigint`. Used where
 * hundreds of thousands of byte counts are summed (the state sizes of a large `_metadata`), where each
 * `bigint` addition would allocate.
 */

/** An exact running sum of `bigint` terms. */
export class ExactSum {
  /** The part of the sum kept as a number; always a safe integer. */
  private small = 0;
  /** The rest of the sum. */
  private big = 0n;

  /** Adds `v` exactly. */
  add(v: bigint): void {
    const n = Number(v);
    const s = this.small + n;
    // A safe `n` is `v` exactly; a safe `s` is then the exact sum (an unsafe true sum never rounds
    // to a safe one).
    if (Number.isSafeInteger(n) && Number.isSafeInteger(s)) this.small = s;
    else this.big += v;
  }

  /** The sum so far. */
  get value(): bigint {
    return this.big + BigInt(this.small);
  }
}
