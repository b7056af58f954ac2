/**
 * Crontabs (Pallet's `pallet.crate.crontab`): a user's crontab, loaded with
 * `crontab -u`, and system crontabs in `/etc/cron.d`; written directly or from
 * the `crontab` settings (`crontabSettings`, `userCrontabSettings`,
 * `systemCrontabSettings` in the settings phase, `configureCrontabs` in
 * configure, or `crontabServer(settings)`).
 */
import * as z from 'zod';
import { defineAction } from '../plan/action.js';
import { remoteFile } from '../actions/remote-file.js';
import { withContext, currentSession } from '../plan/session.js';
import { getSettings, updateSettings, type SettingsOptions } from '../plan/settings.js';
import type { ChangeOptions } from '../plan/types.js';
import { mutation } from '../script/check.js';
import { shQuote, writeBytes } from '../script/quote.js';
import { serverSpec, type ServerSpec } from '../model/specs.js';
import { validate } from '../core/validate.js';

const account = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, 'a user name');
// cron skips files in /etc/cron.d whose names have a dot (or other characters run-parts refuses).
const cronName = z
  .string()
  .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only (cron ignores /etc/cron.d files with a dot in the name)');

/** A crontab: its text, or its lines. */
export type CrontabContent = string | string[];

function text(c: CrontabContent): string {
  const t = Array.isArray(c) ? c.join('\n') : c;
  // cron ignores a last line without a newline.
  return t === '' || t.endsWith('\n') ? t : `${t}\n`;
}

interface UserCrontabArgs {
  user: string;
  content: string;
  remove: boolean;
}

/**
 * Make `user`'s crontab exactly `content` (`crontab -u user`), or remove it (`{ action: 'remove' }`). The
 * current crontab is compared first: an equal one is not loaded again. Needs cron's `crontab` on the node.
 *
 * @example
 * ```ts
 * crontab('deploy', ['0 * * * * /opt/app/bin/tick']);
 * ```
 */
export const crontab = defineAction<
  [user: string, content: CrontabContent, opts?: { action?: 'create' | 'remove' } & ChangeOptions],
  UserCrontabArgs
>({
  name: 'crontab',
  execution: 'in-sequence',
  optionsParam: 2,
  parse: (user, content, opts = {}) => ({
    user: validate(account, user, 'crontab'),
    content: text(validate(z.union([z.string(), z.array(z.string())]), content, `crontab '${user}'`)),
    remove:
      validate(z.strictObject({ action: z.enum(['create', 'remove']).optional() }), opts, `crontab '${user}'`)
        .action === 'remove',
  }),
  summary: ([a]) => `crontab ${a?.user ?? ''}${a?.remove ? ' (remove)' : ''}`,
  script: ([a], ctx) => {
    const u = shQuote(a!.user);
    const lines = [
      `command -v crontab >/dev/null 2>&1 || { echo 'crontab: no crontab command on this node (install cron)' >&2; exit 1; }`,
      `id ${u} >/dev/null 2>&1 || { echo ${shQuote(`crontab: no user ${a!.user}`)} >&2; exit 1; }`,
      // "no crontab for x" is an empty crontab; any other failure of -l is an error.
      `pallet_cur=$(mktemp) && pallet_new=$(mktemp) || exit 1`,
      `trap 'rm -f "$pallet_cur" "$pallet_new"' EXIT`,
      `if crontab -u ${u} -l > "$pallet_cur" 2>"$pallet_new"; then pallet_has=1; elif grep -qi 'no crontab' "$pallet_new"; then pallet_has=; : > "$pallet_cur"; else cat "$pallet_new" >&2; exit 1; fi`,
    ];
    if (a!.remove) {
      lines.push(
        `if [ -n "$pallet_has" ]; then ${mutation(ctx, `crontab -u ${u} -r`, shQuote(`remove the crontab of ${a!.user}`))}; pallet_changed; fi`,
      );
    } else {
      lines.push(
        writeBytes(a!.content, '"$pallet_new"', 'exit 1'),
        ...(ctx.check
          ? [
              `if [ -z "$pallet_has" ] || ! cmp -s "$pallet_cur" "$pallet_new"; then pallet_diff ${shQuote(`crontab of ${a!.user}`)} "$pallet_cur" "$pallet_new"; pallet_changed; fi`,
            ]
          : [
              `if [ -z "$pallet_has" ] || ! cmp -s "$pallet_cur" "$pallet_new"; then crontab -u ${u} "$pallet_new" || exit 1; pallet_changed; fi`,
            ]),
      );
    }
    return { script: lines.join('\n'), changes: 'reported', checked: true };
  },
});

