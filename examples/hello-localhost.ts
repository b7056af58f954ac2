/**
 * The main job: lift a small phase onto the localhost service and print what
 * happened. Harmless: everything it writes is under a new temporary directory.
 *
 *   npm start
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import {
  directory,
  execScript,
  explainSession,
  groupSpec,
  lift,
  localhostService,
  makeUser,
  planFn,
  remoteFile,
  sessionSummary,
  shQuote,
} from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'pallet-hello-'));

const hello = planFn('hello', () => {
  directory(`${root}/etc`, { mode: '0755' });
  remoteFile(`${root}/etc/motd`, { content: 'Hello from Pallet for TypeScript\n', mode: '0644' });
  execScript(`cat ${shQuote(`${root}/etc/motd`)}`, { changes: 'never' });
});

const web = groupSpec('web');
const compute = localhostService();
// Keep pallet's own state (master copies of managed files) under the temporary directory too.
const user = makeUser(userInfo().username, { stateRoot: join(root, 'state') });

const first = await lift(web, { phase: hello, compute, user });
process.stdout.write(explainSession(first));
const second = await lift(web, { phase: hello, compute, user });
process.stdout.write(`\nSecond run (nothing should change):\n${sessionSummary(second)}`);
process.stdout.write(`\nFiles are under ${root}\n`);
process.exitCode = first.ok && second.ok ? 0 : 1;
