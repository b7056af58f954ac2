/**
 * Tiny Debian packages and flat apt repositories for tests on real nodes
 * (no internet): `.deb` files built with dpkg-deb, a `Packages` index and a
 * `Release` file naming the suite.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { TestNode } from './nodes.js';

export interface Deb {
  name: string;
  version: string;
  files: Record<string, string>;
  conffiles?: string[];
  postinst?: string;
}

/** Build a `.deb` with dpkg-deb; returns its path. */
export function buildDeb(dir: string, d: Deb): string {
  const root = join(dir, `${d.name}-${d.version}`);
  mkdirSync(join(root, 'DEBIAN'), { recursive: true });
  writeFileSync(
    join(root, 'DEBIAN', 'control'),
    `Package: ${d.name}\nVersion: ${d.version}\nArchitecture: all\nMaintainer: pallet tests <t@example.invalid>\nDescription: pallet test package\n`,
  );
  if (d.conffiles) writeFileSync(join(root, 'DEBIAN', 'conffiles'), d.conffiles.map((c) => `${c}\n`).join(''));
  if (d.postinst) {
    writeFileSync(join(root, 'DEBIAN', 'postinst'), d.postinst);
    chmodSync(join(root, 'DEBIAN', 'postinst'), 0o755);
  }
  for (const [path, content] of Object.entries(d.files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  const out = join(dir, `${d.name}_${d.version}_all.deb`);
  execFileSync('dpkg-deb', ['-Zgzip', '--build', '--root-owner-group', root, out], { stdio: 'ignore' });
  return out;
}

/** A flat apt repository: the debs, their Packages index and a Release file naming the suite. */
export function buildRepo(dir: string, suite: string, debs: string[], notAutomatic = false): string {
  const repo = join(dir, 'repo', suite);
  mkdirSync(repo, { recursive: true });
  const entries = debs.map((deb) => {
    const base = deb.split('/').pop()!;
    const bytes = readFileSync(deb);
    execFileSync('cp', [deb, join(repo, base)]);
    const control = execFileSync('dpkg-deb', ['-f', deb], { encoding: 'utf8' }).trimEnd();
    const md5 = createHash('md5').update(bytes).digest('hex');
    const sha = createHash('sha256').update(bytes).digest('hex');
    return `${control}\nFilename: ./${base}\nSize: ${statSync(deb).size}\nMD5sum: ${md5}\nSHA256: ${sha}\n`;
  });
  const packages = `${entries.join('\n')}`;
  writeFileSync(join(repo, 'Packages'), packages);
  const sum = (alg: string) => createHash(alg).update(packages).digest('hex');
  writeFileSync(
    join(repo, 'Release'),
    [
      `Suite: ${suite}`,
      `Codename: ${suite}`,
      ...(notAutomatic ? ['NotAutomatic: yes', 'ButAutomaticUpgrades: yes'] : []),
      `Date: ${new Date().toUTCString()}`,
      'Architectures: all',
      'MD5Sum:',
      ` ${sum('md5')} ${Buffer.byteLength(packages)} Packages`,
      'SHA256:',
      ` ${sum('sha256')} ${Buffer.byteLength(packages)} Packages`,
      '',
    ].join('\n'),
  );
  return repo;
}

export interface Suite {
  suite: string;
  debs: Deb[];
  /** Like experimental: its packages only when asked for by release. */
  notAutomatic?: boolean;
  /** Signed with a new key (InRelease), for a source that names its key (signed-by) instead of trusted=yes. */
  signed?: boolean;
  /** false: copied to the node but not in its apt sources (a test adds it). Default true. */
  listed?: boolean;
}

/** Clear-sign a repository's Release as InRelease with a new key, made in a keyring of its own; the key, armored. */
export function signRepo(repo: string, dir: string): string {
  const home = mkdtempSync(join(dir, 'gnupg-'));
  const gpg = (...args: string[]) =>
    execFileSync('gpg', ['--batch', '--homedir', home, '--pinentry-mode', 'loopback', '--passphrase', '', ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  try {
    gpg('--quick-gen-key', 'pallet tests <t@example.invalid>', 'ed25519', 'sign', 'never');
    gpg('--clearsign', '--output', join(repo, 'InRelease'), join(repo, 'Release'));
    return gpg('--armor', '--export');
  } finally {
    execFileSync('gpgconf', ['--homedir', home, '--kill', 'all'], { stdio: 'ignore' });
  }
}

/**
 * Build the suites' packages and repositories under `dir` and make them the
 * node's only apt sources (at /srv/repo/<suite>, trusted, package lists
 * removed): nothing is fetched from the internet. Returns the armored key of
 * each signed suite.
 */
export function serveAptRepos(dir: string, node: TestNode, suites: Suite[]): Record<string, string> {
  const debs = join(dir, 'debs');
  mkdirSync(debs, { recursive: true });
  const repos = suites.map((s) =>
    buildRepo(
      dir,
      s.suite,
      s.debs.map((d) => buildDeb(debs, d)),
      s.notAutomatic ?? false,
    ),
  );
  node.exec(
    'mkdir -p /srv/repo && rm -f /etc/apt/sources.list /etc/apt/sources.list.d/* && rm -rf /var/lib/apt/lists/*',
  );
  const keys: Record<string, string> = {};
  suites.forEach((s, i) => {
    if (s.signed) keys[s.suite] = signRepo(repos[i]!, dir);
  });
  for (const r of repos) execFileSync('podman', ['cp', r, `${node.container}:/srv/repo/`]);
  const lines = suites
    .filter((s) => s.listed !== false)
    .map((s) => `'deb [trusted=yes] file:/srv/repo/${s.suite} ./'`)
    .join(' ');
  node.exec(`printf '%s\\n' ${lines} > /etc/apt/sources.list.d/local.list`);
  return keys;
}
