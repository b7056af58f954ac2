/**
 * Users that authenticate to nodes: the admin user, and the image's login user
 * used by `bootstrap`.
 */
import { existsSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { NodeAdminUser } from './types.js';

export interface User {
  username: string;
  privateKeyPath?: string;
  publicKeyPath?: string;
  /** Private key text (instead of a path). */
  privateKey?: string;
  publicKey?: string;
  passphrase?: string;
  /** Login password. */
  password?: string;
  /** Password given to `sudo -S`. */
  sudoPassword?: string;
  /** Run commands as the login user, without sudo. */
  noSudo?: boolean;
  /** The user sudo switches to (default root). */
  sudoUser?: string;
  /** Root of pallet's state on nodes (default `/var/lib/pallet`). */
  stateRoot?: string;
}

export type MakeUserOptions = Omit<User, 'username'>;

function defaultKeyPaths(): { privateKeyPath: string; publicKeyPath: string } {
  const dir = join(homedir(), '.ssh');
  for (const name of ['id_ed25519', 'id_ecdsa', 'id_rsa']) {
    const p = join(dir, name);
    if (existsSync(p)) return { privateKeyPath: p, publicKeyPath: `${p}.pub` };
  }
  return { privateKeyPath: join(dir, 'id_rsa'), publicKeyPath: join(dir, 'id_rsa.pub') };
}

/**
 * A user. Without a password or key, the first of `~/.ssh/id_ed25519`,
 * `id_ecdsa`, `id_rsa` that exists is used (as the original's `~/.ssh/id_rsa`).
 * With a password and no sudo password, the password is also used for sudo.
 */
export function makeUser(username: string, opts: MakeUserOptions = {}): User {
  const u: User = { username, ...opts };
  if (!u.password && !u.privateKey && !u.privateKeyPath) Object.assign(u, defaultKeyPaths());
  if (u.password && u.sudoPassword === undefined) u.sudoPassword = u.password;
  return u;
}

/** The default admin user: the current user name (or `PALLET_ADMIN_USERNAME`) with the default keys. */
export function defaultAdminUser(): User {
  return makeUser(process.env.PALLET_ADMIN_USERNAME ?? userInfo().username);
}

/**
 * The credentials for an image's login user (bootstrap of a new node): the
 * admin user's key material unless the image gives its own, and never the
 * admin user's passwords or sudo settings, which belong to another account.
 */
export function imageCredentials(admin: User, image: { username: string } & Partial<User>): User {
  const keys: Partial<User> = {};
  for (const k of ['privateKeyPath', 'publicKeyPath', 'privateKey', 'publicKey', 'passphrase'] as const) {
    if (admin[k] !== undefined) keys[k] = admin[k];
  }
  return { ...keys, ...image };
}

/**
 * The admin user with a node's own login settings over it. A node's key replaces the admin user's key (and its
 * public key; a passphrase is kept); a node's `noSudo`/`sudoUser` replace the admin user's.
 */
export function withNodeAdmin(admin: User, node: NodeAdminUser): User {
  const u: User = { ...admin };
  if (node.username) u.username = node.username;
  if (node.privateKeyPath) {
    delete u.privateKey;
    delete u.publicKey;
    u.privateKeyPath = node.privateKeyPath;
    u.publicKeyPath = `${node.privateKeyPath}.pub`;
  }
  if (node.noSudo !== undefined || node.sudoUser !== undefined) {
    delete u.noSudo;
    delete u.sudoUser;
    if (node.noSudo) u.noSudo = true;
    if (node.sudoUser) u.sudoUser = node.sudoUser;
  }
  return u;
}

/** A copy of the user safe to print: secrets replaced. */
export function redactUser(u: User): Record<string, unknown> {
  const out: Record<string, unknown> = { ...u };
  for (const k of ['password', 'sudoPassword', 'passphrase', 'privateKey'] as const) {
    if (out[k] !== undefined) out[k] = '<sensitive>';
  }
  return out;
}

/** Where pallet keeps its files on a node when the admin user names no `stateRoot`. */
export const defaultStateRoot = '/var/lib/pallet';
