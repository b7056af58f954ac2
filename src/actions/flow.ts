/**
 * Waiting, retrying, running on one node, reading a remote file, moving files
 * and directories: `waitForFile`, `retryUntil`, `onOneNode`,
 * `remoteFileContent`, `transferFile`, `remoteDirectory`, `rsync`,
 * `rsyncDirectory`.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { z } from 'zod';
import { checkFlagName, defineAction, withChangeFlag } from '../plan/action.js';
import { asAction, currentSession, recordAction, withActionValues, type NodeValue } from '../plan/session.js';
import type { ActionDef, ChangeOptions } from '../plan/types.js';
import type { Node } from '../types.js';
import type { User } from '../user.js';
import { shQuote } from '../script/quote.js';
import { ensureAttrs } from '../script/fs.js';
import { validate } from '../spec/spec.js';
import { directory } from './file.js';
import { execScript } from './exec.js';
import { remoteFile, stateRoot, type RemoteFileOptions } from './remote-file.js';

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

/** Wait until a file exists (or is gone). Never a change. */
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

/** Run a shell condition until it succeeds (`maxRetries` tries, `standoff` seconds apart). Never a change. */
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

/**
 * Run `body` on one node only: the first (by id) of the nodes that have every
 * one of `roles`.
 */
export function onOneNode<T>(roles: string | string[], body: () => T): T | undefined {
  const s = currentSession('onOneNode');
  const list = typeof roles === 'string' ? [roles] : roles;
  const candidates = s.targets
    .filter((t) => list.every((r) => t.spec.roles.includes(r)))
    .map((t) => t.node.id)
    .sort();
  if (candidates[0] === s.target.node.id) return body();
  return undefined;
}

/** The text of a file on the node, as a node value. */
export function remoteFileContent(path: string): NodeValue<string> {
  const v = execScript(`cat ${shQuote(path)}`, { changes: 'never', runInCheck: true });
  return withActionValues([v], (r) => r.out);
}

/** Copy a file from the controller to the node (no versioning). */
export function transferFile(
  localPath: string,
  remotePath: string,
  opts: Pick<RemoteFileOptions, 'owner' | 'group' | 'mode'> = {},
): void {
  remoteFile(remotePath, { ...opts, localFile: localPath, noVersioning: true });
}

export interface RemoteDirectoryOptions extends ChangeOptions {
  url?: string;
  localFile?: string;
  remoteFile?: string;
  md5?: string;
  /** `tar` (default; compression detected), `unzip`. */
  unpack?: 'tar' | 'unzip';
  /** Leading path components to drop from the archive (tar; default 1, as the original). */
  stripComponents?: number;
  /** Only these members of the archive. */
  extractFiles?: string[];
  owner?: string;
  group?: string;
  /** Apply owner and group to everything unpacked (default true). */
  recursive?: boolean;
}

interface UnpackArgs {
  path: string;
  archive: string;
  opts: RemoteDirectoryOptions;
}

const unpackAction: ActionDef<UnpackArgs> = {
  name: 'remoteDirectory',
  execution: 'in-sequence',
  summary: ([a]) => `remoteDirectory ${a?.path ?? ''}`,
  script: ([a], ctx) => {
    const { path, archive, opts } = a!;
    const d = shQuote(path);
    const ar = shQuote(archive);
    const files = (opts.extractFiles ?? []).map(shQuote).join(' ');
    const unpack =
      opts.unpack === 'unzip'
        ? `(cd ${d} && unzip -o -q ${ar} ${files})`
        : `tar -x -f ${ar} -C ${d} --strip-components=${opts.stripComponents ?? 1} ${files}`;
    const unpackStep = ctx.check
      ? `  pallet_would ${shQuote(`unpack ${archive} into ${path}`)}`
      : [`  ${unpack} || exit 1`, `  printf '%s\\n' "$pallet_new" > ${d}/.pallet.directory.md5 || exit 1`].join('\n');
    const lines = [
      // In check mode the archive may not be there yet (the remoteFile before this one would fetch it).
      ctx.check
        ? `if [ ! -f ${ar} ]; then pallet_new='(the archive is not there yet)'; else pallet_new=$(md5sum < ${ar} | cut -d' ' -f1) || exit 1; fi`
        : `pallet_new=$(md5sum < ${ar} | cut -d' ' -f1) || exit 1`,
      `if [ "$(cat ${d}/.pallet.directory.md5 2>/dev/null)" != "$pallet_new" ]; then`,
      unpackStep,
      '  pallet_changed',
      'fi',
    ];
    if (opts.recursive !== false)
      lines.push(
        ensureAttrs(
          d,
          {
            ...(opts.owner ? { owner: opts.owner } : {}),
            ...(opts.group ? { group: opts.group } : {}),
            recursive: true,
          },
          ctx,
        ),
      );
    return { script: lines.join('\n'), changes: 'reported', checked: true };
  },
};

