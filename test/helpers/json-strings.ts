/**
 * Strings JSON must escape, or that look as if it might: quotes, backslashes, control characters, the
 * line separators, non-ASCII, lone and reversed surrogates, a surrogate pair, markup and a URI with
 * spaces. Shared by the tests of the JSON writers (`src/cli/json.ts`, `src/cli/commands/inspect-json.ts`).
 */
export const ADVERSARIAL_STRINGS: readonly string[] = [
  "",
  '"',
  '\\"',
  "back\\slash",
  "tab\tnew\nline\r",
  "\u0000\u0001\u001f\u007f\u0080",
  "\u2028\u2029",
  "é中文🙂",
  "\ud800",
  "x\udfffy",
  "\udc00\ud800",
  "\ud83d\ude00",
  "</script>",
  "s3://bucket/key with spaces/ümlaut",
];
