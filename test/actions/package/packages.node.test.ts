/**
 * Packages on a real Debian node, without the internet: tiny `.deb` packages
 * built here with dpkg-deb, served from local `file:` apt repositories on the
 * node (`stable` with versions 1.0 and 2.0, `next` with 3.0 and NotAutomatic,
 * like experimental). Every step runs twice: the first run changes the node,
 * the second changes nothing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  execScript,
  explainSession,
  groupSpec,
  lift,
  packageManager,
  packageSource,
  pkg,
  type ActionResult,
  type OperationResult,
  type PhaseFn,
} from '../../../src/index.js';
import { removeNodes, startOneNode, type TestNode } from '../../helpers/nodes.js';
import { serveAptRepos, type Deb } from '../../helpers/debs.js';

const LABEL = 'packages-suite';
let env: Awaited<ReturnType<typeof startOneNode>>;
let node: TestNode;

const conf = (v: string): Deb => ({
  name: 'pallet-conf',
  version: v,
  files: { 'etc/pallet-conf/app.conf': `version ${v}\n`, 'usr/share/pallet-conf/VERSION': `${v}\n` },
  conffiles: ['/etc/pallet-conf/app.conf'],
});

before(async () => {
  env = await startOneNode(LABEL);
  node = env.node;
  serveAptRepos(env.dir, node, [
    {
      suite: 'stable',
      debs: [
        conf('1.0'),
        conf('2.0'),
        { name: 'pallet-plain', version: '1.0', files: { 'usr/share/pallet-plain/x': 'x\n' } },
        {
          name: 'pallet-svc',
          version: '1.0',
          files: { 'usr/share/pallet-svc/x': 'x\n' },
          // Records what a service start would be told by policy-rc.d while the package is configured.
          postinst:
            '#!/bin/sh\nif [ -x /usr/sbin/policy-rc.d ]; then /usr/sbin/policy-rc.d pallet-svc start; echo $?; else echo none; fi > /var/tmp/pallet-svc-policy\nexit 0\n',
        },
        {
          name: 'pallet-broken',
          version: '1.0',
          files: { 'usr/share/pallet-broken/x': 'x\n' },
          postinst: '#!/bin/sh\necho "pallet-broken: cannot configure" >&2\nexit 1\n',
        },
      ],
    },
    { suite: 'next', debs: [conf('3.0')], notAutomatic: true },
  ]);
});

after(() => removeNodes(LABEL));

const sh = (cmd: string) => node.exec(cmd).stdout;
const status = (p: string) =>
  sh(`dpkg-query -W -f='\${db:Status-Abbrev}\${Version}' ${p} 2>/dev/null`).replace(/\s+/g, ' ');

async function run(phase: PhaseFn): Promise<OperationResult> {
  return lift(groupSpec('box'), { compute: env.compute, user: env.admin, phase });
}

const actions = (r: OperationResult): ActionResult[] =>
  r.results.filter((x) => !x.phase.startsWith('pallet/')).flatMap((x) => x.actions);
const changed = (r: OperationResult) =>
  actions(r)
    .filter((a) => a.changed)
    .map((a) => a.summary);

/** First run changes (the actions matching `changes`), `verify` checks the node, the second run changes nothing. */
async function twice(phase: PhaseFn, changes: RegExp[], verify: () => void): Promise<OperationResult> {
  const r1 = await run(phase);
  assert.equal(r1.ok, true, explainSession(r1));
  const c1 = changed(r1);
  for (const re of changes)
    assert.ok(
      c1.some((s) => re.test(s)),
      `first run changes ${re}: ${JSON.stringify(c1)}`,
    );
  verify();
  const r2 = await run(phase);
  assert.equal(r2.ok, true, explainSession(r2));
  assert.deepEqual(changed(r2), [], 'second run: nothing changes');
  return r2;
}

