/**
 * What the package actions share: how apt is run (never leaving dpkg
 * half-configured), whole-file writes, the package-lists stamp and the
 * packagesourcechanged flag.
 */
import * as z from 'zod';
import { shQuote, writeBytes } from '../../script/quote.js';
import { installStaged, resolveTarget, stageBeside } from '../../script/fs.js';
import type { CheckMode } from '../../script/check.js';

/**
 * The flag set when a package source changed (then run packageManager('update')).
 *
 * @example
 * ```ts
 * planWhen(targetFlag(packageSourceChangedFlag), () => void packageManager('update'));
 * ```
 */
export const packageSourceChangedFlag = 'packagesourcechanged';

export const pkgName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9.+_:@/=~-]*$/, 'package names are letters, digits and . + _ : @ / = ~ -');

/** What to do with a configuration file the admin edited when a package ships a new one. */
export type ConffilePolicy = 'keep' | 'maintainer';

/**
 * dpkg's answers to conffile questions, so it never prompts (a prompt reading
 * EOF leaves the package unpacked but not configured). `keep`: the admin's file
 * stays, the maintainer's is installed beside it as `.dpkg-dist`; `maintainer`:
 * the maintainer's replaces it, the admin's is kept as `.dpkg-old`.
 */
export function dpkgOptions(policy: ConffilePolicy = 'keep'): string {
  return policy === 'maintainer' ? '--force-confnew' : '--force-confdef --force-confold';
}

/**
 * Shell defining `pallet_apt`, which runs `apt-get -q -y <args>` non-interactively
 * with the conffile policy in `$pallet_conffiles` (dpkg options). Its output is
 * shown on stdout; when it fails, dpkg's own error lines (naming the package
 * and the conffile) are the last lines on stderr, and dpkg is repaired with
 * `dpkg --configure -a` so the node is never left with half-configured packages.
 * Before it installs anything, packages an earlier (interrupted) run left
 * unconfigured are configured first.
 */
export const aptFunctions = [
  'export DEBIAN_FRONTEND=noninteractive',
  "pallet_conffiles='--force-confdef --force-confold'",
  'pallet_dpkg_repair() {',
  '  if [ -n "$(dpkg --audit 2>/dev/null)" ]; then',
  '    echo "pallet: dpkg has packages that are not fully installed; configuring them (dpkg --configure -a)" >&2',
  '    dpkg $pallet_conffiles --configure -a </dev/null >&2 || return 1',
  '  fi',
  '}',
  'pallet_apt() {',
  '  pallet_dpkg_repair || return 1',
  '  pallet_log=$(mktemp) || return 1',
  '  pallet_o=""',
  '  for pallet_x in $pallet_conffiles; do pallet_o="$pallet_o -o Dpkg::Options::=$pallet_x"; done',
  '  apt-get -q -y $pallet_o "$@" </dev/null >"$pallet_log" 2>&1',
  '  pallet_rc=$?',
  '  cat "$pallet_log"',
  '  if [ "$pallet_rc" -ne 0 ]; then',
  '    pallet_dpkg_repair',
  "    grep -E -A1 '^dpkg: ' \"$pallet_log\" | grep -v '^--$' >&2",
  '    grep -E \'^E: \' "$pallet_log" >&2',
  '  fi',
  '  rm -f "$pallet_log"',
  '  return "$pallet_rc"',
  '}',
].join('\n');

/**
 * Check mode's `pallet_apt`: apt's own simulation (`apt-get -s`, which changes
 * nothing) of the same command line; each package it would install, upgrade,
 * downgrade or remove is a would-line ("install hello 2.0 (now 1.0)"), and a
 * change. `pallet_dpkg_repair` only says that it would configure packages.
 * Without package lists (a node that never ran `update`) nothing can be
 * simulated: "may change".
 */
export const aptCheckFunctions = String.raw`export DEBIAN_FRONTEND=noninteractive
pallet_conffiles='--force-confdef --force-confold'
pallet_dpkg_repair() {
  if [ -n "$(dpkg --audit 2>/dev/null)" ]; then pallet_would "configure the packages an interrupted run left unconfigured (dpkg --configure -a)"; pallet_changed; fi
}
pallet_apt() {
  pallet_dpkg_repair
  if ! ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1; then pallet_may "apt-get $*: the package lists are not downloaded yet, so apt cannot simulate it"; return 0; fi
  pallet_o=""
  for pallet_x in $pallet_conffiles; do pallet_o="$pallet_o -o Dpkg::Options::=$pallet_x"; done
  pallet_sim=$(LC_ALL=C apt-get -s -q $pallet_o "$@" </dev/null 2>&1) || { printf '%s\n' "$pallet_sim" | grep -E '^E: ' >&2; return 1; }
  pallet_w=$(printf '%s\n' "$pallet_sim" | awk '
    function v(s) { gsub(/[][()]/, "", s); return s }
    $1 == "Inst" && $3 ~ /^\[/ { print "install " $2 " " v($4) " (now " v($3) ")"; next }
    $1 == "Inst" { print "install " $2 " " v($3); next }
    $1 == "Remv" { print "remove " $2 " " v($3); next }
    $1 == "Purg" { print "purge " $2 " " v($3); next }')
  [ -n "$pallet_w" ] || return 0
  pallet_changed
  printf '%s\n' "$pallet_w" | while IFS= read -r pallet_l; do pallet_would "$pallet_l"; done
}`;

/** `aptFunctions`, or in check mode `aptCheckFunctions`. */
export const aptFunctionsFor = (c: CheckMode): string => (c?.check ? aptCheckFunctions : aptFunctions);

/** When a successful `update` last ran: apt's own stamp (also read by other tools), else pallet's. */
export function listsStamp(packager: string | undefined): string {
  if (packager === 'apt' || packager === 'aptitude') return '/var/lib/apt/periodic/update-success-stamp';
  if (packager === 'brew') return '"${HOME}/.cache/pallet-brew-update-stamp"';
  return '/var/lib/pallet/package-lists-updated';
}

/** Shell that records a successful update in the stamp. */
export function touchStamp(packager: string | undefined): string {
  const s = listsStamp(packager);
  return `mkdir -p "$(dirname ${s})" && touch ${s}`;
}

/** A node whose package lists were never fetched cannot install anything: fetch them, once, when something must be installed. */
export const aptLists = `if ! ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1; then apt-get -qq update || exit 1; ${touchStamp('apt')}; fi`;

/** `aptLists`; in check mode a would-line (pallet_apt then says it cannot simulate). */
export const aptListsFor = (c: CheckMode): string =>
  c?.check
    ? `if ! ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1; then pallet_would 'download the package lists (apt-get update)'; pallet_changed; fi`
    : aptLists;

/** Shell that makes `path` hold exactly `content` (atomically), calling pallet_changed (and setting `flag`) when it changed. */
export function fileWithContent(path: string, content: string, flag: string | undefined, c: CheckMode): string {
  return [
    resolveTarget(path, 'file'),
    stageBeside('exit 1', c),
    writeBytes(content, '"$pallet_t"', 'exit 1'),
    installStaged('"$pallet_p"', onChanged(flag), { mode: '644' }, c),
  ].join('\n');
}

/** `pallet_changed`, and the flag when one is given. */
export function onChanged(flag?: string): string {
  return `pallet_changed${flag ? `; pallet_set_flag ${shQuote(flag)}` : ''}`;
}

/** A step that must succeed, as a group (so `exit` inside it ends the action). */
export const block = (body: string): string => `{\n${body}\n} || exit 1`;
