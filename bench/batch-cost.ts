/**
 * What the synthetic phase's batch costs on a node by itself (no SSH, no controller): the batch pallet would
 * send, run with `sh` inside one bench container, five times each way:
 * - idempotent: after a first run, nothing to change;
 * - first run: on a node where none of it exists yet (the bench's user, group and files removed before each);
 * and the programs a first and an idempotent run start (every program on PATH shimmed to log its name).
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

const clean =
  'rm -rf /srv/bench/cost /var/lib/pallet/srv/bench/cost; userdel -r bench_u_cost 2>/dev/null; groupdel bench_g_cost 2>/dev/null; true';
// Every program in /usr/bin and /usr/sbin, shimmed: logs its name, then runs (a shim's own sh is not counted).
const shims =
  'mkdir -p /tmp/shim && for p in /usr/bin/* /usr/sbin/*; do n=${p##*/}; [ -e /tmp/shim/$n ] || printf \'#!/bin/dash\\necho %s >> /tmp/shim.log\\nexec %s "$@"\\n\' "$n" "$p" > /tmp/shim/$n; done; chmod +x /tmp/shim/*';

const scripts = await compile(phase);
const entries: BatchEntry[] = scripts.map((s, i) => ({ kind: 'action', key: `a${i}`, script: s.script, options: {} }));
const batch = buildBatch(entries, newNonce());
setup(false);
await startNodes(1, 'ssh-ed25519 AAAA unused');
const id = execFileSync('podman', ['ps', '-q', '--filter', 'label=pallet-bench'], { encoding: 'utf8' }).trim();
const inNode = (script: string, input?: string) =>
  execFileSync('podman', ['exec', '-i', id, 'bash', '-c', script], { input, encoding: 'utf8' });
const median5 = (out: string) =>
  out
    .trim()
    .split('\n')
    .map((t) => Number(t) * 1000)
    .sort((a, b) => a - b)[2]!;
try {
  inNode('cat > /tmp/b.sh', batch);
  const first = median5(
    inNode(`TIMEFORMAT=%R; for i in 1 2 3 4 5; do ${clean}; time sh /tmp/b.sh >/dev/null; done 2>&1 >/dev/null`),
  );
  const idem = median5(
    inNode('sh /tmp/b.sh >/dev/null; TIMEFORMAT=%R; for i in 1 2 3 4 5; do time sh /tmp/b.sh >/dev/null; done 2>&1'),
  );
  inNode(shims);
  const programs = (before: string) => {
    const log = inNode(
      `${before}; rm -f /tmp/shim.log; PATH=/tmp/shim sh /tmp/b.sh >/dev/null; cat /tmp/shim.log 2>/dev/null; true`,
    );
    const names = log.trim().split('\n').filter(Boolean);
    const counts = new Map<string, number>();
    for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1);
    const list = [...counts].sort((a, b) => b[1] - a[1]).map(([n, c]) => `${n} ${c}`);
    return `${names.length} (${list.join(', ')})`;
  };
  console.log(`${entries.length} actions, batch ${batch.length} bytes, median of 5 on the node:`);
  console.log(`  first run ${first.toFixed(0)} ms, programs ${programs(clean)}`);
  console.log(`  idempotent ${idem.toFixed(0)} ms, programs ${programs('true')}`);
} finally {
  removeAll();
}