test('install a pinned version; update is skipped within maxAge and says so', async () => {
  const second = await twice(
    () => {
      packageManager('update', { maxAge: 3600 });
      pkg('pallet-conf=1.0');
    },
    [/^pkg pallet-conf=1.0/],
    () => assert.equal(status('pallet-conf'), 'ii 1.0'),
  );
  const update = actions(second).find((a) => a.summary.startsWith('packageManager'))!;
  assert.match(update.out, /package lists updated \d+ s ago \(maxAge 3600 s\): not updated/);
  assert.equal(sh('test -f /var/lib/apt/periodic/update-success-stamp && echo yes').trim(), 'yes');
});

test('latest moves 1.0 -> 2.0 keeping the admin-edited conffile (maintainer version beside it), package fully installed', async (t) => {
  node.exec("echo 'edited by the admin' > /etc/pallet-conf/app.conf");
  const second = await twice(
    () => {
      packageManager('update', { maxAge: 3600 });
      pkg('pallet-conf', { action: 'latest' });
    },
    [/^pkg latest:pallet-conf/],
    () => {
      assert.equal(status('pallet-conf'), 'ii 2.0');
      assert.equal(sh('cat /etc/pallet-conf/app.conf'), 'edited by the admin\n');
      assert.equal(sh('cat /etc/pallet-conf/app.conf.dpkg-dist'), 'version 2.0\n');
      assert.equal(sh('dpkg --audit'), '', 'nothing half-installed');
    },
  );
  // The second run decided from the package database: no installer ran (apt-get prints nothing).
  const p = actions(second).find((a) => a.summary.startsWith('pkg'))!;
  assert.equal(p.out, '');
  // For the record (not asserted): what the steady state costs against a phase that only runs `true`.
  const time = async (phase: PhaseFn) => {
    const t0 = performance.now();
    await run(phase);
    return Math.round(performance.now() - t0);
  };
  const steady = await time(() => {
    packageManager('update', { maxAge: 3600 });
    pkg('pallet-conf', { action: 'latest' });
  });
  const floor = await time(() => void execScript('true'));
  t.diagnostic(`second run of update(maxAge) + latest: ${steady} ms; a phase running only 'true': ${floor} ms`);
});

test('a pin is enforced both ways, and a release is honoured', async () => {
  await twice(
    () => void pkg('pallet-conf=1.0'),
    [/^pkg pallet-conf=1.0/],
    () => {
      assert.equal(status('pallet-conf'), 'ii 1.0');
      assert.equal(sh('cat /etc/pallet-conf/app.conf'), 'edited by the admin\n');
    },
  );
  await twice(
    () => void pkg('pallet-conf=2.0'),
    [/^pkg pallet-conf=2.0/],
    () => assert.equal(status('pallet-conf'), 'ii 2.0'),
  );
  // next is NotAutomatic: only asked for by name/release does it give 3.0.
  await twice(
    () => void pkg('pallet-conf/next'),
    [/^pkg pallet-conf\/next/],
    () => assert.equal(status('pallet-conf'), 'ii 3.0'),
  );
  for (const phase of [
    () => void pkg('pallet-conf', { enable: 'next' }),
    () => void pkg('pallet-conf', { action: 'latest' }),
    () => void pkg('pallet-conf'),
  ]) {
    const r = await run(phase);
    assert.deepEqual([r.ok, changed(r)], [true, []], explainSession(r));
  }
  assert.equal(status('pallet-conf'), 'ii 3.0');
});

test("conffiles: 'maintainer' takes the package's file and keeps the admin's as .dpkg-old", async () => {
  await twice(
    () => void pkg('pallet-conf=1.0', { conffiles: 'maintainer' }),
    [/^pkg pallet-conf=1.0/],
    () => {
      assert.equal(status('pallet-conf'), 'ii 1.0');
      assert.equal(sh('cat /etc/pallet-conf/app.conf'), 'version 1.0\n');
      assert.equal(sh('cat /etc/pallet-conf/app.conf.dpkg-old'), 'edited by the admin\n');
    },
  );
});

