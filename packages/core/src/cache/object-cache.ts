import { constants, existsSync } from "node:fs";
import { chmod, copyFile, link, mkdir, readFile, rename, stat, symlink, unlink, writeFile } from "node:fs/promises";
import { dirname, join, sep } from "node:path";
import { removeStaleTemps, tmpName } from "../atomic-write.js";
import { ConfigError, DiskFullError, isDiskFull, MlvError, translateFsError } from "../errors.js";
import { type ParsedDirEntry, parseDirManifest } from "../formats/dir-manifest.js";
import { dos2unixFileMd5 } from "../hash/dos2unix.js";
import { copyAndHash, type FileDigest, md5File, md5Hex } from "../hash/md5.js";
import { watchGrowth } from "../progress.js";

export type HashName = "md5" | "md5-dos2unix";

export type LinkType = "reflink" | "hardlink" | "symlink" | "copy";
export const LINK_TYPES: readonly LinkType[] = ["reflink", "hardlink", "symlink", "copy"];

/** Errors that mean "this link type does not work here", after which DVC tries the next type. */
const LINK_UNSUPPORTED = new Set([
  "EPERM",
  "ENOTSUP",
  "EOPNOTSUPP",
  "EXDEV",
  "ENOTTY",
  "ENOSYS",
  "EINVAL",
  "EAGAIN",
  "EMLINK",
]);

/** From this size on, copying and hashing run side by side (see copyWhileHashing). */
const PARALLEL_COPY_BYTES = 8 << 20;

/** Where an object lives relative to an object database root (cache or remote), per DVC 3. */
export function objectKey(oid: string, hashName: HashName): string {
  const rel = `${oid.slice(0, 2)}/${oid.slice(2)}`;
  return hashName === "md5" ? `files/md5/${rel}` : rel;
}

/**
 * The local cache, `.dvc/cache` by default: 3.x objects under `files/md5/<2>/<30>`, legacy 2.x
 * objects at `<2>/<30>`. Objects are written atomically and left read-only (0444); a 0444 object is
 * trusted without rehashing, exactly as DVC does.
 */
export class ObjectCache {
  private madeDirs = new Set<string>();

  /** `root` and a separator: object paths are built by concatenation, called once per object of a project. */
  private readonly prefix: string;

  constructor(readonly root: string) {
    this.prefix = join(root, sep);
  }

  get objectsDir(): string {
    return join(this.root, "files", "md5");
  }

  path(oid: string, hashName: HashName = "md5"): string {
    const key = objectKey(oid, hashName);
    return this.prefix + (sep === "/" ? key : key.split("/").join(sep));
  }

  /** Plain existence: DVC's test for "already there, skip". */
  exists(oid: string, hashName: HashName = "md5"): boolean {
    return existsSync(this.path(oid, hashName));
  }

  /** The file list of a `.dir` object in the cache; throws if it is missing or malformed. */
  async readDirObject(oid: string, hashName: HashName = "md5"): Promise<ParsedDirEntry[]> {
    const p = this.path(oid, hashName);
    return parseDirManifest(await readFile(p), p, "md5");
  }

  /**
   * DVC's validity check (§3.3): present and 0444 is trusted; present with another mode is rehashed,
   * deleted if corrupt, re-protected if good.
   */
  async isValid(oid: string, hashName: HashName = "md5"): Promise<boolean> {
    const p = this.path(oid, hashName);
    let st: Awaited<ReturnType<typeof stat>>;
    try {
      st = await stat(p);
    } catch {
      return false;
    }
    if (!st.isFile()) return false;
    if ((st.mode & 0o777) === 0o444) return true;
    const actual = await this.hashObject(p, oid, hashName);
    if (actual !== oid) {
      await unlink(p).catch(() => {});
      return false;
    }
    await chmod(p, 0o444).catch(() => {});
    return true;
  }

  private async hashObject(p: string, oid: string, hashName: HashName): Promise<string> {
    if (oid.endsWith(".dir")) return `${md5Hex(await readFile(p))}.dir`;
    return hashName === "md5" ? (await md5File(p)).md5 : dos2unixFileMd5(p);
  }

  async ensureDir(dir: string): Promise<void> {
    // A folder made before costs one stat, not a mkdir: the cache may have been removed since.
    if (this.madeDirs.has(dir) && existsSync(dir)) return;
    await mkdir(dir, { recursive: true });
    // The first write into a folder clears what killed commands left there (a fetch, a pull).
    if (!this.madeDirs.has(dir)) removeStaleTemps(dir);
    this.madeDirs.add(dir);
  }

  /** Move a finished temporary file into place, unless the object already exists (never overwrite). */
  async commitTemp(tmp: string, oid: string, hashName: HashName = "md5"): Promise<void> {
    const dest = this.path(oid, hashName);
    if (existsSync(dest)) {
      await unlink(tmp).catch(() => {});
      return;
    }
    await this.ensureDir(dirname(dest));
    await rename(tmp, dest);
  }

