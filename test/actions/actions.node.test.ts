/**
 * Every action for real on a Debian node over SSH, run twice: the first run
 * makes the change (checked on the node by an independent command), the
 * second run reports nothing changed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  automatedAdminUser,
  debconfSetSelections,
  directories,
  directory,
  exec,
  execCheckedScript,
  execScript,
  explainSession,
  fifo,
  file,
  group,
  groupSpec,
  installDeb,
  lift,
  makeUser,
  minimalPackages,
  nodeListService,
  onOneNode,
  packageManager,
  packages,
  packageSource,
  packageSourceChangedFlag,
  phaseErrors,
  pkg,
  planWhen,
  remoteDirectory,
  remoteFile,
  remoteFileContent,
  retryUntil,
  rsyncDirectory,
  sed,
  service,
  serviceScript,
  symbolicLink,
  targetFlag,
  targetId,
  transferFile,
  user,
  waitForFile,
  withActionValues,
  withServiceRestart,
  type ActionResult,
  type OperationResult,
  type PhaseFn,
} from '../../src/index.js';
import {
  assertTestNodesReady,
  knownHostsFor,
  makeKey,
  removeNodes,
  startNodes,
  tempDir,
  type TestNode,
} from '../helpers/nodes.js';
import { demoInitScript as initScript } from '../helpers/fixtures.js';
import { serveAptRepos } from '../helpers/debs.js';
import { shQuote } from '../../src/script/quote.js';

const LABEL = 'actions-suite';
let dir: string;
let nodes: TestNode[];
let node: TestNode;
let compute: ReturnType<typeof nodeListService>;
let user0: ReturnType<typeof makeUser>;

before(async () => {
  assertTestNodesReady();
  removeNodes(LABEL);
  dir = tempDir('pallet-actions-');
  const key = makeKey(dir, 'id');
  nodes = await startNodes(LABEL, 2, { authorizedKeys: [key.pub] });
  node = nodes[0]!;
  const known = knownHostsFor(nodes, dir);
  compute = nodeListService(
    nodes.map((n) => ({ name: n.name, id: n.name, group: 'box', ip: '127.0.0.1', sshPort: n.port })),
    { ssh: { knownHostsPath: known, agent: false } },
  );
  user0 = makeUser('root', { privateKeyPath: key.path });
});

after(() => removeNodes(LABEL));

const sh = (cmd: string, n: TestNode = node) => n.exec(cmd).stdout;

/**
 * Files served over HTTP on the first node, by Python's http.server on its own loopback (no internet; the
 * container goes with the node): the base URL, once the server answers.
 */
function serveHttp(files: Record<string, string>): string {
  const root = '/srv/www';
  node.exec(`mkdir -p ${root}`);
  for (const [name, content] of Object.entries(files)) node.exec(`printf '%s' ${shQuote(content)} > ${root}/${name}`);
  node.exec(`setsid python3 -m http.server 8765 --bind 127.0.0.1 --directory ${root} >/dev/null 2>&1 < /dev/null &`);
  const base = 'http://127.0.0.1:8765';
  const ready = node.exec(`for i in $(seq 50); do curl -fsS -o /dev/null ${base}/ && exit 0; sleep 0.1; done; exit 1`);
  assert.equal(ready.status, 0, 'the HTTP server on the node answers');
  return base;
}

/** Lift `phase` on the first node only. */
async function run(phase: PhaseFn, onlyFirst = true): Promise<OperationResult> {
  const g = groupSpec('box', { nodeFilter: (n) => !onlyFirst || n.id === node.name });
  const r = await lift(g, { compute, user: user0, phase });
  assert.equal(r.ok, true, explainSession(r));
  return r;
}

const actionsOf = (r: OperationResult): ActionResult[] =>
  r.results.filter((x) => !x.phase.startsWith('pallet/')).flatMap((x) => x.actions);
const changed = (r: OperationResult) =>
  actionsOf(r)
    .filter((a) => a.changed)
    .map((a) => a.summary);

/**
 * Run twice: the first run must change every action not named in `steady`,
 * `verify` checks the node, the second run must change nothing.
 */
