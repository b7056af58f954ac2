/**
 * Secrets are data: canary secrets planted through every path a secret can take
 * (sensitive files and templates, a large sensitive upload, debconf and user
 * passwords, `secret()` in scriptEnv, script text and failing output, the admin
 * user's sudo password and key passphrase) must not appear in any byte of
 * output: results, events, thrown errors, explain, the CLI in every mode, the
 * node's state root and temp dirs, or the node's process list during the runs.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  debconfSetSelections,
  directory,
  execScript,
  explainPlan,
  explainSession,
  groupSpec,
  lift,
  makeUser,
  nodeListService,
  phaseErrors,
  remoteFile,
  secret,
  shQuote,
  throwPhaseErrors,
  user,
  withActionOptions,
  type OperationEvent,
  type OperationResult,
  type PhaseFn,
  type User,
} from '../../src/index.js';
import { imageCredentials } from '../../src/core/user.js';
import {
  assertTestNodesReady,
  knownHostsFor,
  linkPallet,
  makeKey,
  removeNodes,
  startNodes,
  tempDir,
  type TestNode,
} from '../helpers/nodes.js';

const LABEL = 'secrets-suite';
const C = {
  fileV1: 'canary-file-v1-7f3a9e',
  handEdit: 'canary-hand-edit-41d2',
  fileV3: 'canary-file-v3-c0ffee',
  template: 'canary-template-9b1d',
  upload: 'canary-upload-line-77aa',
  debconf: 'canary-debconf-5e6f',
  hash: '$6$canarysalt$canary-hash-0d9c8b7a',
  env: 'canary-env-3c4d5e',
  arg: 'canary-arg-8f9a0b',
  failing: 'canary-failing-1a2b',
  sudo: 'canary-sudo-6677',
  passphrase: 'canary-passphrase-55',
};
let dir: string;
let node: TestNode;
let admin: User;
let compute: ReturnType<typeof nodeListService>;
let known: string;
let keyPath: string;
/** Every byte of output collected, to be searched at the end. */
const seen: string[] = [];

before(async () => {
  assertTestNodesReady();
  removeNodes(LABEL);
  dir = tempDir('pallet-secrets-');
  const key = makeKey(dir, 'id', C.passphrase);
  keyPath = key.path;
  const nodes = await startNodes(LABEL, 1, { authorizedKeys: [key.pub] });
  node = nodes[0]!;
  known = knownHostsFor(nodes, dir);
  compute = nodeListService([{ name: node.name, id: node.name, group: 'box', ip: '127.0.0.1', sshPort: node.port }], {
    ssh: { knownHostsPath: known, agent: false },
  });
  admin = makeUser('root', { privateKeyPath: key.path, passphrase: C.passphrase, sudoPassword: C.sudo });
  writeFileSync(join(dir, 'app.conf.tmpl'), 'user=app\npassword=~{password}\n');
  // A large sensitive file (> 32 KiB): uploaded over SFTP, not inside the script.
  writeFileSync(join(dir, 'big.key'), `${'x'.repeat(40 * 1024)}\nkey=${C.upload}\n`);
});

after(() => removeNodes(LABEL));

/** The phase: every path a secret can take. */
function phase(fileContent: string, extra: { overwrite?: boolean; fail?: boolean } = {}): PhaseFn {
  return () => {
    directory('/etc/app', { mode: '0700' });
    remoteFile('/etc/app/secret.conf', {
      content: `token=${fileContent}\n`,
      sensitive: true,
      verify: 'cat',
      mode: '0600',
      ...(extra.overwrite ? { overwriteChanges: true } : {}),
    });
    remoteFile('/etc/app/app.conf', {
      template: join(dir, 'app.conf.tmpl'),
      values: { password: C.template },
      sensitive: true,
      mode: '0600',
    });
    remoteFile('/etc/app/big.key', {
      localFile: join(dir, 'big.key'),
      sensitive: true,
      verify: 'tail -n 1',
      mode: '0600',
    });
    debconfSetSelections({
      package: 'pallet-test',
      question: 'pallet-test/secret',
      type: 'password',
      value: C.debconf,
    });
    user('appuser', { password: C.hash, createHome: false });
    withActionOptions({ scriptEnv: { TOKEN: secret(C.env) }, scriptTrace: true }, () =>
      execScript('test -n "$TOKEN"', { changes: 'never' }),
    );
    execScript(`printf '%s' ${shQuote(secret(C.arg))} | wc -c`, { changes: 'never' });
    if (extra.fail) execScript(`echo ${shQuote(secret(C.failing))}; echo ${shQuote(C.failing)} >&2; exit 3`);
  };
}

function record(...xs: unknown[]) {
  for (const x of xs) seen.push(typeof x === 'string' ? x : JSON.stringify(x));
}

