/**
 * `pkg`, `packages` and `minimalPackages`.
 *
 * `pkg` is aggregated: every call in a scope becomes one action, placed before
 * the scope's other actions, that makes one package-manager call per kind of
 * change. Each package is checked first, so installing an installed package
 * (or removing an absent one) is not a change:
 * - `install` of a plain name: installed at any version is enough;
 * - `install` of a pinned version (`name=1.2-3` on apt): the installed version
 *   must be exactly that one (upgraded or downgraded to it);
 * - `install` from a release (`name/bookworm-backports`, or `enable`): apt's
 *   simulation decides whether anything would be installed;
 * - `latest`: install, or upgrade to the candidate version; on apt decided from
 *   the package database (`apt-cache policy`), so a node with nothing to
 *   upgrade runs no installer. A change is reported only when a version moved;
 * - `upgrade`: upgrade installed packages only (never installs).
 * apt never prompts: dpkg keeps an edited configuration file and installs the
 * maintainer's beside it (`conffiles: 'maintainer'` replaces it instead), and a
 * failed run never leaves packages half-configured.
 *
 * Why this file is long: one action family: `pkg` compiles to each package manager (apt, dnf/yum, apk, pacman, zypper, brew) with
 * its check path; the managers share the aggregation and version logic here, and a table per manager would
 * scatter it.
 */
import * as z from 'zod';
import type { ChangeOptions } from '../../plan/types.js';
import { PlanError } from '../../core/errors.js';
import { defineAction } from '../../plan/action.js';
import { withContext, currentSession } from '../../plan/session.js';
import type { ScriptContext } from '../../plan/types.js';
import { dispatch, type Implementation } from '../../script/dispatch.js';
import { shQuote } from '../../script/quote.js';
import { validate } from '../../core/validate.js';
import { aptFunctionsFor, aptListsFor, dpkgOptions, pkgName, type ConffilePolicy } from './common.js';
import type { CheckMode } from '../../script/check.js';

export type PackageAction = 'install' | 'latest' | 'remove' | 'upgrade' | 'purge';

export interface PackageOptions extends ChangeOptions {
  /**
   * Default `install` (present at any version, or at the pinned `name=version`).
   * `latest`: installed and at the newest available version.
   * `upgrade`: upgraded if installed (never installs). `remove`, `purge`.
   */
  action?: PackageAction;
  /** apt: install from this release (`-t`); the installed version must be the one apt picks from it. */
  enable?: string;
  /** apt: allow unauthenticated packages. */
  allowUnsigned?: boolean;
  /**
   * apt: do not start services while installing (a temporary
   * `/usr/sbin/policy-rc.d`, removed even when the run is interrupted). An
   * existing policy-rc.d is the administrator's: it is kept and used as it is.
   */
  disableServiceStart?: boolean;
  /**
   * apt: a configuration file the admin edited, when the new package version
   * ships another. `keep` (default): the admin's stays, the maintainer's is
   * installed beside it (`.dpkg-dist`). `maintainer`: the maintainer's replaces
   * it, the admin's is kept as `.dpkg-old`.
   */
  conffiles?: ConffilePolicy;
  /** Lower numbers run first (default 50). */
  priority?: number;
}

const pkgOptions = z.strictObject({
  action: z.enum(['install', 'latest', 'remove', 'upgrade', 'purge']).optional(),
  enable: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/)
    .optional(),
  allowUnsigned: z.boolean().optional(),
  disableServiceStart: z.boolean().optional(),
  conffiles: z.enum(['keep', 'maintainer']).optional(),
  priority: z.number().int().optional(),
});

export interface PkgArgs {
  name: string;
  opts: PackageOptions;
}

/** One package-manager call: the packages that share an action and the options of the command line. */
interface Batch {
  action: PackageAction;
  opts: PackageOptions;
  names: string[];
}

/** How one package manager checks and changes a batch of packages. Every function returns shell. */
interface Manager {
  /** Shell run once before the batches (settings, helper functions). */
  prepare: (c: CheckMode) => string;
  /** The script for one batch; it calls pallet_changed when it changed (in check mode: would change) the node. */
  batch: (b: Batch, c: CheckMode) => string;
}

