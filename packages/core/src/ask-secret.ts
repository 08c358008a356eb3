/** Asking for a remote's password or passphrase on the terminal (stderr), never echoing it: for adapters whose config sets `ask_password` or `ask_passphrase`. */
import { ConfigError } from "./errors.js";

/**
 * Ask for a secret when stdin is a terminal; otherwise throw a ConfigError that says which option
 * to set instead. `option` is `password` or `passphrase`.
 */
export async function askSecret(remote: string, option: string, prompt: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY || typeof stdin.setRawMode !== "function") {
    throw new ConfigError(
      `remote '${remote}': 'ask_${option}' is set but there is no terminal to ask on (stdin is not a TTY): ` +
        `store the ${option} in the remote's local config instead`,
      { remote, option },
      `Store it with 'mlv remote modify --local ${remote} ${option} VALUE', or run the command in a terminal.`,
    );
  }
  process.stderr.write(prompt);
  const wasRaw = stdin.isRaw;
  stdin.setRawMode(true);
  stdin.resume();
  try {
    return await new Promise<string>((resolve, reject) => {
      let value = "";
      const onData = (data: Buffer) => {
        for (const ch of data.toString("utf8")) {
          if (ch === "\r" || ch === "\n") {
            stdin.off("data", onData);
            process.stderr.write("\n");
            resolve(value);
            return;
          }
          if (ch === "\u0003" || ch === "\u0004") {
            stdin.off("data", onData);
            process.stderr.write("\n");
            reject(new ConfigError(`remote '${remote}': no ${option} given (interrupted)`, { remote, option }));
            return;
          }
          if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
          else value += ch;
        }
      };
      stdin.on("data", onData);
    });
  } finally {
    stdin.setRawMode(wasRaw);
    stdin.pause();
  }
}
