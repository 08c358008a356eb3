/**
 * The stage checksum DVC writes as the top-level `md5` of an import (spec §1.7,
 * `dvc/stage/utils.py::compute_md5` and `dvc/utils/__init__.py::dict_md5`).
 */
import { createHash } from "node:crypto";
import { compareCodePoints } from "../formats/dir-manifest.js";

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

const SHORT_ESCAPES: Record<number, string> = {
  34: '\\"',
  92: "\\\\",
  10: "\\n",
  13: "\\r",
  9: "\\t",
  8: "\\b",
  12: "\\f",
};

/** A JSON string literal as Python's `json.dumps` writes it (`ensure_ascii=True`). */
function pyString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e && c !== 0x22 && c !== 0x5c) out += s[i];
    else out += SHORT_ESCAPES[c] ?? `\\u${c.toString(16).padStart(4, "0")}`;
  }
  return `${out}"`;
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
