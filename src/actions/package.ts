/**
 * Packages: `pkg`, `packages`, `packageManager`, `packageSource`,
 * `debconfSetSelections`, `minimalPackages`, `installDeb`, `addRpm`.
 *
 * `pkg` is aggregated: every call in a scope becomes one action, placed before
 * the scope's other actions, that makes one package-manager call per kind of
 * change. Each package is checked first, so installing an installed package
 * (or removing an absent one) is not a change.
 */
import { z } from 'zod';
import { defineAction } from '../plan/action.js';
import { currentSession } from '../plan/session.js';
import type { ScriptContext } from '../plan/types.js';
import { dispatch, type Implementation } from '../script/dispatch.js';
import { shQuote, writeBytes } from '../script/quote.js';
import { installStaged, resolveTarget, stageBeside } from '../script/fs.js';
import { validate } from '../spec/spec.js';

export type PackageAction = 'install' | 'remove' | 'upgrade' | 'purge';

export interface PackageOptions {
  /** Default `install`. */
  action?: PackageAction;
  /** apt: install from this release (`-t`). */
  enable?: string;
  /** apt: allow unauthenticated packages. */
  allowUnsigned?: boolean;
  /** apt: do not start services while installing (policy-rc.d). */
  disableServiceStart?: boolean;
  /** Lower numbers run first (default 50). */
  priority?: number;
}

const pkgName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9.+_:@/=~-]*$/, 'package names are letters, digits and . + _ : @ / = ~ -');

const pkgOptions = z.strictObject({
  action: z.enum(['install', 'remove', 'upgrade', 'purge']).optional(),
  enable: z.string().regex(/^[A-Za-z0-9._-]+$/).optional(),
  allowUnsigned: z.boolean().optional(),
  disableServiceStart: z.boolean().optional(),
  priority: z.number().int().optional(),
});

interface PkgArgs {
  name: string;
  opts: PackageOptions;
}

/** How one package manager checks and changes packages. Every function returns shell. */
interface Manager {
  /** Prepare (non-interactive settings). */
  prepare: string;
  /** Run before installing or upgrading (fetch package lists if there are none). */
  beforeInstall?: string;
  /** A test that succeeds when `p` (quoted) is installed. */
  installed: (p: string) => string;
  install: (opts: PackageOptions) => string;
  remove: string;
  purge: string;
  /** Upgrade the named packages; must call pallet_changed itself when something changed. */
  upgrade: (list: string) => string;
}

const aptPrepare = 'export DEBIAN_FRONTEND=noninteractive';
// A node whose package lists were never fetched cannot install anything: fetch them, once, when something must be installed.
const aptLists = 'if ! ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1; then apt-get -qq update || exit 1; fi';

/** yum and dnf differ only in the command's name. */
function rpmManager(tool: 'yum' | 'dnf'): Manager {
  return {
    prepare: ':',
    installed: (p) => `rpm -q ${p} >/dev/null 2>&1`,
    install: () => `${tool} -q -y install`,
    remove: `${tool} -q -y remove`,
    purge: `${tool} -q -y remove`,
    upgrade: (list) => versionChange(`rpm -q ${list}`, `${tool} -q -y upgrade ${list}`),
  };
}

/** Run `cmd`; report a change when the output of `versions` differs before and after. */
function versionChange(versions: string, cmd: string): string {
  return `pallet_before=$(${versions} 2>/dev/null)\n${cmd} || exit 1\n[ "$pallet_before" = "$(${versions} 2>/dev/null)" ] || pallet_changed`;
}