async function twice(phase: PhaseFn, verify: () => void, steady: RegExp[] = []): Promise<OperationResult> {
  const r1 = await run(phase);
  const notChanged = actionsOf(r1).filter(
    (a) =>
      a.location === 'target' && !a.changed && !steady.some((re) => re.test(a.summary)) && !/^planWhen/.test(a.summary),
  );
  assert.deepEqual(
    notChanged.map((a) => a.summary),
    [],
    'first run: every action changes the node',
  );
  verify();
  const r2 = await run(phase);
  assert.deepEqual(changed(r2), [], 'second run: nothing changes');
  return r1;
}

test('packages: update, install, packages(), debconf, a signed package source with its flag, remove', async () => {
  // Packages from local repositories on the node (no internet): `stable` in its sources, `extra` signed by a key
  // of its own and added by packageSource.
  const tiny = (name: string) => ({ name, version: '1.0', files: { [`usr/share/${name}/x`]: `${name}\n` } });
  const keys = serveAptRepos(join(dir, 'apt'), node, [
    { suite: 'stable', debs: ['pallet-a', 'pallet-b', 'pallet-c'].map(tiny) },
    { suite: 'extra', debs: [tiny('pallet-extra')], signed: true, listed: false },
    { suite: 'other', debs: [tiny('pallet-other')], signed: true, listed: false },
  ]);
  const installed = (p: string) => /install ok installed/.test(sh(`dpkg-query -W -f='\${Status}' ${p} 2>&1 || true`));
  await twice(
    () => {
      packageManager('update');
      debconfSetSelections({ package: 'tzdata', question: 'tzdata/Areas', type: 'select', value: 'Europe' });
      pkg('pallet-a');
      pkg('pallet-b');
      packages({ apt: ['pallet-c'], yum: ['not-this-one'] });
    },
    () => {
      for (const p of ['pallet-a', 'pallet-b', 'pallet-c']) assert.ok(installed(p), p);
      assert.equal(sh('cat /usr/share/pallet-c/x'), 'pallet-c\n');
      assert.match(sh('debconf-show tzdata'), /tzdata\/Areas: Europe/);
    },
    [/^packageManager update/],
  );
  const flagged: string[] = [];
  await twice(
    () => {
      packageSource('extra', { apt: { url: 'file:/srv/repo/extra', release: './', scopes: [], key: keys.extra } });
      planWhen(targetFlag(packageSourceChangedFlag), () => {
        packageManager('update');
        withActionValues([], () => void flagged.push('updated'));
      });
      pkg('pallet-extra');
    },
    () => {
      assert.equal(
        sh('cat /etc/apt/sources.list.d/extra.list'),
        'deb [signed-by=/etc/apt/keyrings/extra.asc] file:/srv/repo/extra ./\n',
      );
      assert.match(sh('ls /var/lib/apt/lists/'), /_srv_repo_extra_\._InRelease/);
      assert.ok(installed('pallet-extra'), 'installed from the signed source (apt checked the signature)');
    },
    [/^packageManager update/],
  );
  assert.deepEqual(flagged, ['updated'], 'the update ran only when the source changed');
  // The key is checked: a copy of that repository given another suite's key is refused by apt.
  node.exec('cp -r /srv/repo/extra /srv/repo/forged');
  const forged = await lift(groupSpec('box', { nodeFilter: (n) => n.id === node.name }), {
    compute,
    user: user0,
    phase: () => {
      packageSource('forged', { apt: { url: 'file:/srv/repo/forged', release: './', scopes: [], key: keys.other } });
      packageManager('update');
    },
  });
  assert.equal(forged.ok, false, 'apt refuses a repository signed by another key');
  assert.match(
    phaseErrors(forged)[0]!.message +
      actionsOf(forged)
        .map((a) => a.err)
        .join(''),
    /NO_PUBKEY|not signed/,
  );
  node.exec('rm -f /etc/apt/sources.list.d/forged.list /etc/apt/keyrings/forged.asc');
  await twice(
    () => void pkg('pallet-c', { action: 'remove' }),
    () => assert.ok(!installed('pallet-c')),
  );
  // Already present: a first run that has nothing to do is fine for minimalPackages.
  const r = await run(() => void minimalPackages());
  assert.deepEqual(changed(r), []);
});

