/**
 * /etc/hosts and the hostname (Pallet's `pallet.crate.etc-hosts`): managed
 * host entries (for example every node of a group, so nodes reach each other
 * by name without DNS) in a marked block that leaves the rest of the file
 * alone, and the node's hostname.
 *
 * In a container /etc/hosts and /etc/hostname are bind mounts: they are
 * rewritten in place there (a rename over a mount point is impossible), see
 * `replaceWith` in src/script/fs.ts.
 */
import * as z from 'zod';
import { blockInFile, lineInFile } from '../actions/line.js';
import { remoteFile } from '../actions/remote-file.js';
import { execScript } from '../actions/exec.js';
import { withContext, currentSession } from '../plan/session.js';
import { targetsInGroup } from '../plan/accessors.js';
import type { ChangeOptions } from '../plan/types.js';
import { shQuote } from '../script/quote.js';
import { validate } from '../core/validate.js';

/** One /etc/hosts line: an address and its names. */
export interface HostEntry {
  ip: string;
  names: string[];
}

const hostName = z
  .string()
  .regex(
    /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/,
    'a host name (letters, digits, - and dots)',
  );
const address = z.string().regex(/^[0-9A-Fa-f.:]+(%[A-Za-z0-9]+)?$/, 'an IPv4 or IPv6 address');
const entrySchema = z.strictObject({ ip: address, names: z.array(hostName).min(1) });

export interface EtcHostsOptions extends ChangeOptions {
  /** The block's name, so several crates can keep blocks of their own (default `hosts`). */
  name?: string;
}

/**
 * Make `entries` the content of a marked block in /etc/hosts (`# BEGIN pallet hosts` ... `# END pallet hosts`):
 * added, replaced when the entries change, the rest of the file kept. An empty list removes the block.
 *
 *     etcHosts([...hostsForGroup('db'), { ip: '10.0.0.9', names: ['backup.internal', 'backup'] }]);
 *
 * @example
 * ```ts
 * etcHosts([...hostsForGroup('db'), { ip: '10.0.0.9', names: ['backup.internal', 'backup'] }]);
 * ```
 */
export function etcHosts(entries: HostEntry[] | Record<string, string | string[]>, opts: EtcHostsOptions = {}): void {
  return withContext('etcHosts', () => {
    currentSession('etcHosts');
    const list = Array.isArray(entries)
      ? entries
      : Object.entries(entries).map(([ip, n]) => ({ ip, names: Array.isArray(n) ? n : [n] }));
    const valid = validate(z.array(entrySchema), list, 'etcHosts');
    const name = validate(
      z.string().regex(/^[A-Za-z0-9_. -]+$/, 'letters, digits, _ . - and blanks'),
      opts.name ?? 'hosts',
      'etcHosts name',
    );
    const flag = opts.flagOnChanged === undefined ? {} : { flagOnChanged: opts.flagOnChanged };
    if (valid.length === 0) blockInFile('/etc/hosts', { name, state: 'absent', ...flag });
    else
      blockInFile('/etc/hosts', { name, block: valid.map((e) => `${e.ip} ${e.names.join(' ')}\n`).join(''), ...flag });
  });
}

/**
 * Entries for every node of `group` (default: the target's group): its address (`privateIp` with
 * `{ privateIp: true }` where the node has one) and its hostname, with the short name too when the hostname
 * has a domain. For `etcHosts`.
 *
 * @example
 * ```ts
 * etcHosts(hostsForGroup('db', { privateIp: true }));
 * ```
 */
export function hostsForGroup(group?: string, opts: { privateIp?: boolean } = {}): HostEntry[] {
  return targetsInGroup(group).map(({ node }) => {
    const ip = (opts.privateIp ? node.privateIp : undefined) ?? node.primaryIp;
    const short = node.hostname.split('.')[0]!;
    return { ip, names: short && short !== node.hostname ? [node.hostname, short] : [node.hostname] };
  });
}

export interface SetHostnameOptions extends ChangeOptions {
  /** Also set the running hostname with `hostname` (default true; a container may not be allowed to). */
  apply?: boolean;
}

/**
 * Set the node's hostname (default: the name the compute service gave the node): `/etc/hostname`, the
 * `127.0.1.1` line of /etc/hosts (Debian's convention, so the name resolves without DNS), and the running
 * hostname, each only when it differs.
 *
 * @example
 * ```ts
 * setHostname('app1.example.internal');
 * ```
 */
export function setHostname(name?: string, opts: SetHostnameOptions = {}): void {
  return withContext('setHostname', () => {
    const s = currentSession('setHostname');
    const host = validate(hostName, name ?? s.target.node.hostname, 'setHostname');
    const short = host.split('.')[0]!;
    const flag = opts.flagOnChanged === undefined ? {} : { flagOnChanged: opts.flagOnChanged };
    remoteFile('/etc/hostname', {
      content: `${host}\n`,
      owner: 'root',
      group: 'root',
      mode: '0644',
      noVersioning: true,
      ...flag,
    });
    lineInFile('/etc/hosts', {
      regexp: '^127\\.0\\.1\\.1[ \t]',
      line: `127.0.1.1 ${short === host ? host : `${host} ${short}`}`,
      insertAfter: '^127\\.0\\.0\\.1[ \t]+localhost([ \t]|$)',
      ...flag,
    });
    if (opts.apply !== false) {
      execScript(`if [ "$(hostname)" != ${shQuote(host)} ]; then hostname ${shQuote(host)} && pallet_changed; fi`, {
        changes: 'reported',
        ...flag,
      });
    }
  });
}
