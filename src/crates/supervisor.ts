/**
 * Services without an init system's help, and the supervisor indirection
 * (Pallet's `pallet.crate.nohup` and `pallet.crate.service`).
 *
 * `nohupService` runs a command in the background under nohup (in a session
 * of its own, stdin/stdout/stderr redirected, so the SSH channel is never held
 * open), as a user, with a pid file; `start`, `stop` and `status` are
 * idempotent. `serviceSupervisor` lets a crate say which supervisor runs its
 * service (`initd`, `systemd`, `nohup`) and start, stop or enable it the same
 * way whatever it is.
 */
import * as z from 'zod';
import { service, type ServiceAction } from '../actions/service.js';
import { defineAction } from '../plan/action.js';
import { withContext, currentSession } from '../plan/session.js';
import type { ChangeOptions } from '../plan/types.js';
import { shQuote } from '../script/quote.js';
import { validate } from '../core/validate.js';

export interface NohupOptions extends ChangeOptions {
  /** The command line, run by `sh -c` (use `exec` for the last command, so the pid is the process's own). */
  run: string;
  /** Run as this user (default root). */
  user?: string;
  /** Working directory (default /). */
  dir?: string;
  /** Environment variables for the command. */
  env?: Record<string, string>;
  /** Where stdout and stderr go (default `/var/log/<name>.log`). */
  logFile?: string;
  /** `start` (default), `stop`, `restart`, `status` (fails when it is not running). */
  action?: 'start' | 'stop' | 'restart' | 'status';
  /** Seconds `stop` waits after SIGTERM before SIGKILL (default 10). */
  stopTimeout?: number;
}

interface NohupArgs {
  name: string;
  o: NohupOptions;
}

const serviceName = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 'letters, digits, _ . -');

/** Shell: is the service running? (`$pallet_pid` holds the pid when it is.) */
function running(pidFile: string): string {
  return `pallet_running() { pallet_pid=$(cat ${pidFile} 2>/dev/null) && [ -n "$pallet_pid" ] && kill -0 "$pallet_pid" 2>/dev/null; }`;
}

/**
 * A background service without an init system: started with setsid and nohup as `user` in `dir`, its pid in
 * a pid file; `action` start (default, idempotent), stop, restart or status. A command that exits at once
 * fails with the end of its log.
 *
 * @example
 * ```ts
 * nohupService('worker', { run: 'exec /opt/app/bin/worker', user: 'app', dir: '/opt/app' });
 * ```
 */
