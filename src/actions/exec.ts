/**
 * Script execution: `execScript`, `execCheckedScript`.
 *
 * Scripts run with `/bin/sh` (POSIX). Like the original's exec-script, a plain
 * script is not fail-fast: it fails only if its last command fails. Use
 * `execCheckedScript` to stop at the first failing command.
 */
import * as z from 'zod';
import type { ChangeOptions } from '../plan/types.js';
import { defineAction } from '../plan/action.js';
import { checkedBlock, shArgs, shQuote, writeBytes } from '../script/quote.js';
import type { CompiledScript, ScriptContext } from '../plan/types.js';
import { validate } from '../core/validate.js';

export interface ExecScriptOptions extends ChangeOptions {
  /** Skip the script when this path exists (makes a command idempotent). */
  creates?: string;
  /** Skip the script when this shell condition succeeds. */
  unless?: string;
  /**
   * How the script reports a change: `always` (default: running it is a
   * change), `never`, or `reported` (the script calls `pallet_changed`).
   */
  changes?: 'always' | 'never' | 'reported';
  /**
   * Check mode runs this script as it is (give it to a script that only reads,
   * whose output later steps need). Otherwise check mode evaluates `creates`
   * and `unless`, and reports the script as "would change" (`changes: 'always'`),
   * "may change" (`reported`), or nothing (`never`), without running it.
   */
  runInCheck?: boolean;
}

const execOptions = z.strictObject({
  creates: z.string().optional(),
  unless: z.string().optional(),
  changes: z.enum(['always', 'never', 'reported']).optional(),
  runInCheck: z.boolean().optional(),
});

interface ExecArgs {
  script: string;
  opts: ExecScriptOptions;
}

function firstLine(s: string): string {
  const l = s.trim().split('\n')[0] ?? '';
  return l.length > 60 ? `${l.slice(0, 57)}...` : l;
}

function guard(opts: ExecScriptOptions): string {
  const parts: string[] = [];
  if (opts.creates) parts.push(`if [ -e ${shQuote(opts.creates)} ]; then exit 0; fi`);
  if (opts.unless) parts.push(`if ${opts.unless}; then exit 0; fi`);
  return parts.join('\n');
}

function wrap(body: string, opts: ExecScriptOptions, ctx: ScriptContext, what: string): CompiledScript {
  const changes = opts.changes ?? 'always';
  const g = guard(opts);
  if (ctx.check && !opts.runInCheck) {
    // The user's script is not run: its guards are (they are tests), and the result says what a run would report.
    const notRun = 'a script; give runInCheck: true to a script that only reads';
    const step = {
      always: `pallet_would ${shQuote(`run ${what}`)}; pallet_changed`,
      reported: `pallet_may ${shQuote(`${what}: a script that reports its own changes; check mode does not run it`)}`,
      never: ':',
    }[changes];
    return {
      script: g
        ? `${g}
${step}`
        : step,
      changes: 'reported',
      checked: true,
      notRun,
    };
  }
  const checked = ctx.check ? { checked: true } : {};
  if (changes !== 'always') return { script: g ? `${g}\n${body}` : body, changes, ...checked };
  // A command is a change when it ran (past its guard) and succeeded.
  return {
    script: `${g}\n(\n${body}\n)\npallet_rc=$?; [ "$pallet_rc" -eq 0 ] && pallet_changed; exit $pallet_rc`,
    changes: 'reported',
    ...checked,
  };
}

/**
 * Run a shell script on the node. The script is the user's own shell code;
 * values inside it must be quoted by the user (see `shQuote`).
 *
 * @example
 * ```ts
 * execScript('ldconfig');
 * execScript('tar -xf /opt/app.tgz -C /opt', { creates: '/opt/app/bin' });
 * ```
 */
export const execScript = defineAction<[script: string | (() => string), opts?: ExecScriptOptions], ExecArgs>({
  name: 'execScript',
  execution: 'in-sequence',
  optionsParam: 1,
  parse: (script, opts = {}) => ({ script: script as string, opts: validate(execOptions, opts, 'execScript') }),
  summary: ([a]) => `execScript ${typeof a?.script === 'string' ? firstLine(a.script) : '(deferred)'}`,
  script: ([a], ctx) => wrap(a!.script, a!.opts, ctx, `execScript ${firstLine(a!.script)}`),
});

