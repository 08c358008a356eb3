import { type Command, Option } from "commander";
import { type GlobalOptions, Output } from "./output.js";

/** What every command is given: where its results go, and the exit code the process ends with. */
export interface Context {
  exitCode: number;
  output(options: GlobalOptions): Output;
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
export function createContext(program: Command): Context {
  return { exitCode: 0, output: (o) => new Output({ ...program.opts(), ...definedOnly(o) }) };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
