import { appendFileSync } from "node:fs";

/** One row of a suite's report: what was tried against one tool and how it ended. */
export interface Tally {
  /** The group of cases, e.g. "kill add" or "hostile pointers". */
  cases: string;
  /** "mlv" or "dvc". */
  tool: string;
  tried: number;
  /** Ended as the rule says (completed, or failed cleanly and completed on rerun). */
  passed: number;
  /** Objects whose bytes do not match their name, or workspace files with wrong bytes. */
  corrupt: number;
  /** Data that was there before and is gone (an object, a file, a version). */
  lost: number;
  /** Temporary files, locks or partial objects left once the rerun finished. */
  leftBehind: number;
}

export function emptyTally(cases: string, tool: string): Tally {
  return { cases, tool, tried: 0, passed: 0, corrupt: 0, lost: 0, leftBehind: 0 };
}

const COLUMNS: [string, keyof Tally][] = [
  ["cases", "cases"],
  ["tool", "tool"],
  ["tried", "tried"],
  ["passed", "passed"],
  ["corrupt", "corrupt"],
  ["lost", "lost"],
  ["left behind", "leftBehind"],
];

/** The table as Markdown, numbers right-aligned. */
export function formatTable(rows: readonly Tally[]): string {
  const cells = rows.map((r) => COLUMNS.map(([, k]) => String(r[k])));
  const widths = COLUMNS.map(([h], i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? "").length)));
  const line = (cs: string[]) => `| ${cs.join(" | ")} |`;
  const out = [line(COLUMNS.map(([h], i) => h.padEnd(widths[i] ?? 0)))];
  out.push(line(widths.map((w) => "-".repeat(w))));
  for (const c of cells)
    out.push(line(c.map((v, i) => (i < 2 ? v.padEnd(widths[i] ?? 0) : v.padStart(widths[i] ?? 0)))));
  return out.join("\n");
}

/**
 * Print a suite's table (and append it to the file named by TORTURE_REPORT, if set), with notes
 * on the cases that did not pass, so that a failure can be reproduced from the report alone.
 */
export function report(title: string, rows: readonly Tally[], notes: readonly string[] = []): void {
  const text = `\n### ${title}\n\n${formatTable(rows)}\n${notes.map((n) => `- ${n}\n`).join("")}`;
  process.stdout.write(`${text}\n`);
  const file = process.env.TORTURE_REPORT;
  if (file) appendFileSync(file, `${text}\n`);
}
