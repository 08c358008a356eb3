/**
 * The workflow a DVC user follows, with the built `mlv` binary against Azurite: the remote is set
 * only through `mlv remote add` and `mlv remote modify` (the connection string with --local, as
 * DVC's docs advise for secrets), then add, push, delete everything local, pull, status -c.
 */
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanEnv, connectionString, newContainer, noServer } from "./helpers.js";

const BIN = fileURLToPath(new URL("../../../apps/cli/dist/bin.js", import.meta.url));

describe.skipIf(noServer)("mlv with an azure:// remote (Azurite)", () => {
  let dir = "";
  let repo = "";
  let env: Record<string, string> = {};
  let container: Awaited<ReturnType<typeof newContainer>>;

  beforeAll(async () => {
    if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build first (cd /work/main && npx turbo run build)`);
    container = await newContainer();
    dir = mkdtempSync(join(tmpdir(), "mlv-azure-cli-"));
    repo = join(dir, "repo");
    for (const d of [repo, join(dir, "home"), join(dir, "dvc-global"), join(dir, "dvc-system")]) mkdirSync(d);
    env = cleanEnv({
      HOME: join(dir, "home"),
      XDG_CONFIG_HOME: join(dir, "home", ".config"),
      DVC_GLOBAL_CONFIG_DIR: join(dir, "dvc-global"),
      DVC_SYSTEM_CONFIG_DIR: join(dir, "dvc-system"),
      GIT_CONFIG_NOSYSTEM: "1",
      NO_COLOR: "1",
    });
    for (const k of Object.keys(env)) if (k.startsWith("DVC_") && !k.endsWith("_CONFIG_DIR")) delete env[k];
  });
  afterAll(async () => {
    await container?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const run = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { cwd: repo, env, encoding: "utf8", timeout: 120_000 });
    if (r.error) throw r.error;
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  const mlv = (...args: string[]) => {
    const r = run(process.execPath, [BIN, ...args]);
    if (r.code !== 0)
      throw new Error(`mlv ${args.join(" ")} exited ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
    return r;
  };
  const md5 = (b: Buffer) => createHash("md5").update(b).digest("hex");

  it("add, push, pull and status -c", async () => {
    const cs = connectionString();
    const key = /AccountKey=([^;]+)/.exec(cs)![1]!;
    expect(run("git", ["init", "-q"]).code).toBe(0);
    mlv("init");
    mlv("remote", "add", "-d", "storage", `azure://${container.name}/project/cache`);
    mlv("remote", "modify", "--local", "storage", "connection_string", cs);
    expect(readFileSync(join(repo, ".dvc/config"), "utf8")).not.toContain(key);
    expect(readFileSync(join(repo, ".dvc/config.local"), "utf8")).toContain("connection_string");

    const big = randomBytes(3 * 1024 * 1024 + 7);
    const files: Record<string, Buffer> = {
      "model.bin": big,
      "data/a.txt": Buffer.from("alpha\n"),
      "data/b.txt": Buffer.from("beta\n"),
      "data/sub/c.bin": randomBytes(70_000),
    };
    for (const [rel, content] of Object.entries(files)) {
      mkdirSync(join(repo, rel, ".."), { recursive: true });
      writeFileSync(join(repo, rel), content);
    }
    mlv("add", "model.bin");
    mlv("add", "data");
    const pushed = mlv("push");
    expect(pushed.stdout + pushed.stderr).not.toContain(key);

    // The objects are blobs below the URL's prefix, in DVC 3's layout.
    const names: string[] = [];
    for await (const b of container.client.listBlobsFlat({ prefix: "project/cache/" })) names.push(b.name);
    expect(names).toContain(`project/cache/files/md5/${md5(big).slice(0, 2)}/${md5(big).slice(2)}`);
    expect(names.filter((n) => n.endsWith(".dir"))).toHaveLength(1);
    expect(names).toHaveLength(5); // 4 files + 1 .dir manifest

    rmSync(join(repo, ".dvc/cache"), { recursive: true, force: true });
    rmSync(join(repo, "model.bin"), { force: true });
    rmSync(join(repo, "data"), { recursive: true, force: true });
    mlv("pull");
    for (const [rel, content] of Object.entries(files))
      expect(readFileSync(join(repo, rel)).equals(content), rel).toBe(true);

    const status = mlv("status", "-c");
    expect(status.stdout).toContain("Cache and remote 'storage' are in sync.");

    const listed = mlv("remote", "list");
    expect(listed.stdout).toContain(`azure://${container.name}/project/cache`);
    expect(listed.stdout + listed.stderr).not.toContain(key);
  });

  it("a wrong key fails the push with a message that names the remote and hides the key", () => {
    const wrong = randomBytes(64).toString("base64");
    mlv(
      "remote",
      "modify",
      "--local",
      "storage",
      "connection_string",
      connectionString().replace(/AccountKey=[^;]+/, `AccountKey=${wrong}`),
    );
    writeFileSync(join(repo, "more.txt"), "more\n");
    mlv("add", "more.txt");
    const r = run(process.execPath, [BIN, "push", "-v"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`azure://${container.name}/project/cache`);
    expect(r.stderr).toMatch(/refused access/);
    expect(r.stdout + r.stderr).not.toContain(wrong);
    expect(r.stdout + r.stderr).not.toContain(encodeURIComponent(wrong));
  });
});
