/**
 * The JavaScript API end to end against S3: a Node script loads the model at v1.0 through
 * `open()` from @mlv/core, with an empty cache, so the bytes stream from the S3 remote.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { cliSandbox } from "../../../test-fixtures/cli-workflow.js";
import { createBucket, describeEachServer, dropBucket, optionsFor } from "./helpers.js";

const EXAMPLE = fileURLToPath(new URL("../../core/examples/load-model.mjs", import.meta.url));

describeEachServer(
  "open() from an S3 remote",
  (server) => {
    let bucket: string;
    let dir: string;
    beforeAll(async () => {
      bucket = await createBucket(server());
      dir = mkdtempSync(join(tmpdir(), "mlv-s3-open-"));
    });
    afterAll(async () => {
      rmSync(dir, { recursive: true, force: true });
      await dropBucket(server(), bucket);
    });

    it("a Node script loads model.h5 at v1.0 from S3 without a checkout", () => {
      const s = cliSandbox(dir, {
        GIT_AUTHOR_NAME: "t",
        GIT_AUTHOR_EMAIL: "t@example.invalid",
        GIT_COMMITTER_NAME: "t",
        GIT_COMMITTER_EMAIL: "t@example.invalid",
      });
      const git = (...args: string[]) => expect(s.run("git", args).code).toBe(0);
      git("init", "-q", "-b", "main");
      s.mlv("init");
      s.mlv("remote", "add", "-d", "storage", `s3://${bucket}/models`);
      for (const [k, v] of Object.entries(optionsFor(server()))) s.mlv("remote", "modify", "--local", "storage", k, v);
      const v1 = randomBytes(3 * 1024 * 1024 + 5);
      writeFileSync(join(s.repo, "model.h5"), v1);
      s.mlv("add", "model.h5");
      s.mlv("push");
      git("add", "model.h5.dvc", ".gitignore", ".dvc/config");
      git("commit", "-q", "-m", "v1");
      git("tag", "v1.0");
      writeFileSync(join(s.repo, "model.h5"), randomBytes(1000));
      s.mlv("add", "model.h5");
      s.mlv("push");
      git("commit", "-q", "-am", "v2");
      rmSync(join(s.repo, ".dvc", "cache"), { recursive: true, force: true });

      const r = s.run(process.execPath, [EXAMPLE, s.repo, "model.h5", "v1.0"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const md5 = createHash("md5").update(v1).digest("hex");
      expect(r.stdout.trim()).toBe(`model.h5@v1.0: ${v1.length} bytes, md5 ${md5}`);
    });
  },
  ["moto"],
);
