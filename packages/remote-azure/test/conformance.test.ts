import adapter, { createAzureRemote } from "@mlv/remote-azure";
import { describeRemoteConformance } from "@mlv/testkit";
import { describe } from "vitest";
import { connectionString, newContainer, noServer } from "./helpers.js";

describe.skipIf(noServer)("azure (Azurite)", () => {
  // A fresh container per test, at its root, as users configure it.
  describeRemoteConformance("azure", {
    writeFileProgress: true,
    create: async () => {
      const c = await newContainer();
      const remote = await adapter.create({
        name: "test",
        url: `azure://${c.name}`,
        options: { connection_string: connectionString() },
      });
      return { remote, cleanup: c.drop };
    },
  });

  // Below a prefix, with small blocks and pages so that staged-block uploads and paged listings are exercised.
  describeRemoteConformance("azure (prefix, small blocks)", {
    isolation: "suite",
    create: async () => {
      const c = await newContainer();
      const remote = createAzureRemote(
        { name: "test", url: `azure://${c.name}/some/prefix/`, options: { connection_string: connectionString() } },
        {
          maxSingleShotSize: 1024 * 1024,
          blockSize: 1024 * 1024,
          streamBlockSize: 400 * 1024,
          streamBuffers: 3,
          listPageSize: 100,
        },
      );
      return { remote, cleanup: c.drop };
    },
  });
});
