import { relative, resolve, sep } from "node:path";
import type { ProgressEvent } from "@mlv/core";

export interface GlobalOptions {
  quiet?: boolean;
  verbose?: boolean;
  json?: boolean;
}

/**
 * Everything the CLI prints goes through here: results to stdout, diagnostics to stderr, nothing
 * but JSON with `--json`, nothing at all with `-q`, and a progress bar only on a terminal.
 */
export class Output {
  private bar: import("./progress-bar.js").ProgressBar | undefined;
  private barModule: typeof import("./progress-bar.js") | undefined;
  private barLoading: Promise<void> | undefined;
  private lastEvent: ProgressEvent | undefined;

  constructor(
    readonly options: GlobalOptions,
    readonly cwd: string = process.cwd(),
  ) {}

  /** A line for people (suppressed by -q and --json). */
  info(line = ""): void {
    if (this.options.quiet || this.options.json) return;
    this.stopProgress();
    process.stdout.write(`${line}\n`);
  }

  /** Detail shown with -v only, on stderr. */
  debug(line: string): void {
    if (this.options.verbose) process.stderr.write(`${line}\n`);
  }

  warn(line: string): void {
    if (this.options.quiet) return;
    this.stopProgress();
    process.stderr.write(`WARNING: ${line}\n`);
  }

  error(line: string): void {
    this.stopProgress();
    process.stderr.write(`ERROR: ${line}\n`);
  }

  json(value: unknown): void {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** A repository-relative posix path as the user should see it: relative to where they stand. */
  path(repoRoot: string, repoRel: string): string {
    const abs = resolve(repoRoot, repoRel);
    const rel = relative(this.cwd, abs) || ".";
    return sep === "/" ? rel : rel.split(sep).join("/");
  }

  get showProgress(): boolean {
    return !this.options.quiet && !this.options.json && process.stderr.isTTY === true && !process.env.CI;
  }

  /**
   * Feed progress events: on a terminal, a bar with files, bytes, speed and ETA (progress-bar.ts,
   * loaded with the first event); nowhere else, nothing.
   */
  progress = (event: ProgressEvent): void => {
    if (!this.showProgress) return;
    const previous = this.lastEvent;
    this.lastEvent = event;
    if (!this.barModule) {
      this.barLoading ??= import("./progress-bar.js").then((mod) => {
        this.barModule = mod;
        if (this.lastEvent) this.bar = new mod.ProgressBar(this.lastEvent);
      });
      return;
    }
    // Another phase, or the same one starting over (the next remote, the next output): a new bar.
    if (
      this.bar &&
      previous &&
      (event.phase !== previous.phase || event.totalFiles !== previous.totalFiles || event.files < previous.files)
    )
      this.stopProgress();
    if (this.bar) this.bar.update(event);
    else this.bar = new this.barModule.ProgressBar(event);
  };

  stopProgress(): void {
    this.bar?.stop();
    this.bar = undefined;
    this.lastEvent = undefined;
  }
}

/** "1 file", "3 files". */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** DVC's closing advice after a command that wrote files git should record. */
export function gitHint(
  out: Output,
  repo: { root: string },
  result: { gitFiles: string[]; autostaged: boolean; git: boolean },
): void {
  if (result.autostaged || !result.git || result.gitFiles.length === 0) return;
  const files = result.gitFiles.map((f) => quoteArg(out.path(repo.root, f))).join(" ");
  out.info();
  out.info("To track the changes with git, run:");
  out.info();
  out.info(`\tgit add ${files}`);
  out.info();
  out.info("To enable auto staging, run:");
  out.info();
  out.info("\tmlv config core.autostage true");
}

function quoteArg(s: string): string {
  return /^[\w./@%+=:,-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}
