/**
 * Maps URI schemes to stores. Operations ask the registry for the store of a URI and never construct
 * stores themselves, so one configuration (credentials, endpoints) serves a whole command.
 */

import { UnsupportedUriError } from "../errors.js";
import { LocalStore } from "./local.js";
import type { Store } from "./store.js";
import { normalizeUri, schemeOf } from "./uri.js";

/** Builds a store for a scheme on first use; lets S3/HDFS clients be created lazily. */
export type StoreFactory = () => Store;

/**
 * A set of stores keyed by URI scheme. Stores are created on first use and closed by {@link close}.
 *
 * @example
 * const stores = new StoreRegistry();
 * const { store, uri } = stores.resolve("./fixtures/x/_metadata");
 * const bytes = await store.readAll(uri);
 */
export class StoreRegistry {
  private readonly factories = new Map<string, StoreFactory>();
  private readonly instances = new Map<StoreFactory, Store>();

  /** A registry with the local store; pass more factories (S3, HDFS) by scheme. */
  constructor(factories: Record<string, StoreFactory> = {}) {
    this.register(["file"], () => new LocalStore());
    for (const [scheme, f] of Object.entries(factories)) this.register([scheme], f);
  }

  /** Serves `schemes` with the store `factory` builds (one instance for all of them). */
  register(schemes: readonly string[], factory: StoreFactory): this {
    for (const s of schemes) this.factories.set(s.toLowerCase(), factory);
    return this;
  }

  /** The schemes this registry serves. */
  get schemes(): string[] {
    return [...this.factories.keys()];
  }

  /**
   * The store for a URI or local path, and the URI in normal form.
   * @throws UnsupportedUriError for a scheme no store serves.
   */
  resolve(input: string): { store: Store; uri: string } {
    const uri = normalizeUri(input);
    return { store: this.storeFor(uri), uri };
  }

  /** The store for an already-normalised URI (only its scheme is read). */
  storeFor(uri: string): Store {
    const scheme = schemeOf(uri);
    const factory = this.factories.get(scheme);
    if (!factory) {
      throw new UnsupportedUriError(
        uri,
        `no store for the '${scheme}' scheme (supported: ${this.schemes.join(", ")})`,
      );
    }
    let store = this.instances.get(factory);
    if (!store) {
      store = factory();
      this.instances.set(factory, store);
    }
    return store;
  }

  /** Closes every store this registry created. */
  async close(): Promise<void> {
    const stores = [...this.instances.values()];
    this.instances.clear();
    await Promise.all(stores.map((s) => s.close()));
  }
}
