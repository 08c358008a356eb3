/**
 * What `dvc config` and `dvc remote modify` accept (spec §5.3, DVC's `config_schema.py`): the
 * options of `[core]`, `[cache]` and of each remote type, and the values each option may take.
 * mlv refuses what DVC would refuse ("extra keys not allowed", "expected true or false"…), so that
 * the files it writes stay loadable by DVC. Sections the spec does not detail (state, index,
 * feature, plots, exp, parsing, hydra, studio, machine, db) are not checked.
 */
import { ConfigError } from "./errors.js";

/** A check of one value: undefined if it is fine, else why not (appended to "…, got 'x'"). */
interface Rule {
  /** What the option takes, e.g. "true or false (any case)". */
  allowed: string;
  /** undefined when the value is accepted, else an extra detail ("" for none). */
  check(value: string): string | undefined;
}

const any: Rule = { allowed: "any text", check: () => undefined };

const bool: Rule = {
  allowed: "true or false (any case)",
  check: (v) => (v.toLowerCase() === "true" || v.toLowerCase() === "false" ? undefined : ""),
};

function int(min?: number): Rule {
  return {
    allowed: min === undefined ? "a whole number" : `a whole number of at least ${min}`,
    check: (v) => {
      if (!/^\s*[+-]?\d+\s*$/.test(v)) return "";
      return min !== undefined && Number(v) < min ? "" : undefined;
    },
  };
}

/** A number of seconds: DVC's `Coerce(float), Range(0)` (HTTP timeouts). */
const seconds: Rule = {
  allowed: "a number of seconds (0 or more)",
  check: (v) => (/^\s*\+?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(v) ? undefined : ""),
};

function choice(...choices: string[]): Rule {
  return {
    allowed: choices.length === 1 ? `${choices[0]} (any case)` : `one of ${choices.join(", ")} (any case)`,
    check: (v) => (choices.includes(v.toLowerCase()) ? undefined : ""),
  };
}

export const LINK_TYPES = ["reflink", "hardlink", "symlink", "copy"] as const;

/** `cache.type` (and a local or ssh remote's `type`): DVC's `supported_cache_type`. */
const linkTypes: Rule = {
  allowed: `a comma-separated list of ${LINK_TYPES.join(", ")}`,
  check: (v) => {
    const bad = v
      .split(",")
      .map((t) => t.trim())
      .filter((t) => !(LINK_TYPES as readonly string[]).includes(t));
    if (bad.length === 0) return undefined;
    return ` (${bad.map((t) => `'${t}'`).join(", ")} ${bad.length === 1 ? "is not a link type" : "are not link types"})`;
  },
};

/** `ssl_verify`: DVC's `Any(Bool, str)`: true, false, or the path of a CA bundle. */
const sslVerify: Rule = { allowed: "true, false or the path of a CA bundle", check: () => undefined };

type Options = Record<string, Rule>;

/** The plain sections that are checked; the others take any key. */
const PLAIN: Record<string, Options> = {
  core: {
    remote: any,
    checksum_jobs: int(1),
    interactive: bool,
    analytics: bool,
    hardlink_lock: bool,
    no_scm: bool,
    autostage: bool,
    check_update: bool,
    site_cache_dir: any,
    machine: any,
  },
  cache: {
    dir: any,
    type: linkTypes,
    shared: choice("group"),
    slow_link_warning: bool,
    verify: bool,
    // obsolete, still accepted by DVC
    protected: bool,
    local: any,
    s3: any,
    gs: any,
    ssh: any,
    hdfs: any,
    webhdfs: any,
    azure: any,
  },
};

/** Keys every remote takes. */
const REMOTE_COMMON: Options = {
  url: any,
  jobs: int(1),
  checksum_jobs: int(1),
  worktree: bool,
  version_aware: bool,
  no_traverse: bool, // obsolete
  verify: bool,
};

const HTTP: Options = {
  auth: choice("basic", "digest", "custom"),
  custom_auth_header: any,
  user: any,
  password: any,
  ask_password: bool,
  ssl_verify: sslVerify,
  method: any,
  connect_timeout: seconds,
  read_timeout: seconds,
};

const WEBDAV: Options = {
  user: any,
  password: any,
  ask_password: bool,
  token: any,
  custom_auth_header: any,
  cert_path: any,
  key_path: any,
  timeout: int(),
  ssl_verify: sslVerify,
};

