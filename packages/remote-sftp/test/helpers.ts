/**
 * Shared by the server tests: the sshd of global-setup.ts, fresh folders on it, and a process
 * environment that cannot reach the real ~/.ssh or an SSH agent.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Remote } from "@mlv/core";
import adapter from "@mlv/remote-sftp";
import { inject } from "vitest";
import type { SshdInfo } from "./global-setup.js";

export const sshd: SshdInfo = inject("sshd");
/** True when there is no server: `describe.skipIf(noServer)`. global-setup said why, loudly. */
export const noServer = sshd.port === undefined;

// The adapter reads ~/.ssh (config, known_hosts, default keys) from HOME: never the real one here.
if (sshd.home !== undefined) process.env.HOME = sshd.home;
delete process.env.SSH_AUTH_SOCK;

export function info(): Required<Omit<SshdInfo, "unavailable">> {
  if (noServer) throw new Error(`no sshd: ${sshd.unavailable}`);
  return sshd as Required<Omit<SshdInfo, "unavailable">>;
}

/** `ssh://user@127.0.0.1:PORT/data/sub` */
export function urlOf(sub: string, scheme = "ssh"): string {
  const s = info();
  return `${scheme}://${s.user}@127.0.0.1:${s.port}${s.remoteRoot}/${sub}`;
}

/** A new, empty folder on the server; `drop()` removes it (as root, through the local disk). */
export function newFolder(): { name: string; url: string; local: string; drop: () => void } {
  const name = `t-${randomBytes(6).toString("hex")}`;
  const local = join(info().dataDir, name);
  return {
    name,
    url: urlOf(name),
    local,
    drop: () => rmSync(local, { recursive: true, force: true }),
  };
}

/** A remote on a fresh folder that does not exist yet (the first upload creates it). */
export async function newRemote(options: Record<string, string> = {}): Promise<{
  remote: Remote;
  folder: ReturnType<typeof newFolder>;
}> {
  const folder = newFolder();
  const remote = await adapter.create({
    name: "test",
    url: folder.url,
    options: { keyfile: info().clientKey, ...options },
  });
  return { remote, folder };
}

/** Make a folder on the server owned by root (so the SSH user cannot write it). */
export function readOnlyFolder(): { url: string; drop: () => void } {
  const folder = newFolder();
  mkdirSync(folder.local, { mode: 0o755 });
  return { url: folder.url, drop: folder.drop };
}

/** Env without variables that could change which credentials or config are used. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !/^(AZURE_|AWS_|GOOGLE_|SSH_|DVC_)/.test(k)) env[k] = v;
  return { ...env, ...extra };
}
