import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeRemoteConformance } from "@mlv/testkit";
// By package name, as mlv loads it: this runs the built dist (build before testing).
import adapter from "mlv-remote-memdir";

describeRemoteConformance("memdir", {
  create: async () => {
    const dir = await mkdtemp(join(tmpdir(), "mlv-remote-memdir-"));
    const remote = await adapter.create({ name: "test", url: `memdir://${join(dir, "objects")}`, options: {} });
    return { remote, cleanup: () => rm(dir, { recursive: true, force: true }) };
  },
});
