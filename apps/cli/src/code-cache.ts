/**
 * Loads the CLI's CommonJS bundle through V8's code cache. Compiling the 1.4 MB bundle and the
 * functions a command runs costs about 40 ms of every start (a third of `mlv status`); V8 can
 * serialise the compiled code and take it back next time. Node 20 has no built-in compile cache
 * (`module.enableCompileCache` came in 22), so this does what it does: compile with `vm.Script`,
 * hand V8 the cached data, and after the first run of each command save what it compiled.
 *
 * The cache lives in `$XDG_CACHE_HOME/mlv` (else `~/.cache/mlv`), one file per bundle content,
 * Node version and command; `MLV_NO_CODE_CACHE=1` turns it off. V8 checks a cache against the
 * source and its own version and flags and rejects one that does not fit, which is then rewritten;
 * naming the file by the bundle's md5 means no cache from an older bundle is ever tried.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
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

/**
 * Run the CommonJS file `file` as Node would `require` it, with a code cache kept per `flavour`
 * (the command: each caches the functions it runs), and return its `module.exports`.
 */
export function requireWithCodeCache(file: string, flavour: string): unknown {
  const source = readFileSync(file, "utf8");
  const folder = cacheFolder();
  const digest = createHash("md5").update(source).digest("hex");
  const cachePath =
    folder === undefined
      ? undefined
      : join(folder, `${basename(file)}-${digest}-node${process.version}-${process.arch}-${flavour}.v8`);
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
    process.once("exit", () => save(cachePath, script.createCachedData()));
  return module.exports;
}
