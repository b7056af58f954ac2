/**
 * Users and groups. `user` is aggregated (one script for every call of a
 * scope) and runs after `group`. Each field is compared with what the node
 * has, and only differing fields are changed, so a second run changes nothing.
 */
import * as z from 'zod';
import type { ChangeOptions } from '../plan/types.js';
import { defineAction } from '../plan/action.js';
import { shArgs, shQuote } from '../script/quote.js';
import { validate } from '../core/validate.js';
import { mutation, type CheckMode } from '../script/check.js';

const accountName = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_.-]*\$?$/,
    'user and group names are letters, digits, _ . - (not starting with a digit or -)',
  );

export type Shell = 'bash' | 'csh' | 'ksh' | 'rsh' | 'sh' | 'tcsh' | 'zsh' | 'false' | `/${string}`;

export interface UserOptions extends ChangeOptions {
  /** `manage` (default: create or bring up to date), `create` (only if missing), `lock`, `unlock`, `remove`. */
  action?: 'manage' | 'create' | 'lock' | 'unlock' | 'remove';
  shell?: Shell;
  /** Create the home directory (default true for new users). */
  createHome?: boolean;
  baseDir?: string;
  home?: string;
  system?: boolean;
  comment?: string;
  /** Primary group. */
  group?: string;
  /** Supplementary groups: exactly these, or added to the current ones with `append`. */
  groups?: string[];
  append?: boolean;
  /** An already-crypted password (as in /etc/shadow). */
  password?: string;
  /** With `remove`: also remove the home directory. */
  removeHome?: boolean;
}

const userOptions = z.strictObject({
  action: z.enum(['manage', 'create', 'lock', 'unlock', 'remove']).optional(),
  shell: z
    .string()
    .regex(/^(bash|csh|ksh|rsh|sh|tcsh|zsh|false|\/[^:\n]*)$/)
    .optional(),
  createHome: z.boolean().optional(),
  baseDir: z
    .string()
    .regex(/^\/[^:\n]*$/)
    .optional(),
  home: z
    .string()
    .regex(/^\/[^:\n]*$/)
    .optional(),
  system: z.boolean().optional(),
  // Control characters make useradd fail (and would garble /etc/passwd): refused at plan time.
  comment: z
    .string()
    .regex(/^[^:\x00-\x1f\x7f]*$/, 'no colon and no control characters (newline, tab, ...)')
    .optional(),
  group: accountName.optional(),
  groups: z.array(accountName).optional(),
  append: z.boolean().optional(),
  password: z
    .string()
    .regex(/^[^:\x00-\x1f\x7f]*$/, 'a crypted password: no colon and no control characters')
    .optional(),
  removeHome: z.boolean().optional(),
});

interface UserArgs {
  name: string;
  opts: UserOptions;
}

function shellPath(s: string): string {
  return s.startsWith('/') ? s : `/bin/${s}`;
}

