/**
 * The SSH transport, on the ssh2 library: one connection per node, reused for
 * every script of the operation; scripts go to `sh -s` on stdin (under sudo
 * unless the user is root or `noSudo`).
 *
 * Host keys are checked against known_hosts by default. Failures are precise:
 * connection refused, timeout, authentication, unknown or changed host key,
 * sudo needing a password. Secrets (passwords, passphrases, keys) are never
 * put on a command line or in a message.
 *
 * Why this file is long: one connection's life (connect, host-key check, sudo, exec, streams, precise errors); the error paths
 * are most of it and belong beside the calls that raise them.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import net from 'node:net';
import { join } from 'node:path';
import type { Client, ConnectConfig, SFTPWrapper, Stats } from 'ssh2';
import { TransportError } from '../core/errors.js';
import { shQuote } from '../script/quote.js';
import type { User } from '../core/user.js';
import {
  addKnownHost,
  checkHostKey,
  hostEntryName,
  keysFor,
  keyTypeOf,
  readKnownHosts,
  type KnownKey,
} from './known-hosts.js';
import type { RunOptions, RunResult, Transport } from './types.js';
import { ssh2, sshConfig } from '../core/lazy.js';

/**
 * How unknown host keys are treated: `strict` (default) rejects them;
 * `accept-new` records a new host's key on first use (a changed key is still
 * rejected); `insecure` skips the check (throwaway nodes only).
 */
export type HostKeyPolicy = 'strict' | 'accept-new' | 'insecure';

export interface SshOptions {
  host: string;
  port?: number;
  user: User;
  /** Name of the node, for messages (default `host`). */
  nodeName?: string;
  hostKeyPolicy?: HostKeyPolicy;
  /** Default `~/.ssh/known_hosts`. */
  knownHostsPath?: string;
  /** Host keys known in advance (`type base64` lines), e.g. learned by the provider that created the node. */
  hostKeys?: string[];
  /** How long to wait for the SSH handshake. Default 20 s. */
  connectTimeoutMs?: number;
  /**
   * How often a keepalive is sent while the connection is open (default 15 s);
   * after `keepaliveCountMax` (default 3) unanswered ones the connection counts
   * as lost, so a paused node is detected after about interval x (count + 1).
   */
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  /** Kill a script that runs longer than this (default: no limit). */
  commandTimeoutMs?: number;
  /** `~/.ssh/config` (default), another path, or false to ignore it. */
  sshConfigPath?: string | false;
  /** An ssh-agent socket (default `SSH_AUTH_SOCK`), or false. */
  agent?: string | false;
}

function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

const hostKeyAlgorithms: Record<string, string[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
};

interface ResolvedTarget {
  host: string;
  port: number;
  identityFiles: string[];
}

function resolveWithConfig(opts: SshOptions): ResolvedTarget {
  const path = opts.sshConfigPath === false ? undefined : (opts.sshConfigPath ?? join(homedir(), '.ssh', 'config'));
  let host = opts.host;
  let port = opts.port;
  let identityFiles: string[] = [];
  if (path && existsSync(path)) {
    // ssh-config is loaded only when there is a config file to read.
    const c = sshConfig().default.parse(readFileSync(path, 'utf8')).compute(opts.host);
    if (typeof c.HostName === 'string') host = c.HostName;
    if ((port === undefined || port === 22) && typeof c.Port === 'string') port = Number(c.Port);
    const ids = c.IdentityFile;
    identityFiles = (Array.isArray(ids) ? ids : ids ? [ids] : []).map((p) => p.replace(/^~(?=\/)/, homedir()));
  }
  return { host, port: port ?? 22, identityFiles };
}

/** The command that runs a script from stdin with the user's privileges. */
export function shellCommand(user: User): { command: string; stdinPrefix: string } {
  const asRoot = user.username === 'root' && !user.sudoUser;
  if (user.noSudo || asRoot) return { command: 'sh -s', stdinPrefix: '' };
  const u = user.sudoUser ? ` -u ${shQuote(user.sudoUser)}` : '';
  if (user.sudoPassword !== undefined) {
    // The password travels as the first line of stdin, never on a command line. It is given to sudo
    // only when sudo asks for one, so it can never reach the shell as a command.
    const inner =
      `IFS= read -r p; if sudo -n${u} true 2>/dev/null; then p=; exec sudo -n${u} sh -s; fi; ` +
      `{ printf '%s\\n' "$p"; exec cat; } | sudo -S -p ''${u} sh -s`;
    return { command: `sh -c ${shQuote(inner)}`, stdinPrefix: `${user.sudoPassword}\n` };
  }
  return { command: `sudo -n${u} sh -s`, stdinPrefix: '' };
}

