/**
 * The `.gitignore` entries that `dvc add` writes next to each output (spec §6.1).
 */
import { chmod, readFile, rename, stat, unlink, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { tmpName } from "../atomic-write.js";
import { translateFsError } from "../errors.js";

const META_CHARACTERS = /[[\]!*#?]/g;

/**
 * Escape a name for a `.gitignore` line as DVC does (pathspec's `GitWildMatchPattern.escape`): a
 * backslash before each of `[ ] ! * # ?`. Trailing spaces are not escaped (a DVC quirk kept for
 * identical files: git strips them, so such a name is not really ignored).
 */
export function escapeGitignoreEntry(name: string): string {
  return name.replace(META_CHARACTERS, "\\$&");
}

/** The inverse of `escapeGitignoreEntry`. */
function unescapeGitignoreEntry(entry: string): string {
  return entry.replace(/\\([[\]!*#?])/g, "$1");
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw translateFsError(err, path);
  }
}

/** Write through a temporary file in the same folder and a rename, keeping the old file's mode. */
async function writeAtomic(path: string, text: string): Promise<void> {
  // mlv's recognised temporary name: a killed command's leftover is swept by the next one.
  const tmp = tmpName(dirname(path));
  let mode: number | undefined;
  try {
    mode = (await stat(path)).mode & 0o7777;
  } catch {
    // a new file: the default mode, less the umask
  }
  try {
    await writeFile(tmp, text, "utf8");
    if (mode !== undefined) await chmod(tmp, mode);
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw translateFsError(err, path);
  }
}

/** Split into lines that keep their line ending. */
function splitLines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/**
 * Append `entry` (the line as it goes in the file, e.g. `/` + `escapeGitignoreEntry(name)`) to a
 * `.gitignore`, creating it if needed. As DVC does, a newline is written first when the file is not
 * empty and does not end in one, and nothing is written when the same line is already there.
 * The new line uses the file's line ending (`\r\n` if its first line has one, else `\n`).
 * Returns whether the file changed.
 */
export async function addGitignoreEntry(gitignorePath: string, entry: string): Promise<boolean> {
  const text = (await readIfExists(gitignorePath)) ?? "";
  const lines = splitLines(text);
  if (lines.some((line) => line.replace(/\r?\n$/, "") === entry)) return false;
  const eol = lines[0]?.endsWith("\r\n") ? "\r\n" : "\n";
  const prefix = text === "" || text.endsWith("\n") ? "" : eol;
  await writeAtomic(gitignorePath, `${text}${prefix}${entry}${eol}`);
  return true;
}

/**
 * Remove an entry from a `.gitignore`: drop every line whose trimmed text equals the entry, and
 * delete the file when no line is left. Returns whether the file changed.
 *
 * DVC compares the lines against the *unescaped* entry (`/x*y`) although it wrote the escaped one
 * (`/x\*y`), so it never removes the entries of names with `[ ] ! * # ?` (a quirk). mlv removes
 * both forms: the escaped line that DVC and mlv write, and the unescaped line older DVC versions
 * wrote before they escaped names. `entry` may be given in either form.
 */
export async function removeGitignoreEntry(gitignorePath: string, entry: string): Promise<boolean> {
  const text = await readIfExists(gitignorePath);
  if (text === undefined) return false;
  const unescaped = unescapeGitignoreEntry(entry.trim());
  const forms = new Set([entry.trim(), unescaped, escapeGitignoreEntry(unescaped)]);
  const lines = splitLines(text);
  const kept = lines.filter((line) => !forms.has(line.trim()));
  if (kept.length === lines.length) return false;
  if (kept.length === 0) {
    try {
      await unlink(gitignorePath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw translateFsError(err, gitignorePath);
    }
    return true;
  }
  await writeAtomic(gitignorePath, kept.join(""));
  return true;
}
