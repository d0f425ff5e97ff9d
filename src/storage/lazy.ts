/**
 * A store whose implementation module is loaded on first use.
 *
 * The S3 store pulls in the AWS SDK (about 150 ms of module loading), which a command on local files
 * should not pay for; {@link LazyStore} stands in for it until a call needs it.
 */

import { PassThrough, type Readable } from "node:stream";
import type {
  CopyOptions,
  FileStatus,
  ListOptions,
  ReadStreamOptions,
  Store,
  StoreCapabilities,
  WriteOptions,
} from "./store.js";

export class LazyStore implements Store {
  private loaded: Promise<Store> | undefined;

  /**
   * @param schemes and `capabilities`: what the real store declares (checked against it in tests).
   * @param load imports and builds the real store; called once, on first use.
   */
  constructor(
    readonly schemes: readonly string[],
    readonly capabilities: StoreCapabilities,
    private readonly load: () => Promise<Store>,
  ) {}

  /** The real store, loading it on first call. */
  store(): Promise<Store> {
    this.loaded ??= this.load();
    return this.loaded;
  }

  async stat(uri: string): Promise<FileStatus | null> {
    return (await this.store()).stat(uri);
  }

  async readRange(uri: string, offset: number, length: number): Promise<Uint8Array> {
    return (await this.store()).readRange(uri, offset, length);
  }

  async readAll(uri: string, options?: { maxBytes?: number }): Promise<Uint8Array> {
    return (await this.store()).readAll(uri, options);
  }

  createReadStream(uri: string, options?: ReadStreamOptions): Readable {
    const out = new PassThrough();
    this.store().then(
      (s) => {
        const source = s.createReadStream(uri, options);
        source.on("error", (err) => out.destroy(err));
        out.on("close", () => source.destroy());
        source.pipe(out);
      },
      (err) => out.destroy(err),
    );
    return out;
  }

  async write(
    uri: string,
    source: Uint8Array | AsyncIterable<Uint8Array>,
    options?: WriteOptions,
  ): Promise<number> {
    return (await this.store()).write(uri, source, options);
  }

  async writeAtomic(uri: string, bytes: Uint8Array, options?: WriteOptions): Promise<void> {
    return (await this.store()).writeAtomic(uri, bytes, options);
  }

  async *list(prefix: string, options?: ListOptions): AsyncIterable<FileStatus> {
    yield* (await this.store()).list(prefix, options);
  }

  async copy(source: string, target: string, options?: CopyOptions): Promise<FileStatus | undefined> {
    return (await this.store()).copy(source, target, options);
  }

  async rename(source: string, target: string, options?: { overwrite?: boolean }): Promise<boolean> {
    const store = await this.store();
    return store.rename ? store.rename(source, target, options) : false;
  }

  async syncFiles(uris: readonly string[], options?: { namesOnly?: boolean }): Promise<void> {
    await (await this.store()).syncFiles?.(uris, options);
  }

  async delete(uri: string): Promise<void> {
    return (await this.store()).delete(uri);
  }

  async close(): Promise<void> {
    if (this.loaded) await (await this.loaded).close();
  }
}
