/**
 * The hostile inputs: repositories as a stranger could hand them over (or an unlucky user could
 * leave them), each with the commands to run on it. Every setup starts from the template of
 * `hostile.test.ts`: a committed repository with `data.txt` and `dir/` tracked and pushed, a
 * local remote at `../../remote` (relative to `.dvc/`), and watched folders around it.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { md5 } from "./check.js";
import { put, type Sandbox, seeded } from "./hostile.js";
import { sized } from "./mode.js";

export type Category = "pointers" | "manifests" | "pipelines" | "config" | "symlinks and names";

/** A command line (mlv's arguments, the same for DVC) or a step of the user's between commands. */
export type Step = string[] | { name: string; fn: (s: Sandbox) => void };

export interface Case {
  category: Category;
  name: string;
  /** The stranger's repository: what is committed (unless `commit` is false). */
  setup: (s: Sandbox) => void;
  /** What the user made after cloning: files written after the commit. */
  late?: (s: Sandbox) => void;
  steps: Step[];
  /** A failing command must name one of these (the file at fault). */
  names: string[];
  /** Commands (arguments joined by spaces) that must fail: exit 0 would mean a silent wrong result. */
  refuse?: string[];
  /** Output that would mislead the user (a message blaming the wrong thing). */
  misleading?: RegExp;
  /** Every command must succeed: the input is odd but valid. */
  mustSucceed?: boolean;
  /** Workspace files that must hold these bytes at the end (when every command succeeded). */
  expect?: Record<string, string | Buffer>;
  /** Repository files (besides precious.txt) that must still be there, unchanged, at the end. */
  keep?: string[];
  /** Commit the hostile files as a stranger's repository would have them (default true). */
  commit?: boolean;
}

/** What the template tracks. */
export const DATA = "hello data\n";
export const DATA_MD5 = md5(DATA);
export const DIR_FILES: Record<string, string> = { "dir/a.txt": "file a\n", "dir/sub/b.txt": "file b\n" };
export const PRECIOUS = "precious.txt";
/** A git hook and a DVC config an attacker would like to see written. */
export const HOOK = '#!/bin/sh\ntouch "$HOME/pwned"\n';
export const EVIL_CONFIG = "[core]\n    remote = evil\n['remote \"evil\"']\n    url = /nonexistent\n";

const objectPath = (root: string, hash: string) => join(root, "files", "md5", hash.slice(0, 2), hash.slice(2));

/** Store `data` as an object of the cache and of the remote under its md5 (or under `name`, `.dir` included). */
export function plant(s: Sandbox, data: string | Buffer, name = md5(data)): string {
  for (const root of [join(s.repo, ".dvc", "cache"), s.remote]) put(objectPath(root, name), data);
  return name;
}

/** A one-out pointer file, its path written as a YAML double-quoted string. */
function pointer(path: string, hash = DATA_MD5, size: number | string = DATA.length, extra = ""): string {
  return `outs:\n- md5: ${hash}\n  size: ${size}\n  hash: md5\n  path: ${JSON.stringify(path)}\n${extra}`;
}

const evil = (s: Sandbox, text: string | Buffer) => put(join(s.repo, "evil.dvc"), text);

/** An alias bomb: nine levels of nine references, 9^9 strings once expanded. */
function aliasBomb(indent: string): string {
  const names = "abcdefghi";
  const lines = [`${indent}a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]`];
  for (let i = 1; i < names.length; i++) {
    const prev = names[i - 1];
    lines.push(`${indent}${names[i]}: &${names[i]} [${Array(9).fill(`*${prev}`).join(",")}]`);
  }
  return `${lines.join("\n")}\n`;
}

const FIFTY_MB = 50 * 1024 * 1024;

// ---- pointers ----

/**
 * The commands of a pointer case: the short run keeps those that read every pointer and write
 * (status, checkout -f, pull, gc), the full run adds push, diff, `extra` and, last, remove.
 */
function pointerSteps(extra: Step[] = []): Step[] {
  const core: Step[] = [["status"], ["checkout", "-f"], ["pull"], ["gc", "-w", "-f"]];
  return sized(core, [...core, ["push"], ["diff"], ...extra, ["remove", "evil.dvc"]]);
}
const WRITES = ["checkout -f", "pull"];

function pointerCase(name: string, setup: (s: Sandbox) => void, more: Partial<Case> = {}): Case {
  return { category: "pointers", name, setup, steps: pointerSteps(), names: ["evil.dvc"], ...more };
}

