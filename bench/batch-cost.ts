/**
 * What the synthetic phase's batch costs on a node by itself (no SSH, no controller): the batch pallet
 * would send, run with `sh` inside one bench container, idempotent (after a first run), five times.
 *   npx tsx bench/batch-cost.ts
 */
import { execFileSync } from 'node:child_process';
import { buildBatch, newNonce, type BatchEntry } from '../src/operation/batch.js';
import { directory, execScript, group, pkg, remoteFile, sed, symbolicLink, user } from '../src/index.js';
import { compile } from '../test/helpers/compile.js';
import { removeAll, setup, startNodes } from './lib.js';

const phase = () => {
  const d = '/srv/bench/cost';
  pkg('sudo');
  group('bench_g_cost');
  user('bench_u_cost', { group: 'bench_g_cost', shell: 'sh' });
  for (const x of ['a', 'b', 'c']) directory(`${d}/${x}`, { mode: '0755' });
  for (let i = 1; i <= 5; i++) remoteFile(`${d}/a/f${i}.conf`, { content: `setting${i}=value${i}\n`, mode: '0644' });
  symbolicLink(`${d}/a/f1.conf`, `${d}/link`);
  execScript(`printf 'port=80\\n' > ${d}/b/edit.conf`, { creates: `${d}/b/edit.conf` });
  sed(`${d}/b/edit.conf`, { '^port=.*': 'port=8080' });
};

const scripts = await compile(phase);
const entries: BatchEntry[] = scripts.map((s, i) => ({ kind: 'action', key: `a${i}`, script: s.script, options: {} }));
const batch = buildBatch(entries, newNonce());
setup(false);
await startNodes(1, 'ssh-ed25519 AAAA unused');
const id = execFileSync('podman', ['ps', '-q', '--filter', 'label=pallet-bench'], { encoding: 'utf8' }).trim();
try {
  const times = execFileSync(
    'podman',
    [
      'exec',
      '-i',
      id,
      'bash',
      '-c',
      'cat > /tmp/b.sh; sh /tmp/b.sh >/dev/null; TIMEFORMAT=%R; for i in 1 2 3 4 5; do time sh /tmp/b.sh >/dev/null; done 2>&1',
    ],
    { input: batch, encoding: 'utf8' },
  );
  const ms = times
    .trim()
    .split('\n')
    .map((t) => Number(t) * 1000)
    .sort((a, b) => a - b);
  console.log(
    `${entries.length} actions, batch ${batch.length} bytes: idempotent run on the node ${ms[2]!.toFixed(0)} ms (median of 5)`,
  );
} finally {
  removeAll();
}
