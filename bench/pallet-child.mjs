// One pallet run for the benchmark, in its own process so that its CPU time and
// peak memory are the controller's alone. Prints one JSON line.
// Usage: node bench/pallet-child.mjs nodes.json key known_hosts tool concurrency [check]
import { readFileSync } from 'node:fs';
import {
  directory,
  execScript,
  group,
  groupSpec,
  lift,
  makeUser,
  nodeListService,
  pkg,
  remoteFile,
  sed,
  symbolicLink,
  targetId,
  user,
} from '../dist/index.js';

const [nodesFile, key, known, tool, concurrency, mode] = process.argv.slice(2);
const nodes = JSON.parse(readFileSync(nodesFile, 'utf8'));
const perTarget = tool === 'ctl';

const phase = () => {
  const t = perTarget ? `${tool}_${targetId().replace(/[^a-z0-9]/g, '_')}` : tool;
  const d = `/srv/bench/${t}`;
  pkg('sudo');
  group(`bench_g_${t}`);
  user(`bench_u_${t}`, { group: `bench_g_${t}`, shell: 'sh' });
  for (const x of ['a', 'b', 'c']) directory(`${d}/${x}`, { mode: '0755' });
  for (let i = 1; i <= 5; i++) remoteFile(`${d}/a/f${i}.conf`, { content: `setting${i}=value${i}\n`, mode: '0644' });
  symbolicLink(`${d}/a/f1.conf`, `${d}/link`);
  execScript(`printf 'port=80\\n' > ${d}/b/edit.conf`, { creates: `${d}/b/edit.conf` });
  sed(`${d}/b/edit.conf`, { '^port=.*': 'port=8080' });
};

const compute = nodeListService(
  nodes.map((n) => ({
    name: n.name,
    id: n.name,
    group: 'bench',
    ip: '127.0.0.1',
    sshPort: n.port,
    osFamily: 'debian',
    osVersion: '12',
  })),
  { ssh: { knownHostsPath: known, agent: false } },
);
const t0 = performance.now();
const r = await lift(groupSpec('bench'), {
  compute,
  user: makeUser('root', { privateKeyPath: key }),
  phase,
  concurrency: Number(concurrency),
  check: mode === 'check',
});
const inner = performance.now() - t0;
if (!r.ok) {
  for (const x of r.results) for (const a of x.actions) if (a.error) process.stderr.write(`${a.error.message}\n`);
}
const cpu = process.cpuUsage();
process.stdout.write(
  `${JSON.stringify({ ok: r.ok, inner, cpuMs: (cpu.user + cpu.system) / 1000, maxRssMb: process.resourceUsage().maxRSS / 1024 })}\n`,
);
