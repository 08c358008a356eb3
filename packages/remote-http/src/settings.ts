/**
 * The remote's URL and DVC's http options (spec §9.3), parsed and checked without any I/O. A CA
 * bundle named by `ssl_verify` is read, and a password asked for, on the first request only.
 */
import { ConfigError } from "@mlv/core";

export type AuthKind = "none" | "basic" | "custom" | "digest";

export interface HttpSettings {
  /** The remote's name in the config, for messages. */
  name: string;
  /** `http://host:port` (no credentials, no path). */
  origin: string;
  /** The URL's path without its trailing "/" (`""` for the server's root), already %-encoded. */
  basePath: string;
  /** The URL as shown to people: without user and password. */
  displayUrl: string;
  auth: AuthKind;
  /** For `auth = basic`. */
  user?: string;
  /** The password of `auth = basic`, the header value of `auth = custom`. */
  password?: string;
  /** Ask for the password on the terminal when it is not configured. */
  askPassword: boolean;
  /** The header of `auth = custom`. */
  customAuthHeader?: string;
  /** true (the system's CAs), false (no verification) or the path of a CA bundle. */
  sslVerify: boolean | string;
  connectTimeoutMs: number;
  readTimeoutMs: number;
  /** The upload verb, or the unusable value configured (every upload then fails naming it). */
  method: "POST" | "PUT" | { invalid: string };
  /** The `jobs` option: how many requests core may run at once (sizes the connection pool). */
  jobs?: number;
}

/** DVC's option names, with what each does (the adapter's `options`). */
export const OPTIONS: Record<string, string> = {
  auth: "authentication: basic (user and password) or custom (the password sent in custom_auth_header)",
  user: "user name of auth = basic",
  password: "password of auth = basic, or the header value of auth = custom (secret: set it with --local)",
  ask_password: "true: ask for the password on the terminal when it is not set",
  custom_auth_header: "name of the header that carries the password when auth = custom",
  ssl_verify: "true (default), false (do not verify TLS certificates) or the path of a CA bundle",
  read_timeout: "seconds to wait for a response or the next bytes of one (default 60; 0: no limit)",
  connect_timeout: "seconds to open a connection (default 60; 0: no limit)",
  method: "HTTP method of uploads: post (default) or put",
};

export const SECRET_OPTIONS = ["password"];

const DEFAULT_TIMEOUT_S = 60;
const TRUE = new Set(["true", "yes", "on", "1"]);
const FALSE = new Set(["false", "no", "off", "0"]);

