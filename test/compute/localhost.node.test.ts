/**
 * lift and converge for real on this machine (the localhost service), inside
 * a temporary directory.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  assocSettings,
  converge,
  directory,
  execCheckedScript,
  execScript,
  explainSession,
  file,
  getNodeSettings,
  getSettings,
  groupSpec,
  lift,
  localhostService,
  nodeListService,
  osFamily,
  PhaseErrors,
  phaseErrors,
  planFn,
  planWhen,
  planWhenNot,
  remoteFile,
  shQuote,
  SpecError,
  targetFlag,
  targetId,
  targets,
  throwPhaseErrors,
  withActionOptions,
  withActionValues,
  asAction,
  updateSettings,
  targetFlagValue,
  type ComputeService,
  type OperationResult,
} from '../../src/index.js';

let root: string;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'pallet-test-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

const changedOf = (r: OperationResult, phase: string) =>
  r.results.filter((x) => x.phase === phase).flatMap((x) => x.actions.map((a) => [a.summary, a.changed]));

test('lift an inline phase: first run changes, second run changes nothing', async () => {
  const dir = join(root, 'inline');
  const phase = () => {
    directory(dir, { mode: '0750' });
    remoteFile(join(dir, 'motd'), { content: 'hello\n', mode: '0640' });
    file(join(dir, 'empty'));
  };
  const compute = localhostService();
  const r1 = await lift(groupSpec('web'), { phase, compute });
  assert.equal(r1.ok, true, explainSession(r1));
  assert.deepEqual(
    changedOf(r1, 'inline').map(([, c]) => c),
    [true, true, true],
  );
  assert.equal(readFileSync(join(dir, 'motd'), 'utf8'), 'hello\n');
  assert.equal((statSync(join(dir, 'motd')).mode & 0o777).toString(8), '640');
  assert.equal((statSync(dir).mode & 0o777).toString(8), '750');
  const r2 = await lift(groupSpec('web'), { phase, compute });
  assert.equal(r2.ok, true);
  assert.deepEqual(
    changedOf(r2, 'inline').map(([, c]) => c),
    [false, false, false],
  );
  // Mode drift is repaired even though the content is the same.
  const { chmodSync } = await import('node:fs');
  chmodSync(join(dir, 'motd'), 0o600);
  const r3 = await lift(groupSpec('web'), { phase, compute });
  assert.deepEqual(
    changedOf(r3, 'inline').map(([, c]) => c),
    [false, true, false],
  );
  assert.equal((statSync(join(dir, 'motd')).mode & 0o777).toString(8), '640');
});

test('a phase with arguments, and a named plan function whose name is in the result', async () => {
  const out = join(root, 'deploy.txt');
  const deploy = planFn('deploy-app', (version: string, note: string) => {
    remoteFile(out, { content: `${version} ${note}\n` });
  });
  const g = groupSpec('app', { phases: { deploy } });
  const r = await lift(g, { phase: { name: 'deploy', args: ['v2', "it's $HOME"] }, compute: localhostService() });
  assert.equal(r.ok, true, explainSession(r));
  assert.equal(readFileSync(out, 'utf8'), "v2 it's $HOME\n");
  const deployResult = r.results.find((x) => x.phase === 'deploy')!;
  assert.deepEqual(deployResult.actions[0]!.context, ['deploy-app']);
  assert.deepEqual(r.phases, ['pallet/os', 'deploy']);
});

test('default phases: configure runs when no phase is given', async () => {
  const marker = join(root, 'configured');
  const g = groupSpec('cfg', { phases: { configure: () => void file(marker) } });
  const r = await lift(g, { compute: localhostService() });
  assert.equal(r.ok, true);
  assert.ok(existsSync(marker));
});

test('a failing script: the error names node, phase and action; the rest of the target and later phases do not run', async () => {
  const later = join(root, 'later');
  const never = join(root, 'never');
  const g = groupSpec('fail', {
    phases: {
      configure: planFn('broken', () => {
        execScript('echo about to fail; echo bad thing >&2; exit 7');
        file(later);
      }),
      second: () => void file(never),
    },
  });
  const r = await lift(g, { phase: ['configure', 'second'], compute: localhostService() });
  assert.equal(r.ok, false);
  const errs = phaseErrors(r);
  assert.equal(errs.length, 1);
  const e = errs[0]!;
  assert.equal(e.node, 'localhost');
  assert.equal(e.phase, 'configure');
  assert.match(e.action, /^execScript echo about to fail/);
  assert.equal(e.exit, 7);
  assert.match(
    e.message,
    /localhost: phase 'configure', action 'execScript echo about to fail.*' \(in broken\) failed with exit code 7: bad thing/,
  );
  assert.ok(!existsSync(later));
  assert.ok(!existsSync(never));
  assert.ok(!r.results.some((x) => x.phase === 'second'));
  assert.throws(
    () => throwPhaseErrors(r),
    (x: unknown) => x instanceof PhaseErrors && x.errors.length === 1,
  );
  assert.match(explainSession(r), /ERROR: localhost: phase 'configure'/);
});

/** Two nodes on this machine, as existing servers. */
function twoNodes(): ComputeService {
  return nodeListService([
    ['alpha', 'pair', '127.0.0.1', 'debian', { id: 'alpha' }],
    ['beta', 'pair', '127.0.0.1', 'debian', { id: 'beta' }],
  ]);
}

