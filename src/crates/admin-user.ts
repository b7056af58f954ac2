/**
 * The automated admin user: what `bootstrap` usually does on a fresh node.
 * Creates the admin user (home, bash), authorizes its public keys, installs
 * sudo and grants passwordless sudo through a sudoers file that `visudo -c`
 * checks before it is installed.
 */
import { readFileSync } from 'node:fs';
import * as z from 'zod';
import type { ChangeOptions } from '../plan/types.js';
import { pkg } from '../actions/package/index.js';
import { sudoers } from './sudoers.js';
import { sshDir, sshFileAttrs } from './ssh-key.js';
import { user } from '../actions/user.js';
import { defineAction } from '../plan/action.js';
import { planFn } from '../plan/plan-fn.js';
import { adminUser } from '../plan/accessors.js';
import { shQuote } from '../script/quote.js';
import { removeStagedOnExit } from '../script/fs.js';
import { mutation } from '../script/check.js';
import { serverSpec, type PhaseFn, type ServerSpec } from '../model/specs.js';
import { validate } from '../core/validate.js';

interface AuthorizeArgs {
  username: string;
  keys: string[];
}

const keyLine = z.string().regex(/^(ssh-|ecdsa-|sk-)\S+ [A-Za-z0-9+/=]+( [^\n]*)?$/, 'an OpenSSH public key line');

/**
 * Add public keys to a user's `~/.ssh/authorized_keys` (created with the right
 * owner and modes). Keys already there are left alone.
 *
 * @example
 * ```ts
 * authorizeKeys('deploy', ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample deploy@laptop']);
 * ```
 */
export const authorizeKeys = defineAction<[username: string, keys: string[], opts?: ChangeOptions], AuthorizeArgs>({
  name: 'authorizeKeys',
  execution: 'in-sequence',
  optionsParam: 2,
  parse: (username, keys) => ({
    username: validate(z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/), username, 'authorizeKeys'),
    keys: validate(
      z.array(keyLine).min(1),
      keys.map((k) => k.trim()),
      `authorizeKeys '${username}'`,
    ),
  }),
  summary: ([a]) => `authorizeKeys ${a?.username ?? ''}`,
  script: ([a], ctx) => {
    const name = a!.username;
    const lines = [
      ...sshDir(name, ctx),
      'pallet_ak="$pallet_ssh/authorized_keys"',
      `[ -e "$pallet_ak" ] || { ${mutation(ctx, ': > "$pallet_ak"', '"create $pallet_ak"')}; pallet_changed; }`,
    ];
    // Missing keys are added to a copy that replaces the file in one rename (check mode: named, not added).
    // (Check mode marks a key it would add in pallet_add: pallet_t only ever names the staged copy, which the
    // trap removes.)
    lines.push('pallet_t=', ...(ctx.check ? ['pallet_add='] : [removeStagedOnExit]));
    for (const k of a!.keys) {
      const [type, blob, ...comment] = k.split(' ');
      const add = ctx.check
        ? [
            `  pallet_would ${shQuote(`authorize key ${type} ${blob!.slice(0, 12)}... ${comment.join(' ')} for ${name}`.trimEnd())}; pallet_add=1`,
          ]
        : [
            '  [ -n "$pallet_t" ] || { pallet_t=$(mktemp "$pallet_ak.XXXXXXXX") && cat "$pallet_ak" > "$pallet_t"; } || exit 1',
            `  printf '%s\\n' ${shQuote(k)} >> "$pallet_t" || exit 1`,
          ];
      lines.push(
        `if ! grep -qF ${shQuote(`${type} ${blob}`)} "$pallet_ak"${ctx.check ? ' 2>/dev/null' : ''}; then`,
        ...add,
        'fi',
      );
    }
    lines.push(
      ctx.check
        ? 'if [ -n "$pallet_add" ]; then pallet_changed; fi'
        : 'if [ -n "$pallet_t" ]; then mv -f "$pallet_t" "$pallet_ak" || exit 1; pallet_changed; fi',
    );
    lines.push(sshFileAttrs(name, '"$pallet_ak"', '600', ctx));
    return { script: lines.join('\n'), changes: 'reported', checked: true };
  },
});

/**
 * Create the admin user (default: the operation's admin user) with a home
 * and bash, authorize its public keys (default: its `publicKeyPath` or
 * `publicKey`), install sudo, and grant it passwordless sudo.
 *
 * @example
 * ```ts
 * const web = groupSpec('web', { phases: { bootstrap: () => automatedAdminUser('admin', ['~/.ssh/id_ed25519.pub']) } });
 * ```
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
        throw new Error(
          `automatedAdminUser: cannot read the admin user's public key ${admin.publicKeyPath}: ${(e as Error).message}`,
        );
      }
    } else throw new Error('automatedAdminUser: the admin user has no publicKeyPath or publicKey to authorize');
  }
  pkg('sudo');
  user(name, { createHome: true, shell: 'bash' });
  authorizeKeys(name, keys);
  sudoers(name);
}) as PhaseFn & ((username?: string, publicKeys?: string[]) => void);

/**
 * A server spec whose `bootstrap` phase runs `automatedAdminUser`.
 *
 * @example
 * ```ts
 * const web = groupSpec('web', { extends: [withAutomatedAdminUser()] });
 * ```
 */
export function withAutomatedAdminUser(): ServerSpec {
  return serverSpec({ phases: { bootstrap: automatedAdminUser } });
}
