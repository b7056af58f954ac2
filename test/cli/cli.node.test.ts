/**
 * The built `pallet` binary, run as a subprocess on a sample project: every
 * command, exit codes, JSON events, tables; the live view in a real terminal
 * (tmux); and up/nodes/down on Docker.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { linkPallet, makeKey, tempDir, TEST_IMAGE } from '../helpers/nodes.js';

const BIN = resolve('dist/cli/main.js');
let project: string;
let home: string;
let root: string;

before(() => {
  assert.ok(existsSync(BIN), 'build first: npm run build');
  const dir = tempDir('pallet-cli-');
  project = join(dir, 'project');
  home = join(dir, 'home');
  root = join(dir, 'out');
  linkPallet(project);
  mkdirSync(root);
  copyFileSync(resolve('test/fixtures/sample-project/pallet.config.ts'), join(project, 'pallet.config.ts'));
});

after(() => {
  const ids = spawnSync('podman', ['ps', '-aq', '--filter', 'label=pallet.service=cli-docker'], {
    encoding: 'utf8',
  }).stdout.trim();
  if (ids) spawnSync('podman', ['rm', '-f', '-t', '0', ...ids.split('\n')]);
});

function pallet(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? project,
    encoding: 'utf8',
    env: { ...process.env, PALLET_HOME: home, SAMPLE_ROOT: root, NO_COLOR: '1', ...opts.env },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const events = (out: string) =>
  out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

test('--version, help, providers, and usage errors exit 2 with one line', () => {
  assert.equal(pallet(['--version']).out.trim(), JSON.parse(readFileSync('package.json', 'utf8')).version);
  const help = pallet(['help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /Commands:[\s\S]*up[\s\S]*explain/);
  assert.match(pallet(['lift', '--help']).out, /--phase <phase>/);
  assert.match(pallet(['providers']).out, /^PROVIDER\s+DESCRIPTION\n[\s\S]*docker/);
  for (const bad of [
    ['nope'],
    ['lift', '--bogus'],
    ['--concurrency', 'x', 'lift'],
    ['converge', 'web'],
    ['lift', 'nosuchgroup'],
  ]) {
    const r = pallet(bad);
    assert.equal(r.code, 2, `${bad.join(' ')}: ${r.err}`);
    assert.ok(r.err.trim().length > 0 && r.out === '', bad.join(' '));
  }
});

test('lift on localhost: plain lines without a terminal, exit 0; a second run changes nothing', () => {
  const r = pallet(['lift', 'web']);
  assert.equal(r.code, 0, r.err + r.out);
  assert.match(r.out, /^\[configure\] localhost: remoteFile .*web\.txt changed$/m);
  assert.match(r.out, /OK: 1 node\(s\), phases configure/);
  assert.doesNotMatch(r.out, /pallet\/os/, 'internal phases are not shown without --verbose');
  assert.equal(readFileSync(join(root, 'web.txt'), 'utf8'), 'web\n');
  const again = pallet(['lift', 'web']);
  assert.match(again.out, /localhost: ok\s+3 ok, 0 changed, 0 failed/);
});

test('--json: only JSON events on stdout, with the documented shape', () => {
  const r = pallet(['--json', 'lift', '-g', 'web', '-a', 'deploy:v7']);
  assert.equal(r.code, 0, r.err);
  const ev = events(r.out);
  assert.deepEqual(
    [...new Set(ev.map((e) => e.event))],
    ['operation-start', 'phase-start', 'action', 'target-end', 'phase-end', 'summary'],
  );
  const action = ev.find((e) => e.event === 'action' && e.phase === 'deploy')!;
  assert.equal(action.summary, `remoteFile ${root}/version`);
  assert.equal(action.changed, true);
  assert.equal(action.ok, true);
  assert.equal(typeof action.durationMs, 'number');
  assert.equal(readFileSync(join(root, 'version'), 'utf8'), 'v7\n');
  const summary = ev.at(-1)!;
  assert.equal(summary.ok, true);
  assert.deepEqual(
    (summary.nodes as Array<{ target: string }>).map((n) => n.target),
    ['localhost'],
  );
});

test('a failing phase exits 1 and the summary names the action, its exit code and stderr', () => {
  const r = pallet(['lift', 'web', '-a', 'broken']);
  assert.equal(r.code, 1);
  assert.match(r.out, /FAILED: 1 node\(s\)/);
  assert.match(r.out, /x \[broken\] execScript echo going wrong >&2; exit 4 \(exit 4\)/);
  assert.match(r.out, /going wrong/);
  const j = pallet(['--json', 'lift', 'web', '-a', 'broken']);
  assert.equal(j.code, 1);
  const failed = events(j.out).find((e) => e.event === 'action' && e.ok === false)!;
  assert.equal(failed.exit, 4);
  assert.match(String(failed.error), /phase 'broken'/);
});

test('explain shows the exact scripts and touches nothing', () => {
  const key = makeKey(tempDir('pallet-cli-key-'), 'id');
  mkdirSync(home, { recursive: true });
  writeFileSync(join(home, 'config.yaml'), `adminUser:\n  username: padmin\n  privateKeyPath: ${key.path}\n`);
  const r = pallet(['explain', '-g', 'web']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /GROUP web PHASE configure:/);
  assert.match(r.out, /ACTION: remoteFile .*web\.txt/);
  assert.match(r.out, /printf '%s' 'web/);
  const bootstrap = pallet(['explain', '-g', 'db', '-a', 'bootstrap']);
  assert.match(bootstrap.out, /automated-admin-user/);
  assert.match(bootstrap.out, /visudo -c -q -f/);
  assert.match(bootstrap.out, /authorizeKeys padmin/);
  rmSync(join(home, 'config.yaml'));
});

test('--selector picks project variants', () => {
  const r = pallet(['explain', '-s', 'blue', '-g', 'web']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /GROUP web-blue PHASE configure:/);
  assert.match(
    r.out,
    /ACTION: execScript echo blue variant[\s\S]*ACTION: directory/,
    "variant phases run before the group's own",
  );
  assert.doesNotMatch(pallet(['explain', '-g', 'web']).out, /web-blue/);
});

test('lift --slice k/n: the slices of a node list are disjoint and cover it; a bad slice is a usage error', () => {
  const out = tempDir('pallet-cli-slice-');
  for (const d of ['0', '1', '2', 'again']) mkdirSync(join(out, d));
  writeFileSync(
    join(project, 'slice.config.ts'),
    [
      "import { defineProject, groupSpec, remoteFile, targetId } from 'pallet';",
      "export default defineProject({ groups: [groupSpec('fleet', { phases: { configure: () => void remoteFile(`${process.env.SLICE_ROOT}/${targetId()}`, { content: 'x\\n' }) } })] });",
    ].join('\n'),
  );
  const nodes = Array.from(
    { length: 12 },
    (_, i) => `      - { name: n${i}, group: fleet, ip: 127.0.0.1, transport: local }`,
  );
  mkdirSync(home, { recursive: true });
  writeFileSync(
    join(home, 'config.yaml'),
    ['defaultService: fleet', 'services:', '  fleet:', '    provider: node-list', '    nodes:', ...nodes].join('\n'),
  );
  try {
    const seen: string[][] = [];
    for (const k of [0, 1, 2]) {
      const r = pallet(['--project', 'slice.config.ts', 'lift', '--slice', `${k}/3`], {
        env: { SLICE_ROOT: join(out, String(k)) },
      });
      assert.equal(r.code, 0, r.out + r.err);
      seen.push(readdirSync(join(out, String(k))).sort());
    }
    const all = seen.flat().sort();
    assert.deepEqual(all, Array.from({ length: 12 }, (_, i) => `n${i}`).sort(), 'every node in exactly one slice');
    assert.ok(
      seen.every((x) => x.length > 0 && x.length < 12),
      `each slice has some nodes: ${seen.map((x) => x.length).join(', ')}`,
    );
    // Stable: the same slice again is the same nodes.
    const again = pallet(['--project', 'slice.config.ts', '--json', 'lift', '--slice', '1/3'], {
      env: { SLICE_ROOT: join(out, 'again') },
    });
    assert.deepEqual(readdirSync(join(out, 'again')).sort(), seen[1]);
    assert.match(again.out, /"event":"summary"/);
    // Nodes of a node list on this machine's shell: a phase that controls services says so first.
    writeFileSync(
      join(project, 'notice.config.ts'),
      "import { defineProject, groupSpec, service } from 'pallet';\nexport default defineProject({ groups: [groupSpec('fleet', { phases: { configure: () => void service('pallet-no-such-service', { action: 'stop' }) } })] });\n",
    );
    const noticed = pallet(['--project', 'notice.config.ts', 'lift', '--check', '--slice', '0/3']);
    assert.match(
      noticed.err,
      /note: this runs on this machine \(node\(s\) n\d+.* of service fleet, on this machine's shell\): it controls services/,
    );
    for (const bad of ['3/3', '1/0', 'x']) {
      const r = pallet(['--project', 'slice.config.ts', 'lift', '--slice', bad]);
      assert.equal(r.code, 2, `--slice ${bad}: ${r.err}`);
      assert.match(r.err, /--slice/);
    }
  } finally {
    rmSync(join(home, 'config.yaml'), { force: true });
  }
});

test('up, down --dry-run, nodes, services, config, add-service, init', () => {
  const up = pallet(['up', '-r', 'storage']);
  assert.equal(up.code, 0, up.err + up.out);
  assert.equal(readFileSync(join(root, 'db.txt'), 'utf8'), 'db\n');
  const dry = pallet(['down', '--dry-run']);
  assert.equal(dry.code, 0);
  assert.match(dry.out, /web: 1 node\(s\) now, 0 wanted: destroy 1/);
  const nodes = pallet(['nodes']);
  assert.match(nodes.out, /^GROUP\s+ID\s+IP\s+PRIVATE IP\s+SSH\s+HOSTNAME\s+OS\n/);
  assert.match(pallet(['--json', 'nodes']).out, /"event":"node","id":"localhost"/);
  assert.match(pallet(['services']).out, /localhost\s+localhost\s+yes\s+\(built in\)/);
  assert.equal(pallet(['config']).code, 0);
  assert.equal(pallet(['config']).code, 2, 'refuses to overwrite');
  const add = pallet(['add-service', 'lab', 'node-list', 'nodes=[{name: a, group: web, ip: 192.0.2.1}]']);
  assert.equal(add.code, 0, add.err);
  assert.match(pallet(['services']).out, /lab\s+node-list/);
  assert.equal(pallet(['add-service', 'lab', 'node-list', 'nodes=[]']).code, 2);
  assert.equal(pallet(['add-service', 'x', 'nosuch']).code, 2);
  const empty = tempDir('pallet-init-');
  assert.equal(pallet(['init'], { cwd: empty }).code, 0);
  assert.match(readFileSync(join(empty, 'pallet.config.ts'), 'utf8'), /defineProject/);
  assert.equal(pallet(['init'], { cwd: empty }).code, 2);
  rmSync(join(home, 'config.yaml'));
  rmSync(join(home, 'services'), { recursive: true });
});

test('the live view in a real terminal (tmux)', async () => {
  const session = `pallet-cli-${process.pid}`;
  const cmd = `cd ${project} && PALLET_HOME=${home} SAMPLE_ROOT=${root} ${process.execPath} ${BIN} lift web -a slow; echo EXIT=$?; sleep 30`;
  execFileSync('tmux', ['new-session', '-d', '-s', session, '-x', '120', '-y', '30', cmd]);
  try {
    const capture = () => execFileSync('tmux', ['capture-pane', '-p', '-t', session], { encoding: 'utf8' });
    let during = '';
    for (let i = 0; i < 50 && !/step|sleep 1/.test(during); i++) {
      await new Promise((r) => setTimeout(r, 100));
      during = capture();
    }
    assert.match(during, /lift: slow/, during);
    assert.match(during, /• localhost\s+\[slow\] execScript sleep 1; echo step \d\s+\d\/3 0 changed \d+\.\ds/, during);
    let end = '';
    for (let i = 0; i < 80 && !/EXIT=/.test(end); i++) {
      await new Promise((r) => setTimeout(r, 100));
      end = capture();
    }
    assert.match(end, /✓ localhost\s+\[slow\] done\s+3\/3/);
    assert.match(end, /OK: 1 node\(s\), phases slow/);
    assert.match(end, /EXIT=0/);
  } finally {
    spawnSync('tmux', ['kill-session', '-t', session]);
  }
});

test('up, nodes and down on Docker', () => {
  const dir = tempDir('pallet-cli-docker-');
  const key = makeKey(dir, 'id');
  mkdirSync(home, { recursive: true });
  writeFileSync(
    join(home, 'config.yaml'),
    [
      'adminUser:',
      '  username: padmin',
      `  privateKeyPath: ${key.path}`,
      'services:',
      '  cli-docker:',
      '    provider: docker',
      `    socketPath: ${process.env.PALLET_PODMAN_SOCK ?? '/run/podman/podman.sock'}`,
    ].join('\n'),
  );
  try {
    const up = pallet(['-P', 'cli-docker', '--json', 'up', '-g', 'db'], {
      env: { SAMPLE_ROOT: '/srv/sample', PALLET_TEST_IMAGE: TEST_IMAGE },
    });
    assert.equal(up.code, 0, up.out + up.err);
    const ev = events(up.out);
    const created = ev.filter((e) => e.event === 'node-created');
    assert.equal(created.length, 1);
    // The image names the OS and no plan reads facts: no probe.
    assert.deepEqual(
      ev.filter((e) => e.event === 'phase-start').map((e) => e.phase),
      ['bootstrap', 'configure'],
      'the image names the OS: no probe',
    );
    const id = (created[0]!.node as { id: string }).id;
    assert.equal(execFileSync('podman', ['exec', id, 'cat', '/srv/sample/db.txt'], { encoding: 'utf8' }), 'db\n');
    const nodes = pallet(['-P', 'cli-docker', 'nodes']);
    assert.match(nodes.out, new RegExp(`^db\\s+${id}\\s+127\\.0\\.0\\.1\\s+-\\s+\\d+\\s+${id}\\s+debian 12$`, 'm'));
    // Not a terminal: nothing is destroyed without --yes; what would be destroyed is named.
    const refused = pallet(['-P', 'cli-docker', 'down', '-g', 'db']);
    assert.equal(refused.code, 2, refused.out + refused.err);
    assert.match(
      refused.err,
      new RegExp(
        `would destroy 1 node\\(s\\) of service cli-docker: ${id} \\(group db\\); nothing was changed\\. Run again with --yes`,
      ),
    );
    assert.match(pallet(['-P', 'cli-docker', 'nodes']).out, /db/);
    const down = pallet(['-P', 'cli-docker', 'down', '-g', 'db', '--yes']);
    assert.equal(down.code, 0, down.out + down.err);
    assert.match(down.out, /destroyed 1 node\(s\)/);
    assert.doesNotMatch(pallet(['-P', 'cli-docker', 'nodes']).out, /db/);
  } finally {
    rmSync(join(home, 'config.yaml'), { force: true });
  }
});

test('a phase no group defines exits 2, naming it and the phases the groups define', () => {
  const r = pallet(['lift', '-a', 'nosuch']);
  assert.equal(r.code, 2, r.out + r.err);
  assert.match(r.err, /no group defines the phase 'nosuch'; the groups define: .*broken.*configure.*deploy.*slow/);
  assert.equal(r.out, '');
});

test('SIGINT: the running action ends, nothing new starts, the partial summary is printed, exit 130', async () => {
  const marker = join(root, 'slow-steps');
  rmSync(marker, { force: true });
  const child = spawn(process.execPath, [BIN, 'lift', 'web', '-a', 'slow'], {
    cwd: project,
    env: { ...process.env, PALLET_HOME: home, SAMPLE_ROOT: root, NO_COLOR: '1' },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  // The phase runs three 1-second steps; stop it once the first is reported (during the second).
  const deadline = Date.now() + 20_000;
  while (!/echo step 0 ok/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  child.kill('SIGINT');
  const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  assert.equal(code, 130, out + err);
  assert.match(err, /SIGINT: stopping/);
  assert.match(out, /echo step 1 ok/, 'the action running at the signal ended and was reported');
  assert.doesNotMatch(out, /echo step 2 ok/, 'no new action started after the signal');
  assert.match(
    out,
    /step 2[\s\S]*the operation was stopped before this action ran/,
    'the partial summary names what did not run',
  );
  assert.equal(
    spawnSync('sh', ['-c', 'ls -d /tmp/pallet.[0-9]* 2>/dev/null | wc -l']).stdout.toString().trim(),
    '0',
    'the batch directory was removed',
  );
});

test('init writes a starter that is harmless on localhost; localhost runs that touch packages or services say so first', () => {
  const empty = tempDir('pallet-init2-');
  linkPallet(empty);
  assert.equal(pallet(['init'], { cwd: empty }).code, 0);
  const text = readFileSync(join(empty, 'pallet.config.ts'), 'utf8');
  assert.doesNotMatch(text, /^\s*(pkg|service)\(/m, 'no package or service work outside comments');
  const up = pallet(['up'], { cwd: empty });
  assert.equal(up.code, 0, up.out + up.err);
  assert.equal(readFileSync(join(empty, 'site', 'index.html'), 'utf8'), '<h1>Hello from pallet</h1>\n');
  assert.doesNotMatch(up.err, /note: this runs on this machine/);
  writeFileSync(
    join(empty, 'pallet.config.ts'),
    "import { defineProject, groupSpec, service } from 'pallet';\nexport default defineProject({ groups: [groupSpec('svc', { phases: { configure: () => void service('pallet-no-such-service', { action: 'stop' }) } })] });\n",
  );
  const lifted = pallet(['lift'], { cwd: empty });
  assert.match(
    lifted.err,
    /note: this runs on this machine \(the localhost service\): it controls services \(service pallet-no-such-service stop\)/,
  );
});

test('--check: exit 3 with what would change and a diff, nothing changed; exit 0 once nothing would', () => {
  const path = join(root, 'web.txt');
  // Removed by hand (an edited file would make the check fail, as the real run would: it was changed on the node).
  rmSync(path);
  const r = pallet(['lift', 'web', '--check', '--diff']);
  assert.equal(r.code, 3, r.err + r.out);
  assert.match(r.out, new RegExp(`^\\[configure\\] localhost: remoteFile ${path} would change$`, 'm'));
  assert.match(
    r.out,
    /^ {4}--- .*web\.txt\t\(new file\)\n {4}\+\+\+ .*web\.txt\tnew\n {4}@@ -0,0 \+1(,1)? @@\n {4}\+web$/m,
    'the diff of a new file',
  );
  assert.match(r.out, /OK \(check mode: nothing was changed\): 1 node\(s\)/);
  assert.match(r.out, /localhost: ok\s+1 would change, 0 may change/);
  assert.equal(existsSync(path), false, 'the file is still not there');
  const json = pallet(['--json', 'lift', 'web', '--check']);
  assert.equal(json.code, 3);
  const action = events(json.out).find((e) => e.event === 'action' && e.summary === `remoteFile ${path}`)!;
  assert.deepEqual([action.changed, action.wouldChange, action.would], [false, true, [`create ${path}`]]);
  assert.match(String(action.diff), /\n\+web$/);
  assert.equal(pallet(['lift', 'web']).code, 0);
  const clean = pallet(['lift', 'web', '--check']);
  assert.equal(clean.code, 0, clean.out);
  assert.match(clean.out, /localhost: ok\s+0 would change, 0 may change/);
});