const managers: ReadonlyArray<Implementation<Manager>> = [
  {
    when: { packager: ['apt', 'aptitude'] },
    impl: {
      prepare: aptPrepare,
      beforeInstall: aptLists,
      installed: (p) => `dpkg-query -W -f='\${Status}' ${p} 2>/dev/null | grep -q 'ok installed'`,
      install: (o) =>
        `apt-get -q -y${o.enable ? ` -t ${shQuote(o.enable)}` : ''}${o.allowUnsigned ? ' --allow-unauthenticated' : ''} install`,
      remove: 'apt-get -q -y remove',
      purge: 'apt-get -q -y purge',
      upgrade: (list) =>
        `pallet_before=$(dpkg-query -W -f='\${Version}\\n' ${list} 2>/dev/null)\n` +
        `apt-get -q -y install --only-upgrade ${list} || exit 1\n` +
        `[ "$pallet_before" = "$(dpkg-query -W -f='\${Version}\\n' ${list} 2>/dev/null)" ] || pallet_changed`,
    },
  },
  ...(['yum', 'dnf'] as const).map((tool) => ({
    when: { packager: tool },
    impl: rpmManager(tool),
  })),
  {
    when: { packager: 'apk' },
    impl: {
      prepare: ':',
      installed: (p) => `apk info -e ${p} >/dev/null 2>&1`,
      install: () => 'apk add --no-cache',
      remove: 'apk del',
      purge: 'apk del --purge',
      upgrade: (list) => versionChange(`apk info -v ${list}`, `apk add --no-cache --upgrade ${list}`),
    },
  },
  {
    when: { packager: 'pacman' },
    impl: {
      prepare: ':',
      installed: (p) => `pacman -Q ${p} >/dev/null 2>&1`,
      install: () => 'pacman -S --noconfirm --needed',
      remove: 'pacman -R --noconfirm',
      purge: 'pacman -Rn --noconfirm',
      upgrade: (list) => versionChange(`pacman -Q ${list}`, `pacman -S --noconfirm ${list}`),
    },
  },
  {
    when: { packager: 'zypper' },
    impl: {
      prepare: ':',
      installed: (p) => `rpm -q ${p} >/dev/null 2>&1`,
      install: () => 'zypper -n -q install',
      remove: 'zypper -n -q remove',
      purge: 'zypper -n -q remove --clean-deps',
      upgrade: (list) => versionChange(`rpm -q ${list}`, `zypper -n -q update ${list}`),
    },
  },
  {
    when: { packager: 'brew' },
    impl: {
      prepare: ':',
      installed: (p) => `brew list --versions ${p} >/dev/null 2>&1`,
      install: () => 'brew install',
      remove: 'brew uninstall',
      purge: 'brew uninstall --zap',
      upgrade: (list) => versionChange(`brew list --versions ${list}`, `brew upgrade ${list}`),
    },
  },
];

function managerFor(ctx: ScriptContext, what: string): Manager {
  return dispatch(what, managers, { ...(ctx.packager ? { packager: ctx.packager } : {}), ...(ctx.osFamily ? { osFamily: ctx.osFamily } : {}) });
}

/** The package name without a version or release suffix (for the installed check). */
function bareName(name: string, packager: string | undefined): string {
  if (packager === 'apt' || packager === 'aptitude') return name.split(/[=/]/)[0]!;
  return name;
}

