/**
 * Keyed state handles: what a keyed state backend hands back for one subtask's key-group range.
 *
 * Mirrors `MetadataV2V3SerializerBase.serializeKeyedStateHandle` / `deserializeKeyedStateHandle`
 * (+ `deserializeIncrementalStateHandle`), apache/flink 1.15+ layout, plus the short bodies Flink 1.14
 * wrote for the changelog tags. Layouts after the one-byte tag:
 *
 * | tag      | class                                  | body                                                              |
 * |----------|----------------------------------------|-------------------------------------------------------------------|
 * | 0        | null                                   | —                                                                 |
 * | 3/12     | `KeyGroupsStateHandle`                 | int start, int count, long[count], stream delegate, [12: UTF id]  |
 * | 7        | `KeyGroupsSavepointStateHandle`        | int start, int count, long[count], stream delegate                |
 * | 5/11     | `IncrementalRemoteKeyedStateHandle`    | long ckpId, UTF backendId, int start, int count, [11: long ckptSize], stream meta, list shared, list private, [11: UTF id] |
 * | 8/14     | `ChangelogStateBackendHandleImpl`      | int start, int count, long ckptSize, int n, keyed×n, int m, keyed×m, long materializationId, [14: long ckpId], UTF id |
 * | 9        | `InMemoryChangelogStateHandle`         | int start, int count, long from, long to, int n, {int kg, int len, byte[len]}×n, UTF id |
 * | 10/13    | `ChangelogStateHandleStreamImpl`       | int start, int count, int n, {long offset, stream}×n, long size, long ckptSize, UTF id, [13: UTF storageId] |
 *
 * A `list` is `int n, {UTF localPath, stream handle}×n` (`serializeHandleAndLocalPathList`; up to
 * Flink 1.17 the same bytes came from a `Map<StateHandleID, StreamStateHandle>`). Up to Flink 1.7 the
 * class of tag 5 was called `IncrementalKeyedStateHandle` (same body; metadata V2).
 *
 * **Flink 1.14 changelog bodies.** Flink 1.14 wrote tags 8, 9 and 10 with shorter bodies: tag 8
 * without checkpointedSize, materializationId and id; tag 9 without id; tag 10 ending after
 * `long size`. Flink 1.15 lengthened them (and added tags 11/12) but still writes metadata V3, so the
 * file version does not tell the two forms apart (V4 starts with Flink 1.16), and Flink 1.15+ cannot
 * read the short ones. The V3 reader picks the form per file (see `v3.ts`): the 1.15 bodies first,
 * as Flink 1.15+'s loader does, then, if the file does not parse that way, the 1.14 bodies
 * (`ReadContext.legacyLayout === "flink114"`, which also refuses tags 13/14, Flink 1.16+).
 *
 * A handle read with a 1.14 body has `flink114Body: true`, and the fields that body lacks hold
 * placeholders: `checkpointedSize = -1n`, `materializationId = -1n`, `stateHandleId = ""`
 * ({@link FLINK_114_PLACEHOLDER}). The writer writes the short body for such a handle, in V3 only,
 * only with tags 8/9/10, only with the placeholders, and only when every changelog handle of the
 * file has the flag (`requireLayout` in `common.ts`).
 */

import { InvalidArgumentError } from "../../errors.js";
import type { DataInput } from "../io/data-input.js";
import type { DataOutput } from "../io/data-output.js";
import {
  descendRead,
  descendWrite,
  type ReadContext,
  readKeyGroupRange,
  readLengthPrefixedBytes,
  readString,
  requireLayout,
  type WriteContext,
  writeInt32,
  writeInt64,
  writeKeyGroupRange,
  writeLengthPrefixedBytes,
  writeString,
} from "./common.js";
import type {
  ChangelogStateBackendHandle,
  ChangelogStateHandleStreamImpl,
  HandleAndLocalPath,
  IncrementalRemoteKeyedStateHandle,
  InMemoryChangelogStateHandle,
  KeyedStateHandle,
} from "./model.js";
import {
  readKeyGroupsBody,
  readStreamStateHandle,
  writeKeyGroupsBody,
  writeStreamStateHandle,
} from "./stream-handles.js";
import { HandleTag } from "./tags.js";

