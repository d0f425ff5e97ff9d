/**
 * The JSON of `savepoint inspect --json`: the report of `ops/inspect.ts` with its subtask records
 * (every handle and file: 716,000 file records for a 108 MB `_metadata`) written by a writer made for
 * their shape, in the same bytes as the generic `JSON.stringify(report, jsonReplacer, 2)` of
 * `../json.ts`.
 *
 * Speed: the generic writer looks at every value's type and every object's keys, and copies each key
 * with its indentation from a map lookup. Here the keys are known, so the punctuation, newlines,
 * indentation and keys between two values are one pre-encoded byte sequence per nesting depth (e.g.
 * `,\n` + 18 spaces + `"stored": ` between a file's role and its pointer), and values are written by
 * their known type. Strings still go through {@link JsonByteWriter.string} (quoting and escaping are its job), and
 * key-group ranges (objects of the metadata model, not of the report) through its generic
 * {@link JsonByteWriter.value}.
 */

import type { HandleFile, HandleReport, OperatorReport, SubtaskReport } from "../../ops/inspect.js";
import { type JsonByteWriter, quoteJsonString, StreamedJsonArray, WrittenJson } from "../json.js";

/** The keys of each record, in the order `ops/inspect.ts` creates them (the order `JSON.stringify` writes). */
const SUBTASK_KEYS = ["index", "finished", "handles"] as const;
const HANDLE_KEYS = [
  "slot",
  "kind",
  "keyGroupRange",
  "stateSize",
  "checkpointedSize",
  "stateNames",
  "files",
  "inline",
] as const;
const FILE_KEYS = ["role", "stored", "relative", "uri", "stateSize"] as const;
const STATE_NAME_KEYS = ["name", "mode"] as const;
const INLINE_KEYS = ["role", "bytes"] as const;
type StateName = HandleReport["stateNames"][number];
type InlineHandle = HandleReport["inline"][number];

/** The keys of `T` that `keys` leaves out: `never` when the writer writes every field. */
type Unwritten<T, K extends readonly string[]> = Exclude<keyof T, K[number]>;
/** Fails to compile when a field is added to a record type and not to its key list above. */
const EVERY_FIELD_WRITTEN: [
  Unwritten<SubtaskReport, typeof SUBTASK_KEYS>,
  Unwritten<HandleReport, typeof HANDLE_KEYS>,
  Unwritten<HandleFile, typeof FILE_KEYS>,
  Unwritten<StateName, typeof STATE_NAME_KEYS>,
  Unwritten<InlineHandle, typeof INLINE_KEYS>,
] extends [never, never, never, never, never]
  ? true
  : false = true;
void EVERY_FIELD_WRITTEN;

const indent = (depth: number) => "  ".repeat(depth);
const ascii = (s: string) => Buffer.from(s, "latin1");
/** `"key": ` as `JSON.stringify` writes an object member's start. */
const member = (depth: number, key: string) => `\n${indent(depth)}${quoteJsonString(key)}: `;

