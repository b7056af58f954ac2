/**
 * Shell fragments for files: ownership and mode that are re-applied only when
 * they drift, so a second run reports no change.
 */
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
