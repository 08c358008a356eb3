/**
 * The workflow a DVC user follows, with the built `mlv` binary against OpenSSH: the remote is set
 * only through `mlv remote add` and `mlv remote modify` (keyfile), HOME holds the known_hosts that
 * trusts the server; then add, push, delete everything local, pull, status -c.
 */
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKey } from "../../../test-fixtures/servers/sshd.js";
import { cleanEnv, info, newFolder, noServer } from "./helpers.js";

const BIN = fileURLToPath(new URL("../../../apps/cli/dist/bin.js", import.meta.url));

describe.skipIf(noServer)("mlv with an ssh:// remote (OpenSSH)", () => {
  let dir = "";
  let repo = "";
  let home = "";
  let env: Record<string, string> = {};
  let folder: ReturnType<typeof newFolder>;

  beforeAll(() => {
    if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build first (cd /work/main && npx turbo run build)`);
    folder = newFolder();
    dir = mkdtempSync(join(tmpdir(), "mlv-sftp-cli-"));
    repo = join(dir, "repo");
    home = join(dir, "home");
    for (const d of [repo, home, join(dir, "dvc-global"), join(dir, "dvc-system")]) mkdirSync(d);
    mkdirSync(join(home, ".ssh"), { mode: 0o700 });
    writeFileSync(join(home, ".ssh", "known_hosts"), `${info().knownHostsLine}\n`);
    env = cleanEnv({
      HOME: home,
      XDG_CONFIG_HOME: join(home, ".config"),
      DVC_GLOBAL_CONFIG_DIR: join(dir, "dvc-global"),
      DVC_SYSTEM_CONFIG_DIR: join(dir, "dvc-system"),
      GIT_CONFIG_NOSYSTEM: "1",
      NO_COLOR: "1",
    });
  });
  afterAll(() => {
    folder?.drop();
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

  it("add, push, pull and status -c", () => {
    const s = info();
    expect(run("git", ["init", "-q"]).code).toBe(0);
    mlv("init");
    mlv("remote", "add", "-d", "storage", `ssh://${s.user}@127.0.0.1:${s.port}${s.remoteRoot}/${folder.name}/cache`);
    mlv("remote", "modify", "storage", "keyfile", s.clientKey);

    const big = randomBytes(3 * 1024 * 1024 + 7);
    const files: Record<string, Buffer> = {
      "model.bin": big,
      "data/a.txt": Buffer.from("alpha\n"),
      "data/b.txt": Buffer.from("beta\n"),
      "data/sub/c.bin": randomBytes(70_000),
      "data/empty": Buffer.alloc(0),
    };
    for (const [rel, content] of Object.entries(files)) {
      mkdirSync(join(repo, rel, ".."), { recursive: true });
      writeFileSync(join(repo, rel), content);
    }
    mlv("add", "model.bin");
    mlv("add", "data");
    mlv("push");

    // The objects are files below the URL's path, in DVC 3's layout, with no temporary files left.
    const cache = join(folder.local, "cache");
    const stored = readdirSync(cache, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name).slice(cache.length + 1));
    expect(stored).toContain(`files/md5/${md5(big).slice(0, 2)}/${md5(big).slice(2)}`);
    expect(stored.filter((n) => n.endsWith(".dir"))).toHaveLength(1);
    expect(stored.filter((n) => n.endsWith(".tmp"))).toEqual([]);
    expect(stored).toHaveLength(6); // 5 files + 1 .dir manifest

    rmSync(join(repo, ".dvc/cache"), { recursive: true, force: true });
    rmSync(join(repo, "model.bin"), { force: true });
    rmSync(join(repo, "data"), { recursive: true, force: true });
    mlv("pull");
    for (const [rel, content] of Object.entries(files))
      expect(readFileSync(join(repo, rel)).equals(content), rel).toBe(true);

    const status = mlv("status", "-c");
    expect(status.stdout).toContain("Cache and remote 'storage' are in sync.");
  });

  it("a wrong key fails the push with an authentication error naming user@host", () => {
    const wrong = join(dir, "wrong_key");
    generateKey(wrong, "wrong");
    mlv("remote", "modify", "storage", "keyfile", wrong);
    writeFileSync(join(repo, "more.txt"), "more\n");
    mlv("add", "more.txt");
    const r = run(process.execPath, [BIN, "push"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("refused access");
    expect(r.stderr).toContain(`authentication as ${info().user}@127.0.0.1:${info().port} failed`);
    expect(r.stderr).toContain(`publickey ${wrong}`);
  });

  it("an unknown host key stops the push and says how to add it", () => {
    mlv("remote", "modify", "storage", "keyfile", info().clientKey);
    writeFileSync(join(home, ".ssh", "known_hosts"), "");
    const r = run(process.execPath, [BIN, "push"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("is not known");
    expect(r.stderr).toContain(`ssh-keyscan -p ${info().port} 127.0.0.1 >> ~/.ssh/known_hosts`);
    // Doing what the message says makes the push work.
    const scan = spawnSync(
      "sh",
      ["-c", `ssh-keyscan -p ${info().port} 127.0.0.1 >> ${join(home, ".ssh", "known_hosts")}`],
      {
        encoding: "utf8",
      },
    );
    expect(scan.status, scan.stderr).toBe(0);
    mlv("push");
    expect(mlv("status", "-c").stdout).toContain("Cache and remote 'storage' are in sync.");
  });
});
