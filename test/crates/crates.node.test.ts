/**
 * The crates on a real Debian node over SSH: every crate's first run changes
 * the node (read back on the node), its second run changes nothing; settings
 * given in the `settings` phase are what `configure` writes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  authorizeKeyForLocalhost,
  crontab,
  crontabServer,
  etcDefault,
  explainSession,
  generateKey,
  groupSpec,
  installKey,
  lift,
  limitsConfServer,
  publicKey,
  sudoers,
  withActionOptions,
  sudoersServer,
  sudoersSettings,
  fail2ban,
  unattendedUpgrades,
  sshdConfig,
  makeFilesystem,
  mount,
  nohupService,
  serviceSupervisor,
  addDebianBackports,
  etcHosts,
  hostsForGroup,
  setHostname,
  scheduleInPostPhase,
  scheduleInPrePhase,
  execScript,
  transferFileToLocal,
  rsyncToLocal,
  withRemoteFile,
  sshConfig,
  systemCrontab,
  systemCrontabSettings,
  systemEnvironment,
  ulimit,
  user,
  userCrontabSettings,
  waitForHttpStatus,
  waitForPortListen,
  withActionValues,
  type ActionResult,
  type OperationResult,
  type PhaseFn,
  type ServerSpec,
} from '../../src/index.js';
import { nodeSuite } from '../helpers/nodes.js';

const LABEL = 'crates-suite';
const suite = nodeSuite(LABEL);
const { sh } = suite;

interface Phases {
  phase?: PhaseFn;
  settings?: PhaseFn;
  extends?: ServerSpec[];
}
async function run(p: Phases, check = false): Promise<OperationResult> {
  const phases: Record<string, PhaseFn> = {
    ...(p.phase ? { configure: p.phase } : {}),
    ...(p.settings ? { settings: p.settings } : {}),
  };
  const g = groupSpec('box', { ...(p.extends ? { extends: p.extends } : {}), phases });
  return lift(g, { compute: suite.env.compute, user: suite.env.admin, check, phase: ['settings', 'configure'] });
}
const actions = (r: OperationResult): ActionResult[] =>
  r.results.filter((x) => !x.phase.startsWith('pallet/')).flatMap((x) => x.actions);
const changed = (r: OperationResult) =>
  actions(r)
    .filter((a) => a.changed)
    .map((a) => a.summary);

/** First run: ok, something changed; check mode then says nothing would change; second run: nothing changed. */
async function twice(p: Phases): Promise<OperationResult> {
  const r1 = await run(p);
  assert.equal(r1.ok, true, explainSession(r1));
  assert.ok(changed(r1).length > 0, 'the first run changes the node');
  const c = await run(p, true);
  assert.equal(c.ok, true, explainSession(c));
  assert.deepEqual(
    actions(c)
      .filter((a) => a.wouldChange)
      .map((a) => a.summary),
    [],
    'check mode: nothing would change',
  );
  const r2 = await run(p);
  assert.equal(r2.ok, true, explainSession(r2));
  assert.deepEqual(changed(r2), [], 'the second run changes nothing');
  return r1;
}

const tricky = `it's $HOME \`id\` \\ \t end`;

test('systemEnvironment: /etc/environment per key (others kept), profile.d with shell quoting', async () => {
  suite.node.exec('printf \'LANG="C.UTF-8"\\nOLD="1"\\n\' > /etc/environment');
  await twice({ phase: () => systemEnvironment('app', { APP_HOME: '/opt/app', OLD: 2 }) });
  assert.equal(
    sh('cat /etc/environment'),
    'LANG="C.UTF-8"\nOLD="2"\nAPP_HOME="/opt/app"\n',
    'a key replaced in place, a new key appended, others kept',
  );
  await twice({ phase: () => systemEnvironment('tricky', { TRICKY: tricky }, { shared: false }) });
  assert.equal(sh('. /etc/profile.d/tricky.sh; printf \'%s\' "$TRICKY"'), tricky, 'the value arrives byte for byte');
  assert.equal(sh('stat -c "%a %U" /etc/profile.d/tricky.sh'), '644 root\n');
  const r = await run({ phase: () => systemEnvironment('bad', { Q: 'a"b' }) });
  assert.equal(r.ok, false);
  assert.match(
    actions(r)
      .map((a) => a.error?.message ?? '')
      .join(' '),
    /the value of Q has a double quote/,
  );
});

