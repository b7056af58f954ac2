import { test } from 'node:test';
import { testSession } from '../helpers/compile.js';
import assert from 'node:assert/strict';
import {
  defineAction,
  execScript,
  explainPlan,
  getEnvironment,
  handler,
  installDeb,
  lineInFile,
  NodeValueError,
  pkg,
  sed,
  PlanError,
  planFn,
  planWhen,
  targetFlag,
  remoteFile,
  withActionOptions,
  withActionValues,
} from '../../src/index.js';
import { shapeScope } from '../../src/plan/plan-fn.js';
import { conditionFlags } from '../../src/plan/flags.js';
import { phaseItems, runInSession, type Session } from '../../src/plan/session.js';
import type { PlanItem } from '../../src/plan/types.js';

const session = (): Session => testSession({ app: { port: 8080 } });

const record = async (fn: () => void | Promise<void>): Promise<PlanItem[]> => {
  const s = session();
  await runInSession(s, fn);
  return shapeScope(s.scope);
};

const summaries = (items: PlanItem[]): string[] =>
  items.map((i) =>
    i.type === 'when'
      ? `when[${summaries(i.then).join(',')}]`
      : `${i.def.name}:${i.args.map((a) => String(a)).join('+')}`,
  );

const pkgLike = defineAction<[name: string], string>({
  name: 'pkgLike',
  execution: 'aggregated',
  parse: (n) => n,
  summary: (a) => `pkgLike ${a.join(' ')}`,
  script: (a) => ({ script: `echo ${a.join(' ')}`, changes: 'never' }),
});
const source = defineAction<[name: string], string>({
  name: 'source',
  execution: 'aggregated',
  alwaysBefore: ['pkgLike'],
  parse: (n) => n,
  summary: (a) => `source ${a.join(' ')}`,
  script: () => ({ script: ':', changes: 'never' }),
});
const collect = defineAction<[name: string], string>({
  name: 'collect',
  execution: 'collected',
  parse: (n) => n,
  summary: (a) => `collect ${a.join(' ')}`,
  script: () => ({ script: ':', changes: 'never' }),
});
const step = defineAction<[name: string], string>({
  name: 'step',
  execution: 'in-sequence',
  parse: (n) => n,
  summary: (a) => `step ${a[0]}`,
  script: () => ({ script: ':', changes: 'never' }),
});

test('aggregated calls merge into one action placed before in-sequence actions; collected go last', async () => {
  const items = await record(() => {
    step('1');
    pkgLike('curl');
    collect('x');
    step('2');
    pkgLike('git');
    collect('y');
  });
  assert.deepEqual(summaries(items), ['pkgLike:curl+git', 'step:1', 'step:2', 'collect:x+y']);
});

test('alwaysBefore on the definition and in action options is honoured', async () => {
  const items = await record(() => {
    pkgLike('curl');
    source('repo');
    step('a');
    withActionOptions({ actionId: 'late', alwaysAfter: ['step-b'] }, () => step('first-recorded'));
    withActionOptions({ actionId: 'step-b' }, () => step('b'));
  });
  assert.deepEqual(summaries(items), ['source:repo', 'pkgLike:curl', 'step:a', 'step:b', 'step:first-recorded']);
});

test('planWhen scopes are ordered on their own', async () => {
  const items = await record(() => {
    step('1');
    planWhen('[ -f /x ]', () => {
      step('in');
      pkgLike('inner');
    });
    pkgLike('outer');
  });
  assert.deepEqual(summaries(items), ['pkgLike:outer', 'step:1', 'when[pkgLike:inner,step:in]']);
});

test('actions outside a phase throw a clear error', () => {
  assert.throws(
    () => execScript('true'),
    (e: unknown) => e instanceof PlanError && /outside a phase/.test(e.message) && /execScript/.test(e.message),
  );
  assert.throws(() => getEnvironment('x'), /outside a phase/);
});

test('reading a node value at plan time throws and says how to read it', async () => {
  await assert.rejects(
    record(() => {
      const v = execScript('hostname');
      void v.get().out;
    }),
    (e: unknown) =>
      e instanceof NodeValueError &&
      /while the plan is being built/.test(e.message) &&
      /withActionValues/.test(e.message),
  );
});

test('named plan functions add their name to the context of their actions', async () => {
  const inner = planFn('inner', () => void step('x'));
  const outer = planFn('outer', () => {
    step('y');
    void inner();
  });
  const items = await record(() => outer());
  assert.deepEqual(
    items.map((i) => i.context),
    [['outer'], ['outer', 'inner']],
  );
  assert.equal(outer.planName, 'outer');
});

