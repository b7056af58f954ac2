/**
 * `packageManager`: package-manager wide actions.
 * - `update` the package lists (never a change). With `maxAge` (seconds, like
 *   Ansible's `cache_valid_time`) it is skipped while the last successful
 *   update is younger, and the result says so.
 * - `upgrade` every package.
 * - `configure` a proxy (`proxy`; none removes pallet's setting): apt's
 *   `apt.conf.d`, the `[main]` section of `dnf.conf` / `yum.conf`.
 * - `addScope` (apt): add a component (`scope`, e.g. `contrib`) to the
 *   distribution's sources (`/etc/apt/sources.list` and the deb822
 *   `debian.sources` / `ubuntu.sources`); `universe` and `multiverse` are
 *   shorthands. Sets the flag `packagesourcechanged` when a file changed.
 */
import * as z from 'zod';
import type { ChangeOptions } from '../../plan/types.js';
import { PlanError } from '../../core/errors.js';
import { defineAction } from '../../plan/action.js';
import { dispatch, type Implementation } from '../../script/dispatch.js';
import { editFile } from '../../script/fs.js';
import { shQuote } from '../../script/quote.js';
import { validate } from '../../core/validate.js';
import {
  aptFunctionsFor,
  aptListsFor,
  block,
  fileWithContent,
  listsStamp,
  onChanged,
  packageSourceChangedFlag,
  touchStamp,
} from './common.js';
import { mutation, type CheckMode } from '../../script/check.js';

export type PackageManagerAction = 'update' | 'upgrade' | 'configure' | 'addScope' | 'universe' | 'multiverse';

export interface PackageManagerOptions extends ChangeOptions {
  /** `configure`: an HTTP proxy URL for the package manager. */
  proxy?: string;
  /** `update`: skip when the last successful update is younger than this many seconds. */
  maxAge?: number;
  /** `addScope`: the component to add (apt), e.g. `contrib`, `non-free`. */
  scope?: string;
}

interface PmArgs {
  action: PackageManagerAction;
  opts: PackageManagerOptions;
}

/** `update`, skipped while the stamp is younger than maxAge. */
function update(packager: string | undefined, cmd: string, maxAge: number | undefined, c: CheckMode): string {
  // Not a change in a real run either; check mode leaves the lists (and the stamp) as they are.
  const run = c?.check
    ? `echo 'check mode: the package lists are not updated'`
    : `${cmd} || exit 1\n${touchStamp(packager)}`;
  if (maxAge === undefined) return run;
  const s = listsStamp(packager);
  return [
    `pallet_age=$(( $(date +%s) - $(stat -c %Y ${s} 2>/dev/null || echo 0) ))`,
    `if [ "$pallet_age" -ge 0 ] && [ "$pallet_age" -lt ${maxAge} ]; then`,
    `  echo "package lists updated $pallet_age s ago (maxAge ${maxAge} s): not updated"`,
    'else',
    run.replace(/^/gm, '  '),
    'fi',
  ].join('\n');
}

/** An awk program adding the component `s` to one-line `deb` / `deb-src` entries that lack it. */
const addToListLines = [
  '/^[ \\t]*deb(-src)?[ \\t]/ {',
  '  rest = $0; sub(/\\[[^]]*\\]/, "", rest); n = split(rest, f, /[ \\t]+/); i0 = (f[1] == "") ? 2 : 1; has = 0',
  '  for (i = i0 + 3; i <= n; i++) if (f[i] == s) has = 1',
  '  if (!has && n >= i0 + 3) $0 = $0 " " s',
  '}',
  '{ print }',
].join('\n');

/** An awk program adding `s` to deb822 `Components:` fields that lack it. */
const addToComponents = [
  '/^Components:/ { has = 0; n = split($0, f, /[ \\t]+/); for (i = 2; i <= n; i++) if (f[i] == s) has = 1; if (!has) $0 = $0 " " s }',
  '{ print }',
].join('\n');

function addScope(scope: string, c: CheckMode): string {
  const flag = onChanged(packageSourceChangedFlag);
  const lists = editFile(
    '/etc/apt/sources.list',
    'packageManager addScope',
    `awk -v s=${shQuote(scope)} ${shQuote(addToListLines)}`,
    flag,
    c,
  );
  const parts = [`if [ -f /etc/apt/sources.list ]; then\n${lists}\nfi`];
  for (const f of ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list.d/ubuntu.sources']) {
    parts.push(
      `if [ -f ${f} ]; then\n${editFile(f, 'packageManager addScope', `awk -v s=${shQuote(scope)} ${shQuote(addToComponents)}`, flag, c)}\nfi`,
    );
  }
  return parts.map(block).join('\n');
}