async function run(p: PhaseFn): Promise<OperationResult> {
  const events: OperationEvent[] = [];
  const r = await lift(groupSpec('box'), { compute, user: admin, phase: p, onEvent: (e) => events.push(e) });
  record(events, r, explainSession(r), phaseErrors(r));
  try {
    throwPhaseErrors(r);
  } catch (e) {
    record((e as Error).message, (e as Error).stack ?? '');
  }
  return r;
}

/** Samples every process's command line on the node while `fn` runs. */
async function watchingProcesses<T>(fn: () => Promise<T>): Promise<T> {
  const sampler: ChildProcess = spawn('podman', [
    'exec',
    node.container,
    'sh',
    '-c',
    'while :; do cat /proc/[0-9]*/cmdline >> /root/ps.log 2>/dev/null; sleep 0.01; done',
  ]);
  try {
    return await fn();
  } finally {
    sampler.kill();
    spawnSync('podman', ['exec', node.container, 'sh', '-c', 'pkill -f "cat /proc" ; pkill -f "while :" ; true']);
  }
}

const hits = (text: string) =>
  Object.entries(C)
    .filter(([, v]) => text.includes(v))
    .map(([k]) => k);

test('first run, second run, a hand edit, a failing action: no secret in results, events, errors or explain', async () => {
  await watchingProcesses(async () => {
    const r1 = await run(phase(C.fileV1));
    assert.equal(r1.ok, true, explainSession(r1));
    assert.equal(node.exec('cat /etc/app/secret.conf').stdout, `token=${C.fileV1}\n`, 'the node gets the real content');
    assert.equal(node.exec('cat /etc/app/app.conf').stdout, `user=app\npassword=${C.template}\n`);
    assert.equal(node.exec('getent shadow appuser | cut -d: -f2').stdout.trim(), C.hash);
    const verified = r1.results.flatMap((x) => x.actions).find((a) => a.summary === 'remoteFile /etc/app/secret.conf')!;
    assert.equal(verified.out, '<sensitive>', 'the verify output (the whole secret file) is redacted');
    const r2 = await run(phase(C.fileV1));
    assert.equal(r2.ok, true, explainSession(r2));
    const changedAgain = r2.results
      .flatMap((x) => x.actions)
      .filter((a) => a.changed && !a.summary.startsWith('execScript'))
      .map((a) => a.summary);
    assert.deepEqual(changedAgain, [], 'second run changes nothing (debconf and user passwords compared honestly)');
    // A hand edit: drift is reported without a diff.
    // On stdin, not a command line: the node's process sampler must see no canary, the test's own included.
    execFileSync('podman', ['exec', '-i', node.container, 'sh', '-c', 'cat > /etc/app/secret.conf'], {
      input: `token=${C.handEdit}\n`,
    });
    const r3 = await run(phase(C.fileV1));
    assert.equal(r3.ok, false);
    const drift = phaseErrors(r3)[0]!;
    assert.match(drift.message, /content differs; the file is sensitive, so no diff is shown/);
    const r4 = await run(phase(C.fileV3, { overwrite: true, fail: true }));
    assert.equal(r4.ok, false);
    assert.match(phaseErrors(r4)[0]!.message, /<sensitive>/);
    assert.equal(node.exec('cat /etc/app/secret.conf').stdout, `token=${C.fileV3}\n`);
  });
  record(await explainPlan(phase(C.fileV3, { overwrite: true, fail: true }), { user: admin }));
  assert.deepEqual(hits(seen.join('\n')), [], 'no canary in any output of the API');
});

