/**
 * Repository crates (Pallet's `pallet.crate.package.debian-backports` and
 * `pallet.crate.package.epel`).
 */
import * as z from 'zod';
import { execScript } from '../actions/exec.js';
import { packageManager } from '../actions/package/manager.js';
import { packageSource } from '../actions/package/source/index.js';
import { packageSourceChangedFlag } from '../actions/package/common.js';
import { withContext, currentSession, planWhen } from '../plan/session.js';
import { targetFlag } from '../plan/flags.js';
import { shQuote } from '../script/quote.js';
import { validate } from '../core/validate.js';

export interface BackportsOptions {
  /** The Debian mirror (default `http://deb.debian.org/debian`). */
  url?: string;
  /** Default `<the node's codename>-backports`. */
  release?: string;
  /** Default `['main']`. */
  scopes?: string[];
  /** Run `apt-get update` in the same phase when the source was added or changed (default true). */
  update?: boolean;
}

/**
 * Add Debian's backports repository (`/etc/apt/sources.list.d/debian-backports.list`) for the node's release.
 * Packages from it are installed with `pkg(name, { ... })` after the update; apt never prefers backports on its
 * own (they have a low pin priority), so nothing else changes version.
 *
 * @example
 * ```ts
 * addDebianBackports();
 * pkg('golang/bookworm-backports');
 * ```
 */
export function addDebianBackports(opts: BackportsOptions = {}): void {
  return withContext('addDebianBackports', () => {
    currentSession('addDebianBackports');
    packageSource('debian-backports', {
      apt: {
        url: opts.url ?? 'http://deb.debian.org/debian',
        release: opts.release ?? '{codename}-backports',
        scopes: opts.scopes ?? ['main'],
      },
    });
    if (opts.update !== false) planWhen(targetFlag(packageSourceChangedFlag), () => void packageManager('update'));
  });
}

/**
 * Add EPEL on the Red Hat family: the `epel-release` package of the node's major version from
 * dl.fedoraproject.org, unless it is installed already. Checked at the script level (no RHEL node in the tests).
 *
 * @example
 * ```ts
 * addEpel({ version: 9 });
 * ```
 */
export function addEpel(opts: { version?: string | number } = {}): void {
  return withContext('addEpel', () => {
    currentSession('addEpel');
    const v =
      opts.version === undefined
        ? undefined
        : validate(z.union([z.string().regex(/^[0-9]+$/), z.number().int().positive()]), opts.version, 'addEpel');
    const major = v === undefined ? '"$(rpm -E %rhel)"' : shQuote(String(v));
    execScript(
      `pallet_v=${major}; case $pallet_v in ''|*[!0-9]*) echo "addEpel: cannot tell the major version of this node (give version)" >&2; exit 1 ;; esac\n` +
        'rpm -U --quiet "https://dl.fedoraproject.org/pub/epel/epel-release-latest-$pallet_v.noarch.rpm"',
      { unless: 'rpm -q --quiet epel-release' },
    );
  });
}
