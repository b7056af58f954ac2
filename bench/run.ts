/**
 * The benchmark: one phase of 14 idempotent actions on N Debian nodes, run by
 * this project, by Ansible (pipelining, ControlPersist, forks = N, no fact
 * gathering) and by the raw-SSH floor (one hand-written idempotent shell
 * script per node, `ssh node sh -s < script`, all nodes in parallel), in the
 * same run. Prints medians and the ratios project/floor and Ansible/project,
 * and the controller's CPU time and peak memory.
 *
 *   npm run bench                       # 10 and 50 nodes, 3 repetitions
 *   npm run bench -- --nodes 10 --reps 5 --no-ansible
 *   npm run bench -- --controller 1,10,50,200   # controller cost only
 *   npm run bench -- --workload 2,10            # the real workload (bench/workload), against Ansible
 *   npm run bench -- --startup 30               # start-up with a TypeScript project (no nodes; bench/startup.ts)
 *
 * Needs root (podman, apt). Every container it starts is labelled and removed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { measureStartup } from './startup.js';
import { measureWorkload } from './workload.js';
import { fmt, log, median, runTimed, removeAll, runParallel, setup, sh, startNodes, type BenchNode } from './lib.js';

interface Args {
  nodes: number[];
  reps: number;
  ansible: boolean;
  controller: number[];
  /** Node counts for the real-workload scenario (bench/workload). */
  workload: number[];
  /** Runs of each start-up command (bench/startup.ts); 0: not measured. */
  startup: number;
}

function parseArgs(): Args {
  const a: Args = { nodes: [10, 50], reps: 3, ansible: true, controller: [], workload: [], startup: 0 };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--nodes') a.nodes = argv[++i]!.split(',').map(Number);
    else if (k === '--reps') a.reps = Number(argv[++i]);
    else if (k === '--no-ansible') a.ansible = false;
    else if (k === '--controller') a.controller = argv[++i]!.split(',').map(Number);
    else if (k === '--workload') a.workload = argv[++i]!.split(',').map(Number);
    else if (k === '--startup') a.startup = Number(argv[++i] ?? 30);
    else throw new Error(`unknown argument ${k}`);
  }
  return a;
}

/** The floor: the same 14 actions as one hand-written idempotent POSIX script. */
function floorScript(tool: string): string {
  const d = `/srv/bench/${tool}`;
  const lines = [
    'set -e',
    "dpkg-query -W -f='${Status}' sudo | grep -q 'ok installed' || apt-get install -y -q sudo",
    `getent group bench_g_${tool} >/dev/null || groupadd bench_g_${tool}`,
    `getent passwd bench_u_${tool} >/dev/null || useradd -m -g bench_g_${tool} -s /bin/sh bench_u_${tool}`,
    `for x in a b c; do [ -d ${d}/$x ] || mkdir -p ${d}/$x; [ "$(stat -c %a ${d}/$x)" = 755 ] || chmod 755 ${d}/$x; done`,
  ];
  for (let i = 1; i <= 5; i++) {
    lines.push(`f=${d}/a/f${i}.conf; c='setting${i}=value${i}'`);
    lines.push(
      `if [ "$(cat "$f" 2>/dev/null)" != "$c" ]; then printf '%s\\n' "$c" > "$f.new" && mv "$f.new" "$f"; fi; [ "$(stat -c %a "$f")" = 644 ] || chmod 644 "$f"`,
    );
  }
  lines.push(`[ "$(readlink ${d}/link)" = ${d}/a/f1.conf ] || ln -sfn ${d}/a/f1.conf ${d}/link`);
  lines.push(`[ -e ${d}/b/edit.conf ] || printf 'port=80\\n' > ${d}/b/edit.conf`);
  lines.push(`grep -q '^port=8080$' ${d}/b/edit.conf || sed -i 's/^port=.*/port=8080/' ${d}/b/edit.conf`);
  return `${lines.join('\n')}\n`;
}

function cleanupScript(tool: string): string {
  return `rm -rf /srv/bench/${tool}; userdel -r bench_u_${tool} 2>/dev/null; groupdel bench_g_${tool} 2>/dev/null; rm -rf /var/lib/pallet/srv/bench/${tool}; true\n`;
}

