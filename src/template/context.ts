/**
 * What a Jinja template sees: the node's facts (as `facts` and under Ansible's fact names), its inventory
 * variables (templated when read, as Ansible does), its settings, `inventory_hostname`, `group_names`, a role's
 * `defaults` (weakest), and the call's `values` (plain data; they win over everything else of the same name).
 */
import type { Facts } from '../script/facts.js';
import { jinjaContext } from './jinja.js';

const distributionNames: Record<string, string> = {
  debian: 'Debian',
  ubuntu: 'Ubuntu',
  centos: 'CentOS',
  rhel: 'RedHat',
  fedora: 'Fedora',
  rocky: 'Rocky',
  almalinux: 'AlmaLinux',
  ol: 'OracleLinux',
  'amzn-linux': 'Amazon',
  alpine: 'Alpine',
  arch: 'Archlinux',
  opensuse: 'openSUSE',
  'opensuse-leap': 'openSUSE Leap',
  sles: 'SLES',
  gentoo: 'Gentoo',
  darwin: 'MacOSX',
};
const familyNames: Record<string, string> = {
  debian: 'Debian',
  redhat: 'RedHat',
  suse: 'Suse',
  archlinux: 'Archlinux',
  alpine: 'Alpine',
  gentoo: 'Gentoo',
  darwin: 'Darwin',
};

/** Ansible's names for the facts roles' templates read most (only those pallet knows; unknown ones are left out). */
export function ansibleFacts(f: Facts): Record<string, unknown> {
  const v4 = f.interfaces
    .flatMap((i) => (i.ipv4 ?? []).map((a) => a.replace(/\/\d+$/, '')))
    .filter((a) => !a.startsWith('127.'));
  const v6 = f.interfaces.flatMap((i) => i.ipv6.map((a) => a.replace(/\/\d+$/, ''))).filter((a) => a !== '::1');
  const out: Record<string, unknown> = {
    ansible_hostname: f.hostname?.split('.')[0],
    ansible_nodename: f.hostname,
    ansible_fqdn: f.fqdn,
    ansible_processor_vcpus: f.vcpus ?? f.cpuCount,
    ansible_processor_nproc: f.cpuCount,
    ansible_memtotal_mb: f.memory.totalBytes === undefined ? undefined : Math.floor(f.memory.totalBytes / 1048576),
    ansible_architecture: f.arch,
    ansible_machine: f.arch,
    ansible_kernel: f.kernel.release,
    ansible_system: f.kernel.name,
    ansible_os_family: f.os.family ? familyNames[f.os.family] : undefined,
    ansible_distribution: f.os.distribution ? distributionNames[f.os.distribution] : undefined,
    // As Ansible's setup module reports a Debian node without python3-distro (os-release's VERSION_ID, `12`; with
    // python3-distro installed it reports the point release, `facts.os.pointRelease`).
    ansible_distribution_version: f.os.version,
    ansible_distribution_major_version: f.os.majorVersion,
    ansible_distribution_minor_version: f.os.pointRelease?.split('.')[1],
    ansible_distribution_release: f.os.codename,
    ansible_service_mgr: f.init,
    ansible_pkg_mgr: f.packager,
    ansible_virtualization_type: f.container ?? f.vm,
    ansible_interfaces: f.interfaces.map((i) => i.name),
    ansible_all_ipv4_addresses: f.interfaces.some((i) => i.ipv4) ? v4 : undefined,
    ansible_all_ipv6_addresses: v6,
    ansible_default_ipv4: f.defaultIpv4
      ? { interface: f.defaultIpv4.interface, address: f.defaultIpv4.address, gateway: f.defaultIpv4.gateway }
      : {},
    ansible_default_ipv6: f.defaultIpv6
      ? { interface: f.defaultIpv6.interface, address: f.defaultIpv6.address, gateway: f.defaultIpv6.gateway }
      : {},
    ansible_mounts: f.mounts.map((m) => ({
      mount: m.mountPoint,
      device: m.device,
      fstype: m.fsType,
      size_total: m.sizeBytes,
      size_available: m.availableBytes,
    })),
  };
  return Object.fromEntries(Object.entries(out).filter(([, x]) => x !== undefined));
}

export interface TemplateScope {
  facts?: Facts;
  vars?: Record<string, unknown>;
  settings?: Record<string, unknown>;
  hostname: string;
  groupNames: string[];
  values?: Record<string, unknown>;
  /** A role's defaults: the weakest variables (templated when read), under inventory variables and facts. */
  defaults?: Record<string, unknown>;
}

/** The render context of a Jinja template for one node. */
export function templateContext(s: TemplateScope): Record<string, unknown> {
  const base = {
    ...(s.facts ? { ...ansibleFacts(s.facts), facts: s.facts } : {}),
    inventory_hostname: s.hostname,
    inventory_hostname_short: s.hostname.split('.')[0],
    group_names: s.groupNames,
    settings: s.settings ?? {},
  };
  // Ansible's order, weakest first: role defaults, inventory variables, facts and magic variables; then `values`.
  return jinjaContext({ ...(s.defaults ?? {}), ...(s.vars ?? {}), ...base }, s.values ?? {});
}
