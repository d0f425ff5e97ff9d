/**
 * The registry of serializer snapshot classes savepoint-kit reads: snapshot class name (binary name,
 * `$` for nested classes) to the codec that reads, writes and decodes it. A module of its own, with
 * no dependencies on the codecs, so that the codec modules (`./snapshots.ts`, `./table.ts`) can
 * register themselves while they load.
 */

import type { DataInput } from "../../io/data-input.js";
import type { DataOutput } from "../../io/data-output.js";
import { type SerializerSnapshot, type TypeSerializer, UnsupportedSerializerError } from "./types.js";

/** How one snapshot class is read, written and turned into a value decoder. */
export interface SnapshotCodec {
  /** Reads the payload after class name and version. */
  read(input: DataInput, className: string, version: number): SerializerSnapshot;
  /** Writes the payload (the inverse of `read`). */
  write(out: DataOutput, snapshot: SerializerSnapshot): void;
  /** The value decoder of the serializer this snapshot restores. */
  serializer(snapshot: SerializerSnapshot): TypeSerializer;
}

/** Snapshot class name to codec. */
const registry = new Map<string, SnapshotCodec>();
/** Registrations deferred until the first lookup (see {@link deferRegistration}). */
const pending: (() => void)[] = [];

/** Registers a codec for snapshot class names (binary names, `$` for nested classes). */
export function registerSnapshotCodec(classNames: readonly string[], codec: SnapshotCodec): void {
  for (const c of classNames) registry.set(c, codec);
}

/**
 * Runs `install` (which registers codecs) before the first lookup. For codec modules that build their
 * codecs with helpers of `./snapshots.ts`, which imports them: by the first lookup every module has
 * finished loading.
 */
export function deferRegistration(install: () => void): void {
  pending.push(install);
}

function flush(): void {
  for (let install = pending.shift(); install; install = pending.shift()) install();
}

/** The codec registered for a snapshot class, or undefined. */
export function lookupCodec(className: string): SnapshotCodec | undefined {
  flush();
  return registry.get(className);
}

/** The snapshot classes the registry knows, sorted. */
export function knownSnapshotClasses(): string[] {
  flush();
  return [...registry.keys()].sort();
}

/**
 * The codec of a snapshot class read at `at` (relative to `input`).
 * @throws UnsupportedSerializerError naming the class and the file offset of its name.
 */
export function codecFor(className: string, input: DataInput, at: number, version: number): SnapshotCodec {
  const c = lookupCodec(className);
  if (!c) {
    throw new UnsupportedSerializerError(
      `unsupported type serializer snapshot class ${className} (version ${version}); its bytes are not framed, so the rest of this header cannot be read`,
      {
        ...(input.uri === undefined ? {} : { uri: input.uri }),
        offset: input.baseOffset + at,
        className,
        version,
      },
    );
  }
  return c;
}
