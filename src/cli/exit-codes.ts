/**
 * Exit codes of the `savepoint` CLI. Stable: scripts may depend on them.
 *
 * | code | meaning |
 * |---|---|
 * | 0 | success |
 * | 1 | internal error (a bug in savepoint-kit; run with `--debug` and report it) |
 * | 2 | bad input: not a snapshot, corrupt or truncated file, unsupported metadata version, pointer escape |
 * | 3 | a file or directory was not found |
 * | 4 | permission denied |
 * | 5 | storage failure (network, server error, interrupted transfer) |
 * | 6 | `verify` found missing or short files |
 * | 7 | `plan`: Flink would not restore this snapshot into the job without `--allowNonRestoredState` (or at all) |
 * | 64 | usage error (unknown command, bad flags or arguments) |
 */

import { type ErrorCode, SavepointKitError } from "../errors.js";

export const EXIT_OK = 0;
export const EXIT_INTERNAL = 1;
export const EXIT_BAD_INPUT = 2;
export const EXIT_NOT_FOUND = 3;
export const EXIT_PERMISSION = 4;
export const EXIT_STORE_FAULT = 5;
export const EXIT_VERIFY_FAILED = 6;
export const EXIT_WOULD_NOT_RESTORE = 7;
export const EXIT_USAGE = 64;

const BY_CODE: Record<ErrorCode, number> = {
  CORRUPT_SNAPSHOT: EXIT_BAD_INPUT,
  UNSUPPORTED_VERSION: EXIT_BAD_INPUT,
  NOT_A_SNAPSHOT: EXIT_BAD_INPUT,
  POINTER_ESCAPE: EXIT_BAD_INPUT,
  NOT_FOUND: EXIT_NOT_FOUND,
  PERMISSION_DENIED: EXIT_PERMISSION,
  ALREADY_EXISTS: EXIT_BAD_INPUT,
  STORE_FAULT: EXIT_STORE_FAULT,
  INVALID_ARGUMENT: EXIT_USAGE,
  UNSUPPORTED_URI: EXIT_USAGE,
};

/** The exit code for an error thrown by a command. */
export function exitCodeFor(err: unknown): number {
  return err instanceof SavepointKitError ? BY_CODE[err.code] : EXIT_INTERNAL;
}
