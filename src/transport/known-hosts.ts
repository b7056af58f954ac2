/**
 * Host-key checking against OpenSSH `known_hosts` files: plain and hashed
 * host names, `[host]:port` entries, wildcards, `@revoked`.
 */
import { createHmac } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface KnownKey {
  type: string;
  /** The key blob, base64. */
  key: string;
  revoked?: boolean;
}

/** The name OpenSSH uses for a host: `host`, or `[host]:port` when the port is not 22. */
export function hostEntryName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );
  return re.test(name);
}

function hostMatches(field: string, name: string): boolean {
  let matched = false;
  for (const pat of field.split(',')) {
    if (pat.startsWith('|1|')) {
      const [, , salt, hash] = pat.split('|');
      if (!salt || !hash) continue;
      // OpenSSH looks host names up in lower case (ssh lowercases the name it is given), so it hashed them so.
      const h = createHmac('sha1', Buffer.from(salt, 'base64')).update(name.toLowerCase()).digest('base64');
      if (h === hash) matched = true;
    } else if (pat.startsWith('!')) {
      if (globMatch(pat.slice(1), name)) return false;
    } else if (globMatch(pat, name)) matched = true;
  }
  return matched;
}

/** The keys `text` (a known_hosts file) lists for `name`. */
export function keysFor(text: string, name: string): KnownKey[] {
  const out: KnownKey[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const parts = line.split(/\s+/);
    let marker: string | undefined;
    if (parts[0]!.startsWith('@')) marker = parts.shift();
    const [hosts, type, key] = parts;
    if (!hosts || !type || !key || marker === '@cert-authority') continue;
    if (hostMatches(hosts, name)) out.push({ type, key, ...(marker === '@revoked' ? { revoked: true } : {}) });
  }
  return out;
}

export function readKnownHosts(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}

/** Append a key for `name` to a known_hosts file (creating it, mode 0600). */
export function addKnownHost(path: string, name: string, type: string, keyB64: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  appendFileSync(path, `${name} ${type} ${keyB64}\n`, { mode: 0o600 });
}

/** The key type named inside an SSH public key blob (e.g. `ssh-ed25519`). */
export function keyTypeOf(blob: Buffer): string {
  const len = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + len).toString('latin1');
}

export type HostKeyVerdict =
  { result: 'match' } | { result: 'unknown' } | { result: 'mismatch'; expected: string[] } | { result: 'revoked' };

/** Check a host key blob against the known keys of a host. */
export function checkHostKey(known: KnownKey[], blob: Buffer): HostKeyVerdict {
  const b64 = blob.toString('base64');
  if (known.some((k) => k.revoked && k.key === b64)) return { result: 'revoked' };
  const live = known.filter((k) => !k.revoked);
  if (live.some((k) => k.key === b64)) return { result: 'match' };
  if (live.length === 0) return { result: 'unknown' };
  return { result: 'mismatch', expected: live.map((k) => k.type) };
}
