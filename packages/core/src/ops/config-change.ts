import { relative, sep } from "node:path";
import { type Config, type ConfigLevel, configBool } from "../config.js";
import { Scm } from "../workspace/scm.js";

/** What changed in git's eyes after a configuration write, in the shape `add` reports it. */
export interface ConfigChange {
  /** Repository-relative files git should record: `.dvc/config` after a project-level write. */
  gitFiles: string[];
  /** Whether they were staged already (`core.autostage`). */
  autostaged: boolean;
  /** Whether the project is in a git repository at all. */
  git: boolean;
}

/**
 * After `remote add`, `remote default`, `config` and the like: the project's `.dvc/config` is
 * committed with the code, or a teammate's clone does not know the remote. Stages it when
 * `core.autostage` is on; the other levels (local, global, system) are not git's business.
 */
export async function recordConfigChange(root: string, config: Config, level: ConfigLevel): Promise<ConfigChange> {
  if (level !== "repo") return { gitFiles: [], autostaged: false, git: false };
  const scm = configBool(config.get("core.no_scm")) ? null : await Scm.find(root);
  if (!scm) return { gitFiles: [], autostaged: false, git: false };
  const file = config.file("repo");
  const autostaged = configBool(config.get("core.autostage")) === true;
  if (autostaged) await scm.add([file]);
  return { gitFiles: [relative(root, file).split(sep).join("/")], autostaged, git: true };
}
