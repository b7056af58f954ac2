/**
 * Services: `service` (start, stop, restart, reload, enable, disable) with
 * systemd, OpenRC and sysvinit implementations chosen by what the node runs,
 * and `serviceScript` (install an init script or a systemd unit).
 */
import * as z from 'zod';
import { withContext } from '../plan/session.js';
import type { ChangeOptions } from '../plan/types.js';
import { defineAction } from '../plan/action.js';
import { shQuote } from '../script/quote.js';
import { validate } from '../core/validate.js';
import { mutation, type CheckMode } from '../script/check.js';
import { remoteFile, type RemoteFileOptions } from './remote-file.js';

export type ServiceAction = 'start' | 'stop' | 'restart' | 'reload' | 'enable' | 'disable';

export interface ServiceOptions extends ChangeOptions {
  /** Default `start`. */
  action?: ServiceAction;
  /** Force an implementation instead of detecting it. */
  serviceImpl?: 'systemd' | 'openrc' | 'sysvinit';
}

const serviceName = z.string().regex(/^[A-Za-z0-9@._:-]+$/, 'service names are letters, digits and @ . _ : -');

interface ServiceArgs {
  name: string;
  opts: ServiceOptions;
}

/** Shell that sets `pallet_kind` to systemd, openrc or sysvinit. */
function detect(name: string, forced?: string): string {
  if (forced) return `pallet_kind=${forced}`;
  const init = shQuote(`/etc/init.d/${name}`);
  return [
    'if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then pallet_kind=systemd',
    'elif command -v rc-service >/dev/null 2>&1; then pallet_kind=openrc',
    `elif [ -x ${init} ]; then pallet_kind=sysvinit`,
    `else echo ${shQuote(`service ${name}: no systemd, OpenRC, or /etc/init.d/${name} script on this node`)} >&2; exit 1; fi`,
  ].join('\n');
}

function serviceScriptFor({ name, opts }: ServiceArgs, c: CheckMode): string {
  const n = shQuote(name);
  const init = shQuote(`/etc/init.d/${name}`);
  // The runlevel links, as a glob: only the name is quoted.
  const links = `/etc/rc[2345].d/S[0-9][0-9]${n}`;
  const action = opts.action ?? 'start';
  const running = `pallet_running() { case "$pallet_kind" in systemd) systemctl is-active --quiet ${n} ;; openrc) rc-service ${n} status >/dev/null 2>&1 ;; *) ${init} status >/dev/null 2>&1 ;; esac; }`;
  const run = (verb: string) =>
    c?.check
      ? `pallet_would ${shQuote(`${verb} ${name}`)}`
      : `case "$pallet_kind" in systemd) systemctl ${verb} ${n} ;; openrc) rc-service ${n} ${verb} ;; *) ${init} ${verb} ;; esac || exit 1`;
  const m = (cmd: string, verb: string) => mutation(c, cmd, shQuote(`${verb} ${name}`));
  const lines = [detect(name, opts.serviceImpl), running];
  switch (action) {
    case 'start':
      lines.push(`if ! pallet_running; then ${run('start')}; pallet_changed; fi`);
      break;
    case 'stop':
      lines.push(`if pallet_running; then ${run('stop')}; pallet_changed; fi`);
      break;
    case 'restart':
    case 'reload':
      lines.push(`${run(action)}`, 'pallet_changed');
      break;
    case 'enable':
      lines.push(
        'case "$pallet_kind" in',
        `  systemd) systemctl is-enabled --quiet ${n} || { ${m(`systemctl enable ${n}`, 'enable')}; pallet_changed; } ;;`,
        `  openrc) rc-update show default | awk -v n=${n} '$1 == n { f = 1 } END { exit !f }' || { ${m(`rc-update add ${n} default`, 'enable')}; pallet_changed; } ;;`,
        `  *) if ! ls ${links} >/dev/null 2>&1; then`,
        `       ${m(`if command -v update-rc.d >/dev/null 2>&1; then update-rc.d ${n} defaults >/dev/null && update-rc.d ${n} enable >/dev/null; else chkconfig ${n} on; fi`, 'enable')}; pallet_changed`,
        '     fi ;;',
        'esac',
      );
      break;
    case 'disable':
      lines.push(
        'case "$pallet_kind" in',
        `  systemd) if systemctl is-enabled --quiet ${n}; then ${m(`systemctl disable ${n}`, 'disable')}; pallet_changed; fi ;;`,
        `  openrc) if rc-update show default | awk -v n=${n} '$1 == n { f = 1 } END { exit !f }'; then ${m(`rc-update del ${n} default`, 'disable')}; pallet_changed; fi ;;`,
        `  *) if ls ${links} >/dev/null 2>&1; then`,
        `       ${m(`if command -v update-rc.d >/dev/null 2>&1; then update-rc.d ${n} disable >/dev/null; else chkconfig ${n} off; fi`, 'disable')}; pallet_changed`,
        '     fi ;;',
        'esac',
      );
      break;
  }
  return lines.join('\n');
}