test('etcDefault: the whole file, values shell-quoted', async () => {
  await twice({
    phase: () => etcDefault('pallet-demo', { JAVA_OPTS: '-Xmx1g -Dx=$y', ENABLED: true, TRICKY: tricky }),
  });
  assert.equal(
    sh('. /etc/default/pallet-demo; printf \'%s|%s|%s\' "$JAVA_OPTS" "$ENABLED" "$TRICKY"'),
    `-Xmx1g -Dx=$y|true|${tricky}`,
  );
});

test('limitsConf from the settings phase: server settings plus ulimit calls, one file in limits.d', async () => {
  const spec = limitsConfServer({ entries: [{ domain: '@web', type: 'soft', item: 'nofile', value: 4096 }] });
  await twice({ extends: [spec], settings: () => void ulimit(['deploy', 'hard', 'nproc', 512]) });
  assert.equal(
    sh('cat /etc/security/limits.d/pallet.conf'),
    '# managed by pallet\n@web soft nofile 4096\ndeploy hard nproc 512\n',
  );
  assert.equal(sh('stat -c "%a %U" /etc/security/limits.d/pallet.conf'), '644 root\n');
});

test('crontab: a user crontab through crontab -u and a system crontab in /etc/cron.d, from settings', async () => {
  const spec = crontabServer({ system: { 'pallet-backup': ['30 2 * * * root /usr/local/bin/backup'] } });
  await twice({
    extends: [spec],
    phase: () => {
      crontab('nobody', '*/5 * * * * /bin/true\n');
    },
  });
  assert.equal(sh('crontab -u nobody -l'), '*/5 * * * * /bin/true\n');
  assert.equal(
    sh('cat /etc/cron.d/pallet-backup; stat -c "%a %U" /etc/cron.d/pallet-backup'),
    '30 2 * * * root /usr/local/bin/backup\n644 root\n',
  );
  // Declared in the settings phase by a plan function, written by configureCrontabs.
  const viaSettings = groupSpec('box', {
    extends: [crontabServer()],
    phases: {
      settings: () => {
        userCrontabSettings('daemon', ['0 * * * * /bin/date']);
        systemCrontabSettings('pallet-hourly', '0 * * * * root /bin/true');
      },
    },
  });
  const r = await lift(viaSettings, {
    compute: suite.env.compute,
    user: suite.env.admin,
    phase: ['settings', 'configure'],
  });
  assert.equal(r.ok, true, explainSession(r));
  assert.equal(
    sh('crontab -u daemon -l; cat /etc/cron.d/pallet-hourly'),
    '0 * * * * /bin/date\n0 * * * * root /bin/true\n',
  );
  // A crontab edited by hand is put back; removal removes it.
  suite.node.exec("echo '1 1 1 1 1 /bin/false' | crontab -u nobody -");
  assert.deepEqual(changed(await run({ phase: () => void crontab('nobody', '*/5 * * * * /bin/true\n') })), [
    'crontab nobody',
  ]);
  assert.deepEqual(
    changed(
      await run({
        phase: () => {
          crontab('nobody', '', { action: 'remove' });
          systemCrontab('pallet-backup', '', { action: 'remove' });
        },
      }),
    ).length,
    2,
  );
  assert.match(suite.node.exec('crontab -u nobody -l').stderr, /no crontab/);
  assert.equal(suite.node.exec('test -e /etc/cron.d/pallet-backup').status, 1);
});

