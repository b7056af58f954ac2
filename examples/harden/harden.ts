/**
 * First-boot hardening of a Debian node, as a reusable server spec: the port of an
 * initial-server-setup play plus the sshd and sudo parts of a popular security role.
 *
 * - an admin user (bash, a home) in the `sudo` group, with its SSH public keys;
 * - `%sudo` gets passwordless sudo: one line of /etc/sudoers, checked with `visudo -cf` before it
 *   replaces the file (a bad sudoers file can lock everyone out of root);
 * - sshd_config through `sshdConfig`: each setting made the one sshd uses, checked with `sshd -t -f` before
 *   it replaces the file (a bad sshd_config can lock everyone out of the node);
 * - a handler: sshd is reloaded once, at the end of the phase, only if a setting changed. Reload, not
 *   restart: sshd re-reads its (validated) configuration and open sessions stay.
 *
 * Safe by default: root keeps key logins (`PermitRootLogin prohibit-password`) unless `rootLogin: 'no'`
 * is asked for, and password logins are only turned off when the admin user gets at least one key,
 * so the node never ends up with no way in. sshd uses the first value it reads: a file in
 * /etc/ssh/sshd_config.d/ (read first, through Debian's `Include`) that sets one of these keywords would win,
 * so sshdConfig then fails, naming the file, before it changes anything.
 */
import { authorizeKeys, lineInFile, pkg, planFn, serverSpec, sshdConfig, user } from 'pallet';

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
        lineInFile('/etc/sudoers', { regexp: '^%sudo[ \\t]', line: '%sudo ALL=(ALL:ALL) NOPASSWD: ALL', validate: '/usr/sbin/visudo -cf %s' });

        // One edit of sshd_config validated by sshd -t -f, and one sshd reload at the end of the phase when it
        // changed (flagOnChanged + a handler, in the same round trip; see src/crates/sshd.ts).
        sshdConfig(
          {
            PermitRootLogin: o.rootLogin ?? 'prohibit-password',
            ...(keys.length ? { PasswordAuthentication: false } : {}),
            KbdInteractiveAuthentication: false,
            X11Forwarding: false,
            MaxAuthTries: 3,
          },
          { service: o.sshService ?? 'ssh' },
        );
      }),
    },
  });
}
