/**
 * Check mode on a real Debian node:
 * - a check run of a phase that touches every action family changes nothing:
 *   the whole filesystem (path, type, mode, owner, size, mtime, checksum,
 *   outside /proc, /sys, /dev, /run, /tmp), the package database and the
 *   process list are the same before and after;
 * - it is exact: where the check says "would change", the real run that
 *   follows changes, and where it says neither "would" nor "may", the real run
 *   changes nothing; a second check then finds nothing to change;
 * - dependent steps (an input from a change, a flag a change would set, a
 *   check that fails only because an earlier change has not happened) are
 *   "may change", never errors;
 * - files get diffs, sensitive files do not.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  authorizeKeys,
  debconfSetSelections,
  directory,
  execScript,
  explainSession,
  fifo,
  file,
  group,
  groupSpec,
  lift,
  packageManager,
  pkg,
  planWhen,
  remoteDirectory,
  remoteFile,
  sed,
  service,
  serviceScript,
  symbolicLink,
  targetFlag,
  user,
  type ActionResult,
  type OperationResult,
  type PhaseFn,
} from '../../src/index.js';
import { serveAptRepos } from '../helpers/debs.js';
import { demoInitScript } from '../helpers/fixtures.js';
import { removeNodes, startOneNode, type TestNode } from '../helpers/nodes.js';

const LABEL = 'check-suite';
let env: Awaited<ReturnType<typeof startOneNode>>;
let node: TestNode;

const sh = (cmd: string) => node.exec(cmd).stdout;

before(async () => {
  env = await startOneNode(LABEL);
  node = env.node;
  serveAptRepos(env.dir, node, [
    {
      suite: 'stable',
      debs: [
        { name: 'pallet-plain', version: '1.0', files: { 'usr/share/pallet-plain/x': 'x\n' } },
        { name: 'pallet-extra', version: '1.0', files: { 'usr/share/pallet-extra/x': 'x\n' } },
      ],
    },
  ]);
  // What the phase edits already exists; an archive waits on the node for remoteDirectory.
  node.exec(
    "printf 'old line\\nkeep\\n' > /etc/check-app.conf && printf 'port=80\\n' > /etc/check-sed.conf && printf 'old secret\\n' > /etc/check-secret",
  );
  node.exec('mkdir -p /root/src/app && echo hello > /root/src/app/README && tar -C /root/src -cf /root/app.tar app');
});

after(() => removeNodes(LABEL));

async function run(phase: PhaseFn, check: boolean): Promise<OperationResult> {
  return lift(groupSpec('box'), { compute: env.compute, user: env.admin, phase, check });
}

const actions = (r: OperationResult): ActionResult[] =>
  r.results.filter((x) => !x.phase.startsWith('pallet/')).flatMap((x) => x.actions);

/** A manifest of the whole filesystem outside the pseudo and temporary file systems, by `podman exec` (no login). */
function manifest(): Map<string, string> {
  const prune = '\\( -path /proc -o -path /sys -o -path /dev -o -path /run -o -path /tmp \\) -prune';
  const list = sh(`find / ${prune} -o -printf '%p\\t%y\\t%m\\t%u\\t%g\\t%s\\t%T@\\t%l\\n'`);
  const sums = sh(`find / ${prune} -o -type f -print0 | xargs -0 md5sum`);
  const m = new Map<string, string>();
  for (const line of list.split('\n').filter(Boolean)) {
    const [path, ...rest] = line.split('\t');
    m.set(path!, rest.join(' '));
  }
  for (const line of sums.split('\n').filter(Boolean)) {
    const path = line.slice(34);
    m.set(path, `${m.get(path) ?? ''} ${line.slice(0, 32)}`);
  }
  m.set('(packages)', sh("dpkg-query -W -f='${Package} ${Version} ${Status}\\n'"));
  // Every process but the ones this manifest runs.
  m.set('(processes)', sh("ps -eo pid,ppid,user,args --no-headers | grep -v -e 'ps -eo' -e 'grep -v' -e 'sh -c'"));
  return m;
}