test('ssh keys: generate once, install a pair (0600 from the start), read a public key back, localhost authorization, ~/.ssh/config', async () => {
  const local = execFileSync('mktemp', ['-d'], { encoding: 'utf8' }).trim();
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'given', '-f', join(local, 'k')]);
  const priv = readFileSync(join(local, 'k'), 'utf8');
  const pub = readFileSync(join(local, 'k.pub'), 'utf8').trim();
  const seen: string[] = [];
  await twice({
    phase: () => {
      user('keyuser', { createHome: true, shell: 'bash' });
      generateKey('keyuser');
      installKey('keyuser', 'deploy', priv, pub);
      authorizeKeyForLocalhost('keyuser');
      sshConfig('git.example.org', { User: 'git', IdentityFile: '~/.ssh/deploy' }, { user: 'keyuser' });
      const k = publicKey('keyuser');
      withActionValues([k], (v) => void seen.push(v));
    },
  });
  const generated = sh('cat /home/keyuser/.ssh/id_ed25519.pub').trim();
  assert.match(generated, /^ssh-ed25519 \S+ generated by pallet$/);
  assert.equal(seen[0], generated, 'publicKey reads the key back as a node value');
  assert.equal(new Set(seen).size, 1, 'the key was generated once, not on every run');
  assert.equal(sh('cat /home/keyuser/.ssh/deploy'), priv);
  assert.equal(
    sh(
      'stat -c "%n %a %U" /home/keyuser/.ssh /home/keyuser/.ssh/id_ed25519 /home/keyuser/.ssh/id_ed25519.pub /home/keyuser/.ssh/deploy /home/keyuser/.ssh/deploy.pub /home/keyuser/.ssh/authorized_keys /home/keyuser/.ssh/config',
    ),
    [
      '/home/keyuser/.ssh 700',
      '/home/keyuser/.ssh/id_ed25519 600',
      '/home/keyuser/.ssh/id_ed25519.pub 644',
      '/home/keyuser/.ssh/deploy 600',
      '/home/keyuser/.ssh/deploy.pub 644',
      '/home/keyuser/.ssh/authorized_keys 600',
      '/home/keyuser/.ssh/config 600',
    ]
      .map((l) => `${l} keyuser\n`)
      .join(''),
  );
  assert.equal(sh('cat /home/keyuser/.ssh/authorized_keys'), `from="localhost,127.0.0.1,::1" ${generated}\n`);
  assert.equal(
    sh('cat /home/keyuser/.ssh/config'),
    '# BEGIN pallet host git.example.org\nHost git.example.org\n  User git\n  IdentityFile ~/.ssh/deploy\n# END pallet host git.example.org\n',
  );
  // The private key never shows in results.
  const r = await run({ phase: () => void installKey('keyuser', 'deploy2', priv, pub) });
  assert.ok(!JSON.stringify(r).includes(priv.split('\n')[1]!), 'the private key is redacted everywhere');
  assert.equal(sh('stat -c %a /home/keyuser/.ssh/deploy2'), '600\n');
});