  /** Copy a workspace file into the cache while hashing it (one read pass); `onBytes` hears the bytes hashed so far. */
  async addFile(src: string, onBytes?: (bytes: number) => void): Promise<FileDigest> {
    await this.ensureDir(this.objectsDir);
    const tmp = tmpName(this.objectsDir);
    try {
      const digest = await this.copyWhileHashing(src, tmp, onBytes);
      await this.commitTemp(tmp, digest.md5);
      return digest;
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw isDiskFull(err)
        ? new DiskFullError(src, err, `copying '${src}' into the cache '${this.root}'`)
        : translateFsError(err, src);
    }
  }

  /**
   * Big files: the kernel copies (copy_file_range, in libuv's thread pool) while this thread
   * hashes, so adding costs about what hashing alone does. If the file changed meanwhile (size or
   * mtime differ), fall back to one pass that copies exactly the bytes it hashes.
   */
  private async copyWhileHashing(src: string, tmp: string, onBytes?: (bytes: number) => void): Promise<FileDigest> {
    const before = await stat(src);
    if (before.size < PARALLEL_COPY_BYTES) return copyAndHash(src, tmp, 0o444, onBytes);
    const [digest] = await Promise.all([md5File(src, onBytes), copyFile(src, tmp, constants.COPYFILE_FICLONE)]);
    const after = await stat(src);
    const copied = await stat(tmp);
    if (after.size !== before.size || after.mtimeMs !== before.mtimeMs || copied.size !== digest.size) {
      await unlink(tmp);
      return copyAndHash(src, tmp, 0o444, onBytes);
    }
    await chmod(tmp, 0o444);
    return digest;
  }

  /** Store bytes (a `.dir` manifest) under a known oid. */
  async addBytes(oid: string, bytes: Uint8Array, hashName: HashName = "md5"): Promise<void> {
    const dest = this.path(oid, hashName);
    if (existsSync(dest)) return;
    await this.ensureDir(dirname(dest));
    const tmp = tmpName(dirname(dest));
    try {
      await writeFile(tmp, bytes, { mode: 0o444, flag: "wx" });
      await rename(tmp, dest);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw translateFsError(err, dest);
    }
  }

  /**
   * Materialise an object at `dest` with the first link type that works, through a temporary file
   * in the destination folder so a reader never sees a half-written file. Returns the type used and
   * drops failing types from `types` (shared across a batch, as DVC does). `onBytes` hears how much
   * of a copy is written while it runs.
   */
  async linkTo(
    oid: string,
    hashName: HashName,
    dest: string,
    types: LinkType[],
    isexec = false,
    onBytes?: (bytes: number) => void,
  ): Promise<LinkType> {
    const src = this.path(oid, hashName);
    const tmp = tmpName(dirname(dest));
    for (;;) {
      const type = types[0];
      if (!type) throw new MlvError("ELINK", `no cache link type works for '${dest}': set 'cache.type' to copy`);
      try {
        await watchGrowth(tmp, makeLink(type, src, tmp), type === "copy" ? onBytes : undefined);
        if (isexec && type !== "hardlink" && type !== "symlink") {
          const st = await stat(tmp);
          await chmod(tmp, st.mode | 0o111);
        }
        await rename(tmp, dest);
        return type;
      } catch (err) {
        await unlink(tmp).catch(() => {});
        const code = (err as NodeJS.ErrnoException).code ?? "";
        if (types.length > 1 && LINK_UNSUPPORTED.has(code)) {
          types.shift();
          continue;
        }
        throw translateFsError(err, dest);
      }
    }
  }
}

async function makeLink(type: LinkType, src: string, dest: string): Promise<void> {
  switch (type) {
    case "reflink":
      await copyFile(src, dest, constants.COPYFILE_FICLONE_FORCE);
      await chmod(dest, 0o666 & ~process.umask());
      return;
    case "copy":
      await copyFile(src, dest, constants.COPYFILE_FICLONE);
      await chmod(dest, 0o666 & ~process.umask());
      return;
    case "hardlink":
      await link(src, dest);
      return;
    case "symlink":
      await symlink(src, dest);
      return;
  }
}

/** Parse `cache.type` ("reflink,copy", or a list) into link types; default reflink then copy. */
export function parseLinkTypes(value: string | string[] | undefined): LinkType[] {
  if (value === undefined) return ["reflink", "copy"];
  const parts = (Array.isArray(value) ? value : value.split(",")).map((s) => s.trim()).filter(Boolean);
  for (const p of parts) {
    if (!LINK_TYPES.includes(p as LinkType))
      throw new ConfigError(`cache.type: unknown link type '${p}': use reflink, hardlink, symlink or copy`);
  }
  return parts as LinkType[];
}

export { tmpName };
