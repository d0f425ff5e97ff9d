/**
 * The compression and checksum libraries with native code (N-API), each loaded on first use.
 *
 * Every CLI command used to load all of them at start-up, because the modules that need them sit under
 * every command: about 40 MB of resident memory and 0.2 s before anything ran, for `inspect`, `files`
 * or `hash` that need none of them. Callers are synchronous (block decoding), so the libraries are
 * loaded with `require` (they all ship CommonJS entry points), once.
 */

import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

type Snappy = typeof import("snappy");
type Lz4 = typeof import("lz4-napi");
type Crc32 = typeof import("@node-rs/crc32");
type XxHash = typeof import("@node-rs/xxhash");
type Zstd = typeof import("fzstd");
type HashWasm = typeof import("hash-wasm");
/** A hash-wasm hasher (`init`, `update`, `digest`); synchronous once created. */
export type WasmHasher = Awaited<ReturnType<HashWasm["createXXHash3"]>>;

let snappyLib: Snappy | undefined;
let lz4Lib: Lz4 | undefined;
let crc32Lib: Crc32 | undefined;
let xxhashLib: XxHash | undefined;
let zstdLib: Zstd | undefined;
let xxh3Hasher: WasmHasher | undefined;
let xxh3Loading: Promise<WasmHasher> | undefined;

/** `snappy` (Snappy block compression). */
export function snappy(): Snappy {
  snappyLib ??= require("snappy") as Snappy;
  return snappyLib;
}

/** `lz4-napi` (LZ4 block decompression). */
export function lz4(): Lz4 {
  lz4Lib ??= require("lz4-napi") as Lz4;
  return lz4Lib;
}

/** `@node-rs/crc32` (CRC-32C). */
export function crc32(): Crc32 {
  crc32Lib ??= require("@node-rs/crc32") as Crc32;
  return crc32Lib;
}

/** `@node-rs/xxhash` (xxHash32/64, XXH3). */
export function xxhash(): XxHash {
  xxhashLib ??= require("@node-rs/xxhash") as XxHash;
  return xxhashLib;
}

/** `fzstd` (ZSTD decompression, pure JavaScript, but large to load). */
export function zstd(): Zstd {
  zstdLib ??= require("fzstd") as Zstd;
  return zstdLib;
}

/**
 * Loads (once) the XXH3-64 hasher of `hash-wasm` (seed 0), whose WebAssembly module is compiled
 * asynchronously; {@link xxh3WasmHasher} returns it afterwards. Per 4 KiB block it is 2-3x cheaper than
 * `@node-rs/xxhash`'s XXH3 (an N-API call and a BigInt per block), with the same digest.
 * @returns the hasher; rejects when the module does not load (callers fall back to `@node-rs/xxhash`).
 */
export function loadXxh3WasmHasher(): Promise<WasmHasher> {
  xxh3Loading ??= (require("hash-wasm") as HashWasm).createXXHash3(0, 0).then((h) => {
    xxh3Hasher = h;
    return h;
  });
  return xxh3Loading;
}

/** The hasher {@link loadXxh3WasmHasher} loaded, or undefined before it has. Shared: use it synchronously. */
export function xxh3WasmHasher(): WasmHasher | undefined {
  return xxh3Hasher;
}
