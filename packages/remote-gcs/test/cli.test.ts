/**
 * The whole workflow with the built `mlv` binary against the emulator, configured only through
 * `mlv remote add` and `mlv remote modify`, in a throw-away git repository whose HOME and DVC
 * global/system config folders are temp folders too.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LEAKY_ENV } from "./clean-env.js";
import { emulatorRemote, endpoint, freshBucket, unavailable } from "./helpers.js";

const BIN = fileURLToPath(new URL("../../../apps/cli/dist/bin.js", import.meta.url));

describe.skipIf(endpoint === undefined)(
  `mlv CLI with a gs:// remote${unavailable ? ` (SKIPPED: ${unavailable})` : ""}`,
  () => {
    let sandbox = "";
    let repo = "";
    let env: NodeJS.ProcessEnv = {};

    const mlv = (...args: string[]) => {
      const r = spawnSync(process.execPath, [BIN, ...args], { cwd: repo, env, encoding: "utf8" });
      const what = `mlv ${args.join(" ")} (exit ${r.status})\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
      expect(r.status, what).toBe(0);
      return r.stdout;
    };

    beforeAll(() => {
      if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build the CLI first (npx turbo run build)`);
      sandbox = mkdtempSync(join(tmpdir(), "mlv-gcs-cli-"));
      repo = join(sandbox, "repo");
      for (const d of ["home", "dvc-global", "dvc-system", "repo"]) mkdirSync(join(sandbox, d));
      env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !LEAKY_ENV.test(k)));
      Object.assign(env, {
        HOME: join(sandbox, "home"),
        XDG_CONFIG_HOME: join(sandbox, "home", ".config"),
        DVC_GLOBAL_CONFIG_DIR: join(sandbox, "dvc-global"),
        DVC_SYSTEM_CONFIG_DIR: join(sandbox, "dvc-system"),
        GIT_CONFIG_NOSYSTEM: "1",
        GIT_CONFIG_GLOBAL: "/dev/null",
        NO_COLOR: "1",
      });
    });
    afterAll(() => {
      if (sandbox) rmSync(sandbox, { recursive: true, force: true });
    });

    it("adds, pushes, pulls and reports the remote in sync", async () => {
      const bucket = freshBucket();
      const git = spawnSync("git", ["init", "-q"], { cwd: repo, env, encoding: "utf8" });
      expect(git.status, git.stderr).toBe(0);
      mlv("init");
      mlv("remote", "add", "-d", "storage", `gs://${bucket}/team/datasets`);
      mlv("remote", "modify", "storage", "endpointurl", endpoint as string);
      const config = readFileSync(join(repo, ".dvc", "config"), "utf8");
      expect(config).toContain(`url = gs://${bucket}/team/datasets`);
      expect(config).toContain(`endpointurl = ${endpoint}`);

      const files: Record<string, Buffer> = {
        "model.bin": randomBytes(3 * 1024 * 1024 + 17),
        "data/train/a.csv": Buffer.from("x,y\n1,2\n"),
        "data/train/b.csv": randomBytes(9 * 1024 * 1024 + 1), // above the resumable threshold
        "data/test/c.csv": Buffer.from("x,y\n3,4\n"),
        "data/empty.txt": Buffer.alloc(0),
      };
      for (const [path, bytes] of Object.entries(files)) {
        mkdirSync(join(repo, path, ".."), { recursive: true });
        writeFileSync(join(repo, path), bytes);
      }
      mlv("add", "model.bin", "data");
      mlv("push");

      // The objects are where DVC puts them: below the URL's prefix, in files/md5/.
      const remote = await emulatorRemote(`gs://${bucket}/team/datasets`);
      const keys: string[] = [];
      for await (const key of remote.list("")) keys.push(key);
      expect(
        keys.every((k) => /^files\/md5\/[0-9a-f]{2}\/[0-9a-f]{30}(\.dir)?$/.test(k)),
        keys.join("\n"),
      ).toBe(true);
      expect(keys.length).toBe(6); // 5 distinct files + the folder's .dir manifest
      await remote.close?.();

      rmSync(join(repo, ".dvc", "cache"), { recursive: true, force: true });
      rmSync(join(repo, "model.bin"));
      rmSync(join(repo, "data"), { recursive: true });
      mlv("pull");
      for (const [path, bytes] of Object.entries(files)) {
        expect(readFileSync(join(repo, path)).equals(bytes), path).toBe(true);
      }
      expect(mlv("status", "-c")).toContain("Cache and remote 'storage' are in sync.");
    });
  },
);