const pointers: Case[] = [
  pointerCase("path ../../outside", (s) => evil(s, pointer("../../outside/victim.txt")), {
    refuse: WRITES,
    steps: pointerSteps([["fetch"], ["list", "."]]),
  }),
  pointerCase("absolute path", (s) => evil(s, pointer(join(s.outside, "victim.txt"))), { refuse: WRITES }),
  pointerCase("wdir ../..", (s) => evil(s, `wdir: ../..\n${pointer("outside/victim.txt")}`), { refuse: WRITES }),
  pointerCase("path ../ in the middle", (s) => evil(s, pointer("dir/../../outside/victim.txt")), { refuse: WRITES }),
  pointerCase("path ~/.bashrc", (s) => evil(s, pointer("~/.bashrc")), {}),
  pointerCase(
    "path .git/hooks/post-checkout, isexec",
    (s) => evil(s, pointer(".git/hooks/post-checkout", plant(s, HOOK), HOOK.length, "  isexec: true\n")),
    { refuse: WRITES },
  ),
  pointerCase("path .dvc/config", (s) => evil(s, pointer(".dvc/config", plant(s, EVIL_CONFIG), EVIL_CONFIG.length)), {
    refuse: WRITES,
  }),
  pointerCase("path .git", (s) => evil(s, pointer(".git")), { refuse: WRITES }),
  pointerCase(
    "path into a nested .git",
    (s) => evil(s, pointer("sub/.git/config", plant(s, '[core]\n\tfsmonitor = touch "$HOME/pwned"\n'))),
    { refuse: WRITES },
  ),
  pointerCase("empty path", (s) => evil(s, pointer("")), { refuse: WRITES }),
  pointerCase("path . (the repository)", (s) => evil(s, pointer(".")), { refuse: WRITES }),
  pointerCase("path is the pointer itself", (s) => evil(s, pointer("evil.dvc")), { refuse: WRITES }),
  pointerCase("NUL in path", (s) => evil(s, pointer("a\u0000b")), { refuse: WRITES }),
  pointerCase("newline in path", (s) => evil(s, pointer("a\nb.txt")), {}),
  pointerCase("backslashes in path", (s) => evil(s, pointer("..\\..\\outside\\victim.txt")), {}),
  pointerCase("md5 of the wrong length", (s) => evil(s, pointer("w.txt", "abc123")), { refuse: WRITES }),
  pointerCase("md5 not hex", (s) => evil(s, pointer("w.txt", "z".repeat(32))), { refuse: WRITES }),
  pointerCase("md5 ../../etc", (s) => evil(s, pointer("w.txt", "../../etc")), {
    refuse: WRITES,
    steps: pointerSteps([["fetch"]]),
  }),
  pointerCase("md5 a path of 32 characters", (s) => evil(s, pointer("w.txt", "../../../../outside/victim.txt..")), {
    refuse: WRITES,
  }),
  pointerCase("negative size", (s) => evil(s, pointer("w.txt", DATA_MD5, -5)), {}),
  pointerCase("huge size", (s) => evil(s, pointer("w.txt", DATA_MD5, "99999999999999999999999999")), {}),
  pointerCase("YAML alias bomb in meta", (s) => evil(s, `${pointer("w.txt")}meta:\n${aliasBomb("  ")}`), {
    steps: pointerSteps([["list", "."], ["dag"]]),
  }),
  pointerCase(
    "50 MB of nested lists",
    (s) => evil(s, `${pointer("w.txt")}meta: ${"[".repeat(FIFTY_MB / 2)}${"]".repeat(FIFTY_MB / 2)}\n`),
    { commit: false, steps: [["status"], ["checkout", "-f"], ["gc", "-w", "-f"]] },
  ),
  pointerCase("50 MB flat list", (s) => evil(s, `${pointer("w.txt")}meta:\n${"- 1\n".repeat(FIFTY_MB / 4)}`), {
    commit: false,
    steps: [["status"], ["checkout", "-f"], ["gc", "-w", "-f"]],
  }),
  pointerCase("invalid YAML", (s) => evil(s, "outs: [\n- path: {\n  md5: ]]\n"), { refuse: WRITES }),
  pointerCase("top level is a list", (s) => evil(s, "- outs\n- path: w.txt\n"), { refuse: WRITES }),
  pointerCase("empty file", (s) => evil(s, ""), {}),
  pointerCase(
    "duplicate keys",
    (s) => evil(s, `outs:\n- md5: ${DATA_MD5}\n  md5: ${md5("other")}\n  size: 11\n  path: w.txt\n  path: w2.txt\n`),
    {},
  ),
  pointerCase(
    "unknown keys",
    (s) => evil(s, `evil: true\n${pointer("w.txt", DATA_MD5, DATA.length, "  sneaky: 1\n")}`),
    {
      expect: { "w.txt": DATA },
    },
  ),
  pointerCase("outs not a list", (s) => evil(s, `outs:\n  md5: ${DATA_MD5}\n  path: w.txt\n`), { refuse: WRITES }),
  pointerCase(
    "wrong types",
    (s) => evil(s, "outs:\n- null\n- path: 5\n  md5: [1, 2]\n  size: big\n- path: {a: 1}\n  md5: {b: 2}\n"),
    { refuse: WRITES },
  ),
  pointerCase(
    "a YAML tag that runs code in unsafe loaders",
    (s) => evil(s, `outs: !!python/object/apply:os.system ["touch ${join(s.outside, "pwned")}"]\n`),
    { refuse: WRITES },
  ),
  pointerCase("binary garbage", (s) => evil(s, garbage(4096, "pointer")), { refuse: WRITES }),
  pointerCase("byte order mark", (s) => evil(s, `\uFEFF${pointer("w.txt")}`), { expect: { "w.txt": DATA } }),
  pointerCase("CRLF line ends", (s) => evil(s, pointer("w.txt").replaceAll("\n", "\r\n")), {
    expect: { "w.txt": DATA },
  }),
  pointerCase("overlaps a tracked folder", (s) => evil(s, pointer("dir/a.txt")), {}),
];

