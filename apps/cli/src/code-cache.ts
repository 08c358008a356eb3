/**
 * Loads the CLI's CommonJS bundle through V8's code cache. Compiling the 1.4 MB bundle and the
 * functions a command runs costs about 40 ms of every start (a third of `mlv status`); V8 can
 * serialise the compiled code and take it back next time. Node 20 has no built-in compile cache
 * (`module.enableCompileCache` came in 22), so this does what it does: compile with `vm.Script`,
 * hand V8 the cached data, and after the first run of each command save what it compiled.
 *
 * The cache lives in `$XDG_CACHE_HOME/mlv` (else `~/.cache/mlv`), one file per build of the bundle,
 * Node version and command; `MLV_NO_CODE_CACHE=1` turns it off. V8 checks a cache against the
 * source's length and its own version and flags, and rejects one that does not fit, which is then
 * rewritten; the file name tells builds apart (see `identity`).
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { basename, dirname, join } from "node:path";
import { Script } from "node:vm";

function cacheFolder(): string | undefined {
  if (process.env.MLV_NO_CODE_CACHE === "1") return undefined;
  const xdg = process.env.XDG_CACHE_HOME;
  try {
    return join(xdg?.startsWith("/") ? xdg : join(homedir(), ".cache"), "mlv");
  } catch {
    return undefined; // no home folder: run without a cache
  }
}

/**
 * What names one build of `file`, as Python names a compiled module: its size, modification time
 * and inode, with the CLI's version (npm gives every file it installs the same date) and Node's.
 * A rebuild or reinstall gets a new name, so no cache of an older bundle is ever tried.
 */
function identity(file: string): string {
  const st = statSync(file, { bigint: true });
  let version = "";
  try {
    version =
      (JSON.parse(readFileSync(join(dirname(file), "..", "package.json"), "utf8")) as { version?: string }).version ??
      "";
  } catch {
    // not from a package: size, time and inode still tell builds apart
  }
  return `${basename(file)}-${version}-${st.size}-${st.mtimeNs}-${st.ino}-node${process.version}-${process.arch}`;
}

/** Best effort and atomic: a reader sees a whole cache file or none. */
function save(path: string, data: Buffer): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing was written
    }
  }
}

/** The caches of other builds of the same file for the same command: each build writes its own. */
function removeOlderBuilds(current: string, name: string, flavour: string): void {
  try {
    for (const f of readdirSync(dirname(current)))
      if (f.startsWith(`${name}-`) && f.endsWith(`-${flavour}.v8`) && f !== basename(current))
        unlinkSync(join(dirname(current), f));
  } catch {
    // best effort: another process may be doing the same
  }
}

/**
 * Run the CommonJS file `file` as Node would `require` it, with a code cache kept per `flavour`
 * (the command: each caches the functions it runs), and return its `module.exports`.
 */
export function requireWithCodeCache(file: string, flavour: string): unknown {
  const source = readFileSync(file, "utf8");
  const folder = cacheFolder();
  const cachePath = folder === undefined ? undefined : join(folder, `${identity(file)}-${flavour}.v8`);
  let cachedData: Buffer | undefined;
  if (cachePath !== undefined)
    try {
      cachedData = readFileSync(cachePath);
    } catch {
      // first run of this command with this bundle
    }
  const wrapper = `(function (exports, require, module, __filename, __dirname) { ${source}\n});`;
  const script = new Script(wrapper, { filename: file, cachedData });
  const module = { exports: {} as unknown };
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  run.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  if (cachePath !== undefined && (cachedData === undefined || script.cachedDataRejected))
    // At exit, the cache holds every function the command compiled, not only the top level.
    process.once("exit", () => {
      save(cachePath, script.createCachedData());
      removeOlderBuilds(cachePath, basename(file), flavour);
    });
  return module.exports;
}
