/**
 * Coming from Ansible, on real Debian nodes over SSH: examples/from-ansible (geerlingguy.nginx's own templates
 * and defaults) driven by an INI inventory and then by the same inventory in YAML, through the built `pallet`
 * binary. nginx is a stand-in package from a local apt repository (its `nginx -t` checks the config it is given,
 * its init script counts reloads).
 *
 * Proved here: `pallet facts` reads each node's facts; `explain --facts-from web1` shows nginx.conf with the CPU
 * count of web1 before anything runs, and the run writes exactly those bytes; the probe (facts and OS) is one SSH
 * exec request and the phase is one more (sshd's own log counts them); the inventory's variables reach the
 * templates (web2's host variable beats the group's); the handler reloads nginx once; a second run, from the YAML
 * inventory, changes nothing; every line names the nodes by their inventory names.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { serveAptRepos } from '../helpers/debs.js';
import { demoInitScript } from '../helpers/fixtures.js';
import {
  assertTestNodesReady,
  execRequests,
  makeKey,
  removeNodes,
  sshdDebugLog,
  startNodes,
  tempDir,
  type TestNode,
} from '../helpers/nodes.js';

const LABEL = 'ansible-suite';
const BIN = resolve('dist/cli/main.js');
const PROJECT = resolve('examples/from-ansible/pallet.config.ts');
let nodes: TestNode[];
let dir: string;
let home: string;
let palletHome: string;

/** A stand-in for nginx: `nginx -t [-q] [-c FILE]` checks FILE (a worker_processes line, balanced braces). */
const fakeNginx = `#!/bin/sh
conf=/etc/nginx/nginx.conf
while [ $# -gt 0 ]; do case "$1" in -c) conf=$2; shift ;; esac; shift; done
grep -q '^worker_processes ' "$conf" || { echo "nginx: [emerg] no worker_processes in $conf" >&2; exit 1; }
[ "$(tr -cd '{' < "$conf" | wc -c)" = "$(tr -cd '}' < "$conf" | wc -c)" ] || { echo "nginx: [emerg] unbalanced braces in $conf" >&2; exit 1; }
`;
const initScript = demoInitScript
  .replace(/demo/g, 'nginx')
  .replace(
    'restart|reload) "$0" stop; "$0" start ;;',
    'restart) "$0" stop; "$0" start ;;\n  reload) echo reload >> /var/log/nginx-reloads ;;',
  );

function inventories(key: string): { ini: string; yml: string } {
  const [a, b] = nodes as [TestNode, TestNode];
  const ini = join(dir, 'inventory.ini');
  writeFileSync(
    ini,
    [
      '[web]',
      `web1 ansible_host=127.0.0.1 ansible_port=${a.port}`,
      `web2 ansible_host=127.0.0.1 ansible_port=${b.port} nginx_worker_connections=2048`,
      '',
      '[web:vars]',
      'ansible_user=root',
      `ansible_ssh_private_key_file=${key}`,
      'ansible_python_interpreter=/usr/bin/python3',
      'nginx_remove_default_vhost=True',
      "nginx_vhosts=[{'server_name': 'example.org www.example.org', 'root': '/var/www/example.org', 'filename': 'example.org.conf'}, {'server_name': 'static.example.org', 'root': '/var/www/static', 'filename': 'static.conf'}]",
      '',
    ].join('\n'),
  );
  const yml = join(dir, 'inventory.yml');
  writeFileSync(
    yml,
    [
      'all:',
      '  children:',
      '    web:',
      '      hosts:',
      `        web1: { ansible_host: 127.0.0.1, ansible_port: ${a.port} }`,
      `        web2: { ansible_host: 127.0.0.1, ansible_port: ${b.port}, nginx_worker_connections: 2048 }`,
      '      vars:',
      '        ansible_user: root',
      `        ansible_ssh_private_key_file: ${key}`,
      '        nginx_remove_default_vhost: true',
      '        nginx_vhosts:',
      '          - { server_name: example.org www.example.org, root: /var/www/example.org, filename: example.org.conf }',
      '          - { server_name: static.example.org, root: /var/www/static, filename: static.conf }',
      '',
    ].join('\n'),
  );
  return { ini, yml };
}