test('waitForPortListen and waitForHttpStatus: succeed, or fail saying what and how long', async () => {
  const ok = await run({ phase: () => void waitForPortListen(22, { timeout: 5 }) });
  assert.equal(ok.ok, true, explainSession(ok));
  const started = Date.now();
  const late = await run({ phase: () => void waitForPortListen(2999, { timeout: 2 }) });
  assert.equal(late.ok, false);
  assert.match(actions(late).find((a) => a.error)!.err, /port tcp\/2999 is not listening: gave up after 2 s/);
  assert.ok(Date.now() - started >= 2000, 'it waited');
  const check = await run({ phase: () => void waitForPortListen(2999, { timeout: 30 }) }, true);
  assert.equal(check.ok, true);
  assert.match(actions(check)[0]!.mayChange ?? '', /not yet/);
  // An HTTP server on the node (python3 is there for fail2ban): its status, and a status it never gives.
  const serve = await run({
    phase: () =>
      void nohupService('pallet-http', { run: 'exec python3 -m http.server 8088 --bind 127.0.0.1', dir: '/srv' }),
  });
  assert.equal(serve.ok, true, explainSession(serve));
  const up = await run({
    phase: () => {
      waitForHttpStatus('http://127.0.0.1:8088/', 200, { timeout: 20 });
      waitForHttpStatus('http://127.0.0.1:8088/no-such-page', 404, { timeout: 5 });
    },
  });
  assert.equal(up.ok, true, explainSession(up));
  const wrong = await run({
    phase: () => void waitForHttpStatus('http://127.0.0.1:8088/no-such-page', 200, { timeout: 2 }),
  });
  assert.equal(wrong.ok, false);
  assert.match(actions(wrong).find((a) => a.error)!.err, /no-such-page did not answer 200: gave up after 2 s/);
  await run({ phase: () => void nohupService('pallet-http', { run: 'true', action: 'stop' }) });
  // Without curl or wget: a clear error, not a hang.
  const bare = await run({
    phase: () =>
      void withActionOptions(
        { scriptEnv: { PATH: '/nonexistent' } },
        () => void waitForHttpStatus('http://127.0.0.1:8088/', 200, { timeout: 2 }),
      ),
  });
  assert.equal(bare.ok, false);
  assert.match(actions(bare).find((a) => a.error)!.err, /neither curl nor wget/);
});

test('sudoers: aliases, Defaults and specs from several plan functions, one validated file; a rejected file leaves the old one', async () => {
  const phase = () => {
    user('ops', { createHome: true, shell: 'bash' });
    sudoers({
      aliases: {
        cmnd: { SERVICES: ['/usr/sbin/service cron restart', '/usr/sbin/service cron status'] },
        user: { OPS: ['ops'] },
      },
      defaults: { default: { env_keep: ['SSH_AUTH_SOCK'] }, ':ops': { lecture: false, passwd_tries: 2 } },
      specs: { OPS: { runAs: 'root', tags: ['NOPASSWD'], commands: 'SERVICES' } },
    });
    // Another plan function of the phase adds to the same file.
    sudoers({
      aliases: { cmnd: { SERVICES: ['/usr/sbin/service ssh reload'] } },
      specs: { '%sudo': { commands: 'ALL' } },
    });
  };
  await twice({ phase });
  assert.equal(
    sh('cat /etc/sudoers.d/pallet'),
    [
      '# managed by pallet: edit the plan, not this file',
      'User_Alias OPS = ops',
      'Cmnd_Alias SERVICES = /usr/sbin/service cron restart, /usr/sbin/service cron status, /usr/sbin/service ssh reload',
      'Defaults env_keep += "SSH_AUTH_SOCK"',
      'Defaults:ops !lecture',
      'Defaults:ops passwd_tries="2"',
      'OPS ALL = (root) NOPASSWD: SERVICES',
      '%sudo ALL = (ALL) ALL',
      '',
    ].join('\n'),
  );
  assert.equal(sh('stat -c "%a %U %G" /etc/sudoers.d/pallet'), '440 root root\n');
  assert.equal(suite.node.exec('visudo -c').status, 0);
  assert.match(sh('sudo -l -U ops'), /\(root\) NOPASSWD: \/usr\/sbin\/service cron restart/);
  // A relative command passes the plan-time checks but not visudo: the run fails, the file stays.
  const before = sh('md5sum /etc/sudoers.d/pallet');
  const bad = await run({ phase: () => void sudoers({ specs: { ops: { commands: 'service cron restart' } } }) });
  assert.equal(bad.ok, false);
  assert.match(actions(bad).find((a) => a.error)!.err, /visudo -cf rejected the new content; the file is unchanged/);
  assert.equal(sh('md5sum /etc/sudoers.d/pallet'), before);
  assert.equal(sh('ls -A /etc/sudoers.d | grep -c pallet-new || true'), '0\n', 'no staged file left behind');
  // Plan-time refusals name the problem.
  const refused = await run({
    phase: () => void sudoers({ specs: { ops: { commands: 'a\nb' } } }, { file: 'has.dot' }),
  });
  assert.equal(refused.ok, false);
  // The user form: passwordless sudo, SSH_AUTH_SOCK kept.
  await twice({
    phase: () => {
      user('ops', { createHome: true, shell: 'bash' });
      sudoers('ops');
    },
  });
  assert.equal(
    sh('cat /etc/sudoers.d/pallet-ops'),
    'Defaults:ops env_keep += "SSH_AUTH_SOCK"\nops ALL=(ALL) NOPASSWD: ALL\n',
  );
  assert.equal(suite.node.exec('visudo -c').status, 0);
});

