/** URL and option parsing (no server, no I/O). */
import { ConfigError } from "@mlv/core";
import adapter, { parseSettings, redactUrl, remotePath } from "@mlv/remote-sftp";
import { describe, expect, it } from "vitest";

const parse = (url: string, options: Record<string, string> = {}) => parseSettings("storage", url, options);

describe("ssh:// URLs", () => {
  it("user, host, port and absolute path", () => {
    const s = parse("ssh://alice@example.com:2222/srv/dvc/cache");
    expect(s).toMatchObject({ scheme: "ssh", user: "alice", host: "example.com", port: 2222, root: "/srv/dvc/cache" });
    expect(s.displayUrl).toBe("ssh://alice@example.com:2222/srv/dvc/cache");
  });

  it("host only: no user or port yet (they come from ~/.ssh/config or defaults at connect time)", () => {
    const s = parse("ssh://example.com/data");
    expect(s.user).toBeUndefined();
    expect(s.port).toBeUndefined();
    expect(s.root).toBe("/data");
    expect(s.timeoutMs).toBeUndefined();
    expect(s).toMatchObject({ allowAgent: true, askPassword: false, askPassphrase: false, maxSessions: 10 });
  });

  it("sftp:// is the same; trailing slashes are dropped; the root folder is /", () => {
    expect(parse("sftp://h/a/b/").root).toBe("/a/b");
    expect(parse("sftp://h/").root).toBe("/");
    expect(parse("sftp://h").root).toBe("/");
    expect(parse("sftp://h/a").scheme).toBe("sftp");
  });

  it("/~/ paths are relative to the login folder", () => {
    expect(parse("ssh://h/~/dvc").root).toBe("dvc");
    expect(parse("ssh://h/~").root).toBe("");
    expect(remotePath("dvc", "files/md5/ab/cd")).toBe("dvc/files/md5/ab/cd");
    expect(remotePath("", "ab/cd")).toBe("ab/cd");
    expect(remotePath("/", "ab/cd")).toBe("/ab/cd");
    expect(remotePath("/srv", "ab/cd")).toBe("/srv/ab/cd");
  });

  it("IPv6 addresses and %-escapes", () => {
    const s = parse("ssh://bob@[::1]:2200/my%20data");
    expect(s).toMatchObject({ host: "::1", port: 2200, root: "/my data", user: "bob" });
    expect(parse("ssh://d%C3%A9v@h/x").user).toBe("dév");
  });

  it("a password in the URL is used but never shown", () => {
    const s = parse("ssh://alice:p%40ss:w0rd@h:22/x");
    expect(s.password).toBe("p@ss:w0rd");
    expect(s.user).toBe("alice");
    expect(s.displayUrl).toBe("ssh://alice@h:22/x");
    expect(redactUrl("sftp://u:secret@h/x")).toBe("sftp://u@h/x");
  });

  it("bad URLs: ConfigError naming the remote, without the password", () => {
    for (const url of ["s3://bucket/x", "ssh:///path", "ssh://h:99999/x", "ssh://h:abc/x", "ssh://u:topsecret@:22/x"]) {
      const err = (() => {
        try {
          parse(url);
        } catch (e) {
          return e as Error;
        }
        throw new Error(`${url} was accepted`);
      })();
      expect(err, url).toBeInstanceOf(ConfigError);
      expect(err.message).toContain("remote 'storage'");
      expect(err.message).not.toContain("topsecret");
    }
  });
});

describe("DVC's ssh options", () => {
  it("user and port options override the URL; user wins over username", () => {
    const s = parse("ssh://alice@h:2222/x", { user: "bob", port: "2200" });
    expect(s.user).toBe("bob");
    expect(s.port).toBe(2200);
    expect(parse("ssh://alice@h/x", { username: "carol" }).user).toBe("carol");
    expect(parse("ssh://h/x", { username: "carol", user: "dave" }).user).toBe("dave");
    expect(parse("ssh://alice@h/x", {}).user).toBe("alice");
  });

  it("keyfile, password, passphrase, ask_*, allow_agent, timeout, max_sessions", () => {
    const s = parse("ssh://h/x", {
      keyfile: "~/.ssh/dvc_key",
      password: "pw",
      passphrase: "pp",
      ask_password: "true",
      ask_passphrase: "True",
      allow_agent: "false",
      timeout: "7.5",
      max_sessions: "4",
    });
    expect(s).toMatchObject({
      keyfile: "~/.ssh/dvc_key",
      password: "pw",
      passphrase: "pp",
      askPassword: true,
      askPassphrase: true,
      allowAgent: false,
      timeoutMs: 7500,
      maxSessions: 4,
    });
    expect(parse("ssh://alice:urlpw@h/x", { password: "optpw" }).password).toBe("optpw");
  });

  it("bad values: ConfigError naming the option", () => {
    const bad: Record<string, string>[] = [
      { port: "0" },
      { port: "http" },
      { timeout: "-1" },
      { timeout: "soon" },
      { max_sessions: "0" },
      { max_sessions: "2.5" },
      { allow_agent: "maybe" },
      { ask_password: "y3s" },
      { gss_auth: "true" },
    ];
    for (const options of bad) {
      const key = Object.keys(options)[0]!;
      expect(() => parse("ssh://h/x", options), key).toThrow(ConfigError);
      try {
        parse("ssh://h/x", options);
      } catch (e) {
        expect((e as Error).message).toContain(key === "gss_auth" ? "gss_auth" : `'${key}'`);
      }
    }
    expect(parse("ssh://h/x", { gss_auth: "false" }).host).toBe("h");
  });

  it("the adapter: schemes, options, secrets, and create() does no I/O", async () => {
    expect(adapter.schemes).toEqual(["ssh", "sftp"]);
    for (const k of [
      "user",
      "username",
      "port",
      "keyfile",
      "password",
      "ask_password",
      "passphrase",
      "ask_passphrase",
      "allow_agent",
      "timeout",
      "max_sessions",
    ])
      expect(adapter.options, k).toHaveProperty(k);
    expect(adapter.secretOptions).toEqual(["password", "passphrase"]);
    // A host that cannot resolve: create() still succeeds, because it connects only when used.
    const remote = await adapter.create({ name: "r", url: "ssh://u:pw@host.invalid/x", options: {} });
    expect(remote.displayUrl).toBe("ssh://u@host.invalid/x");
    expect(remote.capabilities).toMatchObject({ writeFile: true, readFile: true, traverse: true });
    await remote.close?.();
  });
});