/** The byte sequences between the values of a subtask record that sits `depth` levels deep. */
class Layout {
  /** `{` and the first member's key. */
  readonly subtaskIndex: Uint8Array;
  readonly subtaskFinished: Uint8Array;
  readonly subtaskHandles: Uint8Array;
  /** `\n` and the indentation of a handle (after `[` or `,`). */
  readonly handleStart: Uint8Array;
  /** The closing line of a non-empty handles array. */
  readonly handlesEnd: Uint8Array;
  /** The closing line of the subtask. */
  readonly subtaskEnd: Uint8Array;
  readonly slot: Uint8Array;
  readonly kind: Uint8Array;
  readonly keyGroupRange: Uint8Array;
  /** Includes the opening quote of the `bigint`'s digits. */
  readonly stateSize: Uint8Array;
  readonly checkpointedSize: Uint8Array;
  readonly stateNames: Uint8Array;
  readonly files: Uint8Array;
  readonly inline: Uint8Array;
  readonly handleEnd: Uint8Array;
  /** `[`, a file's `{` and its first key. */
  readonly firstFile: Uint8Array;
  /** The end of a file, `,` and the next file's `{` and first key. */
  readonly nextFile: Uint8Array;
  readonly stored: Uint8Array;
  /** `relative` with its value and the `uri` key, for each value. */
  readonly relativeUri: Uint8Array;
  readonly absoluteUri: Uint8Array;
  /** Includes the opening quote of the `bigint`'s digits. */
  readonly fileStateSize: Uint8Array;
  /** The closing quote of the state size, the end of the last file and of the files array. */
  readonly filesEnd: Uint8Array;
  /** `[` or `,`, an entry's `{` and first key, for state names and inline handles. */
  readonly firstStateName: Uint8Array;
  readonly nextStateName: Uint8Array;
  readonly stateNameMode: Uint8Array;
  readonly firstInline: Uint8Array;
  readonly nextInline: Uint8Array;
  /** Includes the opening quote of the `bigint`'s digits. */
  readonly inlineBytes: Uint8Array;
  /** The closing line of an entry (after a closing quote) and of its array. */
  readonly entriesEnd: Uint8Array;

  /** @param depth the depth of the subtask record (4 in an inspect report). */
  constructor(readonly depth: number) {
    const s = depth;
    const h = s + 2; // a handle (in the subtask's handles array)
    const f = h + 2; // a file (in the handle's files array)
    this.subtaskIndex = ascii(`{${member(s + 1, "index")}`);
    this.subtaskFinished = ascii(`,${member(s + 1, "finished")}`);
    this.subtaskHandles = ascii(`,${member(s + 1, "handles")}`);
    this.handleStart = ascii(`\n${indent(h)}`);
    this.handlesEnd = ascii(`\n${indent(s + 1)}]`);
    this.subtaskEnd = ascii(`\n${indent(s)}}`);
    this.slot = ascii(`{${member(h + 1, "slot")}`);
    this.kind = ascii(`,${member(h + 1, "kind")}`);
    this.keyGroupRange = ascii(`,${member(h + 1, "keyGroupRange")}`);
    this.stateSize = ascii(`,${member(h + 1, "stateSize")}"`);
    this.checkpointedSize = ascii(`,${member(h + 1, "checkpointedSize")}`);
    this.stateNames = ascii(`,${member(h + 1, "stateNames")}`);
    this.files = ascii(`,${member(h + 1, "files")}`);
    this.inline = ascii(`,${member(h + 1, "inline")}`);
    this.handleEnd = ascii(`\n${indent(h)}}`);
    const fileStart = `{${member(f + 1, "role")}`;
    this.firstFile = ascii(`[\n${indent(f)}${fileStart}`);
    this.nextFile = ascii(`"\n${indent(f)}},\n${indent(f)}${fileStart}`);
    this.stored = ascii(`,${member(f + 1, "stored")}`);
    this.relativeUri = ascii(`,${member(f + 1, "relative")}true,${member(f + 1, "uri")}`);
    this.absoluteUri = ascii(`,${member(f + 1, "relative")}false,${member(f + 1, "uri")}`);
    this.fileStateSize = ascii(`,${member(f + 1, "stateSize")}"`);
    this.filesEnd = ascii(`"\n${indent(f)}}\n${indent(h + 1)}]`);
    // State names and inline handles sit at the depth of files.
    this.firstStateName = ascii(`[\n${indent(f)}{${member(f + 1, "name")}`);
    this.nextStateName = ascii(`\n${indent(f)}},\n${indent(f)}{${member(f + 1, "name")}`);
    this.stateNameMode = ascii(`,${member(f + 1, "mode")}`);
    this.firstInline = ascii(`[\n${indent(f)}{${member(f + 1, "role")}`);
    this.nextInline = ascii(`"\n${indent(f)}},\n${indent(f)}{${member(f + 1, "role")}`);
    this.inlineBytes = ascii(`,${member(f + 1, "bytes")}"`);
    this.entriesEnd = ascii(`\n${indent(f)}}\n${indent(h + 1)}]`);
  }
}

