/**
 * The example projects, run as a user runs them: the built `pallet` binary on
 * the project file. examples/harden hardens a real Debian node over SSH: check
 * mode first (exit 3, diffs, nothing changed), then the run (admin user in
 * sudo, sudoers and sshd_config edits validated by visudo and sshd, one sshd
 * reload), then a second run that changes nothing and reloads nothing. The
 * new admin user then logs in with its key and has passwordless sudo.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execScript, groupSpec, lift, makeUser, nodeListService, type OperationResult } from '../../src/index.js';
import { makeKey, removeNodes, startOneNode, type TestNode } from '../helpers/nodes.js';

const LABEL = 'examples-suite';
const BIN = resolve('dist/cli/main.js');
const PROJECT = resolve('examples/harden/pallet.config.ts');
let env: Awaited<ReturnType<typeof startOneNode>>;
let node: TestNode;
let home: string;
let deployKey: { path: string; pub: string };
const sh = (cmd: string) => node.exec(cmd).stdout;

before(async () => {
  assert.ok(existsSync(BIN), 'build first: npm run build');
  env = await startOneNode(LABEL);
  node = env.node;
  home = join(env.dir, 'pallet-home');
  mkdirSync(home);
  deployKey = makeKey(env.dir, 'deploy');
  const config = {
    defaultService: 'lab',
    adminUser: { username: 'root', privateKeyPath: env.key.path },
    services: {
      lab: {
        provider: 'node-list',
        nodes: [{ name: node.name, id: node.name, group: 'hardened', ip: '127.0.0.1', sshPort: node.port }],
        ssh: { knownHostsPath: env.known, agent: false },
      },
    },
  };
  writeFileSync(join(home, 'config.json'), JSON.stringify(config));
});
after(() => removeNodes(LABEL));

function pallet(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, '--project', PROJECT, ...args], {
    encoding: 'utf8',
    env: {
      ...process.env,
      PALLET_HOME: home,
      NO_COLOR: '1',
      HARDEN_ADMIN: 'deploy',
      HARDEN_ADMIN_KEY: `${deployKey.path}.pub`,
    },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const reloads = () =>
  node
    .logs()
    .split('\n')
    .filter((l) => /Received SIGHUP; restarting/.test(l)).length;
const snapshot = () => sh('md5sum /etc/ssh/sshd_config /etc/sudoers; getent passwd deploy; getent group sudo');

test('examples/harden: check, run, run again on a real node; the admin user logs in and has sudo', async () => {
  const before = snapshot();
  assert.match(before, /PasswordAuthentication|^[0-9a-f]{32}/m);

  const check = pallet(['lift', '--check', '--diff']);
  assert.equal(check.code, 3, `${check.out}\n${check.err}`);
  assert.match(check.out, /would change/);
  assert.match(check.out, /\+PermitRootLogin prohibit-password/);
  assert.match(check.out, /\+%sudo ALL=\(ALL:ALL\) NOPASSWD: ALL/);
  assert.match(check.out, /create user deploy/);
  assert.equal(snapshot(), before, 'check mode changed nothing');
  assert.equal(reloads(), 0);

  const run = pallet(['lift']);
  assert.equal(run.code, 0, `${run.out}\n${run.err}`);
  assert.match(sh('id -nG deploy'), /\bsudo\b/);
  assert.equal(sh('getent passwd deploy | cut -d: -f6,7'), '/home/deploy:/bin/bash\n');
  assert.equal(sh('cat /home/deploy/.ssh/authorized_keys'), `${deployKey.pub}\n`);
  assert.match(sh('grep "^%sudo" /etc/sudoers'), /^%sudo ALL=\(ALL:ALL\) NOPASSWD: ALL\n$/);
  const settings = sh(
    "grep -E '^(PermitRootLogin|PasswordAuthentication|KbdInteractiveAuthentication|X11Forwarding|MaxAuthTries) ' /etc/ssh/sshd_config",
  );
  assert.deepEqual(settings.trim().split('\n').sort(), [
    'KbdInteractiveAuthentication no',
    'MaxAuthTries 3',
    'PasswordAuthentication no',
    'PermitRootLogin prohibit-password',
    'X11Forwarding no',
  ]);
  assert.equal(node.exec('/usr/sbin/sshd -t').status, 0, 'the configuration sshd reloaded is valid');
  assert.equal(node.exec('visudo -c').status, 0);
  assert.equal(reloads(), 1, 'sshd was reloaded once for five edits');
  assert.equal(
    sh('stat -c "%a %U" /etc/sudoers /etc/ssh/sshd_config'),
    '440 root\n644 root\n',
    'modes and owners kept',
  );

  const again = pallet(['lift']);
  assert.equal(again.code, 0, again.err);
  assert.match(again.out, /0 changed/);
  assert.equal(reloads(), 1, 'nothing changed: no reload');
  const recheck = pallet(['lift', '--check']);
  assert.equal(recheck.code, 0, `nothing would change: ${recheck.out}`);

  // The reloaded sshd lets the new admin user in with its key; sudo needs no password.
  const compute = nodeListService(
    [{ name: node.name, id: node.name, group: 'box', ip: '127.0.0.1', sshPort: node.port }],
    { ssh: { knownHostsPath: env.known, agent: false } },
  );
  const r: OperationResult = await lift(groupSpec('box'), {
    compute,
    user: makeUser('deploy', { privateKeyPath: deployKey.path }),
    phase: () => void execScript('sudo -n id -u', { changes: 'never' }),
  });
  assert.equal(r.ok, true);
  const out = r.results.filter((x) => !x.phase.startsWith('pallet/')).flatMap((x) => x.actions)[0]!.out;
  assert.equal(out, '0\n');
});
