/**
 * fast-check generators of random, valid `_metadata` models for every version, holding every handle
 * kind the version can carry. Values are canonical (what the reader returns), so for any generated
 * model `readMetadata(writeMetadata(m))` must deep-equal `m`.
 */
import fc from "fast-check";
import type {
  CheckpointMetadata,
  InputChannelStateHandle,
  KeyedStateHandle,
  KeyGroupRange,
  OperatorState,
  OperatorStateHandle,
  OperatorSubtaskState,
  ResultSubpartitionStateHandle,
  StreamStateHandle,
  SubtaskStateEntry,
} from "../../../src/formats/metadata/model.js";
import { NULL_PROPERTIES_TRAILER } from "../../../src/formats/metadata/properties.js";
import { SAVEPOINT_PROPERTIES } from "./vectors.js";

const long = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const int = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const str = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: "binary", maxLength: 6 }));
const bytes = fc.uint8Array({ maxLength: 8 });

const range: fc.Arbitrary<{ r: KeyGroupRange; n: number }> = fc
  .tuple(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 3 }))
  .map(([start, n]) => ({ r: { start, end: start + n - 1 }, n }));

/** Stream handles nested at most `depth` more levels. */
export function streamHandle(depth: number): fc.Arbitrary<StreamStateHandle> {
  const leaves: fc.Arbitrary<StreamStateHandle>[] = [
    fc.record({ kind: fc.constant("ByteStreamStateHandle" as const), handleName: str, data: bytes }),
    fc.record({ kind: fc.constant("FileStateHandle" as const), filePath: str, stateSize: long }),
    fc.record({ kind: fc.constant("RelativeFileStateHandle" as const), relativePath: str, stateSize: long }),
    segment,
    fc.constant({ kind: "EmptySegmentFileStateHandle" as const }),
  ];
  if (depth <= 0) return fc.oneof(...leaves);
  const kg = fc.tuple(range, streamHandle(depth - 1)).chain(([{ r, n }, delegate]) =>
    fc.array(long, { minLength: n, maxLength: n }).map(
      (offsets): StreamStateHandle => ({
        kind: "KeyGroupsStateHandle",
        tag: 3,
        keyGroupRange: r,
        offsets,
        delegate,
        stateHandleId: null,
      }),
    ),
  );
  return fc.oneof(...leaves, kg);
}

const segment = fc.record({
  kind: fc.constant("SegmentFileStateHandle" as const),
  startPos: long,
  stateSize: long,
  scope: fc.integer({ min: 0, max: 1 }),
  physicalFilePath: str,
  logicalFileId: str,
});

const handleAndPath = fc.record({ localPath: str, handle: streamHandle(1) });

/**
 * The layout of a V3 file (see src/formats/metadata/v3.ts): Flink 1.11 channel handles without
 * subtaskIndex and no changelog handles, Flink 1.14 short changelog bodies, or the current forms.
 */
export type V3Layout = "current" | "flink111" | "flink114";

