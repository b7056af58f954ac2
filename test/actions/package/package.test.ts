/**
 * Exact scripts of the package actions (`pkg`, `packages`, `packageSource`, `packageManager`) for
 * each package manager, and their ordering in a scope.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { debconfSetSelections, execScript, packageManager, packages, packageSource, pkg } from '../../../src/index.js';
import { compile, families, runOn, type Os } from '../../helpers/compile.js';

const os = (osFamily: string, osVersion: string): Os => ({ osFamily, osVersion });

const installLines = (mgr: { check: (p: string) => string; install: string }, names: string[]) =>
  [
    'set --',
    ...names.map((n) => `${mgr.check(`'${n}'`)} || set -- "$@" '${n}'`),
    `if [ $# -gt 0 ]; then ${mgr.install} "$@" || exit 1; pallet_changed; fi`,
  ].join('\n');

test('pkg: exact scripts per package manager, one manager call for every package of the scope', async () => {
  const plan = () => {
    pkg('curl');
    execScript('true');
    pkg('git');
    pkg('curl');
  };
  const expected: Record<string, string> = {
    centos: [
      ':',
      installLines({ check: (p) => `rpm -q ${p} >/dev/null 2>&1`, install: 'yum -q -y install' }, ['curl', 'git']),
    ].join('\n'),
    fedora: [
      ':',
      installLines({ check: (p) => `rpm -q ${p} >/dev/null 2>&1`, install: 'dnf -q -y install' }, ['curl', 'git']),
    ].join('\n'),
    rocky: [
      ':',
      installLines({ check: (p) => `rpm -q ${p} >/dev/null 2>&1`, install: 'dnf -q -y install' }, ['curl', 'git']),
    ].join('\n'),
    'amzn-linux': [
      ':',
      installLines({ check: (p) => `rpm -q ${p} >/dev/null 2>&1`, install: 'yum -q -y install' }, ['curl', 'git']),
    ].join('\n'),
    alpine: [
      ':',
      installLines({ check: (p) => `apk info -e ${p} >/dev/null 2>&1`, install: 'apk add --no-cache' }, [
        'curl',
        'git',
      ]),
    ].join('\n'),
    arch: [
      ':',
      installLines({ check: (p) => `pacman -Q ${p} >/dev/null 2>&1`, install: 'pacman -S --noconfirm --needed' }, [
        'curl',
        'git',
      ]),
    ].join('\n'),
    'opensuse-leap': [
      ':',
      installLines({ check: (p) => `rpm -q ${p} >/dev/null 2>&1`, install: 'zypper -n -q install' }, ['curl', 'git']),
    ].join('\n'),
    darwin: [
      ':',
      installLines({ check: (p) => `brew list --versions ${p} >/dev/null 2>&1`, install: 'brew install' }, [
        'curl',
        'git',
      ]),
    ].join('\n'),
  };
  for (const f of families) {
    const scripts = await compile(plan, f);
    assert.equal(scripts[0]!.action, 'pkg', 'aggregated first');
    assert.equal(scripts.filter((s) => s.action === 'pkg').length, 1, 'one pkg action');
    const want = expected[f.osFamily];
    if (want) {
      assert.equal(scripts[0]!.script, want, `${f.osFamily}`);
      continue;
    }
    // apt: each package checked, one apt-get call (through pallet_apt) for the missing ones, dpkg never prompting.
    const script = scripts[0]!.script;
    for (const n of ['curl', 'git'])
      assert.ok(
        script.includes(
          `dpkg-query -W -f='\${Status} \${Version}' '${n}' 2>/dev/null | grep -q '^install ok installed ' || set -- "$@" '${n}'`,
        ),
        `${f.osFamily} ${n}:\n${script}`,
      );
    assert.equal(script.match(/pallet_apt install "\$@"/g)?.length, 1, script);
    assert.match(script, /^export DEBIAN_FRONTEND=noninteractive$/m);
    assert.match(script, /pallet_conffiles='--force-confdef --force-confold'/);
    assert.match(script, /apt-get -q -y \$pallet_o "\$@" <\/dev\/null/);
    assert.match(script, /-o Dpkg::Options::=\$pallet_x/);
  }
});

test('pkg: remove, purge and upgrade checks; apt options', async () => {
  const [s] = await compile(() => {
    pkg('nano', { action: 'remove' });
    pkg('vim', { action: 'purge' });
    pkg('tzdata', { action: 'upgrade' });
    pkg('htop', { enable: 'bookworm-backports', allowUnsigned: true, disableServiceStart: true });
  });
  assert.match(
    s!.script,
    /if dpkg-query .* 'nano' .*; then set -- "\$@" 'nano'; fi\nif \[ \$# -gt 0 \]; then pallet_apt remove "\$@"/,
  );
  assert.match(s!.script, /pallet_apt purge "\$@"/);
  assert.match(s!.script, /pallet_apt install --only-upgrade 'tzdata'/);
  // From a release: apt's simulation decides, then the install (downgrades allowed: the release's version is wanted).
  assert.match(s!.script, /apt-get -s -q -t 'bookworm-backports' --allow-unauthenticated install 'htop'/);
  assert.match(
    s!.script,
    /pallet_apt -t 'bookworm-backports' --allow-unauthenticated --allow-downgrades install "\$@"/,
  );
  // An existing policy-rc.d that is not pallet's is kept; pallet's own is removed by a trap.
  assert.match(
    s!.script,
    /if \[ ! -e \/usr\/sbin\/policy-rc\.d \] \|\| grep -qx '# pallet: temporary' \/usr\/sbin\/policy-rc\.d; then/,
  );
  assert.match(s!.script, /trap 'rm -f \/usr\/sbin\/policy-rc\.d' EXIT/);
  await assert.rejects(
    compile(() => void pkg('curl; rm -rf /')),
    /package names are/,
  );
});

test("packages picks the list of the node's package manager", async () => {
  const plan = () => packages({ apt: ['apache2'], yum: ['httpd'], apk: ['apache2-alpine'] });
  assert.match((await compile(plan, os('debian', '12')))[0]!.script, /'apache2'/);
  assert.match((await compile(plan, os('rocky', '9')))[0]!.script, /'httpd'/);
  assert.match((await compile(plan, os('alpine', '3.20')))[0]!.script, /'apache2-alpine'/);
  assert.equal((await compile(plan, os('arch', 'rolling'))).length, 0);
});

test('ordering: packageSource, then packageManager, then pkg, before other actions', async () => {
  const scripts = await compile(() => {
    execScript('echo first');
    pkg('curl');
    packageManager('update');
    packageSource('backports', { apt: { url: 'http://deb.debian.org/debian', release: 'bookworm-backports' } });
    debconfSetSelections({ package: 'tzdata', question: 'tzdata/Areas', type: 'select', value: 'Europe' });
  });
  const order = scripts.map((s) => s.action);
  assert.equal(order[0], 'packageSource');
  assert.deepEqual(order.slice(3), ['pkg', 'execScript']);
  assert.deepEqual(new Set(order.slice(1, 3)), new Set(['packageManager', 'debconfSetSelections']));
});

test('packageSource: apt list with its own keyring, yum repo file', async () => {
  const [apt] = await compile(
    () =>
      void packageSource('extra', {
        apt: { url: 'http://example.invalid/debian', release: 'stable', scopes: ['main', 'contrib'], key: 'KEY' },
      }),
  );
  assert.match(apt!.script, /\/etc\/apt\/keyrings\/extra\.asc/);
  // The list file's bytes, decoded from the script: one line naming the keyring it is signed by.
  const list =
    /pallet_p='\/etc\/apt\/sources\.list\.d\/extra\.list'[\s\S]*?<<'PALLET_B64' \|\| exit 1\n([A-Za-z0-9+/=\n]+)\nPALLET_B64/.exec(
      apt!.script,
    )?.[1];
  assert.ok(list, 'the script writes /etc/apt/sources.list.d/extra.list');
  assert.equal(
    Buffer.from(list, 'base64').toString(),
    'deb [signed-by=/etc/apt/keyrings/extra.asc] http://example.invalid/debian stable main contrib\n',
  );
  const key =
    /pallet_p='\/etc\/apt\/keyrings\/extra\.asc'[\s\S]*?<<'PALLET_B64' \|\| exit 1\n([A-Za-z0-9+/=\n]+)\nPALLET_B64/.exec(
      apt!.script,
    )?.[1];
  assert.equal(Buffer.from(key ?? '', 'base64').toString(), 'KEY');
  const [yum] = await compile(
    () =>
      void packageSource('extra', { yum: { url: 'http://example.invalid/el9', gpgkey: 'http://example.invalid/key' } }),
    os('rocky', '9'),
  );
  assert.match(yum!.script, /\/etc\/yum\.repos\.d\/extra\.repo/);
  assert.match(yum!.script, /rpm --import 'http:\/\/example\.invalid\/key'/);
});

test('packageManager: update, upgrade and proxy for each family', async () => {
  // Every family of the table is checked (a family missing here fails the test): the update command, the
  // upgrade that runs only when something is out of date, and the proxy setting (or the refusal to guess one).
  const yum = {
    update: /^yum -q makecache \|\| exit 1$/m,
    upgrade: /if yum -q check-update >\/dev\/null; then :; else \[ \$\? -eq 100 \] \|\| exit 1; yum -q -y upgrade/,
    proxy: /PALLET_PROXY='http:\/\/proxy\.example:3128'[\s\S]*\/etc\/yum\.conf/,
  };
  const dnf = {
    update: /^dnf -q makecache \|\| exit 1$/m,
    upgrade: /if dnf -q check-update >\/dev\/null; then :; else \[ \$\? -eq 100 \] \|\| exit 1; dnf -q -y upgrade/,
    proxy: /PALLET_PROXY='http:\/\/proxy\.example:3128'[\s\S]*\/etc\/dnf\/dnf\.conf/,
  };
  const apt = {
    update: /^apt-get -qq update \|\| exit 1$/m,
    upgrade: /if LC_ALL=C apt-get -s -q upgrade \| grep -q "\^Inst "; then pallet_apt upgrade/,
    proxy: /pallet_p='\/etc\/apt\/apt\.conf\.d\/50pallet-proxy'/,
  };
  const expected: Record<string, { update: RegExp; upgrade: RegExp; proxy: RegExp | 'refused' }> = {
    debian: apt,
    ubuntu: apt,
    centos: yum,
    rocky: dnf,
    fedora: dnf,
    'amzn-linux': yum,
    alpine: {
      update: /^apk update -q \|\| exit 1$/m,
      upgrade: /if apk upgrade -s \| grep -q Upgrading; then apk upgrade -q/,
      proxy: 'refused',
    },
    arch: {
      update: /^pacman -Sy --noconfirm \|\| exit 1$/m,
      upgrade: /if \[ -n "\$\(pacman -Qu\)" \]; then pacman -Su --noconfirm/,
      proxy: 'refused',
    },
    'opensuse-leap': {
      update: /^zypper -n -q refresh \|\| exit 1$/m,
      upgrade: /if zypper -n -q list-updates \| grep -q "\^v"; then zypper -n -q update/,
      proxy: 'refused',
    },
    darwin: {
      update: /^brew update \|\| exit 1$/m,
      upgrade: /if \[ -n "\$\(brew outdated\)" \]; then brew upgrade/,
      proxy: 'refused',
    },
  };
  assert.deepEqual(
    Object.keys(expected).sort(),
    families.map((f) => f.osFamily).sort(),
    'every family has expectations',
  );
  for (const f of families) {
    const e = expected[f.osFamily]!;
    const [update] = await compile(() => void packageManager('update'), f);
    assert.match(update!.script, e.update, `${f.osFamily} update`);
    const [upgrade] = await compile(() => void packageManager('upgrade'), f);
    assert.match(upgrade!.script, e.upgrade, `${f.osFamily} upgrade`);
    const proxy = () => compile(() => void packageManager('configure', { proxy: 'http://proxy.example:3128' }), f);
    if (e.proxy === 'refused')
      await assert.rejects(
        proxy(),
        /no proxy setting for \w+; set HTTP_PROXY in scriptEnv instead/,
        `${f.osFamily} proxy`,
      );
    else assert.match((await proxy())[0]!.script, e.proxy, `${f.osFamily} proxy`);
  }
});

test('packageSource for apk, pacman and brew; a missing section is a clear error', async () => {
  // Run the scripts on this machine against a copy of the file: the source is replaced in place, others kept, a second run changes nothing.
  const apk = (url: string) => compile(() => void packageSource('x', { apk: { url } }), os('alpine', '3.20'));
  const repos = 'http://dl.invalid/v3.20/main\n# a comment\n';
  const once = await runOn((await apk('http://x.invalid/one'))[0]!.script, '/etc/apk/repositories', repos);
  assert.equal(once.content, `${repos}# pallet source x\nhttp://x.invalid/one\n`);
  assert.deepEqual(once.reported, ['changed', 'flag packagesourcechanged']);
  const again = await runOn((await apk('http://x.invalid/one'))[0]!.script, '/etc/apk/repositories', once.content);
  assert.deepEqual([again.content, again.reported], [once.content, []]);
  const moved = await runOn((await apk('http://x.invalid/two'))[0]!.script, '/etc/apk/repositories', once.content);
  assert.equal(moved.content, `${repos}# pallet source x\nhttp://x.invalid/two\n`);
  const pacman = (url: string) =>
    compile(() => void packageSource('x', { pacman: { url, sigLevel: 'Optional TrustAll' } }), os('arch', 'rolling'));
  const conf = '[options]\nHoldPkg = pacman\n\n[core]\nInclude = /etc/pacman.d/mirrorlist\n';
  const p1 = await runOn((await pacman('http://x.invalid/$repo'))[0]!.script, '/etc/pacman.conf', conf);
  assert.equal(p1.content, `${conf}\n[x]\nSigLevel = Optional TrustAll\nServer = http://x.invalid/$repo\n`);
  const p2 = await runOn(
    (await pacman('http://y.invalid/$repo'))[0]!.script,
    '/etc/pacman.conf',
    `${p1.content}[extra]\nInclude = x\n`,
  );
  assert.equal(
    p2.content,
    `${conf}\n[x]\nSigLevel = Optional TrustAll\nServer = http://y.invalid/$repo\n[extra]\nInclude = x\n`,
  );
  const p3 = await runOn((await pacman('http://y.invalid/$repo'))[0]!.script, '/etc/pacman.conf', p2.content);
  assert.deepEqual([p3.content, p3.reported], [p2.content, []]);
  await assert.rejects(
    compile(() => void packageSource('x', { apt: { url: 'http://x.invalid' } }), os('alpine', '3.20')),
    /packageSource 'x': no apk options for an apk node/,
  );
});

test('packageManager configure on dnf/yum sets proxy= in [main] of dnf.conf / yum.conf, keeping the rest', async () => {
  const run = async (proxy: string | undefined, content: string | undefined) => {
    const [s] = await compile(() => void packageManager('configure', proxy ? { proxy } : {}), os('rocky', '9'));
    return runOn(s!.script, '/etc/dnf/dnf.conf', content, ['/etc/yum.repos.d/pallet-proxy.conf']);
  };
  const conf = '[main]\ngpgcheck=1\nproxy=http://old.invalid:1\n\n[other]\nproxy=keep-me\n';
  const set = await run('http://p.invalid:3128', conf);
  assert.equal(set.content, '[main]\ngpgcheck=1\nproxy=http://p.invalid:3128\n\n[other]\nproxy=keep-me\n');
  assert.deepEqual(set.reported, ['changed']);
  const again = await run('http://p.invalid:3128', set.content);
  assert.deepEqual(again.reported, []);
  assert.equal(
    (await run('http://p.invalid:3128', '[main]\ngpgcheck=1\n')).content,
    '[main]\ngpgcheck=1\nproxy=http://p.invalid:3128\n',
  );
  assert.equal((await run('http://p.invalid:3128', undefined)).content, '[main]\nproxy=http://p.invalid:3128\n');
  assert.equal((await run(undefined, set.content)).content, '[main]\ngpgcheck=1\n\n[other]\nproxy=keep-me\n');
  const [yum] = await compile(() => void packageManager('configure', { proxy: 'http://p.invalid' }), os('centos', '7'));
  assert.match(yum!.script, /\/etc\/yum\.conf/);
  await assert.rejects(
    compile(() => void packageManager('configure', { proxy: 'http://p.invalid' }), os('alpine', '3.20')),
    /no proxy setting for apk/,
  );
});

test('packageManager update with maxAge, addScope and its shorthands; plan-time refusals', async () => {
  const [s] = await compile(() => {
    packageManager('update', { maxAge: 600 });
    packageManager('update', { maxAge: 60 });
  });
  assert.match(s!.script, /stat -c %Y \/var\/lib\/apt\/periodic\/update-success-stamp/);
  assert.match(s!.script, /-lt 60 \]/, 'the strictest maxAge wins');
  assert.equal(s!.script.match(/apt-get -qq update/g)?.length, 1);
  const [always] = await compile(() => {
    packageManager('update', { maxAge: 600 });
    packageManager('update');
  });
  assert.doesNotMatch(always!.script, /maxAge/, 'an update without maxAge always runs');
  const [m] = await compile(() => void packageManager('multiverse'), os('ubuntu', '24.04'));
  assert.match(m!.script, /awk -v s='multiverse'/);
  assert.match(m!.script, /ubuntu\.sources/);
  await assert.rejects(
    compile(() => void packageManager('addScope')),
    /give the component to add as scope/,
  );
  await assert.rejects(
    compile(() => void pkg('nginx=1.2', { action: 'latest' })),
    /a pinned version cannot be 'latest'/,
  );
  await assert.rejects(
    compile(() => void packageSource('x', { apt: { url: 'http://x.invalid', key: 'K', keyId: 'ABCDEF0123456789' } })),
    /at most one of key, keyUrl, keyId/,
  );
  const { debconfSetSelections: debconf } = await import('../../../src/index.js');
  const [d] = await compile(() => void debconf({ line: 'tzdata tzdata/Areas select Europe' }));
  assert.match(d!.script, /'tzdata tzdata\/Areas select Europe'/);
});
