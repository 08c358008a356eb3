#!/usr/bin/env node
// The README's pictures, made again from scratch: a project shaped like DVC's "get started"
// (test-fixtures/plots-project.mjs), trained and tagged v1, v2, v3 by the built `mlv`, then
// `mlv plots diff v1 v3` and `mlv versions model.pkl --metrics metrics.json --html`, photographed
// by headless Chromium with the network cut off.
//
//   npm run readme-images      # builds, then writes docs/images/plots-diff.png and versions.png
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { PLOTS_DVC_YAML, trainingRun } from "../test-fixtures/plots-project.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const mlvBin = join(root, "apps/cli/dist/bin.cjs");
const images = join(root, "docs/images");
const chromium = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";

const dir = mkdtempSync(join(tmpdir(), "mlv-readme-images-"));
const repo = join(dir, "project");
mkdirSync(repo);
const env = {
  ...process.env,
  GIT_AUTHOR_NAME: "Ann",
  GIT_AUTHOR_EMAIL: "ann@example.com",
  GIT_COMMITTER_NAME: "Ann",
  GIT_COMMITTER_EMAIL: "ann@example.com",
};
const run = (cmd, args) => execFileSync(cmd, args, { cwd: repo, env, encoding: "utf8" });
const mlv = (...args) => run(process.execPath, [mlvBin, ...args]);

function photograph(page, out, width, height) {
  const profile = join(dir, "chromium-profile");
  execFileSync(chromium, [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--hide-scrollbars",
    "--proxy-server=127.0.0.1:9",
    `--user-data-dir=${profile}`,
    "--virtual-time-budget=8000",
    `--window-size=${width},${height}`,
    `--screenshot=${out}`,
    pathToFileURL(page).href,
  ]);
  console.log(`${out.slice(root.length)} (${width}x${height})`);
}

try {
  run("git", ["init", "-q", "-b", "main"]);
  mlv("init", "-q");
  writeFileSync(join(repo, "dvc.yaml"), PLOTS_DVC_YAML);
  for (const k of [1, 2, 3]) {
    for (const [path, content] of Object.entries(trainingRun(k))) writeFileSync(join(repo, path), content);
    // The model: what `versions` follows; its metrics are charted across its versions.
    writeFileSync(join(repo, "model.pkl"), `weights of run ${k}\n`);
    mlv("add", "-q", "model.pkl", "importance.png");
    run("git", ["add", "-A"]);
    run("git", ["commit", "-q", "-m", `train ${k}`]);
    run("git", ["tag", `v${k}`]);
  }
  mlv("plots", "diff", "v1", "v3", "-o", "diff");
  mlv("versions", "model.pkl", "--metrics", "metrics.json", "--html", "versions.html");
  mkdirSync(dirname(join(images, "x")), { recursive: true });
  photograph(join(repo, "diff", "index.html"), join(images, "plots-diff.png"), 1150, 1500);
  photograph(join(repo, "versions.html"), join(images, "versions.png"), 1150, 560);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
