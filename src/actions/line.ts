/**
 * Line edits: `lineInFile` (one line present or absent) and `blockInFile` (a
 * marked block present or absent), as Ansible's lineinfile and blockinfile
 * where those are sound, and safer where they are not:
 * - a `regexp` that does not match its own `line` is refused at plan time
 *   (Ansible rewrites such a line on every run), and so is a `line` with a
 *   newline (re-appended on every run);
 * - `insertBefore` uses the first match (Ansible: the last, unless firstmatch);
 * - `state: 'absent'` on a missing file changes nothing, for both actions
 *   (Ansible's blockinfile fails);
 * - a marker on a last line without a trailing newline is still recognised.
 * Regular expressions are POSIX extended (awk's, and sed -E's for `backrefs`).
 * The file is edited like every managed file: the new content is computed into
 * a staged copy, checked with `validate` (a command with `%s` for the
 * candidate; a failure leaves the file untouched), and renamed over the file
 * only when it differs; owner and mode are kept (or set); symbolic links are
 * followed. In check mode the edit is shown as a diff.
 */
import * as z from 'zod';
import type { ChangeOptions } from '../plan/types.js';
import { PlanError } from '../core/errors.js';
import { defineAction } from '../plan/action.js';
import type { CompiledScript, ScriptContext } from '../plan/types.js';
import {
  ensureAttrs,
  installStaged,
  normaliseMode,
  removeStagedOnExit,
  resolveTarget,
  stageBeside,
} from '../script/fs.js';
import { shQuote } from '../script/quote.js';
import { validate } from '../core/validate.js';
import { checkPath, modeSchema } from './arguments.js';

export interface Common extends ChangeOptions {
  state?: 'present' | 'absent';
  /** Insert after the last line matching this (or `EOF`, the default). */
  insertAfter?: string;
  /** Insert before the first line matching this (or `BOF`). */
  insertBefore?: string;
  /** Create the file when it is missing (default false: a missing file is an error for `present`). */
  create?: boolean;
  /** A command run on the candidate file (`%s` is its path) before it replaces the file; failure aborts. */
  validate?: string;
  owner?: string;
  group?: string;
  mode?: string | number;
}

export interface LineInFileOptions extends Common {
  /** The line (required for `present`). */
  line?: string;
  /** The last line matching this is replaced (or, `absent`, every matching line removed); default: the exact `line`. */
  regexp?: string;
  /** `line` is a sed replacement for the `regexp` match (`\1`...); no match changes nothing. */
  backrefs?: boolean;
}

export interface BlockInFileOptions extends Common {
  /** The block's lines (a trailing newline is ignored). */
  block?: string;
  /** Names the block in its markers: `# BEGIN pallet <name>` / `# END pallet <name>` (default `managed block`). */
  name?: string;
  /** The marker lines as a template with `{mark}`, replaced by `markerBegin` / `markerEnd`. */
  marker?: string;
  markerBegin?: string;
  markerEnd?: string;
}

const singleLine = (what: string) => z.string().regex(/^[^\n\x00\x01]*$/, `${what}: a single line (no newline)`);
const common = {
  state: z.enum(['present', 'absent']).optional(),
  insertAfter: singleLine('insertAfter').optional(),
  insertBefore: singleLine('insertBefore').optional(),
  create: z.boolean().optional(),
  validate: z
    .string()
    .includes('%s', { message: "validate: the command must name the candidate file as '%s'" })
    .optional(),
  owner: z.string().optional(),
  group: z.string().optional(),
  mode: modeSchema.optional(),
};

const lineSchema = z.strictObject({
  ...common,
  line: z
    .string()
    .regex(/^[^\n\x00\x01]*$/, 'line: a single line (a line with a newline would be added again on every run)')
    .optional(),
  regexp: singleLine('regexp').optional(),
  backrefs: z.boolean().optional(),
});

const blockSchema = z.strictObject({
  ...common,
  block: z
    .string()
    .regex(/^[^\x00]*$/)
    .optional(),
  name: singleLine('name').optional(),
  marker: singleLine('marker').includes('{mark}', { message: "marker: a template with '{mark}'" }).optional(),
  markerBegin: singleLine('markerBegin').optional(),
  markerEnd: singleLine('markerEnd').optional(),
});

function checkCommon(what: string, o: Common): void {
  if (o.insertAfter !== undefined && o.insertBefore !== undefined)
    throw new PlanError(`${what}: give insertAfter or insertBefore, not both`);
  for (const re of [o.insertAfter, o.insertBefore]) if (re !== undefined && re !== 'EOF' && re !== 'BOF') ere(what, re);
}