test('a failing target does not hide the results of the others; the next phase does not run', async () => {
  const g = groupSpec('pair', {
    phases: {
      configure: () => {
        if (targetId() === 'alpha') execScript('exit 3');
        remoteFile(join(root, `pair-${targetId()}`), { content: targetId() });
      },
      next: () => void file(join(root, `next-${targetId()}`)),
    },
  });
  const r = await lift(g, { phase: ['configure', 'next'], compute: twoNodes() });
  assert.equal(r.ok, false);
  const conf = r.results.filter((x) => x.phase === 'configure');
  assert.deepEqual(
    conf.map((x) => [x.node!.id, x.ok]),
    [
      ['alpha', false],
      ['beta', true],
    ],
  );
  assert.equal(readFileSync(join(root, 'pair-beta'), 'utf8'), 'beta');
  assert.ok(!existsSync(join(root, 'pair-alpha')));
  assert.ok(!existsSync(join(root, 'next-beta')));
});

test('settings written in the settings phase are visible to every node later; other writes after the barrier', async () => {
  const seen: Record<string, unknown> = {};
  const g = groupSpec('pair', {
    phases: {
      settings: () =>
        assocSettings('app', { id: targetId(), port: 8000 + targets().findIndex((t) => t.node.id === targetId()) }),
      configure: () => {
        const other = targetId() === 'alpha' ? 'beta' : 'alpha';
        seen[`${targetId()} sees ${other}`] = getNodeSettings(other, 'app');
        seen[`${targetId()} own`] = getSettings('app');
        assocSettings('late', { v: targetId() });
        seen[`${targetId()} late of ${other}`] = getNodeSettings(other, 'late');
      },
      check: () => {
        const other = targetId() === 'alpha' ? 'beta' : 'alpha';
        seen[`${targetId()} check late of ${other}`] = getNodeSettings(other, 'late');
      },
    },
  });
  const r = await lift(g, { phase: ['configure', 'check'], compute: twoNodes(), osDetect: false });
  assert.equal(r.ok, true);
  assert.deepEqual(seen['alpha sees beta'], { id: 'beta', port: 8001 });
  assert.deepEqual(seen['beta sees alpha'], { id: 'alpha', port: 8000 });
  assert.deepEqual(seen['alpha own'], { id: 'alpha', port: 8000 });
  assert.equal(seen['beta late of alpha'], undefined);
  assert.deepEqual(seen['beta check late of alpha'], { v: 'alpha' });
  assert.deepEqual(r.planState.host.alpha!.settings.app!.default, { id: 'alpha', port: 8000 });
});

