/**
 * Every built-in action, for every OS family: its script passes `sh -n` and `bash -n`, and its check-mode
 * script changes nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addRpm,
  blockInFile,
  lineInFile,
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
import { compile, families, syntaxErrors } from '../helpers/compile.js';

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
  // The proof on a real node is test/operation/check.node.test.ts; this guards every family's scripts.
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
