/**
 * The real-workload scenario (issue 17): bench/workload/pallet.config.ts through the `pallet` command, and
 * bench/workload/playbook.yml through `ansible-playbook` (pipelining, ControlPersist, forks = N, facts of the
 * hardware subset, which the templates read), each on fresh nodes: a first run (everything changes) and a
 * second (nothing to change). Packages come from a local apt repository on each node (no internet). After
 * each tool's runs, every node's end state (managed files with modes and owners, the admin user, package
 * versions, fail2ban running) is read; the two tools' must be identical, node for node, or the benchmark fails.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fail2banJailLocal, unattendedUpgradesPolicy } from '../src/index.js';
import { buildDeb, buildRepo } from '../test/helpers/debs.js';
import { fmt, log, median, removeAll, runTimed, sh, startNodes, type BenchNode } from './lib.js';
import { jail, upgrades } from './workload/settings.js';

const WORKLOAD = resolve('bench/workload');
const BIN = resolve('dist/cli/main.js');

/** What both tools must leave on a node. */
const stateScript = `
for f in /etc/ssh/sshd_config /etc/sudoers /etc/motd /etc/sysctl.d/60-bench.conf /etc/security/limits.d/60-bench.conf \\
  /etc/profile.d/bench.sh /etc/fail2ban/jail.local /etc/apt/apt.conf.d/20auto-upgrades \\
  /etc/apt/apt.conf.d/52pallet-unattended-upgrades /home/deploy/.ssh/authorized_keys; do
  printf '%s %s %s\\n' "$f" "$(stat -c '%a %U:%G' "$f" 2>&1)" "$(md5sum < "$f" 2>&1 | cut -c1-32)"
done
stat -c '%n %a %U:%G' /home/deploy /home/deploy/.ssh
id deploy; getent passwd deploy | cut -d: -f1,6,7
dpkg-query -W -f='\${Package} \${Version} \${Status}\\n' bench-agent bench-metrics bench-tools
pgrep -x fail2ban-server >/dev/null && echo fail2ban running || echo fail2ban stopped
cat /etc/motd
`;

const exec = (node: BenchNode, script: string) => sh('podman', ['exec', '-i', node.name, 'sh', '-s'], script);

/** A local apt repository (three tiny packages) as the node's only source; an auth log for fail2ban's jail. */
function prepare(nodes: BenchNode[], repo: string): void {
  for (const n of nodes) {
    exec(
      n,
      'mkdir -p /srv/repo && rm -f /etc/apt/sources.list /etc/apt/sources.list.d/* && rm -rf /var/lib/apt/lists/* /var/lib/apt/periodic/update-success-stamp && touch -d "2 days ago" /var/lib/apt/lists && touch /var/log/auth.log\n',
    );
    sh('podman', ['cp', repo, `${n.name}:/srv/repo/`]);
    exec(n, "printf 'deb [trusted=yes] file:/srv/repo/local ./\\n' > /etc/apt/sources.list.d/local.list\n");
  }
}

interface Tool {
  name: 'pallet' | 'ansible';
  /** One run on these nodes: wall ms, and how many changes it reported. */
  run(nodes: BenchNode[], dir: string, key: string): Promise<{ ms: number; changed: number }>;
}

const pallet: Tool = {
  name: 'pallet',
  async run(nodes, dir, key) {
    const home = join(dir, 'pallet-home');
    mkdirSync(home, { recursive: true });
    const config = {
      defaultService: 'bench',
      adminUser: { username: 'root', privateKeyPath: key },
      services: {
        bench: {
          provider: 'node-list',
          nodes: nodes.map((n) => ({ name: n.name, group: 'bench', ip: '127.0.0.1', sshPort: n.port })),
          ssh: { knownHostsPath: join(dir, 'known_hosts'), agent: false },
        },
      },
    };
    writeFileSync(join(home, 'config.json'), JSON.stringify(config));
    const r = await runTimed(
      process.execPath,
      [BIN, '--project', join(WORKLOAD, 'pallet.config.ts'), '--json', 'lift'],
      {
        PALLET_HOME: home,
        WORKLOAD_ADMIN_KEY: `${key}.pub`,
      },
    );
    const summary = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; nodes?: Array<{ changed: number }> })
      .find((e) => e.event === 'summary')!;
    return { ms: r.ms, changed: summary.nodes!.reduce((a, n) => a + n.changed, 0) };
  },
};