/** Placeholder for fields a Flink 1.14 changelog body does not carry (see the module comment). */
export const FLINK_114_PLACEHOLDER = {
  checkpointedSize: -1n,
  materializationId: -1n,
  stateHandleId: "",
} as const;

/**
 * Whether a changelog handle of `tag` is read with the Flink 1.14 body; notes the body for the V3
 * reader's retry logic and refuses tags the layout being read cannot hold.
 */
function readsFlink114Body(input: DataInput, ctx: ReadContext, tag: number, at: number): boolean {
  const legacy = tag === 8 || tag === 9 || tag === 10;
  if (legacy) ctx.met?.add("flink114");
  if (ctx.legacyLayout === "flink111") {
    throw input.corrupt(
      `changelog state handle (tag ${tag}) in the Flink 1.11 layout: changelog handles came with Flink 1.14`,
      at,
    );
  }
  if (ctx.legacyLayout === "flink114" && !legacy) {
    throw input.corrupt(`changelog state handle tag ${tag} (Flink 1.16+) in the Flink 1.14 layout`, at);
  }
  return ctx.legacyLayout === "flink114";
}

/**
 * Checks a changelog handle's `flink114Body` flag for writing and notes the layout it needs.
 * @returns true to write the 1.14 body.
 * @throws InvalidArgumentError for the flag outside V3, on tags 13/14, without the placeholders, or
 *   when one file mixes both forms.
 */
function writesFlink114Body(
  h: ChangelogStateBackendHandle | InMemoryChangelogStateHandle | ChangelogStateHandleStreamImpl,
  ctx: WriteContext,
): boolean {
  const short = h.flink114Body === true;
  if (h.flink114Body !== undefined && !short) {
    throw new InvalidArgumentError(`${h.kind}.flink114Body must be true or absent`);
  }
  requireLayout(ctx, "changelog", short, h.kind);
  if (!short) return false;
  if ("tag" in h && h.tag !== 8 && h.tag !== 10) {
    throw new InvalidArgumentError(`${h.kind} with tag ${h.tag} has no Flink 1.14 body (tags 8, 9, 10)`);
  }
  const P = FLINK_114_PLACEHOLDER;
  const lacking =
    h.stateHandleId !== P.stateHandleId ||
    (h.kind !== "InMemoryChangelogStateHandle" && h.checkpointedSize !== P.checkpointedSize) ||
    (h.kind === "ChangelogStateBackendHandle" && h.materializationId !== P.materializationId);
  if (lacking) {
    throw new InvalidArgumentError(
      `${h.kind} with a Flink 1.14 body has no stateHandleId, checkpointedSize or materializationId ` +
        `(they must hold the placeholders "", -1n, -1n)`,
    );
  }
  return true;
}

/**
 * Reads one keyed state handle (tag byte + body), as `deserializeKeyedStateHandle`.
 * @returns the handle, or null for tag 0.
 * @throws CorruptSnapshotError on truncation, an unknown tag, impossible counts or nesting depth.
 */
export function readKeyedStateHandle(input: DataInput, ctx: ReadContext): KeyedStateHandle | null {
  const at = input.position;
  const tag = input.readByte();
  switch (tag) {
    case HandleTag.NULL_HANDLE:
      return null;
    case HandleTag.KEY_GROUPS_HANDLE:
    case HandleTag.KEY_GROUPS_HANDLE_V2:
    case HandleTag.SAVEPOINT_KEY_GROUPS_HANDLE: {
      const body = readKeyGroupsBody(input, ctx);
      if (tag === HandleTag.SAVEPOINT_KEY_GROUPS_HANDLE) {
        return { kind: "KeyGroupsSavepointStateHandle", tag, ...body, stateHandleId: null };
      }
      const stateHandleId = tag === HandleTag.KEY_GROUPS_HANDLE_V2 ? readString(input) : null;
      return { kind: "KeyGroupsStateHandle", tag, ...body, stateHandleId };
    }
    case HandleTag.INCREMENTAL_KEY_GROUPS_HANDLE:
    case HandleTag.INCREMENTAL_KEY_GROUPS_HANDLE_V2:
      return readIncremental(input, ctx, tag);
    case HandleTag.CHANGELOG_HANDLE:
    case HandleTag.CHANGELOG_HANDLE_V2:
      return readChangelogBackendHandle(input, ctx, tag, readsFlink114Body(input, ctx, tag, at));
    case HandleTag.CHANGELOG_BYTE_INCREMENT_HANDLE:
      return readInMemoryChangelog(input, readsFlink114Body(input, ctx, tag, at));
    case HandleTag.CHANGELOG_FILE_INCREMENT_HANDLE:
    case HandleTag.CHANGELOG_FILE_INCREMENT_HANDLE_V2:
      return readChangelogStream(input, ctx, tag, readsFlink114Body(input, ctx, tag, at));
    default:
      throw input.corrupt(`unknown KeyedStateHandle type tag ${tag}`, at);
  }
}