test('node values: planWhen with shell and controller conditions, withActionValues, deferred arguments, flags', async () => {
  const dir = join(root, 'values');
  const seen: string[] = [];
  const phase = planFn('values', () => {
    directory(dir);
    const host = execScript('printf "%s" "$(hostname)"', { changes: 'never' });
    planWhen(`[ -d ${shQuote(dir)} ]`, () => void file(join(dir, 'shell-true')));
    planWhenNot(`[ -d ${shQuote(dir)} ]`, () => void file(join(dir, 'shell-false')));
    planWhen(
      () => host.get().out.length > 0,
      () => void file(join(dir, 'fn-true')),
    );
    const upper = withActionValues([host], (h) => h.out.toUpperCase());
    remoteFile(join(dir, 'host'), { content: () => `${upper.get()}\n`, flagOnChanged: 'hostChanged' });
    planWhen(targetFlag('hostChanged'), () => void execScript(`echo restarted > ${shQuote(join(dir, 'restarted'))}`));
    withActionValues([upper], (u) => void seen.push(u));
  });
  const compute = localhostService();
  const r = await lift(groupSpec('v'), { phase, compute });
  assert.equal(r.ok, true, explainSession(r));
  const { hostname } = await import('node:os');
  assert.equal(readFileSync(join(dir, 'host'), 'utf8'), `${hostname().toUpperCase()}\n`);
  assert.ok(existsSync(join(dir, 'shell-true')));
  assert.ok(!existsSync(join(dir, 'shell-false')));
  assert.ok(existsSync(join(dir, 'fn-true')));
  assert.ok(existsSync(join(dir, 'restarted')));
  assert.deepEqual(seen, [hostname().toUpperCase()]);
  // Second run: content unchanged, so the flag is not set and the restart does not run.
  rmSync(join(dir, 'restarted'));
  const r2 = await lift(groupSpec('v'), { phase, compute });
  assert.equal(r2.ok, true);
  assert.ok(!existsSync(join(dir, 'restarted')));
  assert.deepEqual(
    r2.results
      .find((x) => x.phase === 'values')!
      .actions.filter((a) => a.changed)
      .map((a) => a.summary),
    [],
  );
});

/** A compute service that counts round trips (script runs) per node. */
function counting(inner: ComputeService): {
  compute: ComputeService;
  runs: Map<string, number>;
  connects: Map<string, number>;
} {
  const runs = new Map<string, number>();
  const connects = new Map<string, number>();
  const compute: ComputeService = {
    ...inner,
    nodes: (q) => inner.nodes(q),
    async connect(node, user) {
      connects.set(node.id, (connects.get(node.id) ?? 0) + 1);
      const t = await inner.connect(node, user);
      return {
        description: t.description,
        close: () => t.close(),
        run: (script, o) => {
          runs.set(node.id, (runs.get(node.id) ?? 0) + 1);
          return t.run(script, o);
        },
      };
    },
  };
  return { compute, runs, connects };
}

test('one round trip per node per phase, whatever the number of actions; one connection per node', async () => {
  const dir = join(root, 'trips');
  const many = (n: number) => () => {
    directory(dir);
    for (let i = 0; i < n; i++) {
      remoteFile(join(dir, `f${i}`), { content: `file ${i}\n`, mode: '0644' });
      planWhen(`[ -f ${shQuote(join(dir, `f${i}`))} ]`, () => void file(join(dir, `g${i}`)));
    }
    execCheckedScript('check', ['test -d ' + shQuote(dir), 'true']);
  };
  for (const n of [2, 20]) {
    const { compute, runs, connects } = counting(localhostService());
    const g = groupSpec('trips', { phases: { a: many(n), b: many(n) } });
    const r2 = await lift(g, { phase: ['a', 'b'], compute });
    assert.equal(r2.ok, true, explainSession(r2));
    // pallet/os + a + b = 3 round trips, over 1 connection.
    assert.equal(runs.get('localhost'), 3, `n=${n}`);
    assert.equal(connects.get('localhost'), 1);
    assert.equal(r2.results.find((x) => x.phase === 'a')!.actions.length, 1 + n * 3 + 1);
  }
});

test('OS detection runs first and feeds osFamily()', async () => {
  let family: string | undefined;
  const r = await lift(groupSpec('os'), { phase: () => void (family = osFamily()), compute: localhostService() });
  assert.equal(r.ok, true);
  const detected = r.planState.host.localhost!.settings['pallet/os']!.default as Record<string, string>;
  assert.ok(detected.osFamily, 'detected an OS family');
  assert.equal(family, detected.osFamily);
});

