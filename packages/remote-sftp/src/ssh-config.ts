/**
 * The part of OpenSSH's client configuration (`ssh_config(5)`) that decides where and as whom an
 * SFTP connection goes: `Host` blocks (with `*`, `?` and `!` patterns), `Match host/originalhost/
 * user/all`, `Include`, and the keywords HostName, User, Port, IdentityFile, IdentitiesOnly,
 * IdentityAgent, UserKnownHostsFile, GlobalKnownHostsFile, HostKeyAlias and ConnectTimeout.
 *
 * As in OpenSSH, the first value obtained for a keyword wins, except IdentityFile, which
 * accumulates; `~/.ssh/config` is read before `/etc/ssh/ssh_config`.
 */
import { readdirSync, readFileSync } from "node:fs";
import { homedir, userInfo } from "node:os";
import { dirname, isAbsolute, join } from "node:path";

export interface SshHostConfig {
  hostName?: string;
  user?: string;
  port?: number;
  identityFiles: string[];
  identitiesOnly?: boolean;
  /** A socket path, `SSH_AUTH_SOCK`, or `none`. */
  identityAgent?: string;
  userKnownHostsFiles?: string[];
  globalKnownHostsFiles?: string[];
  hostKeyAlias?: string;
  connectTimeoutS?: number;
}

interface Line {
  keyword: string;
  args: string[];
  /** Where it was read, for relative Include paths. */
  file: string;
}

