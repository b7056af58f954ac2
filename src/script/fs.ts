/**
 * Shell fragments for files: ownership and mode that are re-applied only when
 * they drift, so a second run reports no change.
 */
import { posix } from 'node:path';
import { shQuote } from './quote.js';

export interface Attrs {
  owner?: string;
  group?: string;
  /** Octal mode such as `0644` or `755`. */
  mode?: string;
  /** Apply owner and group to everything below a directory. */
  recursive?: boolean;
}

/** Validate an octal mode and return it without leading zeros (as `stat -c %a` prints it). */
export function normaliseMode(mode: string | number): string {
  const s = typeof mode === 'number' ? mode.toString(8) : mode;
  if (!/^[0-7]{1,4}$/.test(s)) {
    throw new Error(`invalid mode ${JSON.stringify(mode)}: give an octal mode such as '0644' (symbolic modes are not supported)`);
  }
  return s.replace(/^0+(?=.)/, '');
}

/**
 * Commands that make `pathExpr` (a shell word, e.g. `"$p"`) have the given
 * owner, group and mode, calling `pallet_changed` only when something differs.
 */
export function ensureAttrs(pathExpr: string, a: Attrs): string {
  const lines: string[] = [];
  if (a.owner !== undefined) {
    const o = shQuote(a.owner);
    if (a.recursive) {
      lines.push(`if [ -n "$(find ${pathExpr} ! -user ${o} -print 2>/dev/null | head -n 1)" ]; then chown -R ${o} ${pathExpr} || exit 1; pallet_changed; fi`);
    } else {
      lines.push(`if [ "$(stat -c %U ${pathExpr})" != ${o} ] && [ "$(stat -c %u ${pathExpr})" != ${o} ]; then chown ${o} ${pathExpr} || exit 1; pallet_changed; fi`);
    }
  }
  if (a.group !== undefined) {
    const g = shQuote(a.group);
    if (a.recursive) {
      lines.push(`if [ -n "$(find ${pathExpr} ! -group ${g} -print 2>/dev/null | head -n 1)" ]; then chgrp -R ${g} ${pathExpr} || exit 1; pallet_changed; fi`);
    } else {
      lines.push(`if [ "$(stat -c %G ${pathExpr})" != ${g} ] && [ "$(stat -c %g ${pathExpr})" != ${g} ]; then chgrp ${g} ${pathExpr} || exit 1; pallet_changed; fi`);
    }
  }
  if (a.mode !== undefined) {
    const m = normaliseMode(a.mode);
    lines.push(`if [ "$(stat -c %a ${pathExpr})" != ${shQuote(m)} ]; then chmod ${shQuote(m)} ${pathExpr} || exit 1; pallet_changed; fi`);
  }
  return lines.join('\n');
}

/**
 * The two halves of an atomic file replacement. `stageBeside` creates the
 * staging file `"$pallet_t"` in the target's directory (so the final rename
 * is atomic); `installStaged` renames it over `target` (a quoted shell word)
 * only when the content differs, runs `onChange`, and otherwise removes it.
 * The replacement keeps an existing file's mode and owner, and a new file
 * gets 0644 (`mode: '644'` forces 0644 in both cases).
 */
export function stageBeside(path: string, onFailure = 'exit 1'): string {
  return `pallet_t=$(mktemp ${shQuote(`${posix.dirname(path)}/.pallet-new.XXXXXXXX`)}) || { ${onFailure}; }`;
}

export function installStaged(target: string, onChange = 'pallet_changed', opts: { mode?: '644' } = {}): string {
  const attrs =
    opts.mode === '644'
      ? ['  chmod 644 "$pallet_t" || exit 1']
      : [
          `  if [ -e ${target} ]; then`,
          `    chmod "$(stat -c %a ${target})" "$pallet_t" && chown "$(stat -c %u:%g ${target})" "$pallet_t" || exit 1`,
          '  else',
          '    chmod 644 "$pallet_t" || exit 1',
          '  fi',
        ];
  return [
    `if [ -f ${target} ] && cmp -s "$pallet_t" ${target}; then`,
    '  rm -f "$pallet_t"',
    'else',
    ...attrs,
    `  mv -f "$pallet_t" ${target} || exit 1`,
    `  ${onChange}`,
    'fi',
  ].join('\n');
}
