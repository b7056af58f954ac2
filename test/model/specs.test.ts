import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterSpec, groupSpec, nodeSpec, serverSpec, SpecError, type PhaseFn } from '../../src/index.js';
import { totalOrderMerge } from '../../src/core/merge.js';

/** A phase function that logs `name` and its arguments into `log`. */
const logger = (log: string[], name: string): PhaseFn =>
  ((...args: unknown[]) => {
    log.push(`${name}${args.length ? `(${args.join(',')})` : ''}`);
  }) as PhaseFn;

const runPhase = async (fns: ReadonlyArray<PhaseFn>, ...args: unknown[]) => {
  for (const f of fns) await (f as (...a: unknown[]) => unknown)(...args);
};

test('extends: same-named phases run inherited first, in extends order, then own, with the same arguments', async () => {
  const log: string[] = [];
  const a = serverSpec({ phases: { configure: logger(log, 'a') } });
  const b = serverSpec({ phases: { configure: logger(log, 'b'), install: logger(log, 'b-install') } });
  const g = groupSpec('web', { extends: [a, b], phases: { configure: logger(log, 'own') } });
  await runPhase(g.phases.configure!.fns, 'x', 2);
  assert.deepEqual(log, ['a(x,2)', 'b(x,2)', 'own(x,2)']);
  assert.ok(g.phases.install);
});

test('extends a single spec; nested extends keep their order', async () => {
  const log: string[] = [];
  const base = serverSpec({ phases: { configure: logger(log, 'base') } });
  const mid = serverSpec({ extends: base, phases: { configure: logger(log, 'mid') } });
  const g = groupSpec('g', { extends: mid, phases: { configure: logger(log, 'g') } });
  await runPhase(g.phases.configure!.fns);
  assert.deepEqual(log, ['base', 'mid', 'g']);
});

test('roles are unioned; a single role becomes a list', () => {
  const a = serverSpec({ roles: 'db' });
  const b = serverSpec({ roles: ['web', 'db'] });
  const g = groupSpec('g', { extends: [a, b], roles: ['cache'] });
  assert.deepEqual([...g.roles].sort(), ['cache', 'db', 'web']);
});

test('defaultPhases: explicit, else inherited total order, else configure', () => {
  const java = serverSpec({ defaultPhases: ['install'] });
  assert.deepEqual(groupSpec('g', { extends: java }).defaultPhases, ['install']);
  const conf = serverSpec({});
  assert.deepEqual(conf.defaultPhases, ['configure']);
  assert.deepEqual(groupSpec('g', { extends: [conf, java] }).defaultPhases, ['configure', 'install']);
  assert.deepEqual(groupSpec('g', { extends: [conf, java], defaultPhases: ['x'] }).defaultPhases, ['x']);
  assert.deepEqual(groupSpec('g').defaultPhases, ['configure']);
});

test('totalOrderMerge keeps every input order and fails clearly on contradictions', () => {
  assert.deepEqual(
    totalOrderMerge([
      ['a', 'b'],
      ['b', 'c'],
      ['a', 'c'],
    ]),
    ['a', 'b', 'c'],
  );
  assert.deepEqual(
    totalOrderMerge([
      ['install', 'configure'],
      ['configure', 'restart'],
    ]),
    ['install', 'configure', 'restart'],
  );
  const s1 = serverSpec({ defaultPhases: ['a', 'b'] });
  const s2 = serverSpec({ defaultPhases: ['b', 'a'] });
  assert.throws(
    () => groupSpec('g', { extends: [s1, s2] }),
    (e: unknown) => e instanceof SpecError && /No total ordering available/.test(e.message),
  );
});

test('everything else deep-merges: nested maps merge, later values win', () => {
  const a = serverSpec({ image: { osFamily: 'debian', osVersion: '11' }, hardware: { minRam: 512 } });
  const b = serverSpec({ image: { osVersion: '12' }, packager: 'apt' });
  const g = groupSpec('g', { extends: [a, b], hardware: { minCores: 2 } });
  assert.deepEqual(g.image, { osFamily: 'debian', osVersion: '12' });
  assert.deepEqual(g.hardware, { minRam: 512, minCores: 2 });
  assert.equal(g.packager, 'apt');
});

