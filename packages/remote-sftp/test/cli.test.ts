/**
 * The workflow a DVC user follows, with the built `mlv` binary against OpenSSH
 * (test-fixtures/cli-workflow.ts): the remote is set with `mlv remote modify` (keyfile), HOME holds
 * the known_hosts that trusts the server; then a wrong key and an unknown host key.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, type CliSandbox, runCliWorkflow } from "../../../test-fixtures/cli-workflow.js";
import { generateKey } from "../../../test-fixtures/servers/sshd.js";
import { info, newFolder, noServer } from "./helpers.js";

describe.skipIf(noServer)("mlv with an ssh:// remote (OpenSSH)", () => {
  let dir = "";
  let repo = "";
  let home = "";
  let cli: CliSandbox;
  let folder: ReturnType<typeof newFolder>;

  beforeAll(() => {
    folder = newFolder();
    dir = mkdtempSync(join(tmpdir(), "mlv-sftp-cli-"));
    repo = join(dir, "repo");
    home = join(dir, "home"); // the sandbox's HOME
    mkdirSync(home);
    mkdirSync(join(home, ".ssh"), { mode: 0o700 });
    writeFileSync(join(home, ".ssh", "known_hosts"), `${info().knownHostsLine}\n`);
  });
  afterAll(() => {
    folder?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const run = (cmd: string, args: string[]) => cli.run(cmd, args);
  const mlv = (...args: string[]) => cli.mlv(...args);
  const md5 = (b: Buffer) => createHash("md5").update(b).digest("hex");

  it("add, push, pull and status -c", async () => {
    const s = info();
    cli = await runCliWorkflow({
      dir,
      url: `ssh://${s.user}@127.0.0.1:${s.port}${s.remoteRoot}/${folder.name}/cache`,
      modify: { keyfile: s.clientKey },
      afterPush: ({ files }) => {
        // The objects are files below the URL's path, in DVC 3's layout, with no temporary files left.
        const big = files["model.bin"]!;
        const cache = join(folder.local, "cache");
        const stored = readdirSync(cache, { recursive: true, withFileTypes: true })
          .filter((e) => e.isFile())
          .map((e) => join(e.parentPath, e.name).slice(cache.length + 1));
        expect(stored).toContain(`files/md5/${md5(big).slice(0, 2)}/${md5(big).slice(2)}`);
        expect(stored.filter((n) => n.endsWith(".dir"))).toHaveLength(1);
        expect(stored.filter((n) => n.endsWith(".tmp"))).toEqual([]);
        expect(stored).toHaveLength(6); // 5 files + 1 .dir manifest
      },
    });
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
