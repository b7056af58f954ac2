/**
 * sudoers (Pallet's `pallet.crate.sudoers`): aliases, Defaults and per-user
 * specs, merged across every call in a phase's scope and written once, as one
 * file in `/etc/sudoers.d`, checked with `visudo -cf` before it replaces the
 * old one. A bad sudoers file can take root away from everyone: a file that
 * does not validate never reaches its place, and the node keeps the old one.
 *
 *     sudoers({
 *       aliases: { cmnd: { SERVICES: ['/usr/bin/systemctl restart app', '/usr/bin/systemctl status app'] } },
 *       defaults: { default: { env_keep: ['SSH_AUTH_SOCK'] }, ':deploy': { '!requiretty': true } },
 *       specs: { deploy: { runAs: 'root', tags: ['NOPASSWD'], commands: 'SERVICES' }, '%admin': { commands: 'ALL' } },
 *     });
 *
 * `sudoers('deploy')` (a user name) keeps its old meaning: passwordless sudo for that user, in a file of its own.
 */
import * as z from 'zod';
import { remoteFile } from '../actions/remote-file.js';
import { defineAction } from '../plan/action.js';
import { withContext, currentSession } from '../plan/session.js';
import { getSettings, updateSettings, type SettingsOptions } from '../plan/settings.js';
import type { ChangeOptions, ScriptContext } from '../plan/types.js';
import { ensureAttrs, resolveTarget, stageBeside } from '../script/fs.js';
import { shQuote, writeBytes } from '../script/quote.js';
import { serverSpec, type ServerSpec } from '../model/specs.js';
import { validate } from '../core/validate.js';

type AliasMap = Record<string, string[]>;

/** A Defaults value: `true` (`name`), `false` (`!name`), a string or number (`name=value`), a list (`name += "a b"`). */
export type SudoersDefault = boolean | string | number | string[];

export interface SudoersSpecLine {
  /** Hosts (default `ALL`). */
  host?: string;
  /** Run as (default `ALL`): a user, `ALL`, or `user:group`. */
  runAs?: string;
  /** `NOPASSWD`, `SETENV`, `NOEXEC`, ... */
  tags?: Array<
    | 'NOPASSWD'
    | 'PASSWD'
    | 'SETENV'
    | 'NOSETENV'
    | 'NOEXEC'
    | 'EXEC'
    | 'LOG_INPUT'
    | 'NOLOG_INPUT'
    | 'LOG_OUTPUT'
    | 'NOLOG_OUTPUT'
  >;
  /** Commands (absolute paths, with arguments), a Cmnd_Alias, or `ALL`. */
  commands: string | string[];
}

export interface SudoersSpec {
  /** `User_Alias`, `Runas_Alias`, `Host_Alias`, `Cmnd_Alias` (names in capitals). */
  aliases?: { user?: AliasMap; runas?: AliasMap; host?: AliasMap; cmnd?: AliasMap };
  /** Defaults by scope: `default` (global), `@host`, `:user`, `>runas`, `!cmnd`. */
  defaults?: Record<string, Record<string, SudoersDefault>>;
  /** Specs by user or `%group`: one line, or several. */
  specs?: Record<string, SudoersSpecLine | SudoersSpecLine[]>;
}

export interface SudoersOptions extends ChangeOptions {
  /**
   * The file's name in /etc/sudoers.d (default `pallet`). sudo skips names with a dot or ending in `~`, so
   * such names are refused.
   */
  file?: string;
}

