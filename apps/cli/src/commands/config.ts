import { UsageError } from "@mlv/core";
import { recordConfigChange } from "@mlv/core/internal";
import type { Command } from "commander";
import { type Context, withGlobals } from "../context.js";
import { gitHint } from "../output.js";
import { type LevelOpts, levelOf, openConfig, withLevels } from "./options.js";

type Opts = LevelOpts & { list?: boolean; unset?: boolean; quiet?: boolean; verbose?: boolean };

export function register(program: Command, ctx: Context): void {
  withLevels(withGlobals(program.command("config")))
    .description("Get, set or unset a configuration value (section.option), as in .dvc/config")
    .argument("[key]", "e.g. core.remote, cache.type, remote.storage.url")
    .argument("[value]", "the value to set")
    .option("-l, --list", "list every set value")
    .option("-u, --unset", "remove the option")
    .action(async (key: string | undefined, value: string | undefined, opts: Opts) => {
      const out = ctx.output(opts);
      const level = levelOf(opts);
      const { config, root } = await openConfig(level);
      const recorded = async () => {
        if (root) gitHint(out, { root }, await recordConfigChange(root, config, level ?? "repo"));
      };
      if (opts.list) {
        if (key) throw new UsageError("--list takes no key");
        for (const line of config.listLevel(level)) out.info(line);
        return;
      }
      if (!key) throw new UsageError("give a key (section.option), or --list");
      if (opts.unset) {
        if (value !== undefined) throw new UsageError("--unset takes no value");
        await config.unset(level ?? "repo", key);
        return recorded();
      }
      if (value === undefined) {
        const v = level ? config.getLevel(level, key) : config.get(key);
        if (v === undefined)
          throw new UsageError(`option '${key}' is not set${level ? ` in the ${level} config` : ""}`);
        return out.info(Array.isArray(v) ? v.join(", ") : v);
      }
      await config.set(level ?? "repo", key, value, process.cwd());
      await recorded();
    });
}