test('installDeb and transferFile: a package built on the controller', async () => {
  const root = join(dir, 'deb');
  mkdirSync(join(root, 'DEBIAN'), { recursive: true });
  mkdirSync(join(root, 'usr/share/pallet-demo'), { recursive: true });
  writeFileSync(
    join(root, 'DEBIAN/control'),
    'Package: pallet-demo\nVersion: 1.0\nArchitecture: all\nMaintainer: test <t@example.invalid>\nDescription: demo\n',
  );
  writeFileSync(join(root, 'usr/share/pallet-demo/hello'), 'hello\n');
  execFileSync('dpkg-deb', ['--build', '--root-owner-group', root, join(dir, 'demo.deb')], { stdio: 'ignore' });
  await twice(
    () => {
      transferFile(join(dir, 'demo.deb'), '/root/demo.deb');
      installDeb('/root/demo.deb');
    },
    () => assert.equal(sh('cat /usr/share/pallet-demo/hello'), 'hello\n'),
  );
});

test('directory with only a mode: made with it (parents too), a directory changed by hand is put right', async () => {
  const dirs = () => {
    directory('/srv/dmode/a/b', { mode: '0750' });
    directory('/srv/dmode/a/c', { mode: '2770' });
  };
  await twice(dirs, () =>
    assert.equal(sh('stat -c "%a %n" /srv/dmode/a/b /srv/dmode/a/c'), '750 /srv/dmode/a/b\n2770 /srv/dmode/a/c\n'),
  );
  node.exec('chmod 755 /srv/dmode/a/b');
  const r = await run(dirs);
  assert.deepEqual(changed(r), ['directory /srv/dmode/a/b']);
  assert.equal(sh('stat -c %a /srv/dmode/a/b'), '750\n');
});

test('remoteFile with only a mode: a new file is staged with it (nothing read back), a changed mode is still put right', async () => {
  const files = () => {
    remoteFile('/srv/mode/private', { content: 'secret-ish\n', mode: '0600' });
    remoteFile('/srv/mode/shared', { content: 'x\n', mode: '2775' });
  };
  node.exec('mkdir -p /srv/mode');
  await twice(files, () => {
    assert.equal(sh('stat -c "%a %U" /srv/mode/private /srv/mode/shared'), '600 root\n2775 root\n');
    assert.equal(sh('cat /var/lib/pallet/srv/mode/private'), 'secret-ish\n', 'the master copy is written');
  });
  node.exec('chmod 644 /srv/mode/private');
  const r = await run(files);
  assert.deepEqual(changed(r), ['remoteFile /srv/mode/private'], 'a mode changed by hand is put right');
  assert.equal(sh('stat -c %a /srv/mode/private'), '600\n');
  // Other content: the file is replaced and keeps the mode.
  const r2 = await run(() => void remoteFile('/srv/mode/private', { content: 'other\n', mode: '0600' }));
  assert.deepEqual(changed(r2), ['remoteFile /srv/mode/private']);
  assert.equal(sh('stat -c %a /srv/mode/private; cat /srv/mode/private'), '600\nother\n');
  assert.equal(sh('ls -a /srv/mode | grep -c pallet-new || true').trim(), '0', 'no temporary file left behind');
});

