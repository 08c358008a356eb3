#!/usr/bin/env node
// The whole mlv workflow, end to end, in a temporary folder with a local remote:
// init, add a model and a data folder, push, commit, tag v1.0, change the model, tag v2.0,
// check out v1.0, pull, and show that the bytes are exactly v1.0's.
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const mlvBin = new URL("../apps/cli/dist/bin.cjs", import.meta.url).pathname;
const base = mkdtempSync(join(tmpdir(), "mlv-demo-"));
const repo = join(base, "project");
const storage = join(base, "storage");
mkdirSync(repo);
const env = {
  ...process.env,
  GIT_AUTHOR_NAME: "mlv demo",
  GIT_AUTHOR_EMAIL: "demo@example.invalid",
  GIT_COMMITTER_NAME: "mlv demo",
  GIT_COMMITTER_EMAIL: "demo@example.invalid",
  DVC_GLOBAL_CONFIG_DIR: join(base, "global-config"),
  DVC_SYSTEM_CONFIG_DIR: join(base, "system-config"),
};

function step(title) {
  process.stdout.write(`\n\x1b[1m== ${title}\x1b[0m\n`);
}
function sh(cmd, args, cwd = repo) {
  const shown = cmd === process.execPath ? ["mlv", ...args.slice(1)] : [cmd, ...args];
  process.stdout.write(`$ ${shown.join(" ")}\n`);
  const out = execFileSync(cmd, args, { cwd, env, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  if (out.trim()) process.stdout.write(`${out.trimEnd().replace(/^/gm, "  ")}\n`);
  return out;
}
const mlv = (...args) => sh(process.execPath, [mlvBin, ...args]);
const git = (...args) => sh("git", args);
const md5 = (p) =>
  createHash("md5")
    .update(readFileSync(join(repo, p)))
    .digest("hex");

try {
  step("a git repository with mlv in it, and a local folder as the remote storage");
  git("init", "-q", "-b", "main");
  mlv("init");
  mlv("remote", "add", "-d", "storage", storage);

  step("train: a model file and a data folder");
  writeFileSync(join(repo, "model.h5"), randomBytes(3 << 20));
  mkdirSync(join(repo, "data", "images"), { recursive: true });
  for (let i = 0; i < 20; i++) writeFileSync(join(repo, "data", "images", `img${i}.bin`), randomBytes(4096 + i));
  writeFileSync(join(repo, "data", "labels.csv"), "image,label\nimg0,cat\nimg1,dog\n");
  writeFileSync(join(repo, "metrics.json"), '{"accuracy": 0.81}\n');
  mlv("add", "model.h5", "data/");
  mlv("push");
  git("add", "model.h5.dvc", "data.dvc", ".gitignore", "metrics.json", ".dvc/config");
  git("commit", "-q", "-m", "model v1");
  git("tag", "v1.0");
  const v1 = { model: md5("model.h5"), labels: md5("data/labels.csv") };

  step("train again: the model changes, v2.0");
  writeFileSync(join(repo, "model.h5"), randomBytes(3 << 20));
  writeFileSync(join(repo, "metrics.json"), '{"accuracy": 0.87}\n');
  mlv("status");
  mlv("add", "model.h5");
  mlv("push");
  git("commit", "-q", "-am", "model v2");
  git("tag", "v2.0");
  const v2 = md5("model.h5");

  step("a teammate with an empty cache gets v1.0 back");
  rmSync(join(repo, ".dvc", "cache"), { recursive: true, force: true });
  rmSync(join(repo, "model.h5"));
  rmSync(join(repo, "data"), { recursive: true });
  git("checkout", "-q", "v1.0");
  mlv("pull");
  mlv("status");

  step("the bytes match v1.0");
  const got = { model: md5("model.h5"), labels: md5("data/labels.csv") };
  process.stdout.write(`model.h5  v1.0 ${v1.model}  now ${got.model}  (v2.0 was ${v2})\n`);
  process.stdout.write(`labels    v1.0 ${v1.labels}  now ${got.labels}\n`);
  if (got.model !== v1.model || got.labels !== v1.labels) {
    process.stderr.write("MISMATCH: the workspace does not hold v1.0\n");
    process.exitCode = 1;
  } else {
    process.stdout.write("OK: model.h5 and data/ are exactly v1.0\n");
  }
} finally {
  if (!process.env.MLV_DEMO_KEEP) rmSync(base, { recursive: true, force: true });
  else process.stdout.write(`kept ${base}\n`);
}