let inv: { ini: string; yml: string };

before(async () => {
  assert.ok(existsSync(BIN), 'build first: npm run build');
  assertTestNodesReady();
  removeNodes(LABEL);
  dir = tempDir('pallet-ansible-');
  const key = makeKey(dir, 'id');
  nodes = await startNodes(LABEL, 2, { authorizedKeys: [key.pub], setup: sshdDebugLog });
  // HOME holds the known_hosts file an `ansible:` service checks host keys against (strict, the default).
  home = join(dir, 'home');
  mkdirSync(join(home, '.ssh'), { recursive: true });
  writeFileSync(join(home, '.ssh', 'known_hosts'), nodes.map((n) => `[127.0.0.1]:${n.port} ${n.hostKey}\n`).join(''));
  palletHome = join(dir, 'pallet-home');
  mkdirSync(palletHome);
  for (const n of nodes) {
    serveAptRepos(join(dir, `repo-${n.name}`), n, [
      {
        suite: 'local',
        debs: [
          {
            name: 'nginx',
            version: '1.22.1-9',
            files: {
              '/usr/sbin/nginx': fakeNginx,
              '/etc/init.d/nginx': initScript,
              '/etc/nginx/nginx.conf': 'worker_processes 1;\nevents {}\n',
              '/etc/nginx/mime.types': 'types {}\n',
              '/etc/nginx/conf.d/README': 'conf.d\n',
              '/etc/nginx/sites-enabled/default': 'server { listen 80 default_server; }\n',
            },
            conffiles: ['/etc/nginx/nginx.conf', '/etc/nginx/sites-enabled/default'],
            postinst: '#!/bin/sh\nchmod 755 /usr/sbin/nginx /etc/init.d/nginx\n',
          },
        ],
      },
    ]);
  }
  inv = inventories(key.path);
});
after(() => removeNodes(LABEL));

