/**
 * Users and groups. `user` is aggregated (one script for every call of a
 * scope) and runs after `group`. Each field is compared with what the node
 * has, and only differing fields are changed, so a second run changes nothing.
 */
import { z } from 'zod';
import { defineAction } from '../plan/action.js';
import { shArgs, shQuote } from '../script/quote.js';
import { validate } from '../spec/spec.js';

const accountName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]*\$?$/, 'user and group names are letters, digits, _ . - (not starting with a digit or -)');

export type Shell = 'bash' | 'csh' | 'ksh' | 'rsh' | 'sh' | 'tcsh' | 'zsh' | 'false' | `/${string}`;

export interface UserOptions {
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
  shell: z.string().regex(/^(bash|csh|ksh|rsh|sh|tcsh|zsh|false|\/[^:\n]*)$/).optional(),
  createHome: z.boolean().optional(),
  baseDir: z.string().regex(/^\/[^:\n]*$/).optional(),
  home: z.string().regex(/^\/[^:\n]*$/).optional(),
  system: z.boolean().optional(),
  // Control characters make useradd fail (and would garble /etc/passwd): refused at plan time.
  comment: z.string().regex(/^[^:\x00-\x1f\x7f]*$/, 'no colon and no control characters (newline, tab, ...)').optional(),
  group: accountName.optional(),
  groups: z.array(accountName).optional(),
  append: z.boolean().optional(),
  password: z.string().regex(/^[^:\x00-\x1f\x7f]*$/, 'a crypted password: no colon and no control characters').optional(),
  removeHome: z.boolean().optional(),
});

interface UserArgs {
  name: string;
  opts: UserOptions;
}

function shellPath(s: string): string {
  return s.startsWith('/') ? s : `/bin/${s}`;
}