test('remoteFile: every content source, ownership, flags, verify, backups', async () => {
  const tpl = join(dir, 'app.conf');
  writeFileSync(tpl, 'port=~{port}\nname=~{name}\n');
  writeFileSync(`${tpl}_box`, 'group-specific port=~{port}\n');
  writeFileSync(join(dir, 'local.txt'), 'from the controller\n');
  const download = serveHttp({ 'download.txt': 'served over HTTP by the node itself\n' });
  const restarted: string[] = [];
  await twice(
    () => {
      directory('/etc/demo', { mode: '0755' });
      group('demo');
      remoteFile('/etc/demo/content', {
        content: 'a\nb',
        owner: 'nobody',
        group: 'demo',
        mode: '0640',
        flagOnChanged: 'demoChanged',
      });
      remoteFile('/etc/demo/local', { localFile: join(dir, 'local.txt') });
      remoteFile('/etc/demo/template', { template: tpl, values: { port: 8080, name: 'x' } });
      remoteFile('/etc/demo/copy', { remoteFile: '/etc/hostname' });
      remoteFile('/etc/demo/link', { link: '/etc/demo/content' });
      remoteFile('/etc/demo/expanded', { content: 'home=$HOME', literal: false });
      remoteFile('/etc/demo/verified', { content: 'ok\n', verify: 'grep -q ok' });
      remoteFile('/etc/demo/url', { url: `${download}/download.txt` });
      planWhen(targetFlag('demoChanged'), () => void withActionValues([], () => void restarted.push('restart')));
    },
    () => {
      assert.equal(sh('cat /etc/demo/content'), 'a\nb');
      assert.equal(sh('stat -c "%U %G %a" /etc/demo/content').trim(), 'nobody demo 640');
      assert.equal(sh('cat /etc/demo/local'), 'from the controller\n');
      assert.equal(sh('cat /etc/demo/template'), 'group-specific port=8080\n');
      assert.equal(sh('cat /etc/demo/copy'), sh('cat /etc/hostname'));
      assert.equal(sh('readlink /etc/demo/link').trim(), '/etc/demo/content');
      assert.equal(sh('cat /etc/demo/expanded'), 'home=/root\n');
      assert.equal(sh('cat /etc/demo/url'), 'served over HTTP by the node itself\n');
      assert.equal(sh('cat /var/lib/pallet/etc/demo/content'), 'a\nb');
      // The recorded checksum is the master copy's, as md5sum on the node computes it.
      assert.equal(
        sh('cat /var/lib/pallet/etc/demo/content.md5'),
        `${sh('md5sum < /var/lib/pallet/etc/demo/content').split(' ')[0]}  content\n`,
      );
      assert.equal(
        sh('cat /var/lib/pallet/etc/demo/template.md5'),
        `${sh('md5sum < /var/lib/pallet/etc/demo/template').split(' ')[0]}  template\n`,
      );
    },
  );
  assert.deepEqual(restarted, ['restart']);
  // Backups: change the content three times, keep two versions.
  for (const v of ['1', '2', '3'])
    await run(() => void remoteFile('/etc/demo/versions', { content: v, maxVersions: 2 }));
  assert.equal(sh('ls /var/lib/pallet/etc/demo/ | grep -c "^versions\\.~"').trim(), '2');
  // A hand edit on the node is detected; overwriteChanges replaces it.
  node.exec('echo edited >> /etc/demo/local');
  const bad = await lift(groupSpec('box', { nodeFilter: (n) => n.id === node.name }), {
    compute,
    user: user0,
    phase: () => void remoteFile('/etc/demo/local', { localFile: join(dir, 'local.txt') }),
  });
  assert.equal(bad.ok, false);
  assert.match(phaseErrors(bad)[0]!.message, /changed on the node since pallet last wrote it.*overwriteChanges/s);
  await run(() => void remoteFile('/etc/demo/local', { localFile: join(dir, 'local.txt'), overwriteChanges: true }));
  assert.equal(sh('cat /etc/demo/local'), 'from the controller\n');
  // A failing verify leaves the old file in place.
  const v = await lift(groupSpec('box', { nodeFilter: (n) => n.id === node.name }), {
    compute,
    user: user0,
    phase: () => void remoteFile('/etc/demo/verified', { content: 'bad\n', verify: 'grep -q ok' }),
  });
  assert.equal(v.ok, false);
  assert.equal(sh('cat /etc/demo/verified'), 'ok\n');
  assert.equal(sh('ls -a /etc/demo | grep -c pallet-new').trim(), '0', 'no temporary file left behind');
  // verify runs only when the content differs (as Ansible's validate): it logs each run here.
  const counted = (content: string) => () =>
    void remoteFile('/etc/demo/counted', {
      content,
      verify: 'sh -c \'echo checked >> /etc/demo/verify.log; grep -q ok "$1"\' verify',
    });
  for (const [content, runs] of [
    ['ok 1\n', '1'],
    ['ok 1\n', '1'],
    ['ok 2\n', '2'],
  ] as const) {
    const r = await lift(groupSpec('box', { nodeFilter: (n) => n.id === node.name }), {
      compute,
      user: user0,
      phase: counted(content),
    });
    assert.equal(r.ok, true, explainSession(r));
    assert.equal(sh('wc -l < /etc/demo/verify.log').trim(), runs, `after writing ${JSON.stringify(content)}`);
  }
  await twice(
    () => void remoteFile('/etc/demo/copy', { action: 'delete' }),
    () => assert.equal(node.exec('test -e /etc/demo/copy').status, 1),
  );
  // A download with an md5: fetched once, skipped when the file already has it, refused when it does not match.
  const md5 = sh('md5sum < /etc/demo/url').split(' ')[0]!;
  const url = `${download}/download.txt`;
  await twice(
    () => void remoteFile('/etc/demo/url-md5', { url, md5 }),
    () => assert.equal(sh('md5sum < /etc/demo/url-md5').split(' ')[0], md5),
  );
  const wrong = await lift(groupSpec('box', { nodeFilter: (n) => n.id === node.name }), {
    compute,
    user: user0,
    phase: () => void remoteFile('/etc/demo/url-bad', { url, md5: '0'.repeat(32) }),
  });
  assert.equal(wrong.ok, false);
  assert.match(phaseErrors(wrong)[0]!.message, /failed to match md5/);
  assert.equal(node.exec('test -e /etc/demo/url-bad').status, 1);
  // remoteFileContent reads a file as a node value.
  let read = '';
  await run(() => {
    const c = remoteFileContent('/etc/demo/content');
    withActionValues([c], (text) => void (read = text));
  });
  assert.equal(read, 'a\nb');
});

