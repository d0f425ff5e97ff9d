/**
 * Where the changelog readers (`changelogChanges` in `./changelog.ts`) keep the streams of the changelog
 * files they read, by URI, so that a file many subtasks' handles point into (Flink's
 * `FsStateChangelogStorage` writes the changes of every task of a TaskManager into one file) is read
 * and decompressed once rather than once per subtask.
 */

/** A place for changelog streams by URI: a `Map` keeps every one; {@link ChangelogStreamCache} a budget. */
export interface ChangelogStreams {
  get(uri: string): Uint8Array | undefined;
  set(uri: string, stream: Uint8Array): unknown;
}

/** Default budget of a {@link ChangelogStreamCache} (bytes). */
export const CHANGELOG_STREAM_CACHE_BYTES = 64 * 1024 * 1024;

/**
 * Keeps streams until their bytes reach `maxBytes`, then keeps no more (a stream larger than what is
 * left is not kept; the ones kept stay). Not least-recently-used: the readers go through a snapshot's
 * files in the same order for each subtask, and under that order an LRU cache smaller than the files
 * would keep none of the files the next subtask asks for first; this keeps the first `maxBytes`' worth
 * for every pass. Streams not kept are read again when asked for.
 *
 * Memory: at most `maxBytes` of streams (bytes).
 */
export class ChangelogStreamCache implements ChangelogStreams {
  private readonly streams = new Map<string, Uint8Array>();
  private kept = 0;

  /**
   * @param maxBytes the most bytes of streams kept (default {@link CHANGELOG_STREAM_CACHE_BYTES}).
   * @throws RangeError for a negative or non-finite budget.
   */
  constructor(readonly maxBytes = CHANGELOG_STREAM_CACHE_BYTES) {
    if (!(maxBytes >= 0) || !Number.isFinite(maxBytes)) throw new RangeError(`cache budget ${maxBytes}`);
  }

  /** Bytes of the streams kept. */
  get bytes(): number {
    return this.kept;
  }

  get(uri: string): Uint8Array | undefined {
    return this.streams.get(uri);
  }

  /** Keeps `stream` under `uri` when it fits in what is left of the budget. */
  set(uri: string, stream: Uint8Array): this {
    if (this.streams.has(uri)) return this;
    if (this.kept + stream.byteLength > this.maxBytes) return this;
    this.streams.set(uri, stream);
    this.kept += stream.byteLength;
    return this;
  }
}
