/**
 * Script-level tests of the actions: exact scripts where OS families differ,
 * and `sh -n` / `bash -n` on every action for every OS family.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addRpm,
  blockInFile,
  lineInFile,
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
  packager,
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
import { compile, families, runOn, syntaxErrors, type Os } from '../helpers/compile.js';

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
  await assert.rejects(
    compile(() => void user('bad:name')),
    /user and group names/,
  );
});

const everything = () => {
  pkg('curl');
  pkg('old', { action: 'remove' });
  pkg('oldest', { action: 'purge' });
  pkg('tzdata', { action: 'upgrade' });
  packageManager('update');
  packageManager('upgrade');
  if (['apt', 'yum', 'dnf'].includes(packager() ?? ''))
    packageManager('configure', { proxy: 'http://proxy.invalid:3128' });
  packageManager('update', { maxAge: 3600 });
  if (packager() === 'apt') packageManager('addScope', { scope: 'contrib' });
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
  lineInFile('/etc/a', { regexp: '^x=', line: 'x=1', validate: 'test -s %s', create: true, mode: '0600' });
  lineInFile('/etc/a', { regexp: '^(y)=.*', line: '\\1=2', backrefs: true });
  blockInFile('/etc/a', { block: 'a\nb', name: 'n', insertBefore: 'BOF' });
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

test('every action compiles to a script that sh -n and bash -n accept, for every OS family', async () => {
  for (const f of families) {
    const scripts = await compile(everything, f);
    assert.ok(scripts.length > 30);
    for (const s of scripts) assert.equal(syntaxErrors(s.script), '', `${f.osFamily} ${s.action}:\n${s.script}`);
  }
});

/** Commands that change a node, where a command starts (check mode must not run any; `rm -f "$pallet_t"` removes its own temporary file). */
const mutators = new RegExp(
  String.raw`(^|[;&|{(]\s*|\b(then|do|else)\s+)(mkdir|mv|chown|chgrp|chmod|ln|mkfifo|touch|useradd|usermod|userdel|groupadd|groupmod|groupdel|chpasswd|rc-service|update-rc\.d|chkconfig|debconf-set-selections|add-apt-repository|unzip|cp(?! -f \S+ "\$pallet_t")|` +
    String.raw`rm (?!-f "\$pallet_t")|systemctl (start|stop|restart|reload|enable|disable)|rc-update (add|del)|rpm (-U|--import)|tar -x|apt-get -q -y|apt-get -qq update|dpkg \$pallet_conffiles|` +
    String.raw`(yum|dnf) -q -y|\w+ -q makecache|apk (add|del|update|upgrade -q)|pacman -S|zypper -n -q (install|remove|update|refresh)|brew (install|uninstall|upgrade|update|tap \S))\b`,
  'm',
);

test('check mode: every built-in action has a check path that passes sh -n and runs no command that changes the node, for every OS family', async () => {
  // The proof on a real node is test/integration/check.test.ts; this guards every family's scripts.
  for (const f of families) {
    const scripts = await compile(everything, f, { check: true });
    for (const s of scripts) {
      assert.equal(s.checked, true, `${f.osFamily} ${s.action} has a check path`);
      assert.equal(syntaxErrors(s.script), '', `${f.osFamily} ${s.action}:\n${s.script}`);
      // Quoted text (would-lines, messages) is not a command.
      const code = s.script.replace(/'[^']*'/g, "''");
      const m = mutators.exec(code);
      assert.equal(m, null, `${f.osFamily} ${s.action} runs '${m?.[0]}' in check mode:\n${s.script}`);
    }
  }
  // The same lint finds the real scripts' mutations (it can fail).
  const real = await compile(everything, families[0]!);
  const caught = real.filter((s) => mutators.test(s.script.replace(/'[^']*'/g, "''")));
  assert.ok(
    caught.length >= real.length / 2,
    `the lint finds ${caught.length} of ${real.length}: ${real
      .filter((s) => !caught.includes(s))
      .map((s) => s.action)
      .join(', ')}`,
  );
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

test('dispatch errors are clear when a family has no implementation', async () => {
  await assert.rejects(
    compile(() => void pkg('x'), { osFamily: 'plan9', osVersion: '4' }),
    /pkg has no implementation for os family plan9/,
  );
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
  assert.equal(
    dispatch('t', impls, { osFamily: 'ubuntu', osVersion: '20.04', packager: 'aptitude' }),
    'old-ubuntu-aptitude',
  );
  assert.equal(dispatch('t', impls, { osFamily: 'arch' }), 'default');
  assert.throws(
    () => dispatch('t', impls.slice(1), { osFamily: 'arch' }),
    /t has no implementation for os family arch/,
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
  const { debconfSetSelections: debconf } = await import('../../src/index.js');
  const [d] = await compile(() => void debconf({ line: 'tzdata tzdata/Areas select Europe' }));
  assert.match(d!.script, /'tzdata tzdata\/Areas select Europe'/);
});

test("remoteFile templates: Pallet's variant names (base_<variant>.ext, also under resources/), then this project's older path_<variant>", async () => {
  const { templateCandidates } = await import('../../src/actions/remote-file.js');
  assert.deepEqual(templateCandidates('templates/app.ini', ['web', 'debian', undefined]), [
    'templates/app_web.ini',
    'resources/templates/app_web.ini',
    'templates/app.ini_web',
    'templates/app_debian.ini',
    'resources/templates/app_debian.ini',
    'templates/app.ini_debian',
    'templates/app.ini',
    'resources/templates/app.ini',
  ]);
  assert.deepEqual(templateCandidates('/etc/tpl/motd', ['web']), ['/etc/tpl/motd_web', '/etc/tpl/motd']);
  // A Pallet template tree is found: resources/<dir>/<base>_<group>.<ext> wins over the plain file.
  const { mkdtempSync, mkdirSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'pallet-tpl-'));
  const cwd = process.cwd();
  try {
    process.chdir(dir);
    mkdirSync('resources/t', { recursive: true });
    mkdirSync('t');
    writeFileSync('t/app.conf', 'plain ~{x}\n');
    writeFileSync('resources/t/app_g.conf', 'for group g: ~{x}\n');
    const [s] = await compile(() => void remoteFile('/etc/app.conf', { template: 't/app.conf', values: { x: 1 } }));
    assert.match(s!.script, new RegExp(Buffer.from('for group g: 1\n').toString('base64').slice(0, 16)));
  } finally {
    process.chdir(cwd);
  }
});

test('addEpel: a valid script for the Red Hat family, skipped when epel-release is installed', async () => {
  const { addEpel } = await import('../../src/index.js');
  const rhel = families.find((f) => f.osFamily === 'rocky' || f.osFamily === 'centos' || f.osFamily === 'rhel') ?? {
    osFamily: 'rhel',
    osVersion: '9',
  };
  for (const opts of [{}, { version: 9 }]) {
    const [s] = await compile(() => addEpel(opts), rhel as Os);
    assert.equal(syntaxErrors(s!.script), '');
    assert.match(s!.script, /rpm -q --quiet epel-release/);
    assert.match(s!.script, /epel-release-latest-\$pallet_v\.noarch\.rpm/);
  }
});
