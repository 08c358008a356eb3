/**
 * The workflow a DVC user follows, with the built `mlv` binary against Azurite
 * (test-fixtures/cli-workflow.ts): the connection string is set with `mlv remote modify --local`,
 * as DVC's docs advise for secrets, and never shown; then a wrong key.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, type CliSandbox, runCliWorkflow } from "../../../test-fixtures/cli-workflow.js";
import { connectionString, newContainer, noServer } from "./helpers.js";

describe.skipIf(noServer)("mlv with an azure:// remote (Azurite)", () => {
  let dir = "";
  let repo = "";
  let cli: CliSandbox;
  let container: Awaited<ReturnType<typeof newContainer>>;

  beforeAll(async () => {
    container = await newContainer();
    dir = mkdtempSync(join(tmpdir(), "mlv-azure-cli-"));
    repo = join(dir, "repo");
  });
  afterAll(async () => {
    await container?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const run = (cmd: string, args: string[]) => cli.run(cmd, args);
  const mlv = (...args: string[]) => cli.mlv(...args);
  const md5 = (b: Buffer) => createHash("md5").update(b).digest("hex");

  it("add, push, pull and status -c", async () => {
    const cs = connectionString();
    const key = /AccountKey=([^;]+)/.exec(cs)![1]!;
    cli = await runCliWorkflow({
      dir,
      url: `azure://${container.name}/project/cache`,
      modify: { connection_string: cs },
      local: true,
      afterPush: async ({ files, pushed }) => {
        expect(readFileSync(join(repo, ".dvc/config"), "utf8")).not.toContain(key);
        expect(readFileSync(join(repo, ".dvc/config.local"), "utf8")).toContain("connection_string");
        expect(pushed.stdout + pushed.stderr).not.toContain(key);

        // The objects are blobs below the URL's prefix, in DVC 3's layout.
        const big = files["model.bin"]!;
        const names: string[] = [];
        for await (const b of container.client.listBlobsFlat({ prefix: "project/cache/" })) names.push(b.name);
        expect(names).toContain(`project/cache/files/md5/${md5(big).slice(0, 2)}/${md5(big).slice(2)}`);
        expect(names.filter((n) => n.endsWith(".dir"))).toHaveLength(1);
        expect(names).toHaveLength(6); // 5 files + 1 .dir manifest
      },
    });

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
