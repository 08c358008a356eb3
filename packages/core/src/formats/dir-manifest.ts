/**
 * The `.dir` object: the JSON list of a directory's files (spec §2.3). Its bytes must be exactly
 * Python's `json.dumps(list, sort_keys=True)` (ensure_ascii), since its name is their MD5 and DVC
 * deletes any `.dir` object whose bytes do not hash to its name.
 */
import { createHash } from "node:crypto";
import { FormatError } from "../errors.js";

export interface DirEntry {
  /** Posix path relative to the tracked directory. */
  relpath: string;
  md5: string;
}

export interface ParsedDirEntry extends DirEntry {
  /** Other keys of the entry (size, isexec, ...), when it has any. */
  extra?: Record<string, unknown>;
}

/** Strings that Python's json.dumps writes unchanged: printable ASCII except `"` and `\`. */
const PLAIN_JSON = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

const SHORT_ESCAPES: Record<number, string> = {
  34: '\\"',
  92: "\\\\",
  10: "\\n",
  13: "\\r",
  9: "\\t",
  8: "\\b",
  12: "\\f",
};

/**
 * The body of a JSON string literal as Python's `json.dumps` writes it with `ensure_ascii=True`: short escapes
 * for `" \ \n \r \t \b \f`, `\u00XX` (lowercase hex) for everything else outside 0x20..0x7E, and
 * surrogate pairs for characters above U+FFFF (which is what JS strings hold already).
 */
export function escapeJson(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e && c !== 0x22 && c !== 0x5c) out += s[i];
    else out += SHORT_ESCAPES[c] ?? `\\u${c.toString(16).padStart(4, "0")}`;
  }
  return out;
}

/** Whether a string holds a UTF-16 unit at or above U+D800, where code-unit and code-point order differ. */
const HIGH_UNIT = /[\ud800-\uffff]/;

/**
 * Compare by Unicode code point, as Python compares `str`. JS `<` compares UTF-16 code units, which
 * differs only when a surrogate (U+D800..U+DFFF, half of an astral character) meets a unit in
 * U+E000..U+FFFF: the astral character must sort after.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      // Move surrogates above U+E000..U+FFFF.
      x = x <= 0xdfff ? x + 0x2000 : x - 0x800;
      y = y <= 0xdfff ? y + 0x2000 : y - 0x800;
    }
    return x - y;
  }
  return a.length - b.length;
}

/**
 * The bytes of a `.dir` object: entries sorted by `relpath` in code-point order, each written as
 * `{"md5": "...", "relpath": "..."}`, joined by `", "`, in `[...]`, with no trailing newline.
 */
export function serializeDirManifest(entries: readonly { relpath: string; md5: string }[]): Buffer {
  const sorted = entries.slice();
  // Printable ASCII (the common case) sorts the same by code unit and by code point.
  let ascii = true;
  for (const e of sorted) if (!PLAIN_JSON.test(e.relpath) && HIGH_UNIT.test(e.relpath)) ascii = false;
  if (ascii) sorted.sort((a, b) => (a.relpath < b.relpath ? -1 : a.relpath > b.relpath ? 1 : 0));
  else sorted.sort((a, b) => compareCodePoints(a.relpath, b.relpath));
  let json = "[";
  for (let i = 0; i < sorted.length; i++) {
    const e = sorted[i] as DirEntry;
    const md5 = PLAIN_JSON.test(e.md5) ? e.md5 : escapeJson(e.md5);
    const relpath = PLAIN_JSON.test(e.relpath) ? e.relpath : escapeJson(e.relpath);
    json += i === 0 ? `{"md5": "${md5}", "relpath": "${relpath}"}` : `, {"md5": "${md5}", "relpath": "${relpath}"}`;
  }
  json += "]";
  // Pure ASCII by construction, so latin1 gives the same bytes as UTF-8, faster.
  return Buffer.from(json, "latin1");
}