test('nodeSpec options become top-level keys of the group', () => {
  const ns = nodeSpec({ image: { imageId: 'localhost/debian:12', osFamily: 'debian' } });
  const g = groupSpec('g', { nodeSpec: ns, count: 2 });
  assert.equal(g.image?.imageId, 'localhost/debian:12');
  assert.equal(g.count, 2);
  assert.equal(g.groupName, 'g');
});

test('unknown keys and wrong types are rejected, naming the spec and the key', () => {
  assert.throws(
    () => groupSpec('web', { cont: 2 } as never),
    (e: unknown) =>
      e instanceof SpecError &&
      e.message.includes("groupSpec 'web'") &&
      e.message.includes("'cont'") &&
      e.key === 'cont',
  );
  assert.throws(
    () => groupSpec('web', { count: 'two' } as never),
    (e: unknown) => e instanceof SpecError && e.message.includes("groupSpec 'web'") && e.message.includes("'count'"),
  );
  assert.throws(
    () => serverSpec({ phases: { configure: 'not a function' } } as never),
    (e: unknown) => e instanceof SpecError && /phases\.configure/.test(e.message),
  );
  assert.throws(
    () => nodeSpec({ network: { inboundPorts: [{ port: 80 }] } } as never),
    (e: unknown) => e instanceof SpecError && /nodeSpec/.test(e.message),
  );
  assert.throws(() => nodeSpec({ flavour: 'x' } as never), /unknown key 'flavour'/);
  // Image, hardware and location are strict: a misspelt key fails here, not later in a provider.
  assert.throws(() => nodeSpec({ image: { imageID: 'localhost/debian:12' } } as never), /nodeSpec[\s\S]*imageID/);
  assert.throws(() => groupSpec('web', { hardware: { minRAM: 512 } } as never), /groupSpec 'web'[\s\S]*minRAM/);
  assert.throws(() => nodeSpec({ location: { region: 'eu' } } as never), /region/);
  assert.throws(() => groupSpec(''), /non-empty/);
  assert.throws(() => groupSpec('g', { extends: [{ phases: {} }] } as never), /extends/);
});

test('phasesMeta decorates phases; bootstrap runs once with image credentials by default', () => {
  const part = (ts: never[]) => [ts];
  const g = groupSpec('g', {
    phases: { bootstrap: () => {}, configure: () => {} },
    phasesMeta: { configure: { partitionBy: part as never } },
  });
  assert.equal(g.phases.bootstrap!.meta.runOnceFlag, 'bootstrapped');
  assert.equal(g.phases.bootstrap!.meta.useImageCredentials, true);
  assert.equal(g.phases.configure!.meta.partitionBy, part);
});

test('clusterSpec: prefixed names, unioned roles, counts multiplied, phase order group -> cluster -> cluster extends', async () => {
  const log: string[] = [];
  const ext = serverSpec({ phases: { configure: logger(log, 'cluster-extends') } });
  const web = groupSpec('web', { count: 2, roles: 'web', phases: { configure: logger(log, 'group') } });
  const db = groupSpec('db', { count: 1 });
  const c = clusterSpec('prod', {
    extends: ext,
    roles: ['prod'],
    count: 3,
    phases: { configure: logger(log, 'cluster') },
    nodeSpec: nodeSpec({ image: { osFamily: 'debian' } }),
    groups: [web, [db, 2]],
  });
  assert.deepEqual(
    c.groups.map((g) => g.groupName),
    ['prod-web', 'prod-db'],
  );
  assert.deepEqual(
    c.groups.map((g) => g.count),
    [6, 6],
  );
  assert.deepEqual([...c.groups[0]!.roles].sort(), ['prod', 'web']);
  assert.equal(c.groups[1]!.image?.osFamily, 'debian');
  await runPhase(c.groups[0]!.phases.configure!.fns);
  assert.deepEqual(log, ['group', 'cluster', 'cluster-extends']);
  assert.deepEqual(
    clusterSpec('', { groups: [web] }).groups.map((g) => g.groupName),
    ['web'],
  );
});
