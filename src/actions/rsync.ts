/**
 * rsync over SSH between the controller and a node: `rsync`, `rsyncDirectory`, `rsyncToLocal`. These
 * run on the controller (the system rsync and ssh, host keys checked against the node's known keys).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as z from 'zod';
import { defineAction } from '../plan/action.js';
import { withContext, currentSession, type NodeValue } from '../plan/session.js';
import type { ActionDef, ChangeOptions } from '../plan/types.js';
import type { Node } from '../core/types.js';
import type { User } from '../core/user.js';
import { shQuote } from '../script/quote.js';
import { validate } from '../core/validate.js';
import { checkPath } from './arguments.js';
import { directory } from './file.js';

export interface RsyncOptions extends ChangeOptions {
  /** Extra rsync arguments. */
  args?: string[];
  /** Remove files on the node that are not in the source (default true, as the original). */
  delete?: boolean;
}

interface RsyncArgs {
  from: string;
  to: string;
  opts: RsyncOptions;
  /** From the node to the controller. */
  pull?: boolean;
}

function runRsync(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('rsync', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', (e) => reject(new Error(`cannot run rsync on the controller: ${e.message} (install rsync)`)));
    child.on('close', (code) => resolve({ code: code ?? 1, out, err }));
  });
}

/**
 * The rsync command line for a copy to a node over the system ssh: host keys
 * checked against `knownHosts`, an IPv6 address in brackets, the remote path
 * protected from the node's shell (`-s`), `--` before the paths.
 */
export function rsyncArgv(a: {
  base: string[];
  from: string;
  to: string;
  node: Pick<Node, 'primaryIp' | 'sshPort'>;
  user: Pick<User, 'username' | 'privateKeyPath' | 'noSudo' | 'sudoUser'>;
  knownHosts: string;
  /** From the node to the controller (`from` is on the node, `to` here). */
  pull?: boolean;
}): string[] {
  const { node, user } = a;
  const ssh = [
    'ssh',
    '-p',
    String(node.sshPort),
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `UserKnownHostsFile=${a.knownHosts}`,
  ];
  if (user.privateKeyPath) ssh.push('-i', user.privateKeyPath);
  // --rsync-path is run by the node's shell: quoted.
  const sudo =
    user.noSudo || (user.username === 'root' && !user.sudoUser)
      ? []
      : ['--rsync-path', `sudo -n${user.sudoUser ? ` -u ${shQuote(user.sudoUser)}` : ''} rsync`];
  const host = node.primaryIp.includes(':') ? `[${node.primaryIp}]` : node.primaryIp;
  const remote = (p: string) => `${user.username}@${host}:${p}`;
  return [
    ...a.base,
    '-s',
    '-e',
    ssh.map((x) => shQuote(x)).join(' '),
    ...sudo,
    '--',
    ...(a.pull ? [remote(a.from), a.to] : [a.from, remote(a.to)]),
  ];
}

/** What an rsync call did: whether it copied or deleted anything, and rsync's itemized list. */
export interface RsyncValue {
  changed: boolean;
  out: string;
}