const LAYOUTS: Layout[] = [];
function layoutAt(depth: number): Layout {
  let l = LAYOUTS[depth];
  if (l === undefined) {
    l = new Layout(depth);
    LAYOUTS[depth] = l;
  }
  return l;
}

const EMPTY_ARRAY = ascii("[]");
const NULL = ascii("null");

/**
 * Writes a subtask record of an inspect report as `JSON.stringify(s, jsonReplacer, 2)` writes it
 * when it sits `depth` levels deep.
 */
export function writeSubtaskReport(w: JsonByteWriter, s: SubtaskReport, depth: number): void {
  const l = layoutAt(depth);
  w.bytes(l.subtaskIndex);
  w.number(s.index);
  w.bytes(l.subtaskFinished);
  w.boolean(s.finished);
  w.bytes(l.subtaskHandles);
  const handles = s.handles;
  if (handles.length === 0) w.bytes(EMPTY_ARRAY);
  else {
    for (let i = 0; i < handles.length; i++) {
      w.byte(i === 0 ? 0x5b : 0x2c);
      w.bytes(l.handleStart);
      writeHandle(w, handles[i] as HandleReport, l);
    }
    w.bytes(l.handlesEnd);
  }
  w.bytes(l.subtaskEnd);
}

function writeHandle(w: JsonByteWriter, h: HandleReport, l: Layout): void {
  const inner = l.depth + 3;
  w.bytes(l.slot);
  w.string(h.slot);
  w.bytes(l.kind);
  w.string(h.kind);
  w.bytes(l.keyGroupRange);
  w.value(h.keyGroupRange, inner);
  w.bytes(l.stateSize);
  w.bigintDigits(h.stateSize);
  w.byte(0x22);
  w.bytes(l.checkpointedSize);
  if (h.checkpointedSize === null) w.bytes(NULL);
  else w.bigint(h.checkpointedSize);
  w.bytes(l.stateNames);
  const names = h.stateNames;
  if (names.length === 0) w.bytes(EMPTY_ARRAY);
  else {
    for (let i = 0; i < names.length; i++) {
      const n = names[i] as StateName;
      w.bytes(i === 0 ? l.firstStateName : l.nextStateName);
      w.string(n.name);
      w.bytes(l.stateNameMode);
      w.string(n.mode);
    }
    w.bytes(l.entriesEnd);
  }
  w.bytes(l.files);
  const files = h.files;
  if (files.length === 0) w.bytes(EMPTY_ARRAY);
  else {
    for (let i = 0; i < files.length; i++) {
      const f = files[i] as HandleFile;
      w.bytes(i === 0 ? l.firstFile : l.nextFile);
      w.string(f.role);
      w.bytes(l.stored);
      w.string(f.stored);
      w.bytes(f.relative ? l.relativeUri : l.absoluteUri);
      w.string(f.uri);
      w.bytes(l.fileStateSize);
      w.bigintDigits(f.stateSize);
    }
    w.bytes(l.filesEnd);
  }
  w.bytes(l.inline);
  const inline = h.inline;
  if (inline.length === 0) w.bytes(EMPTY_ARRAY);
  else {
    for (let i = 0; i < inline.length; i++) {
      const e = inline[i] as InlineHandle;
      w.bytes(i === 0 ? l.firstInline : l.nextInline);
      w.string(e.role);
      w.bytes(l.inlineBytes);
      w.bigintDigits(e.bytes);
    }
    w.byte(0x22);
    w.bytes(l.entriesEnd);
  }
  w.bytes(l.handleEnd);
}

/**
 * An operator report as the CLI writes it: the report itself, with its subtask records written by
 * {@link writeSubtaskReport} (one output chunk hand-over per subtask, as the generic writer does).
 */
export function operatorJson(op: OperatorReport): unknown {
  const subtasks = op.subtaskStates.map(
    (s) => new WrittenJson((w, depth) => writeSubtaskReport(w, s, depth)),
  );
  return { ...op, subtaskStates: new StreamedJsonArray(subtasks) };
}
