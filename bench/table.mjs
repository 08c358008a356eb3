/** The benchmark table: one row per case, numbers right-aligned. */
export function formatRows(list) {
  const cols = [
    ["case", "case"],
    ["mlv s", "mlvS"],
    ["baseline", "baseline"],
    ["baseline s", "baseS"],
    ["ratio", "ratio"],
    ["target", "target"],
    ["mlv peak MiB", "peak"],
    ["verdict", "verdict"],
  ];
  const widths = cols.map(([h, k]) => Math.max(h.length, ...list.map((r) => r[k].length)));
  const numeric = new Set(["mlvS", "baseS", "ratio", "peak"]);
  const line = (cells) => `| ${cells.join(" | ")} |`;
  const out = [line(cols.map(([h], i) => h.padEnd(widths[i])))];
  out.push(line(widths.map((w) => "-".repeat(w))));
  for (const r of list)
    out.push(line(cols.map(([, k], i) => (numeric.has(k) ? r[k].padStart(widths[i]) : r[k].padEnd(widths[i])))));
  return out.join("\n");
}
