/**
 * The local transport: runs scripts on this machine with `/bin/sh -s`.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { TransportError } from '../core/errors.js';
import type { RunOptions, RunResult, Transport } from './types.js';

export interface LocalTransportOptions {
  /** Working directory of scripts (default: the current directory). */
  cwd?: string;
  /** Prefix command, e.g. `['sudo', '-n']`. Default: none (run as the current user). */
  prefix?: string[];
  /** Extra environment variables. */
  env?: Record<string, string>;
}

export function localTransport(opts: LocalTransportOptions = {}): Transport {
  const uploadDir = join(tmpdir(), `pallet-uploads-${userInfo().username}`);
  return {
    description: 'local',
    uploadDir,
    async upload(localPath: string, md5: string) {
      mkdirSync(uploadDir, { recursive: true, mode: 0o700 });
      // Ours: a real directory (not a link), owned by this user, private; else another user made it.
      const d = lstatSync(uploadDir);
      const uid = process.getuid?.();
      if (!d.isDirectory() || (uid !== undefined && d.uid !== uid) || (d.mode & 0o077) !== 0) {
        throw new TransportError(
          `local: the upload directory ${uploadDir} is not a private directory of this user; remove it`,
          'localhost',
        );
      }
      const dest = join(uploadDir, md5);
      // Reused only when its checksum matches.
      if (
        existsSync(dest) &&
        lstatSync(dest).isFile() &&
        createHash('md5').update(readFileSync(dest)).digest('hex') === md5
      )
        return { uploaded: false };
      const tmp = `${dest}.${process.pid}.tmp`;
      copyFileSync(localPath, tmp);
      chmodSync(tmp, 0o600);
      renameSync(tmp, dest);
      return { uploaded: true };
    },
    run(script: string, runOpts: RunOptions = {}): Promise<RunResult> {
      const argv = [...(opts.prefix ?? []), '/bin/sh', '-s'];
      return new Promise((resolve, reject) => {
        const child = spawn(argv[0]!, argv.slice(1), {
          cwd: opts.cwd,
          env: { ...process.env, ...opts.env },
          stdio: ['pipe', 'pipe', 'pipe'],
          timeout: runOpts.timeoutMs,
        });
        // Stopped: SIGINT lets the running action end; SIGTERM after the grace period.
        let grace: NodeJS.Timeout | undefined;
        const onAbort = () => {
          child.kill('SIGINT');
          grace = setTimeout(() => child.kill('SIGTERM'), runOpts.graceMs ?? 10_000);
        };
        if (runOpts.signal?.aborted) onAbort();
        else runOpts.signal?.addEventListener('abort', onAbort, { once: true });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on('data', (c: Buffer) => {
          // A streaming caller gets the bytes once; they are not kept twice.
          if (runOpts.onStdout) runOpts.onStdout(c);
          else out.push(c);
        });
        child.stderr.on('data', (c: Buffer) => err.push(c));
        child.on('error', (e) =>
          reject(new TransportError(`local: could not run /bin/sh: ${e.message}`, 'localhost', { cause: e })),
        );
        child.on('close', (code, signal) => {
          if (grace) clearTimeout(grace);
          runOpts.signal?.removeEventListener('abort', onAbort);
          resolve({
            exit: code ?? (signal ? 128 + 15 : 1),
            stdout: Buffer.concat(out),
            stderr: Buffer.concat(err),
          });
        });
        child.stdin.on('error', () => {
          /* the script may exit before reading all of stdin */
        });
        child.stdin.end(script);
      });
    },
    async close() {},
  };
}
