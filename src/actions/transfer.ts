/**
 * Files between the controller and the node: `transferFile` (controller to node),
 * `remoteFileContent` (a node file's text as a node value), `transferFileToLocal` and `withRemoteFile`
 * (node to controller, binary-safe, in the phase's batch).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import * as z from 'zod';
import { defineAction } from '../plan/action.js';
import { withContext, asAction, currentSession, withActionValues, type NodeValue } from '../plan/session.js';
import { shQuote } from '../script/quote.js';
import { validate } from '../core/validate.js';
import { execScript } from './exec.js';
import { remoteFile, type RemoteFileOptions } from './remote-file.js';

/**
 * The text of a file on the node, as a node value.
 *
 * @example
 * ```ts
 * const hostname = remoteFileContent('/etc/hostname');
 * withActionValues([hostname], (text) => console.log(text.trim()));
 * ```
 */
export function remoteFileContent(path: string): NodeValue<string> {
  const v = execScript(`cat ${shQuote(path)}`, { changes: 'never', runInCheck: true });
  return withActionValues([v], (r) => r.out);
}

/**
 * Copy a file from the controller to the node (no versioning).
 *
 * @example
 * ```ts
 * transferFile('dist/app.jar', '/opt/app/app.jar', { owner: 'app', mode: '0644' });
 * ```
 */
export function transferFile(
  localPath: string,
  remotePath: string,
  opts: Pick<RemoteFileOptions, 'owner' | 'group' | 'mode'> = {},
): void {
  return withContext('transferFile', () => {
    remoteFile(remotePath, { ...opts, localFile: localPath, noVersioning: true });
  });
}

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
 *
 * @example
 * ```ts
 * transferFileToLocal('/etc/ssl/certs/app.pem', 'out/app.pem');
 * ```
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
 *
 * @example
 * ```ts
 * withRemoteFile('/var/log/app/report.json', (local) => console.log(local));
 * ```
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
