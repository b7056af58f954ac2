/** The workload's crate settings, shared by the pallet project and the benchmark (which writes the same files for Ansible). */
import type { Fail2banSettings, UnattendedUpgradesSettings } from 'pallet';

/** fail2ban: the sshd jail on a log file (the test nodes have no journal). */
export const jail: Fail2banSettings = {
  defaults: { bantime: '1h', findtime: '10m', maxretry: 5 },
  jails: { sshd: { backend: 'polling', logpath: '/var/log/auth.log' } },
};

/** unattended-upgrades: daily, everything but bench-tools. */
export const upgrades: UnattendedUpgradesSettings = { blacklist: ['bench-tools'] };
