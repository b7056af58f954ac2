/**
 * Script-level tests of the actions: exact scripts where OS families differ,
 * and `sh -n` / `bash -n` on every action for every OS family.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addRpm,
  debconfSetSelections,
  directories,
  directory,
  exec,
  execCheckedScript,
  execScript,
  fifo,
  file,
  group,
  installDeb,
  minimalPackages,
  packageManager,
  packages,
  packageSource,
  pkg,
  remoteDirectory,
  remoteFile,
  retryUntil,
  sed,
  service,
  serviceScript,
  symbolicLink,
  user,
  waitForFile,
  withServiceRestart,
} from '../../src/index.js';
import { compile, families, syntaxErrors, type Os } from '../helpers/compile.js';

const os = (osFamily: string, osVersion: string): Os => ({ osFamily, osVersion });

const installLines = (mgr: { check: (p: string) => string; install: string }, names: string[]) =>
  ['set --', ...names.map((n) => `${mgr.check(`'${n}'`)} || set -- "$@" '${n}'`), `if [ $# -gt 0 ]; then ${mgr.install} "$@" || exit 1; pallet_changed; fi`].join('\n');

test('pkg: exact scripts per package manager, one manager call for every package of the scope', async () => {
  const plan = () => {
    pkg('curl');
    execScript('true');
    pkg('git');
    pkg('curl');
  };
  const expected: Record<string, string> = {
    debian: [
      'export DEBIAN_FRONTEND=noninteractive',
      installLines(
        { check: (p) => `dpkg-query -W -f='\${Status}' ${p} 2>/dev/null | grep -q 'ok installed'`, install: 'if ! ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1; then apt-get -qq update || exit 1; fi; apt-get -q -y install' },
        ['curl', 'git'],
      ),
    ].join('\n'),
    centos: [':', installLines({ check: (p) => `rpm -q ${p} >/dev/null 2>&1`, install: 'yum -q -y install' }, ['curl', 'git'])].join('\n'),
    fedora: [':', installLines({ check: (p) => `rpm -q ${p} >/dev/null 2>&1`, install: 'dnf -q -y install' }, ['curl', 'git'])].join('\n'),
    rocky: [':', installLines({ check: (p) => `rpm -q ${p} >/dev/null 2>&1`, install: 'dnf -q -y install' }, ['curl', 'git'])].join('\n'),
    'amzn-linux': [':', installLines({ check: (p) => `rpm -q ${p} >/dev/null 2>&1`, install: 'yum -q -y install' }, ['curl', 'git'])].join('\n'),
    alpine: [':', installLines({ check: (p) => `apk info -e ${p} >/dev/null 2>&1`, install: 'apk add --no-cache' }, ['curl', 'git'])].join('\n'),
    arch: [':', installLines({ check: (p) => `pacman -Q ${p} >/dev/null 2>&1`, install: 'pacman -S --noconfirm --needed' }, ['curl', 'git'])].join('\n'),
    'opensuse-leap': [':', installLines({ check: (p) => `rpm -q ${p} >/dev/null 2>&1`, install: 'zypper -n -q install' }, ['curl', 'git'])].join('\n'),
    darwin: [':', installLines({ check: (p) => `brew list --versions ${p} >/dev/null 2>&1`, install: 'brew install' }, ['curl', 'git'])].join('\n'),
  };
  for (const f of families) {
    const scripts = await compile(plan, f);
    assert.equal(scripts[0]!.action, 'pkg', 'aggregated first');
    assert.equal(scripts.filter((s) => s.action === 'pkg').length, 1, 'one pkg action');
    const want = expected[f.osFamily] ?? expected.debian!;
    assert.equal(scripts[0]!.script, want, `${f.osFamily}`);
  }
});

test('pkg: remove, purge and upgrade checks; apt options', async () => {
  const [s] = await compile(() => {
    pkg('nano', { action: 'remove' });
    pkg('vim', { action: 'purge' });
    pkg('tzdata', { action: 'upgrade' });
    pkg('htop', { enable: 'bookworm-backports', allowUnsigned: true, disableServiceStart: true });
  });
  assert.match(s!.script, /if dpkg-query .* 'nano' .*; then set -- "\$@" 'nano'; fi\nif \[ \$# -gt 0 \]; then apt-get -q -y remove "\$@"/);
  assert.match(s!.script, /apt-get -q -y purge "\$@"/);
  assert.match(s!.script, /apt-get -q -y install --only-upgrade 'tzdata'/);
  assert.match(s!.script, /apt-get -q -y -t 'bookworm-backports' --allow-unauthenticated install "\$@"; pallet_rc=\$\?/);
  assert.match(s!.script, /policy-rc\.d/);
  await assert.rejects(compile(() => void pkg('curl; rm -rf /')), /package names are/);
});

test('packages picks the list of the node\'s package manager', async () => {
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
  const [apt] = await compile(() => void packageSource('extra', { apt: { url: 'http://example.invalid/debian', release: 'stable', scopes: ['main', 'contrib'], key: 'KEY' } }));
  assert.match(apt!.script, /\/etc\/apt\/keyrings\/extra\.asc/);
  const decoded = Buffer.from(/<<'PALLET_EOF_\w+' \|\| exit 1\n([A-Za-z0-9+/=\n]+)\nPALLET_EOF/.exec(apt!.script.split('sources.list.d')[1] ?? apt!.script)?.[1] ?? '', 'base64').toString();
  void decoded;
  assert.match(apt!.script, /sources\.list\.d\/extra\.list/);
  const [yum] = await compile(() => void packageSource('extra', { yum: { url: 'http://example.invalid/el9', gpgkey: 'http://example.invalid/key' } }), os('rocky', '9'));
  assert.match(yum!.script, /\/etc\/yum\.repos\.d\/extra\.repo/);
  assert.match(yum!.script, /rpm --import 'http:\/\/example\.invalid\/key'/);
});

test('packageManager: update, upgrade and proxy for each family', async () => {
  const expectUpdate: Record<string, RegExp> = {
    debian: /apt-get -qq update/,
    centos: /yum -q makecache/,
    fedora: /dnf -q makecache/,
    alpine: /apk update -q/,
    arch: /pacman -Sy --noconfirm/,
    'opensuse-leap': /zypper -n -q refresh/,
    darwin: /brew update/,
  };
  for (const f of families) {
    const [s] = await compile(() => void packageManager('update'), f);
    const re = expectUpdate[f.osFamily];
    if (re) assert.match(s!.script, re, f.osFamily);
  }
});

test('user: exact stanza for a new or existing user; short flags everywhere', async () => {
  const [s] = await compile(() => {
    group('deployers', { gid: 4242 });
    user('deploy', { shell: 'bash', comment: 'Deploy user', groups: ['deployers'], home: '/srv/deploy' });
  });
  assert.equal(s!.action, 'group');
  const [, u] = await compile(() => {
    group('deployers');
    user('deploy', { shell: 'bash', comment: 'Deploy user', groups: ['deployers'], home: '/srv/deploy' });
  });
  assert.equal(
    u!.script,
    [
      'pallet_failed=',
      '(',
      "if getent passwd 'deploy' >/dev/null; then",
      'set --',
      `[ "$(getent passwd 'deploy' | cut -d: -f6)" = '/srv/deploy' ] || set -- "$@" -d '/srv/deploy'`,
      `[ "$(getent passwd 'deploy' | cut -d: -f7)" = '/bin/bash' ] || set -- "$@" -s '/bin/bash'`,
      `[ "$(getent passwd 'deploy' | cut -d: -f5)" = 'Deploy user' ] || set -- "$@" -c 'Deploy user'`,
      `pallet_pg="$(id -gn 'deploy')"`,
      `pallet_cur=$(id -Gn 'deploy' | tr ' ' '\\n' | grep -vxF "$pallet_pg" | LC_ALL=C sort -u | paste -sd, -)`,
      `pallet_want=$(printf '%s\\n' 'deployers' | grep -v '^$' | grep -vxF "$pallet_pg" | LC_ALL=C sort -u | paste -sd, -)`,
      '[ "$pallet_cur" = "$pallet_want" ] || set -- "$@" -G "$pallet_want"',
      `if [ $# -gt 0 ]; then usermod "$@" 'deploy' || exit 1; pallet_changed; fi`,
      'else',
      "useradd -m -d '/srv/deploy' -c 'Deploy user' -G 'deployers' -s '/bin/bash' 'deploy' || exit 1; pallet_changed",
      'fi',
      `) || pallet_failed="$pallet_failed "'deploy'`,
      'if [ -n "$pallet_failed" ]; then echo "user: failed for:$pallet_failed" >&2; exit 1; fi',
    ].join('\n'),
  );
  await assert.rejects(compile(() => void user('bad:name')), /user and group names/);
});

test('every action compiles to a script that sh -n and bash -n accept, for every OS family', async () => {
  const everything = () => {
    pkg('curl');
    pkg('old', { action: 'remove' });
    pkg('oldest', { action: 'purge' });
    pkg('tzdata', { action: 'upgrade' });
    packageManager('update');
    packageManager('upgrade');
    packageManager('configure', { proxy: 'http://proxy.invalid:3128' });
    minimalPackages();
    packageSource('src', {
      apt: { url: 'http://deb.invalid/debian', keyUrl: 'http://deb.invalid/key.asc' },
      yum: { url: 'http://yum.invalid/' },
      apk: { url: 'http://apk.invalid/v3.20/community' },
      pacman: { url: 'http://arch.invalid/$repo/os/$arch', sigLevel: 'Optional TrustAll' },
      brew: { tap: 'acme/tools' },
    });
    installDeb('/tmp/x.deb');
    addRpm('/tmp/x.rpm');
    remoteFile('/etc/a', { content: "it's $x `y`\n", owner: 'root', group: 'root', mode: '0640', flagOnChanged: 'a' });
    remoteFile('/etc/b', { url: 'http://deb.invalid/file', md5: '0123456789abcdef0123456789abcdef' });
    remoteFile('/etc/c', { remoteFile: '/etc/hostname', verify: 'test -s' });
    remoteFile('/etc/d', { link: '/etc/hostname' });
    remoteFile('/etc/e', { content: 'x $HOME', literal: false, overwriteChanges: true, maxVersions: 2 });
    remoteFile('/etc/f', { action: 'delete' });
    remoteDirectory('/opt/app', { url: 'http://deb.invalid/app.tgz', owner: 'root' });
    directory('/srv/x', { owner: 'root', mode: '0755' });
    directories(['/srv/y', '/srv/z'], { mode: '0700' });
    file('/srv/x/f', { mode: '0600' });
    symbolicLink('/srv/x/f', '/srv/x/l');
    fifo('/srv/x/p');
    sed('/etc/a', { 'a(b)': 'c\\1' }, { restriction: '/^x/' });
    group('g1', { gid: 1234, system: true });
    user('u1', { action: 'create', system: true, shell: 'false' });
    user('u2', { groups: ['g1'], append: true, password: '$6$salt$hash' });
    user('u3', { action: 'lock' });
    user('u4', { action: 'unlock' });
    user('u5', { action: 'remove', removeHome: true });
    execScript('echo hi', { creates: '/tmp/hi' });
    execCheckedScript('checked', 'echo a\necho b');
    execCheckedScript('steps', ['echo a', 'false']);
    exec({ language: 'perl' }, 'print "hi\\n";');
    service('ssh', { action: 'restart' });
    service('ssh', { action: 'enable' });
    service('ssh', { action: 'disable' });
    serviceScript('demo', { content: '#!/bin/sh\n' });
    withServiceRestart('demo', () => void file('/tmp/during'));
    waitForFile('/tmp/x', { maxRetries: 2, standoff: 0 });
    retryUntil({ maxRetries: 2 }, 'test -e /tmp/x');
  };
  for (const f of families) {
    const scripts = await compile(everything, f);
    assert.ok(scripts.length > 30);
    for (const s of scripts) assert.equal(syntaxErrors(s.script), '', `${f.osFamily} ${s.action}:\n${s.script}`);
  }
});

test('packageSource for apk, pacman and brew; a missing section is a clear error', async () => {
  const [apk] = await compile(() => void packageSource('x', { apk: { url: 'http://x.invalid/main' } }), os('alpine', '3.20'));
  assert.equal(apk!.script, "grep -qxF 'http://x.invalid/main' /etc/apk/repositories || { printf '%s\\n' 'http://x.invalid/main' >> /etc/apk/repositories || exit 1; pallet_changed; pallet_set_flag packagesourcechanged; }");
  const [pac] = await compile(() => void packageSource('x', { pacman: { url: 'http://x.invalid/$repo' } }), os('arch', 'rolling'));
  assert.match(pac!.script, /grep -qxF '\[x\]' \/etc\/pacman\.conf/);
  assert.match(pac!.script, /Server = http:\/\/x\.invalid\/\$repo/);
  await assert.rejects(compile(() => void packageSource('x', { apt: { url: 'http://x.invalid' } }), os('alpine', '3.20')), /packageSource 'x': no apk options for an apk node/);
});

test('dispatch errors are clear when a family has no implementation', async () => {
  await assert.rejects(compile(() => void pkg('x'), { osFamily: 'plan9', osVersion: '4' }), /pkg has no implementation for os family plan9/);
});

test('dispatch: the most specific implementation wins; version ranges; default', async () => {
  const { dispatch } = await import('../../src/index.js');
  const impls = [
    { when: 'default' as const, impl: 'default' },
    { when: { osFamily: ['debian', 'ubuntu'] }, impl: 'debian-family' },
    { when: { osFamily: 'ubuntu', osVersion: { min: '22.04' } }, impl: 'new-ubuntu' },
    { when: { osFamily: 'ubuntu', packager: 'aptitude', osVersion: { max: '21' } }, impl: 'old-ubuntu-aptitude' },
  ];
  assert.equal(dispatch('t', impls, { osFamily: 'debian', osVersion: '12' }), 'debian-family');
  assert.equal(dispatch('t', impls, { osFamily: 'ubuntu', osVersion: '24.04' }), 'new-ubuntu');
  assert.equal(dispatch('t', impls, { osFamily: 'ubuntu', osVersion: '20.04' }), 'debian-family');
  assert.equal(dispatch('t', impls, { osFamily: 'ubuntu', osVersion: '20.04', packager: 'aptitude' }), 'old-ubuntu-aptitude');
  assert.equal(dispatch('t', impls, { osFamily: 'arch' }), 'default');
  assert.throws(() => dispatch('t', impls.slice(1), { osFamily: 'arch' }), /t has no implementation for os family arch/);
});