/** `Keyword value...` or `Keyword=value...`: the keyword, lowercased, and the words after it (double quotes group). */
export function splitLine(line: string): { keyword: string; args: string[] } | undefined {
  const m = /^([^\s=]+)\s*(?:=\s*)?(.*)$/.exec(line.trim());
  if (!m) return undefined;
  const args: string[] = [];
  let cur = "";
  let inWord = false;
  let quoted = false;
  for (const c of m[2]!) {
    if (c === '"') {
      quoted = !quoted;
      inWord = true;
    } else if (!quoted && (c === " " || c === "\t")) {
      if (inWord) args.push(cur);
      cur = "";
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) args.push(cur);
  return { keyword: m[1]!.toLowerCase(), args };
}

/** Glob match with `*` and `?`, case-insensitive as OpenSSH does for host names. */
export function globMatch(pattern: string, text: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split("")
      .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
      .join("")}$`,
    "i",
  );
  return re.test(text);
}

/** A pattern list (`a*,!b` or several words): some positive pattern matches and no negated one does. */
export function patternListMatch(patterns: string[], text: string): boolean {
  let matched = false;
  for (const p of patterns) {
    if (p.startsWith("!")) {
      if (globMatch(p.slice(1), text)) return false;
    } else if (globMatch(p, text)) matched = true;
  }
  return matched;
}

function readLines(file: string, depth: number, seen: Set<string>): Line[] {
  if (depth > 16 || seen.has(file)) return [];
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return []; // a missing config is no config
  }
  seen.add(file);
  const lines: Line[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const parsed = splitLine(trimmed);
    if (parsed) lines.push({ ...parsed, file });
  }
  return lines;
}

/** Files named by an Include argument: relative to ~/.ssh (user config) or /etc/ssh; `*` and `?` in the last part. */
function includeFiles(arg: string, fromFile: string, userDir: string): string[] {
  let path = arg.startsWith("~/") ? join(homedir(), arg.slice(2)) : arg;
  if (!isAbsolute(path)) path = join(fromFile.startsWith(userDir) ? userDir : "/etc/ssh", path);
  const dir = dirname(path);
  const base = path.slice(dir.length + 1);
  if (!/[*?]/.test(base)) return [path];
  try {
    return readdirSync(dir)
      .filter((n) => globMatch(base, n))
      .sort()
      .map((n) => join(dir, n));
  } catch {
    return [];
  }
}

export interface LookupOptions {
  /** Config files in order; default `~/.ssh/config` then `/etc/ssh/ssh_config`. */
  files?: string[];
  /** The user given on the command line / in the URL, for `Match user`. */
  user?: string;
}

/** What the configuration says for `host` (the name as written in the URL, possibly an alias). */
export function lookupHost(host: string, options: LookupOptions = {}): SshHostConfig {
  const userDir = join(homedir(), ".ssh");
  const files = options.files ?? [join(userDir, "config"), "/etc/ssh/ssh_config"];
  const out: SshHostConfig = { identityFiles: [] };
  const set = new Set<string>();
  const first = (keyword: string, apply: () => void) => {
    if (set.has(keyword)) return;
    set.add(keyword);
    apply();
  };
  const seen = new Set<string>();

  const apply = (lines: Line[], depth: number) => {
    let active = true;
    for (const line of lines) {
      const { keyword, args } = line;
      if (keyword === "host") {
        active = patternListMatch(
          args.flatMap((a) => a.split(",")),
          host,
        );
        continue;
      }
      if (keyword === "match") {
        active = matchBlock(args, host, out.hostName ?? host, options.user ?? out.user);
        continue;
      }
      if (!active) continue;
      if (keyword === "include") {
        for (const arg of args)
          for (const f of includeFiles(arg, line.file, userDir)) apply(readLines(f, depth + 1, seen), depth + 1);
        continue;
      }
      const v = args[0];
      if (v === undefined) continue;
      switch (keyword) {
        case "hostname":
          first(keyword, () => {
            out.hostName = v.replaceAll("%h", host).replaceAll("%%", "%");
          });
          break;
        case "user":
          first(keyword, () => {
            out.user = v;
          });
          break;
        case "port":
          first(keyword, () => {
            const n = Number(v);
            if (Number.isInteger(n) && n > 0 && n < 65536) out.port = n;
          });
          break;
        case "identityfile":
          if (v.toLowerCase() !== "none") out.identityFiles.push(v);
          break;
        case "identitiesonly":
          first(keyword, () => {
            out.identitiesOnly = v.toLowerCase() === "yes";
          });
          break;
        case "identityagent":
          first(keyword, () => {
            out.identityAgent = v;
          });
          break;
        case "userknownhostsfile":
          first(keyword, () => {
            out.userKnownHostsFiles = args;
          });
          break;
        case "globalknownhostsfile":
          first(keyword, () => {
            out.globalKnownHostsFiles = args;
          });
          break;
        case "hostkeyalias":
          first(keyword, () => {
            out.hostKeyAlias = v;
          });
          break;
        case "connecttimeout":
          first(keyword, () => {
            const n = Number(v);
            if (Number.isFinite(n) && n > 0) out.connectTimeoutS = n;
          });
          break;
      }
    }
  };
  for (const file of files) apply(readLines(file, 0, seen), 0);
  return out;
}

/**
 * `Match` criteria: `all`, `host`, `originalhost`, `user`, `localuser` (with `!` negation).
 * Anything else (`exec`, `canonical`, `final`, ...) does not match: mlv cannot evaluate it, and
 * applying a block whose condition is unknown could send the connection somewhere unintended.
 */
function matchBlock(args: string[], originalHost: string, host: string, user: string | undefined): boolean {
  for (let i = 0; i < args.length; i++) {
    let crit = args[i]!.toLowerCase();
    const negate = crit.startsWith("!");
    if (negate) crit = crit.slice(1);
    let ok: boolean;
    if (crit === "all") ok = true;
    else {
      const value = args[++i];
      if (value === undefined) return false;
      const list = value.split(",");
      if (crit === "host") ok = patternListMatch(list, host);
      else if (crit === "originalhost") ok = patternListMatch(list, originalHost);
      else if (crit === "user") ok = user !== undefined && patternListMatch(list, user);
      else if (crit === "localuser") ok = patternListMatch(list, localUser());
      else return false;
    }
    if (ok === negate) return false;
  }
  return true;
}

export function localUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? process.env.LOGNAME ?? "root";
  }
}

/**
 * Expand `~` and the `%` tokens OpenSSH allows in IdentityFile / UserKnownHostsFile:
 * `%d` home, `%u` local user, `%h` host, `%r` remote user, `%p` port, `%%`.
 */
export function expandPath(path: string, tokens: { host: string; user: string; port: number }): string {
  let p = path.replace(/%([%dhuprnl])/g, (_, t: string) => {
    switch (t) {
      case "%":
        return "%";
      case "d":
        return homedir();
      case "u":
        return localUser();
      case "h":
      case "n":
        return tokens.host;
      case "r":
        return tokens.user;
      case "p":
        return String(tokens.port);
      default:
        return `%${t}`;
    }
  });
  if (p === "~") p = homedir();
  else if (p.startsWith("~/")) p = join(homedir(), p.slice(2));
  return p;
}