/** The suite's seed: hostile bytes depend on it and on the case, not on the order cases run in. */
let seed = 0;
export function useSeed(value: number): void {
  seed = value;
}
function garbage(n: number, label: string): Buffer {
  const random = seeded(seed ^ Number.parseInt(md5(label).slice(0, 8), 16));
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(random() * 256);
  return b;
}

// ---- .dir manifests ----

/** Store a listing (JSON of `entries`, or raw text) as a `.dir` object and point `mfolder.dvc` at it. */
function manifest(s: Sandbox, entries: unknown, name?: string): string {
  const text = typeof entries === "string" ? entries : JSON.stringify(entries);
  const hash = name ?? md5(text);
  plant(s, text, `${hash}.dir`);
  put(
    join(s.repo, "mfolder.dvc"),
    `outs:\n- md5: ${hash}.dir\n  size: 11\n  nfiles: 1\n  hash: md5\n  path: mfolder\n`,
  );
  return hash;
}
const entry = (relpath: string, hash = DATA_MD5) => ({ md5: hash, relpath });

const MANIFEST_CORE: Step[] = [["status"], ["checkout", "-f"], ["pull"], ["gc", "-w", "-f"]];
const MANIFEST_STEPS: Step[] = sized(MANIFEST_CORE, [...MANIFEST_CORE, ["diff"], ["list", "-R", "."]]);

function manifestCase(name: string, entries: (s: Sandbox) => unknown, more: Partial<Case> = {}): Case {
  return {
    category: "manifests",
    name,
    setup: (s) => {
      manifest(s, entries(s));
    },
    steps: MANIFEST_STEPS,
    names: ["mfolder", ".dir"],
    ...more,
  };
}