/** Open an SSH connection to a node and return a transport over it. */
export async function sshTransport(opts: SshOptions): Promise<Transport> {
  const { host, port, identityFiles } = resolveWithConfig(opts);
  const node = opts.nodeName ?? opts.host;
  const where = `${host}:${port}`;
  const user = opts.user;
  const policy = opts.hostKeyPolicy ?? 'strict';
  const knownPath = opts.knownHostsPath ?? join(homedir(), '.ssh', 'known_hosts');
  const entryName = hostEntryName(host, port);
  const pinned: KnownKey[] = (opts.hostKeys ?? []).map((l) => {
    const [type, key] = l.trim().split(/\s+/);
    return { type: type!, key: key! };
  });
  const known = [...pinned, ...keysFor(readKnownHosts(knownPath), entryName)];

  const config: ConnectConfig = {
    host,
    port,
    username: user.username,
    readyTimeout: opts.connectTimeoutMs ?? 20_000,
    keepaliveInterval: opts.keepaliveIntervalMs ?? 15_000,
    keepaliveCountMax: opts.keepaliveCountMax ?? 3,
  };
  const tried: string[] = [];
  const keyPaths = [user.privateKeyPath, ...identityFiles].filter((p): p is string => Boolean(p));
  if (user.privateKey) {
    config.privateKey = user.privateKey;
    tried.push('the given private key');
  } else {
    const found = keyPaths.find((p) => existsSync(p));
    if (found) {
      config.privateKey = readFileSync(found);
      tried.push(`key ${found}`);
    }
  }
  if (user.passphrase !== undefined) config.passphrase = user.passphrase;
  const agent = opts.agent === false ? undefined : (opts.agent ?? process.env.SSH_AUTH_SOCK);
  if (agent) {
    config.agent = agent;
    tried.push('ssh-agent');
  }
  if (user.password !== undefined) {
    config.password = user.password;
    tried.push('password');
  }
  if (tried.length === 0) {
    throw new TransportError(
      `${node}: no credentials to log in as ${user.username}@${where}: none of ${keyPaths.join(', ') || '(no key path)'} exists, ` +
        'no ssh-agent (SSH_AUTH_SOCK) and no password. Give the user a privateKeyPath, a password, or start an agent.',
      node,
    );
  }

  let hostKeyProblem: string | undefined;
  if (policy !== 'insecure') {
    const types = [...new Set(known.filter((k) => !k.revoked).map((k) => k.type))];
    const prefer = types.flatMap((t) => hostKeyAlgorithms[t] ?? []);
    if (prefer.length)
      config.algorithms = { serverHostKey: { prepend: prefer } } as unknown as ConnectConfig['algorithms'];
    config.hostVerifier = (blob: Buffer) => {
      const v = checkHostKey(known, blob);
      const offered = `${keyTypeOf(blob)} ${fingerprint(blob)}`;
      if (v.result === 'match') return true;
      if (v.result === 'unknown' && policy === 'accept-new') {
        addKnownHost(knownPath, entryName, keyTypeOf(blob), blob.toString('base64'));
        return true;
      }
      if (v.result === 'unknown') {
        hostKeyProblem =
          `the host key of ${entryName} (${offered}) is not known: it is not in ${knownPath}. ` +
          `Check it and add it (ssh-keyscan -p ${port} ${host} >> ${knownPath}), or use hostKeyPolicy 'accept-new' for new nodes.`;
      } else if (v.result === 'revoked') {
        hostKeyProblem = `the host key of ${entryName} (${offered}) is marked @revoked in ${knownPath}.`;
      } else {
        hostKeyProblem =
          `HOST KEY MISMATCH for ${entryName}: it offered ${offered}, which is not the key recorded in ${knownPath}. ` +
          `Someone may be intercepting the connection, or the node was rebuilt. If you know it was rebuilt, remove the old key: ssh-keygen -R '${entryName}' -f ${knownPath}`;
      }
      return false;
    };
  }

  /** One connection attempt; the error it fails with says whether another attempt may succeed. */
  const connectOnce = async (): Promise<Client> => {
    // ssh2 is loaded with the first SSH connection: commands that make none (explain, localhost) start faster.
    const client = new (ssh2().Client)();
    // ssh2 may emit 'error' more than once (a handshake that times out, then "Connection lost before
    // handshake"): one listener stays for the client's whole life, so no error is ever unhandled.
    let settled = false;
    let onError: (e: Error & { level?: string; code?: string }) => void = () => {};
    client.on('error', (e: Error & { level?: string; code?: string }) => onError(e));
    let sock: net.Socket | undefined;
    await new Promise<void>((resolve, reject) => {
      const fail = (e: Error & { level?: string; code?: string }) => {
        if (settled) return;
        settled = true;
        client.removeAllListeners('ready');
        // Drop what is left of the connection: the node must not keep a half-open session.
        client.end();
        sock?.destroy();
        let msg: string;
        if (hostKeyProblem) msg = hostKeyProblem;
        else if (e.code === 'ECONNREFUSED')
          msg = `connection refused at ${where} (is sshd running and the port right?)`;
        else if (e.level === 'client-timeout' || e.code === 'ETIMEDOUT')
          msg = `timed out after ${config.readyTimeout} ms connecting to ${where} (the SSH handshake did not complete)`;
        else if (e.level === 'client-authentication')
          msg = `authentication failed for ${user.username}@${where} (tried ${tried.join(', ')})`;
        else if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') msg = `cannot resolve host name ${host}`;
        else if (/passphrase|encrypted/i.test(e.message))
          msg = `cannot use the private key: ${e.message} (is the passphrase right?)`;
        else msg = `cannot connect to ${where}: ${e.message}`;
        reject(new TransportError(`${node}: ${msg}`, node, { cause: e }));
      };
      onError = fail;
      client.once('ready', () => {
        if (settled) return;
        settled = true;
        // Small packets both ways (script in, frames out): Nagle's algorithm would add a delayed-ACK wait to each.
        client.setNoDelay(true);
        onError = () => {
          /* later errors surface on the next run (the connection is closed) */
        };
        resolve();
      });
      try {
        // Our own socket, so that Nagle is off from the first packet of the handshake.
        sock = net.connect({ host, port });
        sock.setNoDelay(true);
        sock.on('error', (e) => onError(e as Error & { code?: string }));
        client.connect({ ...config, sock });
      } catch (e) {
        fail(e as Error);
      }
    });
    return client;
  };
  // A refused or reset connection before the handshake is what a node shows while sshd restarts (a reload
  // re-executes it and reopens its socket) or boots: tried again a few times, briefly, before it is an error.
  let client: Client;
  for (let attempt = 0; ; attempt++) {
    try {
      client = await connectOnce();
      break;
    } catch (e) {
      const code = (e as { cause?: { code?: string } }).cause?.code;
      const retryable =
        !hostKeyProblem &&
        (code === 'ECONNREFUSED' ||
          code === 'ECONNRESET' ||
          /Connection lost before handshake/.test(String((e as { cause?: Error }).cause?.message)));
      if (!retryable || attempt >= 3) throw e;
      await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
    }
  }

  let closed = false;
  client.on('close', () => {
    closed = true;
  });
  const shell = shellCommand(user);
  const uploadDir = `/tmp/pallet-uploads-${user.username}`;
  let sftpP: Promise<SFTPWrapper> | undefined;
  const sftp = () =>
    (sftpP ??= new Promise<SFTPWrapper>((resolve, reject) =>
      client.sftp((err, s) =>
        err
          ? reject(new TransportError(`${node}: cannot open SFTP on ${where}: ${err.message}`, node, { cause: err }))
          : resolve(s),
      ),
    ));
  const call = <T>(f: (cb: (err: Error | null | undefined, v?: T) => void) => void) =>
    new Promise<T>((resolve, reject) => f((err, v) => (err ? reject(err) : resolve(v as T))));

  const transport: Transport = {
    description: `ssh ${user.username}@${where}`,
    uploadDir,
    async upload(localPath: string, md5: string) {
      const s = await sftp();
      const size = statSync(localPath).size;
      await call<void>((cb) =>
        s.mkdir(uploadDir, { mode: 0o700 }, (e) => cb(e && (e as { code?: number }).code !== 4 ? e : null)),
      ).catch(() => {});
      const dirStat = await call<Stats>((cb) => s.lstat(uploadDir, cb));
      // Ours: a real directory (not a link), owned by the login user (whose home is `.`), private.
      const home = await call<Stats>((cb) => s.stat('.', cb));
      if (!dirStat.isDirectory() || dirStat.uid !== home.uid || (dirStat.mode & 0o077) !== 0) {
        const what = !dirStat.isDirectory()
          ? 'is not a directory'
          : dirStat.uid !== home.uid
            ? `is owned by uid ${dirStat.uid}, not by ${user.username}`
            : `is not private (mode ${(dirStat.mode & 0o777).toString(8)})`;
        throw new TransportError(
          `${node}: the upload directory ${uploadDir} ${what}: another user may have made it; remove it`,
          node,
        );
      }
      const dest = `${uploadDir}/${md5}`;
      const existing = await call<Stats>((cb) => s.lstat(dest, cb)).catch(() => undefined);
      if (existing && existing.isFile() && existing.size === size) {
        // Reused only when its checksum matches (one command, only for files the node already has).
        const r = await transport.run(`md5sum < ${shQuote(dest)}\n`);
        if (r.exit === 0 && r.stdout.toString().split(' ')[0] === md5) return { uploaded: false };
        // Damaged or replaced: SFTP's rename does not overwrite, so it goes first.
        await call<void>((cb) => s.unlink(dest, cb)).catch(() => {});
      }
      const tmp = `${dest}.${process.pid}.tmp`;
      await call<void>((cb) => s.fastPut(localPath, tmp, { mode: 0o600 }, cb));
      await call<void>((cb) => s.rename(tmp, dest, cb)).catch(async () => {
        // Another upload of the same content won the race.
        await call<void>((cb) => s.unlink(tmp, cb)).catch(() => {});
      });
      return { uploaded: true };
    },
    run(script: string, runOpts: RunOptions = {}): Promise<RunResult> {
      if (closed) return Promise.reject(new TransportError(`${node}: the SSH connection to ${where} was closed`, node));
      return new Promise((resolve, reject) => {
        client.exec(shell.command, (err, stream) => {
          if (err) {
            reject(
              new TransportError(`${node}: cannot open a session on ${where}: ${err.message}`, node, { cause: err }),
            );
            return;
          }
          const out: Buffer[] = [];
          const errs: Buffer[] = [];
          let timer: NodeJS.Timeout | undefined;
          let timedOut = false;
          // Stopped: the batch is told (SIGINT: it lets the running action end and starts no other),
          // and cut after a short grace period.
          let grace: NodeJS.Timeout | undefined;
          const onAbort = () => {
            stream.signal('INT');
            grace = setTimeout(() => stream.close(), runOpts.graceMs ?? 10_000);
          };
          runOpts.signal?.addEventListener('abort', onAbort, { once: true });
          const limit = runOpts.timeoutMs ?? opts.commandTimeoutMs;
          if (limit) {
            timer = setTimeout(() => {
              timedOut = true;
              // sshd keeps a session until its process ends: signal it, then drop the whole connection.
              stream.signal('KILL');
              stream.close();
              client.end();
              reject(
                new TransportError(
                  `${node}: the script was killed after ${limit} ms (commandTimeoutMs); the connection was closed`,
                  node,
                ),
              );
            }, limit);
          }
          let outBytes = 0;
          stream.on('data', (c: Buffer) => {
            outBytes += c.length;
            // A streaming caller gets the bytes once; they are not kept twice.
            if (runOpts.onStdout) runOpts.onStdout(c);
            else out.push(c);
          });
          stream.stderr.on('data', (c: Buffer) => errs.push(c));
          stream.on('close', (code: number | null | undefined, signal?: string) => {
            if (timer) clearTimeout(timer);
            if (grace) clearTimeout(grace);
            runOpts.signal?.removeEventListener('abort', onAbort);
            const stdout = Buffer.concat(out);
            const stderr = Buffer.concat(errs);
            const text = stderr.toString('utf8');
            if (timedOut) return;
            if (
              code !== 0 &&
              outBytes === 0 &&
              /sudo: (a password is required|a terminal is required|no password was provided)/.test(text)
            ) {
              reject(
                new TransportError(
                  `${node}: sudo needs a password for ${user.username} on ${where}: give the user a sudoPassword, ` +
                    'grant it passwordless sudo (NOPASSWD), or log in as root',
                  node,
                ),
              );
              return;
            }
            if (code !== 0 && outBytes === 0 && /incorrect password attempt|Sorry, try again/.test(text)) {
              reject(
                new TransportError(`${node}: sudo rejected the sudoPassword of ${user.username} on ${where}`, node),
              );
              return;
            }
            if (code === null || code === undefined) {
              // No exit status came back: the node's shell was killed, the operation was aborted, or the connection dropped.
              const why = runOpts.signal?.aborted
                ? 'the operation was aborted while the script ran'
                : signal
                  ? `the script was killed by signal ${signal}`
                  : `connection lost to ${where} while the script ran (the node stopped answering or sshd closed the session)`;
              reject(new TransportError(`${node}: ${why}`, node));
              return;
            }
            resolve({ exit: code, stdout, stderr });
          });
          stream.on('error', () => {
            /* reported by close */
          });
          stream.end(shell.stdinPrefix + script);
        });
      });
    },
    async close() {
      if (!closed) client.end();
    },
  };
  return transport;
}

/**
 * Wait until sshd at host:port sends its banner (a published container port
 * accepts TCP connections before sshd listens, so a TCP connect is not enough).
 */
export async function waitForSsh(host: string, port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const once = () =>
    new Promise<boolean>((resolve) => {
      const s = net.connect({ host, port });
      let data = '';
      s.setTimeout(1000, () => {
        s.destroy();
        resolve(false);
      });
      s.on('data', (c: Buffer) => {
        data += c.toString();
        if (data.startsWith('SSH-')) {
          s.destroy();
          resolve(true);
        }
      });
      s.on('error', () => resolve(false));
      s.on('close', () => resolve(data.startsWith('SSH-')));
    });
  while (Date.now() < deadline) {
    if (await once()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`sshd did not answer on ${host}:${port} within ${timeoutMs} ms`);
}
