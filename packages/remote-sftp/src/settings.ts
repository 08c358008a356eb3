/**
 * The remote's URL and DVC's ssh options (spec §5.3), parsed and checked without any I/O: what the
 * user configured. What `~/.ssh/config` adds is resolved later, at connect time (connect.ts).
 */
import { ConfigError } from "@mlv/core";

export interface SftpSettings {
  /** The remote's name in the config, for messages. */
  name: string;
  scheme: "ssh" | "sftp";
  /** The URL as shown to people: no password. */
  displayUrl: string;
  /** The host as written in the URL: a name, an address, or a `~/.ssh/config` alias. */
  host: string;
  /** The remote folder: absolute (`/srv/dvc`), or relative to the login folder (`ssh://host/~/dvc` → `dvc`, `""` for the login folder itself). */
  root: string;
  /** From the `user` (or `username`) option, else the URL; undefined: ~/.ssh/config, then the local user. */
  user?: string;
  /** From the `port` option, else the URL; undefined: ~/.ssh/config, then 22. */
  port?: number;
  /** From the `password` option, else the URL. */
  password?: string;
  askPassword: boolean;
  /** From the `keyfile` option (`~/` expanded at connect time). */
  keyfile?: string;
  passphrase?: string;
  askPassphrase: boolean;
  /** Use the SSH agent (SSH_AUTH_SOCK): DVC's `allow_agent`, default true. */
  allowAgent: boolean;
  /** How long to wait for the connection and the SSH handshake, in ms (`timeout`, in seconds); undefined: ~/.ssh/config's ConnectTimeout, else 30 s. */
  timeoutMs?: number;
  /** SFTP sessions (channels) opened at most on the connection (`max_sessions`). */
  maxSessions: number;
}

/** DVC's option names, with what each does (the adapter's `options`). */
export const OPTIONS: Record<string, string> = {
  user: "user name to log in as (overrides the URL's user@ and ~/.ssh/config's User)",
  username: "same as user (used when user is not set)",
  port: "port of the SSH server (overrides the URL's :port and ~/.ssh/config's Port; default 22)",
  keyfile: "private key file to log in with (default: ~/.ssh/config's IdentityFile, the SSH agent, ~/.ssh/id_*)",
  password: "password to log in with (secret: set it with --local)",
  ask_password: "true: ask for the password on the terminal",
  passphrase: "passphrase of an encrypted keyfile (secret: set it with --local)",
  ask_passphrase: "true: ask for the keyfile's passphrase on the terminal",
  allow_agent: "false: do not use the SSH agent (SSH_AUTH_SOCK)",
  timeout:
    "seconds to wait for the connection and the SSH handshake, and before a silent connection is given up (default 30)",
  max_sessions: "SFTP sessions opened in parallel on the connection (default 10, OpenSSH's MaxSessions)",
  gss_auth: "GSSAPI/Kerberos authentication: not supported by mlv (false only)",
};

export const SECRET_OPTIONS = ["password", "passphrase"];

export const DEFAULT_TIMEOUT_S = 30;
export const DEFAULT_MAX_SESSIONS = 10;
/** Operations that may share one SFTP session before callers queue (or open another session). */
export const OPS_PER_SESSION = 2;

const TRUE = new Set(["true", "yes", "on", "1"]);
const FALSE = new Set(["false", "no", "off", "0"]);

