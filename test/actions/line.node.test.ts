/**
 * lineInFile and blockInFile on a real Debian node over SSH: every edit runs
 * twice (the first run changes the file, read back on the node; the second
 * changes nothing), validation with the node's own visudo and sshd, a
 * symlinked target, a line edit in check mode (a diff, nothing changed), and
 * a restart handler fed by flagOnChanged, decided on the node in the same
 * round trip (counted in the node's sshd log).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  blockInFile,
  execScript,
  explainSession,
  groupSpec,
  handler,
  lift,
  lineInFile,
  planWhen,
  targetFlag,
  withActionOptions,
  type ActionResult,
  type OperationResult,
  type PhaseFn,
} from '../../src/index.js';
import { execRequests, nodeSuite, sshdDebugLog } from '../helpers/nodes.js';

const LABEL = 'line-suite';
const suite = nodeSuite(LABEL, { setup: sshdDebugLog });
const { sh } = suite;

async function run(phase: PhaseFn, check = false): Promise<OperationResult> {
  return lift(groupSpec('box'), { compute: suite.env.compute, user: suite.env.admin, phase, check });
}
const actions = (r: OperationResult): ActionResult[] =>
  r.results.filter((x) => !x.phase.startsWith('pallet/')).flatMap((x) => x.actions);
const changed = (r: OperationResult) =>
  actions(r)
    .filter((a) => a.changed)
    .map((a) => a.summary);

/** The first run changes every action; the second changes none. */
async function twice(phase: PhaseFn): Promise<void> {
  const r1 = await run(phase);
  assert.equal(r1.ok, true, explainSession(r1));
  assert.equal(
    changed(r1).length,
    actions(r1).length,
    `every edit changes on the first run: ${JSON.stringify(changed(r1))}`,
  );
  const r2 = await run(phase);
  assert.equal(r2.ok, true, explainSession(r2));
  assert.deepEqual(changed(r2), [], 'the second run changes nothing');
}

test('replace the last match, append, insert after/before, remove, create, backrefs: on the node, idempotent', async () => {
  suite.node.exec(
    "printf '#Port 22\\nPort 22\\nPermitRootLogin yes\\nPermitEmptyPasswords yes\\n# end\\n' > /etc/line-a && chmod 640 /etc/line-a && chown root:daemon /etc/line-a",
  );
  await twice(() => {
    lineInFile('/etc/line-a', { regexp: '^#?Port ', line: 'Port 2222' });
    lineInFile('/etc/line-a', { line: 'UseDNS no' });
    lineInFile('/etc/line-a', { line: 'MaxAuthTries 3', insertAfter: '^Port ' });
    lineInFile('/etc/line-a', { line: '# managed', insertBefore: 'BOF' });
    lineInFile('/etc/line-a', { regexp: '^PermitRootLogin', state: 'absent' });
    lineInFile('/etc/line-b', { line: 'created', create: true, mode: '0600' });
    lineInFile('/etc/line-a', { regexp: '^(PermitEmptyPasswords) (yes|no)$', line: '\\1 no', backrefs: true });
  });
  assert.equal(
    sh('cat /etc/line-a'),
    '# managed\n#Port 22\nPort 2222\nMaxAuthTries 3\nPermitEmptyPasswords no\n# end\nUseDNS no\n',
  );
  assert.equal(sh('stat -c "%a %U %G" /etc/line-a'), '640 root daemon\n', 'owner and mode kept');
  assert.equal(sh('cat /etc/line-b; stat -c %a /etc/line-b'), 'created\n600\n');
});

