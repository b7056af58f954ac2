/**
 * The OS pallet dispatches on (detected by the facts probe, script/facts.ts) and the packager of each OS family.
 */

export interface DetectedOs {
  osFamily?: string;
  osVersion?: string;
  os?: string;
  rev?: string;
  arch?: string;
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
