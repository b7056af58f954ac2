// The benchmark's real workload (issue 17): a first-boot hardening of a Debian node, the same end state as
// playbook.yml beside it. Both read vars.yml and render the same Jinja templates in templates/.
//
//   apt lists updated (at most hourly), three packages at their latest version (a local apt repository),
//   a group and an admin user in it and in sudo, its authorized key, passwordless sudo for %sudo (a line of
//   /etc/sudoers checked by visudo), eight sshd_config settings (each checked by sshd -T -f), four files from
//   templates (facts and variables), fail2ban (jail.local checked by fail2ban-client -t) and
//   unattended-upgrades; two handlers: sshd reloaded, fail2ban restarted, each once and only after a change.
//
// WORKLOAD_ADMIN_KEY names the admin user's public key file.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import {
  authorizeKeys,
  defineProject,
  fail2ban,
  group,
  groupSpec,
  handler,
  lineInFile,
  packageManager,
  pkg,
  remoteFile,
  service,
  unattendedUpgrades,
  user,
  type TemplateValue,
} from 'pallet';
import { jail, upgrades } from './settings.js';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

interface WorkloadVars {
  admin_user: string;
  admin_group: string;
  bench_packages: string[];
  sshd_settings: Record<string, string>;
  [key: string]: TemplateValue;
}
export const vars = parse(readFileSync(here('vars.yml'), 'utf8')) as WorkloadVars;

const hardened = groupSpec('bench', {
  phases: {
    configure: () => {
      const keyFile = process.env.WORKLOAD_ADMIN_KEY;
      packageManager('update', { maxAge: 3600 });
      for (const p of vars.bench_packages) pkg(p, { action: 'latest' });
      group(vars.admin_group);
      user(vars.admin_user, { shell: 'bash', createHome: true, groups: ['sudo', vars.admin_group], append: true });
      if (keyFile) authorizeKeys(vars.admin_user, [readFileSync(keyFile, 'utf8').trim()]);
      lineInFile('/etc/sudoers', {
        regexp: '^%sudo[ \\t]',
        line: '%sudo ALL=(ALL:ALL) NOPASSWD: ALL',
        validate: '/usr/sbin/visudo -cf %s',
      });
      const reloadSsh = handler('reload-ssh', () => void service('ssh', { action: 'reload' }));
      for (const [keyword, value] of Object.entries(vars.sshd_settings)) {
        lineInFile('/etc/ssh/sshd_config', {
          regexp: `^#?${keyword}[ \\t]`,
          line: `${keyword} ${value}`,
          insertBefore: '^Match[ \\t]',
          validate: '/usr/sbin/sshd -T -f %s',
          flagOnChanged: reloadSsh,
        });
      }
      const file = { values: vars, owner: 'root', group: 'root', mode: '0644' } as const;
      remoteFile('/etc/motd', { ...file, template: here('templates/motd.j2') });
      remoteFile('/etc/sysctl.d/60-bench.conf', { ...file, template: here('templates/sysctl.conf.j2') });
      remoteFile('/etc/security/limits.d/60-bench.conf', { ...file, template: here('templates/limits.conf.j2') });
      remoteFile('/etc/profile.d/bench.sh', { ...file, template: here('templates/profile.sh.j2') });
      fail2ban(jail);
      unattendedUpgrades(upgrades);
    },
  },
});

export default defineProject({ groups: [hardened] });
