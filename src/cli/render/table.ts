/** Plain-text tables and byte counts for terminal output. */

/** A column: header text and alignment. */
export interface Column {
  header: string;
  align?: "left" | "right";
}

/** Renders rows as an aligned table with a header line; `footer` rows follow a separator. */
export function renderTable(columns: Column[], rows: string[][], footer: string[][] = []): string {
  const all = [columns.map((c) => c.header), ...rows, ...footer];
  const widths = columns.map((_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    columns
      .map((c, i) => {
        const cell = r[i] ?? "";
        const w = widths[i] ?? 0;
        return c.align === "right" ? cell.padStart(w) : cell.padEnd(w);
      })
      .join("  ")
      .trimEnd();
  const out = [line(columns.map((c) => c.header)), ...rows.map(line)];
  if (footer.length > 0) {
    out.push(widths.map((w) => "-".repeat(w)).join("  "));
    out.push(...footer.map(line));
  }
  return out.join("\n");
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/** Human-readable byte count: `512 B`, `1.5 KiB`, `12.0 MiB`. */
export function formatBytes(n: bigint | number): string {
  let v = Number(n);
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${UNITS[u]}`;
}
