/**
 * Node facts: the one probe pallet runs on each node per operation (OS detection and the rest), and its parser.
 *
 * The probe is a POSIX sh script that prints `key=value` lines (every value on one line: newlines in a value
 * become spaces) and raw sections (`@name` then the lines of a file or command, until the next `@`-line).
 * Every command that may be missing is optional (`2>/dev/null`); what the probe cannot read stays `undefined`
 * in the facts, never a guess.
 *
 * Why this file is long: the probe script and its parser are one protocol: every key the probe prints is parsed a few lines away.
 */
import { packagerForOs, type DetectedOs } from './os.js';

/** A network interface and its addresses (CIDR notation, for example `192.0.2.10/24`). */
export interface NetworkInterface {
  name: string;
  /** MAC address, when the interface has one. */
  mac?: string;
  /** `up`, `down`, `unknown` (the kernel's operstate). */
  state?: string;
  /** IPv4 addresses with prefix length; `undefined` when the node has no `ip` command to list them. */
  ipv4?: string[];
  ipv6: string[];
}

/** The address a node uses for its default route. */
export interface DefaultAddress {
  interface: string;
  /** The interface's first address (without prefix length); `undefined` when it could not be read. */
  address?: string;
  gateway?: string;
}

/** A mounted filesystem as `df -P -k` and `/proc/mounts` show it. */
export interface MountFact {
  device: string;
  mountPoint: string;
  fsType?: string;
  sizeBytes: number;
  usedBytes: number;
  availableBytes: number;
}

/**
 * What pallet knows about a node at plan time (`facts()`), from the probe. Values the probe could not read are
 * `undefined`; lists are empty when nothing was found.
 */
export interface Facts {
  os: {
    /** The broad family, as Ansible's `os_family` (lower case): `debian` for Debian and Ubuntu, `redhat`, `suse`, `archlinux`, `alpine`, `gentoo`, `darwin`. */
    family?: string;
    /** The distribution (`/etc/os-release` ID): `debian`, `ubuntu`, `rocky`, ... (the same as `osFamily()` when detected). */
    distribution?: string;
    /** Its version (`VERSION_ID`, for example `12`, `22.04`). */
    version?: string;
    /** The major version (`12`, `22`). */
    majorVersion?: string;
    /** The point release where the distribution keeps one finer than `version` (Debian's /etc/debian_version: `12.11`). */
    pointRelease?: string;
    /** Its code name (`bookworm`, `jammy`). */
    codename?: string;
    /** Its display name (`Debian GNU/Linux 12 (bookworm)`). */
    name?: string;
  };
  /** `uname -s` and `uname -r`. */
  kernel: { name?: string; release?: string };
  /** `uname -m`: `x86_64`, `aarch64`, ... */
  arch?: string;
  hostname?: string;
  /** `hostname -f`; `undefined` when it fails. */
  fqdn?: string;
  /** Processors this node's processes may use (`nproc`). */
  cpuCount?: number;
  /** Processors the kernel lists (/proc/cpuinfo), as Ansible's `processor_vcpus` (a container may use fewer: `cpuCount`). */
  vcpus?: number;
  memory: { totalBytes?: number; availableBytes?: number };
  /** PID 1: `systemd`, `openrc`, `sysvinit`, `launchd`, or the name of PID 1's program (a container's `sshd`). */
  init?: string;
  /** The package manager pallet uses for this OS (`apt`, `dnf`, ...). */
  packager?: string;
  /** The container engine the node runs in (`docker`, `podman`, `lxc`, `container` when the kind is unknown); `undefined`: no sign of one. */
  container?: string;
  /** The hypervisor the node runs on (`kvm`, `vmware`, ...); `undefined`: no sign of one. */
  vm?: string;
  interfaces: NetworkInterface[];
  defaultIpv4?: DefaultAddress;
  defaultIpv6?: DefaultAddress;
  mounts: MountFact[];
}