test('directories, files, links, fifos, sed, remoteDirectory', async () => {
  writeFileSync(join(dir, 'sed.txt'), '');
  const src = join(dir, 'tree');
  mkdirSync(join(src, 'app-1.0/bin'), { recursive: true });
  writeFileSync(join(src, 'app-1.0/bin/run'), '#!/bin/sh\necho run\n');
  execFileSync('tar', ['-C', src, '-czf', join(dir, 'app.tgz'), 'app-1.0']);
  const first = await twice(
    () => {
      directory('/srv/a/b', { owner: 'nobody', mode: '0750' });
      directories(['/srv/c', '/srv/d'], { mode: '0700' });
      file('/srv/c/empty', { mode: '0600' });
      symbolicLink('/srv/c/empty', '/srv/c/link');
      fifo('/srv/c/pipe');
      execScript("printf 'listen=80\\n#comment=80\\n' > /srv/c/conf", { creates: '/srv/c/conf' });
      sed('/srv/c/conf', { '=80$': '=8080' }, { restriction: '/^listen/' });
      remoteDirectory('/opt/app', { localFile: join(dir, 'app.tgz'), owner: 'nobody' });
    },
    () => {
      assert.equal(sh('stat -c "%U %a" /srv/a/b').trim(), 'nobody 750');
      assert.equal(sh('stat -c %a /srv/c /srv/d').trim(), '700\n700');
      assert.equal(sh('stat -c "%s %a" /srv/c/empty').trim(), '0 600');
      assert.equal(sh('readlink /srv/c/link').trim(), '/srv/c/empty');
      assert.equal(node.exec('test -p /srv/c/pipe').status, 0);
      assert.equal(sh('cat /srv/c/conf'), 'listen=8080\n#comment=80\n');
      assert.equal(sh('sh /opt/app/bin/run'), 'run\n');
      assert.equal(sh('stat -c %U /opt/app/bin/run').trim(), 'nobody');
    },
  );
  assert.equal(actionsOf(first).filter((a) => a.context.includes('remoteDirectory')).length, 4);
  await twice(
    () => {
      directory('/srv/d', { action: 'delete' });
      file('/srv/c/empty', { action: 'delete' });
      symbolicLink('/srv/c/empty', '/srv/c/link', { action: 'delete' });
    },
    () => assert.equal(node.exec('test -e /srv/d || test -e /srv/c/empty || test -L /srv/c/link').status, 1),
  );
});