/** Keyed handles valid in `version` (and V3 `layout`), nested at most `depth` more levels. */
export function keyedHandle(
  version: number,
  depth: number,
  layout: V3Layout = "current",
): fc.Arbitrary<KeyedStateHandle> {
  const short = layout === "flink114"; // Flink 1.14 changelog bodies (see keyed-handles.ts)
  const flag = short ? { flink114Body: true as const } : {};
  const kg = fc
    .tuple(range, streamHandle(1), fc.constantFrom(3, 7, 12), str)
    .chain(([{ r, n }, delegate, tag, id]) =>
      fc.array(long, { minLength: n, maxLength: n }).map(
        (offsets): KeyedStateHandle =>
          tag === 7
            ? {
                kind: "KeyGroupsSavepointStateHandle",
                tag: 7,
                keyGroupRange: r,
                offsets,
                delegate,
                stateHandleId: null,
              }
            : {
                kind: "KeyGroupsStateHandle",
                tag: tag as 3 | 12,
                keyGroupRange: r,
                offsets,
                delegate,
                stateHandleId: tag === 12 ? id : null,
              },
      ),
    );
  const incremental = fc
    .record({
      tag: fc.constantFrom(5 as const, 11 as const),
      checkpointId: long,
      backendIdentifier: str,
      range,
      checkpointedSize: long,
      metaStateHandle: fc.option(streamHandle(1), { nil: null }),
      sharedState: fc.array(handleAndPath, { maxLength: 2 }),
      privateState: fc.array(handleAndPath, { maxLength: 2 }),
      stateHandleId: str,
    })
    .map(
      (x): KeyedStateHandle => ({
        kind: "IncrementalRemoteKeyedStateHandle",
        tag: x.tag,
        checkpointId: x.checkpointId,
        backendIdentifier: x.backendIdentifier,
        keyGroupRange: x.range.r,
        checkpointedSize: x.tag === 11 ? x.checkpointedSize : null,
        metaStateHandle: x.metaStateHandle,
        sharedState: x.sharedState,
        privateState: x.privateState,
        stateHandleId: x.tag === 11 ? x.stateHandleId : null,
      }),
    );
  const inMemory = fc
    .record({
      range,
      from: long,
      to: long,
      changes: fc.array(fc.record({ keyGroup: int, data: bytes }), { maxLength: 3 }),
      id: str,
    })
    .map(
      (x): KeyedStateHandle => ({
        kind: "InMemoryChangelogStateHandle",
        keyGroupRange: x.range.r,
        from: x.from,
        to: x.to,
        changes: x.changes,
        stateHandleId: short ? "" : x.id,
        ...flag,
      }),
    );
  const streamImpl = fc
    .record({
      tag: short ? fc.constant(10 as const) : fc.constantFrom(10 as const, 13 as const),
      range,
      entries: fc.array(fc.record({ offset: long, handle: streamHandle(1) }), { maxLength: 2 }),
      size: long,
      checkpointedSize: long,
      id: str,
      storage: str,
    })
    .map(
      (x): KeyedStateHandle => ({
        kind: "ChangelogStateHandleStreamImpl",
        tag: x.tag,
        keyGroupRange: x.range.r,
        handlesAndOffsets: x.entries,
        size: x.size,
        checkpointedSize: short ? -1n : x.checkpointedSize,
        stateHandleId: short ? "" : x.id,
        storageIdentifier: x.tag === 13 ? x.storage : null,
        ...flag,
      }),
    );
  // Flink 1.11 had no changelog handles
  const leaves = layout === "flink111" ? [kg, incremental] : [kg, incremental, inMemory, streamImpl];
  if (depth <= 0 || layout === "flink111") return fc.oneof(...leaves);
  const backend = fc
    .record({
      tag: short ? fc.constant(8 as const) : fc.constantFrom(8 as const, 14 as const),
      range,
      checkpointedSize: long,
      materialized: fc.array(keyedHandle(version, depth - 1, layout), { maxLength: 2 }),
      nonMaterialized: fc.array(fc.oneof(inMemory, streamImpl), { maxLength: 2 }),
      materializationId: long,
      checkpointId: long,
      id: str,
    })
    .map(
      (x): KeyedStateHandle => ({
        kind: "ChangelogStateBackendHandle",
        tag: x.tag,
        keyGroupRange: x.range.r,
        checkpointedSize: short ? -1n : x.checkpointedSize,
        materialized: x.materialized,
        nonMaterialized: x.nonMaterialized,
        materializationId: short ? -1n : x.materializationId,
        checkpointId: x.tag === 14 ? x.checkpointId : null,
        stateHandleId: short ? "" : x.id,
        ...flag,
      }),
    );
  return fc.oneof(...leaves, backend);
}

const stateEntries = fc
  .uniqueArray(
    fc.record({
      name: str,
      mode: fc.constantFrom("SPLIT_DISTRIBUTE" as const, "UNION" as const, "BROADCAST" as const),
      offsets: fc.array(long, { maxLength: 3 }),
    }),
    { selector: (e) => e.name, maxLength: 3 },
  )
  .map((a) => a.slice());

/** Operator handles (tags 4 and 17). */
export const operatorHandle: fc.Arbitrary<OperatorStateHandle> = fc.oneof(
  fc.record({
    kind: fc.constant("OperatorStreamStateHandle" as const),
    states: stateEntries,
    delegate: streamHandle(1),
  }),
  fc.record({ states: stateEntries, t: str, s: str, isEmpty: fc.boolean(), seg: segment }).map(
    (x): OperatorStateHandle => ({
      kind: "FileMergingOperatorStreamStateHandle",
      states: x.states,
      taskOwnedDirPath: x.t,
      sharedDirPath: x.s,
      isEmpty: x.isEmpty,
      delegate: x.isEmpty ? { kind: "EmptySegmentFileStateHandle" } : x.seg,
    }),
  ),
);

const channelBody = fc.record({
  subtaskIndex: int,
  info: fc.record({ a: int, b: int }),
  offsets: fc.array(long, { maxLength: 3 }),
  stateSize: long,
  delegate: streamHandle(0),
});
const mergedBody = fc.record({
  subtaskIndex: int,
  stateSize: long,
  delegate: streamHandle(0),
  serializedChannelOffsets: bytes,
});

/** The V1 channel body of `layout`: Flink 1.11 has no subtaskIndex. */
const v1Body = (layout: V3Layout) =>
  layout === "flink111" ? channelBody.map((b) => ({ ...b, subtaskIndex: null })) : channelBody;

function inputChannels(version: number, layout: V3Layout): fc.Arbitrary<InputChannelStateHandle[]> {
  const one: fc.Arbitrary<InputChannelStateHandle>[] = [
    v1Body(layout).map((b) => ({ kind: "InputChannelStateHandle" as const, ...b })),
  ];
  if (version >= 6)
    one.push(mergedBody.map((b) => ({ kind: "MergedInputChannelStateHandle" as const, ...b })));
  return fc.array(fc.oneof(...one), { maxLength: 2 });
}