/** The probe script (run as the admin user, with sudo like any action). */
export const factsProbeScript = [
  // Builtins where a file is read, so the probe forks only for the commands it needs (about ten); a value's
  // stray lines are not \`key=\` lines, and the parser keeps the first value of each key.
  `pallet_kv() { printf '%s=%s\\n' "$1" "$2"; }`,
  `pallet_rd() { pallet_v=; [ -r "$1" ] && IFS= read -r pallet_v < "$1"; printf '%s' "$pallet_v"; }`,
  `pallet_section() { echo "@$1"; [ -r "$2" ] && while IFS= read -r pallet_l || [ -n "$pallet_l" ]; do printf '%s\\n' "$pallet_l"; done < "$2"; }`,
  `set -- $(uname -s -r -m); pallet_kv os "$1"; pallet_kv rev "$2"; pallet_kv mach "$3"`,
  `if [ -r /etc/os-release ]; then ( . /etc/os-release; pallet_kv id "$ID"; pallet_kv release "$VERSION_ID"; pallet_kv id_like "$ID_LIKE"`,
  `  pallet_kv codename "\${VERSION_CODENAME:-$UBUNTU_CODENAME}"; pallet_kv pretty "$PRETTY_NAME" )`,
  `elif [ -r /etc/lsb-release ]; then ( . /etc/lsb-release; pallet_kv id "$DISTRIB_ID"; pallet_kv release "$DISTRIB_RELEASE"; pallet_kv codename "$DISTRIB_CODENAME" )`,
  `elif [ -r /etc/redhat-release ]; then pallet_kv id rhel; pallet_kv release "$(sed 's/[^0-9.]//g' /etc/redhat-release)"`,
  `fi`,
  `pallet_kv debian_version "$(pallet_rd /etc/debian_version)"`,
  `if [ "$1" = Darwin ]; then pallet_kv release "$(sw_vers -productVersion 2>/dev/null)"; pallet_kv mem_total "$(sysctl -n hw.memsize 2>/dev/null)"; fi`,
  `pallet_kv hostname "$(hostname 2>/dev/null || uname -n)"`,
  `pallet_kv fqdn "$(hostname -f 2>/dev/null)"`,
  `pallet_kv cpus "$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null)"`,
  `pallet_kv vcpus "$(grep -c '^processor' /proc/cpuinfo 2>/dev/null)"`,
  `[ -r /proc/meminfo ] && awk '/^MemTotal:/ { print "mem_total_kb=" $2 } /^MemAvailable:/ { print "mem_available_kb=" $2 }' /proc/meminfo`,
  `[ -d /run/systemd/system ] && pallet_kv systemd_booted 1`,
  `pallet_kv pid1 "$(pallet_rd /proc/1/comm)"`,
  `[ -e /run/openrc/softlevel ] && pallet_kv openrc 1`,
  `[ -e /.dockerenv ] && pallet_kv dockerenv 1`,
  `[ -e /run/.containerenv ] && pallet_kv containerenv 1`,
  `pallet_kv container_env "$( { tr '\\000' '\\n' < /proc/1/environ | grep '^container=' ; } 2>/dev/null)"`,
  `pallet_kv cgroup "$(grep -Eo 'docker|lxc|kubepods|libpod' /proc/1/cgroup 2>/dev/null | head -n 1)"`,
  `pallet_kv dmi_vendor "$(pallet_rd /sys/class/dmi/id/sys_vendor)"; pallet_kv dmi_product "$(pallet_rd /sys/class/dmi/id/product_name)"`,
  `pallet_kv hypervisor_flag "$(grep -c '^flags.* hypervisor' /proc/cpuinfo 2>/dev/null)"`,
  `echo @links; for i in /sys/class/net/*; do [ -e "$i" ] && printf '%s %s %s\\n' "\${i##*/}" "$(pallet_rd "$i/address")" "$(pallet_rd "$i/operstate")"; done`,
  `if command -v ip >/dev/null 2>&1; then echo @addr; ip -o addr show 2>/dev/null; fi`,
  `pallet_section inet6 /proc/net/if_inet6; pallet_section route /proc/net/route; pallet_section route6 /proc/net/ipv6_route`,
  // Local filesystems only: a dead network mount must not hang the probe.
  `echo @df; df -P -k -l 2>/dev/null || df -P -k 2>/dev/null`,
  `pallet_section mounts /proc/mounts`,
  `echo @end`,
  `true`,
].join('\n');

