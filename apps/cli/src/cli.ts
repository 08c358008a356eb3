import { readFileSync } from "node:fs";
import { MlvError, translateFsError } from "@mlv/core";
import { Command, CommanderError } from "commander";
import * as commands from "./commands/index.js";
import { createContext, withGlobals } from "./context.js";
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
  const ctx = createContext(program);
  program
    .enablePositionalOptions()
    .description("Version machine-learning models and datasets next to git (DVC 3 repository format).")
    .version(version, "-V, --version", "print the version")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  for (const register of Object.values(commands)) register(program, ctx);
  for (const sub of program.commands) sub.exitOverride();
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help")
        return 0;
      return 2;
    }
    return report(err, argv.includes("-v") || argv.includes("--verbose"));
  }
  return ctx.exitCode;
}

/** Print an error the user can act on; exit 1 (2 for usage errors). */
function report(thrown: unknown, verbose: boolean): number {
  const out = new Output({});
  // A file-system error that reached here unexplained still gets its path and what to do.
  const fsPath = (thrown as NodeJS.ErrnoException | undefined)?.path;
  const err = typeof fsPath === "string" ? translateFsError(thrown, fsPath) : thrown;
  if (err instanceof MlvError) {
    out.error(err.message);
    if (verbose && err.cause) process.stderr.write(`caused by: ${String((err.cause as Error).stack ?? err.cause)}\n`);
    return err.exitCode;
  }
  const e = err as NodeJS.ErrnoException;
  out.error(`unexpected error: ${e?.message ?? String(err)}${e?.code ? ` (${e.code})` : ""}`);
  if (verbose && e?.stack) process.stderr.write(`${e.stack}\n`);
  return 1;
}
