/**
 * The S3 store (`s3://`, `s3a://`, `s3p://` URIs: one store, the scheme is kept in every URI it returns),
 * on `@aws-sdk/client-s3` and `@aws-sdk/lib-storage`.
 *
 * - Reads are ranged `GetObject`s. A body stream that breaks in the middle is resumed with a new
 *   `Range` request from the first byte not yet delivered, pinned to the first response's ETag
 *   (`If-Match`), a bounded number of times ({@link S3StoreOptions.readRetries}); a stream never ends
 *   early without an error.
 * - {@link S3Store.write} streams through lib-storage's `Upload` (multipart above `partSize`); on failure
 *   the multipart upload is aborted, so no object appears. {@link S3Store.writeAtomic} is one `PutObject`,
 *   which S3 makes visible whole or not at all.
 * - Copies run server-side: `CopyObject` up to {@link S3StoreOptions.multipartCopyThreshold} (5 GiB, the
 *   S3 limit of a single copy), above it `CreateMultipartUpload` + `UploadPartCopy` + `Complete`, aborted
 *   on failure.
 * - Errors: 404 / `NoSuchKey` / `NoSuchBucket` -> {@link NotFoundError}, 403 / `AccessDenied` ->
 *   {@link PermissionDeniedError}, anything else -> {@link StoreFaultError}; each names the URI.
 *
 * Configuration (options win over the environment; see `docs/storage.md`): region from `AWS_REGION` /
 * `AWS_DEFAULT_REGION` / the profile; endpoint from `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL`;
 * credentials and profile (`AWS_PROFILE`) from the AWS SDK's default chain; path-style addressing from
 * `SAVEPOINT_KIT_S3_FORCE_PATH_STYLE` (default: on when a custom endpoint is set); checksum behaviour from
 * `AWS_REQUEST_CHECKSUM_CALCULATION` / `AWS_RESPONSE_CHECKSUM_VALIDATION` (read by the SDK).
 */

import { Readable } from "node:stream";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import {
  AlreadyExistsError,
  NotFoundError,
  PermissionDeniedError,
  SavepointKitError,
  StoreFaultError,
  UnsupportedUriError,
} from "../errors.js";
import type {
  CopyOptions,
  FileStatus,
  ListOptions,
  ReadStreamOptions,
  Store,
  StoreCapabilities,
  WriteOptions,
} from "./store.js";
import { formatUri, parseUri } from "./uri.js";
import { countedSource } from "./write-source.js";

/**
 * A read that found the object other than the stat or the first response said: replaced or shortened
 * while it was read. `readAll` starts over on it; other callers see a StoreFaultError.
 */
class ObjectChangedError extends StoreFaultError {}

const DEFAULT_MAX_READ = 2 * 1024 * 1024 * 1024;
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** Static credentials, or a provider function returning them (as the AWS SDK accepts). */
export type S3Credentials = NonNullable<S3ClientConfig["credentials"]>;