interface Probe {
  kv: Record<string, string>;
  sections: Record<string, string[]>;
}

function split(out: string): Probe {
  const kv = Object.create(null) as Record<string, string>;
  const sections = Object.create(null) as Record<string, string[]>;
  let section: string[] | undefined;
  for (const line of out.split('\n')) {
    if (/^@[a-z0-9]+$/.test(line)) {
      section = sections[line.slice(1)] = [];
      continue;
    }
    if (section) {
      if (line.trim()) section.push(line);
      continue;
    }
    const m = /^([a-z0-9_]+)=(.*)$/.exec(line);
    if (m && !(m[1]! in kv)) kv[m[1]!] = m[2]!.trim();
  }
  return { kv, sections };
}

const positiveInt = (s: string | undefined): number | undefined => {
  if (!s || !/^\d+$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
};

const familyOf: Array<[string, string[]]> = [
  ['debian', ['debian', 'ubuntu', 'linuxmint', 'raspbian', 'pop', 'elementary', 'kali', 'devuan']],
  ['redhat', ['rhel', 'centos', 'fedora', 'rocky', 'almalinux', 'ol', 'amzn', 'amzn-linux']],
  ['suse', ['suse', 'opensuse', 'opensuse-leap', 'opensuse-tumbleweed', 'sles']],
  ['archlinux', ['arch', 'manjaro']],
  ['alpine', ['alpine']],
  ['gentoo', ['gentoo']],
  ['darwin', ['darwin']],
];

function osFamilyOf(id: string | undefined, like: string[]): string | undefined {
  for (const candidate of [id, ...like]) {
    if (!candidate) continue;
    const hit = familyOf.find(([, ids]) => ids.includes(candidate));
    if (hit) return hit[0];
  }
  return undefined;
}

/** The distribution id pallet uses as `osFamily` (`amzn` is `amzn-linux`, macOS is `darwin`). */
function distributionOf(kv: Record<string, string>): string | undefined {
  let id = kv.id?.toLowerCase() || undefined;
  if (!id && kv.os === 'Darwin') id = 'darwin';
  return id === 'amzn' ? 'amzn-linux' : id;
}

function initOf(kv: Record<string, string>): string | undefined {
  if (kv.systemd_booted === '1') return 'systemd';
  const pid1 = kv.pid1 || undefined;
  if (kv.openrc === '1') return 'openrc';
  if (kv.os === 'Darwin') return 'launchd';
  if (pid1 === 'init') return 'sysvinit';
  return pid1;
}

function containerOf(kv: Record<string, string>): string | undefined {
  if (kv.containerenv === '1') return 'podman';
  if (kv.dockerenv === '1') return 'docker';
  const env = kv.container_env?.replace(/^container=/, '');
  if (env) return env === 'oci' ? 'container' : env;
  if (kv.cgroup) return kv.cgroup === 'libpod' ? 'podman' : kv.cgroup === 'kubepods' ? 'container' : kv.cgroup;
  return undefined;
}

const vendors: Array<[RegExp, string]> = [
  [/QEMU|KVM/i, 'kvm'],
  [/VMware/i, 'vmware'],
  [/VirtualBox|innotek/i, 'oracle'],
  [/Xen/i, 'xen'],
  [/Microsoft Corporation.*Virtual Machine/i, 'microsoft'],
  [/Amazon EC2/i, 'amazon'],
  [/Google Compute Engine/i, 'google'],
  [/Parallels/i, 'parallels'],
  [/Bochs/i, 'bochs'],
];

function vmOf(kv: Record<string, string>): string | undefined {
  const hit = vendors.find(([re]) => re.test(`${kv.dmi_vendor ?? ''} ${kv.dmi_product ?? ''}`));
  if (hit) return hit[1];
  return positiveInt(kv.hypervisor_flag) ? 'unknown' : undefined;
}

/** `/proc/net/route` holds addresses as little-endian hex. */
function hexIpv4(hex: string): string | undefined {
  if (!/^[0-9A-Fa-f]{8}$/.test(hex)) return undefined;
  const b = [0, 2, 4, 6].map((i) => Number.parseInt(hex.slice(i, i + 2), 16)).reverse();
  return b.join('.');
}

function hexIpv6(hex: string): string | undefined {
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) return undefined;
  const groups = Array.from({ length: 8 }, (_, i) => Number.parseInt(hex.slice(i * 4, i * 4 + 4), 16).toString(16));
  // The canonical form: the longest run of zero groups (two or more) becomes '::'.
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i >= 2) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