/** The script for a set of package calls (exported for tests). */
export function packageScript(calls: ReadonlyArray<PkgArgs>, ctx: ScriptContext): string {
  const m = managerFor(ctx, 'pkg');
  const seen = new Set<string>();
  const unique = calls.filter((c) => {
    const k = `${c.name}\0${c.opts.action ?? 'install'}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  const sorted = [...unique].sort((a, b) => (a.opts.priority ?? 50) - (b.opts.priority ?? 50));
  // Group installs by the options that change the command line.
  const groups = new Map<string, { action: PackageAction; opts: PackageOptions; names: string[] }>();
  for (const c of sorted) {
    const action = c.opts.action ?? 'install';
    const key = JSON.stringify([action, c.opts.enable ?? '', c.opts.allowUnsigned ?? false, c.opts.disableServiceStart ?? false]);
    const g = groups.get(key) ?? { action, opts: c.opts, names: [] };
    g.names.push(c.name);
    groups.set(key, g);
  }
  const lines = [m.prepare];
  for (const g of groups.values()) {
    const check = (n: string) => m.installed(shQuote(bareName(n, ctx.packager)));
    if (g.action === 'upgrade') {
      if (m.beforeInstall) lines.push(m.beforeInstall);
      lines.push(m.upgrade(g.names.map(shQuote).join(' ')));
      continue;
    }
    lines.push('set --');
    for (const n of g.names) {
      const test = g.action === 'install' ? `${check(n)} || set -- "$@" ${shQuote(n)}` : `${check(n)} && set -- "$@" ${shQuote(n)}`;
      lines.push(g.action === 'install' ? test : `if ${check(n)}; then set -- "$@" ${shQuote(n)}; fi`);
    }
    const cmd = g.action === 'install' ? m.install(g.opts) : g.action === 'remove' ? m.remove : m.purge;
    const pre = g.action === 'install' && m.beforeInstall ? `${m.beforeInstall}; ` : '';
    const run = `${pre}${cmd} "$@" || exit 1`;
    if (g.opts.disableServiceStart && (ctx.packager === 'apt' || ctx.packager === 'aptitude')) {
      lines.push(
        'if [ $# -gt 0 ]; then',
        ...(m.beforeInstall && g.action === 'install' ? [`  ${m.beforeInstall}`] : []),
        "  printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d || exit 1",
        `  ${cmd} "$@"; pallet_rc=$?`,
        '  rm -f /usr/sbin/policy-rc.d',
        '  [ "$pallet_rc" -eq 0 ] || exit "$pallet_rc"',
        '  pallet_changed',
        'fi',
      );
    } else {
      lines.push(`if [ $# -gt 0 ]; then ${run}; pallet_changed; fi`);
    }
  }
  return lines.join('\n');
}

/**
 * Install (or remove, upgrade, purge) a package. All calls in a scope become
 * one package-manager call per kind of change.
 */
export const pkg = defineAction<[name: string, opts?: PackageOptions], PkgArgs>({
  name: 'pkg',
  execution: 'aggregated',
  alwaysAfter: ['packageManager', 'packageSource', 'debconfSetSelections', 'minimalPackages'],
  parse: (name, opts = {}) => ({
    name: validate(pkgName, name, 'pkg'),
    opts: validate(pkgOptions, opts, `pkg '${name}'`) as PackageOptions,
  }),
  summary: (args) => `pkg ${args.map((a) => `${a.opts.action && a.opts.action !== 'install' ? `${a.opts.action}:` : ''}${a.name}`).join(' ')}`,
  script: (args, ctx) => ({ script: packageScript(args, ctx), changes: 'reported' }),
});

export type PackagesByManager = Partial<Record<'apt' | 'aptitude' | 'yum' | 'dnf' | 'apk' | 'pacman' | 'zypper' | 'brew', string[]>>;

/**
 * Install the list of packages given for the node's package manager
 * (`apt` and `aptitude` stand in for each other, as do `yum` and `dnf`).
 */
export function packages(byManager: PackagesByManager, opts: PackageOptions = {}): void {
  const s = currentSession('packages');
  const p = s.os.packager;
  const alias: Record<string, string> = { apt: 'aptitude', aptitude: 'apt', yum: 'dnf', dnf: 'yum' };
  const list = (p && (byManager[p as keyof PackagesByManager] ?? byManager[alias[p] as keyof PackagesByManager])) ?? [];
  for (const name of list) pkg(name, opts);
}

// ---------------------------------------------------------------------------

export interface PackageManagerOptions {
  /** For `configure`: an HTTP proxy URL for the package manager. */
  proxy?: string;
}

interface PmArgs {
  action: 'update' | 'upgrade' | 'configure';
  opts: PackageManagerOptions;
}

const pmImpls: ReadonlyArray<Implementation<(a: PmArgs) => string>> = [
  {
    when: { packager: ['apt', 'aptitude'] },
    impl: (a) => {
      if (a.action === 'update') return 'export DEBIAN_FRONTEND=noninteractive\napt-get -qq update';
      if (a.action === 'upgrade')
        return [
          'export DEBIAN_FRONTEND=noninteractive',
          'if ! ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1; then apt-get -qq update || exit 1; fi',
          'if apt-get -s -q upgrade | grep -q "^Inst "; then apt-get -q -y upgrade || exit 1; pallet_changed; fi',
        ].join('\n');
      const content = a.opts.proxy ? `Acquire::http::Proxy ${JSON.stringify(a.opts.proxy)};\n` : '';
      return fileWithContent('/etc/apt/apt.conf.d/50pallet-proxy', content);
    },
  },
  ...(['yum', 'dnf'] as const).map((tool) => ({
    when: { packager: tool },
    impl: (a: PmArgs) => {
      if (a.action === 'update') return `${tool} -q makecache`;
      if (a.action === 'upgrade')
        return `if ${tool} -q check-update >/dev/null; then :; else [ $? -eq 100 ] || exit 1; ${tool} -q -y upgrade || exit 1; pallet_changed; fi`;
      return fileWithContent('/etc/yum.repos.d/pallet-proxy.conf', a.opts.proxy ? `[main]\nproxy=${a.opts.proxy}\n` : '');
    },
  })),
  {
    when: { packager: 'apk' },
    impl: (a) => (a.action === 'update' ? 'apk update -q' : a.action === 'upgrade' ? 'if apk upgrade -s | grep -q Upgrading; then apk upgrade -q || exit 1; pallet_changed; fi' : ':'),
  },
  {
    when: { packager: 'pacman' },
    impl: (a) => (a.action === 'update' ? 'pacman -Sy --noconfirm' : a.action === 'upgrade' ? 'if [ -n "$(pacman -Qu)" ]; then pacman -Su --noconfirm || exit 1; pallet_changed; fi' : ':'),
  },
  {
    when: { packager: 'zypper' },
    impl: (a) => (a.action === 'update' ? 'zypper -n -q refresh' : a.action === 'upgrade' ? 'if zypper -n -q list-updates | grep -q "^v"; then zypper -n -q update || exit 1; pallet_changed; fi' : ':'),
  },
  {
    when: { packager: 'brew' },
    impl: (a) => (a.action === 'update' ? 'brew update' : a.action === 'upgrade' ? 'if [ -n "$(brew outdated)" ]; then brew upgrade || exit 1; pallet_changed; fi' : ':'),
  },
];

/** Shell that makes `path` hold exactly `content` (atomically), calling pallet_changed when it changed. */
export function fileWithContent(path: string, content: string, flag?: string): string {
  const onChange = `pallet_changed${flag ? `; pallet_set_flag ${shQuote(flag)}` : ''}`;
  return [resolveTarget(path, 'file'), stageBeside(), writeBytes(content, '"$pallet_t"', 'exit 1'), installStaged('"$pallet_p"', onChange, { mode: '644' })].join('\n');
}

/**
 * Package-manager wide actions: `update` the package lists (never reported as
 * a change), `upgrade` every package, or `configure` a proxy.
 */
export const packageManager = defineAction<[action: 'update' | 'upgrade' | 'configure', opts?: PackageManagerOptions], PmArgs>({
  name: 'packageManager',
  execution: 'aggregated',
  alwaysBefore: ['pkg'],
  parse: (action, opts = {}) => ({
    action: validate(z.enum(['update', 'upgrade', 'configure']), action, 'packageManager'),
    opts: validate(z.strictObject({ proxy: z.string().optional() }), opts, `packageManager '${action}'`),
  }),
  summary: (args) => `packageManager ${args.map((a) => a.action).join(' ')}`,
  script: (args, ctx) => {
    const impl = dispatch('packageManager', pmImpls, { ...(ctx.packager ? { packager: ctx.packager } : {}) });
    const order = ['configure', 'update', 'upgrade'] as const;
    const seen = new Set<string>();
    const parts = order.flatMap((act) =>
      args.filter((a) => a.action === act && !seen.has(act) && seen.add(act)).map((a) => `{\n${impl(a)}\n} || exit 1`),
    );
    return { script: parts.join('\n'), changes: 'reported' };
  },
});

// ---------------------------------------------------------------------------

export interface PackageSourceOptions {
  apt?: {
    /** Repository URL, or a `ppa:` name (Ubuntu). */
    url: string;
    /** Components (default ['main']). */
    scopes?: string[];
    /** Release (default: the node's codename). */
    release?: string;
    sourceType?: 'deb' | 'deb-src';
    /** Armored or binary key to trust for this source only (signed-by). */
    key?: string;
    /** URL of the key (downloaded on the node with curl or wget). */
    keyUrl?: string;
  };
  yum?: {
    url?: string;
    mirrorlist?: string;
    gpgkey?: string;
    priority?: number;
    enabled?: boolean;
  };
  /** Alpine: a repository line added to /etc/apk/repositories. */
  apk?: { url: string };
  /** Arch: a `[name]` section with this server in /etc/pacman.conf. */
  pacman?: { url: string; sigLevel?: string };
  /** Homebrew: a tap (`user/repo`), optionally from a URL. */
  brew?: { tap: string; url?: string };
}

interface SourceArgs {
  name: string;
  opts: PackageSourceOptions;
}

/** The flag set when a package source changed (then run packageManager('update')). */
export const packageSourceChangedFlag = 'packagesourcechanged';

const sourceName = z.string().regex(/^[A-Za-z0-9._-]+$/, 'source names are letters, digits, . _ -');

/**
 * Add a package repository: an apt `.list` file (with its own keyring), a
 * yum/dnf/zypper `.repo` file, an apk repository line, a pacman section, or a
 * Homebrew tap. Sets the flag `packagesourcechanged` when it changed;
 * follow it with `planWhen(targetFlag(packageSourceChangedFlag), () => packageManager('update'))`.
 */
export const packageSource = defineAction<[name: string, opts: PackageSourceOptions], SourceArgs>({
  name: 'packageSource',
  execution: 'aggregated',
  alwaysBefore: ['packageManager', 'pkg'],
  parse: (name, opts) => ({
    name: validate(sourceName, name, 'packageSource'),
    opts: validate(
      z.strictObject({
        apt: z
          .strictObject({
            url: z.string().min(1),
            scopes: z.array(z.string().regex(/^[A-Za-z0-9._/-]+$/)).optional(),
            release: z.string().regex(/^[A-Za-z0-9._/-]+$/).optional(),
            sourceType: z.enum(['deb', 'deb-src']).optional(),
            key: z.string().optional(),
            keyUrl: z.string().optional(),
          })
          .optional(),
        yum: z
          .strictObject({
            url: z.string().optional(),
            mirrorlist: z.string().optional(),
            gpgkey: z.string().optional(),
            priority: z.number().int().optional(),
            enabled: z.boolean().optional(),
          })
          .optional(),
        apk: z.strictObject({ url: z.string().regex(/^\S+$/) }).optional(),
        pacman: z.strictObject({ url: z.string().regex(/^\S+$/), sigLevel: z.string().regex(/^[A-Za-z ]+$/).optional() }).optional(),
        brew: z.strictObject({ tap: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/), url: z.string().optional() }).optional(),
      }),
      opts,
      `packageSource '${name}'`,
    ) as PackageSourceOptions,
  }),
  summary: (args) => `packageSource ${args.map((a) => a.name).join(' ')}`,
  script: (args, ctx) => {
    const apt = ctx.packager === 'apt' || ctx.packager === 'aptitude';
    const lines: string[] = [];
    for (const { name, opts } of args) {
      if (apt) {
        const a = opts.apt;
        if (!a) throw new Error(`packageSource '${name}': no apt options for an apt node`);
        if (a.url.startsWith('ppa:')) {
          lines.push(
            `if ! ls /etc/apt/sources.list.d/*${shQuote(name)}* >/dev/null 2>&1; then`,
            `  command -v add-apt-repository >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get -q -y install software-properties-common || exit 1; }`,
            `  add-apt-repository -y ${shQuote(a.url)} || exit 1; pallet_changed; pallet_set_flag ${packageSourceChangedFlag}`,
            'fi',
          );
          continue;
        }
        const keyring = `/etc/apt/keyrings/${name}.asc`;
        if (a.key) {
          lines.push('mkdir -p /etc/apt/keyrings || exit 1', `{\n${fileWithContent(keyring, a.key, packageSourceChangedFlag)}\n} || exit 1`);
        } else if (a.keyUrl) {
          const k = shQuote(keyring);
          lines.push(
            'mkdir -p /etc/apt/keyrings || exit 1',
            `if [ ! -s ${k} ]; then`,
            `  if command -v curl >/dev/null; then curl -fsSL -o ${k} ${shQuote(a.keyUrl)}; else wget -q -O ${k} ${shQuote(a.keyUrl)}; fi || { rm -f ${k}; exit 1; }`,
            `  pallet_changed; pallet_set_flag ${packageSourceChangedFlag}`,
            'fi',
          );
        }
        const signed = a.key || a.keyUrl ? ` [signed-by=${keyring}]` : '';
        const release = a.release ?? '__PALLET_CODENAME__';
        const line = `${a.sourceType ?? 'deb'}${signed} ${a.url} ${release} ${(a.scopes ?? ['main']).join(' ')}\n`;
        const body = fileWithContent(`/etc/apt/sources.list.d/${name}.list`, line, packageSourceChangedFlag);
        if (a.release) lines.push(`{\n${body}\n} || exit 1`);
        else {
          // The node's codename is known only on the node.
          lines.push(
            `pallet_codename=$( . /etc/os-release 2>/dev/null; echo "\${VERSION_CODENAME:-}")`,
            '[ -n "$pallet_codename" ] || pallet_codename=$(lsb_release -c -s 2>/dev/null)',
            `[ -n "$pallet_codename" ] || { echo ${shQuote(`packageSource ${name}: cannot tell the release codename; give apt.release`)} >&2; exit 1; }`,
            `pallet_line=$(printf '%s' ${shQuote(line.trimEnd())} | sed "s/__PALLET_CODENAME__/$pallet_codename/")`,
            resolveTarget(`/etc/apt/sources.list.d/${name}.list`, `packageSource ${name}`),
            stageBeside(),
            `printf '%s\\n' "$pallet_line" > "$pallet_t" || exit 1`,
            installStaged('"$pallet_p"', `pallet_changed; pallet_set_flag ${packageSourceChangedFlag}`, { mode: '644' }),
          );
        }
      } else if (ctx.packager === 'yum' || ctx.packager === 'dnf' || ctx.packager === 'zypper') {
        const y = opts.yum;
        if (!y) throw new Error(`packageSource '${name}': no yum options for a ${ctx.packager} node`);
        const repo = [
          `[${name}]`,
          `name=${name}`,
          ...(y.url ? [`baseurl=${y.url}`] : []),
          ...(y.mirrorlist ? [`mirrorlist=${y.mirrorlist}`] : []),
          `gpgcheck=${y.gpgkey ? 1 : 0}`,
          ...(y.gpgkey ? [`gpgkey=${y.gpgkey}`] : []),
          ...(y.priority !== undefined ? [`priority=${y.priority}`] : []),
          `enabled=${y.enabled === false ? 0 : 1}`,
        ].join('\n');
        const dir = ctx.packager === 'zypper' ? '/etc/zypp/repos.d' : '/etc/yum.repos.d';
        lines.push(`{\n${fileWithContent(`${dir}/${name}.repo`, `${repo}\n`, packageSourceChangedFlag)}\n} || exit 1`);
        if (y.gpgkey) lines.push(`rpm --import ${shQuote(y.gpgkey)} || exit 1`);
      } else if (ctx.packager === 'apk') {
        if (!opts.apk) throw new Error(`packageSource '${name}': no apk options for an apk node`);
        const line = shQuote(opts.apk.url);
        lines.push(`grep -qxF ${line} /etc/apk/repositories || { printf '%s\\n' ${line} >> /etc/apk/repositories || exit 1; pallet_changed; pallet_set_flag ${packageSourceChangedFlag}; }`);
      } else if (ctx.packager === 'pacman') {
        if (!opts.pacman) throw new Error(`packageSource '${name}': no pacman options for a pacman node`);
        const section = [`[${name}]`, ...(opts.pacman.sigLevel ? [`SigLevel = ${opts.pacman.sigLevel}`] : []), `Server = ${opts.pacman.url}`].join('\n');
        lines.push(
          `if ! grep -qxF ${shQuote(`[${name}]`)} /etc/pacman.conf; then`,
          `  printf '\\n%s\\n' ${shQuote(section)} >> /etc/pacman.conf || exit 1; pallet_changed; pallet_set_flag ${packageSourceChangedFlag}`,
          'fi',
        );
      } else if (ctx.packager === 'brew') {
        if (!opts.brew) throw new Error(`packageSource '${name}': no brew options for a brew node`);
        const tap = shQuote(opts.brew.tap);
        lines.push(`if ! brew tap | grep -qxF ${tap}; then brew tap ${tap}${opts.brew.url ? ` ${shQuote(opts.brew.url)}` : ''} || exit 1; pallet_changed; pallet_set_flag ${packageSourceChangedFlag}; fi`);
      } else {
        throw new Error(`packageSource has no implementation for package manager ${ctx.packager ?? '(unknown)'}`);
      }
    }
    return { script: lines.join('\n'), changes: 'reported' };
  },
});