/**
 * The `[main]` section of a dnf/yum configuration with `proxy=` set to
 * `$PALLET_PROXY` (or removed when it is empty); other lines are kept.
 */
const mainProxy = [
  'BEGIN { p = ENVIRON["PALLET_PROXY"] }',
  '/^[ \\t]*\\[/ { if (inmain && !done && p != "") { print "proxy=" p; done = 1 } inmain = ($0 ~ /^[ \\t]*\\[main\\][ \\t]*$/); print; next }',
  'inmain && /^[ \\t]*proxy[ \\t]*=/ { if (!done && p != "") { print "proxy=" p; done = 1 } next }',
  '{ print }',
  'END { if (p != "" && !done) { if (!inmain) print "[main]"; print "proxy=" p } }',
].join('\n');

/** A whole-system upgrade when `test` says one is due. */
const upgradeIf = (test: string, cmd: string, c: CheckMode) =>
  `if ${test}; then ${mutation(c, cmd, "'upgrade every package that has an update'")}; pallet_changed; fi`;

const impls: ReadonlyArray<Implementation<(a: PmArgs, c: CheckMode) => string>> = [
  {
    when: { packager: ['apt', 'aptitude'] },
    impl: (a, c) => {
      if (a.action === 'update')
        return `export DEBIAN_FRONTEND=noninteractive\n${update('apt', 'apt-get -qq update', a.opts.maxAge, c)}`;
      // In check mode pallet_apt is apt's simulation: it names each package and reports the change.
      if (a.action === 'upgrade')
        return [
          aptFunctionsFor(c),
          aptListsFor(c),
          `if LC_ALL=C apt-get -s -q upgrade | grep -q "^Inst "; then pallet_apt upgrade || exit 1; ${c?.check ? ':' : 'pallet_changed'}; fi`,
        ].join('\n');
      if (a.action === 'configure')
        return fileWithContent(
          '/etc/apt/apt.conf.d/50pallet-proxy',
          a.opts.proxy ? `Acquire::http::Proxy ${JSON.stringify(a.opts.proxy)};\n` : '',
          undefined,
          c,
        );
      return addScope(a.opts.scope!, c);
    },
  },
  ...(['yum', 'dnf'] as const).map((tool) => ({
    when: { packager: tool },
    impl: (a: PmArgs, c: CheckMode) => {
      if (a.action === 'update') return update(tool, `${tool} -q makecache`, a.opts.maxAge, c);
      if (a.action === 'upgrade')
        return `if ${tool} -q check-update >/dev/null; then :; else [ $? -eq 100 ] || exit 1; ${mutation(c, `${tool} -q -y upgrade`, "'upgrade every package that has an update'")}; pallet_changed; fi`;
      if (a.action === 'configure') {
        const conf = tool === 'dnf' ? '/etc/dnf/dnf.conf' : '/etc/yum.conf';
        // Earlier versions wrote the proxy where yum and dnf never read it: that file is pallet's own, removed.
        return [
          `PALLET_PROXY=${shQuote(a.opts.proxy ?? '')}; export PALLET_PROXY`,
          block(editFile(conf, 'packageManager configure', `awk ${shQuote(mainProxy)}`, 'pallet_changed', c)),
          c?.check ? ':' : 'rm -f /etc/yum.repos.d/pallet-proxy.conf',
        ].join('\n');
      }
      throw new PlanError(`packageManager ${a.action}: only for apt`);
    },
  })),
  {
    when: { packager: 'apk' },
    impl: (a, c) =>
      a.action === 'update'
        ? update('apk', 'apk update -q', a.opts.maxAge, c)
        : a.action === 'upgrade'
          ? upgradeIf('apk upgrade -s | grep -q Upgrading', 'apk upgrade -q', c)
          : unsupported('apk', a),
  },
  {
    when: { packager: 'pacman' },
    impl: (a, c) =>
      a.action === 'update'
        ? update('pacman', 'pacman -Sy --noconfirm', a.opts.maxAge, c)
        : a.action === 'upgrade'
          ? upgradeIf('[ -n "$(pacman -Qu)" ]', 'pacman -Su --noconfirm', c)
          : unsupported('pacman', a),
  },
  {
    when: { packager: 'zypper' },
    impl: (a, c) =>
      a.action === 'update'
        ? update('zypper', 'zypper -n -q refresh', a.opts.maxAge, c)
        : a.action === 'upgrade'
          ? upgradeIf('zypper -n -q list-updates | grep -q "^v"', 'zypper -n -q update', c)
          : unsupported('zypper', a),
  },
  {
    when: { packager: 'brew' },
    impl: (a, c) =>
      a.action === 'update'
        ? update('brew', 'brew update', a.opts.maxAge, c)
        : a.action === 'upgrade'
          ? upgradeIf('[ -n "$(brew outdated)" ]', 'brew upgrade', c)
          : unsupported('brew', a),
  },
];