export function parseSettings(name: string, url: string, options: Record<string, string>): HttpSettings {
  const bad = (detail: string, data: Record<string, unknown> = {}, hint?: string) =>
    new ConfigError(`remote '${name}': ${detail}`, { remote: name, ...data }, hint);
  const opt = (key: string): string | undefined => {
    const v = options[key];
    return v === undefined || v.trim() === "" ? undefined : v.trim();
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const v = opt(key);
    if (v === undefined) return fallback;
    const l = v.toLowerCase();
    if (TRUE.has(l)) return true;
    if (FALSE.has(l)) return false;
    throw bad(`'${key}' must be true or false, got '${v}'`, { option: key });
  };
  const seconds = (key: string): number => {
    const v = opt(key);
    if (v === undefined) return DEFAULT_TIMEOUT_S * 1000;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw bad(`'${key}' must be a number of seconds (0 or more), got '${v}'`);
    return Math.round(n * 1000);
  };

  const shown = redactUrl(url);
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    throw bad(`'${shown}' is not a URL: expected http://host[:port]/path or https://...`, { url: shown });
  }
  const scheme = parsed.protocol.slice(0, -1).toLowerCase();
  if (scheme !== "http" && scheme !== "https")
    throw bad(`'${shown}' is not an http:// or https:// URL`, { url: shown });
  if (parsed.hostname === "") throw bad(`'${shown}' names no host`, { url: shown });
  if (parsed.search !== "" || parsed.hash !== "")
    throw bad(`the URL '${shown}' has a '?query' or '#fragment': a remote's URL is a folder of objects`, {
      url: shown,
    });

  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw bad(`the user or password in '${shown}' has a bad %-escape`, { url: shown });
    }
  };
  const urlUser = parsed.username === "" ? undefined : decode(parsed.username);
  const urlPassword = parsed.password === "" ? undefined : decode(parsed.password);

  const rawAuth = opt("auth")?.toLowerCase();
  let auth: AuthKind;
  if (rawAuth === undefined) auth = urlUser !== undefined ? "basic" : "none";
  else if (rawAuth === "basic" || rawAuth === "custom" || rawAuth === "digest") auth = rawAuth;
  else throw bad(`'auth' must be one of basic, digest, custom, got '${opt("auth")}'`, { option: "auth" });

  const user = opt("user") ?? urlUser;
  const password = options.password !== undefined && options.password !== "" ? options.password : urlPassword;
  const askPassword = bool("ask_password", false);
  const customAuthHeader = opt("custom_auth_header");
  if (auth === "basic") {
    const missing = [user === undefined ? "user" : "", password === undefined && !askPassword ? "password" : ""]
      .filter((m) => m !== "")
      .join("' and '");
    if (missing !== "")
      throw bad(
        `auth = basic needs both 'user' and 'password' (missing: '${missing}'), or 'ask_password true'`,
        { option: "auth" },
        `Set them with 'mlv remote modify ${name} user NAME' and 'mlv remote modify --local ${name} password ...'.`,
      );
  }
  if (auth === "custom") {
    if (customAuthHeader === undefined)
      throw bad(
        "auth = custom needs 'custom_auth_header', the header to send",
        { option: "custom_auth_header" },
        `Set it with 'mlv remote modify ${name} custom_auth_header HEADER'.`,
      );
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(customAuthHeader))
      throw bad(`'custom_auth_header' must be a header name, got '${customAuthHeader}'`, {
        option: "custom_auth_header",
      });
    if (password === undefined && !askPassword)
      throw bad(
        `auth = custom needs 'password', the value of the ${customAuthHeader} header (or 'ask_password true')`,
        { option: "password" },
        `Set it with 'mlv remote modify --local ${name} password ...'.`,
      );
  }

  let sslVerify: boolean | string = true;
  const sv = opt("ssl_verify");
  if (sv !== undefined) {
    const l = sv.toLowerCase();
    if (TRUE.has(l)) sslVerify = true;
    else if (FALSE.has(l)) sslVerify = false;
    else sslVerify = sv;
  }

  const rawMethod = opt("method");
  let method: HttpSettings["method"] = "POST";
  if (rawMethod !== undefined) {
    const m = rawMethod.toUpperCase();
    method = m === "POST" || m === "PUT" ? m : { invalid: rawMethod };
  }

  let jobs: number | undefined;
  const j = opt("jobs");
  if (j !== undefined && /^\d+$/.test(j) && Number(j) > 0) jobs = Number(j);

  const basePath = parsed.pathname.replace(/\/+$/, "");
  const settings: HttpSettings = {
    name,
    origin: parsed.origin,
    basePath,
    displayUrl: `${parsed.origin}${basePath}`,
    auth,
    askPassword,
    sslVerify,
    connectTimeoutMs: seconds("connect_timeout"),
    readTimeoutMs: seconds("read_timeout"),
    method,
  };
  if (user !== undefined) settings.user = user;
  if (password !== undefined) settings.password = password;
  if (customAuthHeader !== undefined) settings.customAuthHeader = customAuthHeader;
  if (jobs !== undefined) settings.jobs = jobs;
  return settings;
}

/** The URL with any user and password removed (`https://u:secret@host/x` → `https://host/x`). */
export function redactUrl(url: string): string {
  return url.trim().replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/?#]*@/i, "$1");
}

/**
 * The path of `key` below `basePath`: plain "/"-joining, as DVC does. Characters a URL path cannot
 * hold are %-encoded; `%XX` escapes already there are kept, so an encoded key is not encoded twice.
 */
export function objectPath(basePath: string, key: string): string {
  const q = key.indexOf("?");
  const path = q < 0 ? key : key.slice(0, q);
  const query = q < 0 ? "" : `?${quote(key.slice(q + 1), QUERY_SAFE)}`;
  return `${basePath}/${quote(path, PATH_SAFE)}${query}`;
}

/** Unreserved characters, sub-delims, ":", "@" and "/" (RFC 3986 pchar, and the path separator). */
const PATH_SAFE = /[A-Za-z0-9\-._~!$&'()*+,;=:@/]/;
const QUERY_SAFE = /[A-Za-z0-9\-._~!$&'()*+,;=:@/?]/;

function quote(text: string, safe: RegExp): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (safe.test(ch)) out += ch;
    else if (ch === "%" && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) out += ch;
    else {
      const cp = text.codePointAt(i)!;
      const s = String.fromCodePoint(cp);
      if (s.length === 2) i++;
      out += encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    }
  }
  return out;
}
