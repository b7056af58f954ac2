/**
 * Waiting for network services (Pallet's `pallet.crate.network-service`):
 * until a port listens, or a URL answers with a status, with a timeout and a
 * failure that says what was waited for and for how long. They change
 * nothing. In check mode they look once and do not wait: what is not there yet
 * "may change" (an earlier change may start it).
 */
import * as z from 'zod';
import { defineAction } from '../plan/action.js';
import type { ChangeOptions } from '../plan/types.js';
import { shQuote } from '../script/quote.js';
import { validate } from '../core/validate.js';

export interface WaitNetOptions extends ChangeOptions {
  /** Seconds to wait (default 60). */
  timeout?: number;
  /** Seconds between tries (default 1). */
  interval?: number;
}

const waitSchema = z.strictObject({
  timeout: z.number().positive().optional(),
  interval: z.number().positive().optional(),
});

interface PortArgs {
  port: number;
  protocol: 'tcp' | 'udp';
  timeout: number;
  interval: number;
}

/** The wait loop: `test` until it succeeds or `timeout` passes; check mode tries once. */
function waitLoop(
  test: string,
  a: { timeout: number; interval: number },
  what: string,
  check: boolean | undefined,
): string {
  if (check)
    return `if ! ${test}; then pallet_may ${shQuote(`${what}: not yet (a change before it may start it)`)}; fi`;
  // Tries are counted (not read off the clock, whose whole seconds would cut the wait short): it waits at least `timeout`.
  const tries = Math.ceil(a.timeout / a.interval);
  return [
    'pallet_n=0',
    `until ${test}; do`,
    `  if [ "$pallet_n" -ge ${tries} ]; then echo ${shQuote(`${what}: gave up after ${a.timeout} s`)} >&2; exit 1; fi`,
    `  sleep ${a.interval}`,
    '  pallet_n=$((pallet_n + 1))',
    'done',
  ].join('\n');
}

/**
 * Wait until something listens on `port` (any address) on the node: read from `/proc/net/tcp{,6}` (or udp), so
 * no `ss`/`netstat` is needed.
 *
 * @example
 * ```ts
 * waitForPortListen(8080, { timeout: 30 });
 * ```
 */
export const waitForPortListen = defineAction<
  [port: number, opts?: WaitNetOptions & { protocol?: 'tcp' | 'udp' }],
  PortArgs
>({
  name: 'waitForPortListen',
  execution: 'in-sequence',
  optionsParam: 1,
  parse: (port, opts = {}) => {
    const o = validate(
      waitSchema.extend({ protocol: z.enum(['tcp', 'udp']).optional() }),
      opts,
      `waitForPortListen ${port}`,
    );
    return {
      port: validate(z.number().int().min(1).max(65535), port, 'waitForPortListen'),
      protocol: o.protocol ?? 'tcp',
      timeout: o.timeout ?? 60,
      interval: o.interval ?? 1,
    };
  },
  summary: ([a]) => `waitForPortListen ${a?.protocol ?? 'tcp'}/${a?.port ?? ''}`,
  script: ([a], c) => {
    const hex = a!.port.toString(16).toUpperCase().padStart(4, '0');
    // Field 2 is local address:port in hex; field 4 the state (0A: LISTEN for tcp; udp sockets are 07, bound).
    const state = a!.protocol === 'tcp' ? '0A' : '07';
    const files = `/proc/net/${a!.protocol} /proc/net/${a!.protocol}6`;
    const test = `cat ${files} 2>/dev/null | awk 'NR > 1 { split($2, l, ":"); if (l[2] == "${hex}" && $4 == "${state}") f = 1 } END { exit !f }'`;
    return {
      script: waitLoop(test, a!, `port ${a!.protocol}/${a!.port} is not listening`, c.check),
      changes: 'never',
      checked: true,
    };
  },
});

interface HttpArgs {
  url: string;
  status: number;
  timeout: number;
  interval: number;
}

/**
 * Wait until `url` answers with HTTP `status` (default 200), asked from the node with curl or wget (whichever it
 * has; neither is a clear error). Redirects are not followed: a 301 is a 301.
 *
 * @example
 * ```ts
 * waitForHttpStatus('http://127.0.0.1:8080/health', 200, { timeout: 30 });
 * ```
 */
export const waitForHttpStatus = defineAction<[url: string, status?: number, opts?: WaitNetOptions], HttpArgs>({
  name: 'waitForHttpStatus',
  execution: 'in-sequence',
  optionsParam: 2,
  parse: (url, status = 200, opts = {}) => {
    const o = validate(waitSchema, opts, `waitForHttpStatus ${url}`);
    return {
      url: validate(z.string().regex(/^https?:\/\/[^\s]+$/, 'an http(s) URL'), url, 'waitForHttpStatus'),
      status: validate(z.number().int().min(100).max(599), status, 'waitForHttpStatus'),
      timeout: o.timeout ?? 60,
      interval: o.interval ?? 1,
    };
  },
  summary: ([a]) => `waitForHttpStatus ${a?.url ?? ''} ${a?.status ?? ''}`,
  script: ([a], c) => {
    const u = shQuote(a!.url);
    const lines = [
      'if command -v curl >/dev/null 2>&1; then',
      `  pallet_status() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 ${u}; }`,
      'elif command -v wget >/dev/null 2>&1; then',
      `  pallet_status() { wget -q -S -O /dev/null --max-redirect=0 -T 10 ${u} 2>&1 | awk '/^  HTTP\\// { s = $2 } END { print s }'; }`,
      `else echo 'waitForHttpStatus: the node has neither curl nor wget' >&2; exit 1; fi`,
      waitLoop(`[ "$(pallet_status)" = ${a!.status} ]`, a!, `${a!.url} did not answer ${a!.status}`, c.check),
    ];
    return { script: lines.join('\n'), changes: 'never', checked: true };
  },
});
