/**
 * Where the controller's time goes: start N bench nodes, run the synthetic lift once to make it idempotent,
 * then run it again under `--cpu-prof` and print the heaviest functions (self time) and files.
 *   npx tsx bench/profile.ts 10
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { removeAll, setup, startNodes } from './lib.js';

const n = Number(process.argv[2] ?? 10);
const dir = mkdtempSync(join(tmpdir(), 'pallet-prof-'));
setup(false);
const key = join(dir, 'key');
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
const nodes = await startNodes(n, readFileSync(`${key}.pub`, 'utf8'));
try {
  const known = join(dir, 'known_hosts');
  writeFileSync(known, nodes.map((x) => `[127.0.0.1]:${x.port} ${x.hostKey}\n`).join(''));
  const nodesFile = join(dir, 'nodes.json');
  writeFileSync(nodesFile, JSON.stringify(nodes));
  const child = (extra: string[]) =>
    execFileSync(process.execPath, [...extra, resolve('bench/pallet-child.mjs'), nodesFile, key, known, 'prof', '50'], {
      encoding: 'utf8',
    });
  console.log('first', child([]).trim());
  console.log('second', child([]).trim());
  const profDir = join(dir, 'prof');
  console.log('profiled', child(['--cpu-prof', `--cpu-prof-dir=${profDir}`]).trim());
  const file = join(profDir, readdirSync(profDir)[0]!);
  const prof = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
    samples: number[];
    timeDeltas: number[];
  };
  const self = new Map<number, number>();
  prof.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)));
  const byFn = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const node of prof.nodes) {
    const us = self.get(node.id) ?? 0;
    const f = node.callFrame;
    const where = f.url.replace(/^.*node_modules\//, 'nm/').replace(/^file:\/\/.*\/(dist|src)\//, '$1/') || '(native)';
    byFn.set(
      `${f.functionName || '(anon)'} ${where}:${f.lineNumber}`,
      (byFn.get(`${f.functionName || '(anon)'} ${where}:${f.lineNumber}`) ?? 0) + us,
    );
    const pkg = where.startsWith('nm/') ? where.split('/').slice(0, 2).join('/') : where;
    byFile.set(pkg, (byFile.get(pkg) ?? 0) + us);
  }
  const top = (m: Map<string, number>, k: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([name, us]) => `${(us / 1000).toFixed(1).padStart(7)} ms  ${name}`)
      .join('\n');
  console.log(`\nby file / package:\n${top(byFile, 25)}\n\nby function (self):\n${top(byFn, 30)}`);
  console.log(`\nprofile: ${file}`);
} finally {
  removeAll();
}