/** The remote types that are checked, by their own keys (the common ones come on top). */
const REMOTE_TYPES: Record<string, Options> = {
  local: {
    type: linkTypes,
    shared: choice("group"),
    slow_link_warning: bool,
    protected: bool, // obsolete
  },
  s3: {
    region: any,
    profile: any,
    credentialpath: any,
    configpath: any,
    endpointurl: any,
    access_key_id: any,
    secret_access_key: any,
    session_token: any,
    use_ssl: bool,
    allow_anonymous_login: bool,
    ssl_verify: sslVerify,
    sse: any,
    sse_kms_key_id: any,
    sse_customer_algorithm: any,
    sse_customer_key: any,
    acl: any,
    grant_read: any,
    grant_read_acp: any,
    grant_write_acp: any,
    grant_full_control: any,
    cache_regions: bool,
    read_timeout: int(),
    connect_timeout: int(),
    listobjects: bool, // obsolete
  },
  gs: {
    projectname: any,
    credentialpath: any,
    endpointurl: any,
    allow_anonymous_login: bool,
  },
  azure: {
    connection_string: any,
    sas_token: any,
    account_name: any,
    account_key: any,
    tenant_id: any,
    client_id: any,
    client_secret: any,
    allow_anonymous_login: bool,
    "exclude_*_credential": bool,
    timeout: int(),
    read_timeout: int(),
    connection_timeout: int(),
  },
  ssh: {
    type: linkTypes,
    port: int(),
    user: any,
    username: any,
    password: any,
    ask_password: bool,
    passphrase: any,
    ask_passphrase: bool,
    keyfile: any,
    timeout: int(),
    gss_auth: bool,
    allow_agent: bool,
    max_sessions: int(),
  },
  http: HTTP,
  https: HTTP,
  webdav: WEBDAV,
  webdavs: WEBDAV,
};

/** The rule for an option, key patterns (`exclude_*_credential`) included. */
function ruleFor(options: Options, option: string): Rule | undefined {
  if (Object.hasOwn(options, option)) return options[option];
  for (const [pattern, rule] of Object.entries(options)) {
    if (!pattern.includes("*")) continue;
    const re = new RegExp(`^${pattern.split("*").map(escapeRe).join("[a-z0-9_-]+")}$`);
    if (re.test(option)) return rule;
  }
  return undefined;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function badValue(subject: string, rule: Rule, value: string, detail: string, data: Record<string, unknown>) {
  return new ConfigError(`${subject} must be ${rule.allowed}, got '${value}'${detail}`, {
    ...data,
    value,
    allowed: rule.allowed,
  });
}

/**
 * Check `section.option = value` for a plain section (option already lowercased). Throws a
 * ConfigError naming the key, the value and what is allowed. Unchecked sections take anything.
 */
export function checkPlainOption(section: string, option: string, value: string): void {
  const options = PLAIN[section];
  if (options === undefined) return;
  const key = `${section}.${option}`;
  const rule = ruleFor(options, option);
  if (rule === undefined)
    throw new ConfigError(`config key '${key}' is not known: ${section} takes ${Object.keys(options).join(", ")}`, {
      key,
      value,
      allowed: Object.keys(options),
    });
  const detail = rule.check(value);
  if (detail !== undefined) throw badValue(`config key '${key}'`, rule, value, detail, { key });
}

/**
 * The type of remote a URL makes (DVC's `ByUrl`): `local` for a path or a `file://` URL (any URL
 * without a host), the scheme for the checked types, `other` for any other scheme (third-party
 * adapters, `remote://`), and `unknown` without a URL.
 */
export function remoteType(url: string | undefined): string {
  if (url === undefined) return "unknown";
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/?#]*)/.exec(url);
  if (!m) return "local";
  if (!m[2]) return "local";
  const scheme = (m[1] ?? "").toLowerCase();
  return Object.hasOwn(REMOTE_TYPES, scheme) ? scheme : "other";
}

/** The options a remote type takes, in the order they are listed in messages. */
export function remoteOptions(type: string): string[] {
  const own = REMOTE_TYPES[type];
  return own === undefined
    ? Object.keys(REMOTE_COMMON)
    : [...new Set([...Object.keys(own), ...Object.keys(REMOTE_COMMON)])];
}

/**
 * Check `option = value` for remote `name` of `type` (from `remoteType`). Throws a ConfigError
 * naming the remote, its type, the option and the value, and what is allowed. Remotes of other or
 * unknown types take any option, but the common ones (`jobs`…) are still checked.
 */
export function checkRemoteOption(name: string, type: string, option: string, value: string): void {
  const own = REMOTE_TYPES[type];
  const subject = `remote '${name}' (${type === "unknown" ? "no url" : type})`;
  const data = { name, type, option };
  const rule = ruleFor(REMOTE_COMMON, option) ?? (own === undefined ? undefined : ruleFor(own, option));
  if (rule === undefined) {
    if (own === undefined) return;
    const allowed = remoteOptions(type);
    throw new ConfigError(`${subject}: option '${option}' is not known; ${type} remotes take ${allowed.join(", ")}`, {
      ...data,
      value,
      allowed,
    });
  }
  const detail = rule.check(value);
  if (detail !== undefined) throw badValue(`${subject}: option '${option}'`, rule, value, detail, data);
}