/**
 * A system crontab, `/etc/cron.d/<name>` (lines with a user field: `m h dom mon dow user command`), owned by
 * root, mode 0644, replaced atomically; `{ action: 'remove' }` deletes it.
 *
 * @example
 * ```ts
 * systemCrontab('backup', '30 2 * * * root /usr/local/bin/backup');
 * ```
 */
export function systemCrontab(
  name: string,
  content: CrontabContent,
  opts: { action?: 'create' | 'remove' } & ChangeOptions = {},
): void {
  return withContext('systemCrontab', () => {
    currentSession('systemCrontab');
    const path = `/etc/cron.d/${validate(cronName, name, 'systemCrontab')}`;
    const flag = opts.flagOnChanged === undefined ? {} : { flagOnChanged: opts.flagOnChanged };
    if (opts.action === 'remove') remoteFile(path, { action: 'delete', ...flag });
    else remoteFile(path, { content: text(content), owner: 'root', group: 'root', mode: '0644', ...flag });
  });
}

/** The `crontab` settings: user crontabs and system crontabs by name. */
export interface CrontabSettings {
  user?: Record<string, CrontabContent>;
  system?: Record<string, CrontabContent>;
}

const facility = 'crontab';

/**
 * Settings phase: declare crontabs (merged with those declared before).
 *
 * @example
 * ```ts
 * crontabSettings({ user: { deploy: ['@daily /opt/app/bin/cleanup'] } });
 * ```
 */
export function crontabSettings(settings: CrontabSettings, opts: SettingsOptions = {}): void {
  currentSession('crontabSettings');
  updateSettings(
    facility,
    (cur) => ({
      user: { ...((cur.user as CrontabSettings['user']) ?? {}), ...(settings.user ?? {}) },
      system: { ...((cur.system as CrontabSettings['system']) ?? {}), ...(settings.system ?? {}) },
    }),
    opts,
  );
}

/**
 * Settings phase: declare `user`'s crontab.
 *
 * @example
 * ```ts
 * userCrontabSettings('deploy', ['@hourly /opt/app/bin/sync']);
 * ```
 */
export function userCrontabSettings(user: string, content: CrontabContent, opts: SettingsOptions = {}): void {
  crontabSettings({ user: { [user]: content } }, opts);
}

/**
 * Settings phase: declare the system crontab `name`.
 *
 * @example
 * ```ts
 * systemCrontabSettings('logrotate-app', '0 * * * * root /usr/sbin/logrotate /etc/app/logrotate.conf');
 * ```
 */
export function systemCrontabSettings(name: string, content: CrontabContent, opts: SettingsOptions = {}): void {
  crontabSettings({ system: { [name]: content } }, opts);
}

/**
 * Configure phase: write every crontab the settings declare.
 *
 * @example
 * ```ts
 * configureCrontabs();
 * ```
 */
export function configureCrontabs(opts: SettingsOptions = {}): void {
  const s = getSettings<CrontabSettings & Record<string, unknown>>(facility, { ...opts, default: {} })!;
  for (const [user, content] of Object.entries(s.user ?? {})) crontab(user, content);
  for (const [name, content] of Object.entries(s.system ?? {})) systemCrontab(name, content);
}

/**
 * A server spec: `settings` declares the crontabs, `configure` writes them.
 *
 * @example
 * ```ts
 * const web = groupSpec('web', { extends: [crontabServer({ system: { backup: '30 2 * * * root /usr/local/bin/backup' } })] });
 * ```
 */
export function crontabServer(settings: CrontabSettings = {}, opts: SettingsOptions = {}): ServerSpec {
  return serverSpec({
    phases: {
      settings: () => crontabSettings(settings, opts),
      configure: () => configureCrontabs(opts),
    },
  });
}