/**
 * Unpack an archive (from a URL, a controller file or a file on the node) into
 * a directory. The archive is kept in the state root; an unchanged archive is
 * not unpacked again.
 */
export function remoteDirectory(path: string, opts: RemoteDirectoryOptions): void {
  const { flagOnChanged, ...given } = opts;
  withChangeFlag('remoteDirectory', flagOnChanged, () => unpackInto(path, given));
}

function unpackInto(path: string, opts: RemoteDirectoryOptions): void {
  const o = validate(
    z
      .strictObject({
        url: z.string().optional(),
        localFile: z.string().optional(),
        remoteFile: z.string().optional(),
        md5: z.string().optional(),
        unpack: z.enum(['tar', 'unzip']).optional(),
        stripComponents: z.number().int().nonnegative().optional(),
        extractFiles: z.array(z.string()).optional(),
        owner: z.string().optional(),
        group: z.string().optional(),
        recursive: z.boolean().optional(),
      })
      .refine((x) => [x.url, x.localFile, x.remoteFile].filter((v) => v !== undefined).length === 1, {
        message: 'give exactly one of url, localFile, remoteFile',
      }),
    opts,
    `remoteDirectory '${path}'`,
  ) as RemoteDirectoryOptions;
  const s = currentSession('remoteDirectory');
  const root = stateRoot(s);
  const archive = `${root}/archives${path.startsWith('/') ? path : `/${path}`}.archive`;
  directory(path, { ...(o.owner ? { owner: o.owner } : {}), ...(o.group ? { group: o.group } : {}), recursive: false });
  directory(archive.slice(0, archive.lastIndexOf('/')), { mode: '0700' });
  remoteFile(archive, {
    ...(o.url ? { url: o.url } : {}),
    ...(o.localFile ? { localFile: o.localFile } : {}),
    ...(o.remoteFile ? { remoteFile: o.remoteFile } : {}),
    ...(o.md5 ? { md5: o.md5 } : {}),
    noVersioning: true,
    mode: '0600',
  });
  recordAction(unpackAction, { path, archive, opts: o });
}

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

const rsyncAction: ActionDef<RsyncArgs> = {
  name: 'rsync',
  execution: 'in-sequence',
  summary: ([a]) => `rsync ${a?.from ?? ''} -> ${a?.to ?? ''}`,
  changedBy: (v) => (v as { changed: boolean }).changed,
  // Check mode: rsync --dry-run, which lists what it would copy and delete.
  checkRun: true,
  // Runs on the controller: rsync over ssh to the node, with host keys checked.
  run: async ([a], ctx) => {
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
  },
};

/** A node's file, base64, for the controller only (results show its size). */
const readForController = defineAction<[path: string], { path: string }>({
  name: 'readFile',
  execution: 'in-sequence',
  privateOutput: true,
  parse: (path) => ({ path: validate(z.string().min(1), path, 'readFile') }),
  summary: ([a]) => `readFile ${a?.path ?? ''}`,
  script: ([a]) => ({ script: `base64 < ${shQuote(a!.path)}`, changes: 'never', checked: true }),
});

