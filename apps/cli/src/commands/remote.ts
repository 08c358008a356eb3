import { redactUrl, UsageError } from "@mlv/core";
import type { Command } from "commander";
import { type Context, withGlobals } from "../context.js";
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
      const level = levelOf(opts) ?? "repo";
      const { config } = await openConfig(level);
      await config.addRemote(level, name, url, { makeDefault: opts.default, force: opts.force, cwd: process.cwd() });
      ctx.output(opts).debug(`remote '${name.toLowerCase()}' added to the ${level} config`);
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
      const { config } = await openConfig(level);
      if (opts.unset) return config.setDefaultRemote(level ?? "repo", undefined);
      if (!name) {
        const def = config.defaultRemote();
        if (!def) throw new UsageError("no default remote is set: set one with 'mlv remote default NAME'");
        return out.info(def);
      }
      await config.setDefaultRemote(level ?? "repo", name);
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
      const { config } = await openConfig(level);
      await config.modifyRemote(level, name, option, opts.unset ? undefined : value, process.cwd());
    });

  withLevels(withGlobals(remote.command("rename")))
    .description("Rename a remote")
    .argument("<name>", "the current name")
    .argument("<new>", "the new name")
    .action(async (name: string, next: string, opts: Opts) => {
      const level = levelOf(opts) ?? "repo";
      const { config } = await openConfig(level);
      await config.renameRemote(level, name, next);
    });

  withLevels(withGlobals(remote.command("remove")))
    .description("Remove a remote (and the default setting that names it)")
    .argument("<name>", "the remote")
    .action(async (name: string, opts: Opts) => {
      const level = levelOf(opts) ?? "repo";
      const { config } = await openConfig(level);
      await config.removeRemote(level, name);
    });
}
