/**
 * Crates for the small system files every server has (Pallet's
 * `pallet.crate.environment`, `pallet.crate.etc-default`,
 * `pallet.crate.limits-conf`): plan functions that write them, typed, and the
 * settings-phase pattern Pallet crates follow (settings in `settings`, the file
 * written in `configure`).
 */
import * as z from 'zod';
import { PlanError } from '../core/errors.js';
import { lineInFile } from '../actions/line.js';
import { remoteFile } from '../actions/remote-file.js';
import { currentSession, withContext } from '../plan/session.js';
import { getSettings, updateSettings, type SettingsOptions } from '../plan/settings.js';
import { osFamily } from '../plan/accessors.js';
import type { ChangeOptions } from '../plan/types.js';
import { shQuote } from '../script/quote.js';
import { serverSpec, type ServerSpec } from '../model/specs.js';
import { validate } from '../core/validate.js';

const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a variable name: letters, digits and _, not starting with a digit');
const fileName = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 'a file name: letters, digits, _ . - (no slash)');
/** A value of one line: files read line by line cannot hold a newline in a value. */
const oneLine = z
  .union([z.string(), z.number(), z.boolean()])
  .transform(String)
  .refine((v) => !/[\n\r\0]/.test(v), 'a value of one line (no newline or NUL)');

function vars(what: string, v: Record<string, string | number | boolean>): Array<[string, string]> {
  const out = validate(z.record(envName, oneLine), v, what);
  return Object.entries(out);
}

function inPhase(what: string): void {
  currentSession(what);
}

export interface SystemEnvironmentOptions extends ChangeOptions {
  /**
   * `true`: the shared file (`/etc/environment`, read by pam_env at login, one `KEY="value"` per line, each key
   * edited on its own so other keys stay). `false`: a file of its own, `/etc/profile.d/<name>.sh` (read by login
   * shells). Default as Pallet: shared, except on the Red Hat family.
   */
  shared?: boolean;
  /** The shared file, or the directory of the own file (default `/etc/environment` / `/etc/profile.d`). */
  path?: string;
}

/**
 * System-wide environment variables (Pallet's `system-environment`). Idempotent per key: a key already set to
 * the value is left alone, a key set to another value is replaced in place, a missing key is appended; other
 * lines are kept. Values are literal: in `/etc/environment` they are written `KEY="value"` (pam_env strips the
 * quotes; a value with `"` is refused there, since pam_env has no escape for it), in profile.d as
 * `export KEY='value'` (shell-quoted).
 *
 *     systemEnvironment('java', { JAVA_HOME: '/usr/lib/jvm/default-java' });
 *
 * @example
 * ```ts
 * systemEnvironment('java', { JAVA_HOME: '/usr/lib/jvm/default-java' });
 * ```
 */
export function systemEnvironment(
  name: string,
  values: Record<string, string | number | boolean>,
  opts: SystemEnvironmentOptions = {},
): void {
  const what = `systemEnvironment '${name}'`;
  inPhase('systemEnvironment');
  validate(fileName, name, what);
  const kv = vars(what, values);
  const family = osFamily();
  const shared =
    opts.shared ?? !['rhel', 'centos', 'fedora', 'amzn-linux', 'rocky', 'almalinux'].includes(family ?? '');
  const flag = opts.flagOnChanged === undefined ? {} : { flagOnChanged: opts.flagOnChanged };
  withContext(what, () => {
    if (shared) {
      const path = opts.path ?? '/etc/environment';
      for (const [k, v] of kv) {
        if (v.includes('"'))
          throw new PlanError(
            `${what}: the value of ${k} has a double quote, which ${path} (pam_env) cannot hold; use shared: false`,
          );
        lineInFile(path, { regexp: `^${k}=`, line: `${k}="${v}"`, create: true, mode: '0644', ...flag });
      }
    } else {
      const dir = opts.path ?? '/etc/profile.d';
      const content = `# environment for ${name}, managed by pallet\n${kv.map(([k, v]) => `export ${k}=${shQuote(v)}\n`).join('')}`;
      remoteFile(`${dir}/${name}.sh`, { content, owner: 'root', group: 'root', mode: '0644', ...flag });
    }
  });
}

export interface EtcDefaultOptions extends ChangeOptions {
  /** Replace the file even if it was edited on the node since pallet wrote it. */
  overwriteChanges?: boolean;
}

/**
 * A `/etc/default/<name>` file of `KEY=value` lines (Pallet's `etc-default/write`), or the file at `name` when it
 * is an absolute path. The whole file is managed: it holds exactly these keys. Values are shell-quoted, so they
 * reach the service's init script byte for byte (these files are sourced by shells).
 *
 *     etcDefault('tomcat9', { JAVA_OPTS: '-Xmx1024m -Djava.awt.headless=true' });
 *
 * @example
 * ```ts
 * etcDefault('tomcat9', { JAVA_OPTS: '-Xmx1g' });
 * ```
 */