export const nohupService = defineAction<[name: string, opts: NohupOptions], NohupArgs>({
  name: 'nohupService',
  execution: 'in-sequence',
  optionsParam: 1,
  parse: (name, opts) => ({
    name: validate(serviceName, name, 'nohupService'),
    o: validate(
      z.strictObject({
        run: z.string().min(1),
        user: z
          .string()
          .regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/)
          .optional(),
        dir: z.string().regex(/^\//, 'an absolute path').optional(),
        env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).optional(),
        logFile: z.string().regex(/^\//, 'an absolute path').optional(),
        action: z.enum(['start', 'stop', 'restart', 'status']).optional(),
        stopTimeout: z.number().int().positive().optional(),
      }),
      opts,
      `nohupService '${name}'`,
    ) as NohupOptions,
  }),
  summary: ([a]) => `nohupService ${a?.name ?? ''} ${a?.o.action ?? 'start'}`,
  script: ([a], c) => {
    const { name, o } = a!;
    const pid = shQuote(`/run/pallet-nohup-${name}.pid`);
    const log = shQuote(o.logFile ?? `/var/log/${name}.log`);
    const user = o.user ?? 'root';
    const envs = Object.entries(o.env ?? {})
      .map(([k, v]) => `${k}=${shQuote(v)}`)
      .join(' ');
    // The whole command for the user's shell: cd, environment, nohup in a new session, fds away from the channel.
    const inner = `cd ${shQuote(o.dir ?? '/')} && ${envs ? `env ${envs} ` : ''}nohup setsid sh -c ${shQuote(o.run)} >> ${log} 2>&1 < /dev/null & echo $!`;
    const launch = user === 'root' ? `sh -c ${shQuote(inner)}` : `su -s /bin/sh ${shQuote(user)} -c ${shQuote(inner)}`;
    const start = [
      `if ! pallet_running; then`,
      ...(c.check
        ? [`  pallet_would ${shQuote(`start ${name}`)}`]
        : [
            `  touch ${log} && chown ${shQuote(user)} ${log} || exit 1`,
            `  pallet_new=$(${launch}) && [ -n "$pallet_new" ] || { echo ${shQuote(`nohupService ${name}: could not start`)} >&2; exit 1; }`,
            `  echo "$pallet_new" > ${pid} || exit 1`,
            // A command that exits at once did not start: say so, with the end of its log.
            '  sleep 1',
            `  pallet_running || { echo ${shQuote(`nohupService ${name}: exited right after it started; the end of its log:`)} >&2; tail -n 5 ${log} >&2; exit 1; }`,
          ]),
      '  pallet_changed',
      'fi',
    ];
    const wait = o.stopTimeout ?? 10;
    const stop = [
      'if pallet_running; then',
      ...(c.check
        ? [`  pallet_would ${shQuote(`stop ${name}`)}`]
        : [
            // The whole session (setsid): the command and what it started.
            '  kill -TERM -- "-$pallet_pid" 2>/dev/null || kill -TERM "$pallet_pid" || exit 1',
            `  pallet_n=0; while pallet_running && [ "$pallet_n" -lt ${wait} ]; do sleep 1; pallet_n=$((pallet_n + 1)); done`,
            '  if pallet_running; then kill -KILL -- "-$pallet_pid" 2>/dev/null || kill -KILL "$pallet_pid"; fi',
            `  rm -f ${pid}`,
          ]),
      '  pallet_changed',
      'fi',
    ];
    const action = o.action ?? 'start';
    const body =
      action === 'start'
        ? start
        : action === 'stop'
          ? stop
          : action === 'restart'
            ? [...stop, ...(c.check ? [`pallet_would ${shQuote(`start ${name}`)}; pallet_changed`] : start)]
            : [`pallet_running || { echo ${shQuote(`nohupService ${name}: not running`)} >&2; exit 1; }`];
    return { script: [running(pid), ...body].join('\n'), changes: 'reported', checked: true };
  },
});

/** Where a crate's service runs, as a crate declares it in its settings. */
export interface SupervisorSettings {
  supervisor: 'initd' | 'systemd' | 'nohup';
  /** The service's name (unit, init script, or nohup name). */
  serviceName: string;
  /** For `nohup`: the command, user, directory, environment. */
  nohup?: Omit<NohupOptions, 'action'>;
}

const supervisorSchema = z.strictObject({
  supervisor: z.enum(['initd', 'systemd', 'nohup']),
  serviceName,
  nohup: z.looseObject({ run: z.string() }).optional(),
});

/**
 * Start, stop, restart (or enable, disable: initd and systemd) a crate's service through the supervisor its
 * settings name (Pallet's `service/service`). A crate keeps `{ supervisor, serviceName, nohup? }` in its
 * settings, and its users choose the supervisor there.
 *
 * @example
 * ```ts
 * serviceSupervisor({ supervisor: 'nohup', serviceName: 'worker', nohup: { run: 'exec /opt/app/bin/worker' } }, { action: 'restart' });
 * ```
 */
export function serviceSupervisor(
  settings: SupervisorSettings,
  opts: { action?: ServiceAction } & ChangeOptions = {},
): void {
  return withContext('serviceSupervisor', () => {
    currentSession('serviceSupervisor');
    const s = validate(supervisorSchema, settings, 'serviceSupervisor') as SupervisorSettings;
    const action = opts.action ?? 'start';
    const flag = opts.flagOnChanged === undefined ? {} : { flagOnChanged: opts.flagOnChanged };
    if (s.supervisor === 'nohup') {
      if (!s.nohup) throw new Error(`serviceSupervisor '${s.serviceName}': supervisor nohup needs nohup: { run }`);
      if (action === 'enable' || action === 'disable' || action === 'reload') {
        throw new Error(
          `serviceSupervisor '${s.serviceName}': nohup services cannot ${action}; start, stop or restart them`,
        );
      }
      nohupService(s.serviceName, { ...s.nohup, action, ...flag });
      return;
    }
    service(s.serviceName, { action, serviceImpl: s.supervisor === 'initd' ? 'sysvinit' : 'systemd', ...flag });
  });
}
