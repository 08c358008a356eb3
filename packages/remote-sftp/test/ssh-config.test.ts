/** ~/.ssh/config and known_hosts parsing (no server). */
import { createHmac, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  entryMatches,
  knownHostsName,
  lookupHost,
  parseKnownHosts,
  parseSettings,
  preferredHostKeyAlgorithms,
  resolveTarget,
  splitLine,
  verifyHostKey,
} from "@mlv/remote-sftp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "mlv-sftp-config-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const configFile = (text: string) => {
  const f = join(dir, `config-${randomBytes(4).toString("hex")}`);
  writeFileSync(f, text);
  return f;
};

describe("ssh_config", () => {
  it("splits `Keyword value`, `Keyword=value` and quoted values", () => {
    expect(splitLine("HostName example.com")).toEqual({ keyword: "hostname", args: ["example.com"] });
    expect(splitLine("Port=2222")).toEqual({ keyword: "port", args: ["2222"] });
    expect(splitLine("  User = alice ")).toEqual({ keyword: "user", args: ["alice"] });
    expect(splitLine('IdentityFile "~/my keys/id_ed25519"')).toEqual({
      keyword: "identityfile",
      args: ["~/my keys/id_ed25519"],
    });
    expect(splitLine("Host a b,c")).toEqual({ keyword: "host", args: ["a", "b,c"] });
  });

  it("Host alias → HostName, User, Port, IdentityFile; the first value wins, IdentityFile accumulates", () => {
    const file = configFile(
      [
        "# comment",
        "Host data",
        "    HostName storage.example.com",
        "    User alice",
        "    Port 2222",
        "    IdentityFile ~/.ssh/data_key",
        "",
        "Host *.example.com data",
        "    User bob",
        "    IdentityFile ~/.ssh/other_key",
        "",
        "Host *",
        "    Port 22",
        "    ConnectTimeout 5",
      ].join("\n"),
    );
    expect(lookupHost("data", { files: [file] })).toEqual({
      hostName: "storage.example.com",
      user: "alice",
      port: 2222,
      identityFiles: ["~/.ssh/data_key", "~/.ssh/other_key"],
      connectTimeoutS: 5,
    });
    expect(lookupHost("web.example.com", { files: [file] })).toMatchObject({
      user: "bob",
      port: 22,
      identityFiles: ["~/.ssh/other_key"],
    });
    expect(lookupHost("elsewhere", { files: [file] })).toEqual({ identityFiles: [], port: 22, connectTimeoutS: 5 });
  });

  it("wildcards ? and *, negation, case-insensitive host names, %h in HostName", () => {
    const file = configFile(
      [
        "Host gpu? !gpu9",
        "  HostName %h.cluster.internal",
        "Host GPU9",
        "  HostName special",
        "Host *",
        "  User everyone",
      ].join("\n"),
    );
    expect(lookupHost("gpu1", { files: [file] }).hostName).toBe("gpu1.cluster.internal");
    expect(lookupHost("gpu9", { files: [file] }).hostName).toBe("special");
    expect(lookupHost("gpu10", { files: [file] }).hostName).toBeUndefined();
    expect(lookupHost("anything", { files: [file] }).user).toBe("everyone");
  });

  it("Match host/user/all, unknown Match criteria never apply, Include with a wildcard", () => {
    const inc = join(dir, "conf.d");
    mkdirSync(inc, { recursive: true });
    writeFileSync(join(inc, "10-a.conf"), "Host inc\n  Port 2201\n");
    writeFileSync(join(inc, "20-b.conf"), "Host inc\n  Port 2202\n  User fromb\n");
    const file = configFile(
      [
        `Include ${inc}/*.conf`,
        "Match exec false",
        "  User never",
        "Match host real.example.com user alice",
        "  IdentityFile ~/.ssh/alice_real",
        "Host alias",
        "  HostName real.example.com",
        "Match all",
        "  IdentityFile ~/.ssh/last",
      ].join("\n"),
    );
    expect(lookupHost("inc", { files: [file] })).toMatchObject({ port: 2201, user: "fromb" });
    expect(lookupHost("alias", { files: [file], user: "alice" }).identityFiles).toEqual(["~/.ssh/last"]);
    expect(lookupHost("real.example.com", { files: [file], user: "alice" }).identityFiles).toEqual([
      "~/.ssh/alice_real",
      "~/.ssh/last",
    ]);
    expect(lookupHost("x", { files: [file] }).user).toBeUndefined();
  });

  it("resolveTarget: the URL and options win over ~/.ssh/config, which wins over defaults", () => {
    const home = mkdtempSync(join(dir, "home-"));
    mkdirSync(join(home, ".ssh"));
    writeFileSync(
      join(home, ".ssh", "config"),
      "Host box\n  HostName 10.1.2.3\n  User cfguser\n  Port 2022\n  IdentityFile %d/.ssh/box_%r\n  UserKnownHostsFile ~/.ssh/kh_box\n",
    );
    const saved = process.env.HOME;
    process.env.HOME = home;
    try {
      const t = resolveTarget(parseSettings("r", "ssh://box/srv", {}), { SSH_AUTH_SOCK: "/run/agent.sock" });
      expect(t).toMatchObject({ host: "10.1.2.3", user: "cfguser", port: 2022, agent: "/run/agent.sock" });
      expect(t.identities).toEqual([{ path: join(home, ".ssh", "box_cfguser"), explicit: false }]);
      expect(t.knownHostsName).toBe("[10.1.2.3]:2022");
      expect(t.knownHostsFiles[0]).toBe(join(home, ".ssh", "kh_box"));
      expect(t.timeoutMs).toBe(30_000);

      const o = resolveTarget(
        parseSettings("r", "ssh://urluser@box:2200/srv", { keyfile: "~/k", allow_agent: "false", timeout: "3" }),
        { SSH_AUTH_SOCK: "/run/agent.sock" },
      );
      expect(o).toMatchObject({ host: "10.1.2.3", user: "urluser", port: 2200, timeoutMs: 3000 });
      expect(o.agent).toBeUndefined();
      expect(o.identities[0]).toEqual({ path: join(home, "k"), explicit: true });

      const d = resolveTarget(parseSettings("r", "ssh://plain.example/srv", { user: "u" }), {});
      expect(d).toMatchObject({ host: "plain.example", port: 22, user: "u", knownHostsName: "plain.example" });
      expect(d.identities.map((i) => i.path)).toEqual(
        ["id_ed25519", "id_ecdsa", "id_rsa"].map((n) => join(home, ".ssh", n)),
      );
      expect(d.knownHostsFiles).toContain(join(home, ".ssh", "known_hosts"));
      expect(d.knownHostsFiles).toContain("/etc/ssh/ssh_known_hosts");
    } finally {
      process.env.HOME = saved;
    }
  });
});

