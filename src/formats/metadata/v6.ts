/**
 * Metadata format version 6 (written by Flink 2.1 and later; FLINK-33734): V5 with channel state
 * written by `ChannelStateHandleSerializerV2` (a type tag per handle, and merged channel handles).
 *
 * Mirrors `MetadataV6Serializer extends MetadataV5Serializer` (apache/flink @ada8fa0e), which only
 * swaps the channel state handle serializer. See `channel-handles.ts` for the layout.
 */

import { MetadataV5Serializer } from "./v5.js";

/** Codec for metadata V6 (`MetadataV6Serializer`). */
export class MetadataV6Serializer extends MetadataV5Serializer {
  override readonly version: number = 6;
  protected override readonly channelSerializer: 1 | 2 = 2;
}
