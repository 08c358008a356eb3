/** Seconds as the tables print them: three decimals below 0.1 s, else two. */
export const fmtS = (s) => (s == null ? "n/a" : s < 0.1 ? s.toFixed(3) : s.toFixed(2));
/** KiB (GNU time's %M) as whole MiB. */
export const fmtMiB = (kib) => (kib == null ? "n/a" : (kib / 1024).toFixed(0));

/** The median of the measured values (missing ones left out); null when none. */
export function median(xs) {
  const v = xs.filter((x) => x != null).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

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