function stanza({ name, opts }: UserArgs, c: CheckMode): string {
  const u = shQuote(name);
  const action = opts.action ?? 'manage';
  if (action === 'remove') {
    return `if getent passwd ${u} >/dev/null; then ${mutation(c, `userdel${opts.removeHome ? ' -r' : ''} ${u}`, shQuote(`remove user ${name}${opts.removeHome ? ' and its home' : ''}`))}; pallet_changed; fi`;
  }
  const shadowField = `$(getent shadow ${u} | cut -d: -f2)`;
  if (action === 'lock') {
    return `if getent passwd ${u} >/dev/null; then case "${shadowField}" in '!'*) ;; *) ${mutation(c, `usermod -L ${u}`, shQuote(`lock user ${name}`))}; pallet_changed ;; esac; else echo "user ${name} does not exist" >&2; exit 1; fi`;
  }
  if (action === 'unlock') {
    return `if getent passwd ${u} >/dev/null; then case "${shadowField}" in '!'?*) ${mutation(c, `usermod -U ${u}`, shQuote(`unlock user ${name}`))}; pallet_changed ;; esac; else echo "user ${name} does not exist" >&2; exit 1; fi`;
  }
  const add: string[] = [];
  if (opts.createHome ?? true) add.push('-m');
  else add.push('-M');
  if (opts.baseDir) add.push('-b', shQuote(opts.baseDir));
  if (opts.home) add.push('-d', shQuote(opts.home));
  if (opts.system) add.push('-r');
  if (opts.comment !== undefined) add.push('-c', shQuote(opts.comment));
  if (opts.group) add.push('-g', shQuote(opts.group));
  if (opts.groups?.length) add.push('-G', shQuote(opts.groups.join(',')));
  if (opts.shell) add.push('-s', shQuote(shellPath(opts.shell)));
  // The hash never goes on a command line (visible in ps): printf is a shell builtin, chpasswd reads stdin.
  const setPassword =
    opts.password !== undefined ? `printf '%s:%s\\n' ${u} ${shQuote(opts.password)} | chpasswd -e || exit 1` : '';
  const create = c?.check
    ? `pallet_would ${shQuote(`create user ${name}`)}; pallet_changed`
    : `useradd ${add.join(' ')} ${u} || exit 1; ${setPassword ? `${setPassword}; ` : ''}pallet_changed`;
  if (action === 'create') return `if ! getent passwd ${u} >/dev/null; then ${create}; fi`;
  const field = (n: number) => `"$(getent passwd ${u} | cut -d: -f${n})"`;
  // A field that differs: its usermod arguments, and in check mode its would-line.
  const need = (same: string, args: string, what: string) =>
    c?.check
      ? `${same} || { set -- "$@" ${args}; pallet_would ${shQuote(`user ${name}: ${what}`)}; }`
      : `${same} || set -- "$@" ${args}`;
  const mod: string[] = ['set --'];
  if (opts.home)
    mod.push(need(`[ ${field(6)} = ${shQuote(opts.home)} ]`, `-d ${shQuote(opts.home)}`, `home -> ${opts.home}`));
  if (opts.shell)
    mod.push(
      need(
        `[ ${field(7)} = ${shQuote(shellPath(opts.shell))} ]`,
        `-s ${shQuote(shellPath(opts.shell))}`,
        `shell -> ${shellPath(opts.shell)}`,
      ),
    );
  if (opts.comment !== undefined)
    mod.push(
      need(`[ ${field(5)} = ${shQuote(opts.comment)} ]`, `-c ${shQuote(opts.comment)}`, `comment -> ${opts.comment}`),
    );
  if (opts.group)
    mod.push(
      need(
        `[ "$(id -gn ${u})" = ${shQuote(opts.group)} ]`,
        `-g ${shQuote(opts.group)}`,
        `primary group -> ${opts.group}`,
      ),
    );
  if (opts.password !== undefined) {
    mod.push(
      `[ "${shadowField}" = ${shQuote(opts.password)} ] || { ${c?.check ? `pallet_would ${shQuote(`user ${name}: set its password`)}` : setPassword}; pallet_changed; }`,
    );
  }
  if (opts.groups) {
    if (opts.append) {
      mod.push('pallet_missing=');
      for (const g of opts.groups) {
        mod.push(
          `id -Gn ${u} | tr ' ' '\\n' | grep -qxF ${shQuote(g)} || pallet_missing="\${pallet_missing:+$pallet_missing,}"${shQuote(g)}`,
        );
      }
      mod.push('[ -z "$pallet_missing" ] || set -- "$@" -a -G "$pallet_missing"');
      if (c?.check)
        mod.push(`[ -z "$pallet_missing" ] || pallet_would ${shQuote(`add ${name} to groups `)}"$pallet_missing"`);
    } else {
      // Compared as sets, both sides sorted on the node with LC_ALL=C; the primary group
      // (the new one when `group` changes it) is not a supplementary group.
      const primary = opts.group ? shQuote(opts.group) : `"$(id -gn ${u})"`;
      const normal = 'grep -vxF "$pallet_pg" | LC_ALL=C sort -u | paste -sd, -';
      mod.push(
        `pallet_pg=${primary}`,
        `pallet_cur=$(id -Gn ${u} | tr ' ' '\\n' | ${normal})`,
        `pallet_want=$(printf '%s\\n' ${shArgs(opts.groups.length ? opts.groups : [''])} | grep -v '^$' | ${normal})`,
        '[ "$pallet_cur" = "$pallet_want" ] || set -- "$@" -G "$pallet_want"',
      );
      if (c?.check)
        mod.push(
          `[ "$pallet_cur" = "$pallet_want" ] || pallet_would ${shQuote(`user ${name}: groups `)}"$pallet_cur -> $pallet_want"`,
        );
    }
  }
  mod.push(`if [ $# -gt 0 ]; then ${c?.check ? ':' : `usermod "$@" ${u} || exit 1`}; pallet_changed; fi`);
  return `if getent passwd ${u} >/dev/null; then\n${mod.join('\n')}\nelse\n${create}\nfi`;
}

