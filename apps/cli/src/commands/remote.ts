import {
  AdapterNotFoundError,
  type Config,
  type ConfigLevel,
  DEFAULT_ADAPTER_PACKAGES,
  redactUrl,
  resolveAdapter,
  UsageError,
  urlScheme,
} from "@mlv/core";
import { recordConfigChange } from "@mlv/core/internal";
import type { Command } from "commander";
import { type Context, withGlobals } from "../context.js";
import { gitHint, type Output } from "../output.js";
import { ADAPTERS } from "../remotes.js";
import { type LevelOpts, levelOf, openConfig, withLevels } from "./options.js";

type Opts = LevelOpts & { quiet?: boolean; verbose?: boolean };

export function register(program: Command, ctx: Context): void {
  const remote = withGlobals(program.command("remote")).description(
    "Set up the storage where data is pushed to and pulled from",
  );

  withLevels(withGlobals(remote.command("add")))
    .description("Add a remote: a local path, s3://, gs://, azure://, ssh://, or a scheme of an installed adapter")
    .argument("<name>", "a name for the remote")
    .argument("<url>", "where the data goes")
    .option("-d, --default", "make it the default remote")
    .option("-f, --force", "replace a remote of that name")
    .action(async (name: string, url: string, opts: Opts & { default?: boolean; force?: boolean }) => {
      const out = ctx.output(opts);
      const level = levelOf(opts) ?? "repo";
      const { config, root } = await openConfig(level);
      await checkAdapter(url, out, root);
      await config.addRemote(level, name, url, { makeDefault: opts.default, force: opts.force, cwd: process.cwd() });
      out.debug(`remote '${name.toLowerCase()}' added to the ${level} config`);
      await hintCommit(out, root, config, level);
    });

  withLevels(withGlobals(remote.command("list")))
    .description("List the remotes")
    .action(async (opts: Opts) => {
      const out = ctx.output(opts);
      const { config } = await openConfig(levelOf(opts));
      const def = config.defaultRemote();
      for (const name of config.remoteNames()) {
        const url = redactUrl(String(config.get(`remote.${name}.url`) ?? ""));
        out.info(`${name}\t${url}${name === def ? "\t(default)" : ""}`);
      }
    });

  withLevels(withGlobals(remote.command("default")))
    .description("Show, set or unset the default remote")
    .argument("[name]", "the remote to use by default")
    .option("-u, --unset", "unset the default remote")
    .action(async (name: string | undefined, opts: Opts & { unset?: boolean }) => {
      const out = ctx.output(opts);
      const level = levelOf(opts);
      const { config, root } = await openConfig(level);
      if (!opts.unset && !name) {
        const def = config.defaultRemote();
        if (!def) throw new UsageError("no default remote is set: set one with 'mlv remote default NAME'");
        return out.info(def);
      }
      await config.setDefaultRemote(level ?? "repo", opts.unset ? undefined : name);
      await hintCommit(out, root, config, level ?? "repo");
    });

  withLevels(withGlobals(remote.command("modify")))
    .description("Set or unset an option of a remote (e.g. endpointurl, region, keyfile)")
    .argument("<name>", "the remote")
    .argument("<option>", "the option")
    .argument("[value]", "its value")
    .option("-u, --unset", "remove the option")
    .action(async (name: string, option: string, value: string | undefined, opts: Opts & { unset?: boolean }) => {
      if (!opts.unset && value === undefined)
        throw new UsageError(`give a value for '${option}', or --unset to remove it`);
      const level = levelOf(opts) ?? "repo";
      const { config, root } = await openConfig(level);
      await config.modifyRemote(level, name, option, opts.unset ? undefined : value, process.cwd());
      await hintCommit(ctx.output(opts), root, config, level);
    });

  withLevels(withGlobals(remote.command("rename")))
    .description("Rename a remote")
    .argument("<name>", "the current name")
    .argument("<new>", "the new name")
    .action(async (name: string, next: string, opts: Opts) => {
      const level = levelOf(opts) ?? "repo";
      const { config, root } = await openConfig(level);
      await config.renameRemote(level, name, next);
      await hintCommit(ctx.output(opts), root, config, level);
    });

  withLevels(withGlobals(remote.command("remove")))
    .description("Remove a remote (and the default setting that names it)")
    .argument("<name>", "the remote")
    .action(async (name: string, opts: Opts) => {
      const level = levelOf(opts) ?? "repo";
      const { config, root } = await openConfig(level);
      await config.removeRemote(level, name);
      await hintCommit(ctx.output(opts), root, config, level);
    });
}

/**
 * A remote whose scheme no adapter serves would fail at the first push: refuse it now (DVC refuses
 * unknown URL types too). A first-party scheme whose package is not installed is kept, with a
 * warning naming the package, so a light install can still record the project's remote.
 */
async function checkAdapter(url: string, out: Output, root: string | null): Promise<void> {
  const scheme = urlScheme(url);
  try {
    await resolveAdapter(scheme, ADAPTERS, { projectDir: root ?? undefined });
  } catch (err) {
    if (!(err instanceof AdapterNotFoundError)) throw err;
    const firstParty = Object.hasOwn(DEFAULT_ADAPTER_PACKAGES, scheme) ? DEFAULT_ADAPTER_PACKAGES[scheme] : undefined;
    if (firstParty) return out.warn(`${err.message}: push and pull need it. ${err.hint ?? ""}`.trimEnd());
    const packages = (err.data?.packages as string[] | undefined) ?? [`mlv-remote-${scheme}`];
    const known = Object.keys(DEFAULT_ADAPTER_PACKAGES).filter((s) => s !== "local");
    throw new UsageError(
      `'${redactUrl(url)}': no storage adapter serves '${scheme}://' URLs. mlv serves local paths and ${known
        .map((s) => `${s}://`)
        .join(
          ", ",
        )}; another scheme needs its adapter package installed: ${packages.join(" or ")} (npm install ${packages.at(-1)})`,
    );
  }
}

/** `.dvc/config` changed: tell the user to commit it, or stage it with `core.autostage`. */
async function hintCommit(out: Output, root: string | null, config: Config, level: ConfigLevel): Promise<void> {
  if (!root) return;
  gitHint(out, { root }, await recordConfigChange(root, config, level));
}
