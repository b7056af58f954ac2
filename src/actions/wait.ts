/**
 * Waiting on the node: `waitForFile` (a path appears or goes) and `retryUntil` (a shell
 * condition becomes true). Neither changes the node; both run in check mode as in a real run.
 */
import * as z from 'zod';
import { defineAction } from '../plan/action.js';
import type { ChangeOptions } from '../plan/types.js';
import { shQuote } from '../script/quote.js';
import { validate } from '../core/validate.js';

export interface WaitOptions extends ChangeOptions {
  /** `create` (default): wait until the path exists; `remove`: until it is gone. */
  action?: 'create' | 'remove';
  /** Default 5. */
  maxRetries?: number;
  /** Seconds between tries (default 2). */
  standoff?: number;
}

const waitSchema = z.strictObject({
  action: z.enum(['create', 'remove']).optional(),
  maxRetries: z.number().int().positive().optional(),
  standoff: z.number().nonnegative().optional(),
});

function loop(test: string, what: string, max: number, standoff: number): string {
  return [
    'pallet_try=0',
    `until ${test}; do`,
    '  pallet_try=$((pallet_try + 1))',
    `  if [ "$pallet_try" -ge ${max} ]; then echo ${shQuote(`${what}: still not true after ${max} tries`)} >&2; exit 1; fi`,
    `  sleep ${standoff}`,
    'done',
  ].join('\n');
}

/**
 * Wait until a file exists (or is gone). Never a change.
 *
 * @example
 * ```ts
 * waitForFile('/run/app.pid', { maxRetries: 10, standoff: 1 });
 * ```
 */
export const waitForFile = defineAction<[path: string, opts?: WaitOptions], { path: string; opts: WaitOptions }>({
  name: 'waitForFile',
  execution: 'in-sequence',
  optionsParam: 1,
  parse: (path, opts = {}) => ({
    path: validate(z.string().min(1), path, 'waitForFile'),
    opts: validate(waitSchema, opts, `waitForFile '${path}'`),
  }),
  summary: ([a]) => `waitForFile ${a?.path ?? ''}`,
  script: ([a]) => {
    const p = shQuote(a!.path);
    const test = a!.opts.action === 'remove' ? `[ ! -e ${p} ]` : `[ -e ${p} ]`;
    return {
      script: loop(test, `waitForFile ${a!.path}`, a!.opts.maxRetries ?? 5, a!.opts.standoff ?? 2),
      changes: 'never',
      checked: true,
    };
  },
});

export interface RetryOptions extends ChangeOptions {
  maxRetries?: number;
  standoff?: number;
  /** Named in the failure message. */
  serviceName?: string;
}

/**
 * Run a shell condition until it succeeds (`maxRetries` tries, `standoff` seconds apart). Never a change.
 *
 * @example
 * ```ts
 * retryUntil({ maxRetries: 30, standoff: 1, serviceName: 'postgres' }, 'pg_isready -q');
 * ```
 */
export const retryUntil = defineAction<
  [opts: RetryOptions, condition: string],
  { opts: RetryOptions; condition: string }
>({
  name: 'retryUntil',
  execution: 'in-sequence',
  optionsParam: 0,
  parse: (opts, condition) => ({
    opts: validate(
      z.strictObject({
        maxRetries: z.number().int().positive().optional(),
        standoff: z.number().nonnegative().optional(),
        serviceName: z.string().optional(),
      }),
      opts,
      'retryUntil',
    ),
    condition: validate(z.string().min(1), condition, 'retryUntil'),
  }),
  summary: ([a]) => `retryUntil ${a?.opts.serviceName ?? a?.condition ?? ''}`,
  script: ([a]) => ({
    script: loop(
      `{ ${a!.condition}\n}`,
      `retryUntil ${a!.opts.serviceName ?? a!.condition}`,
      a!.opts.maxRetries ?? 5,
      a!.opts.standoff ?? 2,
    ),
    changes: 'never',
    // A condition is a test: check mode runs it as a real run does.
    checked: true,
  }),
});
