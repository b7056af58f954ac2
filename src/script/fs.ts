/**
 * Shell fragments for files: ownership and mode that are re-applied only when
 * they drift, so a second run reports no change.
 */
import { shQuote } from './quote.js';
import type { CheckMode } from './check.js';

export interface Attrs {
  owner?: string;
  group?: string;
  /** Octal mode such as `0644` or `755`. */
  mode?: string;
  /** Apply owner and group to everything below a directory. */
  recursive?: boolean;
}

/**
 * Decimal values of common modes written as `0o` literals whose decimal digits
 * also look octal (0o644 is 420): accepted as the mode they are.
 */
const octalLiterals = new Set([
  0o400, 0o500, 0o550, 0o555, 0o640, 0o644, 0o660, 0o664, 0o770, 0o777, 0o1777, 0o2755, 0o4755,
]);

/**
 * Validate an octal mode and return it without leading zeros (as `stat -c %a`
 * prints it). Strings are octal digits (`'0644'`, `'755'`). A number is taken
 * as its value (`0o644`), except a number that reads like an octal mode typed
 * without `0o` (`644`, `755`, `600`: 644 is 0o1204, sticky and odd): such a
 * number is refused, because it would silently set the wrong mode.
 */
export function normaliseMode(mode: string | number): string {
  if (typeof mode === 'number') {
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
      throw new Error(`invalid mode ${mode}: give an octal mode as a string ('0644') or an octal literal (0o644)`);
    }
    if (/^[0-7]{3,4}$/.test(String(mode)) && !octalLiterals.has(mode)) {
      throw new Error(
        `mode ${mode} looks like an octal mode written as a decimal number (${mode} is 0o${mode.toString(8)}): ` +
          `write '${String(mode).padStart(4, '0')}' or 0o${mode}`,
      );
    }
    return mode.toString(8);
  }
  if (!/^[0-7]{1,4}$/.test(mode)) {
    throw new Error(
      `invalid mode ${JSON.stringify(mode)}: give an octal mode such as '0644' (symbolic modes are not supported)`,
    );
  }
  return mode.replace(/^0+(?=.)/, '');
}

/**
 * Commands that make `pathExpr` (a shell word, e.g. `"$p"`) have the given
 * owner, group and mode, calling `pallet_changed` only when something differs.
 * In check mode a path that does not exist yet is skipped (its creation is the
 * change), and each difference is a would-line ("mode of /x: 644 -> 600").
 */
