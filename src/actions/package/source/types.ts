/** The options of `packageSource`, one section per package manager. */
import type { ScriptContext } from '../../../plan/types.js';
import type { ChangeOptions } from '../../../plan/types.js';

export interface AptSource {
  /** Repository URL, or a `ppa:user/name` (Ubuntu). */
  url: string;
  /** Components (default ['main']); none for a flat repository (release './'). */
  scopes?: string[];
  /** Release (default: the node's codename; `{codename}` in it is replaced by the node's, e.g. `{codename}-backports`). */
  release?: string;
  sourceType?: 'deb' | 'deb-src';
  /** Armored or binary key to trust for this source only (signed-by). */
  key?: string;
  /** URL of the key, fetched on the node (curl or wget) on every run and applied when it changed. */
  keyUrl?: string;
  /** Fingerprint (or long id) of the key, fetched with gpg from `keyServer` into this source's keyring when missing. */
  keyId?: string;
  /** Key server for `keyId` (default hkps://keyserver.ubuntu.com). */
  keyServer?: string;
}

export interface YumSource {
  url?: string;
  mirrorlist?: string;
  gpgkey?: string;
  priority?: number;
  enabled?: boolean;
}

export interface PackageSourceOptions extends ChangeOptions {
  apt?: AptSource;
  yum?: YumSource;
  /** Alpine: a repository line in /etc/apk/repositories (managed as its own marked entry). */
  apk?: { url: string };
  /** Arch: a `[name]` section with this server in /etc/pacman.conf (the whole section is managed). */
  pacman?: { url: string; sigLevel?: string };
  /** Homebrew: a tap (`user/repo`), optionally from a URL. */
  brew?: { tap: string; url?: string };
}

/** The script for one source on one kind of node. */
export type SourceScript = (name: string, opts: PackageSourceOptions, ctx: ScriptContext) => string;

/** The options section a package manager needs, or a clear error naming the source. */
export function section<K extends keyof PackageSourceOptions>(
  name: string,
  opts: PackageSourceOptions,
  key: K,
  packager: string | undefined,
): NonNullable<PackageSourceOptions[K]> {
  const s = opts[key];
  if (!s)
    throw new Error(
      `packageSource '${name}': no ${key} options for ${/^[aeiou]/.test(packager ?? key) ? 'an' : 'a'} ${packager ?? key} node`,
    );
  return s;
}