/**
 * Bring a file of the node back to the controller (Pallet's `transfer-file-to-local`): read on the node as
 * base64 in the phase's batch (binary-safe, over the same connection; results show only its size), written to `localPath` on the
 * controller atomically (a temporary file beside it, then a rename). Its node value is the byte count and
 * md5. Check mode writes nothing. Meant for small files (configuration, keys, reports): the file travels in
 * memory.
 */
export function transferFileToLocal(remotePath: string, localPath: string): NodeValue<{ bytes: number; md5: string }> {
  currentSession('transferFileToLocal');
  const read = readForController(remotePath);
  return asAction(() => {
    const buf = Buffer.from(read.get().out, 'base64');
    const tmp = `${localPath}.pallet-${process.pid}-${Date.now()}`;
    try {
      writeFileSync(tmp, buf, { mode: 0o600 });
      renameSync(tmp, localPath);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw new Error(`transferFileToLocal ${remotePath} -> ${localPath}: ${(e as Error).message}`);
    }
    return { bytes: buf.length, md5: createHash('md5').update(buf).digest('hex') };
  }, `transferFileToLocal ${remotePath} -> ${localPath}`);
}

/**
 * Run `fn` on the controller with a local copy of a node's file (Pallet's `with-remote-file`): the copy is in a
 * private temporary directory, removed when `fn` returns or throws. Its node value is what `fn` returns.
 * Check mode does not run `fn`.
 */
export function withRemoteFile<T>(
  remotePath: string,
  fn: (localPath: string) => T | Promise<T>,
): NodeValue<Awaited<T>> {
  currentSession('withRemoteFile');
  const read = readForController(remotePath);
  return asAction(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pallet-remote-'));
    try {
      const local = join(dir, posix.basename(remotePath) || 'file');
      writeFileSync(local, Buffer.from(read.get().out, 'base64'), { mode: 0o600 });
      return await fn(local);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, `withRemoteFile ${remotePath}`);
}

/**
 * Copy `from` (on the controller) to `to` on the node with rsync over SSH.
 * Needs rsync on both sides (install it on the node first with `pkg('rsync')`).
 */
export function rsync(from: string, to: string, opts: RsyncOptions = {}): NodeValue<{ changed: boolean; out: string }> {
  const { flagOnChanged, ...given } = opts;
  const o = validate(rsyncOptions, given, 'rsync');
  rsyncCredentials(`rsync ${from} -> ${to}`);
  return recordAction<RsyncArgs, { changed: boolean; out: string }>(
    rsyncAction,
    { from, to, opts: o },
    flagOnChanged === undefined ? {} : { flagOnChanged: checkFlagName(flagOnChanged, 'rsync') },
  );
}

const rsyncOptions = z.strictObject({ args: z.array(z.string()).optional(), delete: z.boolean().optional() });

/** The same rsync, from the node: it changes the controller, not the node (its value says what it copied). */
const rsyncToLocalAction: ActionDef<RsyncArgs> = {
  ...rsyncAction,
  name: 'rsyncToLocal',
  summary: ([a]) => `rsyncToLocal ${a?.from ?? ''} -> ${a?.to ?? ''}`,
  changedBy: () => false,
};

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
 */
export function rsyncToLocal(
  from: string,
  to: string,
  opts: Omit<RsyncOptions, 'flagOnChanged'> = {},
): NodeValue<{ changed: boolean; out: string }> {
  const o = validate(rsyncOptions, opts, 'rsyncToLocal');
  rsyncCredentials(`rsyncToLocal ${from} -> ${to}`);
  return recordAction<RsyncArgs, { changed: boolean; out: string }>(rsyncToLocalAction, {
    from,
    to,
    opts: { ...o, delete: o.delete ?? false },
    pull: true,
  });
}

/** `directory(to)` then `rsync(from/, to/)`: make `to` a copy of the controller directory `from`. */
export function rsyncDirectory(
  from: string,
  to: string,
  opts: RsyncOptions & { owner?: string; group?: string; mode?: string } = {},
): NodeValue<{ changed: boolean; out: string }> {
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
}
