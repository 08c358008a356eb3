import { describeRemoteConformance } from "@mlv/testkit";
import { createBucket, describeEachServer, dropBucket, remoteFor } from "./helpers.js";

describeEachServer("S3 conformance", (server) => {
  // A fresh bucket per test, objects at the bucket root (`s3://bucket`).
  describeRemoteConformance("s3://bucket", {
    writeFileProgress: true,
    create: async () => {
      const bucket = await createBucket(server());
      return { remote: await remoteFor(server(), `s3://${bucket}`), cleanup: () => dropBucket(server(), bucket) };
    },
  });

  // One bucket, a remote below a prefix (`s3://bucket/some/prefix`): keys outside it must stay unseen.
  describeRemoteConformance("s3://bucket/some/prefix", {
    isolation: "suite",
    create: async () => {
      const bucket = await createBucket(server());
      const remote = await remoteFor(server(), `s3://${bucket}/some/prefix/`);
      // A neighbour that shares the prefix as a plain string, and a folder marker: neither is ours.
      const outside = await remoteFor(server(), `s3://${bucket}/some/prefixed`);
      await outside.write("files/md5/ab/cdef", (await import("node:stream")).Readable.from([Buffer.from("x")]), 1);
      await outside.close?.();
      return { remote, cleanup: () => dropBucket(server(), bucket) };
    },
  });
});
