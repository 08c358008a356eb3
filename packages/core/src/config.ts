/**
 * The merged DVC configuration (spec §5): four files, each a ConfigObj INI file, merged per key
 * with later levels winning. Mutations edit one level's file the way `dvc config` and
 * `dvc remote …` do, so the bytes on disk match DVC's.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readFile, realpath, rename, stat, unlink, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import * as nodePath from "node:path";
import { checkPlainOption, checkRemoteOption, remoteType } from "./config-schema.js";
import { ConfigError, RemoteNotFoundError, translateFsError, UsageError } from "./errors.js";
import {
  type ConfigData,
  type ConfigSection,
  type ConfigValue,
  parseConfigObj,
  serializeConfigObj,
} from "./formats/configobj.js";
import type { RemoteConfig } from "./remote.js";

export type { ConfigValue } from "./formats/configobj.js";

/** Config files, in the order they shadow each other (later wins). */
export type ConfigLevel = "system" | "global" | "repo" | "local";
export const CONFIG_LEVELS: readonly ConfigLevel[] = ["system", "global", "repo", "local"];

/** Plain sections in DVC's schema order: new sections are written in this order (spec §5.2). */
const PLAIN_SECTIONS = ["core", "cache", "state", "index", "feature", "plots", "exp", "parsing", "hydra", "studio"];
/** Named sections (`['remote "x"']`), always written last, in this order. */
const NAMED_KINDS = ["remote", "machine", "db"] as const;
type NamedKind = (typeof NAMED_KINDS)[number];
const VALID_SECTIONS = "core, cache, remote, state, index, feature, plots, exp, parsing, hydra, studio, db, machine";
const NAMED_HEADER = /^\s*(remote|machine|db)\s*"(.*)"\s*$/;

/** Path-valued keys: relative values are relative to the config file's directory (spec §5.2). */
const PATH_KEYS: Record<string, readonly string[]> = {
  cache: ["dir"],
  remote: [
    "url",
    "credentialpath",
    "configpath",
    "keyfile",
    "cert_path",
    "key_path",
    "gdrive_user_credentials_file",
    "gdrive_service_account_json_file_path",
  ],
  machine: ["startup_script", "setup_script"],
};

const URL_RE = /^\w+:\/\//;

/** One level's file, split as DVC splits it: plain sections, and named sections by kind and name. */
interface LevelConf {
  /** Plain sections: those of the file in file order, then the schema's missing ones (empty). */
  plain: Map<string, ConfigSection>;
  named: Record<NamedKind, Map<string, ConfigSection>>;
}

/** A parsed config key: `core.remote` or `remote.storage.url`. */
interface KeyRef {
  kind: "plain" | NamedKind;
  /** The plain section, or the name of the remote/machine/db. */
  section: string;
  option: string;
}

/**
 * A config value as a boolean: `true`/`false` in any case (DVC's schema), else undefined.
 * (`dvc init --no-scm` writes `no_scm = True`.)
 */
export function configBool(value: ConfigValue | undefined): boolean | undefined {
  if (typeof value !== "string") return undefined;
  const v = value.trim().toLowerCase();
  return v === "true" ? true : v === "false" ? false : undefined;
}

/**
 * A URL fit to print: any `user:password@` (or token@) part is removed. Strings that are not
 * `scheme://` URLs (local paths) are returned unchanged.
 */
