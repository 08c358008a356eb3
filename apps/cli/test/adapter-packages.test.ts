/**
 * Storage adapters as packages: mlv finds one installed in the project's node_modules, not only
 * beside itself (the workspace's), by the naming convention of its URL scheme.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { md5, objectPath, type Sandbox, sandbox } from "./helpers.js";

/** A third party's adapter for `fakedir://PATH`: one file per object, no dependency at all. */
const FAKEDIR = `import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";

export default {
  name: "fakedir",
  schemes: ["fakedir"],
  options: {},
  create(config) {
    const path = (key) => join(config.url.slice("fakedir://".length), key);
    return {
      displayUrl: config.url,
      capabilities: {},
      exists: (key) => stat(path(key)).then((s) => s.isFile(), () => false),
      read: async (key) => Readable.from([await readFile(path(key))]),
      async write(key, body) {
        const chunks = [];
        for await (const chunk of body) chunks.push(chunk);
        await mkdir(dirname(path(key)), { recursive: true });
        await writeFile(path(key), Buffer.concat(chunks));
      },
      delete: (key) => rm(path(key), { force: true }),
    };
  },
};
`;

function installPackage(s: Sandbox, name: string, main: string): void {
  s.write(
    `node_modules/${name}/package.json`,
    JSON.stringify({ name, version: "1.0.0", type: "module", main: "index.js" }),
  );
  s.write(`node_modules/${name}/index.js`, main);
}

describe("adapter packages in the project's node_modules", () => {
  it("serve their scheme: push and pull go through a third-party package found there", () => {
    const s = sandbox({ init: "mlv" });
    installPackage(s, "mlv-remote-fakedir", FAKEDIR);
    s.write(".gitignore", "node_modules/\n");
    s.write("model.bin", "weights v1\n");
    s.must("add", "model.bin");
    const store = join(s.dir, "fake-store");
    s.must("remote", "add", "-d", "storage", `fakedir://${store}`);
    s.must("push");
    expect(readFileSync(join(store, objectPath(md5("weights v1\n"))), "utf8")).toBe("weights v1\n");

    s.rm("model.bin");
    s.rm(".dvc/cache");
    s.write("sub/notes.txt", "a folder to run mlv from\n");
    // From a subfolder too: the package is found in the node_modules above it.
    const pull = s.mlvWith({ cwd: "sub" }, "pull");
    expect(pull.stderr).toBe("");
    expect(pull.code).toBe(0);
    expect(s.read("model.bin")).toBe("weights v1\n");
  });

  it("a package of that name that is no adapter is named in the error", () => {
    const s = sandbox({ init: "mlv" });
    installPackage(s, "mlv-remote-notone", "export default { hello: 1 };\n");
    s.write("f", "x");
    s.must("add", "f");
    s.write(".dvc/config", `[core]\n    remote = storage\n['remote "storage"']\n    url = notone://somewhere\n`);
    const r = s.mlv("push");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "'mlv-remote-notone' is installed but does not export an mlv storage adapter as its default export",
    );
  });
});
