/**
 * fail2ban, beyond Pallet: `fail2ban({ jails: { sshd: { maxretry: 5, bantime: '1h' } } })` installs fail2ban,
 * writes `/etc/fail2ban/jail.local` from typed settings (the package's jail.conf stays as shipped), checks it
 * with `fail2ban-client -t` against a copy of the whole configuration before it replaces the old one, keeps
 * the service running, and restarts it once, at the end of the phase, when the file changed.
 */
import * as z from 'zod';
import { pkg } from '../actions/package/index.js';
import { remoteFile } from '../actions/remote-file.js';
import { service } from '../actions/service.js';
import { withContext, currentSession } from '../plan/session.js';
import { handler } from '../plan/flags.js';
import { validate } from '../core/validate.js';

/** A jail's settings (fail2ban's own names). */
export interface Fail2banJail {
  enabled?: boolean;
  port?: string | number;
  filter?: string;
  logpath?: string;
  /** `auto`, `polling`, `pyinotify`, `systemd` (Debian's default for sshd is systemd: give `polling` and a logpath where there is no journal). */
  backend?: string;
  maxretry?: number;
  /** Seconds, or fail2ban's time words (`10m`, `1h`, `1d`). */
  findtime?: string | number;
  bantime?: string | number;
  ignoreip?: string[];
  action?: string;
}

export interface Fail2banSettings {
  /** The `[DEFAULT]` section. */
  defaults?: Omit<Fail2banJail, 'enabled' | 'port' | 'filter' | 'logpath'> & { banaction?: string };
  /** Jails by name (default: `sshd`, enabled). */
  jails?: Record<string, Fail2banJail>;
  /** The service name (default `fail2ban`). */
  service?: string;
}

const word = z
  .string()
  .regex(/^[^\n\r\]\[=#;]+$/, 'one line, no [ ] = # ;')
  .refine((v) => v.trim() === v && v !== '', 'no blank at either end');
const time = z.union([
  z.number().int(),
  z.string().regex(/^(-1|[0-9]+[smhdw]?)$/, 'seconds, -1 (for ever), or a time such as 10m, 1h, 1d'),
]);
const jail = z.strictObject({
  enabled: z.boolean().optional(),
  port: z.union([word, z.number().int().positive()]).optional(),
  filter: word.optional(),
  logpath: z
    .string()
    .regex(/^\/[^\n\r]*$/, 'an absolute path')
    .optional(),
  backend: z.enum(['auto', 'polling', 'pyinotify', 'systemd']).optional(),
  maxretry: z.number().int().positive().optional(),
  findtime: time.optional(),
  bantime: time.optional(),
  ignoreip: z.array(z.string().regex(/^[0-9A-Fa-f.:/]+$/, 'an address or network')).optional(),
  action: word.optional(),
});
const schema = z.strictObject({
  defaults: jail
    .omit({ enabled: true, port: true, filter: true, logpath: true })
    .extend({ banaction: word.optional() })
    .optional(),
  jails: z.record(z.string().regex(/^[A-Za-z0-9_-]+$/, 'a jail name'), jail).optional(),
  service: z
    .string()
    .regex(/^[A-Za-z0-9@._-]+$/)
    .optional(),
});

function section(name: string, values: Record<string, unknown>): string {
  const lines = Object.entries(values)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k} = ${Array.isArray(v) ? v.join(' ') : String(v)}`);
  return `[${name}]\n${lines.map((l) => `${l}\n`).join('')}`;
}

/**
 * The jail.local content for these settings (for review and tests).
 *
 * @example
 * ```ts
 * const text = fail2banJailLocal({ jails: { sshd: { maxretry: 5 } } });
 * ```
 */
export function fail2banJailLocal(settings: Fail2banSettings = {}): string {
  const s = validate(schema, settings, 'fail2ban') as Fail2banSettings;
  const jails = s.jails ?? { sshd: { enabled: true } };
  return [
    '# managed by pallet (fail2ban)\n',
    ...(s.defaults ? [section('DEFAULT', s.defaults)] : []),
    ...Object.entries(jails).map(([n, j]) => section(n, { enabled: true, ...j })),
  ].join('\n');
}

/**
 * The flag fail2ban's configuration change sets (its restart handler watches it).
 *
 * @example
 * ```ts
 * planWhen(targetFlag(fail2banChangedFlag), () => void execScript('fail2ban-client status'));
 * ```
 */
export const fail2banChangedFlag = 'fail2ban-config-changed';

/**
 * fail2ban from typed settings: installs it, writes `/etc/fail2ban/jail.local` (jail.conf stays as shipped),
 * checks it with `fail2ban-client -t` against a copy of the whole configuration before it replaces the old
 * one, keeps the service running, and restarts it once at the end of the phase when the file changed.
 *
 * @example
 * ```ts
 * fail2ban({ jails: { sshd: { maxretry: 5, bantime: '1h' } } });
 * ```
 */
export function fail2ban(settings: Fail2banSettings = {}): void {
  return withContext('fail2ban', () => {
    currentSession('fail2ban');
    const content = fail2banJailLocal(settings);
    const name = settings.service ?? 'fail2ban';
    handler(fail2banChangedFlag, () => void service(name, { action: 'restart' }));
    pkg('fail2ban');
    remoteFile('/etc/fail2ban/jail.local', {
      content,
      owner: 'root',
      group: 'root',
      mode: '0644',
      // The whole configuration with the new jail.local, in a copy: fail2ban-client -t reads a directory.
      verify: `sh -c 'd=$(mktemp -d) && cp -a /etc/fail2ban/. "$d"/ && cp "$1" "$d/jail.local" && fail2ban-client -c "$d" -t >&2; rc=$?; rm -rf "$d"; exit $rc' fail2ban-check`,
      flagOnChanged: fail2banChangedFlag,
    });
    service(name, { action: 'start' });
  });
}
