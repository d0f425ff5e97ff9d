/**
 * The growable byte storage shared by our two writers: {@link DataOutput} (Java's big-endian
 * `DataOutputStream` encodings) and RocksDB's little-endian `ByteWriter` (`formats/rocksdb`). Capacity
 * doubles as needed; subclasses write at `pos` after `ensure(n)`.
 */
export abstract class GrowableBuffer {
  protected buf: Uint8Array;
  protected view: DataView;
  protected pos = 0;

  constructor(initialCapacity = 256) {
    this.buf = uninitialized(Math.max(16, initialCapacity));
    this.view = new DataView(this.buf.buffer);
  }

  /** Number of bytes written so far. */
  get length(): number {
    return this.pos;
  }

  /** Forgets the bytes written (the capacity is kept), to write anew: a writer reused for many values. */
  reset(): this {
    this.pos = 0;
    return this;
  }

  /** Makes room for `n` more bytes at `pos`. */
  protected ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.byteLength) return;
    let cap = this.buf.byteLength * 2;
    while (cap < need) cap *= 2;
    const next = uninitialized(cap);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
}

/**
 * A plain `Uint8Array` of `n` bytes whose contents need not be zeroed (`Buffer.allocUnsafeSlow`: its own
 * memory, not the shared pool): the writers only ever hand out bytes below their position, which they
 * wrote, so zero-filling every buffer (the 256 KiB pieces of a table writer, say) would be wasted.
 */
function uninitialized(n: number): Uint8Array {
  // Small ones: a plain allocation is as cheap (and may live on V8's heap).
  return n < 4096 ? new Uint8Array(n) : new Uint8Array(Buffer.allocUnsafeSlow(n).buffer, 0, n);
}