/** Run this project's lift in a child process; returns wall ms and the child's CPU time and peak RSS. */
function runPallet(
  nodesFile: string,
  key: string,
  known: string,
  tool: string,
  concurrency: number,
  check = false,
): Promise<{ wall: number; inner: number; cpuMs: number; maxRssMb: number; ok: boolean }> {
  const t0 = performance.now();
  return new Promise((res, rej) => {
    const p = spawn(
      process.execPath,
      [
        resolve('bench/pallet-child.mjs'),
        nodesFile,
        key,
        known,
        tool,
        String(concurrency),
        ...(check ? ['check'] : []),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.on('close', (code) => {
      const wall = performance.now() - t0;
      if (code !== 0 && !out) return rej(new Error(`pallet child exited ${code}`));
      const r = JSON.parse(out) as { inner: number; cpuMs: number; maxRssMb: number; ok: boolean };
      if (!r.ok) return rej(new Error('pallet run failed'));
      res({ wall, ...r });
    });
  });
}

function ansibleFiles(
  dir: string,
  nodes: BenchNode[],
  key: string,
  known: string,
  tool: string,
): { inventory: string; playbook: string; cfg: string } {
  const inventory = join(dir, 'inventory.ini');
  writeFileSync(
    inventory,
    `[bench]\n${nodes.map((n) => `${n.name} ansible_host=127.0.0.1 ansible_port=${n.port} ansible_user=root`).join('\n')}\n`,
  );
  const d = `/srv/bench/${tool}`;
  const tasks = [
    `- apt: { name: sudo, state: present }`,
    `- group: { name: bench_g_${tool} }`,
    `- user: { name: bench_u_${tool}, group: bench_g_${tool}, shell: /bin/sh, create_home: true }`,
    ...['a', 'b', 'c'].map((x) => `- file: { path: ${d}/${x}, state: directory, mode: '0755' }`),
    ...[1, 2, 3, 4, 5].map(
      (i) => `- copy: { dest: ${d}/a/f${i}.conf, content: "setting${i}=value${i}\\n", mode: '0644' }`,
    ),
    `- file: { src: ${d}/a/f1.conf, dest: ${d}/link, state: link }`,
    `- command: { cmd: "sh -c 'printf port=80\\\\\\\\n > ${d}/b/edit.conf'", creates: ${d}/b/edit.conf }`,
    `- lineinfile: { path: ${d}/b/edit.conf, regexp: '^port=', line: 'port=8080' }`,
  ];
  const playbook = join(dir, 'playbook.yml');
  writeFileSync(
    playbook,
    `- hosts: bench\n  gather_facts: false\n  tasks:\n${tasks.map((t) => `    ${t}`).join('\n')}\n`,
  );
  const cfg = join(dir, 'ansible.cfg');
  writeFileSync(
    cfg,
    `[defaults]\nforks = ${nodes.length}\nhost_key_checking = True\nprivate_key_file = ${key}\nretry_files_enabled = False\ninterpreter_python = /usr/bin/python3\nstdout_callback = dense\n[ssh_connection]\npipelining = True\nssh_args = -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=${known}\ncontrol_path_dir = ${dir}/cp\n`,
  );
  return { inventory, playbook, cfg };
}

async function runAnsible(f: { inventory: string; playbook: string; cfg: string }, check = false): Promise<number> {
  return (
    await runTimed('ansible-playbook', ['-i', f.inventory, f.playbook, ...(check ? ['--check'] : [])], {
      ANSIBLE_CONFIG: f.cfg,
    })
  ).ms;
}

async function measureSize(n: number, a: Args, dir: string, key: string, pub: string): Promise<string[]> {
  removeAll();
  log(`starting ${n} nodes`);
  const nodes = await startNodes(n, pub);
  const known = join(dir, `known_hosts_${n}`);
  writeFileSync(known, nodes.map((x) => `[127.0.0.1]:${x.port} ${x.hostKey}\n`).join(''));
  const nodesFile = join(dir, `nodes_${n}.json`);
  writeFileSync(nodesFile, JSON.stringify(nodes));
  // Package lists once (the package action only checks that sudo is present).
  const results: Record<string, { first: number[]; second: number[]; check: number[] }> = {
    floor: { first: [], second: [], check: [] },
    pallet: { first: [], second: [], check: [] },
    ansible: { first: [], second: [], check: [] },
  };
  const palletCost: Array<{ cpuMs: number; maxRssMb: number; inner: number }> = [];
  const ans = a.ansible ? ansibleFiles(dir, nodes, key, known, 'ansible') : undefined;
  for (let rep = 0; rep < a.reps; rep++) {
    log(`${n} nodes, repetition ${rep + 1}/${a.reps}`);
    for (const tool of ['floor', 'pallet', ...(ans ? ['ansible'] : [])]) {
      await runParallel(nodes, key, known, cleanupScript(tool));
      const time = async () => {
        if (tool === 'floor') return runParallel(nodes, key, known, floorScript('floor'));
        if (tool === 'pallet') {
          const r = await runPallet(nodesFile, key, known, 'pallet', n);
          palletCost.push(r);
          return r.wall;
        }
        return runAnsible(ans!);
      };
      results[tool]!.first.push(await time());
      results[tool]!.second.push(await time());
      // Check mode on the same nodes, where nothing would change (compared with the second run).
      if (tool === 'pallet')
        results[tool]!.check.push((await runPallet(nodesFile, key, known, 'pallet', n, true)).wall);
      if (tool === 'ansible') results[tool]!.check.push(await runAnsible(ans!, true));
    }
  }
  removeAll();
  const m = (t: string, k: 'first' | 'second') => median(results[t]!.first.length ? results[t]![k] : [NaN]);
  const rows = [
    `### ${n} nodes (${a.reps} repetitions, medians)`,
    '',
    '| run | floor (raw ssh) | pallet | ansible | pallet / floor | ansible / pallet |',
    '|---|---|---|---|---|---|',
  ];
  for (const k of ['first', 'second'] as const) {
    const f = m('floor', k);
    const p = m('pallet', k);
    const an = ans ? m('ansible', k) : NaN;
    rows.push(
      `| ${k === 'first' ? 'first (changes)' : 'second (nothing to change)'} | ${fmt(f)} | ${fmt(p)} | ${ans ? fmt(an) : '-'} | ${(p / f).toFixed(2)} | ${ans ? (an / p).toFixed(1) : '-'} |`,
    );
  }
  const pc = median(results.pallet!.check);
  const ac = ans ? median(results.ansible!.check) : NaN;
  rows.push(
    `| check (nothing would change) | - | ${fmt(pc)} | ${ans ? fmt(ac) : '-'} | check / second: ${(pc / m('pallet', 'second')).toFixed(2)} | ${ans ? (ac / pc).toFixed(1) : '-'} |`,
  );
  const second = palletCost.filter((_, i) => i % 2 === 1);
  rows.push(
    '',
    `pallet controller cost (second runs, median): CPU ${median(second.map((c) => c.cpuMs)).toFixed(0)} ms, peak RSS ${median(second.map((c) => c.maxRssMb)).toFixed(0)} MB, lift() inside the process ${fmt(median(second.map((c) => c.inner)))} (the rest is Node start-up and module loading)`,
    '',
  );
  return rows;
}

async function controllerCost(sizes: number[], dir: string, key: string, pub: string): Promise<string[]> {
  const rows = [
    '### Controller cost (pallet, second run: nothing to change)',
    '',
    '| targets | containers x sshd ports | floor (raw ssh) | pallet | pallet / floor | CPU time | peak RSS |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const n of sizes) {
    removeAll();
    // Above 50 targets, several sshd ports per container (each port is a separate target with its own paths).
    const perContainer = n > 50 ? Math.ceil(n / 50) : 1;
    const containers = Math.ceil(n / perContainer);
    log(`controller cost: ${n} targets on ${containers} containers`);
    const nodes = (await startNodes(containers, pub, perContainer)).slice(0, n);
    const known = join(dir, `known_hosts_c${n}`);
    writeFileSync(known, nodes.map((x) => `[127.0.0.1]:${x.port} ${x.hostKey}\n`).join(''));
    const nodesFile = join(dir, `nodes_c${n}.json`);
    writeFileSync(nodesFile, JSON.stringify(nodes));
    await runPallet(nodesFile, key, known, 'ctl', Math.min(n, 200));
    const r = await runPallet(nodesFile, key, known, 'ctl', Math.min(n, 200));
    // The floor does the same work per target, on paths of its own (targets share a container's filesystem).
    const floor = (x: BenchNode) => floorScript(`floorctl_${x.name.replace(/[^a-z0-9]/g, '_')}`);
    await runParallel(nodes, key, known, floor);
    const f = await runParallel(nodes, key, known, floor);
    rows.push(
      `| ${n} | ${containers} x ${perContainer} | ${fmt(f)} | ${fmt(r.wall)} | ${(r.wall / f).toFixed(2)} | ${r.cpuMs.toFixed(0)} ms | ${r.maxRssMb.toFixed(0)} MB |`,
    );
  }
  removeAll();
  return rows;
}

async function main() {
  const a = parseArgs();
  if (a.startup) {
    process.stdout.write(`${measureStartup(a.startup).join('\n')}\n`);
    return;
  }
  setup(a.ansible && a.controller.length === 0);
  const dir = mkdtempSync(join(tmpdir(), 'pallet-bench-'));
  sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'id')]);
  const key = join(dir, 'id');
  const pub = sh('cat', [`${key}.pub`]).trim();
  const out = [
    `## Benchmark ${new Date().toISOString().slice(0, 10)}`,
    '',
    `Machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB; Node ${process.version}; command: \`npm run bench -- ${process.argv.slice(2).join(' ')}\``,
    '',
  ];
  try {
    if (a.workload.length) out.push(...(await measureWorkload(a.workload, a.reps, dir, key, pub)));
    else if (a.controller.length) out.push(...(await controllerCost(a.controller, dir, key, pub)));
    else for (const n of a.nodes) out.push(...(await measureSize(n, a, dir, key, pub)));
  } finally {
    removeAll();
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((e: unknown) => {
  removeAll();
  process.stderr.write(`bench failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