// ---------------------------------------------------------------------------

export interface DebconfSelection {
  package: string;
  question: string;
  type: string;
  value: string;
}

/** Preseed debconf answers (before the packages that ask them are installed). */
export const debconfSetSelections = defineAction<[selection: DebconfSelection], DebconfSelection>({
  name: 'debconfSetSelections',
  execution: 'aggregated',
  alwaysBefore: ['pkg'],
  parse: (sel) =>
    validate(
      z.strictObject({
        package: pkgName,
        question: z.string().regex(/^[A-Za-z0-9._/:-]+$/),
        type: z.enum(['string', 'boolean', 'select', 'multiselect', 'password', 'note', 'text', 'title']),
        value: z.string().regex(/^[^\n]*$/, 'a single line'),
      }),
      sel,
      'debconfSetSelections',
    ),
  summary: (args) => `debconfSetSelections ${args.map((a) => a.question).join(' ')}`,
  script: (args) => {
    const lines = args.map((a) => {
      const entry = `${a.package} ${a.question} ${a.type} ${a.value}`;
      // printf is a shell builtin: the value never appears on a command line on the node.
      const set = [`  printf '%s\\n' ${shQuote(entry)} | debconf-set-selections || exit 1`, '  pallet_changed', 'fi'];
      if (a.type === 'password') {
        // debconf-show hides passwords: compare with debconf's password database, the value on stdin.
        const same = `awk -v q=${shQuote(a.question)} 'NR == FNR { want = $0; next } /^Name: / { name = substr($0, 7) } /^Value: / && name == q && substr($0, 8) == want { found = 1 } END { exit !found }'`;
        return [`if ! printf '%s\\n' ${shQuote(a.value)} | ${same} - /var/cache/debconf/passwords.dat 2>/dev/null; then`, ...set].join('\n');
      }
      // debconf-show prints "  question: value" (with "*" when seen); compare before writing.
      const shown = `  ${a.question}: ${a.value}`;
      return [`if ! debconf-show ${shQuote(a.package)} 2>/dev/null | sed 's/^\\*/ /' | grep -qxF ${shQuote(shown)}; then`, ...set].join('\n');
    });
    const passwords = args.filter((a) => a.type === 'password').map((a) => a.value);
    return { script: lines.join('\n'), changes: 'reported', ...(passwords.length ? { sensitive: passwords } : {}) };
  },
});

