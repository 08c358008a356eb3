/**
 * What mlv has already learnt from git's objects, kept between commands in `.dvc/tmp/mlv`, like
 * git's own commit-graph file. Every fact is keyed by the id of the objects it was read from, and
 * git objects never change, so nothing here goes stale: a commit's parents and message, the pointer
 * files a commit added or changed compared with its first parent, a pointer blob parsed, the object
 * at a path in a tree. A command walking 2,000 commits then reads only the commits it has not seen.
 *
 * The file is a cache: a missing, unreadable or foreign one is ignored and rebuilt, and it is
 * written whole (temp file, then rename) only when something was learnt.
 */
import { mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

const FORMAT = "mlv-git-index";
/** Bumped whenever what a fact means changes (such as which pointer files a commit's walk keeps). */
const VERSION = 3;
/** Past this, the file is started afresh rather than grown further. */
const MAX_BYTES = 128 * 1024 * 1024;

/** A commit as stored: tree, parents, author and committer (name, email, time, offset), message. */
type CommitRow = [string, string[], string, string, number, number, string, string, number, number, string];

export interface IndexedCommit {
  oid: string;
  tree: string;
  parents: string[];
  author: { name: string; email: string; timestamp: number; timezoneOffset: number };
  committer: { name: string; email: string; timestamp: number; timezoneOffset: number };
  message: string;
}

interface IndexData {
  format: typeof FORMAT;
  version: number;
  commits: Record<string, CommitRow>;
  /** An annotated tag's id → the commit it tags. */
  peeled: Record<string, string>;
  /** Project folder ("" for the git root) → commit → [pointer path, blob] added or changed since its first parent. */
  changes: Record<string, Record<string, [string, string][]>>;
  /** Blob id → the text of the pointer file it holds (small: parsing it again costs microseconds). */
  pointers: Record<string, string>;
  /** Path → tree id → "<mode> <oid>" of the entry at that path below the tree, "" when none. */
  paths: Record<string, Record<string, string>>;
}

function empty(): IndexData {
  return { format: FORMAT, version: VERSION, commits: {}, peeled: {}, changes: {}, pointers: {}, paths: {} };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function load(file: string): IndexData {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return empty(); // absent or unreadable: learnt again
  }
  if (!isRecord(data) || data.format !== FORMAT || data.version !== VERSION) return empty();
  for (const key of ["commits", "peeled", "changes", "pointers", "paths"] as const)
    if (!isRecord(data[key])) return empty();
  return data as unknown as IndexData;
}

export class HistoryIndex {
  private data: IndexData;
  private dirty = false;

  /** `file`: where it is kept; undefined keeps everything in memory only (a repository mlv does not own). */
  constructor(private readonly file?: string) {
    this.data = file === undefined ? empty() : load(file);
  }

  commit(oid: string): IndexedCommit | undefined {
    const target = this.data.peeled[oid] ?? oid;
    const row = this.data.commits[target];
    if (!Array.isArray(row) || row.length !== 11) return undefined;
    const [tree, parents, an, ae, at, az, cn, ce, ct, cz, message] = row;
    return {
      oid: target,
      tree,
      parents,
      author: { name: an, email: ae, timestamp: at, timezoneOffset: az },
      committer: { name: cn, email: ce, timestamp: ct, timezoneOffset: cz },
      message,
    };
  }

  /** `asked`: the id the commit was asked for, an annotated tag's when it differs from `c.oid`. */
  putCommit(asked: string, c: IndexedCommit): void {
    if (asked !== c.oid) this.data.peeled[asked] = c.oid;
    const { author: a, committer: m } = c;
    this.data.commits[c.oid] = [
      c.tree,
      c.parents,
      a.name,
      a.email,
      a.timestamp,
      a.timezoneOffset,
      m.name,
      m.email,
      m.timestamp,
      m.timezoneOffset,
      c.message,
    ];
    this.dirty = true;
  }

  changes(project: string, commit: string): [string, string][] | undefined {
    return this.data.changes[project]?.[commit];
  }

  putChanges(project: string, commit: string, changes: [string, string][]): void {
    this.data.changes[project] ??= {};
    this.data.changes[project][commit] = changes;
    this.dirty = true;
  }

  pointerText(blob: string): string | undefined {
    const text = this.data.pointers[blob];
    return typeof text === "string" ? text : undefined;
  }

  putPointerText(blob: string, text: string): void {
    this.data.pointers[blob] = text;
    this.dirty = true;
  }

  /** The entry "<mode> <oid>" at `path` below `tree` ("" for none); undefined when not known yet. */
  entry(path: string, tree: string): string | undefined {
    return this.data.paths[path]?.[tree];
  }

  putEntry(path: string, tree: string, entry: string): void {
    this.data.paths[path] ??= {};
    this.data.paths[path][tree] = entry;
    this.dirty = true;
  }

  /** Write what was learnt, if anything. Best effort: a failure only means learning it again next time. */
  save(): void {
    if (this.file === undefined || !this.dirty) return;
    const text = JSON.stringify(this.data);
    if (text.length > MAX_BYTES) {
      this.data = empty();
      return;
    }
    const tmp = `${this.file}.${process.pid}.tmp`;
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      writeFileSync(tmp, text);
      renameSync(tmp, this.file);
      this.dirty = false;
    } catch {
      try {
        unlinkSync(tmp);
      } catch {
        // nothing was written
      }
    }
  }
}