test('converge on localhost: create, bootstrap once, configure, then remove', async () => {
  const log: string[] = [];
  const g = groupSpec('solo', {
    count: 1,
    phases: {
      bootstrap: () => void log.push('bootstrap'),
      configure: () => void log.push('configure'),
      destroyServer: () => void log.push('destroyServer'),
      destroyGroup: () => void log.push('destroyGroup'),
      createGroup: () => void log.push('createGroup'),
    },
  });
  const compute = localhostService({ groupName: 'unrelated', bootstrapped: false });
  const r1 = await converge([[g, 1]], { compute });
  assert.equal(r1.ok, true, explainSession(r1));
  assert.equal(r1.newNodes.length, 1);
  assert.deepEqual(log, ['createGroup', 'bootstrap', 'configure']);
  log.length = 0;
  const r2 = await converge([g], { compute });
  assert.equal(r2.newNodes.length, 0);
  assert.deepEqual(log, ['configure']);
  log.length = 0;
  const r3 = await converge(new Map([[g, 0]]), { compute });
  assert.equal(r3.oldNodes.length, 1);
  assert.deepEqual(log, ['destroyServer', 'destroyGroup']);
  log.length = 0;
  const r4 = await lift(g, { compute });
  assert.equal(r4.targets.length, 0);
  assert.deepEqual(log, []);
});

test('partitionBy runs batches one after another; postPhase sees each batch', async () => {
  const order: string[] = [];
  const g = groupSpec('pair', { phases: { configure: () => void execScript(`echo ${shQuote(targetId())}`) } });
  const r = await lift(g, {
    compute: twoNodes(),
    osDetect: false,
    partitionBy: (ts) => ts.map((t) => [t]),
    postPhase: ({ phase, targets: ts }) => void order.push(`${phase}:${ts.map((t) => t.node.id).join(',')}`),
  });
  assert.equal(r.ok, true);
  assert.deepEqual(order, ['configure:alpha', 'configure:beta']);
});

test('file content, paths and values full of shell metacharacters arrive exactly, and nothing else runs', async () => {
  const weird = join(root, "we'ird $(touch pwned) `touch pwned2` dir");
  const content =
    'line1 $HOME `id` $(id) \'single\' "double" \\ back\nPALLET_EOF\n\u00e9\u65e5\n\ttab no-newline-at-end';
  const phase = () => {
    directory(weird);
    remoteFile(join(weird, "f;rm -rf x'"), { content });
    withActionOptions({ scriptEnv: { GREETING: "hi $(touch pwned3) 'there'" } }, () => {
      execScript(`printf '%s' "$GREETING" > ${shQuote(join(weird, 'env'))}`);
    });
  };
  const r = await lift(groupSpec('meta'), { phase, compute: localhostService({ cwd: root }) });
  assert.equal(r.ok, true, explainSession(r));
  assert.equal(readFileSync(join(weird, "f;rm -rf x'"), 'utf8'), content);
  assert.equal(readFileSync(join(weird, 'env'), 'utf8'), "hi $(touch pwned3) 'there'");
  for (const f of ['pwned', 'pwned2', 'pwned3']) assert.ok(!existsSync(join(root, f)), `${f} must not exist`);
});

test('withActionOptions scriptDir runs the action in that directory', async () => {
  const d = join(root, 'script dir');
  const r = await lift(groupSpec('sd'), {
    phase: () => withActionOptions({ scriptDir: d }, () => void execScript('pwd > here')),
    compute: localhostService(),
    osDetect: false,
  });
  assert.equal(r.ok, true, explainSession(r));
  assert.equal(readFileSync(join(d, 'here'), 'utf8').trim(), d);
});

test('bad operation options and bad input are rejected with clear errors', async () => {
  await assert.rejects(
    lift(groupSpec('x'), { compute: localhostService(), phsae: 'configure' } as never),
    (e: unknown) => e instanceof SpecError && /unknown key 'phsae'/.test(e.message),
  );
  await assert.rejects(lift(groupSpec('x'), {}), /give a compute service/);
  await assert.rejects(
    converge([groupSpec('x')], { compute: localhostService() }),
    /Node count not specified for group 'x'/,
  );
  // A plan function that throws is a failed result for its target, with the error as cause.
  const r = await lift(groupSpec('x'), {
    compute: localhostService(),
    phase: () => void remoteFile('/tmp/x', { content: 'x', mdoe: 1 } as never),
  });
  assert.equal(r.ok, false);
  const failed = r.results.find((x) => x.reason === 'plan-error')!;
  assert.match(
    failed.actions[0]!.error!.message,
    /localhost: phase 'inline': building the plan failed: remoteFile '\/tmp\/x': unknown key 'mdoe'/,
  );
  assert.ok(failed.actions[0]!.error!.cause instanceof Error);
});