/** Add each name (quoted) to "$@" when `test(name)` fails (`missing`) or succeeds (`present`). */
function collect(names: string[], test: (n: string) => string, when: 'missing' | 'present'): string {
  return [
    'set --',
    ...names.map((n) =>
      when === 'missing'
        ? `${test(n)} || set -- "$@" ${shQuote(n)}`
        : `if ${test(n)}; then set -- "$@" ${shQuote(n)}; fi`,
    ),
  ].join('\n');
}

/** Run `cmd`; report a change when the output of `versions` differs before and after. */
function versionChange(versions: string, cmd: string): string {
  return `pallet_before=$(${versions} 2>/dev/null)\n${cmd} || exit 1\n[ "$pallet_before" = "$(${versions} 2>/dev/null)" ] || pallet_changed`;
}

/** A generic manager: an installed test and four commands. */
function simpleManager(m: {
  installed: (p: string) => string;
  install: string;
  remove: string;
  purge: string;
  versions: (list: string) => string;
  upgrade: (list: string) => string;
  latest: (list: string) => string;
}): Manager {
  return {
    prepare: () => ':',
    batch: (b, c) => {
      const list = b.names.map(shQuote).join(' ');
      if (c?.check) {
        // Without a simulation: what is missing (or present) is known, what an upgrade would do is not.
        if (b.action === 'upgrade' || b.action === 'latest')
          return `pallet_may ${shQuote(`${b.action} ${b.names.join(' ')}: this package manager is not simulated by check mode`)}`;
        const when = b.action === 'install' ? 'missing' : 'present';
        return `${collect(b.names, (n) => m.installed(shQuote(n)), when)}\nif [ $# -gt 0 ]; then pallet_would "${b.action} $*"; pallet_changed; fi`;
      }
      switch (b.action) {
        case 'upgrade':
          return versionChange(m.versions(list), m.upgrade(list));
        case 'latest':
          return versionChange(m.versions(list), m.latest(list));
        case 'install':
          return `${collect(b.names, (n) => m.installed(shQuote(n)), 'missing')}\nif [ $# -gt 0 ]; then ${m.install} "$@" || exit 1; pallet_changed; fi`;
        default:
          return `${collect(b.names, (n) => m.installed(shQuote(n)), 'present')}\nif [ $# -gt 0 ]; then ${b.action === 'remove' ? m.remove : m.purge} "$@" || exit 1; pallet_changed; fi`;
      }
    },
  };
}

function rpmManager(tool: 'yum' | 'dnf'): Manager {
  return simpleManager({
    installed: (p) => `rpm -q ${p} >/dev/null 2>&1`,
    install: `${tool} -q -y install`,
    remove: `${tool} -q -y remove`,
    purge: `${tool} -q -y remove`,
    versions: (list) => `rpm -q ${list}`,
    upgrade: (list) => `${tool} -q -y upgrade ${list}`,
    // check-update exits 100 when something is upgradable, 0 when nothing is: no installer then.
    latest: (list) =>
      `{ rpm -q ${list} >/dev/null 2>&1 && ${tool} -q check-update ${list} >/dev/null; } || { ${tool} -q -y install ${list} && ${tool} -q -y upgrade ${list}; }`,
  });
}

// --- apt ------------------------------------------------------------------

/** The package name without a version or release suffix. */
const aptBare = (name: string) => name.split(/[=/]/)[0]!;

const dpkgStatus = (p: string) => `dpkg-query -W -f='\${Status} \${Version}' ${p} 2>/dev/null`;

/** apt-get's install options for a batch. */
function aptInstallFlags(b: Batch, extra = ''): string {
  return `${b.opts.enable ? ` -t ${shQuote(b.opts.enable)}` : ''}${b.opts.allowUnsigned ? ' --allow-unauthenticated' : ''}${extra}`;
}

/**
 * Wrap `body` (which installs) so that no service starts while it runs: a
 * temporary policy-rc.d, removed by a trap however the script ends. An
 * existing policy-rc.d that is not pallet's is kept as it is.
 */