/**
 * A POSIX ERE, checked as well as JavaScript can (the node's awk reads it). What the two read
 * differently is refused: Perl classes (`\s`, `\d`, `\w`, `\b`: not ERE, and mawk, Debian's awk,
 * does not know them) and bracket classes (`[[:space:]]`: ERE, but JavaScript reads it otherwise, so
 * the plan-time checks would be wrong).
 */
function ere(what: string, re: string): RegExp {
  const perl = /(?:^|[^\\])(?:\\\\)*(\\[sSdDwWbB])/.exec(re);
  if (perl)
    throw new PlanError(
      `${what}: '${re}' uses ${perl[1]}, which is not POSIX ERE (the node's awk may not know it): write [ \\t] for a blank, [0-9] for a digit, [A-Za-z0-9_] for a word character`,
    );
  if (/\[:[a-z]+:\]/.test(re))
    throw new PlanError(
      `${what}: '${re}' uses a [[:class:]], which pallet cannot check at plan time: write the characters out ([ \\t], [0-9], [A-Za-z])`,
    );
  try {
    return new RegExp(re);
  } catch (e) {
    throw new PlanError(`${what}: '${re}' is not a valid regular expression: ${(e as Error).message}`);
  }
}

/**
 * Shared awk: the file's lines are in `l[1..NR]`, the new content goes to
 * `o[1..n]`; `emit()` prints it, or exits 3 when it is the same (no change,
 * the file is not rewritten). `place()` is where a missing line or block goes:
 * after the last `insertAfter` match, before the first `insertBefore` match, or
 * at the end.
 */
export const awkCommon = [
  'function emit(   i, same) { same = (n == NR); for (i = 1; same && i <= n; i++) if (o[i] != l[i]) same = 0; if (same) exit 3; for (i = 1; i <= n; i++) print o[i]; exit 0 }',
  'function place(   i, at) {',
  '  at = NR',
  '  if (after != "" && after != "EOF") { for (i = 1; i <= NR; i++) if (l[i] ~ after) at = i }',
  '  else if (before == "BOF") at = 0',
  '  else if (before != "") { for (i = 1; i <= NR; i++) if (l[i] ~ before) { at = i - 1; break } }',
  '  return at',
  '}',
  'BEGIN { after = ENVIRON["PALLET_AFTER"]; before = ENVIRON["PALLET_BEFORE"] }',
  '{ l[NR] = $0 }',
].join('\n');

const lineAwk = [
  awkCommon,
  'END {',
  '  line = ENVIRON["PALLET_LINE"]; re = ENVIRON["PALLET_RE"]; absent = (ENVIRON["PALLET_STATE"] == "absent")',
  '  n = 0; m = 0',
  '  for (i = 1; i <= NR; i++) { hit = (re != "") ? (l[i] ~ re) : (l[i] == line); if (hit) m = i; if (!(absent && hit)) o[++n] = l[i] }',
  '  if (absent) emit()',
  '  if (m) { n = 0; for (i = 1; i <= NR; i++) o[++n] = (i == m) ? line : l[i]; emit() }',
  '  at = place(); n = 0',
  '  for (i = 1; i <= at; i++) o[++n] = l[i]',
  '  o[++n] = line',
  '  for (i = at + 1; i <= NR; i++) o[++n] = l[i]',
  '  emit()',
  '}',
].join('\n');

const blockAwk = [
  awkCommon,
  'END {',
  '  b = ENVIRON["PALLET_BEGIN"]; e = ENVIRON["PALLET_END"]; absent = (ENVIRON["PALLET_STATE"] == "absent")',
  '  k = split(ENVIRON["PALLET_BLOCK"], blk, "\\n")',
  '  s = 0; t = 0',
  '  for (i = 1; i <= NR; i++) { if (!s && l[i] == b) s = i; else if (s && !t && l[i] == e) t = i }',
  '  n = 0',
  '  if (s && t) {',
  '    for (i = 1; i < s; i++) o[++n] = l[i]',
  '    if (!absent) { o[++n] = b; for (j = 1; j <= k; j++) o[++n] = blk[j]; o[++n] = e }',
  '    for (i = t + 1; i <= NR; i++) o[++n] = l[i]',
  '    emit()',
  '  }',
  '  if (absent) { for (i = 1; i <= NR; i++) o[++n] = l[i]; emit() }',
  '  at = place()',
  '  for (i = 1; i <= at; i++) o[++n] = l[i]',
  '  o[++n] = b; for (j = 1; j <= k; j++) o[++n] = blk[j]; o[++n] = e',
  '  for (i = at + 1; i <= NR; i++) o[++n] = l[i]',
  '  emit()',
  '}',
].join('\n');