test('users and groups: create, update, lock, unlock, remove', async () => {
  await twice(
    () => {
      group('staff2', { gid: 3100 });
      user('alice', { shell: 'bash', comment: 'Alice A', groups: ['staff2'], home: '/home/alice' });
    },
    () => {
      assert.match(sh('getent passwd alice'), /^alice:x:\d+:\d+:Alice A:\/home\/alice:\/bin\/bash$/m);
      assert.match(sh('id -Gn alice'), /staff2/);
      assert.equal(sh('getent group staff2').split(':')[2], '3100');
      assert.equal(node.exec('test -d /home/alice').status, 0);
    },
  );
  await twice(
    () => void user('alice', { shell: 'sh', password: '$6$salt$aaaaaaaa' }),
    () => assert.match(sh('getent passwd alice'), /:\/bin\/sh$/m),
  );
  await twice(
    () => void user('alice', { action: 'lock' }),
    () => assert.match(sh('getent shadow alice').split(':')[1]!, /^!/),
  );
  await twice(
    () => void user('alice', { action: 'unlock' }),
    () => assert.doesNotMatch(sh('getent shadow alice').split(':')[1]!, /^!/),
  );
  await twice(
    () => {
      user('alice', { action: 'remove', removeHome: true });
      group('staff2', { action: 'remove' });
    },
    () => assert.equal(node.exec('getent passwd alice').status, 2),
  );
});

test('automatedAdminUser: user, authorized key, sudo rights checked by visudo; nothing changes the second time', async () => {
  const k = makeKey(dir, 'ops');
  await twice(
    () => automatedAdminUser('opsadmin', [k.pub]),
    () => {
      assert.match(sh('getent passwd opsadmin'), /:\/bin\/bash$/m);
      assert.equal(sh('cat /home/opsadmin/.ssh/authorized_keys'), `${k.pub}\n`);
      assert.equal(
        sh('stat -c "%U %a" /home/opsadmin/.ssh /home/opsadmin/.ssh/authorized_keys').trim(),
        'opsadmin 700\nopsadmin 600',
      );
      assert.equal(sh('su opsadmin -c "sudo -n id -un"').trim(), 'root');
    },
    [/^pkg sudo/],
  );
});