function differing(a: Map<string, string>, b: Map<string, string>): string[] {
  const keys = new Set([...a.keys(), ...b.keys()]);
  return [...keys].filter((k) => a.get(k) !== b.get(k)).sort();
}

const pub = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHc2a5G3p4dFzcheckmodetestkey0000000000000 check@test';

/** One phase that touches every action family, with the dependent cases. */
const everything: PhaseFn = () => {
  group('web');
  const deploy = user('deploy', { groups: ['web'], shell: 'bash' });
  directory('/srv/app', { mode: '0750' });
  file('/srv/marker', { mode: '0600' });
  symbolicLink('/srv/app', '/srv/current');
  fifo('/srv/fifo');
  sed('/etc/check-sed.conf', { '^port=80$': 'port=8080' });
  remoteFile('/etc/check-app.conf', { content: 'new line\nkeep\n', mode: '0640', flagOnChanged: 'appconf' });
  remoteFile('/etc/check-secret', { content: 'hunter2-new\n', sensitive: true });
  packageManager('configure', { proxy: 'http://127.0.0.1:3142' });
  debconfSetSelections({ package: 'pallet-plain', question: 'pallet-plain/greeting', type: 'string', value: 'hello' });
  pkg('pallet-plain');
  serviceScript('demo', { content: demoInitScript });
  service('demo', { action: 'start' });
  remoteDirectory('/srv/unpacked', { remoteFile: '/root/app.tar' });
  execScript('touch /srv/exec-ran', { creates: '/srv/exec-ran' });
  // Dependent steps: a flag a change sets, an input from a change, a check that needs an earlier change.
  planWhen(targetFlag('appconf'), () => void service('demo', { action: 'restart' }));
  remoteFile('/srv/deploy-note', { content: () => `deploy exit code: ${deploy.get().exit}\n` });
  authorizeKeys('deploy', [pub]);
};

test('a check run changes nothing on the node: filesystem, packages and processes are identical', async (t) => {
  // Logging in leaves traces of its own (lastlog, wtmp): a real run that only reads shows which.
  const a = manifest();
  const read = await run(() => void execScript('true', { changes: 'never' }), false);
  assert.equal(read.ok, true, explainSession(read));
  const b = manifest();
  const login = new Set(differing(a, b));
  t.diagnostic(`paths a login changes: ${[...login].join(', ') || '(none)'}`);
  const r = await run(everything, true);
  assert.equal(r.ok, true, explainSession(r));
  const c = manifest();
  const changedByCheck = differing(b, c).filter((k) => !login.has(k));
  assert.deepEqual(changedByCheck, [], 'the check run changed nothing');
  // ...and it did see work to do.
  assert.ok(actions(r).filter((x) => x.wouldChange).length >= 10, explainSession(r));
  // The flags it would set are not in the plan state it returns (a later operation given it must not act on them).
  assert.deepEqual(
    Object.values(r.planState.host).flatMap((h) => h.flags),
    [],
  );
});

test('check equals run: would change exactly where the run changes; dependent steps may change; then nothing', async () => {
  const check = actions(await run(everything, true));
  const real = await run(everything, false);
  assert.equal(real.ok, true, explainSession(real));
  const done = actions(real);
  assert.deepEqual(
    check.map((x) => x.summary.replace(/^planWhen .*/, 'planWhen')),
    done.map((x) => x.summary.replace(/^planWhen .*/, 'planWhen')),
    'the same actions, in the same order',
  );
  for (const [i, c] of check.entries()) {
    const d = done[i]!;
    assert.equal(c.changed, false, `${c.summary}: check mode never reports changed`);
    assert.equal(c.error, undefined, `${c.summary}: no errors in check mode: ${c.error?.message}`);
    if (c.mayChange) continue;
    assert.equal(
      Boolean(c.wouldChange),
      d.changed,
      `${c.summary}: check says ${c.wouldChange ? 'would change' : 'no change'}, the run ${d.changed ? 'changed' : 'did not change'}`,
    );
  }
  const may = check.filter((c) => c.mayChange);
  const maySummary = (re: RegExp) => may.find((m) => re.test(m.summary));
  // The restart hangs on a flag the changed file would set.
  assert.match(
    maySummary(/^service demo restart/)?.mayChange ?? '',
    /flag 'appconf' would be set by 'remoteFile \/etc\/check-app.conf'/,
  );
  // The note's content is computed from the user action's result.
  assert.match(
    maySummary(/^remoteFile \/srv\/deploy-note/)?.mayChange ?? '',
    /input comes from 'user deploy', which would change/,
  );
  // authorizeKeys fails now (no user deploy yet), but a real run creates the user first.
  assert.match(
    maySummary(/^authorizeKeys deploy/)?.mayChange ?? '',
    /its check failed .*no user deploy.*would change the node before it runs/,
  );
  // Every may-change is one a real run then made.
  for (const m of may) assert.equal(done[check.indexOf(m)]!.changed, true, `${m.summary} may change, and did`);

  const again = await run(everything, true);
  assert.equal(again.ok, true, explainSession(again));
  assert.deepEqual(
    actions(again)
      .filter((x) => x.wouldChange || x.mayChange)
      .map((x) => x.summary),
    [],
    'after the run, nothing would change',
  );
});

