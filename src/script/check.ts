/**
 * Check mode in the shell: how an action's script describes a change instead
 * of making it.
 *
 * A script compiled with `ScriptContext.check` runs the same tests as in a
 * real run and calls `pallet_changed` exactly where a real run would; every
 * mutation is replaced by a description of it:
 * - `pallet_would LINE`: one line ("install hello 2.0", "start fail2ban");
 * - `pallet_diff LABEL CURRENT NEW`: old → new content of a file (the controller
 *   renders the unified diff; files over 256 KiB are "content differs");
 * - `pallet_may REASON`: the script cannot tell (a package manager without a
 *   simulation): reported as "may change".
 * The records go to `$PALLET_CONTROL` with the others (never the output).
 * Staged content is written to `$TMPDIR`, never beside the target.
 */
import { shQuote } from './quote.js';

/** What a script generator needs to know about check mode. */
export type CheckMode = { check?: boolean } | undefined;

/** The shell helpers of check mode, added to each action's prelude in check mode only. */
export const checkHelpers = [
  `pallet_would() { printf 'W\\000%s\\000' "$1" >> "$PALLET_CONTROL"; }`,
  `pallet_may() { printf 'M\\000%s\\000' "$1" >> "$PALLET_CONTROL"; }`,
  [
    'pallet_diff() {',
    '  if [ "$(cat "$2" "$3" 2>/dev/null | wc -c)" -gt 262144 ]; then pallet_would "$1: content differs (too large to show a diff)"; return 0; fi',
    `  { printf 'D\\000%s\\000' "$1"; if [ -f "$2" ]; then base64 < "$2"; fi; printf '\\000'; base64 < "$3"; printf '\\000'; } >> "$PALLET_CONTROL"`,
    '}',
  ].join('\n'),
].join('\n');

/**
 * A mutation: `cmd || exit 1` in a real run (`cmd` is one command or a
 * group); in check mode the would-line `would` (a shell word, so it may
 * expand node values such as "$*").
 */
export function mutation(c: CheckMode, cmd: string, would: string): string {
  return c?.check ? `pallet_would ${would}` : `${cmd} || exit 1`;
}

/**
 * `mkdir -p dir` (not a change by itself); in check mode nothing is made, and
 * `stageBeside` accepts the missing directory as one the script would make.
 */
export function makeDir(c: CheckMode, dir: string): string {
  const d = shQuote(dir);
  return c?.check ? `[ -d ${d} ] || pallet_newdir=${d}` : `mkdir -p ${d} || exit 1`;
}