function stanza({ name, opts }: UserArgs): string {
  const u = shQuote(name);
  const action = opts.action ?? 'manage';
  if (action === 'remove') {
    return `if getent passwd ${u} >/dev/null; then userdel${opts.removeHome ? ' -r' : ''} ${u} || exit 1; pallet_changed; fi`;
  }
  const shadowField = `$(getent shadow ${u} | cut -d: -f2)`;
  if (action === 'lock') {
    return `if getent passwd ${u} >/dev/null; then case "${shadowField}" in '!'*) ;; *) usermod -L ${u} || exit 1; pallet_changed ;; esac; else echo "user ${name} does not exist" >&2; exit 1; fi`;
  }
  if (action === 'unlock') {
    return `if getent passwd ${u} >/dev/null; then case "${shadowField}" in '!'?*) usermod -U ${u} || exit 1; pallet_changed ;; esac; else echo "user ${name} does not exist" >&2; exit 1; fi`;
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
  const setPassword = opts.password !== undefined ? `printf '%s:%s\\n' ${u} ${shQuote(opts.password)} | chpasswd -e || exit 1` : '';
  const create = `useradd ${add.join(' ')} ${u} || exit 1; ${setPassword ? `${setPassword}; ` : ''}pallet_changed`;
  if (action === 'create') return `if ! getent passwd ${u} >/dev/null; then ${create}; fi`;
  const field = (n: number) => `"$(getent passwd ${u} | cut -d: -f${n})"`;
  const mod: string[] = ['set --'];
  if (opts.home) mod.push(`[ ${field(6)} = ${shQuote(opts.home)} ] || set -- "$@" -d ${shQuote(opts.home)}`);
  if (opts.shell) mod.push(`[ ${field(7)} = ${shQuote(shellPath(opts.shell))} ] || set -- "$@" -s ${shQuote(shellPath(opts.shell))}`);
  if (opts.comment !== undefined) mod.push(`[ ${field(5)} = ${shQuote(opts.comment)} ] || set -- "$@" -c ${shQuote(opts.comment)}`);
  if (opts.group) mod.push(`[ "$(id -gn ${u})" = ${shQuote(opts.group)} ] || set -- "$@" -g ${shQuote(opts.group)}`);
  if (opts.password !== undefined) mod.push(`[ "${shadowField}" = ${shQuote(opts.password)} ] || { ${setPassword}; pallet_changed; }`);
  if (opts.groups) {
    if (opts.append) {
      mod.push('pallet_missing=');
      for (const g of opts.groups) {
        mod.push(`id -Gn ${u} | tr ' ' '\\n' | grep -qxF ${shQuote(g)} || pallet_missing="\${pallet_missing:+$pallet_missing,}"${shQuote(g)}`);
      }
      mod.push('[ -z "$pallet_missing" ] || set -- "$@" -a -G "$pallet_missing"');
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
    }
  }
  mod.push(`if [ $# -gt 0 ]; then usermod "$@" ${u} || exit 1; pallet_changed; fi`);
  return `if getent passwd ${u} >/dev/null; then\n${mod.join('\n')}\nelse\n${create}\nfi`;
}

/** Create, update, lock, unlock or remove a user. */
export const user = defineAction<[name: string, opts?: UserOptions], UserArgs>({
  name: 'user',
  execution: 'aggregated',
  alwaysAfter: ['group'],
  parse: (name, opts = {}) => ({
    name: validate(accountName, name, 'user'),
    opts: validate(userOptions, opts, `user '${name}'`) as UserOptions,
  }),
  summary: (args) => `user ${args.map((a) => (a.opts.action && a.opts.action !== 'manage' ? `${a.opts.action}:${a.name}` : a.name)).join(' ')}`,
  // Each user in its own subshell: one that fails does not stop the others; the action fails after all ran.
  script: (args) => ({
    sensitive: args.flatMap((a) => (a.opts.password !== undefined ? [a.opts.password] : [])),
    script: [
      'pallet_failed=',
      ...args.map((a) => `(\n${stanza(a)}\n) || pallet_failed="$pallet_failed "${shQuote(a.name)}`),
      'if [ -n "$pallet_failed" ]; then echo "user: failed for:$pallet_failed" >&2; exit 1; fi',
    ].join('\n'),
    changes: 'reported',
  }),
});

export interface GroupOptions {
  /** `manage` (default), `create` (only if missing), `remove`. */
  action?: 'manage' | 'create' | 'remove';
  system?: boolean;
  gid?: number;
}

interface GroupArgs {
  name: string;
  opts: GroupOptions;
}

/** Create, update or remove a group. */
export const group = defineAction<[name: string, opts?: GroupOptions], GroupArgs>({
  name: 'group',
  execution: 'in-sequence',
  parse: (name, opts = {}) => ({
    name: validate(accountName, name, 'group'),
    opts: validate(
      z.strictObject({ action: z.enum(['manage', 'create', 'remove']).optional(), system: z.boolean().optional(), gid: z.number().int().nonnegative().optional() }),
      opts,
      `group '${name}'`,
    ) as GroupOptions,
  }),
  summary: ([a]) => `group ${a?.name ?? ''}`,
  script: ([a]) => {
    const { name, opts } = a!;
    const g = shQuote(name);
    if (opts.action === 'remove') return { script: `if getent group ${g} >/dev/null; then groupdel ${g} || exit 1; pallet_changed; fi`, changes: 'reported' };
    const add = ['groupadd', ...(opts.system ? ['-r'] : []), ...(opts.gid !== undefined ? ['-g', String(opts.gid)] : []), g].join(' ');
    const lines = [`if ! getent group ${g} >/dev/null; then ${add} || exit 1; pallet_changed`];
    if (opts.action !== 'create' && opts.gid !== undefined) {
      lines.push(`elif [ "$(getent group ${g} | cut -d: -f3)" != '${opts.gid}' ]; then groupmod -g ${opts.gid} ${g} || exit 1; pallet_changed`);
    }
    lines.push('fi');
    return { script: lines.join('\n'), changes: 'reported' };
  },
});