/** Runs on the controller: rsync over ssh to (or from) the node, with host keys checked. */
const runRsyncAction: NonNullable<ActionDef<RsyncArgs>['run']> = async ([a], ctx): Promise<RsyncValue> => {
  const { from, to, opts } = a!;
  const node = ctx.target.node;
  const user = ctx.user;
  const base = [
    '-rlptD',
    '--itemize-changes',
    ...(ctx.check ? ['--dry-run'] : []),
    ...(opts.delete === false ? [] : ['--delete']),
    ...(opts.args ?? []),
  ];
  if (node.transport === 'local') {
    const r = await runRsync([...base, '--', from, to]);
    if (r.code !== 0) throw new Error(`rsync failed (exit ${r.code}): ${r.err.trim()}`);
    return { changed: r.out.trim().length > 0, out: r.out };
  }
  const dir = mkdtempSync(join(tmpdir(), 'pallet-rsync-'));
  try {
    const known = join(dir, 'known_hosts');
    const userKnown = node.knownHostsPath ?? join(homedir(), '.ssh', 'known_hosts');
    const entry = node.sshPort === 22 ? node.primaryIp : `[${node.primaryIp}]:${node.sshPort}`;
    writeFileSync(
      known,
      (node.hostKeys ?? []).map((k) => `${entry} ${k}\n`).join('') +
        (existsSync(userKnown) ? readFileSync(userKnown, 'utf8') : ''),
      { mode: 0o600 },
    );
    const r = await runRsync(
      rsyncArgv({ base, from, to, node, user, knownHosts: known, ...(a!.pull ? { pull: true } : {}) }),
    );
    if (r.code !== 0)
      throw new Error(`rsync ${a!.pull ? 'from' : 'to'} ${node.id} failed (exit ${r.code}): ${r.err.trim()}`);
    return { changed: r.out.trim().length > 0, out: r.out };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

function parseRsync(what: string, from: string, to: string, opts: RsyncOptions, pull?: boolean): RsyncArgs {
  const o = validate(rsyncOptions, opts, `${what} ${from} -> ${to}`);
  return {
    from: checkPath(what, from),
    to: checkPath(what, to),
    opts: pull ? { ...o, delete: o.delete ?? false } : o,
    ...(pull ? { pull: true } : {}),
  };
}

const rsyncAction = defineAction<[from: string, to: string, opts?: RsyncOptions], RsyncArgs, RsyncValue>({
  name: 'rsync',
  execution: 'in-sequence',
  optionsParam: 2,
  parse: (from, to, opts = {}) => parseRsync('rsync', from, to, opts),
  summary: ([a]) => `rsync ${a?.from ?? ''} -> ${a?.to ?? ''}`,
  changedBy: (v) => (v as RsyncValue).changed,
  // Check mode: rsync --dry-run, which lists what it would copy and delete.
  checkRun: true,
  run: runRsyncAction,
});

/** The same rsync, from the node: it changes the controller, not the node (its value says what it copied). */
const rsyncToLocalAction = defineAction<
  [from: string, to: string, opts?: Omit<RsyncOptions, 'flagOnChanged'>],
  RsyncArgs,
  RsyncValue
>({
  name: 'rsyncToLocal',
  execution: 'in-sequence',
  parse: (from, to, opts = {}) => parseRsync('rsyncToLocal', from, to, opts, true),
  summary: ([a]) => `rsyncToLocal ${a?.from ?? ''} -> ${a?.to ?? ''}`,
  changedBy: () => false,
  checkRun: true,
  run: runRsyncAction,
});

/**
 * Copy `from` (on the controller) to `to` on the node with rsync over SSH.
 * Needs rsync on both sides (install it on the node first with `pkg('rsync')`).
 *
 * @example
 * ```ts
 * pkg('rsync');
 * rsync('dist/', '/srv/www/', { args: ['--exclude=*.map'] });
 * ```
 */
export function rsync(from: string, to: string, opts: RsyncOptions = {}): NodeValue<RsyncValue> {
  rsyncCredentials(`rsync ${from} -> ${to}`);
  return rsyncAction(from, to, opts);
}

const rsyncOptions = z.strictObject({ args: z.array(z.string()).optional(), delete: z.boolean().optional() });

/** rsync runs the system ssh in batch mode: it can use a key file or an agent, nothing else. */
function rsyncCredentials(what: string): void {
  const s = currentSession('rsync');
  const u = s.user;
  if (
    s.target.node?.transport !== 'local' &&
    !u.privateKeyPath &&
    (u.privateKey !== undefined || u.password !== undefined)
  ) {
    throw new Error(
      `${what}: the admin user ${u.username} has ${u.privateKey !== undefined ? 'its key as text' : 'a password'} and no privateKeyPath; ` +
        'rsync over the system ssh can only use a key file or an ssh agent. Give privateKeyPath, or use remoteFile/transferFile instead.',
    );
  }
}

/**
 * Copy `from` on the node to `to` on the controller with rsync over SSH (Pallet's `rsync-to-local`), host keys
 * checked as for `rsync`. It changes the controller, not the node: its result is not "changed"; its value says
 * what was copied (`changed`, rsync's itemized `out`). `delete` is off by default here (it would remove local
 * files). Check mode runs it with `--dry-run`.
 *
 * @example
 * ```ts
 * rsyncToLocal('/var/backups/db/', 'backups/db/');
 * ```
 */
export function rsyncToLocal(
  from: string,
  to: string,
  opts: Omit<RsyncOptions, 'flagOnChanged'> = {},
): NodeValue<RsyncValue> {
  rsyncCredentials(`rsyncToLocal ${from} -> ${to}`);
  return rsyncToLocalAction(from, to, opts);
}

/**
 * `directory(to)` then `rsync(from/, to/)`: make `to` a copy of the controller directory `from`.
 *
 * @example
 * ```ts
 * pkg('rsync');
 * rsyncDirectory('site/public', '/srv/www', { owner: 'www-data' });
 * ```
 */
export function rsyncDirectory(
  from: string,
  to: string,
  opts: RsyncOptions & { owner?: string; group?: string; mode?: string } = {},
): NodeValue<RsyncValue> {
  return withContext('rsyncDirectory', () => {
    const { owner, group, mode, flagOnChanged, ...r } = opts;
    const flag = flagOnChanged === undefined ? {} : { flagOnChanged };
    directory(to, {
      ...(owner ? { owner } : {}),
      ...(group ? { group } : {}),
      ...(mode ? { mode } : {}),
      recursive: false,
      ...flag,
    });
    return rsync(from.endsWith('/') ? from : `${from}/`, to.endsWith('/') ? to : `${to}/`, { ...r, ...flag });
  });
}
