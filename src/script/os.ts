/**
 * Operating-system facts: the detection script and the packager of each OS family.
 */

/** Prints `key=value` lines: os, rev, mach (uname) and id, release (the distribution). */
export const detectOsScript = [
  `printf 'os=%s\\nrev=%s\\nmach=%s\\n' "$(uname -s)" "$(uname -r)" "$(uname -m)"`,
  `if [ -r /etc/os-release ]; then ( . /etc/os-release; printf 'id=%s\\nrelease=%s\\n' "$ID" "$VERSION_ID" )`,
  `elif [ -r /etc/lsb-release ]; then ( . /etc/lsb-release; printf 'id=%s\\nrelease=%s\\n' "$DISTRIB_ID" "$DISTRIB_RELEASE" )`,
  `elif [ -r /etc/redhat-release ]; then printf 'id=rhel\\nrelease=%s\\n' "$(sed 's/[^0-9.]//g' /etc/redhat-release)"`,
  `fi`,
  `if [ -r /etc/debian_version ]; then printf 'debian_version=%s\\n' "$(cat /etc/debian_version)"; fi`,
].join('\n');

export interface DetectedOs {
  osFamily?: string;
  osVersion?: string;
  os?: string;
  rev?: string;
  arch?: string;
}

/** Parse the output of `detectOsScript`. */
export function parseDetectedOs(out: string): DetectedOs {
  const kv: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) kv[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  const r: DetectedOs = {};
  let id = kv.id?.toLowerCase();
  if (!id && kv.os === 'Darwin') id = 'darwin';
  if (id) r.osFamily = id === 'amzn' ? 'amzn-linux' : id;
  const release = kv.release || (id === 'debian' ? kv.debian_version : undefined);
  if (release) r.osVersion = release;
  if (kv.os) r.os = kv.os;
  if (kv.rev) r.rev = kv.rev;
  if (kv.mach) r.arch = kv.mach;
  return r;
}

const families: Record<string, string[]> = {
  apt: ['debian', 'ubuntu', 'jeos', 'linuxmint', 'raspbian'],
  yum: ['centos', 'rhel', 'amzn-linux', 'rocky', 'almalinux', 'ol'],
  dnf: ['fedora'],
  apk: ['alpine'],
  pacman: ['arch', 'manjaro'],
  zypper: ['suse', 'opensuse', 'opensuse-leap', 'opensuse-tumbleweed', 'sles'],
  brew: ['darwin', 'os-x', 'macos'],
  portage: ['gentoo'],
};

/** The package manager of an OS family (and version), or undefined when unknown. */
export function packagerForOs(osFamily: string | undefined, osVersion?: string): string | undefined {
  if (!osFamily) return undefined;
  const f = osFamily.toLowerCase();
  const major = Number.parseInt(osVersion ?? '', 10);
  if (['centos', 'rhel', 'rocky', 'almalinux', 'ol'].includes(f) && major >= 8) return 'dnf';
  if (f === 'amzn-linux' && major >= 2022) return 'dnf';
  for (const [p, list] of Object.entries(families)) if (list.includes(f)) return p;
  return undefined;
}
