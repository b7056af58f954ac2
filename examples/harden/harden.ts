/**
 * First-boot hardening of a Debian node, as a reusable server spec: the port of an
 * initial-server-setup play plus the sshd and sudo parts of a popular security role.
 *
 * - an admin user (bash, a home) in the `sudo` group, with its SSH public keys;
 * - `%sudo` gets passwordless sudo: one line of /etc/sudoers, checked with `visudo -cf` before it
 *   replaces the file (a bad sudoers file can lock everyone out of root);
 * - sshd_config: one `lineInFile` per setting, each checked with `sshd -T -f` before it replaces the
 *   file (a bad sshd_config can lock everyone out of the node);
 * - a handler: sshd is reloaded once, at the end of the phase, only if a setting changed. Reload, not
 *   restart: sshd re-reads its (validated) configuration and open sessions stay.
 *
 * Safe by default: root keeps key logins (`PermitRootLogin prohibit-password`) unless `rootLogin: 'no'`
 * is asked for, and password logins are only turned off when the admin user gets at least one key,
 * so the node never ends up with no way in. sshd uses the first value it reads: a file in
 * /etc/ssh/sshd_config.d/ (read first, through Debian's `Include`) that sets the same keyword wins; the
 * sshdConfig crate refuses that case, this example (a demonstration of line edits) does not check it.
 */
import { authorizeKeys, handler, lineInFile, pkg, planFn, serverSpec, service, user } from 'pallet';

export interface HardenOptions {
  /** The admin user to create (default `deploy`). */
  admin?: string;
  /** Its SSH public keys (`ssh-ed25519 AAAA... comment`). */
  adminKeys?: string[];
  /** `prohibit-password` (default: root logs in with keys only) or `no`. */
  rootLogin?: 'prohibit-password' | 'no';
  /** The sshd unit/init script name (Debian: `ssh`). */
  sshService?: string;
}

export function hardenedServer(o: HardenOptions = {}) {
  const admin = o.admin ?? 'deploy';
  const keys = o.adminKeys ?? [];
  return serverSpec({
    phases: {
      configure: planFn('harden', () => {
        pkg('sudo');
        user(admin, { shell: 'bash', createHome: true, groups: ['sudo'], append: true });
        if (keys.length) authorizeKeys(admin, keys);
        lineInFile('/etc/sudoers', {
          regexp: '^%sudo[ \\t]',
          line: '%sudo ALL=(ALL:ALL) NOPASSWD: ALL',
          validate: '/usr/sbin/visudo -cf %s',
        });

        // sshd_config: one line edit per setting, each checked with `sshd -T -f` before it replaces the file,
        // each flagging the reload handler, which then runs once, at the end of the phase, in the same round
        // trip. (For configurations with active Match blocks, or drop-ins in sshd_config.d, use the sshdConfig
        // crate: it edits the first active line before the first Match and refuses drop-ins that would win.)
        const reloadSsh = handler('reload-ssh', () => void service(o.sshService ?? 'ssh', { action: 'reload' }));
        const sshd = (keyword: string, value: string) =>
          lineInFile('/etc/ssh/sshd_config', {
            // The active setting, or the commented default Debian ships (`#PermitRootLogin ...`).
            regexp: `^#?${keyword}[ \\t]`,
            line: `${keyword} ${value}`,
            // A missing setting goes before the first Match block (after it, it would apply only to the match).
            insertBefore: '^Match[ \\t]',
            validate: '/usr/sbin/sshd -T -f %s',
            flagOnChanged: reloadSsh,
          });
        sshd('PermitRootLogin', o.rootLogin ?? 'prohibit-password');
        if (keys.length) sshd('PasswordAuthentication', 'no');
        sshd('KbdInteractiveAuthentication', 'no');
        sshd('X11Forwarding', 'no');
        sshd('MaxAuthTries', '3');
      }),
    },
  });
}