test('async plan functions record into the right scope after awaits', async () => {
  const items = await record(async () => {
    await planWhen('true', async () => {
      await new Promise((r) => setTimeout(r, 5));
      step('late');
    });
    step('after');
  });
  assert.deepEqual(summaries(items), ['when[step:late]', 'step:after']);
});

test('getEnvironment reads dotted paths, uses defaults, and throws on missing keys', async () => {
  await record(() => {
    assert.equal(getEnvironment('app.port'), 8080);
    assert.equal(getEnvironment(['app', 'missing'], 'dflt'), 'dflt');
    assert.throws(() => getEnvironment('app.missing'), /Could not find 'app.missing'/);
  });
});

test('action options are validated at plan time with the action and key named', async () => {
  await assert.rejects(
    record(() => void remoteFile('/etc/x', { content: 'x', mdoe: '0644' } as never)),
    /remoteFile '\/etc\/x': unknown key 'mdoe'/,
  );
  await assert.rejects(
    record(() => void remoteFile('/etc/x', { content: 'x', mode: 'rwx' })),
    /octal mode/,
  );
  await assert.rejects(
    record(() => void remoteFile('/etc/x', {})),
    /give one content source/,
  );
});

test('explainPlan shows actions and exact scripts without a node', async () => {
  const text = await explainPlan(
    planFn('demo', () => {
      const v = execScript('hostname', { changes: 'never' });
      withActionValues([v], (r) => r.out);
      remoteFile('/etc/motd', { content: "it's $HOME", mode: '0644' });
      planWhen(
        () => true,
        () => step('maybe'),
      );
    }),
  );
  assert.match(text, /PLAN for debian 12 \(demo\)/);
  assert.match(text, /ACTION: execScript hostname \(execScript, in-sequence, runs on the node\)/);
  assert.match(text, /withActionValues.*runs on the controller/);
  assert.match(text, /remoteFile \/etc\/motd/);
  assert.match(text, /base64 -d/);
  assert.match(text, /WHEN \(controller predicate/);
});

test('explainPlan for review: the helpers once, a targetFlag condition by name, decoded content with --show-content', async () => {
  const text = await explainPlan(
    planFn('review', () => {
      remoteFile('/etc/motd', { content: 'hello\nworld\n' });
      remoteFile('/etc/secret', { content: 'hunter2', sensitive: true });
      planWhen(targetFlag('motd'), () => void execScript('true'));
    }),
    { showContent: true },
  );
  assert.equal(text.match(/pallet_changed\(\) \{/g)?.length, 1, 'the helper prelude is shown once');
  assert.match(text, /EVERY SCRIPT STARTS WITH:\n {2}\| pallet_changed\(\)/);
  assert.match(text, /WHEN \(targetFlag\("motd"\), decided on the node, in the batch\):/);
  assert.match(text, /CONTENT:\n {4}> hello\n {4}> world\n/);
  assert.match(text, /CONTENT:\n {4}> <sensitive: not shown>/);
  assert.ok(!text.includes('hunter2'));
  const plain = await explainPlan(planFn('plain', () => void remoteFile('/etc/motd', { content: 'hello\n' })));
  assert.doesNotMatch(plain, /CONTENT:/, 'content only when asked');
});

test('ordering rules hold across planWhen blocks: a block is ordered by the rules of what it contains', async () => {
  // source is alwaysBefore pkgLike: inside a block, the block goes before the (aggregated, first) pkgLike.
  const items = await record(() => {
    step('1');
    planWhen('[ -f /x ]', () => source('repo'));
    pkgLike('nginx');
  });
  assert.deepEqual(summaries(items), ['when[source:repo]', 'pkgLike:nginx', 'step:1']);
  // An explicit alwaysBefore inside a block counts too.
  const explicit = await record(() => {
    planWhen('true', () => withActionOptions({ alwaysBefore: ['pkgLike'] }, () => step('early')));
    pkgLike('git');
  });
  assert.deepEqual(summaries(explicit), ['when[step:early]', 'pkgLike:git']);
  // A block that would have to be both before and after an item is a PlanError naming the cycle.
  await assert.rejects(
    record(() => {
      planWhen('true', () => {
        source('repo');
        withActionOptions({ alwaysAfter: ['pkgLike'] }, () => step('late'));
      });
      pkgLike('git');
    }),
    (e: unknown) => e instanceof PlanError && /cycle: .*planWhen/.test(e.message),
  );
});

test('the real package actions keep their order inside planWhen (explainPlan shows it)', async () => {
  const { packageManager, pkg } = await import('../../src/index.js');
  const text = await explainPlan(
    planFn(() => {
      planWhen('[ -f /etc/x ]', () => packageManager('update'));
      pkg('nginx');
    }),
  );
  const update = text.indexOf('packageManager update');
  const install = text.indexOf('pkg nginx');
  assert.ok(update >= 0 && install > update, text);
});

test('flagOnChanged: every action takes it from its options (or an extra options argument); the engine, not the action, gets it', async () => {
  const s = session();
  await runInSession(s, () => {
    pkg('nginx', { flagOnChanged: 'web' });
    pkg('curl');
    installDeb('/tmp/x.deb', { flagOnChanged: 'deb' });
    // sed's expressions are data: a key named flagOnChanged in them is an expression, not an option.
    sed('/etc/a', { flagOnChanged: 'b' }, { flagOnChanged: 'sed' });
    withActionOptions({ flagOnChanged: 'all' }, () => void execScript('true'));
    remoteFile('/etc/motd', { content: 'x', flagOnChanged: 'motd' });
  });
  const items = shapeScope(s.scope) as Array<Extract<PlanItem, { type: 'action' }>>;
  const flags = items.map((i) => [i.def.name, i.options.flagOnChanged ?? null]);
  assert.deepEqual(
    flags,
    [
      ['pkg', 'web'],
      ['pkg', null],
      ['installDeb', 'deb'],
      ['sed', 'sed'],
      ['execScript', 'all'],
      ['remoteFile', 'motd'],
    ],
    'calls with different flags are not merged',
  );
  const sedArgs = items[3]!.args[0] as { exprs: Array<[string, string]>; opts: Record<string, unknown> };
  assert.deepEqual(sedArgs.exprs, [['flagOnChanged', 'b']]);
  assert.deepEqual(sedArgs.opts, {});
  for (const bad of ['has space', '', '..', 'a/b']) {
    await assert.rejects(
      record(() => void pkg('x', { flagOnChanged: bad })),
      (e: Error) => e instanceof PlanError && /pkg: the flag name .* is not allowed/.test(e.message),
    );
  }
  await assert.rejects(
    record(() => void pkg('x', { flagOnChanged: (() => 'late') as unknown as string })),
    /a literal string/,
  );
});

test('handler: declared once, placed after the phase, decided by a flag condition; explain names it', async () => {
  const s = session();
  await runInSession(s, () => {
    const restart = handler('restart-ssh', () => void execScript('service ssh restart'));
    assert.equal(restart, 'restart-ssh');
    lineInFile('/etc/ssh/sshd_config', {
      regexp: '^#?PermitRootLogin',
      line: 'PermitRootLogin no',
      flagOnChanged: restart,
    });
    // A crate used twice declares its handler twice: it runs once.
    handler('restart-ssh', () => void execScript('service ssh restart'));
    handler(['a', 'b'], () => void execScript('echo ab'));
    execScript('echo last');
  });
  const items = phaseItems(s, shapeScope);
  assert.deepEqual(summaries(items), [
    'lineInFile:[object Object]',
    'execScript:[object Object]',
    'when[execScript:[object Object]]',
    'when[execScript:[object Object]]',
  ]);
  const [h1, h2] = items.slice(2) as Array<Extract<PlanItem, { type: 'when' }>>;
  assert.deepEqual([conditionFlags(h1!.cond), conditionFlags(h2!.cond)], [['restart-ssh'], ['a', 'b']]);
  const text = await explainPlan(
    planFn('h', () => {
      const r = handler('restart-ssh', () => void execScript('service ssh restart'));
      lineInFile('/etc/ssh/sshd_config', { line: 'UseDNS no', flagOnChanged: r });
    }),
  );
  assert.match(text, /SETS FLAG: restart-ssh \(when it changes the node\)/);
  assert.match(
    text,
    /WHEN \(targetFlag\("restart-ssh"\), decided on the node, in the batch\):\n.*ACTION: execScript service ssh restart/,
  );
  await assert.rejects(
    record(() => void handler('bad name', () => {})),
    /handler: the flag name "bad name" is not allowed/,
  );
});
