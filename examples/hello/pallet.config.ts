// The quick-start project: one group whose configure phase writes a file under
// a new temporary directory of this machine (harmless), then reads it back.
//   npm start        (runs: pallet --project examples/hello/pallet.config.ts lift)
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineProject, directory, execScript, groupSpec, planFn, remoteFile, shQuote } from 'pallet';

const root = process.env.HELLO_ROOT ?? mkdtempSync(join(tmpdir(), 'pallet-hello-'));

const hello = groupSpec('hello', {
  phases: {
    configure: planFn('hello', () => {
      directory(`${root}/etc`, { mode: '0755' });
      // noVersioning: keep no master copy in /var/lib/pallet, so nothing is written outside the temporary directory.
      remoteFile(`${root}/etc/motd`, {
        content: 'Hello from Pallet for TypeScript\n',
        mode: '0644',
        noVersioning: true,
      });
      execScript(`cat ${shQuote(`${root}/etc/motd`)}`, { changes: 'never' });
    }),
  },
});

export default defineProject({ groups: [hello] });
