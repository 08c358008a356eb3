import { constants, existsSync } from "node:fs";
import { copyFile, link, mkdtemp, readFile, realpath, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { LinkType } from "../cache/object-cache.js";

/**
 * The link types that work from `cacheDir` to `workspaceDir`, tried for real with a scratch file
 * (as DVC's `version` does): reflink needs a copy-on-write filesystem, hardlink the same filesystem,
 * symlink a filesystem that has them. Copy always works and is not listed. Undefined when there
 * is no cache folder yet.
 */
export async function probeLinkTypes(cacheDir: string, workspaceDir: string): Promise<LinkType[] | undefined> {
  if (!existsSync(cacheDir)) return undefined;
  const from = await mkdtemp(join(cacheDir, ".mlv-probe-"));
  const to = await mkdtemp(join(workspaceDir, ".mlv-probe-"));
  try {
    const src = join(from, "src");
    await writeFile(src, "probe");
    const attempts: [LinkType, (dest: string) => Promise<void>][] = [
      ["reflink", (dest) => copyFile(src, dest, constants.COPYFILE_FICLONE_FORCE)],
      ["hardlink", (dest) => link(src, dest)],
      ["symlink", (dest) => symlink(src, dest)],
    ];
    const works: LinkType[] = [];
    for (const [type, make] of attempts) {
      try {
        await make(join(to, type));
        works.push(type);
      } catch {
        // not supported between these folders
      }
    }
    return works;
  } finally {
    await Promise.all([rm(from, { recursive: true, force: true }), rm(to, { recursive: true, force: true })]);
  }
}

/** "ext4 on /dev/vda": the filesystem holding `path`, from the mount table (Linux only; undefined elsewhere). */
export async function filesystemOf(path: string): Promise<string | undefined> {
  let table: string;
  let real: string;
  try {
    [table, real] = await Promise.all([readFile("/proc/self/mountinfo", "utf8"), realpath(path)]);
  } catch {
    return undefined;
  }
  let best: { point: string; text: string } | undefined;
  for (const line of table.split("\n")) {
    // id parent major:minor root mountpoint options [optional...] - fstype source superoptions
    const [left, right] = line.split(" - ");
    const point = unescapeMount(left?.split(" ")[4] ?? "");
    const [fstype, source] = (right ?? "").split(" ");
    if (!point || !fstype) continue;
    const inside = real === point || real.startsWith(point.endsWith("/") ? point : `${point}/`);
    if (inside && (!best || point.length >= best.point.length))
      best = { point, text: `${fstype} on ${unescapeMount(source ?? "")}` };
  }
  return best?.text;
}

/** The mount table writes a space as `\040` and so on. */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)));
}