test('files back to the controller: every byte, atomically, never shown in results; check mode writes nothing', async () => {
  const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  suite.node.exec(`printf '%s' '${bytes.toString('base64')}' | base64 -d > /root/blob`);
  const local = execFileSync('mktemp', ['-d'], { encoding: 'utf8' }).trim();
  const target = join(local, 'blob');
  const seen: number[] = [];
  const phase = () => {
    transferFileToLocal('/root/blob', target);
    withRemoteFile('/root/blob', (p) => void seen.push(readFileSync(p).length));
  };
  const c = await run({ phase }, true);
  assert.equal(c.ok, true, explainSession(c));
  assert.throws(() => readFileSync(target), /ENOENT/, 'check mode wrote nothing on the controller');
  assert.deepEqual(seen, []);
  const r = await run({ phase });
  assert.equal(r.ok, true, explainSession(r));
  assert.deepEqual(readFileSync(target), bytes);
  assert.deepEqual(seen, [256]);
  assert.ok(!JSON.stringify(r).includes(bytes.toString('base64').slice(0, 40)), 'the content is not in the results');
  assert.match(actions(r).find((a) => a.action === 'readFile')!.out, /^\(\d+ bytes for the controller, not shown\)$/);
  const missing = await run({ phase: () => void transferFileToLocal('/root/nope', join(local, 'nope')) });
  assert.equal(missing.ok, false);
  assert.throws(() => readFileSync(join(local, 'nope')), /ENOENT/);
  rmSync(local, { recursive: true, force: true });
});

test('scheduleInPrePhase and scheduleInPostPhase: first and last on the target, in the same phase', async () => {
  suite.node.exec('rm -f /root/order');
  const log = (w: string) => execScript(`echo ${w} >> /root/order`);
  const crate = () => {
    scheduleInPrePhase(() => void log('pre'));
    scheduleInPostPhase(() => void log('post'));
  };
  const r = await run({
    phase: () => {
      log('one');
      crate();
      log('two');
    },
  });
  assert.equal(r.ok, true, explainSession(r));
  assert.equal(sh('cat /root/order'), 'pre\none\ntwo\npost\n');
});

test('etcHosts, hostsForGroup, setHostname: a marked block in /etc/hosts (a bind mount here: rewritten in place), the rest kept', async () => {
  const before = sh('cat /etc/hosts');
  const phase = () => {
    etcHosts([...hostsForGroup(), { ip: '10.0.0.9', names: ['backup.internal', 'backup'] }]);
    setHostname('app1.example.internal', { apply: false });
  };
  await twice({ phase });
  const hosts = sh('cat /etc/hosts');
  assert.ok(hosts.startsWith(before.trimEnd().split('\n')[0]!), 'the lines that were there stay');
  assert.match(
    hosts,
    new RegExp(
      `# BEGIN pallet hosts\n127\\.0\\.0\\.1 ${suite.node.name}\n10\\.0\\.0\\.9 backup\\.internal backup\n# END pallet hosts\n`,
    ),
  );
  assert.match(hosts, /^127\.0\.1\.1 app1\.example\.internal app1$/m);
  assert.equal(sh('cat /etc/hostname'), 'app1.example.internal\n');
  assert.equal(
    suite.node.exec('awk \'$5 == "/etc/hosts"\' /proc/self/mountinfo | grep -c .').stdout,
    '1\n',
    'still the bind mount podman made',
  );
  // An empty list removes the block.
  await twice({ phase: () => etcHosts([]) });
  assert.doesNotMatch(sh('cat /etc/hosts'), /pallet hosts/);
  // The running hostname needs a privilege this container lacks: a clear failure, files already right.
  const r = await run({ phase: () => setHostname('app1.example.internal') });
  assert.equal(r.ok, false);
  assert.match(actions(r).find((a) => a.error)!.err, /hostname/);
});

