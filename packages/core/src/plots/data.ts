/**
 * Plot data files as DVC reads them: JSON or YAML (a list of records, or a mapping holding one),
 * CSV and TSV with a header row. Numbers stay numbers; each file becomes a list of records.
 */
import { posix } from "node:path";
import { parse as parseCsv } from "csv-parse/sync";
import { parse as parseYaml } from "yaml";
import { FormatError } from "../errors.js";

export type PlotValue = string | number | boolean | null;
export type PlotRow = Record<string, PlotValue>;

function delimited(text: string, delimiter: string, file: string, header: boolean): PlotRow[] {
  try {
    const rows = parseCsv(text, {
      delimiter,
      columns: header ? (names: string[]) => names.map((n) => n.trim()) : false,
      cast: (value, context) =>
        context.quoting || value.trim() === "" || Number.isNaN(Number(value)) ? value : Number(value),
      skip_empty_lines: true,
      trim: true,
    }) as PlotRow[] | PlotValue[][];
    return header
      ? (rows as PlotRow[])
      : (rows as PlotValue[][]).map((r) => Object.fromEntries(r.map((v, i) => [String(i), v])));
  } catch (err) {
    const line = (err as { lines?: number }).lines;
    throw new FormatError(
      file,
      `cannot be read as ${delimiter === "," ? "CSV" : "TSV"}: ${(err as Error).message}`,
      line,
    );
  }
}

function records(value: unknown, file: string): PlotRow[] {
  let list = value;
  if (list !== null && typeof list === "object" && !Array.isArray(list)) {
    // DVC's `{"train": [...]}`: the first list inside.
    list = Object.values(list as Record<string, unknown>).find(Array.isArray);
  }
  if (!Array.isArray(list))
    throw new FormatError(file, "holds no list of records to plot (give a list of objects, or an object holding one)");
  return list
    .filter((r): r is Record<string, unknown> => r !== null && typeof r === "object" && !Array.isArray(r))
    .map((r) =>
      Object.fromEntries(
        Object.entries(r).filter(
          (e): e is [string, PlotValue] => e[1] === null || ["string", "number", "boolean"].includes(typeof e[1]),
        ),
      ),
    );
}

/** The records of a plot data file, by its extension (`.json`, `.yaml`/`.yml`, `.csv`, `.tsv`). */
export function parsePlotData(bytes: Buffer, file: string, options: { header?: boolean } = {}): PlotRow[] {
  const text = bytes.toString("utf8");
  const ext = posix.extname(file).toLowerCase();
  if (ext === ".csv") return delimited(text, ",", file, options.header ?? true);
  if (ext === ".tsv") return delimited(text, "\t", file, options.header ?? true);
  try {
    return records(ext === ".json" ? JSON.parse(text) : parseYaml(text), file);
  } catch (err) {
    if (err instanceof FormatError) throw err;
    throw new FormatError(file, `cannot be read as ${ext === ".json" ? "JSON" : "YAML"}: ${(err as Error).message}`);
  }
}
