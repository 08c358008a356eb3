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
  private bar: import("cli-progress").SingleBar | undefined;
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

  /** Feed progress events; draws files and bytes on a terminal, nothing elsewhere. */
  progress = (event: ProgressEvent): void => {
    if (!this.showProgress) return;
    this.lastEvent = event;
    if (!this.bar) {
      this.barLoading ??= import("cli-progress").then((mod) => {
        const cp = ((mod as { default?: typeof mod }).default ?? mod) as typeof mod;
        this.bar = new cp.SingleBar(
          {
            format: "{phase} |{bar}| {value}/{total} files | {done} / {all}",
            hideCursor: true,
            clearOnComplete: true,
            stream: process.stderr,
          },
          cp.Presets.shades_classic,
        );
        const e = this.lastEvent!;
        this.bar?.start(e.totalFiles, e.files, this.payload(e));
      });
      return;
    }
    this.bar.setTotal(event.totalFiles);
    this.bar.update(event.files, this.payload(event));
  };

  private payload(e: ProgressEvent) {
    return { phase: e.phase, done: formatBytes(e.bytes), all: e.totalBytes ? formatBytes(e.totalBytes) : "?" };
  }

  stopProgress(): void {
    if (this.bar) {
      this.bar.stop();
      this.bar = undefined;
      this.barLoading = undefined;
    }
  }
}

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
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
