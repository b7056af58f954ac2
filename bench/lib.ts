/**
 * What the benchmark's scenarios share: the test image with Python (for Ansible), nodes in podman (sshd on
 * 127.0.0.1 ports, labelled, removed by label), commands over raw SSH, and medians.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const LABEL = 'pallet-bench';
export const BASE_IMAGE = process.env.PALLET_TEST_IMAGE ?? 'localhost/pallet-debian:12';
export const PY_IMAGE = 'localhost/pallet-debian-py:12';

export const sh = (cmd: string, args: string[], input?: string) =>
  execFileSync(cmd, args, { encoding: 'utf8', input, maxBuffer: 64 << 20 });

export function log(s: string) {
  process.stderr.write(`[bench] ${s}\n`);
}

/**
 * One benchmark at a time on a machine: its containers have fixed names and one label, and a second run would
 * remove the first one's nodes in the middle of a measurement. The lock names the process holding it; a lock
 * left by a process that is gone is taken over.
 */
export function lockBench(file = '/run/pallet-bench.lock'): void {
  for (;;) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      process.once('exit', () => {
        if (readFileSync(file, 'utf8').trim() === String(process.pid)) rmSync(file, { force: true });
      });
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = Number(readFileSync(file, 'utf8').trim());
      if (holder && holder !== process.pid && alive(holder))
        throw new Error(`another benchmark is running (pid ${holder}, ${file}); wait for it or stop it`);
      rmSync(file, { force: true });
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function setup(ansible: boolean) {
  lockBench();
  sh('bash', [resolve('scripts/test-nodes.sh')]);
  if (ansible && spawnSync('ansible-playbook', ['--version']).status !== 0) {
    log('installing ansible-core');
    sh('apt-get', ['install', '-y', '-qq', 'ansible-core']);
  }
  if (spawnSync('podman', ['image', 'exists', PY_IMAGE]).status !== 0) {
    log(`building ${PY_IMAGE} (python3 python3-apt, for Ansible)`);
    const c = sh('podman', [
      'run',
      '-d',
      BASE_IMAGE,
      'sh',
      '-c',
      'apt-get -qq update && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-apt >/dev/null && rm -rf /var/lib/apt/lists/*',
    ]).trim();
    sh('podman', ['wait', c]);
    sh('podman', ['commit', '-q', c, PY_IMAGE]);
    sh('podman', ['rm', c]);
  }
}

export interface BenchNode {
  name: string;
  port: number;
  hostKey: string;
}

export function removeAll() {
  const ids = sh('podman', ['ps', '-aq', '--filter', `label=${LABEL}`]).trim();
  if (ids) sh('podman', ['rm', '-f', '-t', '0', ...ids.split('\n')]);
}

export async function startNodes(n: number, pub: string, portsPerNode = 1): Promise<BenchNode[]> {
  const ports = Array.from({ length: portsPerNode }, (_, i) => 22 + i * 1000);
  const start = [
    'mkdir -p /run/sshd /root/.ssh',
    'printf "%s\\n" "$KEY" > /root/.ssh/authorized_keys',
    'chmod 600 /root/.ssh/authorized_keys',
    'ssh-keygen -A >/dev/null',
    `exec /usr/sbin/sshd -D -e ${ports.map((p) => `-p ${p}`).join(' ')}`,
  ].join(' && ');
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = `bench-${i}`;
    sh('podman', [
      'run',
      '-d',
      '--name',
      name,
      '--label',
      LABEL,
      '--hostname',
      name,
      '-e',
      `KEY=${pub}`,
      ...ports.flatMap((p) => ['-p', `127.0.0.1::${p}`]),
      PY_IMAGE,
      'sh',
      '-c',
      start,
    ]);
    names.push(name);
  }
  const out: BenchNode[] = [];
  for (const name of names) {
    let key = '';
    for (let t = 0; t < 100 && !key; t++) {
      key = spawnSync('podman', ['exec', name, 'cat', '/etc/ssh/ssh_host_ed25519_key.pub'], {
        encoding: 'utf8',
      }).stdout.trim();
      if (!key) await new Promise((r) => setTimeout(r, 100));
    }
    for (const p of ports) {
      const port = Number(
        sh('podman', ['port', name, `${p}/tcp`])
          .trim()
          .split(':')
          .pop(),
      );
      out.push({
        name: portsPerNode > 1 ? `${name}-p${p}` : name,
        port,
        hostKey: key.split(' ').slice(0, 2).join(' '),
      });
    }
  }
  // Wait until every sshd answers with its banner.
  for (const n2 of out) {
    for (let t = 0; t < 100; t++) {
      const r = spawnSync('ssh-keyscan', ['-T', '2', '-p', String(n2.port), '127.0.0.1'], { encoding: 'utf8' });
      if (r.stdout.includes('ssh-')) break;
      await new Promise((r2) => setTimeout(r2, 100));
    }
  }
  return out;
}

export function runParallel(
  nodes: BenchNode[],
  key: string,
  known: string,
  script: string | ((n: BenchNode) => string),
): Promise<number> {
  const t0 = performance.now();
  return Promise.all(
    nodes.map(
      (n) =>
        new Promise<void>((res, rej) => {
          const p = spawn(
            'ssh',
            [
              '-q',
              '-i',
              key,
              '-p',
              String(n.port),
              '-o',
              `UserKnownHostsFile=${known}`,
              '-o',
              'StrictHostKeyChecking=yes',
              '-o',
              'BatchMode=yes',
              'root@127.0.0.1',
              'sh -s',
            ],
            { stdio: ['pipe', 'ignore', 'pipe'] },
          );
          let err = '';
          p.stderr.on('data', (c: Buffer) => (err += c.toString()));
          p.on('close', (code) => (code === 0 ? res() : rej(new Error(`${n.name}: exit ${code}: ${err}`))));
          p.stdin.end(typeof script === 'string' ? script : script(n));
        }),
    ),
  ).then(() => performance.now() - t0);
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
export const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** Run a command, its output captured; its wall time, or an error with the end of its output. */
export function runTimed(
  cmd: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ ms: number; out: string }> {
  const t0 = performance.now();
  return new Promise((res, rej) => {
    const p = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.stderr.on('data', (c: Buffer) => (out += c.toString()));
    p.on('close', (code) =>
      code === 0
        ? res({ ms: performance.now() - t0, out })
        : rej(new Error(`${cmd} exited ${code}: ${out.slice(-3000)}`)),
    );
  });
}