test("validation with the node's visudo and sshd: a bad edit fails and leaves the file as it was", async () => {
  suite.node.exec(
    "printf 'root ALL=(ALL:ALL) ALL\\n' > /etc/sudoers.d/line-test && chmod 440 /etc/sudoers.d/line-test",
  );
  await twice(
    () =>
      void lineInFile('/etc/sudoers.d/line-test', {
        regexp: '^%sudo ',
        line: '%sudo ALL=(ALL:ALL) NOPASSWD: ALL',
        validate: 'visudo -cf %s',
      }),
  );
  const good = sh('cat /etc/sudoers.d/line-test');
  const bad = await run(
    () => void lineInFile('/etc/sudoers.d/line-test', { line: 'this is not sudoers', validate: 'visudo -cf %s' }),
  );
  assert.equal(bad.ok, false);
  assert.match(actions(bad)[0]!.error!.message, /validation failed \(visudo -cf %s\); the file is unchanged/);
  assert.match(actions(bad)[0]!.err, /syntax error/);
  assert.equal(sh('cat /etc/sudoers.d/line-test'), good);
  assert.equal(sh('ls -A /etc/sudoers.d | grep -c pallet-new || true'), '0\n', 'no staged file left behind');
  // sshd checks a whole configuration: a valid edit passes, an unknown keyword fails.
  suite.node.exec('cp /etc/ssh/sshd_config /etc/ssh/line-test.conf');
  await twice(
    () =>
      void lineInFile('/etc/ssh/line-test.conf', {
        regexp: '^#?MaxAuthTries',
        line: 'MaxAuthTries 3',
        validate: '/usr/sbin/sshd -t -f %s',
      }),
  );
  const refused = await run(
    () =>
      void lineInFile('/etc/ssh/line-test.conf', { line: 'NoSuchKeyword yes', validate: '/usr/sbin/sshd -t -f %s' }),
  );
  assert.equal(refused.ok, false);
  assert.doesNotMatch(sh('cat /etc/ssh/line-test.conf'), /NoSuchKeyword/);
});

test('blockInFile: insert, replace, remove; through a symbolic link, which stays a link', async () => {
  suite.node.exec(
    "mkdir -p /etc/line-real && printf 'top\\n' > /etc/line-real/hosts && ln -sfn /etc/line-real/hosts /etc/line-hosts",
  );
  await twice(() => void blockInFile('/etc/line-hosts', { name: 'cluster', block: '10.0.0.1 a\n10.0.0.2 b\n' }));
  assert.equal(
    sh('cat /etc/line-real/hosts'),
    'top\n# BEGIN pallet cluster\n10.0.0.1 a\n10.0.0.2 b\n# END pallet cluster\n',
  );
  assert.equal(sh('readlink /etc/line-hosts'), '/etc/line-real/hosts\n', 'the link is kept');
  await twice(() => void blockInFile('/etc/line-hosts', { name: 'cluster', block: '10.0.0.3 c' }));
  assert.equal(sh('cat /etc/line-real/hosts'), 'top\n# BEGIN pallet cluster\n10.0.0.3 c\n# END pallet cluster\n');
  await twice(() => void blockInFile('/etc/line-hosts', { name: 'cluster', state: 'absent' }));
  assert.equal(sh('cat /etc/line-real/hosts'), 'top\n');
});

test('a line edit in check mode: a diff, the file untouched; the run then makes exactly it', async () => {
  suite.node.exec("printf 'a\\nPort 22\\n' > /etc/line-c");
  const phase = () => void lineInFile('/etc/line-c', { regexp: '^Port ', line: 'Port 2200' });
  const c = await run(phase, true);
  assert.equal(c.ok, true, explainSession(c));
  const a = actions(c)[0]!;
  assert.deepEqual([a.changed, a.wouldChange], [false, true]);
  assert.match(a.diff ?? '', /@@ -1,2 \+1,2 @@\n a\n-Port 22\n\+Port 2200/);
  assert.equal(sh('cat /etc/line-c'), 'a\nPort 22\n');
  assert.deepEqual(changed(await run(phase)), ['lineInFile /etc/line-c: Port 2200']);
  assert.equal(actions(await run(phase, true))[0]!.wouldChange, false);
});

