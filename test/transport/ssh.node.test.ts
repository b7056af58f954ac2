/**
 * lift over SSH to real sshd nodes (Debian containers on 127.0.0.1 ports).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  automatedAdminUser,
  computeService,
  converge,
  directory,
  execScript,
  explainSession,
  facts,
  nodeFacts,
  groupSpec,
  lift,
  makeUser,
  nodeListService,
  phaseErrors,
  remoteFile,
  shQuote,
  targetId,
  targets,
  type NodeListEntry,
} from '../../src/index.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import {
  assertTestNodesReady,
  knownHostsFor,
  makeKey,
  removeNodes,
  startNodes,
  tempDir,
  type TestNode,
} from '../helpers/nodes.js';

const LABEL = 'ssh-suite';
let dir: string;
let key: { path: string; pub: string };
let protectedKey: { path: string; pub: string };
let agentKey: { path: string; pub: string };
let nodes: TestNode[];
let known: string;

before(async () => {
  assertTestNodesReady();
  removeNodes(LABEL);
  dir = tempDir('pallet-ssh-');
  key = makeKey(dir, 'id_main');
  protectedKey = makeKey(dir, 'id_protected', 'a long passphrase');
  agentKey = makeKey(dir, 'id_agent');
  nodes = await startNodes(LABEL, 3, {
    authorizedKeys: [key.pub, protectedKey.pub, agentKey.pub],
    // A non-root user who logs in with a password and must give it to sudo.
    setup:
      "useradd -m -s /bin/sh deploy && echo 'deploy:dep pass $1' | chpasswd && echo 'deploy ALL=(ALL) ALL' > /etc/sudoers.d/deploy && " +
      "useradd -m -s /bin/sh nopw && echo 'nopw:nopw-pass' | chpasswd",
  });
  known = knownHostsFor(nodes, dir);
});

after(() => removeNodes(LABEL));

const entries = (ns: TestNode[]): NodeListEntry[] =>
  ns.map((n) => ({ name: n.name, id: n.name, group: 'web', ip: '127.0.0.1', sshPort: n.port }));

const writeMarker = () => {
  directory('/srv/pallet');
  remoteFile('/srv/pallet/marker', { content: `node ${targetId()} $HOME\n`, mode: '0600' });
};

const accepted = (n: TestNode) => (n.logs().match(/Accepted (publickey|password) for/g) ?? []).length;

test('key auth: lift reaches every node, changes it, then changes nothing; one connection per node', async () => {
  const compute = nodeListService(entries(nodes), { ssh: { knownHostsPath: known, agent: false } });
  const user = makeUser('root', { privateKeyPath: key.path });
  const before = nodes.map(accepted);
  const g = groupSpec('web', {
    phases: {
      configure: writeMarker,
      check: () => {
        for (let i = 0; i < 10; i++) execScript(`test -f /srv/pallet/marker`, { changes: 'never' });
      },
    },
  });
  const r1 = await lift(g, { compute, user, phase: ['configure', 'check'] });
  assert.equal(r1.ok, true, explainSession(r1));
  for (const n of nodes) assert.equal(n.exec('cat /srv/pallet/marker').stdout, `node ${n.name} $HOME\n`);
  assert.ok(r1.results.filter((r) => r.phase === 'configure').every((r) => r.actions.some((a) => a.changed)));
  // OS detection + configure + check over exactly one SSH connection per node.
  assert.deepEqual(
    nodes.map((n, i) => accepted(n) - before[i]!),
    nodes.map(() => 1),
  );
  const r2 = await lift(g, { compute, user, phase: 'configure' });
  assert.equal(r2.ok, true);
  assert.deepEqual(
    r2.results.filter((r) => r.phase === 'configure').flatMap((r) => r.actions.filter((a) => a.changed)),
    [],
  );
  const detected = r1.planState.host[nodes[0]!.name]!.settings['pallet/os']!.default as Record<string, string>;
  assert.equal(detected.osFamily, 'debian');
});

test('a passphrase-protected key', async () => {
  const compute = nodeListService(entries(nodes.slice(0, 1)), { ssh: { knownHostsPath: known, agent: false } });
  const r = await lift(groupSpec('web'), {
    compute,
    user: makeUser('root', { privateKeyPath: protectedKey.path, passphrase: 'a long passphrase' }),
    phase: () => void execScript('true'),
  });
  assert.equal(r.ok, true, explainSession(r));
  const bad = await lift(groupSpec('web'), {
    compute,
    user: makeUser('root', { privateKeyPath: protectedKey.path, passphrase: 'wrong' }),
    phase: () => void execScript('true'),
  });
  assert.equal(bad.ok, false);
  assert.match(phaseErrors(bad)[0]!.message, /passphrase|private key/i);
  assert.doesNotMatch(JSON.stringify(bad), /a long passphrase|"wrong"/);
});

test('ssh-agent auth', async () => {
  const sock = join(dir, 'agent.sock');
  const agent: ChildProcess = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 50; i++) {
      try {
        execFileSync('ssh-add', [agentKey.path], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const compute = nodeListService(entries(nodes.slice(0, 1)), { ssh: { knownHostsPath: known, agent: sock } });
    const user = makeUser('root', { privateKeyPath: join(dir, 'does-not-exist') });
    const r = await lift(groupSpec('web'), { compute, user, phase: () => void execScript('true') });
    assert.equal(r.ok, true, explainSession(r));
  } finally {
    agent.kill();
  }
});

test('password login as a non-root user, with sudo -S: the password never shows', async () => {
  const password = 'dep pass $1';
  const compute = nodeListService(entries(nodes.slice(0, 1)), { ssh: { knownHostsPath: known, agent: false } });
  const user = makeUser('deploy', { password });
  const r = await lift(groupSpec('web'), {
    compute,
    user,
    phase: () => {
      remoteFile('/root/sudo-worked', { content: 'yes\n' });
      execScript('id -un', { changes: 'never' });
    },
  });
  assert.equal(r.ok, true, explainSession(r));
  assert.equal(nodes[0]!.exec('stat -c %U /root/sudo-worked').stdout.trim(), 'root');
  const idOut = r.results.find((x) => x.phase === 'inline')!.actions[1]!.out.trim();
  assert.equal(idOut, 'root');
  assert.ok(!JSON.stringify(r).includes(password), 'the password must not appear in the result');
  assert.ok(!explainSession(r).includes(password));
  // The password is on no command line while scripts run.
  assert.ok(!nodes[0]!.logs().includes(password));
});

test('sudo that needs a password, without one, is a clear per-node error', async () => {
  const compute = nodeListService(entries(nodes.slice(0, 1)), { ssh: { knownHostsPath: known, agent: false } });
  const user = makeUser('nopw', { password: 'nopw-pass', sudoPassword: undefined });
  // nopw is not a sudoer: a wrong-privilege setup must fail clearly.
  const r = await lift(groupSpec('web'), { compute, user, phase: () => void execScript('true') });
  assert.equal(r.ok, false);
  assert.match(phaseErrors(r)[0]!.message, /sudo/);
  const r2 = await lift(groupSpec('web'), {
    compute,
    user: { username: 'deploy', password: 'dep pass $1' },
    phase: () => void execScript('true'),
  });
  assert.equal(r2.ok, false);
  assert.match(phaseErrors(r2)[0]!.message, /sudo needs a password for deploy/);
});

test('a wrong key is a clean authentication error', async () => {
  const other = makeKey(dir, 'id_other');
  const compute = nodeListService(entries(nodes.slice(0, 1)), { ssh: { knownHostsPath: known, agent: false } });
  const r = await lift(groupSpec('web'), {
    compute,
    user: makeUser('root', { privateKeyPath: other.path }),
    phase: () => void execScript('true'),
  });
  assert.equal(r.ok, false);
  const e = phaseErrors(r)[0]!;
  assert.equal(e.node, nodes[0]!.name);
  assert.match(e.message, /authentication failed for root@127\.0\.0\.1:\d+ \(tried key .*id_other\)/);
});

test('an unknown host key is rejected by default; accept-new records it; a changed key is refused', async () => {
  const empty = join(dir, 'known_hosts_empty');
  const compute = (policy?: 'accept-new') =>
    nodeListService(entries(nodes.slice(0, 1)), {
      ssh: { knownHostsPath: empty, agent: false, ...(policy ? { hostKeyPolicy: policy } : {}) },
    });
  const user = makeUser('root', { privateKeyPath: key.path });
  const r = await lift(groupSpec('web'), { compute: compute(), user, phase: () => void execScript('true') });
  assert.equal(r.ok, false);
  assert.match(phaseErrors(r)[0]!.message, /host key of \[127\.0\.0\.1\]:\d+ \(ssh-ed25519 SHA256:.*\) is not known/);
  const r2 = await lift(groupSpec('web'), {
    compute: compute('accept-new'),
    user,
    phase: () => void execScript('true'),
  });
  assert.equal(r2.ok, true, explainSession(r2));
  assert.match(readFileSync(empty, 'utf8'), new RegExp(`\\[127\\.0\\.0\\.1\\]:${nodes[0]!.port} ssh-ed25519 `));
  // Now pretend the node was replaced: a different key for the same address.
  const forged = join(dir, 'known_hosts_forged');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(forged, `[127.0.0.1]:${nodes[0]!.port} ${nodes[1]!.hostKey}\n`);
  const r3 = await lift(groupSpec('web'), {
    compute: nodeListService(entries(nodes.slice(0, 1)), {
      ssh: { knownHostsPath: forged, agent: false, hostKeyPolicy: 'accept-new' },
    }),
    user,
    phase: () => void execScript('true'),
  });
  assert.equal(r3.ok, false);
  assert.match(phaseErrors(r3)[0]!.message, /HOST KEY MISMATCH/);
});

test('a node that is down fails alone; the others succeed', async () => {
  const [n0, n1, n2] = nodes;
  const down = { name: 'down', id: 'down', group: 'web', ip: '127.0.0.1', sshPort: 1 };
  const compute = nodeListService([...entries([n0!, n1!, n2!]), down], {
    ssh: { knownHostsPath: known, agent: false, connectTimeoutMs: 5000 },
  });
  const r = await lift(groupSpec('web'), {
    compute,
    user: makeUser('root', { privateKeyPath: key.path }),
    phase: () => void remoteFile('/srv/pallet/alive', { content: 'yes' }),
  });
  assert.equal(r.ok, false);
  const errs = phaseErrors(r);
  assert.equal(errs.length, 1);
  assert.equal(errs[0]!.node, 'down');
  assert.match(errs[0]!.message, /connection refused at 127\.0\.0\.1:1/);
  for (const n of nodes) assert.equal(n.exec('cat /srv/pallet/alive').stdout, 'yes');
  void shQuote;
});

test('bootstrap a fresh node from its root login to an admin user, who then runs configure', async () => {
  const fresh = nodes.slice(1).map((n) => ({
    name: n.name,
    id: n.name,
    group: 'app',
    ip: '127.0.0.1',
    sshPort: n.port,
    loginUser: 'root',
    bootstrapped: false,
  }));
  const compute = nodeListService(fresh, { ssh: { knownHostsPath: known, agent: false } });
  const admin = makeUser('padmin', { privateKeyPath: key.path, publicKeyPath: `${key.path}.pub` });
  const log: string[] = [];
  const g = groupSpec('app', {
    count: 2,
    phases: {
      bootstrap: automatedAdminUser,
      configure: () => {
        execScript('id -un > /root/configured-by', { creates: '/root/configured-by' });
        execScript('echo "$SUDO_USER"', { changes: 'never' });
      },
    },
  });
  const r1 = await converge([[g, 2]], {
    compute,
    user: admin,
    onEvent: (e) => e.type === 'phase-start' && log.push(e.phase),
  });
  assert.equal(r1.ok, true, explainSession(r1));
  assert.deepEqual(log, ['pallet/os', 'bootstrap', 'configure']);
  for (const n of nodes.slice(1)) {
    assert.equal(n.exec('cat /root/configured-by').stdout, 'root\n');
    assert.match(n.exec('getent passwd padmin').stdout, /:\/bin\/bash$/m);
    assert.match(n.exec('cat /etc/sudoers.d/pallet-padmin').stdout, /^padmin ALL=\(ALL\) NOPASSWD: ALL$/m);
    // As Pallet's admin user: an ssh agent stays usable through sudo.
    assert.match(n.exec('cat /etc/sudoers.d/pallet-padmin').stdout, /^Defaults:padmin env_keep \+= "SSH_AUTH_SOCK"$/m);
    assert.match(n.exec('sudo -l -U padmin').stdout, /SSH_AUTH_SOCK/);
    assert.match(n.logs(), /Accepted publickey for padmin/);
  }
  const sudoUser = r1.results.find((x) => x.phase === 'configure')!.actions[1]!.out.trim();
  assert.equal(sudoUser, 'padmin', 'configure ran as the admin user, through sudo');
  log.length = 0;
  const r2 = await converge([[g, 2]], {
    compute,
    user: admin,
    onEvent: (e) => e.type === 'phase-start' && log.push(e.phase),
  });
  assert.equal(r2.ok, true, explainSession(r2));
  assert.deepEqual(log, ['pallet/os', 'configure'], 'bootstrap runs once');
  assert.deepEqual(
    r2.results.flatMap((x) => x.actions.filter((a) => a.changed)),
    [],
  );
  // Another process (a new service object) learns from the nodes themselves that they are bootstrapped.
  for (const n of nodes.slice(1)) assert.equal(n.exec('cat /var/lib/pallet/.node-state').stdout, 'bootstrapped\n');
  log.length = 0;
  const again = nodeListService(fresh, { ssh: { knownHostsPath: known, agent: false } });
  const r3 = await converge([[g, 2]], {
    compute: again,
    user: admin,
    onEvent: (e) => e.type === 'phase-start' && log.push(e.phase),
  });
  assert.equal(r3.ok, true, explainSession(r3));
  assert.deepEqual(log, ['pallet/os', 'configure'], 'no bootstrap: the admin connection read the state from the node');
});

test('lift on existing servers from a configuration file', async () => {
  const home = join(dir, 'pallet-home');
  mkdirSync(join(home, 'services'), { recursive: true });
  writeFileSync(
    join(home, 'config.yaml'),
    [
      'defaultService: lab',
      'adminUser:',
      '  username: root',
      `  privateKeyPath: ${key.path}`,
      'environment:',
      '  greeting: hello from the config',
      'services:',
      '  lab:',
      '    provider: node-list',
      '    ssh:',
      `      knownHostsPath: ${known}`,
      '      agent: false',
      '    nodes:',
      ...nodes.map((n) => `      - { name: ${n.name}, id: ${n.name}, group: web, ip: 127.0.0.1, sshPort: ${n.port} }`),
    ].join('\n'),
  );
  writeFileSync(join(home, 'services', 'other.json'), JSON.stringify({ other: { provider: 'localhost' } }));
  const saved = process.env.PALLET_HOME;
  process.env.PALLET_HOME = home;
  try {
    const { getEnvironment, configuredAdminUser } = await import('../../src/index.js');
    // The library never reads ~/.pallet by itself: the caller asks for the configured user.
    const r = await lift(groupSpec('web'), {
      compute: computeService(),
      user: configuredAdminUser()!,
      phase: () => void remoteFile('/srv/from-config', { content: getEnvironment<string>('greeting') }),
    });
    assert.equal(r.ok, true, explainSession(r));
    for (const n of nodes) assert.equal(n.exec('cat /srv/from-config').stdout, 'hello from the config');
    assert.equal(computeService('other').provider, 'localhost');
    assert.throws(
      () => computeService('nope'),
      /Could not find a configuration for service 'nope'\. Known services: lab, other, localhost/,
    );
  } finally {
    if (saved === undefined) delete process.env.PALLET_HOME;
    else process.env.PALLET_HOME = saved;
  }
});

test('~/.ssh/config: host alias, port and identity file are honoured', async () => {
  const cfg = join(dir, 'ssh_config');
  writeFileSync(cfg, `Host box-alias\n  HostName 127.0.0.1\n  Port ${nodes[0]!.port}\n  IdentityFile ${key.path}\n`);
  const compute = nodeListService([{ name: 'aliased', id: 'aliased', group: 'web', ip: 'box-alias' }], {
    ssh: { knownHostsPath: known, agent: false, sshConfigPath: cfg },
  });
  const r = await lift(groupSpec('web'), {
    compute,
    user: makeUser('root', { privateKeyPath: join(dir, 'missing-key') }),
    phase: () => void execScript('hostname', { changes: 'never' }),
  });
  assert.equal(r.ok, true, explainSession(r));
  assert.equal(r.results.find((x) => x.phase === 'inline')!.actions[0]!.out.trim(), nodes[0]!.name);
});

test('SSH commands per node per phase do not grow with the number of actions', async () => {
  const inner = nodeListService(entries(nodes), { ssh: { knownHostsPath: known, agent: false } });
  const runs = new Map<string, number>();
  const compute = {
    ...inner,
    async connect(node: Parameters<typeof inner.connect>[0], user: Parameters<typeof inner.connect>[1]) {
      const t = await inner.connect(node, user);
      return {
        ...t,
        description: t.description,
        close: () => t.close(),
        run: (s: string, o?: Parameters<typeof t.run>[1]) => (
          runs.set(node.id, (runs.get(node.id) ?? 0) + 1),
          t.run(s, o)
        ),
      };
    },
  };
  const user = makeUser('root', { privateKeyPath: key.path });
  // [actions / 2, osDetect, does the plan read facts()]
  for (const [n, osDetect, readsFacts] of [
    [3, 'auto', false],
    [40, 'auto', false],
    [40, false, false],
    [40, true, false],
    [40, 'auto', true],
  ] as const) {
    runs.clear();
    const g = groupSpec('web', {
      image: { osFamily: 'debian', osVersion: '12' },
      phases: {
        configure: () => {
          for (let i = 0; i < n; i++) {
            remoteFile(`/srv/count-${i}`, {
              content: readsFacts ? `${i} of ${facts().cpuCount}\n` : `${i}\n`,
              noVersioning: true,
            });
            execScript(`test -f /srv/count-${i}`, { changes: 'never' });
          }
        },
      },
    });
    const r = await lift(g, { compute, user, osDetect });
    assert.equal(r.ok, true, explainSession(r));
    // One command for the phase; one more for the probe (facts and OS, at most once per operation) when the OS
    // must be detected (osDetect: true) or the plan reads the node's facts (the image gives the OS here).
    const expected = osDetect === true || readsFacts ? 2 : 1;
    assert.deepEqual(
      [...runs.values()],
      nodes.map(() => expected),
      `${n * 2} actions, osDetect ${osDetect}, facts read: ${readsFacts}: ${expected} SSH command(s) per node`,
    );
    if (readsFacts)
      for (const nd of nodes)
        assert.equal(nd.exec('cat /srv/count-0').stdout, `0 of ${nd.exec('nproc').stdout.trim()}\n`);
  }
});

test('a Jinja template on a node whose OS is given gets its facts: the probe runs for it, once', async () => {
  const inner = nodeListService(entries(nodes.slice(0, 1)), { ssh: { knownHostsPath: known, agent: false } });
  let runs = 0;
  const compute = {
    ...inner,
    async connect(node: Parameters<typeof inner.connect>[0], user: Parameters<typeof inner.connect>[1]) {
      const t = await inner.connect(node, user);
      return {
        ...t,
        description: t.description,
        close: () => t.close(),
        run: (s: string, o?: Parameters<typeof t.run>[1]) => (runs++, t.run(s, o)),
      };
    },
  };
  const template = join(dir, 'cpus.conf.j2');
  // default(0) would hide missing facts: the file must say the node's real processor count.
  writeFileSync(template, 'cpus={{ ansible_processor_vcpus | default(0) }}\n');
  const g = groupSpec('web', {
    image: { osFamily: 'debian', osVersion: '12' },
    phases: { configure: () => void remoteFile('/srv/cpus.conf', { template, noVersioning: true }) },
  });
  const r = await lift(g, { compute, user: makeUser('root', { privateKeyPath: key.path }) });
  assert.equal(r.ok, true, explainSession(r));
  assert.equal(runs, 2, 'the probe and the phase');
  const n = nodes[0]!;
  assert.equal(
    n.exec('cat /srv/cpus.conf').stdout,
    `cpus=${n.exec("grep -c '^processor' /proc/cpuinfo").stdout.trim()}\n`,
  );
});

test("a plan that reads several nodes' facts in turn gets them all, each node probed once", async () => {
  const inner = nodeListService(entries(nodes), { ssh: { knownHostsPath: known, agent: false } });
  const runs = new Map<string, number>();
  const compute = {
    ...inner,
    async connect(node: Parameters<typeof inner.connect>[0], user: Parameters<typeof inner.connect>[1]) {
      const t = await inner.connect(node, user);
      return {
        ...t,
        description: t.description,
        close: () => t.close(),
        run: (s: string, o?: Parameters<typeof t.run>[1]) => (
          runs.set(node.id, (runs.get(node.id) ?? 0) + 1),
          t.run(s, o)
        ),
      };
    },
  };
  // Every node's plan reads the hostnames of all nodes, one nodeFacts() after another.
  const g = groupSpec('web', {
    image: { osFamily: 'debian', osVersion: '12' },
    phases: {
      configure: () =>
        void remoteFile('/srv/peers', {
          content: `${targets()
            .map((t) => nodeFacts(t).hostname)
            .join(' ')}\n`,
          noVersioning: true,
        }),
    },
  });
  const r = await lift(g, { compute, user: makeUser('root', { privateKeyPath: key.path }) });
  assert.equal(r.ok, true, explainSession(r));
  assert.deepEqual(
    [...runs.values()],
    nodes.map(() => 2),
    'each node: the probe once, then the phase',
  );
  for (const n of nodes) assert.equal(n.exec('cat /srv/peers').stdout, `${nodes.map((x) => x.name).join(' ')}\n`);
});

test('a large localFile is uploaded over SFTP on the same connection, once; unchanged content is not sent again', async () => {
  const { randomBytes } = await import('node:crypto');
  const big = join(dir, 'big.bin');
  const content = randomBytes(200 * 1024);
  writeFileSync(big, content);
  const inner = nodeListService(entries(nodes.slice(0, 1)), { ssh: { knownHostsPath: known, agent: false } });
  const uploads: boolean[] = [];
  const compute = {
    ...inner,
    async connect(node: Parameters<typeof inner.connect>[0], user: Parameters<typeof inner.connect>[1]) {
      const t = await inner.connect(node, user);
      return {
        description: t.description,
        uploadDir: t.uploadDir,
        run: t.run.bind(t),
        close: t.close.bind(t),
        upload: async (p: string, md5: string) => {
          const r = await t.upload!(p, md5);
          uploads.push(r.uploaded);
          return r;
        },
      };
    },
  };
  const user = makeUser('root', { privateKeyPath: key.path });
  const before = accepted(nodes[0]!);
  const phase = () => void remoteFile('/srv/big.bin', { localFile: big, mode: '0600' });
  const r1 = await lift(groupSpec('web'), { compute, user, phase });
  assert.equal(r1.ok, true, explainSession(r1));
  const r2 = await lift(groupSpec('web'), { compute, user, phase });
  assert.equal(r2.ok, true, explainSession(r2));
  assert.deepEqual(uploads, [true, false], 'uploaded once, then skipped');
  assert.equal(
    nodes[0]!.exec('md5sum < /srv/big.bin').stdout.split(' ')[0],
    (await import('node:crypto')).createHash('md5').update(content).digest('hex'),
  );
  assert.deepEqual(
    r2.results.flatMap((x) => x.actions.filter((a) => a.changed)),
    [],
  );
  assert.equal(accepted(nodes[0]!) - before, 2, 'one connection per operation: SFTP rides on it');
  assert.match(nodes[0]!.exec('stat -c %a /tmp/pallet-uploads-root').stdout, /^700/);
});

test('commandTimeoutMs stops a script that runs too long, with a clear error', async () => {
  const compute = nodeListService(entries(nodes.slice(0, 1)), {
    ssh: { knownHostsPath: known, agent: false, commandTimeoutMs: 1000 },
  });
  const started = Date.now();
  const r = await lift(groupSpec('web', { image: { osFamily: 'debian', osVersion: '12' } }), {
    compute,
    user: makeUser('root', { privateKeyPath: key.path }),
    phase: () => void execScript('sleep 20'),
  });
  assert.equal(r.ok, false);
  assert.ok(Date.now() - started < 10_000);
  assert.match(phaseErrors(r)[0]!.message, /killed after 1000 ms \(commandTimeoutMs\)/);
});

test('a node whose sshd is not listening yet (reloading, booting) is tried again briefly; one that stays closed is unreachable', async () => {
  const { createServer, connect } = await import('node:net');
  const free = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const n = nodes[0]!;
  const knownHere = join(dir, 'known_late');
  writeFileSync(knownHere, `[127.0.0.1]:${free} ${n.hostKey}\n`, { mode: 0o600 });
  const compute = nodeListService([{ name: 'late', id: 'late', group: 'web', ip: '127.0.0.1', sshPort: free }], {
    ssh: { knownHostsPath: knownHere, agent: false },
  });
  const user = makeUser('root', { privateKeyPath: key.path });
  // The port opens 600 ms after the lift starts: a forwarder to the node's sshd.
  let proxy: ReturnType<typeof createServer> | undefined;
  const opening = setTimeout(() => {
    proxy = createServer((c) => {
      const up = connect(n.port, '127.0.0.1');
      c.pipe(up).pipe(c);
      up.on('error', () => c.destroy());
      c.on('error', () => up.destroy());
    }).listen(free, '127.0.0.1');
  }, 600);
  try {
    const r = await lift(groupSpec('web'), {
      compute,
      user,
      phase: () => void execScript('echo reached', { changes: 'never' }),
    });
    assert.equal(r.ok, true, explainSession(r));
    assert.equal(
      r.results.filter((x) => !x.phase.startsWith('pallet/')).flatMap((x) => x.actions)[0]!.out,
      'reached\n',
    );
  } finally {
    clearTimeout(opening);
    await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
  }
  const closed = await lift(groupSpec('web'), { compute, user, phase: () => void execScript('true') });
  assert.equal(closed.ok, false);
  assert.match(phaseErrors(closed)[0]!.message, /connection refused/);
});