/**
 * Control a service. `start` and `stop` change nothing when the service is
 * already in that state; `enable` and `disable` likewise; `restart` and
 * `reload` always act.
 *
 * @example
 * ```ts
 * service('nginx', { action: 'reload' });
 * service('nginx', { action: 'enable' });
 * ```
 */
export const service = defineAction<[name: string, opts?: ServiceOptions], ServiceArgs>({
  name: 'service',
  execution: 'in-sequence',
  optionsParam: 1,
  parse: (name, opts = {}) => ({
    name: validate(serviceName, name, 'service'),
    opts: validate(
      z.strictObject({
        action: z.enum(['start', 'stop', 'restart', 'reload', 'enable', 'disable']).optional(),
        serviceImpl: z.enum(['systemd', 'openrc', 'sysvinit']).optional(),
      }),
      opts,
      `service '${name}'`,
    ) as ServiceOptions,
  }),
  summary: ([a]) => `service ${a?.name ?? ''} ${a?.opts.action ?? 'start'}`,
  script: ([a], ctx) => ({ script: serviceScriptFor(a!, ctx), changes: 'reported', checked: true }),
});

export interface ServiceScriptOptions extends Omit<RemoteFileOptions, 'owner' | 'group' | 'mode' | 'action'> {
  /** `initd` (default): /etc/init.d/<name>, mode 0755; `systemd`: /etc/systemd/system/<name>.service. */
  kind?: 'initd' | 'systemd';
}

/**
 * Install a service's init script (or systemd unit), owned by root.
 *
 * @example
 * ```ts
 * serviceScript('app', { kind: 'systemd', content: '[Service]\nExecStart=/opt/app/bin/app\n' });
 * ```
 */
export function serviceScript(name: string, opts: ServiceScriptOptions): void {
  validate(serviceName, name, 'serviceScript');
  const { kind, ...fileOpts } = opts;
  if (kind === 'systemd') {
    remoteFile(`/etc/systemd/system/${name}.service`, { ...fileOpts, owner: 'root', group: 'root', mode: '0644' });
  } else {
    remoteFile(`/etc/init.d/${name}`, { ...fileOpts, owner: 'root', group: 'root', mode: '0755' });
  }
}

/**
 * Stop the service, run `body`, start the service.
 *
 * @example
 * ```ts
 * withServiceRestart('app', () => {
 *   remoteFile('/opt/app/app.jar', { localFile: 'build/app.jar' });
 * });
 * ```
 */
export function withServiceRestart<T>(name: string, body: () => T): T {
  return withContext('withServiceRestart', () => {
    service(name, { action: 'stop' });
    const r = body();
    if (r instanceof Promise) return r.then((v) => (service(name, { action: 'start' }), v)) as T;
    service(name, { action: 'start' });
    return r;
  });
}