function readIncremental(input: DataInput, ctx: ReadContext, tag: 5 | 11): IncrementalRemoteKeyedStateHandle {
  const v2 = tag === HandleTag.INCREMENTAL_KEY_GROUPS_HANDLE_V2;
  const checkpointId = input.readLong();
  const backendIdentifier = readString(input);
  const { range } = readKeyGroupRange(input);
  const checkpointedSize = v2 ? input.readLong() : null;
  const metaStateHandle = descendRead(input, ctx, () => readStreamStateHandle(input, ctx));
  const sharedState = input.within("sharedState", () => readHandleAndLocalPathList(input, ctx));
  const privateState = input.within("privateState", () => readHandleAndLocalPathList(input, ctx));
  const stateHandleId = v2 ? readString(input) : null;
  return {
    kind: "IncrementalRemoteKeyedStateHandle",
    tag,
    checkpointId,
    backendIdentifier,
    keyGroupRange: range,
    checkpointedSize,
    metaStateHandle,
    sharedState,
    privateState,
    stateHandleId,
  };
}

function readHandleAndLocalPathList(input: DataInput, ctx: ReadContext): HandleAndLocalPath[] {
  // each entry is at least a 2-byte UTF length and a 1-byte handle tag
  const n = input.readCount("number of (localPath, handle) entries", 3);
  const out: HandleAndLocalPath[] = [];
  if (n === 0) return out;
  // every handle of the list sits one level deeper: one descent for the whole list
  return descendRead(input, ctx, () => {
    for (let i = 0; i < n; i++) {
      const localPath = readString(input);
      const at = input.position;
      const handle = readStreamStateHandle(input, ctx);
      if (handle === null)
        throw input.corrupt(`null stream handle for local path ${JSON.stringify(localPath)}`, at);
      out.push({ localPath, handle });
    }
    return out;
  });
}

function readChangelogBackendHandle(
  input: DataInput,
  ctx: ReadContext,
  tag: 8 | 14,
  short: boolean,
): ChangelogStateBackendHandle {
  const { range } = readKeyGroupRange(input);
  const checkpointedSize = short ? FLINK_114_PLACEHOLDER.checkpointedSize : input.readLong();
  const materialized = input.within("materialized", () => readKeyedList(input, ctx, false));
  const nonMaterialized = input.within("nonMaterialized", () => readKeyedList(input, ctx, true));
  let materializationId: bigint = FLINK_114_PLACEHOLDER.materializationId;
  let checkpointId: bigint | null = null;
  let stateHandleId: string = FLINK_114_PLACEHOLDER.stateHandleId;
  if (!short) {
    materializationId = input.readLong();
    checkpointId = tag === HandleTag.CHANGELOG_HANDLE_V2 ? input.readLong() : null;
    stateHandleId = readString(input);
  }
  return {
    kind: "ChangelogStateBackendHandle",
    tag,
    keyGroupRange: range,
    checkpointedSize,
    materialized,
    nonMaterialized,
    materializationId,
    checkpointId,
    stateHandleId,
    ...(short ? { flink114Body: true as const } : {}),
  };
}

