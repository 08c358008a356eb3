/**
 * stat() against the real DVC: `dvc import-url --no-download` records the checksum and size DVC
 * reads from the same nginx, with an ETag and without one (the digest of its info, spec §9.5).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import adapter from "@mlv/remote-http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mustDvc, requireDvc } from "../../../test-fixtures/dvc-peer.js";
import { newFolder, noServer, urlOf } from "./helpers.js";

const DVC = noServer ? undefined : requireDvc("the HTTP checksum tests against the real DVC");

describe.skipIf(noServer || !DVC)("stat() gives the checksum DVC records", () => {
  let dir = "";
  let folder: ReturnType<typeof newFolder>;
  beforeAll(() => {
    folder = newFolder("rw");
    mkdirSync(folder.local, { mode: 0o777 });
    writeFileSync(join(folder.local, "data.csv"), "a,b\n1,2\n");
    dir = mkdtempSync(join(tmpdir(), "mlv-http-dvc-"));
    mustDvc(dir, "init", "--no-scm", "-q");
  });
  afterAll(() => {
    folder?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const tree of ["rw", "noetag"] as const) {
    it(tree === "rw" ? "an ETag, with its quotes" : "no ETag: the digest of the info dict", async () => {
      const base = urlOf(tree, folder.name);
      mustDvc(dir, "import-url", "--no-download", `${base}/data.csv`, `${tree}.csv`);
      const text = readFileSync(join(dir, `${tree}.csv.dvc`), "utf8");
      const checksum = /checksum: '(.*)'\n/.exec(text)?.[1]?.replace(/''/g, "'");
      const size = Number(/\n {2}size: (\d+)\n/.exec(text)?.[1]);
      const remote = adapter.create({ name: "web", url: base, options: {} });
      expect(await remote.stat!("data.csv")).toEqual({ size, checksum });
      if (tree === "rw") expect(checksum).toMatch(/^"/);
      else expect(checksum).toMatch(/^\d+$/);
      await remote.close?.();
    });
  }
});