test('execScript, execCheckedScript and exec with guards change once', async () => {
  await twice(
    () => {
      execScript('echo made > /root/made', { creates: '/root/made' });
      execCheckedScript('checked', ['mkdir -p /root/checked', 'touch /root/checked/x'], {
        unless: 'test -e /root/checked/x',
      });
      exec(
        { language: 'perl', creates: '/root/perl.txt' },
        'open(my $f, ">", "/root/perl.txt") or die; print $f "from perl\\n";',
      );
      exec(
        { interpreter: '/bin/bash', creates: '/root/bash.txt' },
        'declare -A m=([k]=v); echo "${m[k]}" > /root/bash.txt',
      );
    },
    () => {
      assert.equal(sh('cat /root/made'), 'made\n');
      assert.equal(node.exec('test -e /root/checked/x').status, 0);
      assert.equal(sh('cat /root/perl.txt'), 'from perl\n');
      assert.equal(sh('cat /root/bash.txt'), 'v\n');
    },
  );
  const r = await lift(groupSpec('box', { nodeFilter: (n) => n.id === node.name }), {
    compute,
    user: user0,
    phase: () => void execCheckedScript('steps', ['true', 'echo oops >&2; false', 'touch /root/never']),
  });
  assert.equal(r.ok, false);
  assert.match(phaseErrors(r)[0]!.message, /#> steps : FAIL \(echo oops >&2; false\)/);
  assert.equal(node.exec('test -e /root/never').status, 1);
});

test('services: an init script, start, enable, stop, disable, restart', async () => {
  await twice(
    () => {
      serviceScript('demo', { content: initScript });
      service('demo', { action: 'start' });
      service('demo', { action: 'enable' });
    },
    () => {
      assert.equal(node.exec('start-stop-daemon --status --pidfile /run/demo.pid').status, 0);
      assert.match(sh('ls /etc/rc2.d/'), /S\d\ddemo/);
    },
  );
  await twice(
    () => {
      service('demo', { action: 'stop' });
      service('demo', { action: 'disable' });
    },
    () => {
      assert.notEqual(node.exec('start-stop-daemon --status --pidfile /run/demo.pid').status, 0);
      assert.doesNotMatch(sh('ls /etc/rc2.d/'), /S\d\ddemo/);
    },
  );
  const r = await run(() => void service('demo', { action: 'restart' }));
  assert.deepEqual(changed(r), ['service demo restart'], 'a restart always acts');
  assert.equal(node.exec('start-stop-daemon --status --pidfile /run/demo.pid').status, 0);
  const pid = sh('cat /run/demo.pid').trim();
  const w = await run(() => withServiceRestart('demo', () => void remoteFile('/etc/demo.conf', { content: 'x=1\n' })));
  assert.deepEqual(changed(w), ['service demo stop', 'remoteFile /etc/demo.conf', 'service demo start']);
  assert.notEqual(sh('cat /run/demo.pid').trim(), pid, 'the service was restarted around the change');
});

test('waitForFile and retryUntil never change anything', async () => {
  const r = await run(() => {
    waitForFile('/etc/hostname', { maxRetries: 2, standoff: 0 });
    waitForFile('/nonexistent', { action: 'remove', maxRetries: 2, standoff: 0 });
    retryUntil({ maxRetries: 3, standoff: 0 }, 'test -e /etc/hostname');
  });
  assert.deepEqual(changed(r), []);
  const bad = await lift(groupSpec('box', { nodeFilter: (n) => n.id === node.name }), {
    compute,
    user: user0,
    phase: () => void waitForFile('/nope', { maxRetries: 2, standoff: 0 }),
  });
  assert.equal(bad.ok, false);
  assert.match(phaseErrors(bad)[0]!.message, /waitForFile \/nope: still not true after 2 tries/);
});

test('rsyncDirectory copies a controller directory with host keys checked', async () => {
  const tree = join(dir, 'site');
  mkdirSync(join(tree, 'css'), { recursive: true });
  writeFileSync(join(tree, 'index.html'), '<h1>hi</h1>\n');
  writeFileSync(join(tree, 'css/site.css'), 'h1{}\n');
  const first = await twice(
    () => {
      pkg('rsync');
      rsyncDirectory(tree, '/srv/site');
    },
    () => {
      assert.equal(sh('cat /srv/site/index.html'), '<h1>hi</h1>\n');
      assert.equal(sh('cat /srv/site/css/site.css'), 'h1{}\n');
    },
    [/^pkg rsync/],
  );
  // A composite is a named plan function: its name is in the context of the actions it records.
  assert.deepEqual(
    actionsOf(first)
      .filter((a) => a.context.includes('rsyncDirectory'))
      .map((a) => a.summary.split(' ')[0]),
    ['directory', 'rsync'],
  );
});

test('onOneNode runs its body on exactly one node of the role', async () => {
  const g = groupSpec('box', {
    roles: ['db'],
    phases: { configure: () => void onOneNode('db', () => void file('/root/leader')) },
  });
  const r = await lift(g, { compute, user: user0 });
  assert.equal(r.ok, true, explainSession(r));
  const leaders = nodes.filter((n) => n.exec('test -e /root/leader').status === 0).map((n) => n.name);
  assert.equal(leaders.length, 1);
  void targetId;
});

test('content, paths and comments full of shell metacharacters arrive exactly; nothing else runs', async () => {
  const weird = "/srv/we'ird $(touch /root/pwned1) `touch /root/pwned2` ; dir";
  const content = Buffer.concat([
    Buffer.from('$(touch /root/pwned3) `id` \'q\' "d" \\ \n'),
    Buffer.from([0xff, 0xfe, 0x01, 0x0a]),
    Buffer.from('PALLET_EOF\n\u00e9'),
  ]);
  await twice(
    () => {
      directory(weird);
      remoteFile(`${weird}/f;x`, { content });
      user('metauser', { comment: "Q'uote $(touch /root/pwned4) `x`" });
    },
    () => {
      const b64 = node.exec(
        `base64 -w0 "/srv/we'ird \\$(touch /root/pwned1) \\\`touch /root/pwned2\\\` ; dir/f;x"`,
      ).stdout;
      assert.deepEqual(Buffer.from(b64, 'base64'), content);
      assert.equal(sh('getent passwd metauser').split(':')[4], "Q'uote $(touch /root/pwned4) `x`");
      assert.equal(sh('ls /root | grep -c pwned').trim(), '0');
    },
  );
});