const manifests: Case[] = [
  manifestCase("relpath ../../outside", () => [entry("ok.txt"), entry("../../outside/victim.txt")], {
    refuse: WRITES,
  }),
  manifestCase("absolute relpath", (s) => [entry(join(s.outside, "victim.txt"))], { refuse: WRITES }),
  manifestCase("relpath ../.git/hooks/post-checkout", (s) => [entry("../.git/hooks/post-checkout", plant(s, HOOK))], {
    refuse: WRITES,
  }),
  manifestCase("relpath ../.dvc/config", (s) => [entry("../.dvc/config", plant(s, EVIL_CONFIG))], { refuse: WRITES }),
  // Git refuses '.git' in a tree: a folder holding .git/HEAD, config, objects and refs is a
  // repository whose config (core.fsmonitor) git runs when someone works inside that folder.
  manifestCase(
    "a .git repository inside the folder",
    (s) => [
      entry(".git/HEAD", plant(s, "ref: refs/heads/main\n")),
      entry(".git/config", plant(s, '[core]\n\tfsmonitor = touch "$HOME/pwned"\n')),
      entry(".git/objects/info/packs", plant(s, "\n")),
      entry(".git/refs/heads/main", plant(s, "0".repeat(40))),
      entry(".git/hooks/post-checkout", plant(s, HOOK)),
    ],
    { refuse: WRITES },
  ),
  manifestCase("NUL in relpath", () => [entry("a\u0000b")], { refuse: WRITES }),
  manifestCase("empty and '.' relpaths", () => [entry(""), entry(".")], { refuse: WRITES }),
  manifestCase("duplicate relpaths", (s) => [entry("same.txt"), entry("same.txt", plant(s, HOOK))], {}),
  manifestCase("a file and a folder of the same name", () => [entry("x"), entry("x/y")], { refuse: WRITES }),
  manifestCase("not JSON", () => "this is { not json", { refuse: WRITES }),
  manifestCase("not a list", () => ({ relpath: "a", md5: DATA_MD5 }), { refuse: WRITES }),
  manifestCase("entries of the wrong types", () => [null, 5, { relpath: 7, md5: [] }, { md5: DATA_MD5 }], {
    refuse: WRITES,
  }),
  manifestCase("md5 of the wrong form", () => [entry("a.txt", "../../../../outside/victim"), entry("b.txt", "12")], {
    refuse: WRITES,
  }),
  manifestCase(
    "huge list",
    () => {
      const missing = md5("never stored");
      const n = sized(200_000, 1_000_000);
      const out = new Array(n);
      for (let i = 0; i < n; i++) out[i] = entry(`f${i}`, missing);
      return out;
    },
    { refuse: WRITES, commit: false, steps: [["status"], ["checkout", "-f"], ["gc", "-w", "-f"]] },
  ),
  {
    // A listing cannot hold its own md5: the cache object is stored under a name its bytes do not
    // hash to, as a corrupted or malicious cache would, so that it lists itself.
    category: "manifests",
    name: "a listing that lists itself",
    setup: (s) => {
      const name = md5("self");
      manifest(s, [entry("loop", `${name}.dir`), entry("ok.txt")], name);
    },
    steps: MANIFEST_STEPS,
    names: ["mfolder", ".dir"],
    refuse: WRITES,
  },
];

// ---- dvc.yaml and dvc.lock ----

const PIPELINE_CORE: Step[] = [["status"], ["dag"], ["checkout", "-f"], ["pull"]];
const PIPELINE_STEPS: Step[] = sized(PIPELINE_CORE, [
  ...PIPELINE_CORE,
  ["params", "diff"],
  ["metrics", "show"],
  ["gc", "-w", "-f"],
]);
/** For the cases about params and metrics files, which the short run reads too. */
const PARAMS_STEPS: Step[] = sized([...PIPELINE_CORE, ["params", "diff"], ["metrics", "show"]], PIPELINE_STEPS);

function lock(stage: string, outPath: string, hash = DATA_MD5, size = DATA.length): string {
  return (
    `schema: '2.0'\nstages:\n  ${JSON.stringify(stage)}:\n    cmd: echo\n    outs:\n` +
    `    - path: ${JSON.stringify(outPath)}\n      hash: md5\n      md5: ${hash}\n      size: ${size}\n`
  );
}

function pipelineCase(
  name: string,
  yaml: (s: Sandbox) => string,
  lockText?: (s: Sandbox) => string,
  more: Partial<Case> = {},
): Case {
  return {
    category: "pipelines",
    name,
    setup: (s) => {
      put(join(s.repo, "dvc.yaml"), yaml(s));
      if (lockText) put(join(s.repo, "dvc.lock"), lockText(s));
    },
    steps: PIPELINE_STEPS,
    names: ["dvc.yaml", "dvc.lock"],
    ...more,
  };
}

const stageWithOut = (out: string, extra = "") =>
  `stages:\n  s:\n    cmd: echo\n${extra}    outs:\n    - ${JSON.stringify(out)}\n`;

