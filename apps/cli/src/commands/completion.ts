import { UsageError } from "@mlv/core";
import type { Command, Option } from "commander";
import { type Context, withGlobals } from "../context.js";

export function register(program: Command, _ctx: Context): void {
  withGlobals(program.command("completion"))
    .description("Print a shell completion script (bash or zsh)")
    .option("-s, --shell <shell>", "bash or zsh", "bash")
    .addHelpText(
      "after",
      "\nExamples:\n  mlv completion >> ~/.bashrc                 # bash\n  mlv completion -s zsh >> ~/.zshrc            # zsh",
    )
    .action((opts: { shell: string; quiet?: boolean; verbose?: boolean }) => {
      if (opts.shell !== "bash" && opts.shell !== "zsh")
        throw new UsageError(`--shell takes bash or zsh, got '${opts.shell}'`);
      const script = bashScript(program);
      process.stdout.write(opts.shell === "zsh" ? `${ZSH_PRELUDE}${script}` : script);
    });
}

const ZSH_PRELUDE = "autoload -U +X compinit && compinit\nautoload -U +X bashcompinit && bashcompinit\n";

function flagsOf(cmd: Command): string[] {
  return cmd.options.flatMap((o: Option) => [o.short, o.long].filter((f): f is string => !!f));
}

function names(cmd: Command): string[] {
  return cmd.commands.flatMap((c) => [c.name(), ...c.aliases()]);
}

/**
 * A static script made from the command tree (so it never lags behind the commands): words per
 * command and subcommand, files for arguments, and the project's remotes after `-r`.
 */
function bashScript(program: Command): string {
  const cases: string[] = [];
  const table = (key: string, words: string[]) => cases.push(`    "${key}") words="${words.join(" ")}" ;;`);
  table(" ", [...names(program), ...flagsOf(program), "--help"]);
  for (const cmd of program.commands) {
    for (const name of [cmd.name(), ...cmd.aliases()]) {
      table(`${name} `, [...names(cmd), ...flagsOf(cmd), "--help"]);
      for (const sub of cmd.commands)
        for (const subName of [sub.name(), ...sub.aliases()]) table(`${name} ${subName}`, [...flagsOf(sub), "--help"]);
    }
  }
  const withSubcommands = program.commands.filter((c) => c.commands.length > 0).map((c) => c.name());
  return `# mlv completion for bash (and zsh through bashcompinit): add \`eval "$(mlv completion)"\` to ~/.bashrc
_mlv_complete() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  local cmd="" sub="" words="" i w
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ $w == -* ]] && continue
    if [[ -z $cmd ]]; then cmd=$w
    elif [[ -z $sub ]]; then
      case " ${withSubcommands.join(" ")} " in *" $cmd "*) sub=$w ;; esac
    fi
  done
  if [[ $prev == -r || $prev == --remote ]]; then
    COMPREPLY=($(compgen -W "$(mlv remote list 2>/dev/null | cut -f1)" -- "$cur"))
    return
  fi
  case "$cmd $sub" in
${cases.join("\n")}
    *) words="" ;;
  esac
  if [[ $cur == -* || ( -z $cmd ) || ( -z $sub && " ${withSubcommands.join(" ")} " == *" $cmd "* ) ]]; then
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -o default -F _mlv_complete mlv
`;
}