/** `configure` without a proxy setting is nothing to do; anything else is refused by name. */
function unsupported(packager: string, a: PmArgs): string {
  if (a.action === 'configure') {
    if (a.opts.proxy)
      throw new PlanError(
        `packageManager configure: no proxy setting for ${packager}; set HTTP_PROXY in scriptEnv instead`,
      );
    return ':';
  }
  throw new PlanError(`packageManager ${a.action}: only for apt, not ${packager}`);
}

const pmOptions = z.strictObject({
  proxy: z
    .string()
    .regex(/^[^\s"\\]*$/, 'a URL without spaces, quotes or backslashes')
    .optional(),
  maxAge: z.number().int().nonnegative().optional(),
  scope: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/, 'a component name: letters, digits, . _ -')
    .optional(),
});

function parse(action: PackageManagerAction, opts: PackageManagerOptions = {}): PmArgs {
  const act = validate(
    z.enum(['update', 'upgrade', 'configure', 'addScope', 'universe', 'multiverse']),
    action,
    'packageManager',
  );
  const o = validate(pmOptions, opts, `packageManager '${action}'`);
  if (act === 'universe' || act === 'multiverse') return { action: 'addScope', opts: { ...o, scope: act } };
  if (act === 'addScope' && !o.scope)
    throw new PlanError(`packageManager 'addScope': give the component to add as scope (e.g. { scope: 'contrib' })`);
  return { action: act, opts: o };
}

/**
 * The node's package manager itself: `update` (skipped within `maxAge` seconds of the last successful
 * update), `upgrade` (every package), `configure` (a proxy), `addScope` (an apt component; `universe` and
 * `multiverse` are its shorthands). Check mode says what would run.
 *
 * @example
 * ```ts
 * packageManager('update', { maxAge: 3600 });
 * packageManager('configure', { proxy: 'http://proxy.internal:3128' });
 * ```
 */
export const packageManager = defineAction<[action: PackageManagerAction, opts?: PackageManagerOptions], PmArgs>({
  name: 'packageManager',
  execution: 'aggregated',
  optionsParam: 1,
  alwaysBefore: ['pkg'],
  parse,
  summary: (args) =>
    `packageManager ${args.map((a) => (a.action === 'addScope' ? `addScope:${a.opts.scope}` : a.action)).join(' ')}`,
  script: (args, ctx) => {
    const impl = dispatch('packageManager', impls, { ...(ctx.packager ? { packager: ctx.packager } : {}) });
    // Sources and settings first, then the lists, then upgrades; each distinct call once.
    const order: PackageManagerAction[] = ['addScope', 'configure', 'update', 'upgrade'];
    // Several updates are one: the strictest maxAge wins (none given = always update).
    const updates = args.filter((a) => a.action === 'update');
    const maxAge = updates.some((a) => a.opts.maxAge === undefined)
      ? undefined
      : Math.min(...updates.map((a) => a.opts.maxAge!));
    args = args.map((a) =>
      a.action === 'update' ? { action: a.action, opts: maxAge === undefined ? {} : { maxAge } } : a,
    );
    const seen = new Set<string>();
    const parts = order.flatMap((act) =>
      args
        .filter((a) => a.action === act)
        .filter((a) => {
          const k = JSON.stringify([a.action, a.opts.scope ?? '']);
          return !seen.has(k) && Boolean(seen.add(k));
        })
        .map((a) => block(impl(a, ctx))),
    );
    return { script: parts.join('\n'), changes: 'reported', checked: true };
  },
});
