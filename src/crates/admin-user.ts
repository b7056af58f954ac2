/**
 * The automated admin user: what `bootstrap` usually does on a fresh node.
 * Creates the admin user (home, bash), authorizes its public keys, installs
 * sudo and grants passwordless sudo through a sudoers file that `visudo -c`
 * checks before it is installed.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { ChangeOptions } from '../plan/types.js';
import { pkg } from '../actions/package/index.js';
import { sudoers } from './sudoers.js';
import { user } from '../actions/user.js';
import { defineAction } from '../plan/action.js';
import { planFn } from '../plan/plan-fn.js';
import { adminUser } from '../plan/session.js';
import { shQuote } from '../script/quote.js';
import { mutation } from '../script/check.js';
import { serverSpec, validate, type PhaseFn, type ServerSpec } from '../spec/spec.js';

interface AuthorizeArgs {
  username: string;
  keys: string[];
}

const keyLine = z.string().regex(/^(ssh-|ecdsa-|sk-)\S+ [A-Za-z0-9+/=]+( [^\n]*)?$/, 'an OpenSSH public key line');

/**
 * Add public keys to a user's `~/.ssh/authorized_keys` (created with the right
 * owner and modes). Keys already there are left alone.
 */
export const authorizeKeys = defineAction<[username: string, keys: string[], opts?: ChangeOptions], AuthorizeArgs>({
  name: 'authorizeKeys',
  execution: 'in-sequence',
  optionsParam: 2,
  parse: (username, keys) => ({
    username: validate(z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/), username, 'authorizeKeys'),
    keys: validate(z.array(keyLine).min(1), keys.map((k) => k.trim()), `authorizeKeys '${username}'`),
  }),
  summary: ([a]) => `authorizeKeys ${a?.username ?? ''}`,
  script: ([a], ctx) => {
    const u = shQuote(a!.username);
    const name = a!.username;
    // In check mode a path that does not exist yet is the change; its attributes are not compared.
    const exists = (p: string) => (ctx.check ? `[ -e ${p} ] && ` : '');
    const lines = [
      `pallet_home=$(getent passwd ${u} | cut -d: -f6)`,
      `[ -n "$pallet_home" ] || { echo ${shQuote(`authorizeKeys: no user ${name}`)} >&2; exit 1; }`,
      'pallet_ak="$pallet_home/.ssh/authorized_keys"',
      `pallet_grp=$(id -gn ${u})`,
      `if [ ! -d "$pallet_home/.ssh" ]; then ${mutation(ctx, 'mkdir -p "$pallet_home/.ssh"', '"create directory $pallet_home/.ssh"')}; pallet_changed; fi`,
      `if ${exists('"$pallet_home/.ssh"')}[ "$(stat -c '%U %a' "$pallet_home/.ssh")" != ${shQuote(`${name} 700`)} ]; then ${mutation(ctx, `{ chown ${u}:"$pallet_grp" "$pallet_home/.ssh" && chmod 700 "$pallet_home/.ssh"; }`, shQuote(`owner and mode of ~${name}/.ssh -> ${name} 700`))}; pallet_changed; fi`,
      `[ -e "$pallet_ak" ] || { ${mutation(ctx, ': > "$pallet_ak"', '"create $pallet_ak"')}; pallet_changed; }`,
    ];
    // Missing keys are added to a copy that replaces the file in one rename (check mode: named, not added).
    lines.push('pallet_t=', `trap 'rm -f "$pallet_t"' EXIT`);
    for (const k of a!.keys) {
      const [type, blob, ...comment] = k.split(' ');
      const add = ctx.check
        ? [`  pallet_would ${shQuote(`authorize key ${type} ${blob!.slice(0, 12)}... ${comment.join(' ')} for ${name}`.trimEnd())}; pallet_t=check`]
        : ['  [ -n "$pallet_t" ] || { pallet_t=$(mktemp "$pallet_ak.XXXXXXXX") && cat "$pallet_ak" > "$pallet_t"; } || exit 1', `  printf '%s\\n' ${shQuote(k)} >> "$pallet_t" || exit 1`];
      lines.push(`if ! grep -qF ${shQuote(`${type} ${blob}`)} "$pallet_ak"${ctx.check ? ' 2>/dev/null' : ''}; then`, ...add, 'fi');
    }
    lines.push(ctx.check ? 'if [ -n "$pallet_t" ]; then pallet_t=; pallet_changed; fi' : 'if [ -n "$pallet_t" ]; then mv -f "$pallet_t" "$pallet_ak" || exit 1; pallet_changed; fi');
    lines.push(
      `if ${exists('"$pallet_ak"')}[ "$(stat -c '%U %a' "$pallet_ak")" != ${shQuote(`${name} 600`)} ]; then ${mutation(ctx, `{ chown ${u}:"$pallet_grp" "$pallet_ak" && chmod 600 "$pallet_ak"; }`, shQuote(`owner and mode of ~${name}/.ssh/authorized_keys -> ${name} 600`))}; pallet_changed; fi`,
    );
    return { script: lines.join('\n'), changes: 'reported', checked: true };
  },
});

/**
 * Create the admin user (default: the operation's admin user) with a home
 * and bash, authorize its public keys (default: its `publicKeyPath` or
 * `publicKey`), install sudo, and grant it passwordless sudo.
 */
export const automatedAdminUser = planFn('automated-admin-user', (username?: string, publicKeys?: string[]) => {
  const admin = adminUser();
  const name = username ?? admin.username;
  let keys = publicKeys?.map((k) => (k.includes(' ') ? k : readFileSync(k, 'utf8').trim()));
  if (!keys) {
    if (admin.publicKey) keys = [admin.publicKey];
    else if (admin.publicKeyPath) {
      try {
        keys = [readFileSync(admin.publicKeyPath, 'utf8').trim()];
      } catch (e) {
        throw new Error(`automatedAdminUser: cannot read the admin user's public key ${admin.publicKeyPath}: ${(e as Error).message}`);
      }
    } else throw new Error('automatedAdminUser: the admin user has no publicKeyPath or publicKey to authorize');
  }
  pkg('sudo');
  user(name, { createHome: true, shell: 'bash' });
  authorizeKeys(name, keys);
  sudoers(name);
}) as PhaseFn & ((username?: string, publicKeys?: string[]) => void);

/** A server spec whose `bootstrap` phase runs `automatedAdminUser`. */
export function withAutomatedAdminUser(): ServerSpec {
  return serverSpec({ phases: { bootstrap: automatedAdminUser } });
}