export function ensureAttrs(pathExpr: string, a: Attrs, c?: CheckMode): string {
  const lines: string[] = [];
  // In check mode the path may not exist yet (the script would have created it).
  const exists = c?.check ? `[ -e ${pathExpr} ] && ` : '';
  const fix = (cmd: string, what: string, now: string, want: string) =>
    c?.check
      ? `pallet_would ${shQuote(`${what} of `)}${pathExpr}": "${now}${shQuote(` -> ${want}`)}`
      : `${cmd} || exit 1`;
  // Two or more plain attributes: one stat for all (a process less per attribute). A name has no ':'.
  const plain = [a.owner, a.group, a.mode].filter((x) => x !== undefined).length >= 2 && !a.recursive;
  if (plain) {
    lines.push(
      c?.check
        ? `pallet_st=; if [ -e ${pathExpr} ]; then pallet_st=$(stat -L -c '%U:%u:%G:%g:%a' ${pathExpr}); fi`
        : `pallet_st=$(stat -L -c '%U:%u:%G:%g:%a' ${pathExpr}) && [ -n "$pallet_st" ] || { echo "cannot read the owner and mode of "${pathExpr} >&2; exit 1; }`,
      'pallet_su=${pallet_st%%:*}; pallet_st=${pallet_st#*:}; pallet_sU=${pallet_st%%:*}; pallet_st=${pallet_st#*:}',
      'pallet_sg=${pallet_st%%:*}; pallet_st=${pallet_st#*:}; pallet_sG=${pallet_st%%:*}; pallet_sm=${pallet_st#*:}',
    );
    // The mode is read again after a chown or chgrp (either may clear setuid and setgid bits).
    if (a.owner !== undefined) {
      const o = shQuote(a.owner);
      lines.push(
        `if [ -n "$pallet_st" ] && [ "$pallet_su" != ${o} ] && [ "$pallet_sU" != ${o} ]; then ${fix(`chown ${o} ${pathExpr}`, 'owner', '$pallet_su', a.owner)}; pallet_sm=; pallet_changed; fi`,
      );
    }
    if (a.group !== undefined) {
      const g = shQuote(a.group);
      lines.push(
        `if [ -n "$pallet_st" ] && [ "$pallet_sg" != ${g} ] && [ "$pallet_sG" != ${g} ]; then ${fix(`chgrp ${g} ${pathExpr}`, 'group', '$pallet_sg', a.group)}; pallet_sm=; pallet_changed; fi`,
      );
    }
    if (a.mode !== undefined) {
      const m = shQuote(normaliseMode(a.mode));
      lines.push(
        `if [ -n "$pallet_st" ]; then [ -n "$pallet_sm" ] || pallet_sm=$(stat -L -c %a ${pathExpr}); if [ "$pallet_sm" != ${m} ]; then ${fix(`chmod ${m} ${pathExpr}`, 'mode', '$pallet_sm', normaliseMode(a.mode))}; pallet_changed; fi; fi`,
      );
    }
    return lines.join('\n');
  }
  if (a.owner !== undefined) {
    const o = shQuote(a.owner);
    if (a.recursive) {
      lines.push(
        `if ${exists}[ -n "$(find ${pathExpr} ! -user ${o} -print 2>/dev/null | head -n 1)" ]; then ${fix(`chown -R ${o} ${pathExpr}`, 'owner (recursive)', "'some files'", a.owner)}; pallet_changed; fi`,
      );
    } else {
      lines.push(
        `if ${exists}[ "$(stat -L -c %U ${pathExpr})" != ${o} ] && [ "$(stat -L -c %u ${pathExpr})" != ${o} ]; then ${fix(`chown ${o} ${pathExpr}`, 'owner', `"$(stat -L -c %U ${pathExpr})"`, a.owner)}; pallet_changed; fi`,
      );
    }
  }
  if (a.group !== undefined) {
    const g = shQuote(a.group);
    if (a.recursive) {
      lines.push(
        `if ${exists}[ -n "$(find ${pathExpr} ! -group ${g} -print 2>/dev/null | head -n 1)" ]; then ${fix(`chgrp -R ${g} ${pathExpr}`, 'group (recursive)', "'some files'", a.group)}; pallet_changed; fi`,
      );
    } else {
      lines.push(
        `if ${exists}[ "$(stat -L -c %G ${pathExpr})" != ${g} ] && [ "$(stat -L -c %g ${pathExpr})" != ${g} ]; then ${fix(`chgrp ${g} ${pathExpr}`, 'group', `"$(stat -L -c %G ${pathExpr})"`, a.group)}; pallet_changed; fi`,
      );
    }
  }
  if (a.mode !== undefined) {
    const m = normaliseMode(a.mode);
    lines.push(
      `if ${exists}[ "$(stat -L -c %a ${pathExpr})" != ${shQuote(m)} ]; then ${fix(`chmod ${shQuote(m)} ${pathExpr}`, 'mode', `"$(stat -L -c %a ${pathExpr})"`, m)}; pallet_changed; fi`,
    );
  }
  return lines.join('\n');
}

/**
 * Shell that sets `"$pallet_p"` to the regular file to write for `path`, or
 * fails with a message naming the path:
 * - a symbolic link is followed (`follow`, the default): the link stays and the
 *   file it resolves to is written, keeping that file's owner and mode; with
 *   `follow: false` the link itself is replaced by a regular file;
 * - a directory, fifo, socket or device is refused, never replaced.
 */