/** Configuration of {@link S3Store}. Every field is optional; see the module doc for the defaults. */
export interface S3StoreOptions {
  /** A ready client; when given, the connection options below (region … maxAttempts) are ignored. */
  client?: S3Client;
  /** AWS region (default: `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile; `us-east-1` with a custom endpoint). */
  region?: string;
  /** Endpoint URL of an S3-compatible server, e.g. `http://127.0.0.1:9000` (default: `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`). */
  endpoint?: string;
  /** Path-style addressing (`endpoint/bucket/key`); default `SAVEPOINT_KIT_S3_FORCE_PATH_STYLE`, else true iff `endpoint` is set. */
  forcePathStyle?: boolean;
  /** Credentials; default: the AWS SDK's default provider chain (env, profile, SSO, web identity, IMDS …). */
  credentials?: S3Credentials;
  /** Shared-config profile name (default `AWS_PROFILE`, read by the SDK). */
  profile?: string;
  /** `WHEN_REQUIRED` for S3-compatible servers that reject the SDK's default request checksums. */
  requestChecksumCalculation?: "WHEN_SUPPORTED" | "WHEN_REQUIRED";
  /** `WHEN_REQUIRED` to skip validating response checksums. */
  responseChecksumValidation?: "WHEN_SUPPORTED" | "WHEN_REQUIRED";
  /** Attempts per request, retries included (SDK default 3). */
  maxAttempts?: number;
  /** Multipart upload part size in bytes (default 8 MiB; S3 requires at least 5 MiB except the last part). */
  partSize?: number;
  /** Parts uploaded (or part-copied) in parallel (default 4). */
  queueSize?: number;
  /** Above this size in bytes, copies use UploadPartCopy instead of CopyObject (default 5 GiB, S3's limit). */
  multipartCopyThreshold?: number;
  /** Part size in bytes of a multipart copy (default 512 MiB). */
  copyPartSize?: number;
  /** Times a broken read stream is resumed without making progress before the read fails (default 3). */
  readRetries?: number;
  /** Keys per ListObjectsV2 page (default 1000, the S3 maximum). */
  listPageSize?: number;
  /** Milliseconds to establish a connection (default 30 000). */
  connectionTimeoutMs?: number;
  /** Milliseconds a request's socket may stay idle before it is failed (and retried) (default 120 000). */
  requestTimeoutMs?: number;
  /** Environment to read defaults from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
}

/** The bucket and key of an S3 URI. */
interface Location {
  scheme: string;
  bucket: string;
  key: string;
}

function locate(uri: string): Location {
  const u = parseUri(uri);
  if (u.authority === "") throw new UnsupportedUriError(uri, `S3 URI without a bucket: ${uri}`);
  return { scheme: u.scheme, bucket: u.authority, key: u.path.slice(1) };
}

function objectUri(loc: { scheme: string; bucket: string }, key: string): string {
  return formatUri({ scheme: loc.scheme, authority: loc.bucket, path: `/${key}` });
}

interface SdkError {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number };
}

/** The HTTP status and S3 error code of an SDK exception, where present. */
function describeSdkError(err: unknown): { status: number | undefined; code: string | undefined } {
  const e = err as SdkError | undefined;
  return {
    status: e?.$metadata?.httpStatusCode ?? e?.$response?.statusCode,
    code: e?.Code ?? e?.name ?? e?.code,
  };
}

/**
 * Maps an AWS SDK (or network) error to our typed errors: 404 / `NoSuchKey` / `NoSuchBucket` / `NotFound`
 * -> NotFoundError; 403 / `AccessDenied` / `InvalidAccessKeyId` / `SignatureDoesNotMatch` ->
 * PermissionDeniedError; `PreconditionFailed` of a create-only write -> AlreadyExistsError when
 * `onPrecondition` says so; everything else -> StoreFaultError. Already-typed errors pass through.
 */
export function mapS3Error(err: unknown, uri: string, onPrecondition?: "exists"): SavepointKitError {
  if (err instanceof SavepointKitError) return err;
  const { status, code } = describeSdkError(err);
  const msg = (err as Error | undefined)?.message ?? String(err);
  if (status === 404 || code === "NoSuchKey" || code === "NoSuchBucket" || code === "NotFound") {
    return new NotFoundError(uri, { cause: err, message: `not found: ${uri} (S3 ${code ?? status})` });
  }
  if (
    status === 403 ||
    code === "AccessDenied" ||
    code === "Forbidden" ||
    code === "InvalidAccessKeyId" ||
    code === "SignatureDoesNotMatch"
  ) {
    return new PermissionDeniedError(uri, {
      cause: err,
      message: `permission denied: ${uri} (S3 ${code ?? status}: ${msg})`,
    });
  }
  if (onPrecondition === "exists" && (status === 412 || code === "PreconditionFailed")) {
    return new AlreadyExistsError(uri, { cause: err });
  }
  const where = status === undefined ? "" : ` HTTP ${status}`;
  return new StoreFaultError(`S3${where}${code ? ` ${code}` : ""}: ${msg} (${uri})`, { uri, cause: err });
}

function envFlag(value: string | undefined): boolean | undefined {
  if (value === undefined || value === "") return undefined;
  return /^(1|true|yes|on)$/i.test(value);
}