test('three line edits flag restart-ssh; the handler runs in the same round trip as the edits, on the first run only', async () => {
  const conf = '/etc/ssh/handler.conf';
  suite.node.exec(`cp /etc/ssh/sshd_config ${conf}; rm -f /root/restarts`);
  const validate = '/usr/sbin/sshd -t -f %s';
  const edits = (restart: string) => {
    lineInFile(conf, {
      regexp: '^#?PermitRootLogin',
      line: 'PermitRootLogin prohibit-password',
      validate,
      flagOnChanged: restart,
    });
    lineInFile(conf, {
      regexp: '^#?PasswordAuthentication',
      line: 'PasswordAuthentication no',
      validate,
      flagOnChanged: restart,
    });
    lineInFile(conf, { regexp: '^#?X11Forwarding', line: 'X11Forwarding no', validate, flagOnChanged: restart });
  };
  const phase = () => edits(handler('restart-ssh', () => void execScript('echo restarted >> /root/restarts')));
  /** The exec requests the node's sshd served for one lift. */
  const trips = async (p: PhaseFn, check = false) => {
    const before = execRequests(suite.node);
    const r = await run(p, check);
    assert.equal(r.ok, true, explainSession(r));
    return { r, trips: execRequests(suite.node) - before };
  };
  // What any lift of a one-batch phase costs here (the OS probe and the phase's one batch).
  const base = await trips(() => void execScript('true'));

  // Check mode first: the edits would change, the handler may (its flag would be set); nothing changes.
  const c = await trips(phase, true);
  assert.equal(c.trips, base.trips, 'check mode: one round trip for the phase too');
  const ca = actions(c.r);
  assert.deepEqual(ca.filter((a) => a.wouldChange).length, 4, 'three edits and the handler would change');
  assert.match(
    ca.find((a) => a.action === 'execScript')!.mayChange ?? '',
    /flag 'restart-ssh' would be set by 'lineInFile \/etc\/ssh\/handler.conf: PermitRootLogin prohibit-password'/,
  );
  assert.equal(suite.node.exec('cat /root/restarts').status, 1, 'check mode restarted nothing');

  const first = await trips(phase);
  assert.equal(first.trips, base.trips, "the edits and the handler run in the phase's one round trip");
  assert.deepEqual(changed(first.r).length, 4, 'three edits and the handler changed');
  assert.deepEqual(
    actions(first.r).filter((a) => a.flags.includes('restart-ssh')).length,
    3,
    'each edit reports the flag',
  );
  assert.equal(sh('cat /root/restarts'), 'restarted\n', 'the handler ran once for three changes');
  assert.match(
    sh(`grep -E '^(PermitRootLogin|PasswordAuthentication|X11Forwarding)' ${conf}`),
    /^PermitRootLogin prohibit-password\nPasswordAuthentication no\nX11Forwarding no\n$/,
  );

  const second = await trips(phase);
  assert.equal(second.trips, base.trips);
  assert.deepEqual(changed(second.r), [], 'nothing changed, so the handler did not run');
  assert.equal(sh('cat /root/restarts'), 'restarted\n');

  // The same with planWhen(targetFlag(...)) written out, right after the edits: one round trip too.
  suite.node.exec(`cp /etc/ssh/sshd_config ${conf}; rm -f /root/restarts`);
  const inline = await trips(() => {
    edits('restart-ssh');
    planWhen(targetFlag('restart-ssh'), () => void execScript('echo inline >> /root/restarts'));
  });
  assert.equal(inline.trips, base.trips);
  assert.equal(sh('cat /root/restarts'), 'inline\n');

  // The counter can tell: a condition the controller must decide cuts the batch (one more round trip when it holds).
  suite.node.exec(`cp /etc/ssh/sshd_config ${conf}`);
  const cut = await trips(() => {
    edits('restart-ssh');
    const flag = targetFlag('restart-ssh');
    planWhen(
      () => flag(),
      () => void execScript('echo cut >> /root/restarts'),
    );
  });
  assert.equal(cut.trips, base.trips + 1);
  assert.equal(sh('cat /root/restarts'), 'inline\ncut\n');

  // An action run through sudo reports its flags inside its output: a flag test after it is decided by
  // the controller (one more round trip), and still right.
  suite.node.exec('rm -f /tmp/sudo-made /root/restarts');
  const viaSudo = await trips(() => {
    withActionOptions({ sudoUser: 'nobody' }, () => void execScript('touch /tmp/sudo-made', { flagOnChanged: 'made' }));
    planWhen(targetFlag('made'), () => void execScript('echo after-sudo >> /root/restarts'));
  });
  assert.equal(viaSudo.trips, base.trips + 1);
  assert.equal(sh('stat -c %U /tmp/sudo-made; cat /root/restarts'), 'nobody\nafter-sudo\n');
});
