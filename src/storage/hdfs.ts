/**
 * The HDFS store (`hdfs://host:port/path`, and `hdfs:///path` on the default NameNode), over WebHDFS with
 * our own client (`./webhdfs-client.ts`; its header says why not the `webhdfs` npm package).
 *
 * - Writes go to a temporary name beside the target (`.<name>.<random>.tmp`) with the two-step CREATE,
 *   are checked for length, and are renamed into place (RENAME with OVERWRITE, atomic in HDFS); a failed
 *   write deletes the temporary file. So a file under its final name is always complete.
 * - Reads are OPEN with offset/length (following the redirect to a DataNode); a body that breaks in the
 *   middle is resumed from the first byte not yet delivered, a bounded number of times.
 * - Listing pages with LISTSTATUS_BATCH (page size is the NameNode's `dfs.ls.limit`).
 * - Copies stream through this process (WebHDFS has no server-side copy) into a temporary file + rename.
 * - `rename` within one NameNode is WebHDFS RENAME (relocate `--move` moves no bytes).
 *
 * Configuration (options win over the environment; see `docs/storage.md`):
 * - WebHDFS address per NameNode: `hdfs://nn:8020/...` -> `http://nn:9870` unless mapped by
 *   {@link HdfsStoreOptions.webhdfs} or `SAVEPOINT_KIT_WEBHDFS` (`nn:8020=http://127.0.0.1:50070,...`);
 * - default NameNode for `hdfs:///...`: {@link HdfsStoreOptions.defaultFs} or `SAVEPOINT_KIT_HDFS_DEFAULT_FS`
 *   (`hdfs://nn:8020` or `nn:8020`);
 * - user: {@link HdfsStoreOptions.user} or `HADOOP_USER_NAME` (sent as `user.name`);
 * - delegation token: {@link HdfsStoreOptions.delegationToken} or `SAVEPOINT_KIT_HDFS_DELEGATION_TOKEN`
 *   (the URL-safe string form; sent as `delegation=`, replaces `user.name`).
 */

import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import {
  AlreadyExistsError,
  NotFoundError,
  PermissionDeniedError,
  SavepointKitError,
  StoreFaultError,
  UnsupportedUriError,
} from "../errors.js";
import type {
  FileStatus,
  ListOptions,
  ReadStreamOptions,
  Store,
  StoreCapabilities,
  WriteOptions,
} from "./store.js";
import { formatUri, parseUri } from "./uri.js";
import { WebHdfsClient, type WebHdfsClientOptions, type WebHdfsFileStatus } from "./webhdfs-client.js";
import { parseWebHdfsMap } from "./webhdfs-map.js";
import { countedSource } from "./write-source.js";

export { parseWebHdfsMap };

const DEFAULT_MAX_READ = 2 * 1024 * 1024 * 1024;

/** Default NameNode HTTP port of Hadoop 3 (`dfs.namenode.http-address`). */
export const DEFAULT_WEBHDFS_PORT = 9870;