const pipelines: Case[] = [
  pipelineCase(
    "outs escaping the repository",
    () => stageWithOut("../../outside/victim.txt"),
    () => lock("s", "../../outside/victim.txt"),
    { refuse: WRITES },
  ),
  pipelineCase(
    "wdir escaping the repository",
    () => stageWithOut("outside/victim.txt", "    wdir: ../..\n"),
    () => lock("s", "outside/victim.txt"),
    { refuse: WRITES },
  ),
  pipelineCase(
    "outs absolute (plots)",
    (s) => `stages:\n  s:\n    cmd: echo\n    plots:\n    - ${JSON.stringify(join(s.outside, "plot.csv"))}\n`,
    (s) => lock("s", join(s.outside, "plot.csv")).replace("outs:", "outs:"),
    { refuse: WRITES },
  ),
  pipelineCase(
    "outs into .git",
    () => stageWithOut(".git/hooks/post-checkout"),
    (s) => lock("s", ".git/hooks/post-checkout", plant(s, HOOK), HOOK.length),
    { refuse: WRITES },
  ),
  pipelineCase(
    "outs into .dvc",
    () => stageWithOut(".dvc/config"),
    (s) => lock("s", ".dvc/config", plant(s, EVIL_CONFIG), EVIL_CONFIG.length),
    { refuse: WRITES },
  ),
  pipelineCase(
    "lock out escaping, dvc.yaml out inside",
    () => stageWithOut("data2.txt"),
    () => lock("s", "../../outside/victim.txt"),
  ),
  pipelineCase(
    "foreach keys that climb out",
    () =>
      `stages:\n  s:\n    foreach:\n      "../../outside/victim": 1\n    do:\n      cmd: echo \${item}\n      outs:\n      - \${key}.txt\n`,
    () => lock("s@../../outside/victim", "../../outside/victim.txt"),
    { refuse: WRITES },
  ),
  pipelineCase(
    "lock md5 ../../x",
    () => stageWithOut("data2.txt"),
    () => lock("s", "data2.txt", "../../x"),
    {
      refuse: WRITES,
    },
  ),
  pipelineCase(
    "lock stage not in dvc.yaml",
    () => stageWithOut("data2.txt"),
    () => `${lock("s", "data2.txt")}${lock("ghost", "../../outside/victim.txt").split("stages:\n")[1]}`,
  ),
  pipelineCase("alias bomb", () => `vars:\n- ${aliasBomb("  ").trimStart()}stages:\n  s:\n    cmd: echo \${a}\n`),
  pipelineCase(
    "1 M levels of nesting",
    () => `stages:\n  s:\n    cmd: echo\n    meta: ${"[".repeat(1e6)}${"]".repeat(1e6)}\n`,
  ),
  pipelineCase(
    "interpolation loop",
    () => `vars:\n- a: \${b}\n  b: \${a}\n  c: \${c}\${c}\nstages:\n  s:\n    cmd: echo \${a} \${c}\n`,
  ),
  pipelineCase(
    "params.yaml that refers to itself",
    () => `stages:\n  s:\n    cmd: echo \${p}\n    params:\n    - p\n`,
    undefined,
    {
      setup: (s) => {
        put(join(s.repo, "dvc.yaml"), `stages:\n  s:\n    cmd: echo \${p}\n    params:\n    - p\n`);
        put(join(s.repo, "params.yaml"), `p: \${p}\nq: &q [1]\nr: ${aliasBomb("").replaceAll("\n", " ")}\n`);
      },
      names: ["dvc.yaml", "params.yaml"],
      steps: PARAMS_STEPS,
    },
  ),
  pipelineCase(
    "foreach over a million items",
    () =>
      `stages:\n  s:\n    foreach: [${Array.from({ length: 1e6 }, (_, i) => i).join(",")}]\n    do:\n      cmd: echo \${item}\n`,
    undefined,
    { commit: false },
  ),
  pipelineCase(
    "wrong types in dvc.yaml",
    () =>
      "stages:\n  s:\n    cmd: [1, 2]\n    deps: x\n    outs: {a: 1}\n    params: 5\n  t: 7\n  u:\n    outs: [null, 5]\n",
  ),
  pipelineCase("stages is a list", () => "stages:\n- s\n- cmd: echo\n"),
  pipelineCase("invalid YAML", () => "stages:\n  s: [\n    cmd: {echo\n"),
  pipelineCase("top level is a list", () => "- stages\n- s\n"),
  pipelineCase(
    "wrong types in dvc.lock",
    () => stageWithOut("data2.txt"),
    () => "schema: 9\nstages:\n  s: [1]\n  t:\n    outs: 5\n",
  ),
  pipelineCase(
    "dvc.lock is not YAML",
    () => stageWithOut("data2.txt"),
    () => garbage(2048, "lock").toString("latin1"),
  ),
  pipelineCase(
    "params file outside the repository",
    () => "stages:\n  s:\n    cmd: echo\n    params:\n    - ../../outside/victim.yaml:\n      - a\n",
    undefined,
    { names: ["dvc.yaml", "victim.yaml"], steps: PARAMS_STEPS },
  ),
  pipelineCase(
    "metrics outside the repository",
    () => "stages:\n  s:\n    cmd: echo\n    metrics:\n    - ../../outside/victim.json:\n        cache: false\n",
    undefined,
    { names: ["dvc.yaml", "victim.json"], steps: PARAMS_STEPS },
  ),
  pipelineCase(
    "stage name that is a path",
    () => 'stages:\n  "../../outside/x":\n    cmd: echo\n    outs:\n    - data2.txt\n',
    () => lock("../../outside/x", "data2.txt"),
  ),
];

