import { readFileSync } from "node:fs";
import { MlvError, translateFsError } from "@mlv/core";
import { Command, CommanderError } from "commander";
import * as commands from "./commands/index.js";
import { createContext, withGlobals } from "./context.js";
import { addExamples } from "./examples.js";
import { Output } from "./output.js";
import { setPackageImporter } from "./remotes.js";

const version = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string })
  .version;

/** What the process running the CLI provides. */
export interface Host {
  /** `import()` of an adapter package, from the caller's module (the bundle itself cannot import()). */
  importPackage?: (name: string) => Promise<unknown>;
}

export async function main(argv: string[], host: Host = {}): Promise<number> {
  if (host.importPackage) setPackageImporter(host.importPackage);
  const program = withGlobals(new Command("mlv"));
  const interruption = new Interruption();
  const ctx = createContext(program, interruption);
  program
    .enablePositionalOptions()
    .description("Version machine-learning models and datasets next to git (DVC 3 repository format).")
    .version(version, "-V, --version", "print the version")
    .exitOverride()
    // Usage errors look like every other error: "ERROR: unknown option '--x'".
    .configureOutput({
      writeErr: (s) => process.stderr.write(s),
      outputError: (s, write) => write(s.replace(/^error: /, "ERROR: ")),
    });
  for (const register of Object.values(commands)) register(program, ctx);
  addExamples(program);
  forEachCommand(program, (cmd, path) => cmd.exitOverride().showHelpAfterError(`Run '${path} --help' for usage.`));
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help")
        return 0;
      return 2;
    }
    if (interruption.by) return interruption.report();
    return report(err, argv.includes("-v") || argv.includes("--verbose"));
  } finally {
    interruption.stop();
  }
  return ctx.exitCode;
}

function forEachCommand(cmd: Command, fn: (cmd: Command, path: string) => void, path = cmd.name()): void {
  fn(cmd, path);
  for (const sub of cmd.commands) forEachCommand(sub, fn, `${path} ${sub.name()}`);
}

/**
 * Ctrl-C (SIGINT) and SIGTERM, once a command takes `ctx.signal` (and so passes it to core): the
 * first aborts the operation through it (uploads under way remove their temporary objects), which
 * rejects, and the process exits 130 (143 for SIGTERM); a second one ends the process at once.
 * Commands that do not take it keep Node's default (and core's own handlers, e.g. the lock's).
 */
class Interruption {
  private readonly controller = new AbortController();
  private listening = false;
  by: NodeJS.Signals | undefined;

  private readonly onSignal = (sig: NodeJS.Signals) => {
    if (this.by !== undefined) process.exit(this.report());
    this.by = sig;
    this.controller.abort(new MlvError("EABORTED", `interrupted by ${sig}`, { data: { signal: sig } }));
  };

  /** The signal, for a command that passes it on. */
  watch(): AbortSignal {
    if (!this.listening) {
      this.listening = true;
      process.on("SIGINT", this.onSignal);
      process.on("SIGTERM", this.onSignal);
    }
    return this.controller.signal;
  }

  stop(): void {
    process.off("SIGINT", this.onSignal);
    process.off("SIGTERM", this.onSignal);
  }

  /** Say so in one line; the exit code of a process ended by the signal. */
  report(): number {
    new Output({}).error(
      `interrupted (${this.by === "SIGINT" ? "Ctrl-C" : this.by}): the command stopped before the end`,
    );
    return this.by === "SIGTERM" ? 143 : 130;
  }
}

/** Print an error the user can act on, then its hint; exit 1 (2 for usage errors). */
function report(thrown: unknown, verbose: boolean): number {
  const out = new Output({});
  // A file-system error that reached here unexplained still gets its path and what to do.
  const fsPath = (thrown as NodeJS.ErrnoException | undefined)?.path;
  const err = typeof fsPath === "string" ? translateFsError(thrown, fsPath) : thrown;
  if (err instanceof MlvError) {
    out.error(err.message);
    if (err.hint) process.stderr.write(`${err.hint}\n`);
    if (verbose && err.cause) process.stderr.write(`caused by: ${String((err.cause as Error).stack ?? err.cause)}\n`);
    return err.exitCode;
  }
  const e = err as NodeJS.ErrnoException;
  out.error(`unexpected error: ${e?.message ?? String(err)}${e?.code ? ` (${e.code})` : ""}`);
  if (verbose && e?.stack) process.stderr.write(`${e.stack}\n`);
  return 1;
}