function pallet(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, '--project', PROJECT, ...args], {
    encoding: 'utf8',
    env: { ...process.env, HOME: home, PALLET_HOME: palletHome, NO_COLOR: '1' },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const sh = (n: TestNode, cmd: string) => n.exec(cmd).stdout;
const requests = () => nodes.map(execRequests);

/** The CONTENT block explain shows for `path`. */
function shownContent(explain: string, path: string): string[] {
  const at = explain.indexOf(`ACTION: remoteFile ${path} `);
  assert.ok(at >= 0, `explain shows remoteFile ${path}`);
  const lines = explain.slice(at).split('\n');
  const start = lines.findIndex((l) => l.trim() === 'CONTENT:');
  const out: string[] = [];
  for (const l of lines.slice(start + 1)) {
    const m = /^ {4}> ?(.*)$/.exec(l);
    if (!m) break;
    out.push(m[1]!);
  }
  return out;
}

test('facts, explain --facts-from, check, run and rerun of examples/from-ansible from an INI and a YAML inventory', () => {
  const [web1, web2] = nodes as [TestNode, TestNode];
  const cpus = sh(web1, 'nproc').trim();

  // pallet facts: one JSON line per node, named by the inventory, with what the node has.
  const facts = pallet(['-P', `ansible:${inv.ini}`, '--json', 'facts']);
  assert.equal(facts.code, 0, facts.out + facts.err);
  const byNode = Object.fromEntries(
    facts.out
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as { node: string; facts: { cpuCount: number; os: { codename: string }; hostname: string } },
      )
      .map((e) => [e.node, e.facts]),
  );
  assert.deepEqual(Object.keys(byNode).sort(), ['web1', 'web2']);
  assert.equal(String(byNode.web1!.cpuCount), cpus);
  assert.equal(byNode.web1!.os.codename, 'bookworm');
  assert.equal(byNode.web2!.hostname, web2.name);
  // What the inventory holds that pallet does not use is said once, on stderr.
  assert.equal(facts.err.match(/ansible_python_interpreter/g)?.length, 1, facts.err);

  // explain with web1's facts shows nginx.conf whole; nothing on the node changes.
  const before = requests();
  const explain = pallet(['-P', `ansible:${inv.ini}`, 'explain', '--facts-from', 'web1', '--show-content']);
  assert.equal(explain.code, 0, explain.out + explain.err);
  const conf = shownContent(explain.out, '/etc/nginx/nginx.conf');
  assert.ok(conf.includes(`worker_processes  "${cpus}";`), conf.join('\n'));
  assert.ok(conf.includes('    worker_connections  1024;'));
  assert.ok(
    shownContent(explain.out, '/etc/nginx/sites-enabled/example.org.conf').includes(
      '    server_name example.org www.example.org;',
    ),
  );
  assert.deepEqual(
    requests().map((n, i) => n - before[i]!),
    [1, 0],
    'explain --facts-from web1: one probe of web1, nothing on web2',
  );
  assert.equal(sh(web1, 'dpkg-query -W -f="${Status}" nginx 2>/dev/null'), '', 'explain installs nothing');

  // Check mode: exit 3, nothing changed.
  const check = pallet(['-P', `ansible:${inv.ini}`, 'lift', '--check']);
  assert.equal(check.code, 3, check.out + check.err);
  assert.equal(sh(web1, 'ls /etc/nginx 2>&1; dpkg-query -W nginx 2>&1').includes('nginx.conf'), false);

  // The run: one probe and one round trip per node.
  const r0 = requests();
  const run = pallet(['-P', `ansible:${inv.ini}`, '--json', 'lift']);
  assert.equal(run.code, 0, run.out + run.err);
  assert.deepEqual(
    requests().map((n, i) => n - r0[i]!),
    [2, 2],
    'the probe (facts and OS) and the phase: two SSH exec requests per node',
  );
  assert.doesNotMatch(run.out, /127-0-0-1/, 'nodes are named by their inventory names');
  const ends = run.out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { event: string; target?: string })
    .filter((e) => e.event === 'target-end');
  assert.deepEqual([...new Set(ends.map((e) => e.target))].sort(), ['web1', 'web2']);
  assert.deepEqual(
    sh(web1, 'cat /etc/nginx/nginx.conf').replace(/\n$/, '').split('\n'),
    conf,
    'the node has exactly what explain showed',
  );
  assert.match(
    sh(web2, 'cat /etc/nginx/nginx.conf'),
    /^ {4}worker_connections {2}2048;$/m,
    "web2's host variable beats the group's",
  );
  assert.match(sh(web1, 'cat /etc/nginx/sites-enabled/static.conf'), /^ {4}root \/var\/www\/static;$/m);
  for (const n of nodes) {
    assert.equal(sh(n, 'test -e /etc/nginx/sites-enabled/default && echo present || echo removed').trim(), 'removed');
    assert.equal(sh(n, 'wc -l < /var/log/nginx-reloads').trim(), '1', 'the handler reloaded nginx once');
    assert.equal(n.exec('/etc/init.d/nginx status').status, 0, 'nginx runs');
  }

  // The same inventory in YAML: the same end state, so nothing changes and nothing reloads.
  const r1 = requests();
  const again = pallet(['-P', `ansible:${inv.yml}`, 'lift']);
  assert.equal(again.code, 0, again.out + again.err);
  assert.match(again.out, /0 changed/);
  assert.match(again.out, /web1/);
  assert.deepEqual(
    requests().map((n, i) => n - r1[i]!),
    [2, 2],
  );
  for (const n of nodes) assert.equal(sh(n, 'wc -l < /var/log/nginx-reloads').trim(), '1');
});