const ansible: Tool = {
  name: 'ansible',
  async run(nodes, dir, key) {
    const inventory = join(dir, 'inventory.ini');
    writeFileSync(
      inventory,
      `[bench]\n${nodes.map((n) => `${n.name} ansible_host=127.0.0.1 ansible_port=${n.port} ansible_user=root`).join('\n')}\n`,
    );
    const cfg = join(dir, 'ansible.cfg');
    writeFileSync(
      cfg,
      `[defaults]\nforks = ${nodes.length}\nhost_key_checking = True\nprivate_key_file = ${key}\nretry_files_enabled = False\ninterpreter_python = /usr/bin/python3\n` +
        `[ssh_connection]\npipelining = True\nssh_args = -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=${join(dir, 'known_hosts')}\ncontrol_path_dir = ${dir}/cp\n`,
    );
    const r = await runTimed(
      'ansible-playbook',
      [
        '-i',
        inventory,
        join(WORKLOAD, 'playbook.yml'),
        '-e',
        `admin_key_file=${key}.pub`,
        '-e',
        `files_dir=${join(dir, 'files')}`,
      ],
      { ANSIBLE_CONFIG: cfg },
    );
    const changed = [...r.out.matchAll(/changed=(\d+)/g)].reduce((a, m) => a + Number(m[1]), 0);
    return { ms: r.ms, changed };
  },
};

export async function measureWorkload(
  sizes: number[],
  reps: number,
  dir: string,
  key: string,
  pub: string,
): Promise<string[]> {
  // The files Ansible copies are the ones pallet's crates write (fail2ban, unattended-upgrades).
  mkdirSync(join(dir, 'files'), { recursive: true });
  writeFileSync(join(dir, 'files', 'jail.local'), fail2banJailLocal(jail));
  writeFileSync(
    join(dir, 'files', '20auto-upgrades'),
    'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n',
  );
  writeFileSync(join(dir, 'files', '52pallet-unattended-upgrades'), unattendedUpgradesPolicy(upgrades));
  const debs = ['bench-agent', 'bench-metrics', 'bench-tools'].map((name) =>
    buildDeb(join(dir, 'debs'), { name, version: '1.0', files: { [`/usr/share/doc/${name}/README`]: `${name}\n` } }),
  );
  const repo = buildRepo(dir, 'local', debs);
  const rows = [
    '### Real workload: first-boot hardening (bench/workload)',
    '',
    '| nodes | run | pallet | ansible | ansible / pallet |',
    '|---|---|---|---|---|',
  ];
  for (const n of sizes) {
    const times: Record<string, { first: number[]; second: number[] }> = {
      pallet: { first: [], second: [] },
      ansible: { first: [], second: [] },
    };
    for (let rep = 0; rep < reps; rep++) {
      const states: Record<string, string[]> = {};
      for (const tool of [pallet, ansible]) {
        removeAll();
        log(`workload: ${n} nodes, ${tool.name}, repetition ${rep + 1}/${reps}`);
        const nodes = await startNodes(n, pub);
        writeFileSync(join(dir, 'known_hosts'), nodes.map((x) => `[127.0.0.1]:${x.port} ${x.hostKey}\n`).join(''));
        prepare(nodes, repo);
        const first = await tool.run(nodes, dir, key);
        const second = await tool.run(nodes, dir, key);
        if (first.changed === 0) throw new Error(`${tool.name}: the first run changed nothing`);
        if (second.changed !== 0)
          throw new Error(`${tool.name}: the second run changed ${second.changed} thing(s): not idempotent`);
        times[tool.name]!.first.push(first.ms);
        times[tool.name]!.second.push(second.ms);
        states[tool.name] = nodes.map((x) => exec(x, stateScript));
      }
      states.pallet!.forEach((s, i) => {
        if (s !== states.ansible![i])
          throw new Error(`node ${i}: the end states differ.\npallet:\n${s}\nansible:\n${states.ansible![i]}`);
      });
    }
    for (const k of ['first', 'second'] as const) {
      const p = median(times.pallet![k]);
      const a = median(times.ansible![k]);
      rows.push(
        `| ${n} | ${k === 'first' ? 'first (changes)' : 'second (nothing to change)'} | ${fmt(p)} | ${fmt(a)} | ${(a / p).toFixed(1)} |`,
      );
    }
  }
  removeAll();
  rows.push(
    '',
    `Every repetition: fresh nodes for each tool; the end states of the two tools were identical on every node.`,
    '',
  );
  return rows;
}