/** Configuration of {@link HdfsStore}. Every field is optional. */
export interface HdfsStoreOptions {
  /**
   * WebHDFS base URL per NameNode authority (`host:port` or `host` as written in `hdfs://` URIs), e.g.
   * `{ "nn:8020": "http://127.0.0.1:50070" }`. Merged over `SAVEPOINT_KIT_WEBHDFS`. Unmapped NameNodes
   * use `http://<host>:9870`.
   */
  webhdfs?: Record<string, string>;
  /** The NameNode for `hdfs:///path` URIs: `hdfs://nn:8020` or `nn:8020` (default `SAVEPOINT_KIT_HDFS_DEFAULT_FS`). */
  defaultFs?: string;
  /** Simple-auth user name (default `HADOOP_USER_NAME`; none: the NameNode's anonymous default). */
  user?: string;
  /** Delegation token, URL-safe string form (default `SAVEPOINT_KIT_HDFS_DELEGATION_TOKEN`). */
  delegationToken?: string;
  /** Extra NameNode request headers, e.g. a SPNEGO `Authorization` header; never sent to another host. */
  headers?: WebHdfsClientOptions["headers"];
  /** Milliseconds to wait for response headers, and for each piece of a read body (default 60 000). */
  requestTimeoutMs?: number;
  /** Times a broken read stream is resumed without making progress before the read fails (default 3). */
  readRetries?: number;
  /** The fetch implementation (default: the global `fetch`). */
  fetch?: typeof fetch;
  /** Environment to read defaults from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
}

/** `promise`, or a StoreFaultError when it takes longer than `ms` (a stalled body read). */
async function withIdleTimeout<T>(promise: Promise<T>, ms: number, uri: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new StoreFaultError(`HDFS read stalled for ${ms} ms (${uri})`, { uri })),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function tempPath(path: string): string {
  const slash = path.lastIndexOf("/");
  return `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}.${randomBytes(6).toString("hex")}.tmp`;
}

/**
 * The error of a step on a temporary file, re-addressed to the file the caller asked for (same class,
 * the temporary name kept in the message for diagnosis).
 */
function relabel(err: unknown, uri: string): SavepointKitError {
  if (err instanceof SavepointKitError && err.uri === uri) return err;
  const message = `${uri}: ${(err as Error)?.message ?? String(err)}`;
  if (err instanceof NotFoundError) return new NotFoundError(uri, { message, cause: err });
  if (err instanceof PermissionDeniedError) return new PermissionDeniedError(uri, { message, cause: err });
  if (err instanceof AlreadyExistsError) return new AlreadyExistsError(uri, { message, cause: err });
  return new StoreFaultError(`HDFS write failed: ${message}`, { uri, cause: err });
}

/**
 * The HDFS store over WebHDFS. One instance serves every NameNode (a client per NameNode authority).
 *
 * @example
 * const store = new HdfsStore({ webhdfs: { "nn:8020": "http://nn:9870" }, user: "flink" });
 * for await (const f of store.list("hdfs://nn:8020/flink/savepoints/sp-1")) console.log(f.uri, f.size);
 */
export class HdfsStore implements Store {
  readonly schemes = ["hdfs"] as const;
  readonly capabilities: StoreCapabilities = {
    serverSideCopy: false,
    atomicWrite: true,
    realDirectories: true,
    atomicRename: true,
  };

  private readonly options: HdfsStoreOptions;
  private readonly map: Record<string, string>;
  private readonly defaultFs: string | undefined;
  private readonly user: string | undefined;
  private readonly token: string | undefined;
  private readonly readRetries: number;
  private readonly idleTimeoutMs: number;
  private readonly clients = new Map<string, WebHdfsClient>();

