/**
 * Typed errors of savepoint-kit.
 *
 * Every failure a user can cause (bad input, missing files, unsupported versions, store faults) is a
 * {@link SavepointKitError} with a stable `code`. Callers branch on `code` or `instanceof`, never on
 * message text. Anything else that escapes is a bug in savepoint-kit.
 *
 * The CLI maps codes to exit codes (see `src/cli/exit-codes.ts`).
 */

/** Stable machine-readable error codes. */
export type ErrorCode =
  | "CORRUPT_SNAPSHOT"
  | "UNSUPPORTED_VERSION"
  | "NOT_A_SNAPSHOT"
  | "NOT_FOUND"
  | "PERMISSION_DENIED"
  | "ALREADY_EXISTS"
  | "POINTER_ESCAPE"
  | "STORE_FAULT"
  | "INVALID_ARGUMENT"
  | "UNSUPPORTED_URI";

/** Base class of every error savepoint-kit throws on purpose. */
export class SavepointKitError extends Error {
  /** Stable code; see {@link ErrorCode}. */
  readonly code: ErrorCode;
  /** The file or URI the error is about, where there is one. */
  readonly uri: string | undefined;

  constructor(code: ErrorCode, message: string, options?: { uri?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.uri = options?.uri;
  }
}

/**
 * Bytes that do not follow the format they should: truncated, out-of-range counts or lengths,
 * unknown tags, bad magic numbers. Carries the byte offset at which the problem was found.
 */
export class CorruptSnapshotError extends SavepointKitError {
  /** Byte offset (from the start of the file) where the problem was detected. */
  readonly offset: number;
  /** Short description of the structure being read when the problem was found, e.g. `operator[3].subtask[1]`. */
  readonly path: string | undefined;

  constructor(message: string, options: { uri?: string; offset: number; path?: string; cause?: unknown }) {
    const where = `${options.uri ?? "<bytes>"} at byte ${options.offset}`;
    const at = options.path ? ` (in ${options.path})` : "";
    super("CORRUPT_SNAPSHOT", `${where}: ${message}${at}`, options);
    this.offset = options.offset;
    this.path = options.path;
  }
}

/** A file that is a snapshot of a version or kind we do not read (for example metadata V1, Flink 1.2). */
export class UnsupportedVersionError extends SavepointKitError {
  readonly version: number;
  readonly offset: number;

  constructor(message: string, options: { uri?: string; version: number; offset: number }) {
    super(
      "UNSUPPORTED_VERSION",
      `${options.uri ?? "<bytes>"} at byte ${options.offset}: ${message}`,
      options,
    );
    this.version = options.version;
    this.offset = options.offset;
  }
}

/** The path given is not a Flink snapshot (no `_metadata`, or a file without Flink's magic number). */
export class NotASnapshotError extends SavepointKitError {
  /**
   * Snapshot directories (normalised URIs, newest first) found below the directory given, when it is
   * a directory that holds snapshots rather than one snapshot; empty otherwise.
   */
  readonly snapshotsBelow: readonly string[];

  constructor(
    message: string,
    options?: { uri?: string; cause?: unknown; snapshotsBelow?: readonly string[] },
  ) {
    super("NOT_A_SNAPSHOT", message, options);
    this.snapshotsBelow = options?.snapshotsBelow ?? [];
  }
}

/** A file or directory does not exist in its store. */
export class NotFoundError extends SavepointKitError {
  constructor(uri: string, options?: { cause?: unknown; message?: string }) {
    super("NOT_FOUND", options?.message ?? `not found: ${uri}`, { uri, cause: options?.cause });
  }
}

/** The store refused access to a file or directory. */
export class PermissionDeniedError extends SavepointKitError {
  constructor(uri: string, options?: { cause?: unknown; message?: string }) {
    super("PERMISSION_DENIED", options?.message ?? `permission denied: ${uri}`, {
      uri,
      cause: options?.cause,
    });
  }
}

/** A write would replace an existing file where the operation promised not to. */
export class AlreadyExistsError extends SavepointKitError {
  constructor(uri: string, options?: { cause?: unknown; message?: string }) {
    super("ALREADY_EXISTS", options?.message ?? `already exists: ${uri}`, { uri, cause: options?.cause });
  }
}

/** A relative pointer that resolves outside the directory it must stay in (for example `../x`). */
export class PointerEscapeError extends SavepointKitError {
  constructor(message: string, options?: { uri?: string }) {
    super("POINTER_ESCAPE", message, options);
  }
}

/** A store failed in a way that is not the caller's fault (network, server error, interrupted stream). */
export class StoreFaultError extends SavepointKitError {
  constructor(message: string, options?: { uri?: string; cause?: unknown }) {
    super("STORE_FAULT", message, options);
  }
}

/** A URI whose scheme no registered store handles. */
export class UnsupportedUriError extends SavepointKitError {
  constructor(uri: string, message?: string) {
    super("UNSUPPORTED_URI", message ?? `no store for URI: ${uri}`, { uri });
  }
}

/** An argument that makes no sense (bad uid list, malformed option). */
export class InvalidArgumentError extends SavepointKitError {
  constructor(message: string) {
    super("INVALID_ARGUMENT", message);
  }
}
