import adapter from "@mlv/remote-sftp";
import { describeRemoteConformance } from "@mlv/testkit";
import { describe } from "vitest";
import { info, newRemote, noServer } from "./helpers.js";

const PASSWORD = "s3cr3t:pass@word";

describe.skipIf(noServer)("sftp against OpenSSH", () => {
  describeRemoteConformance("sftp", {
    writeFileProgress: true,
    create: async () => {
      const { remote, folder } = await newRemote();
      return { remote, cleanup: folder.drop };
    },
    withPassword: {
      password: PASSWORD,
      create: async () => {
        const s = info();
        const url = `sftp://${s.user}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${s.port}${s.remoteRoot}/pw`;
        return { remote: await adapter.create({ name: "pw", url, options: {} }) };
      },
    },
  });
});