function readKeyedList(input: DataInput, ctx: ReadContext, changelogOnly: boolean): KeyedStateHandle[] {
  const n = input.readCount("number of keyed state handles", 1);
  const out: KeyedStateHandle[] = [];
  for (let i = 0; i < n; i++) {
    const at = input.position;
    const h = descendRead(input, ctx, () => readKeyedStateHandle(input, ctx));
    if (h === null) {
      // Flink skips (materialized) or keeps (non-materialized) such nulls; its writer never emits them.
      throw input.corrupt("null keyed state handle inside a changelog handle", at);
    }
    if (
      changelogOnly &&
      h.kind !== "InMemoryChangelogStateHandle" &&
      h.kind !== "ChangelogStateHandleStreamImpl"
    ) {
      throw input.corrupt(
        `non-materialized changelog part must be a ChangelogStateHandle, found ${h.kind}`,
        at,
      );
    }
    out.push(h);
  }
  return out;
}

function readInMemoryChangelog(input: DataInput, short: boolean): InMemoryChangelogStateHandle {
  const { range } = readKeyGroupRange(input);
  const from = input.readLong();
  const to = input.readLong();
  const n = input.readCount("number of state changes", 8);
  const changes: InMemoryChangelogStateHandle["changes"] = [];
  for (let i = 0; i < n; i++) {
    const keyGroup = input.readInt();
    const data = readLengthPrefixedBytes(input, "state change bytes");
    changes.push({ keyGroup, data });
  }
  const stateHandleId = short ? FLINK_114_PLACEHOLDER.stateHandleId : readString(input);
  return {
    kind: "InMemoryChangelogStateHandle",
    keyGroupRange: range,
    from,
    to,
    changes,
    stateHandleId,
    ...(short ? { flink114Body: true as const } : {}),
  };
}

