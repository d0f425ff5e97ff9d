/**
 * A progress line on stderr (files, bytes, rate, ETA) while a copy runs; silent when stderr is not a
 * terminal, so pipes and CI logs stay clean.
 */

import { formatBytes } from "./table.js";

/** What progress a long operation reports. */
export interface ProgressSnapshot {
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

/** A progress reporter: call `update` as work advances and `stop` at the end. */
export interface ProgressReporter {
  update: (p: ProgressSnapshot) => void;
  stop: () => void;
}

/** A reporter that redraws one line on stderr at most 10 times a second, or does nothing off a TTY. */
export function progressReporter(
  label: string,
  stream: NodeJS.WriteStream = process.stderr,
): ProgressReporter {
  if (!stream.isTTY) return { update: () => {}, stop: () => {} };
  const started = Date.now();
  let last = 0;
  let drawn = false;
  return {
    update(p) {
      const now = Date.now();
      if (now - last < 100 && p.filesDone < p.filesTotal) return;
      last = now;
      const secs = Math.max((now - started) / 1000, 0.001);
      const rate = p.bytesDone / secs;
      const eta = rate > 0 ? Math.ceil((p.bytesTotal - p.bytesDone) / rate) : 0;
      const pct = p.bytesTotal > 0 ? Math.floor((100 * p.bytesDone) / p.bytesTotal) : 100;
      stream.write(
        `\r${label} ${pct}%  ${p.filesDone}/${p.filesTotal} files  ${formatBytes(p.bytesDone)}/${formatBytes(p.bytesTotal)}` +
          `  ${formatBytes(Math.round(rate))}/s  ETA ${eta}s\u001b[K`,
      );
      drawn = true;
    },
    stop() {
      if (drawn) stream.write("\n");
    },
  };
}
