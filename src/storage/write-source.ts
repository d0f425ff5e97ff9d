/**
 * The source of a store write, counted: every store needs the number of bytes it was given (to check
 * what the server stored) and whether the source itself failed (to say so instead of blaming the store).
 */

import { SavepointKitError, StoreFaultError } from "../errors.js";

/** A write source wrapped to count its bytes and remember its failure. */
export interface CountedSource {
  /** The source's chunks, once. */
  chunks: AsyncGenerator<Uint8Array>;
  /** Bytes handed out so far. */
  readonly bytes: number;
  /** What the source threw, if it failed. */
  readonly error: unknown;
  /**
   * The error to report for a failed write of `uri`: the source's own failure when it had one (as a
   * StoreFaultError unless it is already typed), otherwise `storeError`.
   */
  failure(uri: string, storeError: unknown): unknown;
}

/** Wraps bytes or an async iterable of chunks for a write (see {@link CountedSource}). */
export function countedSource(source: Uint8Array | AsyncIterable<Uint8Array>): CountedSource {
  const state = { bytes: 0, error: undefined as unknown };
  async function* chunks(): AsyncGenerator<Uint8Array> {
    try {
      if (source instanceof Uint8Array) {
        state.bytes += source.byteLength;
        yield source;
        return;
      }
      for await (const chunk of source) {
        state.bytes += chunk.byteLength;
        yield chunk;
      }
    } catch (err) {
      state.error = err;
      throw err;
    }
  }
  return {
    chunks: chunks(),
    get bytes() {
      return state.bytes;
    },
    get error() {
      return state.error;
    },
    failure(uri: string, storeError: unknown): unknown {
      if (state.error === undefined) return storeError;
      if (state.error instanceof SavepointKitError) return state.error;
      return new StoreFaultError(`write of ${uri} failed: the source failed: ${String(state.error)}`, {
        uri,
        cause: state.error,
      });
    },
  };
}
