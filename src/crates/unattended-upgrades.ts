/**
 * Automatic security updates on Debian and Ubuntu, beyond Pallet:
 * `unattendedUpgrades(settings)` installs unattended-upgrades, turns on apt's
 * periodic runs (`/etc/apt/apt.conf.d/20auto-upgrades`) and writes its policy
 * to a file of its own (`52pallet-unattended-upgrades`, read after the
 * package's `50unattended-upgrades`, whose origin list it replaces with
 * `#clear`). Each file is checked with `apt-config` before it replaces the old
 * one: a syntax error in apt.conf.d breaks every apt command on the node.
 */
import * as z from 'zod';
import { pkg } from '../actions/package/index.js';
import { remoteFile } from '../actions/remote-file.js';
import { withContext, currentSession } from '../plan/session.js';
import { validate } from '../core/validate.js';

export interface UnattendedUpgradesSettings {
  /**
   * `Unattended-Upgrade::Origins-Pattern` entries (default: the release and its security updates,
   * `origin=Debian,codename=${distro_codename},label=Debian` and `...,label=Debian-Security`, plus
   * `${distro_codename}-security` for Debian 12's layout).
   */
  origins?: string[];
  /** Packages never upgraded automatically. */
  blacklist?: string[];
  /** Reboot when an upgrade needs it (default false), at `autoRebootTime` (default `02:00`). */
  autoReboot?: boolean;
  autoRebootTime?: string;
  /** Remove dependencies no longer needed (default true). */
  removeUnusedDependencies?: boolean;
  /** Mail a report to this address (needs a mailer on the node). */
  mail?: string;
  /** Days between list updates and upgrade runs (default 1; 0 turns the periodic run off). */
  interval?: number;
}

const text = z.string().regex(/^[^"\n\r\\]+$/, 'no quote, backslash or newline');
const schema = z.strictObject({
  origins: z.array(text).min(1).optional(),
  blacklist: z.array(text).optional(),
  autoReboot: z.boolean().optional(),
  autoRebootTime: z
    .string()
    .regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, 'HH:MM')
    .optional(),
  removeUnusedDependencies: z.boolean().optional(),
  mail: text.optional(),
  interval: z.number().int().nonnegative().optional(),
});

const defaultOrigins = [
  'origin=Debian,codename=${distro_codename},label=Debian',
  'origin=Debian,codename=${distro_codename},label=Debian-Security',
  'origin=Debian,codename=${distro_codename}-security,label=Debian-Security',
];

const list = (name: string, items: string[]) =>
  `#clear ${name};\n${name} {\n${items.map((i) => `  "${i}";\n`).join('')}};\n`;

/**
 * The policy file's content (exported for review and tests).
 *
 * @example
 * ```ts
 * const text = unattendedUpgradesPolicy({ autoReboot: true });
 * ```
 */
export function unattendedUpgradesPolicy(settings: UnattendedUpgradesSettings = {}): string {
  const s = validate(schema, settings, 'unattendedUpgrades') as UnattendedUpgradesSettings;
  return [
    '// managed by pallet (unattendedUpgrades)\n',
    list('Unattended-Upgrade::Origins-Pattern', s.origins ?? defaultOrigins),
    list('Unattended-Upgrade::Package-Blacklist', s.blacklist ?? []),
    `Unattended-Upgrade::Automatic-Reboot "${s.autoReboot ? 'true' : 'false'}";\n`,
    `Unattended-Upgrade::Automatic-Reboot-Time "${s.autoRebootTime ?? '02:00'}";\n`,
    `Unattended-Upgrade::Remove-Unused-Dependencies "${s.removeUnusedDependencies === false ? 'false' : 'true'}";\n`,
    ...(s.mail ? [`Unattended-Upgrade::Mail "${s.mail}";\n`] : []),
  ].join('');
}

/**
 * Automatic security updates (Debian, Ubuntu): installs unattended-upgrades, turns on apt's periodic runs and
 * writes its policy to a file of its own, each file checked with `apt-config` before it replaces the old one.
 *
 * @example
 * ```ts
 * unattendedUpgrades({ autoReboot: false });
 * ```
 */
export function unattendedUpgrades(settings: UnattendedUpgradesSettings = {}): void {
  return withContext('unattendedUpgrades', () => {
    currentSession('unattendedUpgrades');
    const policy = unattendedUpgradesPolicy(settings);
    const days = settings.interval ?? 1;
    pkg('unattended-upgrades');
    const file = {
      owner: 'root',
      group: 'root',
      mode: '0644',
      verify: `sh -c 'apt-config dump -c "$1" > /dev/null' apt-config`,
    } as const;
    remoteFile('/etc/apt/apt.conf.d/20auto-upgrades', {
      ...file,
      content: `APT::Periodic::Update-Package-Lists "${days}";\nAPT::Periodic::Unattended-Upgrade "${days}";\n`,
    });
    remoteFile('/etc/apt/apt.conf.d/52pallet-unattended-upgrades', { ...file, content: policy });
  });
}