test('an aborted operation stops before the next phase', async () => {
  const ac = new AbortController();
  const g = groupSpec('ab', {
    phases: { one: () => void execScript('true'), two: () => void file(join(root, 'aborted-two')) },
  });
  const r = await lift(g, {
    phase: ['one', 'two'],
    compute: localhostService(),
    postPhase: () => ac.abort(),
    signal: ac.signal,
    osDetect: false,
  });
  assert.equal(r.ok, false);
  assert.ok(!existsSync(join(root, 'aborted-two')));
});

test('considerGroups take part in settings only; explicit targets; asAction, updateSettings, targetFlagValue', async () => {
  const compute = nodeListService([
    ['alpha', 'app', '127.0.0.1', 'debian', { id: 'alpha', osVersion: '12' }],
    ['beta', 'db', '127.0.0.1', 'debian', { id: 'beta', osVersion: '12' }],
  ]);
  const seen: Record<string, unknown> = {};
  const ran: string[] = [];
  const db = groupSpec('db', {
    phases: {
      settings: () => assocSettings('db', { port: 5432 }),
      configure: () => void ran.push(`db configure ${targetId()}`),
    },
  });
  const app = groupSpec('app', {
    phases: {
      settings: () => {
        assocSettings('app', { n: 1 });
        updateSettings('app', (s) => ({ ...s, n: (s.n as number) + 1 }));
      },
      configure: () => {
        ran.push(`app configure ${targetId()}`);
        seen.db = getNodeSettings('beta', 'db');
        seen.app = getSettings('app');
        seen.value = targetFlagValue('version');
        const v = asAction(() => 40 + 2, 'compute the answer');
        withActionValues([v], (x) => void (seen.answer = x));
        execScript('pallet_set_value version 1.2', { changes: 'never' });
      },
      check: () => void (seen.later = targetFlagValue('version')),
    },
  });
  const r = await lift(app, { compute, considerGroups: [db], phase: ['configure', 'check'] });
  assert.equal(r.ok, true, explainSession(r));
  assert.deepEqual(ran, ['app configure alpha']);
  assert.deepEqual(seen.db, { port: 5432 });
  assert.deepEqual(seen.app, { n: 2 });
  assert.equal(seen.value, undefined);
  assert.equal(seen.answer, 42);
  assert.equal(seen.later, '1.2');
  // Explicit targets: nodes given directly, with the group they run as.
  const node = (await compute.nodes()).find((n) => n.id === 'beta')!;
  const r2 = await lift(
    { group: groupSpec('adhoc', { phases: { configure: () => void ran.push(`adhoc ${targetId()}`) } }), nodes: [node] },
    { compute },
  );
  assert.equal(r2.ok, true);
  assert.deepEqual(ran.slice(-1), ['adhoc beta']);
});

test('sensitive file content never appears in results or reports', async () => {
  const secret = 'hunter2-very-secret-token';
  const r = await lift(groupSpec('s'), {
    compute: localhostService(),
    osDetect: false,
    phase: () =>
      void remoteFile(join(root, 'secret.txt'), {
        content: `${secret}\n`,
        sensitive: true,
        mode: '0600',
        noVersioning: true,
      }),
  });
  assert.equal(r.ok, true, explainSession(r));
  assert.equal(readFileSync(join(root, 'secret.txt'), 'utf8'), `${secret}\n`);
  const all = JSON.stringify(r) + explainSession(r);
  assert.ok(!all.includes(secret));
  assert.ok(!all.includes(Buffer.from(`${secret}\n`).toString('base64')));
  assert.match(explainSession(r), /<sensitive>/);
});

test('a large localFile on localhost goes through the private upload directory', async () => {
  const { randomBytes } = await import('node:crypto');
  const { writeFileSync } = await import('node:fs');
  const src = join(root, 'big-src.bin');
  const content = randomBytes(100 * 1024);
  writeFileSync(src, content);
  const phase = () => void remoteFile(join(root, 'big-dest.bin'), { localFile: src, noVersioning: true });
  const r = await lift(groupSpec('big'), { compute: localhostService(), osDetect: false, phase });
  assert.equal(r.ok, true, explainSession(r));
  assert.deepEqual(readFileSync(join(root, 'big-dest.bin')), content);
  const r2 = await lift(groupSpec('big'), { compute: localhostService(), osDetect: false, phase });
  assert.deepEqual(
    r2.results.flatMap((x) => x.actions.filter((a) => a.changed)),
    [],
  );
});
