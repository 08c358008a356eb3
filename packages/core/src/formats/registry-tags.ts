/**
 * The model registry's git tag names, in GTO's convention (the one `dvc artifacts get` reads):
 *
 *   text-classification@v1.2.0        register version v1.2.0 of the artifact
 *   text-classification@v1.2.0!       deregister it
 *   text-classification#prod#3        assign stage prod (3: the artifact's event counter)
 *   text-classification#prod!#4       unassign it
 *   text-classification@deprecated    deprecate the artifact
 *
 * An artifact declared in `sub/dir/dvc.yaml` is named `sub/dir:name`, written `sub/dir=name` in tag
 * names (':' cannot be in a git ref). Any of these may end with `#N`; assignments and unassignments
 * do, the others not unless written that way.
 */
import semver from "semver";
import { UsageError } from "../errors.js";

export type RegistryAction = "register" | "deregister" | "assign" | "unassign" | "deprecate";

/** What one registry tag says. */
export interface RegistryTagName {
  action: RegistryAction;
  /** The artifact's name as people write it (`sub/dir:name`). */
  artifact: string;
  /** `v1.2.0`, for register and deregister. */
  version?: string;
  /** For assign and unassign. */
  stage?: string;
  /** The `#N` ending, when there is one. */
  counter?: number;
}

const NAME = "[a-z0-9](?:[a-z0-9\\-/]*[a-z0-9])?";
const DIRNAME = "[a-z0-9\\-_./]+";
const NUM = "(?:0|[1-9]\\d*)";
const PRE = "(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)";
const SEMVER = `${NUM}\\.${NUM}\\.${NUM}(?:-${PRE}(?:\\.${PRE})*)?(?:\\+[0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*)?`;

const NAME_RE = new RegExp(`^${NAME}$`);
const FULLNAME_RE = new RegExp(`^(?:(${DIRNAME}):)?(${NAME})$`);
const VERSION_RE = new RegExp(`^v${SEMVER}$`);
const TAG_RE = new RegExp(
  `^((?:${DIRNAME}=)?${NAME})(?:(?:#(${NAME})|@(v${SEMVER}))(!?)|@(deprecated|created))(?:#([0-9]+))?$`,
);

/** `sub/dir:name` as it is written in a tag name. */
export function artifactInTag(artifact: string): string {
  return artifact.replaceAll(":", "=");
}

/** Whether `name` is a valid artifact name (`name`, or `sub/dir:name` for one declared below the root). */
export function isArtifactName(name: string): boolean {
  return FULLNAME_RE.test(name);
}

/** Throw a UsageError unless `name` can name an artifact. */
export function checkArtifactName(name: string): void {
  if (!isArtifactName(name))
    throw new UsageError(
      `'${name}' is not a valid artifact name: use lowercase letters, digits, '-' and '/', starting and ending with a letter or digit (a subfolder's artifact: 'sub/dir:name')`,
      { name },
    );
}

/** Throw a UsageError unless `stage` can name a stage. */
export function checkStageName(stage: string): void {
  if (!NAME_RE.test(stage))
    throw new UsageError(
      `'${stage}' is not a valid stage name: use lowercase letters, digits, '-' and '/', starting and ending with a letter or digit`,
      { stage },
    );
}

/** Whether `version` is a registry version: `v` and a semantic version (`v1.2.0`, `v2.0.0-rc.1`). */
export function isRegistryVersion(version: string): boolean {
  return VERSION_RE.test(version);
}

export function checkRegistryVersion(version: string): void {
  if (!isRegistryVersion(version))
    throw new UsageError(`version '${version}' is not valid: give 'v' and a semantic version, such as 'v1.0.0'`, {
      version,
    });
}

/** Order of registry versions, by semantic versioning (build metadata ignored). */
export function compareVersions(a: string, b: string): number {
  return semver.compare(a.slice(1), b.slice(1));
}

/** The version after `version`: its major, minor or patch number raised by one. */
export function bumpVersion(version: string, part: "major" | "minor" | "patch"): string {
  const next = semver.inc(version.slice(1), part);
  if (next === null) throw new UsageError(`cannot bump version '${version}'`, { version });
  return `v${next}`;
}

/** What a tag name says in the registry's convention, or undefined for any other tag. */
export function parseRegistryTag(tag: string): RegistryTagName | undefined {
  const m = TAG_RE.exec(tag);
  if (!m) return undefined;
  const [, artifact, stage, version, cancel, special, counter] = m;
  if (special === "created") return undefined; // reserved by the convention, never written
  const parsed: RegistryTagName =
    special === "deprecated"
      ? { action: "deprecate", artifact: artifact!.replaceAll("=", ":") }
      : version !== undefined
        ? { action: cancel ? "deregister" : "register", artifact: artifact!.replaceAll("=", ":"), version }
        : { action: cancel ? "unassign" : "assign", artifact: artifact!.replaceAll("=", ":"), stage: stage! };
  if (counter !== undefined) parsed.counter = Number(counter);
  return parsed;
}

/** The tag name for an action; `counter` gives the `#N` ending. */
export function formatRegistryTag(tag: RegistryTagName): string {
  const artifact = artifactInTag(tag.artifact);
  let name: string;
  switch (tag.action) {
    case "register":
      name = `${artifact}@${tag.version}`;
      break;
    case "deregister":
      name = `${artifact}@${tag.version}!`;
      break;
    case "assign":
      name = `${artifact}#${tag.stage}`;
      break;
    case "unassign":
      name = `${artifact}#${tag.stage}!`;
      break;
    case "deprecate":
      name = `${artifact}@deprecated`;
      break;
  }
  return tag.counter === undefined ? name : `${name}#${tag.counter}`;
}
