/** The testkit's 200 MiB round trip through writeFile and readFile, on the emulator. */
import { describeLargeObjectRoundTrip } from "@mlv/testkit";
import { emulatorRemote, endpoint, freshBucket, unavailable } from "./helpers.js";

// Buckets appear on first use in the emulator: a fresh name is an empty remote.
describeLargeObjectRoundTrip(`gcs${unavailable ? ` (SKIPPED: ${unavailable})` : ""}`, {
  create: async () => ({ remote: await emulatorRemote(`gs://${freshBucket()}/big`) }),
  skip: endpoint === undefined,
  maxRssGrowthMiB: 80,
  timeoutMs: 600_000,
});