function interfacesOf(p: Probe): NetworkInterface[] {
  const byName = new Map<string, NetworkInterface>();
  const get = (name: string) => {
    let i = byName.get(name);
    if (!i) byName.set(name, (i = { name, ipv6: [] }));
    return i;
  };
  for (const line of p.sections.links ?? []) {
    const [name, mac, state] = line.trim().split(/\s+/);
    if (!name) continue;
    const i = get(name);
    if (mac && mac !== '00:00:00:00:00:00') i.mac = mac;
    if (state) i.state = state;
  }
  const addr = p.sections.addr;
  if (addr) {
    for (const i of byName.values()) i.ipv4 = [];
    for (const line of addr) {
      // `2: eth0    inet 192.0.2.10/24 brd ... scope global eth0\       valid_lft ...`
      const m = /^\d+:\s+([^\s@]+)(?:@\S+)?\s+(inet6?)\s+(\S+)/.exec(line);
      if (!m) continue;
      const i = get(m[1]!);
      if (m[2] === 'inet') (i.ipv4 ??= []).push(m[3]!);
      else if (!i.ipv6.includes(m[3]!)) i.ipv6.push(m[3]!);
    }
  } else {
    // No `ip`: IPv6 from /proc/net/if_inet6 (address, index, prefix length in hex, scope, flags, name); IPv4 unknown.
    for (const line of p.sections.inet6 ?? []) {
      const f = line.trim().split(/\s+/);
      const a = hexIpv6(f[0] ?? '');
      if (!a || f.length < 6) continue;
      get(f[5]!).ipv6.push(`${a}/${Number.parseInt(f[2]!, 16)}`);
    }
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

const bare = (cidr: string) => cidr.replace(/\/\d+$/, '');

function defaultIpv4Of(p: Probe, ifs: NetworkInterface[]): DefaultAddress | undefined {
  let best: { iface: string; gateway: string; metric: number } | undefined;
  for (const line of (p.sections.route ?? []).slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || f[1] !== '00000000' || f[7] !== '00000000') continue;
    const metric = Number(f[6]);
    if (!best || metric < best.metric) best = { iface: f[0]!, gateway: f[2]!, metric };
  }
  if (!best) return undefined;
  const gw = hexIpv4(best.gateway);
  const first = ifs.find((i) => i.name === best.iface)?.ipv4?.[0];
  return {
    interface: best.iface,
    ...(first ? { address: bare(first) } : {}),
    ...(gw && gw !== '0.0.0.0' ? { gateway: gw } : {}),
  };
}

function defaultIpv6Of(p: Probe, ifs: NetworkInterface[]): DefaultAddress | undefined {
  let best: { iface: string; gateway: string; metric: number } | undefined;
  for (const line of p.sections.route6 ?? []) {
    // destination, prefix, source, source prefix, next hop, metric, refcnt, use, flags, device
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || !/^0{32}$/.test(f[0]!) || f[1] !== '00' || f[9] === 'lo') continue;
    const metric = Number.parseInt(f[5]!, 16);
    if (!best || metric < best.metric) best = { iface: f[9]!, gateway: f[4]!, metric };
  }
  if (!best) return undefined;
  const gw = hexIpv6(best.gateway);
  const global = ifs.find((i) => i.name === best.iface)?.ipv6.find((a) => !/^fe80:/i.test(a));
  return {
    interface: best.iface,
    ...(global ? { address: bare(global) } : {}),
    ...(gw && gw !== '::' ? { gateway: gw } : {}),
  };
}

