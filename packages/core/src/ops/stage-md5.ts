/**
 * The stage checksum DVC writes as the top-level `md5` of an import (spec §1.7,
 * `dvc/stage/utils.py::compute_md5` and `dvc/utils/__init__.py::dict_md5`).
 */
import { createHash } from "node:crypto";
import { compareCodePoints, escapeJson } from "../formats/dir-manifest.js";

/** Keys `compute_md5` drops at the top level only. */
const TOP_EXCLUDED = ["md5", "meta", "desc"];
/** Keys `dict_md5` drops at every level (`Stage.PARAM_LOCKED`, `PARAM_FROZEN`, and the output annotations). */
const EXCLUDED = new Set([
  "desc",
  "type",
  "labels",
  "meta",
  "locked",
  "frozen",
  "metric",
  "persist",
  "isexec",
  "size",
  "nfiles",
]);

/** A JSON string literal as Python's `json.dumps` writes it (`ensure_ascii=True`). */
function pyString(s: string): string {
  return `"${escapeJson(s)}"`;
}

/**
 * `json.dumps(value, sort_keys=True)` with Python's default separators (`", "` and `": "`).
 * Floats that are whole numbers are written as Python ints would be (the YAML reader gives no way
 * to tell `1.0` from `1`); no DVC-written key that enters the checksum holds a float.
 */
export function pythonJsonDumps(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") {
    if (Number.isNaN(value)) return "NaN";
    if (!Number.isFinite(value)) return value > 0 ? "Infinity" : "-Infinity";
    return String(value);
  }
  if (typeof value === "string") return pyString(value);
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(", ")}]`;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => compareCodePoints(a, b));
  return `{${entries.map(([k, v]) => `${pyString(k)}: ${pythonJsonDumps(v)}`).join(", ")}}`;
}

function withoutExcluded(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutExcluded);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>))
    if (!EXCLUDED.has(k)) Object.defineProperty(out, k, { value: withoutExcluded(v), enumerable: true });
  return out;
}

/**
 * The stage md5 of a `.dvc` file's data (its top-level mapping as DVC dumps it, `outs` included):
 * `md5`, `meta` and `desc` removed at the top, `wdir: .` removed, the annotation and size keys
 * removed at every level, then the MD5 of the sorted JSON text.
 */
export function stageMd5(dump: Readonly<Record<string, unknown>>): string {
  const top: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(dump)) {
    if (TOP_EXCLUDED.includes(k) || v === undefined) continue;
    if (k === "wdir" && v === ".") continue;
    Object.defineProperty(top, k, { value: v, enumerable: true });
  }
  const text = pythonJsonDumps(withoutExcluded(top));
  return createHash("md5").update(text, "utf8").digest("hex");
}