// ---- config ----

const CONFIG_CORE: Step[] = [["status"], ["push"], ["pull"], ["checkout", "-f"]];
const CONFIG_STEPS: Step[] = sized(CONFIG_CORE, [...CONFIG_CORE, ["fetch"], ["gc", "-w", "-f"]]);
const TEMPLATE_CONFIG = "[core]\n    remote = storage\n['remote \"storage\"']\n    url = ../../remote\n";

function configCase(name: string, text: string | Buffer | ((s: Sandbox) => string), more: Partial<Case> = {}): Case {
  return {
    category: "config",
    name,
    setup: (s) => put(join(s.repo, ".dvc", "config"), typeof text === "function" ? text(s) : text),
    steps: CONFIG_STEPS,
    names: ["config", "'storage'"],
    ...more,
  };
}

const configs: Case[] = [
  configCase("unknown section", `${TEMPLATE_CONFIG}[evil]\n    foo = bar\n`),
  configCase("jobs = -5", `${TEMPLATE_CONFIG}    jobs = -5\n`),
  configCase("jobs = abc", `${TEMPLATE_CONFIG}    jobs = abc\n`),
  configCase("cache.type bogus", `${TEMPLATE_CONFIG}[cache]\n    type = teleport\n`, {
    setup: (s) => {
      put(join(s.repo, ".dvc", "config"), `${TEMPLATE_CONFIG}[cache]\n    type = teleport\n`);
      rmSync(join(s.repo, "data.txt"));
    },
  }),
  configCase(
    "remote url remote://self",
    "[core]\n    remote = storage\n['remote \"storage\"']\n    url = remote://storage/x\n",
  ),
  configCase(
    "remotes that refer to each other",
    "[core]\n    remote = a\n['remote \"a\"']\n    url = remote://b/x\n['remote \"b\"']\n    url = remote://a/y\n",
    { names: ["config", "'a'", "'b'"] },
  ),
  configCase("cache.dir inside .git", `${TEMPLATE_CONFIG}[cache]\n    dir = ../.git/mlv-cache\n`, {
    steps: [...CONFIG_STEPS, ["add", "new.txt"]],
    late: (s) => put(join(s.repo, "new.txt"), "new\n"),
  }),
  configCase("cache.dir is a file", `${TEMPLATE_CONFIG}[cache]\n    dir = config\n`, {
    steps: [...CONFIG_STEPS, ["add", "new.txt"]],
    names: ["cache.dir", "cache folder", "cache directory"],
    late: (s) => put(join(s.repo, "new.txt"), "new\n"),
  }),
  configCase(
    "the remote is a file",
    "[core]\n    remote = storage\n['remote \"storage\"']\n    url = ../../outside/victim.txt\n",
    {
      steps: [["push"], ["fetch"], ["status", "-c"], ["gc", "-w", "-c", "-f"]],
      names: ["config", "'storage'", "victim.txt"],
    },
  ),
  configCase(
    "non-UTF-8 bytes",
    Buffer.concat([Buffer.from("[core]\n    remote = stor"), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from("age\n")]),
  ),
  configCase("core.remote that does not exist", "[core]\n    remote = nowhere\n", { names: ["config", "nowhere"] }),
  configCase("invalid INI", '[core\n    remote = storage\n= = =\n[\'remote "storage"\n'),
  configCase("remote without a url", "[core]\n    remote = storage\n['remote \"storage\"']\n    jobs = 2\n"),
  configCase("empty remote url", "[core]\n    remote = storage\n['remote \"storage\"']\n    url =\n"),
  configCase(
    "wrong types in core",
    `${TEMPLATE_CONFIG.replace("[core]\n", "[core]\n    autostage = maybe\n    no_scm = 7\n    hardlink_lock = [x]\n")}`,
    {
      steps: [...CONFIG_STEPS, ["add", "new.txt"]],
      late: (s) => put(join(s.repo, "new.txt"), "new\n"),
    },
  ),
];

// ---- symlinks and names ----

const ln = (target: string, path: string) => {
  rmSync(path, { recursive: true, force: true });
  symlinkSync(target, path);
};
const mkfifo = (path: string) => {
  rmSync(path, { recursive: true, force: true });
  execFileSync("mkfifo", [path]);
};
const LONG = "n".repeat(255);
const ODD_NAMES = [
  "a\nb",
  "back\\slash",
  "star*",
  "[x]",
  " lead",
  "trail ",
  "e\u0301",
  "-rf",
  'quote"',
  "tab\tx",
  ".hidden",
];