const env = (vars: Record<string, string | undefined>) =>
  Object.entries(vars)
    .map(([k, v]) => `${k}=${shQuote(v ?? '')}; export ${k}`)
    .join('\n');

/**
 * The script of an edit: `compute` writes the new content of `"$pallet_p"` to
 * `"$pallet_t"` and exits 3 when nothing changes.
 */
export function editScript(
  what: string,
  path: string,
  o: Common,
  vars: Record<string, string | undefined>,
  compute: string,
  ctx: ScriptContext,
): CompiledScript {
  const absent = o.state === 'absent';
  const fail = (why: string) => `{ echo ${shQuote(`${what} ${path}: ${why}`)} >&2; exit 1; }`;
  const lines = [
    resolveTarget(path, what),
    env({ ...vars, PALLET_STATE: o.state ?? 'present', PALLET_AFTER: o.insertAfter, PALLET_BEFORE: o.insertBefore }),
    // A missing file: nothing to remove; created only when asked.
    'if [ ! -e "$pallet_p" ]; then',
    absent
      ? '  exit 0'
      : o.create
        ? '  pallet_src=/dev/null'
        : `  ${fail('does not exist (give create: true to create it)')}`,
    'else pallet_src=$pallet_p; fi',
    // Exit 3 is "nothing to change" (most runs): then nothing is staged; 0 is an edit to make.
    `${compute} < "$pallet_src" > /dev/null`,
    'pallet_rc=$?',
    'if [ "$pallet_rc" -ne 3 ]; then',
    `  [ "$pallet_rc" -eq 0 ] || ${fail('could not compute the new content')}`,
    stageBeside(
      `echo ${shQuote(`${what} ${path}: cannot write in the directory of the file (does it exist?)`)} >&2; exit 1`,
      ctx,
    ),
    removeStagedOnExit,
    `${compute} < "$pallet_src" > "$pallet_t" || ${fail('could not compute the new content')}`,
    // Check mode runs no command of the user's: validate is not run (a real run may still refuse the edit).
    ...(o.validate && !ctx.check
      ? [
          `  pallet_v=$(${o.validate.split('%s').join('"$pallet_t"')} 2>&1) || { printf '%s\\n' "$pallet_v" >&2; ${fail(`validation failed (${o.validate}); the file is unchanged`)}; }`,
        ]
      : []),
    installStaged('"$pallet_p"', 'pallet_changed', {}, ctx),
    'fi',
    ensureAttrs(
      '"$pallet_p"',
      { owner: o.owner, group: o.group, ...(o.mode !== undefined ? { mode: normaliseMode(o.mode) } : {}) },
      ctx,
    ),
  ];
  return { script: lines.filter(Boolean).join('\n'), changes: 'reported', checked: true };
}

/** What a lineInFile call does, in a few words (its results say which line of the file it is about). */
function lineLabel(o: LineInFileOptions): string {
  const cut = (t: string) => (t.length > 60 ? `${t.slice(0, 57)}...` : t);
  return o.state === 'absent' ? `absent ${cut(o.regexp ?? o.line ?? '')}` : cut(o.line ?? '');
}

/**
 * Make one line present (or absent) in a file. With `regexp`, the last
 * matching line is replaced (`absent`: every matching line is removed);
 * without a match the line is inserted after the last `insertAfter` match,
 * before the first `insertBefore` match, or at the end. Without `regexp` the
 * exact `line` is the match. `backrefs`: `line` is a sed replacement for the
 * last match, and no match changes nothing.
 *
 * @example
 * ```ts
 * lineInFile('/etc/ssh/sshd_config', {
 *   regexp: '^#?PasswordAuthentication ',
 *   line: 'PasswordAuthentication no',
 *   validate: 'sshd -t -f %s',
 *   flagOnChanged: 'sshd',
 * });
 * ```
 */
export const lineInFile = defineAction<
  [path: string, opts: LineInFileOptions],
  { path: string; opts: LineInFileOptions }
