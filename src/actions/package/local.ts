/** `installDeb` and `addRpm`: install a package file already on the node, unless that version is installed. */
import { z } from 'zod';
import { defineAction } from '../../plan/action.js';
import { shQuote } from '../../script/quote.js';
import { validate } from '../../spec/spec.js';
import { aptFunctions } from './common.js';

interface LocalPkgArgs {
  path: string;
}

/**
 * Install a `.deb` already on the node, unless that version is installed. It is
 * installed through apt (its dependencies from the node's sources; conffiles as
 * `pkg`: the admin's kept).
 */
export const installDeb = defineAction<[path: string], LocalPkgArgs>({
  name: 'installDeb',
  execution: 'in-sequence',
  parse: (path) => ({ path: validate(z.string().min(1), path, 'installDeb') }),
  summary: ([a]) => `installDeb ${a?.path ?? ''}`,
  script: ([a]) => {
    const p = shQuote(a!.path);
    return {
      script: [
        aptFunctions,
        `pallet_pkg=$(dpkg-deb -f ${p} Package) && pallet_ver=$(dpkg-deb -f ${p} Version) || exit 1`,
        `if [ "$(dpkg-query -W -f='\${Status} \${Version}' "$pallet_pkg" 2>/dev/null)" != "install ok installed $pallet_ver" ]; then`,
        // Through apt, which installs its dependencies first (dpkg -i would leave it unconfigured without them).
        `  case ${p} in /*) pallet_deb=${p} ;; *) pallet_deb=./${p} ;; esac`,
        '  pallet_apt install "$pallet_deb" || exit 1',
        '  pallet_changed',
        'fi',
      ].join('\n'),
      changes: 'reported',
    };
  },
});

/** Install an `.rpm` already on the node, unless that package version is installed. */
export const addRpm = defineAction<[path: string], LocalPkgArgs>({
  name: 'addRpm',
  execution: 'in-sequence',
  parse: (path) => ({ path: validate(z.string().min(1), path, 'addRpm') }),
  summary: ([a]) => `addRpm ${a?.path ?? ''}`,
  script: ([a]) => {
    const p = shQuote(a!.path);
    return {
      script: `if ! rpm -q "$(rpm -qp ${p})" >/dev/null 2>&1; then rpm -U --quiet ${p} || exit 1; pallet_changed; fi`,
      changes: 'reported',
    };
  },
});
