/**
 * The @mlv/testkit suites against nginx: the full suite on a tree that takes PUT and DELETE
 * (WebDAV), the reading suite on a read-only tree whose objects are files written beside it, and
 * again over HTTPS with the server's certificate as the CA bundle.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { ReadableRemote } from "@mlv/core";
import adapter from "@mlv/remote-http";
import { describeReadableRemoteConformance, describeRemoteConformance } from "@mlv/testkit";
import { describe } from "vitest";
import { info, newFolder, newRemote, noServer, urlOf } from "./helpers.js";

describe.skipIf(noServer)("http against nginx", () => {
  describeRemoteConformance("http (nginx WebDAV, method put)", {
    writeFileProgress: true,
    create: () => {
      const { remote, folder } = newRemote();
      return { remote, cleanup: folder.drop };
    },
    withPassword: {
      password: "pw-in-the-url",
      create: () => ({
        remote: adapter.create({
          name: "pw",
          url: urlOf("rw", "x", { credentials: { user: "bob", password: "pw-in-the-url" } }),
          options: {},
        }),
      }),
    },
  });

  describeReadableRemoteConformance("http (nginx, read-only tree)", {
    create: () => {
      const folder = newFolder("ro");
      const remote = adapter.create({ name: "ro", url: folder.url, options: {} }) as ReadableRemote;
      return { remote, dir: folder.local, cleanup: folder.drop };
    },
    seed: async (objects, { dir }) => {
      for (const { key, data } of objects) {
        await mkdir(dirname(join(dir, key)), { recursive: true });
        await writeFile(join(dir, key), data);
      }
    },
  });
});

describe.skipIf(noServer)("https against nginx", () => {
  describeRemoteConformance("https (nginx WebDAV, ssl_verify = CA bundle)", {
    create: () => {
      const { remote, folder } = newRemote({ ssl_verify: info().caFile }, "rw", true);
      return { remote, cleanup: folder.drop };
    },
  });
});
