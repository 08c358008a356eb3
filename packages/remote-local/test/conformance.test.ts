import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import adapter from "@mlv/remote-local";
import { describeRemoteConformance } from "@mlv/testkit";

/** A folder that does not exist yet: the adapter creates it on the first write. */
async function emptyRemote(url: (root: string) => string) {
  const dir = await mkdtemp(join(tmpdir(), "mlv-remote-local-"));
  const root = join(dir, "remote");
  return {
    remote: await adapter.create({ name: "test", url: url(root), options: {} }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

describeRemoteConformance("local", { create: () => emptyRemote((root) => root) });

describeRemoteConformance("local (file:// URL, one remote for the suite)", {
  create: () => emptyRemote((root) => pathToFileURL(root).href),
  isolation: "suite",
});
