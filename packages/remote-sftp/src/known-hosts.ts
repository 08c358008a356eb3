/**
 * Host key checking against OpenSSH's known_hosts files (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"):
 * plain and hashed (`|1|salt|hash`) host patterns, `[host]:port` names for other ports than 22,
 * wildcards and negation, `@revoked` keys. An unknown or changed key is never trusted.
 */
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { globMatch } from "./ssh-config.js";

export interface KnownHostEntry {
  marker?: "revoked" | "cert-authority";
  patterns: string;
  keyType: string;
  key: Buffer;
  file: string;
  line: number;
}

export type HostKeyVerdict =
  | { status: "trusted"; entry: KnownHostEntry }
  | { status: "unknown" }
  | { status: "changed"; entries: KnownHostEntry[] }
  | { status: "revoked"; entry: KnownHostEntry };

/** The name known_hosts stores for a host: `host`, or `[host]:port` for other ports than 22. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** Every entry of the files that exist (missing files are skipped). */
export function readKnownHosts(files: string[]): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    entries.push(...parseKnownHosts(text, file));
  }
  return entries;
}

export function parseKnownHosts(text: string, file = "known_hosts"): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "" || line.startsWith("#")) continue;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry["marker"];
    if (fields[0] === "@revoked" || fields[0] === "@cert-authority") {
      marker = fields[0] === "@revoked" ? "revoked" : "cert-authority";
      fields.shift();
    }
    const [patterns, keyType, b64] = fields;
    if (!patterns || !keyType || !b64 || !/^[A-Za-z0-9+/]+=*$/.test(b64)) continue;
    const entry: KnownHostEntry = { patterns, keyType, key: Buffer.from(b64, "base64"), file, line: i + 1 };
    if (marker) entry.marker = marker;
    entries.push(entry);
  }
  return entries;
}

/** Whether the entry's host field names `name` (hashed, or a pattern list with `!` negation). */
export function entryMatches(patterns: string, name: string): boolean {
  if (patterns.startsWith("|1|")) {
    const [, , salt, hash] = patterns.split("|");
    if (!salt || !hash) return false;
    const mac = createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64");
    return mac === hash;
  }
  let matched = false;
  for (const p of patterns.split(",")) {
    if (p.startsWith("!")) {
      if (globMatch(p.slice(1), name)) return false;
    } else if (globMatch(p, name)) matched = true;
  }
  return matched;
}

/** The key type inside an SSH public key blob (its first string), e.g. `ssh-ed25519`. */
export function blobKeyType(blob: Buffer): string {
  if (blob.length < 4) return "";
  const n = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + n).toString("latin1");
}

/** Check the key a server offered for `name` (see knownHostsName). */
export function verifyHostKey(entries: KnownHostEntry[], name: string, blob: Buffer): HostKeyVerdict {
  const forHost = entries.filter((e) => e.marker !== "cert-authority" && entryMatches(e.patterns, name));
  const revoked = entries.find((e) => e.marker === "revoked" && e.key.equals(blob));
  if (revoked) return { status: "revoked", entry: revoked };
  const trusted = forHost.find((e) => e.marker === undefined && e.key.equals(blob));
  if (trusted) return { status: "trusted", entry: trusted };
  const type = blobKeyType(blob);
  const sameType = forHost.filter((e) => e.marker === undefined && e.keyType === type);
  if (sameType.length > 0) return { status: "changed", entries: sameType };
  const others = forHost.filter((e) => e.marker === undefined);
  if (others.length > 0) return { status: "changed", entries: others };
  return { status: "unknown" };
}

/** Host key algorithms to ask for first: the types known_hosts already has for this host (as OpenSSH does). */
export function preferredHostKeyAlgorithms(entries: KnownHostEntry[], name: string): string[] {
  const algos: string[] = [];
  for (const e of entries) {
    if (e.marker !== undefined || !entryMatches(e.patterns, name)) continue;
    const list = e.keyType === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [e.keyType];
    for (const a of list) if (!algos.includes(a)) algos.push(a);
  }
  return algos;
}