function withoutServiceStart(body: string, c: CheckMode): string {
  // Check mode installs nothing, so no service can start: no policy-rc.d.
  if (c?.check) return body;
  const f = '/usr/sbin/policy-rc.d';
  return [
    'pallet_prc=',
    `if [ ! -e ${f} ] || grep -qx '# pallet: temporary' ${f}; then`,
    `  pallet_prc=${f}`,
    `  trap 'rm -f ${f}' EXIT; trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM`,
    `  printf '#!/bin/sh\\n# pallet: temporary\\nexit 101\\n' > ${f} && chmod 755 ${f} || exit 1`,
    'fi',
    body,
    `if [ -n "$pallet_prc" ]; then rm -f ${f}; trap - EXIT HUP INT TERM; fi`,
  ].join('\n');
}

function aptBatch(b: Batch, c: CheckMode): string {
  const conffiles = `pallet_conffiles=${shQuote(dpkgOptions(b.opts.conffiles))}`;
  const aptLists = aptListsFor(c);
  // Install "$@" (when not empty); `changed` is the shell that reports the change (check mode: the simulation does).
  const install = (flags: string, changed = 'pallet_changed', before = ':') => {
    const run = `  ${aptLists}\n  ${before}\n  pallet_apt${flags} install "$@" || exit 1\n  ${c?.check ? ':' : changed}`;
    return b.opts.disableServiceStart
      ? withoutServiceStart(`if [ $# -gt 0 ]; then\n${run}\nfi`, c)
      : `if [ $# -gt 0 ]; then\n${run}\nfi`;
  };
  /** Run `cmd`; a change when the versions moved (in check mode the simulation reports it). */
  const versionChanged = (versions: string, cmd: string) =>
    c?.check ? `${cmd} || exit 1` : versionChange(versions, cmd);
  const list = b.names.map(shQuote).join(' ');
  const fromRelease = b.opts.enable !== undefined || b.names.some((n) => n.includes('/'));
  switch (b.action) {
    case 'remove':
    case 'purge':
      return [
        conffiles,
        collect(b.names, (n) => `${dpkgStatus(shQuote(aptBare(n)))} | grep -q '^install ok installed '`, 'present'),
        `if [ $# -gt 0 ]; then pallet_apt ${b.action} "$@" || exit 1; ${c?.check ? ':' : 'pallet_changed'}; fi`,
      ].join('\n');
    case 'upgrade':
      return [
        conffiles,
        aptLists,
        versionChanged(
          `dpkg-query -W -f='\${Version}\\n' ${b.names.map((n) => shQuote(aptBare(n))).join(' ')}`,
          `pallet_apt install --only-upgrade ${list}`,
        ),
      ].join('\n');
    default:
      break;
  }
  if (fromRelease) {
    // Which version a release gives is known to apt only: its simulation says whether anything would be installed.
    return [
      conffiles,
      aptLists,
      `pallet_sim=$(LC_ALL=C apt-get -s -q${aptInstallFlags(b)} install ${list} 2>&1) || { printf '%s\\n' "$pallet_sim" >&2; exit 1; }`,
      `case $pallet_sim in *"Inst "*) set -- ${list} ;; *) set -- ;; esac`,
      install(aptInstallFlags(b, ' --allow-downgrades')),
    ].join('\n');
  }
  if (b.action === 'latest') {
    // apt-cache policy gives each package's installed and candidate versions in one process.
    // Listed: not installed, not known (apt then says so), or installed at another version than the candidate.
    const awk = [
      'BEGIN { n = split(want, w, " ") }',
      '/^[^ ]/ { p = $0; sub(/:$/, "", p); next }',
      '$1 == "Installed:" { inst[p] = $2 }',
      '$1 == "Candidate:" { cand[p] = $2; seen[p] = 1 }',
      'END { for (i = 1; i <= n; i++) { q = w[i]; if (!seen[q] || inst[q] == "(none)" || (cand[q] != "(none)" && inst[q] != cand[q])) print q } }',
    ].join(' ');
    const bare = b.names.map(aptBare);
    const versions = `dpkg-query -W -f='\${Version}\\n' "$@" 2>/dev/null`;
    return [
      conffiles,
      aptLists,
      `pallet_up=$(LC_ALL=C apt-cache policy ${bare.map(shQuote).join(' ')} 2>/dev/null | awk -v want=${shQuote(bare.join(' '))} ${shQuote(awk)})`,
      'set -f; set -- $pallet_up; set +f',
      install(
        aptInstallFlags(b),
        `[ "$pallet_before" = "$(${versions})" ] || pallet_changed`,
        `pallet_before=$(${versions})`,
      ),
    ].join('\n');
  }
  // install: a pinned name=version must be installed at exactly that version.
  const test = (n: string) => {
    const [name, version] = n.split('=');
    return version === undefined
      ? `${dpkgStatus(shQuote(name!))} | grep -q '^install ok installed '`
      : `[ "$(${dpkgStatus(shQuote(name!))})" = ${shQuote(`install ok installed ${version}`)} ]`;
  };
  const pinned = b.names.some((n) => n.includes('='));
  return [
    conffiles,
    collect(b.names, test, 'missing'),
    install(aptInstallFlags(b, pinned ? ' --allow-downgrades' : '')),
  ].join('\n');
}