/** The workspace as the user left it after cloning (written after the commit, so not tracked by git). */
function linkCase(name: string, late: (s: Sandbox) => void, steps: Step[], more: Partial<Case> = {}): Case {
  return { category: "symlinks and names", name, setup: () => {}, late, steps, names: [], ...more };
}
const rmStep = (rel: string): Step => ({
  name: `rm -rf ${rel}`,
  fn: (s) => rmSync(join(s.repo, rel), { recursive: true, force: true }),
});

const links: Case[] = [
  linkCase(
    "tracked folder is a symlink to an outside folder",
    (s) => ln(join(s.outside, "dir"), join(s.repo, "dir")),
    [["status"], ["checkout"], ["checkout", "-f"], ["pull"], ["add", "dir"]],
    { names: ["dir"] },
  ),
  linkCase(
    "a subfolder of a tracked folder is a symlink to outside",
    (s) => ln("../../outside/deep", join(s.repo, "dir", "sub")),
    [["status"], ["checkout", "-f"], ["pull"]],
    { names: ["dir"] },
  ),
  linkCase(
    "parent folder is a symlink to outside",
    (s) => {
      put(join(s.repo, "nested.dvc"), pointer("sub/file.txt"));
      ln("../outside/deep", join(s.repo, "sub"));
    },
    [["status"], ["checkout", "-f"], ["pull"], ["remove", "nested.dvc"]],
    { names: ["sub", "nested.dvc"] },
  ),
  linkCase(
    "'..' after a symlink",
    (s) => {
      put(join(s.repo, "via.dvc"), pointer("link/../victim.txt"));
      ln("../outside/deep", join(s.repo, "link"));
    },
    [["status"], ["checkout", "-f"], ["pull"], ["remove", "via.dvc"]],
    { names: ["link", "via.dvc"] },
  ),
  linkCase(
    "tracked file is a symlink to an outside file",
    (s) => ln("../outside/victim.txt", join(s.repo, "data.txt")),
    [["status"], ["checkout", "-f"], ["pull"], ["add", "data.txt"]],
    { names: ["data.txt"] },
  ),
  linkCase(
    "tracked file is a dangling symlink to outside",
    (s) => ln("../outside/nothing-here.txt", join(s.repo, "data.txt")),
    [["status"], ["checkout", "-f"], ["pull"]],
    { names: ["data.txt"] },
  ),
  linkCase(
    ".gitignore is a symlink to an outside file",
    (s) => {
      ln("../outside/gitignore", join(s.repo, ".gitignore"));
      put(join(s.repo, "new.txt"), "new\n");
    },
    [
      ["add", "new.txt"],
      ["remove", "new.txt.dvc"],
      ["add", "new.txt"],
    ],
    { names: [".gitignore", "new.txt"] },
  ),
  linkCase(
    "the pointer to write is a symlink to an outside file",
    (s) => {
      put(join(s.repo, "new.txt"), "new\n");
      ln("../outside/victim.txt", join(s.repo, "new.txt.dvc"));
    },
    [["add", "new.txt"], ["status"]],
    { names: ["new.txt"] },
  ),
  {
    category: "symlinks and names",
    name: ".dvc/tmp committed as a symlink to outside",
    setup: (s) => {
      rmSync(join(s.repo, ".dvc", "tmp"), { recursive: true, force: true });
      mkdirSync(join(s.near, "state"));
      symlinkSync("../../outside/state", join(s.repo, ".dvc", "tmp"));
      execFileSync("git", ["add", "-f", ".dvc/tmp"], { cwd: s.repo });
    },
    late: (s) => put(join(s.repo, "new.txt"), "new\n"),
    steps: [["status"], ["add", "new.txt"], ["checkout", "-f"], ["gc", "-w", "-f"]],
    names: [".dvc/tmp", "tmp"],
  },
  linkCase(
    "symlink loops in a folder being added",
    (s) => {
      put(join(s.repo, "new", "ok.txt"), "ok\n");
      symlinkSync("loop", join(s.repo, "new", "loop"));
      symlinkSync("b", join(s.repo, "new", "a"));
      symlinkSync("a", join(s.repo, "new", "b"));
    },
    [["add", "new"], ["status"], ["checkout", "-f"]],
    { names: ["new", "loop"] },
  ),
  linkCase(
    "a folder being added holds a symlink to outside",
    (s) => {
      put(join(s.repo, "new", "ok.txt"), "ok\n");
      symlinkSync("../../outside", join(s.repo, "new", "link"));
    },
    [["add", "new"], ["status"], ["checkout", "-f"], rmStep("new"), ["checkout", "-f"]],
    { names: ["new", "link"] },
  ),
  linkCase("255-byte file name, added as a file", (s) => put(join(s.repo, LONG), DATA), [["add", LONG], ["status"]], {
    names: [LONG.slice(0, 40)],
    keep: [LONG],
  }),
  linkCase(
    "255-byte file name in a tracked folder",
    (s) => {
      put(join(s.repo, "new", LONG), "long\n");
      put(join(s.repo, "new", "ok.txt"), "ok\n");
    },
    [["add", "new"], rmStep("new"), ["checkout", "new.dvc"], ["status"]],
    { names: ["new"], mustSucceed: true, expect: { [`new/${LONG}`]: "long\n", "new/ok.txt": "ok\n" } },
  ),
  linkCase(
    "odd file names in a tracked folder",
    (s) => {
      for (const n of ODD_NAMES) put(join(s.repo, "new", n), `${n}\n`);
    },
    [["add", "new"], rmStep("new"), ["checkout", "new.dvc"], ["status"], ["push"], rmStep("new"), ["pull"]],
    { names: ["new"], mustSucceed: true, expect: Object.fromEntries(ODD_NAMES.map((n) => [`new/${n}`, `${n}\n`])) },
  ),
  linkCase(
    "user files named like mlv's and DVC's temporary files",
    (s) => {
      put(join(s.repo, "new", ".mlv-99999-abcdef.tmp"), "mine\n");
      put(join(s.repo, "new", "real.txt"), "real\n");
      put(join(s.repo, ".mlv-1-x.tmp"), "mine too\n");
      put(join(s.repo, "report.0123456789abcdef.tmp"), "and mine\n");
    },
    [["add", "new"], ["status"], ["checkout"], ["gc", "-w", "-f"], ["add", "new"]],
    { names: ["new"], keep: ["new/.mlv-99999-abcdef.tmp", ".mlv-1-x.tmp", "report.0123456789abcdef.tmp"] },
  ),
  linkCase(
    ".dvcignore with exponential patterns",
    (s) => {
      put(join(s.repo, ".dvcignore"), `${"**/".repeat(40)}x\n${"*a".repeat(60)}b\n${"{a,b}".repeat(30)}\n`);
      put(join(s.repo, "new", ...Array(30).fill("a"), `${"a".repeat(200)}c`), "deep\n");
    },
    [["add", "new"], ["status"], ["checkout", "-f"]],
    { names: [".dvcignore", "new"] },
  ),
  linkCase(
    ".dvcignore with odd patterns",
    (s) => {
      put(join(s.repo, ".dvcignore"), "[\n\\\n!\n/\n..\n../outside\n*.dvc\n!*.dvc\n**\n!dir\n");
      put(join(s.repo, "new", "ok.txt"), "ok\n");
    },
    [["status"], ["add", "new"], ["checkout", "-f"]],
    { names: [".dvcignore", "new"], misleading: /does not exist/ },
  ),
  linkCase(
    "tracked file is a FIFO",
    (s) => mkfifo(join(s.repo, "data.txt")),
    [["status"], ["diff"], ["checkout"], ["add", "data.txt"], ["checkout", "-f"]],
    { names: ["data.txt"] },
  ),
  linkCase(
    "a pointer file is a FIFO",
    (s) => mkfifo(join(s.repo, "evil.dvc")),
    [["status"], ["checkout", "-f"], ["gc", "-w", "-f"], ["diff"], ["dag"]],
    { names: ["evil.dvc"] },
  ),
  linkCase(
    "a folder where a tracked file should be",
    (s) => {
      rmSync(join(s.repo, "data.txt"));
      put(join(s.repo, "data.txt", "user.txt"), "user data\n");
    },
    [["status"], ["checkout"], ["pull"], ["diff"]],
    { names: ["data.txt"], keep: ["data.txt/user.txt"] },
  ),
  linkCase(
    "a file where a tracked folder should be",
    (s) => {
      rmSync(join(s.repo, "dir"), { recursive: true });
      put(join(s.repo, "dir"), "user notes\n");
    },
    [["status"], ["checkout"], ["pull"], ["diff"]],
    { names: ["dir"], keep: ["dir"] },
  ),
  linkCase(
    "a file where a tracked subfolder should be",
    (s) => {
      rmSync(join(s.repo, "dir", "sub"), { recursive: true });
      put(join(s.repo, "dir", "sub"), "user notes\n");
    },
    [["status"], ["checkout"], ["diff"]],
    { names: ["dir"], keep: ["dir/sub"] },
  ),
];

export const CASES: readonly Case[] = [...pointers, ...manifests, ...pipelines, ...configs, ...links];
