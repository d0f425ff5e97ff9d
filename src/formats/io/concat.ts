/**
 * Concatenates byte arrays into one new array (the inputs are not kept).
 * @param parts the arrays, in order; empty arrays are allowed.
 * @returns a new `Uint8Array` of the summed length.
 */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.byteLength;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
