/**
 * sshd settings, beyond Pallet: `sshdConfig({ PermitRootLogin: 'prohibit-password', PasswordAuthentication: false })`
 * makes each setting the value sshd will use, in one edit of sshd_config checked with `sshd -T -f` before it
 * replaces the file, and reloads sshd once, at the end of the phase, only when the file changed (a handler,
 * decided in the same round trip). Reload, not restart: sshd re-reads the validated file, open sessions stay.
 *
 * sshd keeps the *first* value it reads for a keyword, in any letter case, and lines after the first `Match`
 * belong to that block. So the edit replaces the first active line of each keyword before the first `Match`
 * (commented defaults are left as comments; lines inside Match blocks are not touched), and puts a missing
 * setting just before the first `Match` (or at the end). Ansible's usual `lineinfile` recipe replaces the
 * last match, which can be a line inside a Match block or a commented example.
 *
 * Debian's sshd_config includes `/etc/ssh/sshd_config.d/*.conf` at its top: a drop-in there that sets the same
 * keyword (cloud images ship one for PasswordAuthentication) would silently win. sshdConfig fails instead,
 * naming the file, before it changes anything.
 */
import * as z from 'zod';
import { awkCommon, editScript } from '../actions/line.js';
import { service } from '../actions/service.js';
import { defineAction } from '../plan/action.js';
import { withContext, currentSession } from '../plan/session.js';
import { handler } from '../plan/flags.js';
import type { ChangeOptions } from '../plan/types.js';
import { shQuote } from '../script/quote.js';
import { validate } from '../core/validate.js';

export interface SshdConfigOptions {
  /** Default `/etc/ssh/sshd_config`. */
  configFile?: string;
  /** The service to reload (default `ssh`, Debian's name; `sshd` on the Red Hat family). */
  service?: string;
  /** Reload sshd when the file changed (default true). */
  reload?: boolean;
}

const keyword = z.string().regex(/^[A-Za-z][A-Za-z0-9]*$/, 'an sshd_config keyword');
const value = z.union([
  z.boolean(),
  z.number(),
  z
    .string()
    .regex(/^[^\n\r#]+$/, 'one line, no #')
    .refine((v) => v.trim() === v, 'no blank at either end'),
]);

/**
 * The flag sshdConfig's edit sets (a handler of yours can watch it too).
 *
 * @example
 * ```ts
 * planWhen(targetFlag(sshdChangedFlag), () => void service('ssh', { action: 'reload' }));
 * ```
 */
export const sshdChangedFlag = 'sshd-config-changed';

const sshdAwk = [
  awkCommon,
  'END {',
  '  kn = split(ENVIRON["PALLET_KV"], kv, "\\n")',
  '  for (j = 1; j <= kn; j++) { t = index(kv[j], " "); key[j] = tolower(substr(kv[j], 1, t - 1)); want[key[j]] = kv[j] }',
  // The keyword of each line (lowercase; "#..." for comments), and the first Match line.
  '  m = NR + 1',
  '  for (i = 1; i <= NR; i++) { w = l[i]; sub(/^[ \\t]+/, "", w); split(w, f, /[ \\t=]+/); lk[i] = tolower(f[1]); if (lk[i] == "match" && m > NR) m = i }',
  '  for (i = 1; i < m; i++) if ((lk[i] in want) && !(lk[i] in first)) first[lk[i]] = i',
  '  n = 0',
  '  for (i = 1; i <= NR; i++) {',
  '    if (i == m) for (j = 1; j <= kn; j++) if (!(key[j] in first)) o[++n] = want[key[j]]',
  '    if (i < m && (lk[i] in first) && first[lk[i]] == i) o[++n] = want[lk[i]]; else o[++n] = l[i]',
  '  }',
  '  if (m > NR) for (j = 1; j <= kn; j++) if (!(key[j] in first)) o[++n] = want[key[j]]',
  '  emit()',
  '}',
].join('\n');

interface SshdArgs {
  file: string;
  settings: Array<[string, string]>;
}

const sshdEdit = defineAction<[file: string, settings: Array<[string, string]>, opts?: ChangeOptions], SshdArgs>({
  name: 'sshdConfig',
  execution: 'in-sequence',
  optionsParam: 2,
  parse: (file, settings) => ({ file, settings }),
  summary: ([a]) => `sshdConfig ${a?.file ?? ''}: ${(a?.settings ?? []).map(([k, v]) => `${k} ${v}`).join(', ')}`,
  script: ([a], c) => {
    const { file, settings } = a!;
    const keys = settings.map(([k]) => k.toLowerCase()).join(' ');
    const dropIns = [
      `for pallet_f in ${shQuote(`${file}.d`)}/*.conf; do`,
      '  [ -f "$pallet_f" ] || continue',
      `  pallet_k=$(awk -v keys=${shQuote(keys)} 'BEGIN { n = split(keys, k, " "); for (i = 1; i <= n; i++) want[k[i]] = 1 } { w = tolower($1) } w == "match" { exit } w in want { print $1; exit }' "$pallet_f")`,
      `  if [ -n "$pallet_k" ]; then echo "sshdConfig: $pallet_f sets $pallet_k, and sshd keeps the first value it reads: change it there, remove the file, or leave $pallet_k out of sshdConfig" >&2; exit 1; fi`,
      'done',
    ].join('\n');
    const edit = editScript(
      'sshdConfig',
      file,
      { validate: '/usr/sbin/sshd -T -f %s' },
      { PALLET_KV: settings.map(([k, v]) => `${k} ${v}`).join('\n') },
      `awk ${shQuote(sshdAwk)}`,
      c,
    );
    return { ...edit, script: `${dropIns}\n${edit.script}` };
  },
});

/**
 * Make each setting the value sshd will use: one edit of sshd_config, checked with `sshd -T -f` before it
 * replaces the file, and one reload of sshd at the end of the phase when the file changed. Fails, naming the
 * file, when a drop-in in sshd_config.d sets the same keyword (it would win).
 *
 * @example
 * ```ts
 * sshdConfig({ PermitRootLogin: 'prohibit-password', PasswordAuthentication: false });
 * ```
 */
export function sshdConfig(settings: Record<string, string | number | boolean>, opts: SshdConfigOptions = {}): void {
  return withContext('sshdConfig', () => {
    currentSession('sshdConfig');
    const entries = Object.entries(validate(z.record(keyword, value), settings, 'sshdConfig')).map(
      ([k, v]) => [k, v === true ? 'yes' : v === false ? 'no' : String(v)] as [string, string],
    );
    const lower = entries.map(([k]) => k.toLowerCase());
    const twice = lower.find((k, i) => lower.indexOf(k) !== i);
    if (twice) throw new Error(`sshdConfig: ${twice} is given twice (keywords are case-insensitive)`);
    const reload = opts.reload !== false;
    if (reload) handler(sshdChangedFlag, () => void service(opts.service ?? 'ssh', { action: 'reload' }));
    sshdEdit(opts.configFile ?? '/etc/ssh/sshd_config', entries, reload ? { flagOnChanged: sshdChangedFlag } : {});
  });
}