/** The name of a `.dir` object: the MD5 of its bytes plus `.dir`. */
export function dirManifestOid(bytes: Buffer): string {
  return `${createHash("md5").update(bytes).digest("hex")}.dir`;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "an object";
  return JSON.stringify(value);
}

/**
 * Read a `.dir` object. `label` names it in messages (its cache path or object id). The hash value
 * is read from the key named after `hashName`; a legacy (`md5-dos2unix`) tree still uses `md5`.
 * Entries whose relpath would leave the directory (absolute, `..`, empty parts) are refused, so
 * a crafted manifest cannot make a checkout write outside the output.
 */
/** A relpath part that is empty (a leading, doubled or trailing `/`), `.` or `..`. */
const UNSAFE_PART = /(?:^|\/)\.{0,2}(?:\/|$)/;
/** A `.git` part in any case: written out, it would be a git repository (its config can run commands); git refuses it too. */
const GIT_PART = /(?:^|\/)\.git(?:\/|$)/i;
const HASH_VALUE = /^[0-9a-f]{32}$/;

export function parseDirManifest(bytes: Buffer, label: string, hashName = "md5"): ParsedDirEntry[] {
  const key = hashName === "md5-dos2unix" ? "md5" : hashName;
  const corrupted = "the .dir object is corrupted: delete it and fetch it again";
  const hint = "Once it is deleted, fetch it with 'mlv fetch' (or 'mlv pull').";
  let data: unknown;
  try {
    data = JSON.parse(bytes.toString("utf8"));
  } catch (err) {
    throw new FormatError(label, `not valid JSON (${(err as Error).message}): ${corrupted}`, undefined, err, hint);
  }
  if (!Array.isArray(data))
    throw new FormatError(
      label,
      `expected a JSON list of entries, got ${describe(data)}: ${corrupted}`,
      undefined,
      undefined,
      hint,
    );
  // A loop without per-entry allocations but the result: folders of 100,000 files are read at every `status`.
  const entries: ParsedDirEntry[] = new Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const entry: unknown = data[i];
    if (entry === null || typeof entry !== "object" || Array.isArray(entry))
      throw new FormatError(
        label,
        `entry ${i} is ${describe(entry)}, not an object: ${corrupted}`,
        undefined,
        undefined,
        hint,
      );
    const fields = entry as Record<string, unknown>;
    const relpath = fields.relpath;
    const hash = fields[key];
    if (typeof relpath !== "string")
      throw new FormatError(
        label,
        `entry ${i} has no 'relpath' string (got ${describe(relpath)}): ${corrupted}`,
        undefined,
        undefined,
        hint,
      );
    if (typeof hash !== "string")
      throw new FormatError(
        label,
        `entry ${i} ('${relpath}') has no '${key}' string (got ${describe(hash)}): ${corrupted}`,
        undefined,
        undefined,
        hint,
      );
    if (relpath === "" || UNSAFE_PART.test(relpath) || relpath.includes("\0") || GIT_PART.test(relpath))
      throw new FormatError(
        label,
        `entry ${i} has an unsafe relpath ${JSON.stringify(relpath)} (absolute, empty, with '..' or '.git' parts or a NUL byte): no file can be written there. The listing was made that way, so fetching it again will not help: ask whoever pushed it for a good one`,
      );
    if (key === "md5" && !HASH_VALUE.test(hash))
      throw new FormatError(
        label,
        `entry ${i} ('${relpath}') has ${key} ${JSON.stringify(hash)}, not 32 hex characters: the listing was made that way, so fetching it again will not help: ask whoever pushed it for a good one`,
      );
    const result: ParsedDirEntry = { relpath, md5: hash };
    let extra: Record<string, unknown> | undefined;
    for (const name of Object.keys(fields)) {
      if (name === "relpath" || name === key) continue;
      extra ??= {};
      // An own property even for `__proto__`, as JSON gave it.
      Object.defineProperty(extra, name, { value: fields[name], enumerable: true, writable: true, configurable: true });
    }
    if (extra !== undefined) result.extra = extra;
    entries[i] = result;
  }
  return entries;
}