test("addDebianBackports: the source for the node's own release, flagged for an update once", async () => {
  const r1 = await twice({ phase: () => addDebianBackports({ update: false }) });
  assert.equal(
    sh('cat /etc/apt/sources.list.d/debian-backports.list'),
    'deb http://deb.debian.org/debian bookworm-backports main\n',
  );
  assert.ok(
    actions(r1).some((a) => a.flags.includes('packagesourcechanged')),
    'the change is flagged (for packageManager update)',
  );
  assert.equal(sh('stat -c "%a %U" /etc/apt/sources.list.d/debian-backports.list'), '644 root\n');
});

test('nohupService and serviceSupervisor: started once as its user, its pid file right, stopped once; the SSH channel is not held', async () => {
  const settings = {
    supervisor: 'nohup' as const,
    serviceName: 'pallet-sleeper',
    nohup: { run: 'echo started; exec sleep 600', user: 'nobody', dir: '/tmp' },
  };
  const started = Date.now();
  await twice({ phase: () => serviceSupervisor(settings, { action: 'start' }) });
  assert.ok(Date.now() - started < 60_000, 'lifts return while the service runs');
  const pid = sh('cat /run/pallet-nohup-pallet-sleeper.pid').trim();
  assert.match(pid, /^\d+$/);
  assert.equal(sh(`tr '\\0' ' ' < /proc/${pid}/cmdline`), 'sleep 600 ');
  assert.equal(sh(`awk '/^Uid:/ { print $2 }' /proc/${pid}/status`), '65534\n', 'runs as nobody');
  assert.equal(sh('cat /var/log/pallet-sleeper.log'), 'started\n');
  await twice({ phase: () => serviceSupervisor(settings, { action: 'stop' }) });
  assert.equal(suite.node.exec(`kill -0 ${pid}`).status, 1, 'stopped');
  const failing = await run({ phase: () => void nohupService('pallet-quits', { run: 'echo bad config >&2; exit 3' }) });
  assert.equal(failing.ok, false);
  assert.match(
    actions(failing).find((a) => a.error)!.err,
    /exited right after it started; the end of its log:\nbad config/,
  );
  const status = await run({ phase: () => void nohupService('pallet-sleeper', { run: 'sleep 1', action: 'status' }) });
  assert.equal(status.ok, false, 'status fails when it is not running');
});

test('makeFilesystem on an empty image only, never over data; mount: fstab line and directory (mounting needs a privilege this container lacks)', async () => {
  suite.node.exec(
    'rm -f /srv/disk.img /srv/other.img; mkdir -p /srv && truncate -s 16M /srv/disk.img && truncate -s 16M /srv/other.img && mkfs.vfat /srv/other.img >/dev/null 2>&1 || mkfs.ext2 -q /srv/other.img',
  );
  await twice({ phase: () => void makeFilesystem('/srv/disk.img', { type: 'ext4', options: ['-q', '-L', 'data'] }) });
  assert.match(sh('blkid -p -o export /srv/disk.img'), /^TYPE=ext4$/m);
  assert.match(sh('blkid -p -o export /srv/disk.img'), /^LABEL=data$/m);
  // Something else on the device: refused, untouched.
  const before = sh('md5sum /srv/other.img');
  const refused = await run({ phase: () => void makeFilesystem('/srv/other.img', { type: 'ext4' }) });
  assert.equal(refused.ok, false);
  assert.match(
    actions(refused).find((a) => a.error)!.err,
    /is not empty \(it holds: .*TYPE=.*\); it is not formatted over/,
  );
  assert.equal(sh('md5sum /srv/other.img'), before);
  suite.node.exec("printf '# static file system information\\n' > /etc/fstab");
  await twice({
    phase: () => mount('/srv/disk.img', '/mnt/data', { type: 'ext4', options: ['loop', 'noatime'], now: false }),
  });
  assert.equal(
    sh('cat /etc/fstab'),
    '# static file system information\n/srv/disk.img /mnt/data ext4 loop,noatime 0 2\n',
  );
  assert.equal(sh('stat -c %F /mnt/data'), 'directory\n');
  // Mounting now: this unprivileged container may not mount; the failure says so, and nothing is half done.
  const now = await run({
    phase: () => mount('/srv/disk.img', '/mnt/data', { type: 'ext4', options: ['loop', 'noatime'] }),
  });
  if (now.ok) assert.match(sh('cat /proc/self/mountinfo'), /\/mnt\/data/);
  else assert.match(actions(now).find((a) => a.error)!.err, /mount|permission|denied|loop/i);
});