const word = z.string().regex(/^[^\s,=:#\\"]+$/, 'one word (no blank, comma, =, :, # or quote)');
const item = z
  .string()
  .regex(/^[^\n\r\0,]+$/, 'one item: no newline and no comma (give a list)')
  .refine((s) => s.trim() === s && s !== '', 'no blank at either end');
const aliasName = z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'an alias name: capitals, digits and _');
const aliasMap = z.record(aliasName, z.array(item).min(1));
const defaultValue = z.union([
  z.boolean(),
  z.number(),
  z.string().regex(/^[^\n\r\0"\\]*$/, 'no newline, quote or backslash'),
  z.array(z.string().regex(/^[^\s"\\]+$/, 'one word')),
]);
const specLine = z.strictObject({
  host: word.optional(),
  runAs: z
    .string()
    .regex(/^[^\s,=#()\\"]+$/, 'a user, ALL, or user:group')
    .optional(),
  tags: z
    .array(
      z.enum([
        'NOPASSWD',
        'PASSWD',
        'SETENV',
        'NOSETENV',
        'NOEXEC',
        'EXEC',
        'LOG_INPUT',
        'NOLOG_INPUT',
        'LOG_OUTPUT',
        'NOLOG_OUTPUT',
      ]),
    )
    .optional(),
  commands: z.union([item, z.array(item).min(1)]),
});
const specSchema = z.strictObject({
  aliases: z
    .strictObject({
      user: aliasMap.optional(),
      runas: aliasMap.optional(),
      host: aliasMap.optional(),
      cmnd: aliasMap.optional(),
    })
    .optional(),
  defaults: z
    .record(
      z.string().regex(/^(default|[@:>!][^\s,=#"\\]+)$/, "'default', '@host', ':user', '>runas' or '!cmnd'"),
      z.record(word, defaultValue),
    )
    .optional(),
  specs: z
    .record(z.string().regex(/^%?[^\s,=:#\\"]+$/, 'a user or %group'), z.union([specLine, z.array(specLine)]))
    .optional(),
});
const fileName = z
  .string()
  .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - (sudo skips files in sudoers.d with a dot or a trailing ~)');

interface SudoersArgs {
  spec: SudoersSpec;
  file: string;
}

/**
 * Merge specs: aliases unioned by name, defaults merged by scope, spec lines appended (duplicates once).
 *
 * @example
 * ```ts
 * const spec = mergeSudoers([{ specs: { deploy: { commands: 'ALL' } } }, { defaults: { default: { env_reset: true } } }]);
 * ```
 */
export function mergeSudoers(specs: ReadonlyArray<SudoersSpec>): SudoersSpec {
  const out: Required<SudoersSpec> & { aliases: Required<NonNullable<SudoersSpec['aliases']>> } = {
    aliases: { user: {}, runas: {}, host: {}, cmnd: {} },
    defaults: {},
    specs: {},
  };
  for (const s of specs) {
    for (const kind of ['user', 'runas', 'host', 'cmnd'] as const) {
      for (const [name, members] of Object.entries(s.aliases?.[kind] ?? {}))
        out.aliases[kind][name] = [...new Set([...(out.aliases[kind][name] ?? []), ...members])];
    }
    for (const [scope, values] of Object.entries(s.defaults ?? {}))
      out.defaults[scope] = { ...(out.defaults[scope] ?? {}), ...values };
    for (const [who, lines] of Object.entries(s.specs ?? {})) {
      const have = (out.specs[who] ?? []) as SudoersSpecLine[];
      for (const l of Array.isArray(lines) ? lines : [lines])
        if (!have.some((h) => JSON.stringify(h) === JSON.stringify(l))) have.push(l);
      out.specs[who] = have;
    }
  }
  return out;
}

function defaultsLine(scope: string, values: Record<string, SudoersDefault>): string[] {
  const head = scope === 'default' ? 'Defaults' : `Defaults${scope}`;
  return Object.entries(values).map(([k, v]) => {
    if (v === true) return `${head} ${k}`;
    if (v === false) return `${head} !${k}`;
    if (Array.isArray(v)) return `${head} ${k} += "${v.join(' ')}"`;
    return `${head} ${k}="${v}"`;
  });
}

/**
 * The sudoers text of a (merged) spec.
 *
 * @example
 * ```ts
 * const text = formatSudoers({ specs: { deploy: { runAs: 'root', commands: 'ALL' } } });
 * ```
 */
export function formatSudoers(spec: SudoersSpec): string {
  const lines = ['# managed by pallet: edit the plan, not this file'];
  const names = { user: 'User_Alias', runas: 'Runas_Alias', host: 'Host_Alias', cmnd: 'Cmnd_Alias' } as const;
  for (const kind of ['user', 'runas', 'host', 'cmnd'] as const) {
    for (const [name, members] of Object.entries(spec.aliases?.[kind] ?? {}))
      lines.push(`${names[kind]} ${name} = ${members.join(', ')}`);
  }
  for (const [scope, values] of Object.entries(spec.defaults ?? {})) lines.push(...defaultsLine(scope, values));
  for (const [who, specLines] of Object.entries(spec.specs ?? {})) {
    for (const l of Array.isArray(specLines) ? specLines : [specLines]) {
      const tags = (l.tags ?? []).map((t) => `${t}: `).join('');
      const cmds = Array.isArray(l.commands) ? l.commands.join(', ') : l.commands;
      lines.push(`${who} ${l.host ?? 'ALL'} = (${l.runAs ?? 'ALL'}) ${tags}${cmds}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Shell that writes `content` to `path` as a sudoers file: staged beside it, root-owned 0440 before it is
 * checked, `visudo -cf` on the staged copy (a failure leaves the old file and shows visudo's output), then an
 * atomic rename only when it differs.
 */
function sudoersFileScript(path: string, content: string, c: ScriptContext): string {
  const label = shQuote(`sudoers ${path}`);
  return [
    'command -v visudo >/dev/null 2>&1 || { echo "sudoers: no visudo on this node (install sudo)" >&2; exit 1; }',
    resolveTarget(path, 'sudoers'),
    stageBeside('exit 1', c),
    writeBytes(content, '"$pallet_t"', '{ rm -f "$pallet_t"; exit 1; }'),
    c.check ? ':' : 'chown root:root "$pallet_t" && chmod 440 "$pallet_t" || { rm -f "$pallet_t"; exit 1; }',
    `if ! visudo -cf "$pallet_t" >&2; then rm -f "$pallet_t"; echo ${shQuote(`sudoers ${path}: visudo -cf rejected the new content; the file is unchanged`)} >&2; exit 1; fi`,
    'if [ -f "$pallet_p" ] && [ ! -L "$pallet_p" ] && cmp -s "$pallet_t" "$pallet_p"; then',
    '  rm -f "$pallet_t"',
    'else',
    ...(c.check
      ? ['  pallet_diff ' + label + ' "$pallet_p" "$pallet_t"; rm -f "$pallet_t"']
      : ['  mv -f "$pallet_t" "$pallet_p" || { rm -f "$pallet_t"; exit 1; }']),
    '  pallet_changed',
    'fi',
    ensureAttrs('"$pallet_p"', { owner: 'root', group: 'root', mode: '440' }, c),
  ].join('\n');
}

const sudoersAction = defineAction<[spec: SudoersSpec, opts?: SudoersOptions], SudoersArgs>({
  name: 'sudoers',
  // Every call in a scope merges into one action, placed last: one file, written once.
  execution: 'collected',
  optionsParam: 1,
  parse: (spec, opts = {}) => ({
    spec: validate(specSchema, spec, 'sudoers') as SudoersSpec,
    file: validate(fileName, opts.file ?? 'pallet', 'sudoers file'),
  }),
  summary: (args) => `sudoers /etc/sudoers.d/${[...new Set(args.map((a) => a.file))].join(', ')}`,
  script: (args, c) => {
    const byFile = new Map<string, SudoersSpec[]>();
    for (const a of args) byFile.set(a.file, [...(byFile.get(a.file) ?? []), a.spec]);
    const parts = [...byFile].map(
      ([file, specs]) =>
        `(\n${sudoersFileScript(`/etc/sudoers.d/${file}`, formatSudoers(mergeSudoers(specs)), c)}\n) || exit 1`,
    );
    return { script: parts.join('\n'), changes: 'reported', checked: true };
  },
  preview: (args) =>
    [...new Set(args.map((a) => a.file))]
      .map((f) => formatSudoers(mergeSudoers(args.filter((a) => a.file === f).map((a) => a.spec))))
      .join('\n'),
});

/**
 * sudoers: a spec (aliases, Defaults, user specs; merged across the phase's calls into one file in
 * /etc/sudoers.d, validated with `visudo -cf` before it replaces the old one), or a user name: passwordless
 * sudo for that user in `/etc/sudoers.d/pallet-<user>`, keeping `SSH_AUTH_SOCK` through sudo as Pallet's
 * admin user does.
 *
 * @example
 * ```ts
 * sudoers('deploy');
 * sudoers({ specs: { '%ops': { tags: ['NOPASSWD'], commands: 'ALL' } } });
 * ```
 */
export function sudoers(spec: SudoersSpec, opts?: SudoersOptions): void;
export function sudoers(username: string): void;
export function sudoers(spec: SudoersSpec | string, opts: SudoersOptions = {}): void {
  return withContext('sudoers', () => {
    currentSession('sudoers');
    if (typeof spec !== 'string') {
      sudoersAction(spec, opts);
      return;
    }
    const user = validate(z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, 'a user name'), spec, 'sudoers');
    remoteFile(`/etc/sudoers.d/pallet-${user.replace(/[^A-Za-z0-9_-]/g, '_')}`, {
      content: `Defaults:${user} env_keep += "SSH_AUTH_SOCK"\n${user} ALL=(ALL) NOPASSWD: ALL\n`,
      owner: 'root',
      group: 'root',
      mode: '0440',
      verify: 'visudo -c -q -f',
    });
  });
}

const facility = 'sudoers';

/**
 * Settings phase: add a sudoers spec to this node's settings (merged with those added before; Pallet's `sudoer`).
 *
 * @example
 * ```ts
 * sudoersSettings({ specs: { deploy: { tags: ['NOPASSWD'], commands: '/usr/bin/systemctl restart app' } } });
 * ```
 */
export function sudoersSettings(spec: SudoersSpec, opts: SettingsOptions & { file?: string } = {}): void {
  currentSession('sudoersSettings');
  const valid = validate(specSchema, spec, 'sudoersSettings') as SudoersSpec;
  updateSettings(
    facility,
    (cur) => ({
      ...cur,
      ...(opts.file ? { file: opts.file } : {}),
      specs: [...((cur.specs as SudoersSpec[] | undefined) ?? []), valid],
    }),
    opts,
  );
}

/**
 * Configure phase: write the sudoers file from the settings (nothing when none were declared).
 *
 * @example
 * ```ts
 * configureSudoers();
 * ```
 */
export function configureSudoers(opts: SettingsOptions = {}): void {
  const s = getSettings<{ specs?: SudoersSpec[]; file?: string }>(facility, { ...opts, default: {} })!;
  if (!s.specs?.length) return;
  sudoers(mergeSudoers(s.specs), s.file ? { file: s.file } : {});
}

/**
 * A server spec: `settings` declares the spec (others may add to it), `configure` writes one validated file.
 *
 * @example
 * ```ts
 * const web = groupSpec('web', { extends: [sudoersServer({ specs: { deploy: { commands: 'ALL' } } })] });
 * ```
 */
export function sudoersServer(spec: SudoersSpec = {}, opts: SettingsOptions & { file?: string } = {}): ServerSpec {
  return serverSpec({
    phases: {
      settings: () => sudoersSettings(spec, opts),
      configure: () => configureSudoers(opts),
    },
  });
}