export function redactUrl(url: string): string {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)([^/?#]*)(.*)$/s.exec(url);
  if (!m) return url;
  const authority = m[2] ?? "";
  const at = authority.lastIndexOf("@");
  return at < 0 ? url : `${m[1]}${authority.slice(at + 1)}${m[3]}`;
}

/**
 * The directory DVC keeps its `system` or `global` config in (platformdirs with appname `dvc`,
 * appauthor `iterative`, spec §5.1), honouring DVC_SYSTEM_CONFIG_DIR / DVC_GLOBAL_CONFIG_DIR.
 */
export function defaultConfigDir(
  level: "system" | "global",
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string {
  const override = level === "system" ? env.DVC_SYSTEM_CONFIG_DIR : env.DVC_GLOBAL_CONFIG_DIR;
  if (override) return override;
  const home = env.HOME || env.USERPROFILE || homedir();
  if (platform === "win32") {
    const { join } = nodePath.win32;
    if (level === "system") return join(env.PROGRAMDATA || "C:\\ProgramData", "iterative", "dvc");
    return join(env.LOCALAPPDATA || join(home, "AppData", "Local"), "iterative", "dvc");
  }
  const { join } = nodePath.posix;
  if (platform === "darwin") {
    return level === "system"
      ? "/Library/Application Support/dvc"
      : join(home, "Library", "Application Support", "dvc");
  }
  if (level === "system") {
    const first = (env.XDG_CONFIG_DIRS ?? "").split(":")[0] ?? "";
    return join(first.trim() ? first : "/etc/xdg", "dvc");
  }
  const xdg = env.XDG_CONFIG_HOME ?? "";
  return join(xdg.trim() ? xdg : join(home, ".config"), "dvc");
}

/**
 * The merged configuration of a repository (or, outside one, of the machine and the user).
 *
 * Reading: `get("core.remote")`, `remote("storage")`, `cacheDir()`… Values are kept exactly as
 * written in the files; path values are resolved only by `remote()` and `cacheDir()`.
 *
 * Writing: each mutation re-reads its level's file, changes it, validates, and replaces the file
 * atomically, in the layout DVC writes (comments dropped, empty sections dropped, new sections in
 * schema order, named sections last, four-space indent, configobj quoting).
 */
export class Config {
  private constructor(
    /** The absolute `.dvc` directory, or null outside a repository. */
    readonly dvcDir: string | null,
    private readonly files: ReadonlyMap<ConfigLevel, string>,
    private readonly levels: Map<ConfigLevel, LevelConf>,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /**
   * Read every level. `dvcDir` null (outside a repository) reads system and global only. Missing
   * files count as empty; a malformed file throws a FormatError naming it and the line.
   */
  static async load(dvcDir: string | null, env: NodeJS.ProcessEnv = process.env): Promise<Config> {
    const files = new Map<ConfigLevel, string>();
    files.set("system", nodePath.join(defaultConfigDir("system", env), "config"));
    files.set("global", nodePath.join(defaultConfigDir("global", env), "config"));
    const dir = dvcDir === null ? null : nodePath.resolve(dvcDir);
    if (dir !== null) {
      files.set("repo", nodePath.join(dir, "config"));
      files.set("local", nodePath.join(dir, "config.local"));
    }
    const levels = new Map<ConfigLevel, LevelConf>();
    await Promise.all([...files].map(async ([level, file]) => levels.set(level, await readLevel(file))));
    return new Config(dir, files, levels, env);
  }

  /**
   * The configuration another revision had: `repoText` (named `label` in messages) in place of the
   * `.dvc/config` in `dvcDir`, with the `config.local` there and this machine's global and system
   * levels. Relative paths resolve as if the text were that file. For reading, not for writing.
   */
  static async withRepoText(
    dvcDir: string,
    repoText: string,
    label: string,
    env: NodeJS.ProcessEnv = process.env,
  ): Promise<Config> {
    const config = await Config.load(dvcDir, env);
    config.levels.set("repo", toLevel(parseConfigObj(repoText, label)));
    return config;
  }

  /**
   * Check every level's file against DVC's schema, as DVC does on every command: an unknown
   * section, an unknown option of `core`, `cache` or of a remote's type, or a value out of range
   * (`jobs = -5`) throws a ConfigError naming the file, the key and the value. The `config` and
   * `remote` commands skip this, so that a broken file can still be repaired with them.
   */
  validate(): void {
    for (const level of this.availableLevels()) {
      const conf = this.levels.get(level);
      if (conf === undefined) continue;
      const file = this.file(level);
      const fail = (err: unknown, fix: string, hint?: string): never => {
        if (!(err instanceof ConfigError)) throw err;
        throw new ConfigError(`config file '${file}': ${err.message}; ${fix}`, { ...err.data, file, level }, hint);
      };
      for (const [name, section] of conf.plain) {
        if (section.size === 0) continue;
        if (name === "")
          fail(
            new ConfigError(`'${[...section.keys()][0]}' is outside any section`),
            "put it under a section header such as [core], or remove it",
          );
        if (!PLAIN_SECTIONS.includes(name))
          fail(
            new ConfigError(`section '[${name}]' is not known (valid sections are ${VALID_SECTIONS})`),
            "remove it or correct its name",
          );
        for (const [option, value] of section)
          try {
            checkPlainOption(name, option, typeof value === "string" ? value : value.join(","));
          } catch (err) {
            fail(
              err,
              "correct it or remove it",
              `Run 'mlv config ${name}.${option} VALUE', or 'mlv config --unset ${name}.${option}'.`,
            );
          }
      }
      for (const [name, section] of conf.named.remote) {
        const url = this.lookup({ kind: "remote", section: name, option: "url" })?.value;
        const type = remoteType(typeof url === "string" ? url : undefined);
        for (const [option, value] of section)
          try {
            checkRemoteOption(name, type, option, typeof value === "string" ? value : value.join(","));
          } catch (err) {
            fail(
              err,
              "correct it or remove it",
              `Run 'mlv remote modify ${name} ${option} VALUE', or 'mlv remote modify --unset ${name} ${option}'.`,
            );
          }
      }
    }
  }

  /** The levels that exist here: all four in a repository, system and global outside one. */
  availableLevels(): ConfigLevel[] {
    return CONFIG_LEVELS.filter((l) => this.files.has(l));
  }

  /** The file behind a level. Throws a ConfigError for repo/local outside a repository. */
  file(level: ConfigLevel): string {
    const file = this.files.get(level);
    if (file === undefined)
      throw new ConfigError(
        `the '${level}' config level needs a repository: run inside an mlv/DVC repository, or use the global or system level`,
        { level },
      );
    return file;
  }

  /**
   * The merged value of `section.option` or `remote.<name>.<option>` (also `machine.`, `db.`),
   * later levels winning per key; undefined if no level sets it. Throws a UsageError for a
   * malformed key or an unknown section.
   */
  get(key: string): ConfigValue | undefined {
    return this.lookup(parseKey(key))?.value;
  }

  /** The value of a key at one level only. */
  getLevel(level: ConfigLevel, key: string): ConfigValue | undefined {
    const ref = parseKey(key);
    this.file(level);
    return sectionOf(this.levelConf(level), ref)?.get(ref.option);
  }

  /** The default remote (`core.remote`), lowercased, or undefined if none is set. */
  defaultRemote(): string | undefined {
    const value = this.get("core.remote");
    if (value === undefined) return undefined;
    if (typeof value !== "string")
      throw new ConfigError(`core.remote must be one remote name, got a list (${value.join(", ")})`, {
        value,
      });
    return value.toLowerCase() || undefined;
  }

  /** The names of all configured remotes (any level), in the order they first appear. */
  remoteNames(): string[] {
    const names = new Set<string>();
    for (const level of this.availableLevels())
      for (const name of this.levelConf(level).named.remote.keys()) names.add(name);
    return [...names];
  }

  /**
   * A remote's merged section, ready for an adapter: `url` with a relative local path resolved
   * against the directory of the config file that set it (and `~` expanded), other path-valued
   * options likewise, and `remote://other/sub` resolved to `other`'s URL joined with `sub`,
   * `other`'s options underneath this remote's own (spec §4.1). Throws RemoteNotFoundError.
   */
  remote(name: string): RemoteConfig {
    return this.resolveRemote(name.toLowerCase(), []);
  }

  /** The cache directory: `cache.dir` resolved against its config file's directory, else `<dvcDir>/cache`. */
  cacheDir(): string {
    const found = this.lookup({ kind: "plain", section: "cache", option: "dir" });
    if (found !== undefined) {
      if (typeof found.value !== "string")
        throw new ConfigError(`cache.dir must be a single path, got a list (${found.value.join(", ")})`);
      const dir = this.resolvePath(found.value, found.level);
      const gitDir = this.dvcDir === null ? undefined : nodePath.join(nodePath.dirname(this.dvcDir), ".git");
      if (gitDir !== undefined && (dir === gitDir || dir.startsWith(gitDir + nodePath.sep)))
        throw new ConfigError(
          `cache.dir '${found.value}' (in the ${found.level} config) is inside .git, which belongs to git: choose a folder outside it`,
          { key: "cache.dir", value: found.value },
          "Set another with 'mlv config cache.dir PATH'.",
        );
      return dir;
    }
    if (this.dvcDir === null)
      throw new ConfigError("no cache directory: not inside an mlv/DVC repository and cache.dir is not set");
    return nodePath.join(this.dvcDir, "cache");
  }

  /**
   * `key=value` lines like `dvc config --list`: remote (then machine, db) options first as
   * `remote.<name>.<option>=…`, then `section.option=…`. One level, or all levels merged when
   * `level` is omitted. Values are shown as written in the files, except that URLs are shown
   * without their `user:password@` part (`redactUrl`); lists as `['a', 'b']`.
   */
  listLevel(level?: ConfigLevel): string[] {
    const levels = level === undefined ? this.availableLevels() : [level];
    if (level !== undefined) this.file(level);
    const named = new Map<NamedKind, Map<string, ConfigSection>>(NAMED_KINDS.map((k) => [k, new Map()]));
    const plain = new Map<string, ConfigSection>();
    const mergeInto = (into: Map<string, ConfigSection>, name: string, section: ConfigSection) => {
      const target = getOrCreate(into, name);
      for (const [k, v] of section) target.set(k, v);
    };
    for (const l of levels) {
      const conf = this.levelConf(l);
      for (const kind of NAMED_KINDS) for (const [n, s] of conf.named[kind]) mergeInto(named.get(kind)!, n, s);
      for (const [n, s] of conf.plain) mergeInto(plain, n, s);
    }
    const lines: string[] = [];
    for (const [kind, sections] of named)
      for (const [n, s] of sections)
        for (const [k, v] of s) lines.push(`${kind}.${n}.${k}=${formatListed(redactValue(v))}`);
    for (const [n, s] of plain)
      for (const [k, v] of s) lines.push(`${n === "" ? "" : `${n}.`}${k}=${formatListed(redactValue(v))}`);
    return lines;
  }

  /**
   * `dvc config [--level] key value`. The section (or remote) must be valid; for a remote key the
   * remote must exist at that level. A relative path for a path-valued key (spec §5.2 'Paths') is
   * taken relative to `cwd` and stored relative to the config file's directory, with `/`.
   *
   * The option and value are checked against DVC's schema (spec §5.3, `config-schema.ts`) for
   * `core`, `cache` and remotes: an unknown option or a bad value throws a ConfigError and the
   * file is left unchanged.
   */
  async set(level: ConfigLevel, key: string, value: string, cwd: string): Promise<void> {
    const ref = parseKey(key);
    checkOptionName(ref.option, key);
    if (ref.kind === "plain") checkPlainOption(ref.section, ref.option, value);
    const stored = await this.storedValue(level, ref, value, cwd);
    const below = ref.kind === "remote" ? await this.readLevelsBelow(level) : [];
    await this.edit(level, (conf) => {
      const section = sectionOf(conf, ref);
      if (!section) throw new ConfigError(`${ref.kind} '${ref.section}' doesn't exist`, { key });
      if (ref.kind === "remote") this.checkRemoteEdit(ref.section, ref.option, value, stored, section, below);
      section.set(ref.option, stored);
    });
  }

  /** `dvc config --unset [--level] key`: the option must exist at that level. */
  async unset(level: ConfigLevel, key: string): Promise<void> {
    const ref = parseKey(key);
    await this.edit(level, (conf) => {
      const section = sectionOf(conf, ref);
      const label = ref.kind === "plain" ? "section" : ref.kind;
      if (!section) throw new ConfigError(`${label} '${ref.section}' doesn't exist`, { key });
      if (!section.has(ref.option))
        throw new ConfigError(`option '${ref.option}' doesn't exist in ${label} '${ref.section}'`, { key });
      section.delete(ref.option);
    });
  }

  /**
   * `dvc remote add [-d] [-f] name url`: the section at `level` becomes just `url` (a relative
   * path is taken relative to `opts.cwd`); with `makeDefault`, `core.remote = name` at that level.
   */
  async addRemote(
    level: ConfigLevel,
    name: string,
    url: string,
    opts: { makeDefault?: boolean; force?: boolean; cwd: string },
  ): Promise<void> {
    const remote = checkRemoteName(name);
    const stored = await this.storedValue(level, { kind: "remote", section: remote, option: "url" }, url, opts.cwd);
    await this.edit(level, (conf) => {
      if (conf.named.remote.has(remote) && !opts.force)
        throw new ConfigError(`remote '${remote}' already exists. Use \`-f|--force\` to overwrite it.`, {
          name: remote,
        });
      conf.named.remote.set(remote, new Map([["url", stored]]));
      if (opts.makeDefault) coreOf(conf).set("remote", remote);
    });
  }

  /**
   * `dvc remote modify [--level] [--unset] name option [value]`: set (or, with `value` undefined,
   * remove) one option at `level`. The remote must exist at that level or a lower one. A value
   * is checked against the options of the remote's type (from its URL's scheme, spec §5.3); an
   * unknown option or a bad value throws a ConfigError. Removing is not checked.
   */
  async modifyRemote(
    level: ConfigLevel,
    name: string,
    option: string,
    value: string | undefined,
    cwd: string,
  ): Promise<void> {
    const remote = name.toLowerCase();
    const opt = option.toLowerCase();
    checkOptionName(opt, option);
    const ref: KeyRef = { kind: "remote", section: remote, option: opt };
    const stored = value === undefined ? undefined : await this.storedValue(level, ref, value, cwd);
    const below = await this.readLevelsBelow(level);
    await this.edit(level, (conf) => {
      if (!conf.named.remote.has(remote) && !below.some((c) => c.named.remote.has(remote)))
        throw new ConfigError(`remote '${remote}' doesn't exist.`, { name: remote });
      if (value !== undefined && stored !== undefined)
        this.checkRemoteEdit(remote, opt, value, stored, conf.named.remote.get(remote), below);
      const section = getOrCreate(conf.named.remote, remote);
      if (stored === undefined) section.delete(opt);
      else section.set(opt, stored);
    });
  }

  /**
   * `dvc remote rename [--level] from to`: the section moves to the end of the named sections,
   * and `core.remote` naming it is updated at `level` and at every level that shadows it.
   */
  async renameRemote(level: ConfigLevel, from: string, to: string): Promise<void> {
    const oldName = from.toLowerCase();
    const newName = checkRemoteName(to);
    const all = await Promise.all(this.availableLevels().map((l) => readLevel(this.file(l))));
    if (all.some((c) => c.named.remote.has(newName)))
      throw new ConfigError(`Rename failed. Remote name '${newName}' already exists.`, { name: newName });
    const renameDefault = (conf: LevelConf) => {
      const core = coreOf(conf);
      if (!pointsAt(core.get("remote"), oldName)) return false;
      core.set("remote", newName);
      return true;
    };
    await this.edit(level, (conf) => {
      const section = conf.named.remote.get(oldName);
      if (!section) throw new ConfigError(`remote '${oldName}' doesn't exist.`, { name: oldName });
      conf.named.remote.delete(oldName);
      conf.named.remote.set(newName, section);
      renameDefault(conf);
    });
    for (const shadow of this.shadowingLevels(level)) await this.edit(shadow, renameDefault);
  }

  /**
   * `dvc remote remove [--level] name`: removes the section at `level`, and `core.remote` naming
   * it at that level and at every level that shadows it.
   */
  async removeRemote(level: ConfigLevel, name: string): Promise<void> {
    const remote = name.toLowerCase();
    const dropDefault = (conf: LevelConf) => {
      const core = coreOf(conf);
      if (!pointsAt(core.get("remote"), remote)) return false;
      core.delete("remote");
      return true;
    };
    await this.edit(level, (conf) => {
      if (!conf.named.remote.delete(remote))
        throw new ConfigError(`remote '${remote}' doesn't exist.`, { name: remote });
      dropDefault(conf);
    });
    for (const shadow of this.shadowingLevels(level)) await this.edit(shadow, dropDefault);
  }

  /**
   * `dvc remote default [--level] [--unset] name`: sets `core.remote` at `level` (the remote must
   * exist at that level or a lower one), or removes it when `name` is undefined.
   */
  async setDefaultRemote(level: ConfigLevel, name: string | undefined): Promise<void> {
    if (name === undefined) {
      await this.edit(level, (conf) => {
        coreOf(conf).delete("remote");
      });
      return;
    }
    const remote = name.toLowerCase();
    const below = await this.readLevelsBelow(level);
    await this.edit(level, (conf) => {
      if (!conf.named.remote.has(remote) && !below.some((c) => c.named.remote.has(remote)))
        throw new ConfigError("default remote must be present in remote list.", { name: remote });
      coreOf(conf).set("remote", remote);
    });
  }

  // ---------------------------------------------------------------------------------------------

  private levelConf(level: ConfigLevel): LevelConf {
    return this.levels.get(level) ?? emptyLevel();
  }

  /** The merged value of a key and the level that set it. */
  private lookup(ref: KeyRef): { value: ConfigValue; level: ConfigLevel } | undefined {
    let found: { value: ConfigValue; level: ConfigLevel } | undefined;
    for (const level of this.availableLevels()) {
      const value = sectionOf(this.levelConf(level), ref)?.get(ref.option);
      if (value !== undefined) found = { value, level };
    }
    return found;
  }

  private resolveRemote(name: string, chain: string[]): RemoteConfig {
    const merged = new Map<string, { value: ConfigValue; level: ConfigLevel }>();
    let defined = false;
    for (const level of this.availableLevels()) {
      const section = this.levelConf(level).named.remote.get(name);
      if (!section) continue;
      defined = true;
      for (const [key, value] of section) merged.set(key, { value, level });
    }
    if (!defined) throw new RemoteNotFoundError(name);
    const url = merged.get("url");
    if (url === undefined)
      throw new ConfigError(
        `remote '${name}' has no url`,
        { name },
        `Set one with 'mlv remote modify ${name} url URL'.`,
      );
    if (typeof url.value !== "string") throw new ConfigError(`remote '${name}': url must be a single value`, { name });
    if (url.value.trim() === "")
      throw new ConfigError(
        `remote '${name}' has an empty url`,
        { name },
        `Set one with 'mlv remote modify ${name} url URL'.`,
      );

    const options: Record<string, string> = {};
    for (const [key, { value, level }] of merged) {
      if (key === "url") continue;
      const str = typeof value === "string" ? value : value.join(",");
      options[key] = PATH_KEYS.remote?.includes(key) ? this.resolvePath(str, level) : str;
    }

    const ref = /^remote:\/\/([^/]*)(.*)$/i.exec(url.value);
    if (!ref) return { name, url: this.resolvePath(url.value, url.level), options };
    const baseName = (ref[1] ?? "").toLowerCase();
    if (baseName === name || chain.includes(baseName))
      throw new ConfigError(`remote '${name}' refers to itself through ${[...chain, name, baseName].join(" -> ")}`, {
        name,
      });
    const base = this.resolveRemote(baseName, [...chain, name]);
    return {
      name,
      url: posixJoin(base.url, (ref[2] ?? "").replace(/^\/+/, "")),
      options: { ...base.options, ...options },
    };
  }

  /** A path-valued setting as a usable path: URLs kept, `~` expanded, relative ones made absolute. */
  private resolvePath(value: string, level: ConfigLevel): string {
    if (URL_RE.test(value)) return value;
    if (value === "~" || value.startsWith("~/") || value.startsWith("~\\")) {
      const home = this.env.HOME || this.env.USERPROFILE || homedir();
      return nodePath.join(home, value.slice(1));
    }
    if (nodePath.isAbsolute(value)) return value;
    return nodePath.resolve(nodePath.dirname(this.file(level)), value);
  }

  /** What to store for a value given on the command line (Config._to_relpath). */
  private async storedValue(level: ConfigLevel, ref: KeyRef, value: string, cwd: string): Promise<string> {
    const pathKeys = PATH_KEYS[ref.kind === "plain" ? ref.section : ref.kind] ?? [];
    if (!pathKeys.includes(ref.option)) return value;
    if (URL_RE.test(value)) return value;
    if (value.startsWith("~")) return value.replaceAll("\\", "/");
    if (nodePath.isAbsolute(value)) return value;
    const confDir = await realpathOrSelf(nodePath.dirname(this.file(level)));
    const target = nodePath.resolve(await realpathOrSelf(cwd), value);
    return (nodePath.relative(confDir, target) || ".").split(nodePath.sep).join("/");
  }

  /**
   * Check setting remote `name`'s `option` to `value` (`stored` once rewritten) at a level whose
   * section is `section`, with `below` the levels under it (lowest first). The remote's type comes
   * from its URL as DVC would see it after the edit: that level's, else the nearest level below,
   * else any level. A new `url` must also suit the options the remote already has.
   */
  private checkRemoteEdit(
    name: string,
    option: string,
    value: string,
    stored: string,
    section: ConfigSection | undefined,
    below: readonly LevelConf[],
  ): void {
    const urlOf = (s: ConfigSection | undefined) => {
      const url = s?.get("url");
      return typeof url === "string" ? url : undefined;
    };
    let url = option === "url" ? stored : urlOf(section);
    for (const conf of [...below].reverse()) url ??= urlOf(conf.named.remote.get(name));
    if (url === undefined) {
      const found = this.lookup({ kind: "remote", section: name, option: "url" })?.value;
      if (typeof found === "string") url = found;
    }
    const type = remoteType(url);
    checkRemoteOption(name, type, option, value);
    if (option !== "url") return;
    const merged = new Map<string, ConfigValue>();
    for (const s of [...below.map((c) => c.named.remote.get(name)), section])
      for (const [k, v] of s ?? []) merged.set(k, v);
    for (const [k, v] of merged) {
      if (k === "url" || typeof v !== "string") continue;
      try {
        checkRemoteOption(name, type, k, v);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        throw new ConfigError(
          `cannot set the url of remote '${name}' to '${redactUrl(value)}': ${err.message}; unset '${k}' first`,
          { ...err.data, url: redactUrl(value) },
          `Run 'mlv remote modify --unset ${name} ${k}' first.`,
        );
      }
    }
  }

  /** The levels that shadow `level`, most specific first: DVC's clean-up order. */
  private shadowingLevels(level: ConfigLevel): ConfigLevel[] {
    const from = CONFIG_LEVELS.indexOf(level);
    return this.availableLevels()
      .filter((l) => CONFIG_LEVELS.indexOf(l) > from)
      .reverse();
  }

  private async readLevelsBelow(level: ConfigLevel): Promise<LevelConf[]> {
    const at = CONFIG_LEVELS.indexOf(level);
    const below = this.availableLevels().filter((l) => CONFIG_LEVELS.indexOf(l) < at);
    return Promise.all(below.map((l) => readLevel(this.file(l))));
  }

  /**
   * Re-read `level`'s file, apply `mutate`, and write it back atomically unless `mutate` returns
   * false (nothing changed). This object then reflects the new file.
   */
  private async edit(level: ConfigLevel, mutate: (conf: LevelConf) => unknown): Promise<void> {
    const file = this.file(level);
    const conf = await readLevel(file);
    if (mutate(conf) === false) {
      this.levels.set(level, conf);
      return;
    }
    await writeAtomic(file, serializeConfigObj(packLevel(conf)));
    this.levels.set(level, conf);
  }
}

// -----------------------------------------------------------------------------------------------

function emptyLevel(): LevelConf {
  const conf: LevelConf = { plain: new Map(), named: { remote: new Map(), machine: new Map(), db: new Map() } };
  for (const s of PLAIN_SECTIONS) conf.plain.set(s, new Map());
  return conf;
}

/** DVC's `_parse_named` plus the schema's `setdefault` of every plain section. */
function toLevel(data: ConfigData): LevelConf {
  const conf: LevelConf = { plain: new Map(), named: { remote: new Map(), machine: new Map(), db: new Map() } };
  for (const [name, section] of data) {
    const m = NAMED_HEADER.exec(name);
    if (m) conf.named[m[1] as NamedKind].set(m[2] ?? "", section);
    else conf.plain.set(name, section);
  }
  for (const s of PLAIN_SECTIONS) if (!conf.plain.has(s)) conf.plain.set(s, new Map());
  return conf;
}

/** DVC's `_pack_named`: empty plain sections dropped, then named sections as `kind "name"`. */
function packLevel(conf: LevelConf): ConfigData {
  const data: ConfigData = new Map();
  for (const [name, section] of conf.plain) if (section.size > 0) data.set(name, section);
  for (const kind of NAMED_KINDS)
    for (const [name, section] of conf.named[kind]) data.set(`${kind} "${name}"`, section);
  return data;
}

async function readLevel(file: string): Promise<LevelConf> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return emptyLevel();
    throw translateFsError(err, file);
  }
  return toLevel(parseConfigObj(text, file));
}

/** Write via a temporary file in the same directory and a rename; keeps the old file's mode. */
async function writeAtomic(file: string, text: string): Promise<void> {
  const dir = nodePath.dirname(file);
  const tmp = nodePath.join(dir, `.${nodePath.basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    await mkdir(dir, { recursive: true });
    const mode = await stat(file).then(
      (s) => s.mode & 0o7777,
      () => undefined,
    );
    await writeFile(tmp, text, mode === undefined ? {} : { mode });
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw translateFsError(err, file);
  }
}

async function realpathOrSelf(p: string): Promise<string> {
  return realpath(p).catch(() => nodePath.resolve(p));
}

function parseKey(key: string): KeyRef {
  const m = /^(?:(remote|machine|db)\.)?([^.]*)\.([^.]*)$/.exec(key.toLowerCase());
  if (!m?.[2] || !m[3])
    throw new UsageError(
      `'${key}' is not a config key: use section.option (e.g. core.remote) or remote.<name>.<option>`,
      { key },
    );
  const named = m[1] as NamedKind | undefined;
  if (named) return { kind: named, section: m[2], option: m[3] };
  if ((NAMED_KINDS as readonly string[]).includes(m[2]))
    throw new UsageError(`'${key}': ${m[2]} options are written ${m[2]}.<name>.<option>`, { key });
  if (!PLAIN_SECTIONS.includes(m[2]))
    throw new UsageError(`'${key}': unknown section '${m[2]}': valid sections are ${VALID_SECTIONS}`, { key });
  return { kind: "plain", section: m[2], option: m[3] };
}

function checkOptionName(option: string, key: string): void {
  if (!/^[a-z0-9_-]+$/.test(option))
    throw new UsageError(`'${key}': option name '${option}' may only contain letters, digits, '_' and '-'`, { key });
}

function checkRemoteName(name: string): string {
  const lower = name.toLowerCase();
  if (!lower || /["'\r\n]/.test(lower) || lower.trim() !== lower)
    throw new UsageError(
      `'${name}' is not a usable remote name: it must be non-empty, without quotes or surrounding spaces`,
      {
        name,
      },
    );
  return lower;
}

function sectionOf(conf: LevelConf, ref: KeyRef): ConfigSection | undefined {
  return ref.kind === "plain" ? conf.plain.get(ref.section) : conf.named[ref.kind].get(ref.section);
}

function coreOf(conf: LevelConf): ConfigSection {
  return getOrCreate(conf.plain, "core");
}

function getOrCreate(sections: Map<string, ConfigSection>, name: string): ConfigSection {
  let section = sections.get(name);
  if (!section) {
    section = new Map();
    sections.set(name, section);
  }
  return section;
}

function pointsAt(value: ConfigValue | undefined, name: string): boolean {
  return typeof value === "string" && value.toLowerCase() === name;
}

/** Python's posixpath.join for two parts. */
function posixJoin(a: string, b: string): string {
  if (b.startsWith("/")) return b;
  return a === "" || a.endsWith("/") ? a + b : `${a}/${b}`;
}

/** A value fit to print: `user:password@` removed from URLs, other values kept as they are. */
function redactValue(value: ConfigValue): ConfigValue {
  return typeof value === "string" ? redactUrl(value) : value.map(redactUrl);
}

/** A value as `dvc config --list` prints it (lists as a Python list). */
function formatListed(value: ConfigValue): string {
  if (typeof value === "string") return value;
  const repr = (s: string) =>
    s.includes("'") && !s.includes('"') ? `"${s}"` : `'${s.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
  return `[${value.map(repr).join(", ")}]`;
}
