/**
 * The testkit's 200 MiB round trip through writeFile and readFile on Azurite, and that the upload
 * went as staged blocks committed as one list.
 */
import adapter, { DEFAULT_TUNING } from "@mlv/remote-azure";
import { describeLargeObjectRoundTrip } from "@mlv/testkit";
import { expect } from "vitest";
import { connectionString, newContainer, noServer } from "./helpers.js";

describeLargeObjectRoundTrip("azure", {
  create: async () => {
    const container = await newContainer();
    const remote = await adapter.create({
      name: "big",
      url: `azure://${container.name}/big`,
      options: { connection_string: connectionString() },
    });
    return { remote, container, cleanup: container.drop };
  },
  skip: noServer,
  afterWrite: async ({ created, key, bytes }) => {
    // Above maxSingleShotSize the file went as staged blocks of blockSize, committed as one list.
    expect(DEFAULT_TUNING.maxSingleShotSize).toBeLessThan(bytes);
    const blocks = await created.container.client.getBlockBlobClient(`big/${key}`).getBlockList("committed");
    expect(blocks.committedBlocks?.length).toBe(Math.ceil(bytes / DEFAULT_TUNING.blockSize));
  },
});
