import { type Command, Option } from "commander";
import { type GlobalOptions, Output } from "./output.js";

/** What every command is given: where its results go, and the exit code the process ends with. */
export interface Context {
  exitCode: number;
  output(options: GlobalOptions): Output;
  /**
   * Aborted on Ctrl-C (SIGINT) or SIGTERM. Reading it makes the CLI catch those signals: a command
   * that reads it passes it to core, which stops cleanly (no temporary file left on a remote).
   */
  readonly signal: AbortSignal;
}

/** Add -q/-v to a command, the same way everywhere. */
export function withGlobals(cmd: Command): Command {
  return cmd
    .addOption(new Option("-q, --quiet", "print nothing but errors"))
    .addOption(new Option("-v, --verbose", "print more detail"));
}

/**
 * The context of one run of `program`: -q/-v work before the command (`mlv -q status`) and after it
 * (`mlv status -q`), the command's own taking precedence.
 */
export function createContext(program: Command, interruption: { watch(): AbortSignal }): Context {
  return {
    exitCode: 0,
    output: (o) => new Output({ ...program.opts(), ...definedOnly(o) }),
    get signal() {
      return interruption.watch();
    },
  };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