describe("known_hosts", () => {
  const blob = (type: string, body: Buffer) => {
    const t = Buffer.from(type);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(t.length);
    return Buffer.concat([len, t, body]);
  };
  const keyA = blob("ssh-ed25519", randomBytes(36));
  const keyB = blob("ssh-ed25519", randomBytes(36));
  const rsa = blob("ssh-rsa", randomBytes(100));
  const hashed = (name: string) => {
    const salt = randomBytes(20);
    return `|1|${salt.toString("base64")}|${createHmac("sha1", salt).update(name).digest("base64")}`;
  };

  it("names: [host]:port except for port 22", () => {
    expect(knownHostsName("example.com", 22)).toBe("example.com");
    expect(knownHostsName("127.0.0.1", 2222)).toBe("[127.0.0.1]:2222");
  });

  it("plain, pattern, negated and hashed host fields", () => {
    expect(entryMatches("a.example.com,b.example.com", "b.example.com")).toBe(true);
    expect(entryMatches("*.example.com,!bad.example.com", "bad.example.com")).toBe(false);
    expect(entryMatches("*.example.com", "good.example.com")).toBe(true);
    expect(entryMatches("[127.0.0.1]:2222", "[127.0.0.1]:2222")).toBe(true);
    expect(entryMatches("127.0.0.1", "[127.0.0.1]:2222")).toBe(false);
    expect(entryMatches(hashed("[127.0.0.1]:2222"), "[127.0.0.1]:2222")).toBe(true);
    expect(entryMatches(hashed("[127.0.0.1]:2222"), "[127.0.0.1]:2223")).toBe(false);
  });

  it("trusted, unknown, changed and revoked keys", () => {
    const text = [
      "# comment",
      "",
      `${hashed("[h]:2222")} ssh-ed25519 ${keyA.toString("base64")}`,
      `other ssh-ed25519 ${keyB.toString("base64")} comment here`,
      `rsaonly ssh-rsa ${rsa.toString("base64")}`,
      `@revoked * ssh-ed25519 ${keyB.toString("base64")}`,
      "garbage line",
    ].join("\n");
    const entries = parseKnownHosts(text, "/kh");
    expect(entries).toHaveLength(4);
    expect(verifyHostKey(entries, "[h]:2222", keyA).status).toBe("trusted");
    expect(verifyHostKey(entries, "[h]:2223", keyA).status).toBe("unknown");
    const changed = verifyHostKey(entries, "[h]:2222", blob("ssh-ed25519", randomBytes(36)));
    expect(changed.status).toBe("changed");
    expect(changed.status === "changed" && changed.entries[0]!.line).toBe(3);
    expect(verifyHostKey(entries, "other", keyB).status).toBe("revoked");
    // Known with another key type only: refused too (OpenSSH would ask for the known type first).
    expect(verifyHostKey(entries, "rsaonly", keyA).status).toBe("changed");
    expect(preferredHostKeyAlgorithms(entries, "rsaonly")).toEqual(["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]);
    expect(preferredHostKeyAlgorithms(entries, "[h]:2222")).toEqual(["ssh-ed25519"]);
  });
});
