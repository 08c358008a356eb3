import { Config, type ConfigLevel, Repo, UsageError } from "@mlv/core";
import type { Command } from "commander";

export interface LevelOpts {
  local?: boolean;
  global?: boolean;
  system?: boolean;
  project?: boolean;
}

/** Add the config-level flags DVC has on `config` and `remote` commands. */
export function withLevels(cmd: Command): Command {
  return cmd
    .option("--global", "use the global config (~/.config/dvc/config)")
    .option("--system", "use the system config (/etc/xdg/dvc/config)")
    .option("--project", "use the project config (.dvc/config, the default)")
    .option("--local", "use the local config (.dvc/config.local, not committed: the place for secrets)");
}

export function levelOf(opts: LevelOpts): ConfigLevel | undefined {
  const chosen = (["local", "global", "system", "project"] as const).filter((l) => opts[l]);
  if (chosen.length > 1)
    throw new UsageError(
      `choose one of --local, --global, --system and --project, not ${chosen.map((c) => `--${c}`).join(" and ")}`,
    );
  const level = chosen[0];
  return level === "project" ? "repo" : level;
}

/**
 * The config to act on: the repository's when there is one; outside a repository only the global
 * and system levels can be used.
 */
export async function openConfig(level: ConfigLevel | undefined): Promise<{ config: Config; root: string | null }> {
  try {
    const repo = await Repo.open();
    return { config: repo.config, root: repo.root };
  } catch (err) {
    if (level === "global" || level === "system") return { config: await Config.load(null), root: null };
    throw err;
  }
}