>({
  name: 'lineInFile',
  execution: 'in-sequence',
  optionsParam: 1,
  parse: (path, opts) => {
    const what = `lineInFile '${path}'`;
    const o = validate(lineSchema, opts, what) as LineInFileOptions;
    checkCommon(what, o);
    if ((o.state ?? 'present') === 'present' && o.line === undefined)
      throw new PlanError(`${what}: give the line (or state: 'absent' with a regexp or line)`);
    if (o.state === 'absent' && o.line === undefined && o.regexp === undefined)
      throw new PlanError(`${what}: state 'absent' needs a regexp or a line`);
    if (o.backrefs && o.regexp === undefined) throw new PlanError(`${what}: backrefs needs a regexp`);
    if (o.regexp !== undefined) {
      const re = ere(what, o.regexp);
      if (o.line !== undefined && !o.backrefs && (o.state ?? 'present') === 'present' && !re.test(o.line)) {
        throw new PlanError(
          `${what}: the regexp '${o.regexp}' does not match its own line '${o.line}', so every run would rewrite it; make the regexp match the line`,
        );
      }
    }
    return { path: checkPath('lineInFile', path), opts: o };
  },
  summary: ([a]) => `lineInFile ${a?.path ?? ''}${a ? `: ${lineLabel(a.opts)}` : ''}`,
  script: ([a], ctx) => {
    const { path, opts: o } = a!;
    if (o.backrefs) {
      // The last match's line number from awk, then sed -E replaces on that line only (its \1 are the backrefs).
      const sep = '\x01';
      const lastMatch = `awk 'BEGIN { re = ENVIRON["PALLET_RE"] } $0 ~ re { m = NR } END { print m + 0 }'`;
      const compute = `{ pallet_m=$(${lastMatch} < "$pallet_src") && if [ "$pallet_m" -eq 0 ]; then exit 3; fi && sed -E "$pallet_m"${shQuote(`s${sep}${o.regexp}${sep}${o.line}${sep}`)} && exit 0; }`;
      // The sub-shell keeps `exit 3` (nothing to change) from ending the script.
      return editScript('lineInFile', path, o, { PALLET_RE: o.regexp }, `( ${compute} )`, ctx);
    }
    return editScript(
      'lineInFile',
      path,
      o,
      { PALLET_LINE: o.line, PALLET_RE: o.regexp },
      `awk ${shQuote(lineAwk)}`,
      ctx,
    );
  },
});

/** The marker lines of a block. */
function markers(o: BlockInFileOptions): { begin: string; end: string } {
  const template = o.marker ?? `# {mark} pallet ${o.name ?? 'managed block'}`;
  return {
    begin: template.split('{mark}').join(o.markerBegin ?? 'BEGIN'),
    end: template.split('{mark}').join(o.markerEnd ?? 'END'),
  };
}

/**
 * Make a block of lines, between marker lines, present (inserted or replaced)
 * or absent in a file. The markers (`# BEGIN pallet <name>` / `# END pallet
 * <name>` by default) find the block on later runs.
 *
 * @example
 * ```ts
 * blockInFile('/etc/hosts', { block: '10.0.0.5 db1\n10.0.0.6 db2', name: 'db nodes' });
 * ```
 */
export const blockInFile = defineAction<
  [path: string, opts: BlockInFileOptions],
  { path: string; opts: BlockInFileOptions }
>({
  name: 'blockInFile',
  execution: 'in-sequence',
  optionsParam: 1,
  parse: (path, opts) => {
    const what = `blockInFile '${path}'`;
    const o = validate(blockSchema, opts, what) as BlockInFileOptions;
    checkCommon(what, o);
    if ((o.state ?? 'present') === 'present' && o.block === undefined)
      throw new PlanError(`${what}: give the block (or state: 'absent')`);
    const m = markers(o);
    if (m.begin === m.end) throw new PlanError(`${what}: the begin and end markers are the same line ('${m.begin}')`);
    return { path: checkPath('blockInFile', path), opts: o };
  },
  summary: ([a]) => `blockInFile ${a?.path ?? ''}${a?.opts.name ? ` (${a.opts.name})` : ''}`,
  script: ([a], ctx) => {
    const { path, opts: o } = a!;
    const m = markers(o);
    return editScript(
      'blockInFile',
      path,
      o,
      { PALLET_BEGIN: m.begin, PALLET_END: m.end, PALLET_BLOCK: (o.block ?? '').replace(/\n$/, '') },
      `awk ${shQuote(blockAwk)}`,
      ctx,
    );
  },
});