function outputChannels(version: number, layout: V3Layout): fc.Arbitrary<ResultSubpartitionStateHandle[]> {
  const one: fc.Arbitrary<ResultSubpartitionStateHandle>[] = [
    v1Body(layout).map((b) => ({ kind: "ResultSubpartitionStateHandle" as const, ...b })),
  ];
  if (version >= 6)
    one.push(mergedBody.map((b) => ({ kind: "MergedResultSubpartitionStateHandle" as const, ...b })));
  return fc.array(fc.oneof(...one), { maxLength: 2 });
}

function subtask(version: number, index: number, layout: V3Layout): fc.Arbitrary<SubtaskStateEntry> {
  const running = fc
    .record({
      managedOperatorState: fc.option(operatorHandle, { nil: null }),
      rawOperatorState: fc.option(operatorHandle, { nil: null }),
      managedKeyedState: fc.option(keyedHandle(version, 2, layout), { nil: null }),
      rawKeyedState: fc.option(keyedHandle(version, 1, layout), { nil: null }),
      inputChannelState:
        version >= 3 ? inputChannels(version, layout) : fc.constant([] as InputChannelStateHandle[]),
      resultSubpartitionState:
        version >= 3 ? outputChannels(version, layout) : fc.constant([] as ResultSubpartitionStateHandle[]),
      ref: fc.option(long, { nil: null }),
      duration: long,
    })
    .map((x): SubtaskStateEntry => {
      const { ref, duration, ...slots } = x;
      const s: OperatorSubtaskState = {
        kind: "OperatorSubtaskState",
        subtaskIndex: index,
        ...slots,
        inputChannelState: [...slots.inputChannelState],
        resultSubpartitionState: [...slots.resultSubpartitionState],
      };
      if (version === 7) s.refCheckpointId = ref;
      if (version === 2 && duration !== -1n) s.v2Legacy = { duration };
      return s;
    });
  if (version === 2) return running;
  return fc.oneof(
    running,
    fc.constant({ kind: "FinishedOperatorSubtaskState" as const, subtaskIndex: index }),
  );
}

function operator(version: number, layout: V3Layout): fc.Arbitrary<OperatorState> {
  return fc
    .record({
      id: fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString("hex")),
      parallelism: fc.integer({ min: 0, max: 3 }),
      extraMax: fc.integer({ min: 0, max: 200 }),
      name: fc.option(fc.string({ minLength: 1, maxLength: 8 }), { nil: null }),
      uid: fc.option(fc.string({ minLength: 1, maxLength: 8 }), { nil: null }),
      coordinator: fc.option(
        fc.record({ kind: fc.constant("ByteStreamStateHandle" as const), handleName: str, data: bytes }),
        {
          nil: null,
        },
      ),
      fullyFinished: fc.boolean(),
      chain: int,
      seed: fc.nat(),
    })
    .chain((x) => {
      const finished = version >= 3 && x.fullyFinished;
      const indices = fc.shuffledSubarray(
        Array.from({ length: x.parallelism }, (_, i) => i),
        { minLength: 0 },
      );
      const subtasks: fc.Arbitrary<SubtaskStateEntry[]> = finished
        ? fc.constant([])
        : indices.chain((idx) =>
            idx.length === 0
              ? fc.constant([] as SubtaskStateEntry[])
              : fc.tuple(...idx.map((i) => subtask(version, i, layout))).map((t) => [...t]),
          );
      return subtasks.map((subtaskStates): OperatorState => {
        const op: OperatorState = {
          operatorId: x.id,
          name: version >= 5 ? x.name : null,
          uid: version >= 5 ? x.uid : null,
          parallelism: x.parallelism,
          maxParallelism: x.parallelism + x.extraMax,
          coordinatorState: version >= 3 && !finished ? x.coordinator : null,
          fullyFinished: finished,
          subtaskStates: [...subtaskStates],
        };
        if (version === 2 && x.chain !== 1) op.v2ChainLength = x.chain;
        return op;
      });
    });
}

/**
 * A whole random metadata model of `version`; V3 models are in one of the three V3 layouts (or in
 * `layout` when given).
 */
export function metadata(version: number, layout?: V3Layout): fc.Arbitrary<CheckpointMetadata> {
  if (version === 3 && layout === undefined) {
    return fc.constantFrom<V3Layout>("current", "flink111", "flink114").chain((l) => metadata(3, l));
  }
  return fc.record({
    version: fc.constant(version),
    checkpointId: fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }),
    masterStates: fc.array(fc.record({ name: str, version: int, bytes }), { maxLength: 2 }),
    operatorStates: fc.array(operator(version, layout ?? "current"), { maxLength: 3 }),
    properties:
      version >= 4
        ? fc.constantFrom(NULL_PROPERTIES_TRAILER.slice(), SAVEPOINT_PROPERTIES.slice())
        : fc.constant(null),
  });
}

/** A random model of any supported version. */
export const anyMetadata: fc.Arbitrary<CheckpointMetadata> = fc
  .constantFrom(2, 3, 4, 5, 6, 7)
  .chain(metadata);