const managers: ReadonlyArray<Implementation<Manager>> = [
  { when: { packager: ['apt', 'aptitude'] }, impl: { prepare: aptFunctionsFor, batch: aptBatch } },
  ...(['yum', 'dnf'] as const).map((tool) => ({ when: { packager: tool }, impl: rpmManager(tool) })),
  {
    when: { packager: 'apk' },
    impl: simpleManager({
      installed: (p) => `apk info -e ${p} >/dev/null 2>&1`,
      install: 'apk add --no-cache',
      remove: 'apk del',
      purge: 'apk del --purge',
      versions: (list) => `apk info -v ${list}`,
      upgrade: (list) => `apk add --no-cache --upgrade ${list}`,
      latest: (list) => `apk add --no-cache --upgrade ${list}`,
    }),
  },
  {
    when: { packager: 'pacman' },
    impl: simpleManager({
      installed: (p) => `pacman -Q ${p} >/dev/null 2>&1`,
      install: 'pacman -S --noconfirm --needed',
      remove: 'pacman -R --noconfirm',
      purge: 'pacman -Rn --noconfirm',
      versions: (list) => `pacman -Q ${list}`,
      upgrade: (list) => `pacman -S --noconfirm --needed ${list}`,
      latest: (list) => `pacman -S --noconfirm --needed ${list}`,
    }),
  },
  {
    when: { packager: 'zypper' },
    impl: simpleManager({
      installed: (p) => `rpm -q ${p} >/dev/null 2>&1`,
      install: 'zypper -n -q install',
      remove: 'zypper -n -q remove',
      purge: 'zypper -n -q remove --clean-deps',
      versions: (list) => `rpm -q ${list}`,
      upgrade: (list) => `zypper -n -q update ${list}`,
      latest: (list) => `zypper -n -q install ${list} && zypper -n -q update ${list}`,
    }),
  },
  {
    when: { packager: 'brew' },
    impl: simpleManager({
      installed: (p) => `brew list --versions ${p} >/dev/null 2>&1`,
      install: 'brew install',
      remove: 'brew uninstall',
      purge: 'brew uninstall --zap',
      versions: (list) => `brew list --versions ${list}`,
      upgrade: (list) => `brew upgrade ${list}`,
      latest: (list) =>
        `{ brew list --versions ${list} >/dev/null 2>&1 || brew install ${list}; } && { [ -z "$(brew outdated ${list})" ] || brew upgrade ${list}; }`,
    }),
  },
];