interface CheckedArgs {
  name: string;
  script: string | string[];
  opts: ExecScriptOptions;
}

/**
 * Run a script that stops at its first failing command, printing
 * `#> name : SUCCESS` or `#> name : FAIL`. Give a list of commands to have the
 * failing one named in the message.
 *
 * @example
 * ```ts
 * execCheckedScript('build', ['./configure', 'make', 'make install']);
 * ```
 */
export const execCheckedScript = defineAction<
  [name: string, script: string | string[] | (() => string), opts?: ExecScriptOptions],
  CheckedArgs
>({
  name: 'execCheckedScript',
  execution: 'in-sequence',
  optionsParam: 2,
  parse: (name, script, opts = {}) => ({
    name,
    script: script as string | string[],
    opts: validate(execOptions, opts, `execCheckedScript '${name}'`),
  }),
  summary: ([a]) => `execCheckedScript ${a?.name ?? ''}`,
  script: ([a], ctx) => {
    const { name, script } = a!;
    const body = Array.isArray(script)
      ? checkedBlock(
          name,
          script.map((cmd) => ({ label: firstLine(cmd), script: cmd })),
        )
      : [
          `echo ${shQuote(`${name}...`)}`,
          // A subshell, not a child `sh`: the body keeps pallet_changed and the other helpers.
          `(\nset -e\n${script}\n)`,
          `pallet_rc=$?`,
          `if [ "$pallet_rc" -ne 0 ]; then echo ${shQuote(`#> ${name} : FAIL`)} >&2; exit "$pallet_rc"; fi`,
          `echo ${shQuote(`#> ${name} : SUCCESS`)}`,
        ].join('\n');
    return wrap(body, a!.opts, ctx, `execCheckedScript ${name}`);
  },
});

export interface ExecOptions extends ExecScriptOptions {
  /** An interpreter by name (looked up on the node's PATH): bash, perl, python3, ... Default `bash`. */
  language?: string;
  /** The interpreter's path (instead of `language`). */
  interpreter?: string;
  interpreterArgs?: string[];
}

interface InterpArgs {
  script: string;
  opts: ExecOptions;
}

/**
 * Run a script with another interpreter (bash, perl, python3, ...): the script
 * is written to a temporary file on the node, run, and removed.
 *
 * @example
 * ```ts
 * exec({ language: 'python3' }, 'print("hello")');
 * ```
 */
export const exec = defineAction<[opts: ExecOptions, script: string | (() => string)], InterpArgs>({
  name: 'exec',
  execution: 'in-sequence',
  optionsParam: 0,
  parse: (opts, script) => ({
    script: script as string,
    opts: validate(
      execOptions.extend({
        language: z
          .string()
          .regex(/^[A-Za-z0-9._+-]+$/)
          .optional(),
        interpreter: z
          .string()
          .regex(/^\/\S+$/)
          .optional(),
        interpreterArgs: z.array(z.string()).optional(),
      }),
      opts,
      'exec',
    ),
  }),
  summary: ([a]) =>
    `exec ${a?.opts.interpreter ?? a?.opts.language ?? 'bash'} ${typeof a?.script === 'string' ? firstLine(a.script) : ''}`,
  script: ([a], ctx) => {
    const { script, opts } = a!;
    const interp = opts.interpreter ? shQuote(opts.interpreter) : `"$(command -v ${shQuote(opts.language ?? 'bash')})"`;
    const body = [
      `pallet_i=${interp}`,
      `[ -n "$pallet_i" ] && [ -x "$pallet_i" ] || { echo ${shQuote(`exec: interpreter ${opts.interpreter ?? opts.language ?? 'bash'} not found on the node`)} >&2; exit 127; }`,
      'pallet_f=$(mktemp "${TMPDIR:-/tmp}/pallet-exec.XXXXXXXX") || exit 1',
      `trap 'rm -f "$pallet_f"' EXIT`,
      writeBytes(script, '"$pallet_f"', 'exit 1'),
      `"$pallet_i" ${shArgs(opts.interpreterArgs ?? [])} "$pallet_f"`,
    ].join('\n');
    return wrap(body, opts, ctx, `exec ${opts.interpreter ?? opts.language ?? 'bash'} ${firstLine(script)}`);
  },
});