test('a package an interrupted run left unconfigured is configured before the next install', async () => {
  // dpkg --unpack without --configure: what a run killed mid-install leaves behind.
  assert.equal(
    node.exec('cd /srv/repo/stable && dpkg --unpack pallet-conf_2.0_all.deb >/dev/null 2>&1; echo $?').stdout.trim(),
    '0',
  );
  assert.equal(status('pallet-conf'), 'iU 2.0');
  await twice(
    () => void pkg('pallet-plain'),
    [/^pkg pallet-plain/],
    () => {
      assert.equal(status('pallet-plain'), 'ii 1.0');
      assert.equal(status('pallet-conf'), 'ii 2.0');
    },
  );
});

test("a package that fails to configure: the error names dpkg's own lines", async () => {
  try {
    const r = await run(() => void pkg('pallet-broken'));
    assert.equal(r.ok, false);
    const failure = actions(r).find((a) => a.error)!;
    assert.match(
      failure.error!.message,
      /failed with exit code 1: [^]*dpkg: error processing package pallet-broken \(--configure\)/,
    );
    assert.match(failure.error!.message, /post-installation script subprocess returned error exit status 1/);
    // Its own postinst fails: that package stays half-configured (as with any tool) and pallet says so.
    assert.equal(status('pallet-broken'), 'iF 1.0');
  } finally {
    node.exec('dpkg --remove --force-remove-reinstreq pallet-broken >/dev/null 2>&1');
  }
  assert.equal(sh('dpkg --audit'), '');
});

test("disableServiceStart: an existing policy-rc.d is kept; without one, pallet's own exists only during the install", async () => {
  node.exec(
    "printf '#!/bin/sh\\n# the admin\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d",
  );
  await twice(
    () => void pkg('pallet-svc', { disableServiceStart: true }),
    [/^pkg pallet-svc/],
    () => {
      assert.equal(sh('cat /usr/sbin/policy-rc.d'), '#!/bin/sh\n# the admin\nexit 101\n');
      assert.equal(sh('cat /var/tmp/pallet-svc-policy'), '101\n');
    },
  );
  node.exec('rm -f /usr/sbin/policy-rc.d /var/tmp/pallet-svc-policy');
  assert.equal((await run(() => void pkg('pallet-svc', { action: 'purge' }))).ok, true);
  await twice(
    () => void pkg('pallet-svc', { disableServiceStart: true }),
    [/^pkg pallet-svc/],
    () => {
      assert.equal(sh('cat /var/tmp/pallet-svc-policy'), '101\n', 'services were told not to start');
      assert.equal(node.exec('test -e /usr/sbin/policy-rc.d').status, 1, 'and the temporary policy-rc.d is gone');
    },
  );
});

test('addScope adds a component to the distribution lines only; packageSource files follow a changed URL', async () => {
  node.exec(
    "printf '%s\\n' 'deb http://deb.debian.org/debian bookworm main' '# deb http://example.invalid x main' 'deb [arch=amd64 signed-by=/k.gpg] http://deb.debian.org/debian bookworm-updates main contrib' > /etc/apt/sources.list",
  );
  await twice(
    () => void packageManager('addScope', { scope: 'contrib' }),
    [/^packageManager addScope:contrib/],
    () =>
      assert.equal(
        sh('cat /etc/apt/sources.list'),
        'deb http://deb.debian.org/debian bookworm main contrib\n# deb http://example.invalid x main\ndeb [arch=amd64 signed-by=/k.gpg] http://deb.debian.org/debian bookworm-updates main contrib\n',
      ),
  );
  assert.equal(
    sh('cat /etc/apt/sources.list.d/local.list'),
    'deb [trusted=yes] file:/srv/repo/stable ./\ndeb [trusted=yes] file:/srv/repo/next ./\n',
  );
  node.exec('rm -f /etc/apt/sources.list');
  for (const url of ['http://one.invalid/debian', 'http://two.invalid/debian']) {
    await twice(
      () => void packageSource('extra', { apt: { url, release: 'bookworm' } }),
      [/^packageSource extra/],
      () => assert.equal(sh('cat /etc/apt/sources.list.d/extra.list'), `deb ${url} bookworm main\n`),
    );
  }
  node.exec('rm -f /etc/apt/sources.list.d/extra.list');
});