/** The script for a set of package calls (exported for tests). */
export function packageScript(calls: ReadonlyArray<PkgArgs>, ctx: ScriptContext): string {
  const m = dispatch('pkg', managers, {
    ...(ctx.packager ? { packager: ctx.packager } : {}),
    ...(ctx.osFamily ? { osFamily: ctx.osFamily } : {}),
  });
  const seen = new Set<string>();
  const unique = calls.filter((c) => {
    const k = `${c.name}\0${c.opts.action ?? 'install'}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  const sorted = [...unique].sort((a, b) => (a.opts.priority ?? 50) - (b.opts.priority ?? 50));
  // One batch per action and the options that change the command line.
  const batches = new Map<string, Batch>();
  for (const c of sorted) {
    const action = c.opts.action ?? 'install';
    const key = JSON.stringify([
      action,
      c.opts.enable ?? '',
      c.opts.allowUnsigned ?? false,
      c.opts.disableServiceStart ?? false,
      c.opts.conffiles ?? 'keep',
    ]);
    const b = batches.get(key) ?? { action, opts: c.opts, names: [] };
    b.names.push(c.name);
    batches.set(key, b);
  }
  return [m.prepare(ctx), ...[...batches.values()].map((b) => m.batch(b, ctx))].join('\n');
}

function parsePkg(name: string, opts: PackageOptions = {}): PkgArgs {
  const n = validate(pkgName, name, 'pkg');
  const o = validate(pkgOptions, opts, `pkg '${name}'`) as PackageOptions;
  if (n.includes('=') && (o.action === 'latest' || o.action === 'upgrade')) {
    throw new PlanError(
      `pkg '${name}': a pinned version cannot be '${o.action}'; pin it (action install) or drop the '=version'`,
    );
  }
  return { name: n, opts: o };
}

/**
 * Install (or make latest, remove, upgrade, purge) a package. All calls in a
 * scope become one package-manager call per kind of change.
 *
 * @example
 * ```ts
 * pkg('nginx');
 * pkg('curl', { action: 'latest' });
 * pkg('telnet', { action: 'remove' });
 * ```
 */
export const pkg = defineAction<[name: string, opts?: PackageOptions], PkgArgs>({
  name: 'pkg',
  execution: 'aggregated',
  optionsParam: 1,
  alwaysAfter: ['packageManager', 'packageSource', 'debconfSetSelections', 'minimalPackages'],
  parse: parsePkg,
  summary: (args) =>
    `pkg ${args.map((a) => `${a.opts.action && a.opts.action !== 'install' ? `${a.opts.action}:` : ''}${a.name}`).join(' ')}`,
  script: (args, ctx) => ({ script: packageScript(args, ctx), changes: 'reported', checked: true }),
});

export type PackagesByManager = Partial<
  Record<'apt' | 'aptitude' | 'yum' | 'dnf' | 'apk' | 'pacman' | 'zypper' | 'brew', string[]>
>;

/**
 * Install the list of packages given for the node's package manager
 * (`apt` and `aptitude` stand in for each other, as do `yum` and `dnf`).
 *
 * @example
 * ```ts
 * packages({ apt: ['build-essential'], yum: ['gcc', 'make'], apk: ['build-base'] });
 * ```
 */
export function packages(byManager: PackagesByManager, opts: PackageOptions = {}): void {
  return withContext('packages', () => {
    const s = currentSession('packages');
    const p = s.os.packager;
    const alias: Record<string, string> = { apt: 'aptitude', aptitude: 'apt', yum: 'dnf', dnf: 'yum' };
    const list =
      (p && (byManager[p as keyof PackagesByManager] ?? byManager[alias[p] as keyof PackagesByManager])) ?? [];
    for (const name of list) pkg(name, opts);
  });
}

/**
 * The packages every managed node needs (coreutils and sudo).
 *
 * @example
 * ```ts
 * minimalPackages();
 * ```
 */
export const minimalPackages = defineAction<[opts?: ChangeOptions], null>({
  name: 'minimalPackages',
  execution: 'aggregated',
  optionsParam: 0,
  alwaysBefore: ['pkg', 'packageManager'],
  parse: () => null,
  summary: () => 'minimalPackages',
  script: (_args, ctx) => ({
    script: packageScript(
      ['coreutils', 'sudo'].map((name) => ({ name, opts: {} })),
      ctx,
    ),
    changes: 'reported',
    checked: true,
  }),
});