  constructor(options: HdfsStoreOptions = {}) {
    const env = options.env ?? process.env;
    this.options = options;
    this.map = { ...parseWebHdfsMap(env.SAVEPOINT_KIT_WEBHDFS), ...(options.webhdfs ?? {}) };
    const dfs = options.defaultFs ?? (env.SAVEPOINT_KIT_HDFS_DEFAULT_FS || undefined);
    this.defaultFs = dfs?.replace(/^hdfs:\/\//, "").replace(/\/+$/, "");
    this.user = options.user ?? (env.HADOOP_USER_NAME || undefined);
    this.token = options.delegationToken ?? (env.SAVEPOINT_KIT_HDFS_DELEGATION_TOKEN || undefined);
    this.readRetries = options.readRetries ?? 3;
    this.idleTimeoutMs = options.requestTimeoutMs ?? 60_000;
  }

  /** The WebHDFS base URL serving a NameNode authority (`""` is the default NameNode). */
  webHdfsUrl(authority: string): string {
    const nn = authority === "" ? this.defaultFs : authority;
    if (nn === undefined || nn === "") {
      throw new UnsupportedUriError(
        "hdfs:///",
        "hdfs:/// URIs need a default NameNode: set SAVEPOINT_KIT_HDFS_DEFAULT_FS (e.g. hdfs://nn:8020)",
      );
    }
    const host = nn.replace(/:\d+$/, "");
    const mapped = this.map[nn] ?? this.map[host] ?? (authority === "" ? this.map[""] : undefined);
    return (
      mapped ??
      `http://${host.includes(":") && !host.startsWith("[") ? `[${host}]` : host}:${DEFAULT_WEBHDFS_PORT}`
    );
  }

  /** The client and HDFS path of a URI. */
  private resolve(uri: string): { client: WebHdfsClient; path: string; authority: string } {
    const u = parseUri(uri);
    if (u.scheme !== "hdfs") throw new UnsupportedUriError(uri, `not an HDFS URI: ${uri}`);
    let client = this.clients.get(u.authority);
    if (!client) {
      const opts: WebHdfsClientOptions = {
        baseUrl: this.webHdfsUrl(u.authority),
        label: (p) => formatUri({ scheme: "hdfs", authority: u.authority, path: p }),
      };
      if (this.user !== undefined) opts.user = this.user;
      if (this.token !== undefined) opts.delegationToken = this.token;
      if (this.options.headers) opts.headers = this.options.headers;
      if (this.options.requestTimeoutMs !== undefined) opts.requestTimeoutMs = this.options.requestTimeoutMs;
      if (this.options.fetch) opts.fetch = this.options.fetch;
      client = new WebHdfsClient(opts);
      this.clients.set(u.authority, client);
    }
    return { client, path: u.path, authority: u.authority };
  }

  /** The WebHDFS client for a URI's NameNode (for operations outside {@link Store}, e.g. permissions). */
  clientFor(uri: string): WebHdfsClient {
    return this.resolve(uri).client;
  }

  private toStatus(authority: string, path: string, s: WebHdfsFileStatus): FileStatus {
    return {
      uri: formatUri({ scheme: "hdfs", authority, path }),
      size: s.length,
      modified: new Date(s.modificationTime),
    };
  }

  async stat(uri: string): Promise<FileStatus | null> {
    const { client, path, authority } = this.resolve(uri);
    const s = await client.getFileStatus(path);
    if (s === null || s.type !== "FILE") return null;
    return this.toStatus(authority, path, s);
  }

  async readRange(uri: string, offset: number, length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    if (length === 0) return out;
    let done = 0;
    for await (const chunk of this.readChunks(uri, offset, length)) {
      out.set(chunk, done);
      done += chunk.byteLength;
    }
    return out;
  }

  async readAll(uri: string, options?: { maxBytes?: number }): Promise<Uint8Array> {
    const max = options?.maxBytes ?? DEFAULT_MAX_READ;
    const s = await this.stat(uri);
    if (s === null) throw new NotFoundError(uri);
    if (s.size > max) {
      throw new StoreFaultError(`file is ${s.size} bytes, more than the ${max} bytes allowed for this read`, {
        uri,
      });
    }
    return this.readRange(uri, 0, s.size);
  }

  createReadStream(uri: string, options?: ReadStreamOptions): Readable {
    if (options?.length === 0) return Readable.from([]);
    return Readable.from(this.readChunks(uri, options?.offset ?? 0, options?.length), { objectMode: false });
  }

  /**
   * Bytes `offset .. offset+length` (or to the end), as chunks; a broken body is resumed with a new OPEN
   * at the first missing byte, failing with StoreFaultError after `readRetries` tries in a row without
   * progress or when the file is shorter than the range.
   */
  private async *readChunks(
    uri: string,
    offset: number,
    length: number | undefined,
  ): AsyncGenerator<Uint8Array> {
    const { client, path } = this.resolve(uri);
    const s = await client.getFileStatus(path);
    if (s === null || s.type !== "FILE") throw new NotFoundError(uri);
    const end = length === undefined ? s.length : offset + length;
    if (end > s.length || offset > s.length) {
      throw new StoreFaultError(
        `short read: wanted bytes ${offset}..${end} but the file has ${s.length} bytes`,
        { uri },
      );
    }
    let pos = offset;
    let failures = 0;
    let lastError: unknown;
    while (pos < end) {
      const before = pos;
      const controller = new AbortController();
      try {
        const res = await client.open(path, { offset: pos, length: end - pos, signal: controller.signal });
        if (!res.body) throw new StoreFaultError(`WebHDFS OPEN gave no body (${uri})`, { uri });
        const reader = res.body.getReader();
        try {
          for (;;) {
            const { done, value } = await withIdleTimeout(reader.read(), this.idleTimeoutMs, uri);
            if (done) break;
            const room = end - pos;
            const piece = value.byteLength > room ? value.subarray(0, room) : value;
            pos += piece.byteLength;
            if (piece.byteLength > 0) yield piece;
            if (pos >= end) break;
          }
        } finally {
          await reader.cancel().catch(() => {});
        }
      } catch (err) {
        if (err instanceof SavepointKitError && !(err instanceof StoreFaultError)) throw err;
        lastError = err;
      } finally {
        controller.abort();
      }
      if (pos >= end) return;
      if (pos > before) failures = 0;
      if (++failures > this.readRetries) {
        const reason =
          (lastError as Error & { cause?: Error })?.cause?.message ?? (lastError as Error)?.message;
        throw new StoreFaultError(
          `HDFS read of ${uri} broke at byte ${pos} of ${end} and could not be resumed${reason ? `: ${reason}` : ""}`,
          { uri, cause: lastError },
        );
      }
    }
  }

  async write(
    uri: string,
    source: Uint8Array | AsyncIterable<Uint8Array>,
    options?: WriteOptions,
  ): Promise<number> {
    const { client, path } = this.resolve(uri);
    if (path === "/") throw new UnsupportedUriError(uri, `not a file path: ${uri}`);
    const overwrite = options?.overwrite ?? true;
    if (!overwrite && (await client.getFileStatus(path)) !== null) throw new AlreadyExistsError(uri);
    const tmp = tempPath(path);
    const counted = countedSource(source);
    try {
      await client.create(tmp, counted.chunks, { overwrite: false });
      const s = await client.getFileStatus(tmp);
      if (s === null || s.length !== counted.bytes) {
        throw new StoreFaultError(
          `HDFS write of ${uri} incomplete: ${counted.bytes} bytes sent, ${s?.length ?? "no"} bytes stored`,
          { uri },
        );
      }
      await client.rename(tmp, path, { overwrite });
      return counted.bytes;
    } catch (err) {
      await client.delete(tmp).catch(() => {});
      throw counted.failure(uri, relabel(err, uri));
    }
  }

  async writeAtomic(uri: string, bytes: Uint8Array, options?: WriteOptions): Promise<void> {
    await this.write(uri, bytes, options);
  }

  async *list(prefix: string, options?: ListOptions): AsyncIterable<FileStatus> {
    const recursive = options?.recursive ?? true;
    const maxDepth = options?.maxDepth ?? Number.POSITIVE_INFINITY;
    const { client, path, authority } = this.resolve(prefix);
    const stack: [string, number][] = [[path, 1]];
    while (stack.length > 0) {
      const [dir, depth] = stack.pop() as [string, number];
      try {
        for await (const entry of client.listAll(dir)) {
          if (entry.pathSuffix === "") break; // `dir` is a file, not a directory
          const full = dir === "/" ? `/${entry.pathSuffix}` : `${dir}/${entry.pathSuffix}`;
          if (entry.type === "DIRECTORY") {
            if (recursive && depth < maxDepth) stack.push([full, depth + 1]);
          } else if (entry.type === "FILE") {
            yield this.toStatus(authority, full, entry);
          }
        }
      } catch (err) {
        if (err instanceof NotFoundError) continue;
        throw err;
      }
    }
  }

  async copy(source: string, target: string, options?: WriteOptions): Promise<undefined> {
    const src = await this.stat(source);
    if (src === null) throw new NotFoundError(source);
    const written = await this.write(target, this.createReadStream(source), options);
    if (written !== src.size) {
      throw new StoreFaultError(`copy of ${source} moved ${written} of ${src.size} bytes`, { uri: target });
    }
  }

  /**
   * WebHDFS RENAME (HDFS `rename2`, atomic in the NameNode): no bytes move, and HDFS acknowledges a
   * rename only once it is in the NameNode's edit log, so it is durable when this returns. The target's
   * parent is created first (`rename2` refuses a missing parent). False, having changed nothing, when
   * source and target are served by different NameNodes (different WebHDFS endpoints), so that the
   * caller copies instead.
   * @throws NotFoundError when the source is missing; AlreadyExistsError (naming the target) when it
   *   exists and `overwrite` is false.
   */
  async rename(source: string, target: string, options?: { overwrite?: boolean }): Promise<boolean> {
    const from = this.resolve(source);
    const to = this.resolve(target);
    if (from.client.baseUrl !== to.client.baseUrl) return false;
    if (to.path === "/") throw new UnsupportedUriError(target, `not a file path: ${target}`);
    if ((await from.client.getFileStatus(from.path))?.type !== "FILE") throw new NotFoundError(source);
    const parent = to.path.slice(0, to.path.lastIndexOf("/")) || "/";
    try {
      await to.client.mkdirs(parent);
      await from.client.rename(from.path, to.path, { overwrite: options?.overwrite ?? true });
      return true;
    } catch (err) {
      if (err instanceof AlreadyExistsError) throw relabel(err, target);
      throw relabel(err, source);
    }
  }

  async delete(uri: string): Promise<void> {
    const { client, path } = this.resolve(uri);
    await client.delete(path);
  }

  async close(): Promise<void> {
    this.clients.clear();
  }
}