export function resolveTarget(path: string, what: string, opts: { follow?: boolean } = {}): string {
  const fail = (why: string) => `{ echo ${shQuote(`${what} ${path}: ${why}`)} >&2; exit 1; }`;
  const lines = [`pallet_p=${shQuote(path)}`];
  if (opts.follow ?? true) {
    lines.push(
      'if [ -L "$pallet_p" ]; then',
      // "x" keeps trailing newlines of the name through the command substitution.
      `  pallet_r=$(readlink -f -- "$pallet_p" && echo x) && pallet_r=\${pallet_r%?x} && [ -n "$pallet_r" ] || ${fail('is a symbolic link that cannot be resolved (its directory is missing?)')}`,
      '  pallet_p=$pallet_r',
      'fi',
    );
  }
  lines.push(
    'if [ ! -L "$pallet_p" ]; then',
    `  if [ -d "$pallet_p" ]; then ${fail('is a directory: pallet does not replace a directory with a file')}`,
    `  elif [ -e "$pallet_p" ] && [ ! -f "$pallet_p" ]; then ${fail('is not a regular file (a fifo, socket or device): pallet does not replace it')}`,
    '  fi',
    'fi',
  );
  return lines.join('\n');
}

/**
 * The staged file is removed however the script ends; after the rename there is nothing to remove, and then no
 * `rm` is started (this runs for every changed file on every node).
 */
export const removeStagedOnExit = `trap '[ ! -e "$pallet_t" ] || rm -f "$pallet_t"' EXIT`;

/**
 * The mode, when it is all that is asked for (no owner, no group) outside check mode: a new file or directory can
 * then be made with it, and `unlessFresh` skips reading it back. Else undefined.
 */
export function onlyMode<M>(a: { mode?: M; owner?: unknown; group?: unknown }, c?: CheckMode): M | undefined {
  return a.owner === undefined && a.group === undefined && !c?.check ? a.mode : undefined;
}

/**
 * `attrs` (an `ensureAttrs` script) unless the path was just made with them (`pallet_fresh=1`, set by
 * `installStaged`'s `newFileMode` or a directory made with `mkdir -m`): then there is nothing to read back.
 */
export function unlessFresh(attrs: string): string {
  return `if [ -z "$pallet_fresh" ]; then\n${attrs}\nfi`;
}

/**
 * The two halves of an atomic file replacement. `stageBeside` creates the
 * staging file `"$pallet_t"` in the directory of `"$pallet_p"` (see
 * `resolveTarget`), so the final rename is atomic; `installStaged` renames it
 * over `target` (a quoted shell word) only when the content differs (or the
 * target is a link being replaced), runs `onChange`, and otherwise removes it.
 * The replacement keeps an existing file's mode and owner (read through links
 * with `stat -L`), and a new file gets 0644 (`mode: '644'` forces 0644 in both cases).
 */
export function stageBeside(onFailure = 'exit 1', c?: CheckMode): string {
  return [
    'case $pallet_p in */*) pallet_dir=${pallet_p%/*} ;; *) pallet_dir=. ;; esac',
    '[ -n "$pallet_dir" ] || pallet_dir=/',
    // Check mode stages in $TMPDIR (nothing is written beside the target), where a real run could stage.
    c?.check
      ? `{ { [ "$pallet_dir" = "\${pallet_newdir:-}" ] || { [ -d "$pallet_dir" ] && [ -w "$pallet_dir" ]; }; } && pallet_t=$(mktemp); } || { ${onFailure}; }`
      : `pallet_t=$(mktemp "$pallet_dir/.pallet-new.XXXXXXXX") || { ${onFailure}; }`,
  ].join('\n');
}

export interface InstallOptions {
  /** The file gets mode 0644 (new or not). */
  mode?: '644';
  /** A new file gets this mode (octal digits) instead of 0644, and `pallet_fresh=1` says it was new. */
  newFileMode?: string;
  /** Check mode: the content is secret: "content differs", no diff. */
  sensitive?: boolean;
}

/**
 * Shell that puts the staged file over `target` with one atomic rename, or fails. A target that is a mount
 * point of its own (a container's /etc/hosts, /etc/resolv.conf, /etc/hostname, bind-mounted by Docker and
 * podman) cannot be renamed over (EBUSY): its content is rewritten in place instead, the one way such a file
 * can change (not atomic: a reader at that instant may see a short file).
 */