test('what would change: diffs for files, one line for the rest, nothing for a sensitive file', async () => {
  node.exec(
    "printf 'drifted\\n' > /etc/check-app.conf && chmod 600 /etc/check-app.conf && printf 'edited\\n' > /etc/check-secret",
  );
  node.exec('/etc/init.d/demo stop; gpasswd -d deploy web');
  const phase: PhaseFn = () => {
    remoteFile('/etc/check-app.conf', { content: 'new line\nkeep\n', mode: '0640', overwriteChanges: true });
    remoteFile('/etc/check-secret', { content: 'hunter2-new\n', sensitive: true, overwriteChanges: true });
    user('deploy', { groups: ['web'], append: true });
    service('demo', { action: 'start' });
    pkg('pallet-extra');
    pkg('pallet-plain', { action: 'remove' });
  };
  const r = await run(phase, true);
  assert.equal(r.ok, true, explainSession(r));
  const by = (re: RegExp) => actions(r).find((x) => re.test(x.summary))!;
  const conf = by(/check-app\.conf/);
  assert.equal(conf.wouldChange, true);
  assert.match(
    conf.diff ?? '',
    /^--- \/etc\/check-app\.conf\tcurrent\n\+\+\+ \/etc\/check-app\.conf\tnew\n@@ -1,1 \+1,2 @@\n-drifted\n\+new line\n\+keep$/m,
  );
  assert.ok(conf.would?.includes('mode of /etc/check-app.conf: 600 -> 640'), JSON.stringify(conf.would));
  const secret = by(/check-secret/);
  assert.equal(secret.wouldChange, true);
  assert.equal(secret.diff, undefined, 'a sensitive file has no diff');
  assert.deepEqual(secret.would, ['/etc/check-secret: content differs (sensitive: no diff)']);
  assert.ok(!JSON.stringify(r.results).includes('hunter2'), 'the secret appears nowhere in the result');
  assert.ok(!JSON.stringify(r.results).includes('edited'), "nor does the node's current content");
  assert.deepEqual(by(/^user deploy/).would, ['add deploy to groups web']);
  assert.deepEqual(by(/^service demo start/).would, ['start demo']);
  assert.deepEqual(by(/^pkg/).would, ['install pallet-extra 1.0', 'remove pallet-plain 1.0']);
  // The node is as it was: the check only looked.
  assert.equal(sh('cat /etc/check-app.conf; stat -c %a /etc/check-app.conf'), 'drifted\n600\n');
  assert.equal(sh("dpkg-query -W -f='${Status}' pallet-extra 2>/dev/null; echo"), '\n');
  // The real run makes exactly these changes, and a check after it finds none.
  const real = await run(phase, false);
  assert.deepEqual(
    actions(real)
      .filter((x) => x.changed)
      .map((x) => x.summary),
    actions(r)
      .filter((x) => x.wouldChange)
      .map((x) => x.summary),
  );
  const after = await run(phase, true);
  assert.deepEqual(
    actions(after)
      .filter((x) => x.wouldChange || x.mayChange)
      .map((x) => x.summary),
    [],
  );
});