/** /proc/mounts escapes space, tab, newline and backslash as octal. */
const unescapeMount = (s: string) =>
  s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));

function mountsOf(p: Probe): MountFact[] {
  const types = new Map<string, string>();
  for (const line of p.sections.mounts ?? []) {
    const f = line.split(' ');
    if (f.length >= 3) types.set(unescapeMount(f[1]!), f[2]!);
  }
  const out: MountFact[] = [];
  for (const line of (p.sections.df ?? []).slice(1)) {
    const m = /^(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+\S+\s+(.+)$/.exec(line);
    if (!m) continue;
    const mountPoint = m[5]!;
    const fsType = types.get(mountPoint);
    out.push({
      device: m[1]!,
      mountPoint,
      ...(fsType ? { fsType } : {}),
      sizeBytes: Number(m[2]) * 1024,
      usedBytes: Number(m[3]) * 1024,
      availableBytes: Number(m[4]) * 1024,
    });
  }
  return out;
}

/** Parse the probe's output into facts. */
export function parseFacts(out: string): Facts {
  const p = split(out);
  const { kv } = p;
  const distribution = distributionOf(kv);
  const version = kv.release || (distribution === 'debian' ? kv.debian_version : undefined) || undefined;
  const like = (kv.id_like ?? '').toLowerCase().split(/\s+/).filter(Boolean);
  const family = osFamilyOf(distribution, like);
  const interfaces = interfacesOf(p);
  const memTotal = positiveInt(kv.mem_total_kb);
  const memAvail = positiveInt(kv.mem_available_kb);
  const packager = packagerForOs(distribution, version);
  const defaultIpv4 = defaultIpv4Of(p, interfaces);
  const defaultIpv6 = defaultIpv6Of(p, interfaces);
  const init = initOf(kv);
  const container = containerOf(kv);
  const vm = vmOf(kv);
  const cpuCount = positiveInt(kv.cpus);
  const vcpus = positiveInt(kv.vcpus);
  // Debian's point release (`12.11`); testing and sid have a code name there, not a number.
  const pointRelease =
    distribution === 'debian' && /^\d+(\.\d+)+$/.test(kv.debian_version ?? '') ? kv.debian_version : undefined;
  const defined = <T extends object>(o: T): T =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== '')) as T;
  return {
    os: defined({
      family,
      distribution,
      version,
      majorVersion: version?.split('.')[0],
      pointRelease,
      codename: kv.codename,
      name: kv.pretty,
    }),
    kernel: defined({ name: kv.os, release: kv.rev }),
    ...defined({ arch: kv.mach, hostname: kv.hostname, fqdn: kv.fqdn, cpuCount, vcpus, init, packager, container, vm }),
    memory: defined({
      totalBytes: memTotal ? memTotal * 1024 : positiveInt(kv.mem_total),
      availableBytes: memAvail ? memAvail * 1024 : undefined,
    }),
    interfaces,
    ...(defaultIpv4 ? { defaultIpv4 } : {}),
    ...(defaultIpv6 ? { defaultIpv6 } : {}),
    mounts: mountsOf(p),
  };
}

/** The OS part pallet's OS dispatch uses (`osFamily()`, `osVersion()`, the packager). */
export function detectedOs(f: Facts): DetectedOs {
  return {
    ...(f.os.distribution ? { osFamily: f.os.distribution } : {}),
    ...(f.os.version ? { osVersion: f.os.version } : {}),
    ...(f.kernel.name ? { os: f.kernel.name } : {}),
    ...(f.kernel.release ? { rev: f.kernel.release } : {}),
    ...(f.arch ? { arch: f.arch } : {}),
  };
}