/**
 * Builds the S3 client {@link S3Store} uses when none is injected: options first, then the environment
 * (see the module doc), then the AWS SDK's own defaults.
 */
export function createS3Client(options: S3StoreOptions = {}): S3Client {
  const env = options.env ?? process.env;
  const endpoint = options.endpoint ?? (env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined);
  const forcePathStyle =
    options.forcePathStyle ?? envFlag(env.SAVEPOINT_KIT_S3_FORCE_PATH_STYLE) ?? endpoint !== undefined;
  const region =
    options.region ??
    (env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined) ??
    (endpoint !== undefined ? "us-east-1" : undefined);
  const config: S3ClientConfig = {
    forcePathStyle,
    requestHandler: {
      connectionTimeout: options.connectionTimeoutMs ?? 30_000,
      requestTimeout: options.requestTimeoutMs ?? 120_000,
    },
  };
  if (region !== undefined) config.region = region;
  if (endpoint !== undefined) config.endpoint = endpoint;
  if (options.credentials !== undefined) config.credentials = options.credentials;
  if (options.profile !== undefined) config.profile = options.profile;
  if (options.maxAttempts !== undefined) config.maxAttempts = options.maxAttempts;
  if (options.requestChecksumCalculation !== undefined) {
    config.requestChecksumCalculation = options.requestChecksumCalculation;
  }
  if (options.responseChecksumValidation !== undefined) {
    config.responseChecksumValidation = options.responseChecksumValidation;
  }
  return new S3Client(config);
}

/**
 * The ETag as a content checksum, when it is one: a single-part object's ETag (`"<32 hex>"`, the MD5 of
 * its bytes for unencrypted and SSE-S3 objects). A multipart ETag (`"<hex>-<parts>"`) depends on how the
 * object was cut into parts, and a server-side copy gets a new one, so it tells nothing about the
 * content of another object: no checksum then (size-only comparison).
 */
function etagChecksum(etag: string | undefined): { algorithm: string; value: string } | undefined {
  if (etag === undefined || !/^"?[0-9a-fA-F]{32}"?$/.test(etag)) return undefined;
  return { algorithm: "s3-etag", value: etag };
}

/** CopySource header value: `bucket/key`, URL-encoded per segment. */
function copySource(bucket: string, key: string): string {
  return `${encodeURIComponent(bucket)}/${key.split("/").map(encodeURIComponent).join("/")}`;
}

/**
 * The S3 store. One instance serves `s3://`, `s3a://` and `s3p://` URIs (and keeps each URI's scheme).
 *
 * @example
 * const store = new S3Store({ endpoint: "http://127.0.0.1:9000", region: "us-east-1" });
 * const bytes = await store.readAll("s3://bucket/savepoints/sp-1/_metadata");
 */
export class S3Store implements Store {
  readonly schemes = ["s3", "s3a", "s3p"] as const;
  readonly capabilities: StoreCapabilities = {
    serverSideCopy: true,
    atomicWrite: true,
    realDirectories: false,
    atomicRename: false,
  };

  /** The AWS SDK client (injected or built from the options). */
  readonly client: S3Client;
  private readonly ownsClient: boolean;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly multipartCopyThreshold: number;
  private readonly copyPartSize: number;
  private readonly readRetries: number;
  private readonly listPageSize: number;

  constructor(options: S3StoreOptions = {}) {
    this.client = options.client ?? createS3Client(options);
    this.ownsClient = options.client === undefined;
    this.partSize = options.partSize ?? 8 * MiB;
    this.queueSize = options.queueSize ?? 4;
    this.multipartCopyThreshold = options.multipartCopyThreshold ?? 5 * GiB;
    this.copyPartSize = options.copyPartSize ?? 512 * MiB;
    this.readRetries = options.readRetries ?? 3;
    this.listPageSize = options.listPageSize ?? 1000;
  }

