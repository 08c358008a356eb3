/**
 * Running a stage's command the way DVC runs it (pipelines spec §5.5): one shell process per line
 * (a list gives one per item, a string is split like Python's `str.splitlines`), `$SHELL -c` with
 * the shell's no-startup-file flag, in the stage's working folder, the output streamed to the
 * terminal, `DVC_ROOT` and `DVC_STAGE` in the environment.
 */
import { spawn } from "node:child_process";
import { basename } from "node:path";
import { MlvError } from "../errors.js";

/** A command line that exited with a non-zero code (or was killed: the code is minus the signal's number). */
export class CommandFailedError extends MlvError {
  constructor(
    readonly line: string,
    readonly exitCode: number,
  ) {
    super("ECOMMAND", `failed to run: ${line}, exited with ${exitCode}`, { data: { line, exitCode } });
  }
}

// The line breaks Python's `str.splitlines` splits at: \r\n, \n, \r, \v, \f, \x1c-\x1e, \x85, \u2028, \u2029.
// biome-ignore lint/suspicious/noControlCharactersInRegex: \x1c-\x1e are line breaks to Python, so to DVC
const LINE_BREAK = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/;

/** The command lines of a stage, each run by its own shell. */
export function commandLines(cmd: string | readonly string[]): string[] {
  if (typeof cmd !== "string") return [...cmd];
  const lines = cmd.split(LINE_BREAK);
  // `splitlines` gives no empty last item for a trailing break.
  if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
  return cmd === "" ? [] : lines;
}

/** `$SHELL` (default /bin/sh) and the flags that keep it from reading the user's startup files. */
export function shellCommand(line: string, shell = process.env.SHELL || "/bin/sh"): [string, string[]] {
  const name = basename(shell);
  const flags =
    name === "bash"
      ? ["--noprofile", "--norc"]
      : name === "zsh"
        ? ["--no-rcs"]
        : name === "fish"
          ? ["--no-config"]
          : [];
  return [shell, [...flags, "-c", line]];
}

export interface RunCommandOptions {
  /** The stage's working folder (absolute). */
  cwd: string;
  /** The project root, exported as `DVC_ROOT` unless the environment already has it. */
  root: string;
  /** The stage as DVC addresses it from the current folder, exported as `DVC_STAGE`. */
  address: string;
  /** Told each line before it runs. */
  onLine?: (line: string) => void;
}

const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };

function runLine(line: string, options: RunCommandOptions, env: NodeJS.ProcessEnv): Promise<void> {
  const [shell, args] = shellCommand(line);
  return new Promise((resolve, reject) => {
    const child = spawn(shell, args, { cwd: options.cwd, env, stdio: "inherit" });
    // The child gets Ctrl-C from the terminal; mlv waits for it to finish and reports its exit.
    const ignore = () => {};
    process.on("SIGINT", ignore);
    const done = () => process.off("SIGINT", ignore);
    child.on("error", (err) => {
      done();
      reject(new MlvError("ECOMMAND", `failed to run: ${line}: cannot start ${shell}: ${err.message}`, { cause: err }));
    });
    child.on("close", (code, signal) => {
      done();
      const exit = code ?? -(SIGNAL_NUMBERS[signal ?? ""] ?? 1);
      if (exit === 0) resolve();
      else reject(new CommandFailedError(line, exit));
    });
  });
}

/** Run every line of `cmd` in turn; the first failing one rejects with CommandFailedError. */
export async function runStageCommand(cmd: string | readonly string[], options: RunCommandOptions): Promise<void> {
  const env: NodeJS.ProcessEnv = { ...process.env, DVC_STAGE: options.address };
  env.DVC_ROOT ??= options.root;
  for (const line of commandLines(cmd)) {
    options.onLine?.(line);
    await runLine(line, options, env);
  }
}
