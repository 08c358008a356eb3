import { promises as fsp } from "node:fs";
import { basename, dirname } from "node:path";

/** A loose object's file: `objects/<2 hex>/<38 hex>`. */
const LOOSE_OBJECT = /[\\/]objects[\\/][0-9a-f]{2}[\\/][0-9a-f]{38}$/;

/** A packfile or its index: read once by isomorphic-git, which keeps it. */
const PACK_FILE = /[\\/]objects[\\/]pack[\\/][^\\/]+$/;

/** Rejected at once, without building a Node error and its stack. */
const NO_PATH = Object.assign(new Error("no path given"), { code: "EINVAL" });

/**
 * What a loose object absent from its folder's listing gets. isomorphic-git only looks at the code
 * (and then at the packfiles), so one shared error saves building thousands of stack traces.
 */
const NOT_LOOSE = Object.assign(new Error("ENOENT: no such loose object"), { code: "ENOENT" });

/**
 * The file system isomorphic-git reads through, remembering what it looked up for the life of one
 * history reader. isomorphic-git pays several system calls per object read: a `stat` of `.git`, an
 * attempt to open the object as a loose file, a listing of `objects/pack`. Here `stat` results,
 * folder listings and small files (refs) are kept, and an object absent from its loose folder's
 * listing is answered without opening anything; a read that then finds nothing calls `forget()`
 * and tries again.
 * Nothing is interpreted: isomorphic-git still does all the reading of git's data.
 */
export class SnapshotFs {
  private stats = new Map<string, Promise<unknown>>();
  private files = new Map<string, Promise<unknown>>();
  private listings = new Map<string, Promise<string[]>>();
  private looseFolders = new Map<string, Promise<Set<string>>>();
  private looseNames = new Map<string, Set<string>>();

  /** isomorphic-git takes a Node-like `fs` whose enumerable `promises` holds the methods. */
  readonly promises = {
    readFile: (path?: string, options?: unknown): Promise<unknown> => {
      // isomorphic-git calls readFile() without a path once per command, to see whether it returns a promise.
      if (path === undefined) return Promise.reject(NO_PATH);
      if (LOOSE_OBJECT.test(path)) return this.readLoose(path, options);
      if (PACK_FILE.test(path)) return fsp.readFile(path, options as never);
      return this.readSmall(path, options);
    },
    readdir: (path: string, options?: unknown): Promise<unknown> =>
      options === undefined ? this.list(path) : fsp.readdir(path, options as never),
    stat: (path: string) => this.memoStat(`s${path}`, () => fsp.stat(path)),
    lstat: (path: string) => this.memoStat(`l${path}`, () => fsp.lstat(path)),
    readlink: fsp.readlink,
    // Never called by the reads mlv makes; present because isomorphic-git binds them all.
    writeFile: fsp.writeFile,
    mkdir: fsp.mkdir,
    rmdir: fsp.rmdir,
    unlink: fsp.unlink,
    symlink: fsp.symlink,
  };

  /** Drop everything remembered (the repository changed under us). */
  forget(): void {
    this.stats.clear();
    this.files.clear();
    this.listings.clear();
    this.looseFolders.clear();
    this.looseNames.clear();
  }

  private memoStat(key: string, load: () => Promise<unknown>): Promise<unknown> {
    let stat = this.stats.get(key);
    if (stat === undefined) {
      stat = load();
      this.stats.set(key, stat);
    }
    return stat;
  }

  private list(path: string): Promise<string[]> {
    let names = this.listings.get(path);
    if (names === undefined) {
      names = fsp.readdir(path);
      this.listings.set(path, names);
    }
    return names;
  }

  /**
   * Refs, HEAD, packed-refs and the like, read once per snapshot: isomorphic-git reads
   * packed-refs again for every ref it resolves, and tries each loose ref file before it.
   */
  private readSmall(path: string, options: unknown): Promise<unknown> {
    const key = `${typeof options === "string" ? options : ((options as { encoding?: string } | undefined)?.encoding ?? "")}\0${path}`;
    let content = this.files.get(key);
    if (content === undefined) {
      content = fsp.readFile(path, options as never);
      this.files.set(key, content);
      content.catch(() => undefined); // a missing file is an answer too; each caller sees the rejection
    }
    return content;
  }

  private readLoose(path: string, options: unknown): Promise<unknown> {
    const folder = dirname(path);
    const known = this.looseNames.get(folder);
    // Most objects are packed: answered without waiting once the folder's listing is known.
    if (known !== undefined)
      return known.has(basename(path)) ? fsp.readFile(path, options as never) : Promise.reject(NOT_LOOSE);
    let names = this.looseFolders.get(folder);
    if (names === undefined) {
      names = this.list(folder).then(
        (list) => new Set(list),
        () => new Set<string>(),
      );
      this.looseFolders.set(folder, names);
      void names.then((set) => {
        if (this.looseFolders.get(folder) === names) this.looseNames.set(folder, set);
      });
    }
    return names.then((set) =>
      set.has(basename(path)) ? fsp.readFile(path, options as never) : Promise.reject(NOT_LOOSE),
    );
  }
}