function readChangelogStream(
  input: DataInput,
  ctx: ReadContext,
  tag: 10 | 13,
  short: boolean,
): ChangelogStateHandleStreamImpl {
  const { range } = readKeyGroupRange(input);
  const n = input.readCount("number of (offset, handle) entries", 9);
  const handlesAndOffsets: ChangelogStateHandleStreamImpl["handlesAndOffsets"] = [];
  for (let i = 0; i < n; i++) {
    const offset = input.readLong();
    const at = input.position;
    const handle = descendRead(input, ctx, () => readStreamStateHandle(input, ctx));
    if (handle === null) throw input.corrupt("null stream handle in a changelog stream handle", at);
    handlesAndOffsets.push({ offset, handle });
  }
  const size = input.readLong();
  let checkpointedSize: bigint = FLINK_114_PLACEHOLDER.checkpointedSize;
  let stateHandleId: string = FLINK_114_PLACEHOLDER.stateHandleId;
  let storageIdentifier: string | null = null;
  if (!short) {
    checkpointedSize = input.readLong();
    stateHandleId = readString(input);
    storageIdentifier = tag === HandleTag.CHANGELOG_FILE_INCREMENT_HANDLE_V2 ? readString(input) : null;
  }
  return {
    kind: "ChangelogStateHandleStreamImpl",
    tag,
    keyGroupRange: range,
    handlesAndOffsets,
    size,
    checkpointedSize,
    stateHandleId,
    storageIdentifier,
    ...(short ? { flink114Body: true as const } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------

/**
 * Writes one keyed state handle (tag byte + body) with the tag recorded in the model.
 * @throws InvalidArgumentError for a handle whose fields do not match its tag (e.g. tag 12 without
 *   id, tag 5 with a checkpointed size), bad values, or an unknown kind.
 */
export function writeKeyedStateHandle(out: DataOutput, h: KeyedStateHandle | null, ctx: WriteContext): void {
  if (h === null || h === undefined) {
    out.writeByte(HandleTag.NULL_HANDLE);
    return;
  }
  switch (h.kind) {
    case "KeyGroupsSavepointStateHandle":
      if (h.tag !== HandleTag.SAVEPOINT_KEY_GROUPS_HANDLE || h.stateHandleId !== null) {
        throw new InvalidArgumentError("KeyGroupsSavepointStateHandle must have tag 7 and no stateHandleId");
      }
      out.writeByte(h.tag);
      writeKeyGroupsBody(out, h, ctx);
      return;
    case "KeyGroupsStateHandle":
      if (h.tag === HandleTag.KEY_GROUPS_HANDLE_V2) {
        if (typeof h.stateHandleId !== "string") {
          throw new InvalidArgumentError("KeyGroupsStateHandle with tag 12 needs a stateHandleId");
        }
        out.writeByte(h.tag);
        writeKeyGroupsBody(out, h, ctx);
        writeString(out, h.stateHandleId, "KeyGroupsStateHandle.stateHandleId");
        return;
      }
      if (h.tag !== HandleTag.KEY_GROUPS_HANDLE || h.stateHandleId !== null) {
        throw new InvalidArgumentError("KeyGroupsStateHandle must have tag 12 with an id or tag 3 without");
      }
      out.writeByte(h.tag);
      writeKeyGroupsBody(out, h, ctx);
      return;
    case "IncrementalRemoteKeyedStateHandle":
      writeIncremental(out, h, ctx);
      return;
    case "ChangelogStateBackendHandle":
      writeChangelogBackendHandle(out, h, ctx);
      return;
    case "InMemoryChangelogStateHandle": {
      const short = writesFlink114Body(h, ctx);
      out.writeByte(HandleTag.CHANGELOG_BYTE_INCREMENT_HANDLE);
      writeKeyGroupRange(out, h.keyGroupRange, h.kind);
      writeInt64(out, h.from, "InMemoryChangelogStateHandle.from");
      writeInt64(out, h.to, "InMemoryChangelogStateHandle.to");
      writeInt32(out, h.changes.length, "number of state changes");
      for (const c of h.changes) {
        writeInt32(out, c.keyGroup, "state change key group");
        writeLengthPrefixedBytes(out, c.data, "state change bytes");
      }
      if (!short) writeString(out, h.stateHandleId, "InMemoryChangelogStateHandle.stateHandleId");
      return;
    }
    case "ChangelogStateHandleStreamImpl":
      writeChangelogStream(out, h, ctx);
      return;
    default:
      throw new InvalidArgumentError(
        `unknown KeyedStateHandle kind ${JSON.stringify((h as { kind: unknown }).kind)}`,
      );
  }
}

function writeIncremental(out: DataOutput, h: IncrementalRemoteKeyedStateHandle, ctx: WriteContext): void {
  const v2 = h.tag === HandleTag.INCREMENTAL_KEY_GROUPS_HANDLE_V2;
  if (
    v2
      ? h.checkpointedSize === null || h.stateHandleId === null
      : h.tag !== HandleTag.INCREMENTAL_KEY_GROUPS_HANDLE
  ) {
    throw new InvalidArgumentError(
      "IncrementalRemoteKeyedStateHandle must have tag 11 with checkpointedSize and stateHandleId, or tag 5",
    );
  }
  if (!v2 && (h.checkpointedSize !== null || h.stateHandleId !== null)) {
    throw new InvalidArgumentError(
      "IncrementalRemoteKeyedStateHandle with tag 5 has no checkpointedSize or id",
    );
  }
  out.writeByte(h.tag);
  writeInt64(out, h.checkpointId, "IncrementalRemoteKeyedStateHandle.checkpointId");
  writeString(out, h.backendIdentifier, "IncrementalRemoteKeyedStateHandle.backendIdentifier");
  writeKeyGroupRange(out, h.keyGroupRange, h.kind);
  if (v2) writeInt64(out, h.checkpointedSize as bigint, "IncrementalRemoteKeyedStateHandle.checkpointedSize");
  descendWrite(ctx, () => writeStreamStateHandle(out, h.metaStateHandle, ctx));
  writeHandleAndLocalPathList(out, h.sharedState, ctx, "sharedState");
  writeHandleAndLocalPathList(out, h.privateState, ctx, "privateState");
  if (v2) writeString(out, h.stateHandleId as string, "IncrementalRemoteKeyedStateHandle.stateHandleId");
}

function writeHandleAndLocalPathList(
  out: DataOutput,
  list: HandleAndLocalPath[],
  ctx: WriteContext,
  what: string,
) {
  if (!Array.isArray(list))
    throw new InvalidArgumentError(`IncrementalRemoteKeyedStateHandle.${what} must be a list`);
  writeInt32(out, list.length, `${what} size`);
  for (const e of list) {
    writeString(out, e.localPath, `${what}[].localPath`);
    if (!e.handle) throw new InvalidArgumentError(`${what}[] ${JSON.stringify(e.localPath)} has no handle`);
    descendWrite(ctx, () => writeStreamStateHandle(out, e.handle, ctx));
  }
}

function writeChangelogBackendHandle(
  out: DataOutput,
  h: ChangelogStateBackendHandle,
  ctx: WriteContext,
): void {
  if (
    h.tag === HandleTag.CHANGELOG_HANDLE_V2 ? h.checkpointId === null : h.tag !== HandleTag.CHANGELOG_HANDLE
  ) {
    throw new InvalidArgumentError(
      "ChangelogStateBackendHandle must have tag 14 with a checkpointId, or tag 8",
    );
  }
  if (h.tag === HandleTag.CHANGELOG_HANDLE && h.checkpointId !== null) {
    throw new InvalidArgumentError("ChangelogStateBackendHandle with tag 8 has no checkpointId");
  }
  const short = writesFlink114Body(h, ctx);
  out.writeByte(h.tag);
  writeKeyGroupRange(out, h.keyGroupRange, h.kind);
  if (!short) writeInt64(out, h.checkpointedSize, "ChangelogStateBackendHandle.checkpointedSize");
  writeKeyedList(out, h.materialized, ctx, false);
  writeKeyedList(out, h.nonMaterialized, ctx, true);
  if (!short) {
    writeInt64(out, h.materializationId, "ChangelogStateBackendHandle.materializationId");
    if (h.checkpointId !== null) writeInt64(out, h.checkpointId, "ChangelogStateBackendHandle.checkpointId");
    writeString(out, h.stateHandleId, "ChangelogStateBackendHandle.stateHandleId");
  }
}

function writeKeyedList(
  out: DataOutput,
  list: KeyedStateHandle[],
  ctx: WriteContext,
  changelogOnly: boolean,
) {
  const what = changelogOnly ? "nonMaterialized" : "materialized";
  if (!Array.isArray(list))
    throw new InvalidArgumentError(`ChangelogStateBackendHandle.${what} must be a list`);
  writeInt32(out, list.length, `${what} size`);
  for (const k of list) {
    if (!k) throw new InvalidArgumentError(`ChangelogStateBackendHandle.${what} holds a null handle`);
    if (
      changelogOnly &&
      k.kind !== "InMemoryChangelogStateHandle" &&
      k.kind !== "ChangelogStateHandleStreamImpl"
    ) {
      throw new InvalidArgumentError(`ChangelogStateBackendHandle.nonMaterialized holds a ${k.kind}`);
    }
    descendWrite(ctx, () => writeKeyedStateHandle(out, k, ctx));
  }
}

function writeChangelogStream(out: DataOutput, h: ChangelogStateHandleStreamImpl, ctx: WriteContext): void {
  const v2 = h.tag === HandleTag.CHANGELOG_FILE_INCREMENT_HANDLE_V2;
  if (v2 ? typeof h.storageIdentifier !== "string" : h.tag !== HandleTag.CHANGELOG_FILE_INCREMENT_HANDLE) {
    throw new InvalidArgumentError(
      "ChangelogStateHandleStreamImpl must have tag 13 with a storageIdentifier, or tag 10",
    );
  }
  if (!v2 && h.storageIdentifier !== null) {
    throw new InvalidArgumentError("ChangelogStateHandleStreamImpl with tag 10 has no storageIdentifier");
  }
  const short = writesFlink114Body(h, ctx);
  out.writeByte(h.tag);
  writeKeyGroupRange(out, h.keyGroupRange, h.kind);
  writeInt32(out, h.handlesAndOffsets.length, "number of (offset, handle) entries");
  for (const e of h.handlesAndOffsets) {
    writeInt64(out, e.offset, "ChangelogStateHandleStreamImpl offset");
    if (!e.handle) throw new InvalidArgumentError("ChangelogStateHandleStreamImpl entry without a handle");
    descendWrite(ctx, () => writeStreamStateHandle(out, e.handle, ctx));
  }
  writeInt64(out, h.size, "ChangelogStateHandleStreamImpl.size");
  if (!short) {
    writeInt64(out, h.checkpointedSize, "ChangelogStateHandleStreamImpl.checkpointedSize");
    writeString(out, h.stateHandleId, "ChangelogStateHandleStreamImpl.stateHandleId");
    if (v2)
      writeString(out, h.storageIdentifier as string, "ChangelogStateHandleStreamImpl.storageIdentifier");
  }
}