test('the CLI: --json, --verbose, the default summary and explain show no secret', () => {
  const home = join(dir, 'home');
  const project = join(dir, 'project');
  mkdirSync(home, { recursive: true });
  linkPallet(project);
  writeFileSync(
    join(home, 'config.json'),
    JSON.stringify({
      defaultService: 'lab',
      adminUser: {
        username: 'root',
        privateKeyPath: keyPath,
        passphraseEnv: 'T_PASSPHRASE',
        sudoPasswordEnv: 'T_SUDO',
      },
      services: {
        lab: {
          provider: 'node-list',
          nodes: [{ name: node.name, group: 'box', ip: '127.0.0.1', sshPort: node.port }],
          ssh: { knownHostsPath: known },
        },
      },
    }),
  );
  writeFileSync(
    join(project, 'pallet.config.ts'),
    `import { defineProject, execScript, groupSpec, remoteFile, secret, shQuote, withActionOptions } from 'pallet';
const e = process.env;
export default defineProject({
  groups: [groupSpec('box', { phases: { configure: () => {
    remoteFile('/etc/app/cli.conf', { content: 'token=' + e.T_FILE + '\\n', sensitive: true, verify: 'cat' });
    withActionOptions({ scriptEnv: { TOKEN: secret(e.T_ENV!) }, scriptTrace: true }, () => execScript('test -n "$TOKEN"', { changes: 'never' }));
    execScript('echo ' + shQuote(secret(e.T_FAIL!)) + '; exit 3');
  } } })],
});
`,
  );
  const env = {
    ...process.env,
    PALLET_HOME: home,
    NO_COLOR: '1',
    T_PASSPHRASE: C.passphrase,
    T_SUDO: C.sudo,
    T_FILE: C.fileV1,
    T_ENV: C.env,
    T_FAIL: C.failing,
  };
  const bin = resolve('dist/cli/main.js');
  for (const args of [['--json', 'lift'], ['--verbose', 'lift'], ['lift'], ['explain']]) {
    const r = spawnSync(process.execPath, [bin, ...args], { cwd: project, env, encoding: 'utf8' });
    assert.ok(r.status !== null && r.stdout.length > 0, `${args.join(' ')}: ${r.stderr}`);
    if (args[0] !== 'explain')
      assert.equal(r.status, 1, `${args.join(' ')} fails on the failing action: ${r.stdout}${r.stderr}`);
    assert.deepEqual(hits(r.stdout + r.stderr), [], `pallet ${args.join(' ')}`);
    if (args[0] === '--verbose')
      assert.match(r.stdout + r.stderr, /<sensitive>/, 'verbose output shows where a secret was');
  }
});

test("the node: no secret in the state root, temp dirs or any process's command line", () => {
  const files = node
    .exec(
      `grep -rlaF -e ${Object.values(C)
        .map((v) => shQuote(v))
        .join(' -e ')} /var/lib/pallet /tmp /var/tmp 2>/dev/null; true`,
    )
    .stdout.trim();
  assert.equal(files, '', `files holding a secret: ${files}`);
  assert.equal(node.exec('find /var/lib/pallet -type f ! -perm 600 | head').stdout, '', 'state files are 0600');
  assert.equal(node.exec('find /var/lib/pallet -type d ! -perm 700 | head').stdout, '', 'state directories are 0700');
  assert.equal(node.exec('ls -d /tmp/pallet.* 2>/dev/null | wc -l').stdout.trim(), '0', 'no batch directory left');
  const ps = node.exec('cat /root/ps.log | tr "\\0" "\\n"').stdout;
  assert.ok(ps.length > 1000, 'the process list was sampled');
  assert.match(ps, /sh/);
  assert.deepEqual(hits(ps), [], 'no secret on a command line');
});

test("image credentials carry key material only, never the admin user's passwords", () => {
  const a = makeUser('admin', {
    privateKeyPath: '/k',
    publicKeyPath: '/k.pub',
    passphrase: 'pp',
    password: 'pw-secret',
    sudoPassword: 'sudo-secret',
    sudoUser: 'ops',
  });
  assert.deepEqual(imageCredentials(a, { username: 'debian' }), {
    privateKeyPath: '/k',
    publicKeyPath: '/k.pub',
    passphrase: 'pp',
    username: 'debian',
  });
});

test('a stale batch directory from a lost connection is removed by the next run', async () => {
  // A batch whose shell is gone: its pid (in the name) is no longer running.
  node.exec('mkdir -p /tmp/pallet.999999.AbCdEfGh && echo script > /tmp/pallet.999999.AbCdEfGh/s');
  const r = await run(() => void execScript('true', { changes: 'never' }));
  assert.equal(r.ok, true);
  assert.equal(node.exec('test -e /tmp/pallet.999999.AbCdEfGh').status, 1);
});

test('an upload directory made by another user is refused; a damaged upload is replaced', async () => {
  const big = join(dir, 'big2.bin');
  writeFileSync(big, Buffer.alloc(40 * 1024, 9));
  const p = () => void remoteFile('/srv/big2.bin', { localFile: big, noVersioning: true });
  assert.equal((await run(p)).ok, true);
  // Same size, other bytes: reused only when the checksum matches.
  node.exec('for f in /tmp/pallet-uploads-root/*; do head -c 40960 /dev/zero > "$f"; done');
  node.exec('rm -f /srv/big2.bin');
  assert.equal((await run(p)).ok, true);
  assert.ok(readFileSync(big).equals(Buffer.from(node.exec('base64 /srv/big2.bin').stdout, 'base64')));
  node.exec(
    'rm -rf /tmp/pallet-uploads-root && mkdir -m 700 /tmp/pallet-uploads-root && chown nobody /tmp/pallet-uploads-root',
  );
  const r = await run(p);
  assert.equal(r.ok, false);
  assert.match(
    phaseErrors(r)[0]!.message,
    /upload directory \/tmp\/pallet-uploads-root is owned by uid \d+, not by root/,
  );
});
