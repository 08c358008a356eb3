/**
 * The whole workflow with the built `mlv` binary against the emulator (test-fixtures/cli-workflow.ts),
 * configured only through `mlv remote add` and `mlv remote modify`.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCliWorkflow } from "../../../test-fixtures/cli-workflow.js";
import { emulatorRemote, endpoint, freshBucket, unavailable } from "./helpers.js";

describe.skipIf(endpoint === undefined)(
  `mlv CLI with a gs:// remote${unavailable ? ` (SKIPPED: ${unavailable})` : ""}`,
  () => {
    let sandbox = "";
    beforeAll(() => {
      sandbox = mkdtempSync(join(tmpdir(), "mlv-gcs-cli-"));
    });
    afterAll(() => {
      if (sandbox) rmSync(sandbox, { recursive: true, force: true });
    });

    it("adds, pushes, pulls and reports the remote in sync", async () => {
      const bucket = freshBucket();
      const { repo } = await runCliWorkflow({
        dir: sandbox,
        url: `gs://${bucket}/team/datasets`,
        modify: { endpointurl: endpoint as string },
        files: {
          "model.bin": randomBytes(3 * 1024 * 1024 + 17),
          "data/train/a.csv": Buffer.from("x,y\n1,2\n"),
          "data/train/b.csv": randomBytes(9 * 1024 * 1024 + 1), // above the resumable threshold
          "data/test/c.csv": Buffer.from("x,y\n3,4\n"),
          "data/empty.txt": Buffer.alloc(0),
        },
        afterPush: async () => {
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
        },
      });
      const config = readFileSync(join(repo, ".dvc", "config"), "utf8");
      expect(config).toContain(`url = gs://${bucket}/team/datasets`);
      expect(config).toContain(`endpointurl = ${endpoint}`);
    });
  },
);
