/**
 * The fingerprint DVC records for an HTTP object (spec §9.5): the `ETag` header value with its
 * quotes, else `Content-MD5`, else a number derived from the response headers: the decimal
 * integer of the MD5 of the Python `repr` of a one-element tuple holding the object's info dict
 * (`{'name': url, 'size': n, ['mimetype': …,] ['partial': False,] 'url': final url, [header: value,]
 * 'type': 'file'}`). Nothing here does I/O.
 */
import { createHash } from "node:crypto";

/** A value of the info dict: a Python str, int, None or False. */
export type PyValue = string | number | boolean | null;
/** The info dict, in its insertion order. */
export type InfoEntries = [string, PyValue][];

/** Response headers as undici gives them: lower-case names. */
export type Headers = Record<string, string | string[] | undefined>;

function header(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * The info entries one response's headers give (a HEAD, or a GET when the HEAD gave no size),
 * in the order DVC's HTTP filesystem fills them. `finalUrl` is the URL after redirects.
 */
export function infoFromHeaders(headers: Headers, finalUrl: string): InfoEntries {
  const out: InfoEntries = [];
  const length = header(headers, "content-length");
  const encoding = header(headers, "content-encoding");
  const range = header(headers, "content-range");
  if (length !== undefined) {
    if (encoding === undefined || encoding === "identity" || encoding === "") out.push(["size", Number(length)]);
  } else if (range !== undefined) {
    const total = range.split("/")[1];
    if (total !== undefined && /^\d+$/.test(total.trim())) out.push(["size", Number(total.trim())]);
  }
  const type = header(headers, "content-type");
  if (type !== undefined) out.push(["mimetype", type.split(";")[0]!]);
  if (header(headers, "accept-ranges") === "none") out.push(["partial", false]);
  out.push(["url", finalUrl]);
  for (const [name, key] of [
    ["etag", "ETag"],
    ["content-md5", "Content-MD5"],
    ["digest", "Digest"],
    ["last-modified", "Last-Modified"],
  ] as const) {
    const v = header(headers, name);
    if (v) out.push([key, v]);
  }
  return out;
}

/** `into` updated with `more` as a Python dict update: existing keys keep their place. */
export function mergeInfo(into: InfoEntries, more: InfoEntries): InfoEntries {
  const out = into.map(([k, v]) => [k, v] as [string, PyValue]);
  for (const [k, v] of more) {
    const at = out.findIndex(([key]) => key === k);
    if (at >= 0) out[at]![1] = v;
    else out.push([k, v]);
  }
  return out;
}

/** The whole info dict of `url`: `name` and `size` first, what the responses said, then `type`. */
export function infoDict(url: string, entries: InfoEntries): InfoEntries {
  return [
    ...mergeInfo(
      [
        ["name", url],
        ["size", null],
      ],
      entries,
    ),
    ["type", "file"],
  ];
}

/** The size the info dict holds, if any. */
export function infoSize(info: InfoEntries): number | undefined {
  const v = info.find(([k]) => k === "size")?.[1];
  return typeof v === "number" ? v : undefined;
}

/** DVC's checksum of an object from its info dict: ETag, else Content-MD5, else the repr digest. */
export function checksumOf(info: InfoEntries): string {
  for (const key of ["ETag", "Content-MD5"]) {
    const v = info.find(([k]) => k === key)?.[1];
    if (typeof v === "string" && v !== "") return v;
  }
  return reprChecksum(info);
}

/** The decimal integer of the MD5 of `repr((info,))`. */
export function reprChecksum(info: InfoEntries): string {
  const text = `({${info.map(([k, v]) => `${pyRepr(k)}: ${pyRepr(v)}`).join(", ")}},)`;
  return BigInt(`0x${createHash("md5").update(text, "utf8").digest("hex")}`).toString(10);
}

/** Python 3's `repr` of a str, int, None or bool. */
export function pyRepr(value: PyValue): string {
  if (value === null) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : pyFloat(value);
  // Single quotes unless the text has a single quote and no double quote.
  const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of value) {
    const cp = ch.codePointAt(0)!;
    if (ch === quote || ch === "\\") out += `\\${ch}`;
    else if (ch === "\t") out += "\\t";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${hex(cp, 2)}`;
    else if (cp < 0x7f) out += ch;
    else if (NON_PRINTABLE.test(ch))
      out += cp <= 0xff ? `\\x${hex(cp, 2)}` : cp <= 0xffff ? `\\u${hex(cp, 4)}` : `\\U${hex(cp, 8)}`;
    else out += ch;
  }
  return out + quote;
}

/** What Python's str.isprintable() rejects: the "Other" and separator categories, except the space. */
const NON_PRINTABLE = /^(?:[\p{C}\p{Zl}\p{Zp}]|(?! )\p{Zs})$/u;

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, "0");
}

function pyFloat(n: number): string {
  const s = String(n);
  return s.includes(".") || s.includes("e") ? s : `${s}.0`;
}
