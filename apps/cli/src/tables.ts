import type { MetricValue } from "@mlv/core";

/** DVC's default `--precision`: floats are rounded to this many decimal places. */
export const METRIC_PRECISION = 5;

/**
 * A metric value as DVC prints it (`dvc.compare._format_field` with `round_digits`): floats
 * rounded, booleans as Python writes them, missing values as "-".
 */
export function formatMetric(value: MetricValue | null | undefined, precision = METRIC_PRECISION): string {
  if (value === null || value === undefined) return "-";
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value === "number" && !Number.isInteger(value) && Math.abs(value) < 1e21)
    return String(Number(value.toFixed(precision)));
  return String(value);
}

/**
 * An aligned table as DVC prints one (tabulate's `plain` format: columns two spaces apart,
 * trailing blanks trimmed), or with `markdown` a GitHub table. `headerPadding`: how much wider
 * than its header a column is at least (tabulate's, and so `dvc params diff`'s, is 2).
 */
export function renderTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  markdown = false,
  headerPadding = 0,
): string {
  const widths = headers.map((h, i) => Math.max(h.length + headerPadding, ...rows.map((r) => (r[i] ?? "").length)));
  if (markdown) {
    const line = (cells: readonly string[]) => `| ${widths.map((w, i) => (cells[i] ?? "").padEnd(w)).join(" | ")} |`;
    return [line(headers), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)].join("\n");
  }
  const line = (cells: readonly string[]) =>
    widths
      .map((w, i) => (cells[i] ?? "").padEnd(w))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}