/**
 * Create, update, lock, unlock or remove a user.
 *
 * @example
 * ```ts
 * user('deploy', { shell: 'bash', groups: ['sudo'], home: '/home/deploy' });
 * user('olduser', { action: 'remove', removeHome: true });
 * ```
 */
export const user = defineAction<[name: string, opts?: UserOptions], UserArgs>({
  name: 'user',
  execution: 'aggregated',
  optionsParam: 1,
  alwaysAfter: ['group'],
  parse: (name, opts = {}) => ({
    name: validate(accountName, name, 'user'),
    opts: validate(userOptions, opts, `user '${name}'`) as UserOptions,
  }),
  summary: (args) =>
    `user ${args.map((a) => (a.opts.action && a.opts.action !== 'manage' ? `${a.opts.action}:${a.name}` : a.name)).join(' ')}`,
  // Each user in its own subshell: one that fails does not stop the others; the action fails after all ran.
  script: (args, ctx) => ({
    sensitive: args.flatMap((a) => (a.opts.password !== undefined ? [a.opts.password] : [])),
    checked: true,
    script: [
      'pallet_failed=',
      ...args.map((a) => `(\n${stanza(a, ctx)}\n) || pallet_failed="$pallet_failed "${shQuote(a.name)}`),
      'if [ -n "$pallet_failed" ]; then echo "user: failed for:$pallet_failed" >&2; exit 1; fi',
    ].join('\n'),
    changes: 'reported',
  }),
});

export interface GroupOptions extends ChangeOptions {
  /** `manage` (default), `create` (only if missing), `remove`. */
  action?: 'manage' | 'create' | 'remove';
  system?: boolean;
  gid?: number;
}

interface GroupArgs {
  name: string;
  opts: GroupOptions;
}

/**
 * Create, update or remove a group.
 *
 * @example
 * ```ts
 * group('deployers', { system: true });
 * ```
 */
export const group = defineAction<[name: string, opts?: GroupOptions], GroupArgs>({
  name: 'group',
  execution: 'in-sequence',
  optionsParam: 1,
  parse: (name, opts = {}) => ({
    name: validate(accountName, name, 'group'),
    opts: validate(
      z.strictObject({
        action: z.enum(['manage', 'create', 'remove']).optional(),
        system: z.boolean().optional(),
        gid: z.number().int().nonnegative().optional(),
      }),
      opts,
      `group '${name}'`,
    ) as GroupOptions,
  }),
  summary: ([a]) => `group ${a?.name ?? ''}`,
  script: ([a], ctx) => {
    const { name, opts } = a!;
    const g = shQuote(name);
    if (opts.action === 'remove')
      return {
        script: `if getent group ${g} >/dev/null; then ${mutation(ctx, `groupdel ${g}`, shQuote(`remove group ${name}`))}; pallet_changed; fi`,
        changes: 'reported',
        checked: true,
      };
    const add = [
      'groupadd',
      ...(opts.system ? ['-r'] : []),
      ...(opts.gid !== undefined ? ['-g', String(opts.gid)] : []),
      g,
    ].join(' ');
    const lines = [
      `if ! getent group ${g} >/dev/null; then ${mutation(ctx, add, shQuote(`create group ${name}`))}; pallet_changed`,
    ];
    if (opts.action !== 'create' && opts.gid !== undefined) {
      lines.push(
        `elif [ "$(getent group ${g} | cut -d: -f3)" != '${opts.gid}' ]; then ${mutation(ctx, `groupmod -g ${opts.gid} ${g}`, shQuote(`group ${name}: gid -> ${opts.gid}`))}; pallet_changed`,
      );
    }
    lines.push('fi');
    return { script: lines.join('\n'), changes: 'reported', checked: true };
  },
});