export function replaceWith(staged: string, target: string): string {
  // Only when the rename fails (EBUSY, nothing changed) is the kernel's list of mount points asked
  // (/proc/self/mountinfo, field 5; `stat -c %m` cannot tell a bind mount of a file): the usual case costs nothing.
  const mounted = `awk -v p="$(readlink -f -- ${target})" '$5 == p { f = 1 } END { exit !f }' /proc/self/mountinfo 2>/dev/null`;
  return `mv -f ${staged} ${target} 2>/dev/null || { if [ -f ${target} ] && [ ! -L ${target} ] && ${mounted}; then cat ${staged} > ${target} && rm -f ${staged}; else mv -f ${staged} ${target}; fi; } || exit 1`;
}

export function installStaged(
  target: string,
  onChange = 'pallet_changed',
  opts: InstallOptions = {},
  c?: CheckMode,
): string {
  if (c?.check) {
    // The staged content is compared, shown, and removed; the target is not touched.
    const show = opts.sensitive
      ? `pallet_would ${target}${shQuote(': content differs (sensitive: no diff)')}`
      : `pallet_diff ${target} ${target} "$pallet_t"`;
    return [
      `if [ ! -L ${target} ] && [ -f ${target} ] && cmp -s "$pallet_t" ${target}; then`,
      '  rm -f "$pallet_t"',
      'else',
      `  if [ -L ${target} ]; then pallet_would ${shQuote('replace the symbolic link ')}${target}${shQuote(' with a file')}; fi`,
      `  ${show}`,
      '  rm -f "$pallet_t"',
      `  ${onChange}`,
      'fi',
    ].join('\n');
  }
  const attrs =
    opts.mode === '644'
      ? ['  chmod 644 "$pallet_t" || exit 1']
      : [
          `  if [ -e ${target} ]; then`,
          // One stat for both files; chmod and chown only where they differ.
          '    pallet_attrs() { [ "$1" = "$3" ] || chmod "$1" "$pallet_t" || return 1; [ "$2" = "$4" ] || chown "$2" "$pallet_t"; }',
          `    pallet_attrs $(stat -L -c '%a %u:%g' ${target} "$pallet_t") || exit 1`,
          '  else',
          opts.newFileMode === undefined
            ? '    chmod 644 "$pallet_t" || exit 1'
            : `    chmod ${shQuote(opts.newFileMode)} "$pallet_t" || exit 1; pallet_fresh=1`,
          '  fi',
        ];
  return [
    // $pallet_differs: the caller has shown that the content differs; then it is not compared again.
    `if [ -z "\${pallet_differs:-}" ] && [ ! -L ${target} ] && [ -f ${target} ] && cmp -s "$pallet_t" ${target}; then`,
    '  rm -f "$pallet_t"',
    'else',
    ...attrs,
    // A link being replaced (follow: false) that points to a directory: mv would move into it.
    `  if [ -L ${target} ] && [ -d ${target} ]; then rm -f ${target} || exit 1; fi`,
    `  ${replaceWith('"$pallet_t"', target)}`,
    `  ${onChange}`,
    'fi',
  ].join('\n');
}

/**
 * Shell that rewrites the file `path` through a filter: `filter` (a shell
 * command reading the current content, or nothing when the file is missing, on
 * stdin) writes the wanted content on stdout into a staged file beside it, which
 * replaces the file atomically only when it differs (then `onChange` runs).
 * The file keeps its owner and mode (new files get 0644); links are followed.
 * A failing filter leaves the file untouched.
 */
export function editFile(
  path: string,
  what: string,
  filter: string,
  onChange = 'pallet_changed',
  c?: CheckMode,
): string {
  return [
    resolveTarget(path, what),
    stageBeside('exit 1', c),
    // Read by redirection, not through a pipe: a file that cannot be read fails here instead of reading as empty.
    `{ if [ -f "$pallet_p" ]; then ${filter} < "$pallet_p"; else ${filter} < /dev/null; fi; } > "$pallet_t" || { rm -f "$pallet_t"; echo ${shQuote(`${what} ${path}: could not compute the new content`)} >&2; exit 1; }`,
    installStaged('"$pallet_p"', onChange, {}, c),
  ].join('\n');
}