test('sshdConfig: validated line edits in any letter case, one reload; a drop-in that would win is refused before anything changes', async () => {
  suite.node.exec(
    "cp /etc/ssh/sshd_config /root/sshd_config.orig; sed -i 's/^#PermitRootLogin.*/permitrootlogin yes/' /etc/ssh/sshd_config; printf 'Match User backup\\n\\tX11Forwarding yes\\n' >> /etc/ssh/sshd_config",
  );
  const phase = () => sshdConfig({ PermitRootLogin: 'prohibit-password', X11Forwarding: false, MaxAuthTries: 4 });
  const r1 = await twice({ phase });
  assert.ok(
    actions(r1).some((a) => a.summary.startsWith('service ssh reload') && a.changed),
    'reloaded on the first run',
  );
  const conf = sh('cat /etc/ssh/sshd_config');
  assert.match(conf, /^PermitRootLogin prohibit-password$/m);
  assert.doesNotMatch(conf, /^permitrootlogin/m, 'the lowercase line was replaced, not left to win');
  assert.match(conf, /^X11Forwarding no$/m);
  assert.match(
    conf,
    /\nMaxAuthTries 4\nMatch User backup\n\tX11Forwarding yes\n$/,
    'a missing setting goes before the first Match; the Match block is untouched',
  );
  assert.match(conf, /^#\s*X11Forwarding no$/m, 'commented examples stay comments');
  assert.equal(suite.node.exec('/usr/sbin/sshd -t').status, 0);
  suite.node.exec("printf 'PasswordAuthentication yes\\n' > /etc/ssh/sshd_config.d/50-cloud-init.conf");
  const before = sh('md5sum /etc/ssh/sshd_config');
  const refused = await run({ phase: () => sshdConfig({ PasswordAuthentication: false }) });
  assert.equal(refused.ok, false);
  assert.match(
    actions(refused).find((a) => a.error)!.err,
    /sshd_config\.d\/50-cloud-init\.conf sets PasswordAuthentication/,
  );
  assert.equal(sh('md5sum /etc/ssh/sshd_config'), before);
  suite.node.exec('rm -f /etc/ssh/sshd_config.d/50-cloud-init.conf; cp /root/sshd_config.orig /etc/ssh/sshd_config');
});

test('unattendedUpgrades: periodic runs on, our origins replace the package defaults, every file checked by apt-config', async () => {
  const settings = {
    origins: ['origin=Debian,codename=${distro_codename}-security,label=Debian-Security'],
    blacklist: ['linux-image-*'],
    autoReboot: true,
    autoRebootTime: '03:30',
  };
  await twice({ phase: () => unattendedUpgrades(settings) });
  const dump = sh('apt-config dump');
  assert.match(dump, /^APT::Periodic::Unattended-Upgrade "1";$/m);
  const origins = dump.split('\n').filter((l) => l.startsWith('Unattended-Upgrade::Origins-Pattern:: '));
  assert.deepEqual(
    origins,
    [
      'Unattended-Upgrade::Origins-Pattern:: "origin=Debian,codename=${distro_codename}-security,label=Debian-Security";',
    ],
    'the package default origins are cleared',
  );
  assert.match(dump, /^Unattended-Upgrade::Automatic-Reboot "true";$/m);
  assert.match(dump, /^Unattended-Upgrade::Automatic-Reboot-Time "03:30";$/m);
  assert.match(dump, /^Unattended-Upgrade::Package-Blacklist:: "linux-image-\*";$/m);
});

test('rsyncToLocal: a node directory copied to the controller over ssh with host keys checked; the node is not "changed"', async () => {
  suite.node.exec('mkdir -p /srv/report/sub && printf a > /srv/report/a && printf b > /srv/report/sub/b');
  const local = execFileSync('mktemp', ['-d'], { encoding: 'utf8' }).trim();
  const seen: boolean[] = [];
  const phase = () => {
    const v = rsyncToLocal('/srv/report/', `${local}/`);
    withActionValues([v], (x) => void seen.push(x.changed));
  };
  const r1 = await run({ phase });
  assert.equal(r1.ok, true, explainSession(r1));
  assert.deepEqual(changed(r1), [], 'a pull changes the controller, not the node');
  assert.equal(readFileSync(join(local, 'sub', 'b'), 'utf8'), 'b');
  assert.equal(readFileSync(join(local, 'a'), 'utf8'), 'a');
  const r2 = await run({ phase });
  assert.equal(r2.ok, true);
  assert.deepEqual(seen, [true, false], 'copied once, then nothing to copy');
  rmSync(local, { recursive: true, force: true });
});

test('fail2ban: jail.local from settings, checked by fail2ban-client -t first, the jail running; restarted only when it changed', async () => {
  suite.node.exec('touch /var/log/auth.log');
  const settings = {
    defaults: { bantime: '1h', findtime: '10m', maxretry: 4 },
    jails: { sshd: { backend: 'polling', logpath: '/var/log/auth.log', port: 'ssh' } },
  };
  await twice({ phase: () => fail2ban(settings) });
  assert.equal(
    sh('cat /etc/fail2ban/jail.local'),
    '# managed by pallet (fail2ban)\n\n[DEFAULT]\nmaxretry = 4\nfindtime = 10m\nbantime = 1h\n\n[sshd]\nenabled = true\nport = ssh\nlogpath = /var/log/auth.log\nbackend = polling\n',
  );
  assert.match(sh('fail2ban-client status sshd'), /Currently banned/);
  assert.match(sh('fail2ban-client get sshd maxretry'), /^4$/m);
  // A jail whose filter does not exist fails the check: the file stays, the service keeps running.
  const before = sh('md5sum /etc/fail2ban/jail.local');
  const bad = await run({
    phase: () =>
      fail2ban({ jails: { sshd: { backend: 'polling', logpath: '/var/log/auth.log', filter: 'no-such-filter' } } }),
  });
  assert.equal(bad.ok, false);
  assert.match(actions(bad).find((a) => a.error)!.err, /verify failed/);
  assert.equal(sh('md5sum /etc/fail2ban/jail.local'), before);
  assert.match(sh('fail2ban-client status sshd'), /Currently banned/);
});

test('sudoers from the settings phase: the server spec and another plan function add to one file', async () => {
  const spec = sudoersServer({ specs: { '%sudo': { commands: 'ALL' } } }, { file: 'pallet-settings' });
  await twice({ extends: [spec], settings: () => sudoersSettings({ defaults: { ':%sudo': { lecture: false } } }) });
  assert.equal(
    sh('cat /etc/sudoers.d/pallet-settings'),
    '# managed by pallet: edit the plan, not this file\nDefaults:%sudo !lecture\n%sudo ALL = (ALL) ALL\n',
  );
  assert.equal(suite.node.exec('visudo -c').status, 0);
});
