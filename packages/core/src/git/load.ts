/**
 * isomorphic-git, loaded on first use only: importing the history modules reads no file and loads
 * no git library, so commands that never look at other revisions don't pay for it.
 */
export type Git = typeof import("isomorphic-git");

let gitModule: Promise<Git> | undefined;

export function loadGit(): Promise<Git> {
  gitModule ??= import("isomorphic-git").then((m) => (m.default ?? m) as Git);
  return gitModule;
}

/** The `code` isomorphic-git puts on its errors (`NotFoundError`, `AmbiguousError`, ...), if any. */
export function gitErrorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}
