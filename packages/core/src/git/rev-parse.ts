/**
 * The revision syntax mlv understands, a subset of gitrevisions(7): a name (branch, tag, full or
 * abbreviated commit id, `HEAD`, `@`) followed by any number of `~`, `~N`, `^`, `^N`, `^{}` and
 * `^{commit}`.
 */

/** One step after the name: `~N` (N first parents back), `^N` (the Nth parent; 0 is the commit itself). */
export type RevStep = { kind: "ancestor"; n: number } | { kind: "parent"; n: number };

export interface RevSpec {
  /** The name before the first `~` or `^`; `@` is given as `HEAD`. */
  name: string;
  steps: RevStep[];
}

const STEP_RE = /^(?:\^\{(?:commit)?\}|~(\d*)|\^(\d*))/;

/** Parse `rev`, or return undefined when it is not valid revision syntax. */
export function parseRevSpec(rev: string): RevSpec | undefined {
  const cut = rev.search(/[~^]/);
  const name = cut === -1 ? rev : rev.slice(0, cut);
  if (!isValidRefName(name)) return undefined;
  const steps: RevStep[] = [];
  let rest = cut === -1 ? "" : rev.slice(cut);
  while (rest !== "") {
    const m = STEP_RE.exec(rest);
    if (!m) return undefined;
    if (m[1] !== undefined) steps.push({ kind: "ancestor", n: m[1] === "" ? 1 : Number(m[1]) });
    else if (m[2] !== undefined) steps.push({ kind: "parent", n: m[2] === "" ? 1 : Number(m[2]) });
    // `^{}` and `^{commit}` peel to a commit, which every revision is resolved to anyway.
    rest = rest.slice(m[0].length);
  }
  return { name: name === "@" ? "HEAD" : name, steps };
}

/** A name git could accept as a ref (the rules of git-check-ref-format(1) that matter here). */
function isValidRefName(name: string): boolean {
  if (name === "" || name === "@") return name === "@";
  if (name.startsWith("-") || name.startsWith("/") || name.endsWith("/") || name.endsWith(".")) return false;
  if (name.endsWith(".lock") || name.includes("..") || name.includes("//") || name.includes("@{")) return false;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(name)) return false;
  return !name.split("/").some((part) => part.startsWith("."));
}
