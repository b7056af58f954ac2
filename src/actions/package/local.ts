/** `installDeb` and `addRpm`: install a package file already on the node, unless that version is installed. */
import * as z from 'zod';
import type { ChangeOptions } from '../../plan/types.js';
import { defineAction } from '../../plan/action.js';
import { shQuote } from '../../script/quote.js';
import { validate } from '../../core/validate.js';
import { aptFunctionsFor } from './common.js';
import { mutation } from '../../script/check.js';

interface LocalPkgArgs {
  path: string;
}

/**
 * Install a `.deb` already on the node, unless that version is installed. It is
 * installed through apt (its dependencies from the node's sources; conffiles as
 * `pkg`: the admin's kept).
 *
 * @example
 * ```ts
 * remoteFile('/tmp/app.deb', { localFile: 'dist/app.deb' });
 * installDeb('/tmp/app.deb');
 * ```
 */
export const installDeb = defineAction<[path: string, opts?: ChangeOptions], LocalPkgArgs>({
  name: 'installDeb',
  execution: 'in-sequence',
  optionsParam: 1,
  parse: (path) => ({ path: validate(z.string().min(1), path, 'installDeb') }),
  summary: ([a]) => `installDeb ${a?.path ?? ''}`,
  script: ([a], ctx) => {
    const p = shQuote(a!.path);
    return {
      script: [
        // In check mode pallet_apt is apt's simulation of the same install.
        aptFunctionsFor(ctx),
        `pallet_pkg=$(dpkg-deb -f ${p} Package) && pallet_ver=$(dpkg-deb -f ${p} Version) || exit 1`,
        `if [ "$(dpkg-query -W -f='\${Status} \${Version}' "$pallet_pkg" 2>/dev/null)" != "install ok installed $pallet_ver" ]; then`,
        // Through apt, which installs its dependencies first (dpkg -i would leave it unconfigured without them).
        `  case ${p} in /*) pallet_deb=${p} ;; *) pallet_deb=./${p} ;; esac`,
        '  pallet_apt install "$pallet_deb" || exit 1',
        '  pallet_changed',
        'fi',
      ].join('\n'),
      changes: 'reported',
      checked: true,
    };
  },
});

/**
 * Install an `.rpm` already on the node, unless that package version is installed.
 *
 * @example
 * ```ts
 * remoteFile('/tmp/app.rpm', { localFile: 'dist/app.rpm' });
 * addRpm('/tmp/app.rpm');
 * ```
 */
export const addRpm = defineAction<[path: string, opts?: ChangeOptions], LocalPkgArgs>({
  name: 'addRpm',
  execution: 'in-sequence',
  optionsParam: 1,
  parse: (path) => ({ path: validate(z.string().min(1), path, 'addRpm') }),
  summary: ([a]) => `addRpm ${a?.path ?? ''}`,
  script: ([a], ctx) => {
    const p = shQuote(a!.path);
    return {
      script: `if ! rpm -q "$(rpm -qp ${p})" >/dev/null 2>&1; then ${mutation(ctx, `rpm -U --quiet ${p}`, `"install $(rpm -qp ${p})"`)}; pallet_changed; fi`,
      changes: 'reported',
      checked: true,
    };
  },
});