export function etcDefault(
  name: string,
  values: Record<string, string | number | boolean>,
  opts: EtcDefaultOptions = {},
): void {
  return withContext('etcDefault', () => {
    const what = `etcDefault '${name}'`;
    inPhase('etcDefault');
    const path = name.startsWith('/') ? name : `/etc/default/${validate(fileName, name, what)}`;
    const kv = vars(what, values);
    remoteFile(path, {
      content: `${kv.map(([k, v]) => `${k}=${shQuote(v)}\n`).join('')}`,
      owner: 'root',
      group: 'root',
      mode: '0644',
      ...(opts.overwriteChanges ? { overwriteChanges: true } : {}),
      ...(opts.flagOnChanged === undefined ? {} : { flagOnChanged: opts.flagOnChanged }),
    });
  });
}

/** One line of limits.conf: `<domain> <type> <item> <value>`. */
export interface LimitEntry {
  /** A user, `@group`, `*`, a uid range (`1000:`). */
  domain: string;
  /** `soft`, `hard` or `-` (both; the default). */
  type?: 'soft' | 'hard' | '-';
  /** `nofile`, `nproc`, `core`, `memlock`, ... */
  item: string;
  value: string | number;
}

export interface LimitsConfSettings extends ChangeOptions {
  entries?: Array<LimitEntry | [domain: string, type: string, item: string, value: string | number]>;
  /**
   * The file (default `/etc/security/limits.d/pallet.conf`). Pallet wrote `/etc/security/limits.conf` itself;
   * a file of its own in limits.d is read the same way and never overwrites entries someone else put there.
   */
  configFile?: string;
}

const field = z.string().regex(/^[^\s#]+$/, 'one word (no blank, no #)');
const entrySchema = z.strictObject({
  domain: field,
  type: z.enum(['soft', 'hard', '-']).optional(),
  item: field,
  value: z.union([field, z.number()]),
});

function normaliseEntry(e: LimitEntry | [string, string, string, string | number]): LimitEntry {
  const m = Array.isArray(e) ? { domain: e[0], type: e[1] as LimitEntry['type'], item: e[2], value: e[3] } : e;
  return validate(entrySchema, m, 'limitsConf entry') as LimitEntry;
}

const limitsFacility = 'limits-conf';
const defaultLimitsFile = '/etc/security/limits.d/pallet.conf';

/**
 * Write limits entries to their file (the whole file: exactly these entries).
 *
 * @example
 * ```ts
 * limitsConf([{ domain: '@web', type: 'soft', item: 'nofile', value: 4096 }]);
 * ```
 */
export function limitsConf(
  entries: NonNullable<LimitsConfSettings['entries']>,
  opts: Omit<LimitsConfSettings, 'entries'> = {},
): void {
  return withContext('limitsConf', () => {
    inPhase('limitsConf');
    const lines = entries.map(normaliseEntry).map((e) => `${e.domain} ${e.type ?? '-'} ${e.item} ${e.value}\n`);
    remoteFile(opts.configFile ?? defaultLimitsFile, {
      content: `# managed by pallet\n${lines.join('')}`,
      owner: 'root',
      group: 'root',
      mode: '0644',
      ...(opts.flagOnChanged === undefined ? {} : { flagOnChanged: opts.flagOnChanged }),
    });
  });
}

/**
 * Settings phase: the limits settings of this node (entries are added to those declared before).
 *
 * @example
 * ```ts
 * limitsConfSettings({ entries: [{ domain: 'deploy', type: 'hard', item: 'nproc', value: 512 }] });
 * ```
 */
export function limitsConfSettings(settings: LimitsConfSettings, opts: SettingsOptions = {}): void {
  inPhase('limitsConfSettings');
  const entries = (settings.entries ?? []).map(normaliseEntry);
  updateSettings(
    limitsFacility,
    (cur) => ({ ...cur, ...settings, entries: [...((cur.entries as LimitEntry[] | undefined) ?? []), ...entries] }),
    opts,
  );
}

/**
 * Declare one limit (Pallet's `ulimit`); may be called many times, from any plan function of the settings phase.
 *
 * @example
 * ```ts
 * ulimit(['deploy', 'hard', 'nproc', 512]);
 * ```
 */
export function ulimit(
  entry: LimitEntry | [string, string, string, string | number],
  opts: SettingsOptions = {},
): void {
  limitsConfSettings({ entries: [entry] }, opts);
}

/**
 * Configure phase: write the file from the settings.
 *
 * @example
 * ```ts
 * configureLimitsConf();
 * ```
 */
export function configureLimitsConf(opts: SettingsOptions = {}): void {
  const s = getSettings<LimitsConfSettings & { entries?: LimitEntry[] } & Record<string, unknown>>(limitsFacility, {
    ...opts,
    default: {},
  })!;
  const { entries = [], ...rest } = s;
  limitsConf(entries, rest);
}

/**
 * A server spec: `settings` declares the limits, `configure` writes them.
 *
 * @example
 * ```ts
 * const web = groupSpec('web', { extends: [limitsConfServer({ entries: [{ domain: '*', type: 'soft', item: 'nofile', value: 4096 }] })] });
 * ```
 */
export function limitsConfServer(settings: LimitsConfSettings = {}, opts: SettingsOptions = {}): ServerSpec {
  return serverSpec({
    phases: {
      settings: () => limitsConfSettings(settings, opts),
      configure: () => configureLimitsConf(opts),
    },
  });
}
