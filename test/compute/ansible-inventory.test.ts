/**
 * Ansible inventories read as Ansible reads them (INI and YAML, group_vars/ and host_vars/), as node-list
 * entries; Python literals as `ast.literal_eval` reads INI values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  expandHostPattern,
  parseIniInventory,
  readAnsibleInventory,
  shlexSplit,
} from '../../src/compute/ansible-inventory.js';
import { pythonLiteral } from '../../src/compute/python-literal.js';
import { nodeListService } from '../../src/compute/node-list.js';
import { serviceFromConfig } from '../../src/compute/index.js';

const fixtures = resolve('test/fixtures/ansible');

test('Python literals: what ast.literal_eval reads, and what it leaves a string', () => {
  const lit = (s: string) => pythonLiteral(s)?.value;
  assert.equal(lit('8080'), 8080);
  assert.equal(lit('-3'), -3);
  assert.equal(lit('1.5'), 1.5);
  assert.equal(lit('0x1F'), 31);
  assert.equal(lit('True'), true);
  assert.equal(lit('False'), false);
  assert.equal(lit('None'), null);
  assert.equal(lit("'a b'"), 'a b');
  assert.equal(lit('"it\'s"'), "it's");
  assert.equal(lit("'a' 'b'"), 'ab');
  assert.equal(lit("'tab\\there'"), 'tab\there');
  assert.equal(lit("r'\\d+'"), '\\d+');
  assert.equal(lit('23 # a comment'), 23);
  assert.deepEqual(lit('[\'a\', "b", 3]'), ['a', 'b', 3]);
  assert.deepEqual(lit("{'k': [1, 2], 'n': None}"), { k: [1, 2], n: null });
  assert.deepEqual(lit('(1, 2)'), [1, 2]);
  assert.deepEqual(lit('(1,)'), [1]);
  assert.equal(lit('(1)'), 1);
  // Not literals: Ansible keeps the text.
  for (const s of [
    'web',
    'yes',
    'true',
    '10.0.0.5',
    '/srv/app',
    'hello # comment',
    '0022',
    '1_',
    "'open",
    'a=b',
    '{1: }',
    '8080abc',
  ]) {
    assert.equal(pythonLiteral(s), undefined, s);
  }
});

test('host lines split as shlex does; host patterns expand ranges and give ports', () => {
  assert.deepEqual(shlexSplit(`web3:2222 note="a b" secret="'03#pa33w0rd'" # comment`), [
    'web3:2222',
    'note=a b',
    "secret='03#pa33w0rd'",
  ]);
  assert.deepEqual(shlexSplit('h x=a#b'), ['h', 'x=a']);
  assert.deepEqual(shlexSplit("h x='a \\ b' y=c\\ d"), ['h', 'x=a \\ b', 'y=c d']);
  assert.throws(() => shlexSplit('h x="open'), /No closing quotation/);
  assert.deepEqual(expandHostPattern('web[01:03].example.com'), {
    hosts: ['web01.example.com', 'web02.example.com', 'web03.example.com'],
  });
  assert.deepEqual(expandHostPattern('db-[a:c]'), { hosts: ['db-a', 'db-b', 'db-c'] });
  assert.deepEqual(expandHostPattern('n[1:10:4]:2200'), { hosts: ['n1', 'n5', 'n9'], port: 2200 });
  assert.deepEqual(expandHostPattern('r[1:2]-[a:b]'), { hosts: ['r1-a', 'r1-b', 'r2-a', 'r2-b'] });
  assert.deepEqual(expandHostPattern('[2001:db8::1]:2222'), { hosts: ['2001:db8::1'], port: 2222 });
  assert.deepEqual(expandHostPattern('2001:db8::1'), { hosts: ['2001:db8::1'] });
  assert.throws(() => expandHostPattern('web[01:3]'), /same number of digits/);
  assert.throws(() => expandHostPattern('web:ssh'), /port number/);
});

for (const [dir, file] of [
  ['ini', 'hosts.ini'],
  ['yaml', 'hosts.yml'],
] as const) {
  test(`${dir} inventory: every host's variables and groups are what Ansible itself reads (expected.json from ansible-inventory)`, () => {
    const expected = JSON.parse(readFileSync(join(fixtures, dir, 'expected.json'), 'utf8')) as Record<
      string,
      { vars: Record<string, unknown>; group_names: string[] }
    >;
    const { entries } = readAnsibleInventory(join(fixtures, dir, file));
    assert.deepEqual(entries.map((e) => e.name).sort(), Object.keys(expected).sort());
    for (const e of entries) {
      // Pallet never keeps a password from an inventory (Ansible does).
      const want = Object.fromEntries(Object.entries(expected[e.name]!.vars).filter(([k]) => k !== 'ansible_password'));
      assert.deepEqual(e.vars, want, `${e.name}: variables`);
      assert.deepEqual(e.groups, expected[e.name]!.group_names, `${e.name}: group_names`);
    }
  });
}

test('INI errors name the file and line and say what to do', () => {
  assert.throws(
    () => parseIniInventory('[web:vars]\nx=1\n', 'inv.ini'),
    /inv\.ini:1: \[web:vars\] is for a group that is never declared \(declare it with \[web\]/,
  );
  assert.throws(
    () => parseIniInventory('[all:children]\nghosts\n', 'inv.ini'),
    /inv\.ini:2: \[all:children\] names the group 'ghosts', which is never declared/,
  );
  assert.throws(
    () => parseIniInventory('[web:hostz]\n', 'inv.ini'),
    /inv\.ini:1: section \[web:hostz\] has an unknown type/,
  );
  assert.throws(
    () => parseIniInventory('[web]\nh1 novalue\n', 'inv.ini'),
    /inv\.ini:2: expected key=value after the host name, got 'novalue'/,
  );
  assert.throws(
    () => parseIniInventory('[web]\nh1\n[web:vars]\njust-a-word\n', 'inv.ini'),
    /inv\.ini:4: expected key=value in \[web:vars\]/,
  );
  assert.throws(() => parseIniInventory('[bad group]\n', 'inv.ini'), /inv\.ini:1: invalid section/);
  // A group's vars may come before the group itself, as in Ansible.
  assert.deepEqual(parseIniInventory('[web:vars]\nx=1\n[web]\nh1\n').groups.get('web')!.vars, { x: 1 });
});

test('an INI inventory with group_vars/ and host_vars/: groups, connection settings and variables as Ansible merges them', () => {
  const dir = join(fixtures, 'ini');
  const { entries, warnings } = readAnsibleInventory(join(dir, 'hosts.ini'));
  const by = Object.fromEntries(entries.map((e) => [e.name, e]));
  assert.deepEqual(
    entries.map((e) => e.name),
    ['db1', 'web1', 'web2', 'web3', 'lb1'],
  );
  assert.deepEqual(
    { group: by.db1!.group, groups: by.db1!.groups, ip: by.db1!.ip, transport: by.db1!.transport },
    { group: 'ungrouped', groups: ['ungrouped'], ip: '10.0.0.9', transport: 'ssh' },
  );
  assert.equal(by.web1!.group, 'web');
  assert.deepEqual(by.web1!.groups, ['prod', 'web']);
  assert.equal(by.web1!.ip, '127.0.0.1');
  assert.equal(by.web3!.ip, 'web3');
  assert.equal(by.web3!.sshPort, 2222);
  // Weakest to strongest: all, prod (parent), web (child), group_vars files, host line, host_vars file.
  assert.deepEqual(by.web1!.vars, {
    ansible_python_interpreter: '/usr/bin/python3',
    ansible_ssh_common_args: '-o ProxyJump=bastion',
    env: 'production',
    tags: ['a', 'b', 3],
    http_port: 8080,
    greeting: 'from group_vars',
    max: 10,
    ntp_server: 'time.example.org',
    ansible_host: '127.0.0.1',
  });
  assert.equal(by.web2!.vars!.http_port, 9090, 'host_vars wins over the host line');
  assert.equal(by.web3!.vars!.http_port, 80, 'a child group wins over its parent');
  assert.equal(by.web3!.vars!.note, 'a b');
  assert.equal(by.web3!.vars!.secret, '03#pa33w0rd');
  assert.equal(by.lb1!.vars!.http_port, 81);
  assert.equal(by.lb1!.vars!.greeting, undefined);
  assert.ok(!('ansible_password' in by.web1!.vars!), 'a password is never kept as a node variable');
  assert.deepEqual(by.lb1!.adminUser, { username: 'deploy', privateKeyPath: resolve('keys/lb'), noSudo: true });
  assert.equal(by.web1!.adminUser, undefined);
  // Each unused key is said once, with the hosts it concerns.
  assert.equal(warnings.filter((w) => /ansible_password/.test(w)).length, 1);
  assert.match(
    warnings.join('\n'),
    /ansible_password \(db1, web1, web2 and 2 more\): passwords are never read from an inventory/,
  );
  assert.match(warnings.join('\n'), /ansible_ssh_common_args \(.*\): not supported by pallet/);
  assert.match(warnings.join('\n'), /ansible_python_interpreter \(.*\): pallet needs no Python/);
  assert.match(warnings.join('\n'), /group_vars\/web\/vault\.yml is encrypted with ansible-vault/);
  assert.equal(warnings.length, 4, warnings.join('\n'));
});

test('a YAML inventory (YAML 1.1 as PyYAML reads it): nested children, ranges, vault values left out', () => {
  const { entries, warnings } = readAnsibleInventory(join(fixtures, 'yaml', 'hosts.yml'));
  const by = Object.fromEntries(entries.map((e) => [e.name, e]));
  assert.deepEqual(
    entries.map((e) => e.name),
    ['solo', 'app01', 'app02', 'rep1'],
  );
  assert.deepEqual([by.solo!.group, by.solo!.groups], ['ungrouped', ['ungrouped']]);
  assert.deepEqual([by.app01!.group, by.app01!.groups], ['app', ['app', 'db']]);
  assert.deepEqual([by.rep1!.group, by.rep1!.groups], ['replicas', ['db', 'replicas']]);
  assert.equal(by.app02!.sshPort, 2201);
  assert.equal(by.app01!.vars!.enabled, true);
  assert.equal(by.app01!.vars!.mode, 0o755);
  assert.equal(by.app01!.vars!.ntp_server, 'time.example.org', 'group_vars/all.yml wins over the inventory');
  assert.equal(by.app01!.vars!.role_note, 'from host_vars');
  assert.equal(by.app02!.vars!.role_note, undefined);
  assert.ok(!('db_password' in by.rep1!.vars!));
  assert.match(
    warnings.join('\n'),
    /'all\.children\.db\.children\.replicas\.hosts\.rep1\.db_password' is encrypted with ansible-vault|db_password' is encrypted with ansible-vault/,
  );
  assert.match(warnings.join('\n'), /ansible_connection \(rep1\): 'winrm' is not a connection pallet has/);
});

test('a node-list service from an inventory: ids are the inventory names, groups target every group a host is in', async () => {
  const svc = nodeListService([], { inventory: join(fixtures, 'ini', 'hosts.ini') });
  assert.deepEqual(
    (await svc.nodes()).map((n) => n.id),
    ['db1', 'web1', 'web2', 'web3', 'lb1'],
  );
  assert.deepEqual(
    (await svc.nodes({ groups: ['prod'] })).map((n) => n.id),
    ['web1', 'web2', 'web3', 'lb1'],
  );
  assert.deepEqual(
    (await svc.nodes({ groups: ['lb'] })).map((n) => n.id),
    ['lb1'],
  );
  assert.ok(svc.notices && svc.notices.length === 4);
  // Through the configuration: `ansible:PATH` as a service name, and `inventory:` relative to the config file.
  const viaName = serviceFromConfig({ services: {}, sources: {} }, `ansible:${join(fixtures, 'yaml', 'hosts.yml')}`);
  assert.deepEqual(
    (await viaName.nodes({ groups: ['db'] })).map((n) => n.id),
    ['app01', 'rep1'],
  );
  const viaConfig = serviceFromConfig(
    {
      services: { lab: { provider: 'node-list', inventory: 'ini/hosts.ini' } },
      sources: { lab: join(fixtures, 'config.yaml') },
    },
    'lab',
  );
  assert.equal((await viaConfig.nodes()).length, 5);
});

test('plain node lists: the configured name is the id, unless two entries share it', async () => {
  const svc = nodeListService([
    { name: 'web1', group: 'web', ip: '192.0.2.10' },
    { name: 'twin', group: 'web', ip: '192.0.2.11' },
    { name: 'twin', group: 'web', ip: '192.0.2.12' },
  ]);
  assert.deepEqual(
    (await svc.nodes()).map((n) => n.id),
    ['web1', 'twin-192-0-2-11', 'twin-192-0-2-12'],
  );
  assert.throws(
    () =>
      nodeListService([
        { name: 'a', id: 'x', group: 'g', ip: '192.0.2.1' },
        { name: 'b', id: 'x', group: 'g', ip: '192.0.2.2' },
      ]),
    /two nodes have the id 'x'/,
  );
});