export function parseSettings(name: string, url: string, options: Record<string, string>): SftpSettings {
  const bad = (detail: string, data: Record<string, unknown> = {}) =>
    new ConfigError(`remote '${name}': ${detail}`, { remote: name, ...data });

  const m = /^(ssh|sftp):\/\/(?:([^@/?#]*)@)?(\[[^\]/]*\]|[^:/?#[\]@]*)(?::([^/?#]*))?([^?#]*)$/i.exec(url);
  if (!m) {
    throw bad(
      `'${redactUrl(url)}' is not an SSH URL: expected ssh://[user@]host[:port]/absolute/path (or sftp://...)`,
      { url: redactUrl(url) },
    );
  }
  const scheme = m[1]!.toLowerCase() as "ssh" | "sftp";
  const userInfo = m[2];
  const rawHost = m[3] ?? "";
  const rawPort = m[4];
  const rawPath = m[5] ?? "";
  const shown = redactUrl(url);

  const decode = (s: string, what: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw bad(`the ${what} in '${shown}' has a bad %-escape`, { url: shown });
    }
  };
  if (rawHost === "" || rawHost === "[]") throw bad(`'${shown}' names no host: expected ssh://[user@]host/path`);
  const host = rawHost.startsWith("[") ? rawHost.slice(1, -1) : decode(rawHost, "host");

  let urlUser: string | undefined;
  let urlPassword: string | undefined;
  if (userInfo !== undefined) {
    const colon = userInfo.indexOf(":");
    urlUser = decode(colon < 0 ? userInfo : userInfo.slice(0, colon), "user");
    if (colon >= 0) urlPassword = decode(userInfo.slice(colon + 1), "password");
    if (urlUser === "") urlUser = undefined;
  }

  const port = (value: string, where: string) => {
    if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 65535)
      throw bad(`${where} must be a port number (1-65535), got '${value}'`);
    return Number(value);
  };
  const urlPort = rawPort === undefined || rawPort === "" ? undefined : port(rawPort, `the port in '${shown}'`);

  // `ssh://host/~/dvc` is `dvc` in the login folder; every other path is absolute (DVC's form).
  const path = decode(rawPath, "path");
  let root: string;
  if (path === "/~" || path.startsWith("/~/")) root = path.slice(3).replace(/\/+$/, "");
  else root = path.replace(/\/+$/, "") || "/";

  const opt = (key: string): string | undefined => {
    const v = options[key];
    return v === undefined || v === "" ? undefined : v;
  };
  const bool = (key: string, dflt: boolean): boolean => {
    const v = opt(key);
    if (v === undefined) return dflt;
    const l = v.trim().toLowerCase();
    if (TRUE.has(l)) return true;
    if (FALSE.has(l)) return false;
    throw bad(`option '${key}' must be true or false, got '${v}'`, { option: key });
  };
  const positive = (key: string, dflt: number, integer: boolean): number => {
    const v = opt(key);
    if (v === undefined) return dflt;
    const n = Number(v.trim());
    if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))
      throw bad(`option '${key}' must be a positive ${integer ? "integer" : "number"}, got '${v}'`, { option: key });
    return n;
  };

  if (bool("gss_auth", false))
    throw bad(
      "gss_auth = true (GSSAPI/Kerberos) is not supported by mlv's ssh adapter: use a key, the SSH agent or a password",
      { option: "gss_auth" },
    );

  const optPort = opt("port");
  const settings: SftpSettings = {
    name,
    scheme,
    displayUrl: `${scheme}://${urlUser === undefined ? "" : `${encodeURIComponent(urlUser)}@`}${rawHost}${
      urlPort === undefined ? "" : `:${urlPort}`
    }${rawPath}`,
    host,
    root,
    askPassword: bool("ask_password", false),
    askPassphrase: bool("ask_passphrase", false),
    allowAgent: bool("allow_agent", true),
    maxSessions: positive("max_sessions", DEFAULT_MAX_SESSIONS, true),
  };
  const user = opt("user") ?? opt("username") ?? urlUser;
  if (user !== undefined) settings.user = user;
  const p = optPort === undefined ? urlPort : port(optPort.trim(), "option 'port'");
  if (p !== undefined) settings.port = p;
  const password = options.password ?? urlPassword;
  if (password !== undefined) settings.password = password;
  if (opt("timeout") !== undefined) settings.timeoutMs = positive("timeout", DEFAULT_TIMEOUT_S, false) * 1000;
  const keyfile = opt("keyfile");
  if (keyfile !== undefined) settings.keyfile = keyfile;
  if (options.passphrase !== undefined) settings.passphrase = options.passphrase;
  return settings;
}

/** The URL with any password removed (`ssh://user:secret@host` → `ssh://user@host`). */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/?#]*):[^@/?#]*@/i, "$1@");
}

/** The remote path of `key` below `root`. */
export function remotePath(root: string, key: string): string {
  if (root === "/") return `/${key}`;
  return root === "" ? key : `${root}/${key}`;
}