  async stat(uri: string): Promise<FileStatus | null> {
    const loc = locate(uri);
    if (loc.key === "") return null;
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: loc.bucket, Key: loc.key }));
      const status: FileStatus = { uri: objectUri(loc, loc.key), size: out.ContentLength ?? 0 };
      if (out.LastModified) status.modified = out.LastModified;
      const checksum = etagChecksum(out.ETag);
      if (checksum) status.checksum = checksum;
      if (out.ETag) status.etag = out.ETag;
      return status;
    } catch (err) {
      const e = mapS3Error(err, uri);
      if (e instanceof NotFoundError) return null;
      throw e;
    }
  }

  async readRange(uri: string, offset: number, length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    if (length === 0) return out;
    let done = 0;
    for await (const chunk of this.readChunks(uri, offset, length)) {
      out.set(chunk, done);
      done += chunk.byteLength;
    }
    if (done !== length) {
      throw new ObjectChangedError(
        `short read: wanted bytes ${offset}..${offset + length} but the object ends after ${offset + done}`,
        { uri },
      );
    }
    return out;
  }

  async readAll(uri: string, options?: { maxBytes?: number }): Promise<Uint8Array> {
    const max = options?.maxBytes ?? DEFAULT_MAX_READ;
    for (let attempt = 0; ; attempt++) {
      const s = await this.stat(uri);
      if (s === null) throw new NotFoundError(uri);
      if (s.size > max) {
        throw new StoreFaultError(
          `file is ${s.size} bytes, more than the ${max} bytes allowed for this read`,
          {
            uri,
          },
        );
      }
      try {
        return await this.readRange(uri, 0, s.size);
      } catch (err) {
        // Replaced between the stat and the read (a new _metadata written over the old one): read the
        // new object whole, from its new size. The ETag pin makes sure no read mixes the two.
        if (!(err instanceof ObjectChangedError) || attempt >= this.readRetries) throw err;
      }
    }
  }

  createReadStream(uri: string, options?: ReadStreamOptions): Readable {
    const offset = options?.offset ?? 0;
    if (options?.length === 0) return Readable.from([]);
    return Readable.from(this.readChunks(uri, offset, options?.length), { objectMode: false });
  }

  /**
   * The bytes `offset .. offset+length` (or to the end), as chunks. Resumes a broken body with a new
   * ranged GET pinned to the first ETag; fails with StoreFaultError after `readRetries` resumptions in a
   * row without progress, and when the object ends before the range does.
   */
  private async *readChunks(
    uri: string,
    offset: number,
    length: number | undefined,
  ): AsyncGenerator<Uint8Array> {
    const loc = locate(uri);
    let pos = offset;
    let end: number | undefined = length === undefined ? undefined : offset + length; // exclusive
    let etag: string | undefined;
    let failures = 0;
    let lastError: unknown;
    while (end === undefined || pos < end) {
      let out: GetObjectCommandOutput;
      try {
        out = await this.client.send(
          new GetObjectCommand({
            Bucket: loc.bucket,
            Key: loc.key,
            Range: `bytes=${pos}-${end === undefined ? "" : end - 1}`,
            IfMatch: etag,
          }),
        );
      } catch (err) {
        const { status, code } = describeSdkError(err);
        if (status === 416 || code === "InvalidRange") {
          // The range starts at or after the end of the object.
          const s = await this.stat(uri);
          if (s === null) throw new NotFoundError(uri);
          if (end === undefined && pos === s.size) return;
          // Nothing read yet and the range fits the object now: it was being replaced when the GET
          // arrived (some S3-compatible servers answer 416 for that moment). Try again, bounded.
          if (
            etag === undefined &&
            pos === offset &&
            end !== undefined &&
            s.size >= end &&
            ++failures <= this.readRetries
          ) {
            lastError = err;
            continue;
          }
          throw new ObjectChangedError(
            `short read: wanted bytes ${pos}..${end ?? "end"} but the object has ${s.size} bytes`,
            { uri, cause: err },
          );
        }
        if (etag !== undefined && (status === 412 || code === "PreconditionFailed")) {
          throw new ObjectChangedError(`object changed while it was being read: ${uri}`, { uri, cause: err });
        }
        const e = mapS3Error(err, uri);
        if (!(e instanceof StoreFaultError) || ++failures > this.readRetries) throw e;
        lastError = err;
        continue;
      }
      etag ??= out.ETag;
      if (end === undefined) {
        const total = parseContentRangeTotal(out.ContentRange);
        end = total ?? pos + (out.ContentLength ?? 0);
      }
      const body = out.Body as Readable | undefined;
      if (!body) throw new StoreFaultError(`S3 returned no body for ${uri}`, { uri });
      const before = pos;
      try {
        for await (const chunk of body as AsyncIterable<Uint8Array>) {
          const room = end - pos;
          if (room <= 0) break;
          const piece = chunk.byteLength > room ? chunk.subarray(0, room) : chunk;
          pos += piece.byteLength;
          yield piece;
        }
      } catch (err) {
        lastError = err;
      } finally {
        body.destroy();
      }
      if (pos >= end) return;
      // The body ended or broke before the range did: resume from `pos`.
      if (pos > before) failures = 0;
      if (++failures > this.readRetries) {
        throw new StoreFaultError(
          `S3 read of ${uri} broke at byte ${pos} of ${end} and could not be resumed` +
            (lastError ? `: ${(lastError as Error).message ?? lastError}` : ""),
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
    const loc = locate(uri);
    if (loc.key === "") throw new UnsupportedUriError(uri, `not an object key: ${uri}`);
    if (options?.overwrite === false && (await this.stat(uri)) !== null) throw new AlreadyExistsError(uri);
    const counted = countedSource(source);
    const body = Readable.from(counted.chunks, { objectMode: false });
    const upload = new Upload({
      client: this.client,
      params: { Bucket: loc.bucket, Key: loc.key, Body: body },
      partSize: this.partSize,
      queueSize: this.queueSize,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (err) {
      body.destroy();
      throw counted.failure(uri, mapS3Error(err, uri));
    }
    return counted.bytes;
  }

  async writeAtomic(uri: string, bytes: Uint8Array, options?: WriteOptions): Promise<void> {
    const loc = locate(uri);
    if (loc.key === "") throw new UnsupportedUriError(uri, `not an object key: ${uri}`);
    const create = options?.overwrite === false;
    if (create && (await this.stat(uri)) !== null) throw new AlreadyExistsError(uri);
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: loc.bucket,
          Key: loc.key,
          Body: bytes,
          ContentLength: bytes.byteLength,
          IfNoneMatch: create ? "*" : undefined,
        }),
      );
    } catch (err) {
      throw mapS3Error(err, uri, create ? "exists" : undefined);
    }
  }

  async *list(prefix: string, options?: ListOptions): AsyncIterable<FileStatus> {
    const loc = locate(prefix);
    const recursive = options?.recursive ?? true;
    const maxDepth = options?.maxDepth ?? Number.POSITIVE_INFINITY;
    const keyPrefix = loc.key === "" ? "" : `${loc.key}/`;
    let token: string | undefined;
    do {
      let page: ListObjectsV2CommandOutput;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: loc.bucket,
            Prefix: keyPrefix,
            Delimiter: recursive ? undefined : "/",
            ContinuationToken: token,
            MaxKeys: this.listPageSize,
          }),
        );
      } catch (err) {
        const e = mapS3Error(err, prefix);
        if (e instanceof NotFoundError) return;
        throw e;
      }
      for (const obj of page.Contents ?? []) {
        const key = obj.Key;
        if (key === undefined || key.endsWith("/") || key === keyPrefix) continue; // directory markers
        if (maxDepth !== Number.POSITIVE_INFINITY && key.slice(keyPrefix.length).split("/").length > maxDepth)
          continue; // deeper than asked: a key-prefix listing cannot stop descending, so filter
        const status: FileStatus = { uri: objectUri(loc, key), size: obj.Size ?? 0 };
        if (obj.LastModified) status.modified = obj.LastModified;
        const checksum = etagChecksum(obj.ETag);
        if (checksum) status.checksum = checksum;
        if (obj.ETag) status.etag = obj.ETag;
        yield status;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  /**
   * Server-side copy: `CopyObject` pinned to the source's ETag (`CopySourceIfMatch`), or a multipart copy
   * above `multipartCopyThreshold`. The source's size and ETag come from `options.sourceStatus` when
   * given (no HEAD request), else from a `stat`.
   */
  async copy(source: string, target: string, options?: CopyOptions): Promise<undefined> {
    const src = locate(source);
    const dst = locate(target);
    const srcStatus = options?.sourceStatus ?? (await this.stat(source));
    if (srcStatus === null) throw new NotFoundError(source);
    if (options?.overwrite === false && (await this.stat(target)) !== null) {
      throw new AlreadyExistsError(target);
    }
    if (srcStatus.size <= this.multipartCopyThreshold) {
      try {
        await this.client.send(
          new CopyObjectCommand({
            Bucket: dst.bucket,
            Key: dst.key,
            CopySource: copySource(src.bucket, src.key),
            CopySourceIfMatch: srcStatus.etag,
          }),
        );
      } catch (err) {
        throw this.mapCopyError(err, source, target);
      }
      return;
    }
    await this.multipartCopy(src, dst, srcStatus, source, target);
  }

  /** A copy error names the source when the source is missing or changed, else the target. */
  private mapCopyError(err: unknown, source: string, target: string): SavepointKitError {
    const { status, code } = describeSdkError(err);
    if (status === 412 || code === "PreconditionFailed") {
      return new StoreFaultError(`source changed during the copy: ${source}`, { uri: source, cause: err });
    }
    if (code === "NoSuchKey") return mapS3Error(err, source);
    return mapS3Error(err, target);
  }

  /** CreateMultipartUpload + UploadPartCopy (`queueSize` in parallel) + Complete; aborts on failure. */
  private async multipartCopy(
    src: Location,
    dst: Location,
    srcStatus: FileStatus,
    source: string,
    target: string,
  ): Promise<void> {
    let uploadId: string | undefined;
    try {
      const created = await this.client.send(
        new CreateMultipartUploadCommand({ Bucket: dst.bucket, Key: dst.key }),
      );
      uploadId = created.UploadId;
      if (!uploadId) throw new StoreFaultError(`S3 gave no upload id for ${target}`, { uri: target });
      const size = srcStatus.size;
      const partCount = Math.max(1, Math.ceil(size / this.copyPartSize));
      const parts: { ETag: string; PartNumber: number }[] = new Array(partCount);
      let next = 0;
      const worker = async () => {
        while (next < partCount) {
          const i = next++;
          const first = i * this.copyPartSize;
          const last = Math.min(size, first + this.copyPartSize) - 1;
          const out = await this.client.send(
            new UploadPartCopyCommand({
              Bucket: dst.bucket,
              Key: dst.key,
              UploadId: uploadId,
              PartNumber: i + 1,
              CopySource: copySource(src.bucket, src.key),
              CopySourceRange: `bytes=${first}-${last}`,
              CopySourceIfMatch: srcStatus.etag,
            }),
          );
          const etag = out.CopyPartResult?.ETag;
          if (!etag)
            throw new StoreFaultError(`S3 gave no ETag for part ${i + 1} of ${target}`, { uri: target });
          parts[i] = { ETag: etag, PartNumber: i + 1 };
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.queueSize, partCount) }, worker));
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: dst.bucket,
          Key: dst.key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
    } catch (err) {
      if (uploadId !== undefined) {
        await this.client
          .send(new AbortMultipartUploadCommand({ Bucket: dst.bucket, Key: dst.key, UploadId: uploadId }))
          .catch(() => {});
      }
      throw this.mapCopyError(err, source, target);
    }
  }

  async delete(uri: string): Promise<void> {
    const loc = locate(uri);
    if (loc.key === "") throw new UnsupportedUriError(uri, `not an object key: ${uri}`);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: loc.bucket, Key: loc.key }));
    } catch (err) {
      const e = mapS3Error(err, uri);
      if (!(e instanceof NotFoundError)) throw e;
    }
  }

  async close(): Promise<void> {
    if (this.ownsClient) this.client.destroy();
  }
}

/** The total size from a `Content-Range: bytes a-b/total` header, when known. */
function parseContentRangeTotal(value: string | undefined): number | undefined {
  const m = value === undefined ? null : /\/(\d+)\s*$/.exec(value);
  return m ? Number(m[1]) : undefined;
}