/** The packages every managed node needs (coreutils and sudo). */
export const minimalPackages = defineAction<[], null>({
  name: 'minimalPackages',
  execution: 'aggregated',
  alwaysBefore: ['pkg', 'packageManager'],
  parse: () => null,
  summary: () => 'minimalPackages',
  script: (_args, ctx) => {
    const calls = ['coreutils', 'sudo'].map((name) => ({ name, opts: {} }));
    return { script: packageScript(calls, ctx), changes: 'reported' };
  },
});

interface LocalPkgArgs {
  path: string;
}

/** Install a `.deb` already on the node, unless that version is installed. */
export const installDeb = defineAction<[path: string], LocalPkgArgs>({
  name: 'installDeb',
  execution: 'in-sequence',
  parse: (path) => ({ path: validate(z.string().min(1), path, 'installDeb') }),
  summary: ([a]) => `installDeb ${a?.path ?? ''}`,
  script: ([a]) => {
    const p = shQuote(a!.path);
    return {
      script: [
        `pallet_pkg=$(dpkg-deb -f ${p} Package) && pallet_ver=$(dpkg-deb -f ${p} Version) || exit 1`,
        `if [ "$(dpkg-query -W -f='\${Status} \${Version}' "$pallet_pkg" 2>/dev/null)" != "install ok installed $pallet_ver" ]; then`,
        `  DEBIAN_FRONTEND=noninteractive dpkg -i ${p} || exit 1`,
        '  pallet_changed',
        'fi',
      ].join('\n'),
      changes: 'reported',
    };
  },
});

/** Install an `.rpm` already on the node, unless that package version is installed. */
export const addRpm = defineAction<[path: string], LocalPkgArgs>({
  name: 'addRpm',
  execution: 'in-sequence',
  parse: (path) => ({ path: validate(z.string().min(1), path, 'addRpm') }),
  summary: ([a]) => `addRpm ${a?.path ?? ''}`,
  script: ([a]) => {
    const p = shQuote(a!.path);
    return {
      script: `if ! rpm -q "$(rpm -qp ${p})" >/dev/null 2>&1; then rpm -U --quiet ${p} || exit 1; pallet_changed; fi`,
      changes: 'reported',
    };
  },
});
