import { describeRemoteConformance } from "@mlv/testkit";
import { describe, it } from "vitest";
import { emptyRemote, emulatorRemote, endpoint, freshBucket, unavailable } from "./helpers.js";

if (endpoint === undefined) {
  describe.skip(`gcs conformance: SKIPPED, the GCS emulator is not running (${unavailable})`, () => {
    it("needs the emulator", () => {});
  });
} else {
  // Every test gets its own bucket, below a two-level prefix, so that prefix handling is exercised.
  describeRemoteConformance("gcs (emulator, gs://bucket/team/project)", {
    writeFileProgress: true,
    create: async () => {
      const remote = await emulatorRemote(`gs://${freshBucket()}/team/project`);
      return { remote, cleanup: () => emptyRemote(remote) };
    },
  });

  describeRemoteConformance("gcs (emulator, gs://bucket)", {
    isolation: "suite",
    manyKeys: 1005,
    create: async () => {
      const remote = await emulatorRemote(`gs://${freshBucket()}`);
      return { remote, cleanup: () => emptyRemote(remote) };
    },
  });
}
