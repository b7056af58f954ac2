/**
 * converge with the Docker provider against a real engine API (podman's
 * Docker-compatible service): create, grow, shrink and remove real nodes,
 * checking the engine's own container list after each step.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  automatedAdminUser,
  converge,
  dockerService,
  execScript,
  explainSession,
  groupSpec,
  lift,
  makeUser,
  nodeSpec,
  remoteFile,
  targetId,
  withActionValues,
  type OperationResult,
} from '../../src/index.js';
import { jsonRenderer, lineRenderer, summaryText } from '../../src/entry/report.js';
import { jsonSummary } from '../../src/report/render.js';
import { sliceOf } from '../../src/operation/targets.js';
import { assertTestNodesReady, makeKey, TEST_IMAGE, tempDir } from '../helpers/nodes.js';

const SOCK = process.env.PALLET_PODMAN_SOCK ?? '/run/podman/podman.sock';
const SERVICE = 'pallet-test-docker';
let dir: string;
let admin: ReturnType<typeof makeUser>;

/** The engine's own view: container name -> group label, for this service's containers. */
function engineContainers(): Map<string, string> {
  const out = execFileSync(
    'podman',
    ['ps', '-a', '--filter', `label=pallet.service=${SERVICE}`, '--format', '{{.Names}} {{.Labels}}'],
    { encoding: 'utf8' },
  );
  const m = new Map<string, string>();
  for (const line of out.trim().split('\n').filter(Boolean)) {
    const [nameCol] = line.split(' ');
    const group = /pallet\.group:([^ \]]+)/.exec(line)?.[1] ?? '';
    m.set(nameCol!, group);
  }
  return m;
}

const count = (group: string) => [...engineContainers().values()].filter((g) => g === group).length;

function cleanup() {
  const ids = execFileSync('podman', ['ps', '-aq', '--filter', `label=pallet.service=${SERVICE}`], {
    encoding: 'utf8',
  }).trim();
  if (ids) execFileSync('podman', ['rm', '-f', '-t', '0', ...ids.split('\n')]);
}

before(() => {
  assertTestNodesReady();
  cleanup();
  dir = tempDir('pallet-docker-');
  const key = makeKey(dir, 'id');
  admin = makeUser('padmin', { privateKeyPath: key.path, publicKeyPath: `${key.path}.pub` });
});
after(cleanup);

const compute = () => dockerService({ name: SERVICE, socketPath: SOCK });
const image = nodeSpec({ image: { imageId: TEST_IMAGE, osFamily: 'debian', osVersion: '12', loginUser: 'root' } });

const log: string[] = [];
const spec = (name: string) =>
  groupSpec(name, {
    nodeSpec: image,
    phases: {
      bootstrap: automatedAdminUser,
      configure: () => {
        remoteFile('/etc/motd', { content: `managed by pallet (${name})\n` });
        withActionValues([], () => void log.push(`configure ${name} ${targetId()}`));
      },
      destroyServer: () => void withActionValues([], () => void log.push(`destroyServer ${name} ${targetId()}`)),
      destroyGroup: () => void withActionValues([], () => void log.push(`destroyGroup ${name}`)),
    },
  });
const web = spec('web');
const db = spec('db');

const phasesRun = (r: OperationResult) => r.results.map((x) => `${x.phase}:${x.node?.id ?? x.groupName}`);
const changedCount = (r: OperationResult, phase: string) =>
  r.results
    .filter((x) => x.phase === phase)
    .flatMap((x) => x.actions)
    .filter((a) => a.changed).length;

test('converge from nothing creates every node, bootstraps and configures each', async () => {
  log.length = 0;
  const r = await converge(
    [
      [web, 2],
      [db, 1],
    ],
    { compute: compute(), user: admin },
  );
  assert.equal(r.ok, true, explainSession(r));
  assert.equal(r.newNodes.length, 3);
  assert.equal(count('web'), 2);
  assert.equal(count('db'), 1);
  assert.equal(r.results.filter((x) => x.phase === 'bootstrap').length, 3);
  assert.equal(r.results.filter((x) => x.phase === 'configure').length, 3);
  for (const n of r.newNodes) {
    const motd = execFileSync('podman', ['exec', n.id, 'cat', '/etc/motd'], { encoding: 'utf8' });
    assert.equal(motd, `managed by pallet (${n.groupName})\n`);
    assert.match(execFileSync('podman', ['exec', n.id, 'getent', 'passwd', 'padmin'], { encoding: 'utf8' }), /padmin/);
  }
});

test('converge again: no node created, bootstrap does not run, configure changes nothing', async () => {
  const before = engineContainers();
  const r = await converge(
    [
      [web, 2],
      [db, 1],
    ],
    { compute: compute(), user: admin },
  );
  assert.equal(r.ok, true, explainSession(r));
  assert.equal(r.newNodes.length, 0);
  assert.deepEqual(engineContainers(), before);
  assert.ok(!r.results.some((x) => x.phase === 'bootstrap'));
  assert.equal(changedCount(r, 'configure'), 0);
});

test('check mode: converge says which nodes it would create and destroy, creates and destroys none, and checks the rest', async () => {
  const before = engineContainers();
  const [drifted] = [...before.entries()].find(([, g]) => g === 'web')!;
  // Removed by hand (a file edited by hand fails the check, as the real run would fail).
  execFileSync('podman', ['exec', drifted, 'rm', '/etc/motd']);
  const r = await converge(
    [
      [web, 3],
      [db, 0],
    ],
    { compute: compute(), user: admin, check: true },
  );
  assert.equal(r.ok, true, explainSession(r));
  assert.deepEqual(engineContainers(), before, 'no container created or removed');
  assert.deepEqual([r.newNodes, r.oldNodes], [[], []]);
  assert.deepEqual(r.check?.create, [{ groupName: 'web', count: 1 }]);
  assert.deepEqual(
    r.check?.destroy.map((n) => n.groupName),
    ['db'],
  );
  assert.ok(
    !r.results.some((x) => x.phase === 'destroyServer' || x.phase === 'bootstrap'),
    'no destroyServer, no bootstrap',
  );
  const wouldChange = r.results
    .filter((x) => x.phase === 'configure' && x.actions.some((a) => a.wouldChange))
    .map((x) => x.node!.id);
  assert.deepEqual(wouldChange, [drifted], 'only the drifted node would change');
  assert.equal(spawnSync('podman', ['exec', drifted, 'test', '-e', '/etc/motd']).status, 1, 'and it was not changed');
  execFileSync('podman', ['exec', drifted, 'sh', '-c', "printf 'managed by pallet (web)\\n' > /etc/motd"]);
});

test('grow web to 3: one new node, bootstrapped and configured; the others only configured', async () => {
  const before = engineContainers();
  const r = await converge(
    [
      [web, 3],
      [db, 1],
    ],
    { compute: compute(), user: admin },
  );
  assert.equal(r.ok, true, explainSession(r));
  assert.equal(r.newNodes.length, 1);
  const fresh = r.newNodes[0]!.id;
  assert.ok(!before.has(fresh));
  assert.equal(count('web'), 3);
  assert.deepEqual(
    r.results.filter((x) => x.phase === 'bootstrap').map((x) => x.node!.id),
    [fresh],
  );
  assert.equal(r.results.filter((x) => x.phase === 'configure').length, 4);
  assert.deepEqual(
    r.results.filter((x) => x.phase === 'configure' && x.actions.some((a) => a.changed)).map((x) => x.node!.id),
    [fresh],
  );
});

test('shrink web to 1: destroyServer runs on the removed nodes, then they are removed', async () => {
  log.length = 0;
  const r = await converge(
    [
      [web, 1],
      [db, 1],
    ],
    { compute: compute(), user: admin },
  );
  assert.equal(r.ok, true, explainSession(r));
  assert.equal(r.oldNodes.length, 2);
  assert.equal(count('web'), 1);
  const destroyed = log.filter((l) => l.startsWith('destroyServer')).sort();
  assert.deepEqual(destroyed, r.oldNodes.map((n) => `destroyServer web ${n.id}`).sort());
  for (const n of r.oldNodes) assert.ok(!engineContainers().has(n.id));
});

test('lift reaches exactly the surviving nodes', async () => {
  const r = await lift([web, db], {
    compute: compute(),
    user: admin,
    phase: () => void execScript('hostname', { changes: 'never' }),
  });
  assert.equal(r.ok, true, explainSession(r));
  assert.deepEqual(r.targets.map((t) => t.node.id).sort(), [...engineContainers().keys()].sort());
});

test('count 0 for every group removes all their nodes; destroyGroup runs', async () => {
  log.length = 0;
  const r = await converge(
    [
      [web, 0],
      [db, 0],
    ],
    { compute: compute(), user: admin },
  );
  assert.equal(r.ok, true, explainSession(r));
  assert.equal(r.oldNodes.length, 2);
  assert.equal(engineContainers().size, 0);
  assert.deepEqual(log.filter((l) => l.startsWith('destroyGroup')).sort(), ['destroyGroup db', 'destroyGroup web']);
  void phasesRun;
});

test('clear errors: missing image, unreachable engine; nothing half-created', async () => {
  const noImage = groupSpec('ghost', { nodeSpec: nodeSpec({ image: { imageId: 'localhost/does-not-exist:1' } }) });
  await assert.rejects(
    converge([[noImage, 1]], { compute: compute(), user: admin }),
    /the image localhost\/does-not-exist:1 of group 'ghost' does not exist/,
  );
  await assert.rejects(
    converge([[web, 1]], { compute: dockerService({ name: SERVICE, socketPath: '/nonexistent.sock' }), user: admin }),
    /cannot reach the Docker engine at unix:\/\/\/nonexistent\.sock/,
  );
  const noSshd = groupSpec('nossh', { nodeSpec: nodeSpec({ image: { imageId: TEST_IMAGE, init: 'sleep 1000' } }) });
  await assert.rejects(
    converge([[noSshd, 1]], {
      compute: dockerService({ name: SERVICE, socketPath: SOCK, sshWaitSeconds: 2 }),
      user: admin,
    }),
    /never answered SSH/,
  );
  assert.equal(engineContainers().size, 0, 'no container left behind');
});

test('hardware maps to container limits; a port clash is a clear error and leaves nothing behind', async () => {
  const sized = groupSpec('sized', {
    nodeSpec: nodeSpec({ image: image.image!, hardware: { minRam: 256, minCores: 1 } }),
  });
  const r = await converge([[sized, 1]], { compute: compute(), user: admin });
  assert.equal(r.ok, true, explainSession(r));
  const id = r.newNodes[0]!.id;
  assert.equal(
    execFileSync('podman', ['inspect', '-f', '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}', id], {
      encoding: 'utf8',
    }).trim(),
    `${256 * 1024 * 1024} 1000000000`,
  );
  const taken = r.newNodes[0]!.sshPort;
  const clash = groupSpec('clash', {
    nodeSpec: nodeSpec({ image: image.image!, provider: { docker: { sshPort: taken } } }),
  });
  await assert.rejects(
    converge([[clash, 1]], { compute: compute(), user: admin }),
    /starting pallet-clash-\w+: .*(address already in use|port)/i,
  );
  assert.equal(count('clash'), 0, 'no half-created container');
  await converge([[sized, 0]], { compute: compute(), user: admin });
  assert.equal(count('sized'), 0);
});

test('other containers are never touched', async () => {
  const other = execFileSync(
    'podman',
    ['run', '-d', '--label', 'pallet.group=web', '--label', 'pallet-test=bystander', TEST_IMAGE, 'sleep', '1000'],
    { encoding: 'utf8' },
  ).trim();
  try {
    const r = await converge([[web, 0]], { compute: compute(), user: admin });
    assert.equal(r.ok, true);
    assert.equal(
      execFileSync('podman', ['inspect', '-f', '{{.State.Running}}', other], { encoding: 'utf8' }).trim(),
      'true',
    );
  } finally {
    execFileSync('podman', ['rm', '-f', '-t', '0', other]);
  }
});

test('a stopped node: lift leaves it out and says so; converge starts it and creates no replacement', async () => {
  const g = spec('sleepy');
  const r1 = await converge([[g, 2]], { compute: compute(), user: admin });
  assert.equal(r1.ok, true, explainSession(r1));
  const [id, awake] = r1.newNodes.map((n) => n.id) as [string, string];
  execFileSync('podman', ['stop', '-t', '0', id]);

  // lift runs on running nodes only (as Pallet's): the stopped one is not started, and the run says it left it out.
  const lines: string[] = [];
  const json: string[] = [];
  const line = lineRenderer({ write: (s) => void lines.push(s) });
  const events = jsonRenderer({ write: (s) => void json.push(s) });
  const lifted = await lift(g, {
    compute: compute(),
    user: admin,
    onEvent: (e) => {
      line(e);
      events(e);
    },
  });
  assert.equal(lifted.ok, true, explainSession(lifted));
  assert.deepEqual(
    lifted.results.filter((x) => x.phase === 'configure').map((x) => x.node?.id),
    [awake],
    'configured the running node only',
  );
  assert.deepEqual(
    lifted.skipped.map((s) => s.node.id),
    [id],
  );
  assert.match(lifted.skipped[0]!.reason, /^stopped: lift runs its phases on running nodes only/);
  assert.equal(
    execFileSync('podman', ['inspect', '-f', '{{.State.Running}}', id], { encoding: 'utf8' }).trim(),
    'false',
    'lift does not start it',
  );
  assert.ok(
    lines.some((l) => l.startsWith(`node skipped: ${id} (sleepy): stopped:`)),
    lines.join(''),
  );
  const skippedEvent = json
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((e) => e.event === 'node-skipped');
  assert.deepEqual(skippedEvent?.node, { id, group: 'sleepy' });
  assert.match(summaryText(lifted, {}), new RegExp(`left out 1 stopped node\\(s\\): ${id} `));
  // A controller running another slice of the fleet does not speak for this node.
  const mine = sliceOf(id, 2);
  for (const index of [mine, 1 - mine]) {
    const sliced = await lift(g, { compute: compute(), user: admin, slice: { index, count: 2 } });
    assert.deepEqual(
      sliced.skipped.map((s) => s.node.id),
      index === mine ? [id] : [],
      `slice ${index}/2`,
    );
  }
  const summary: string[] = [];
  jsonSummary(lifted, { write: (s) => void summary.push(s) });
  assert.deepEqual((JSON.parse(summary[0]!) as { skipped: unknown }).skipped, [
    { id, group: 'sleepy', reason: lifted.skipped[0]!.reason },
  ]);

  const r2 = await converge([[g, 2]], { compute: compute(), user: admin });
  assert.equal(r2.ok, true, explainSession(r2));
  assert.equal(r2.newNodes.length, 0, 'no replacement');
  assert.equal(count('sleepy'), 2);
  assert.equal(
    execFileSync('podman', ['inspect', '-f', '{{.State.Running}}', id], { encoding: 'utf8' }).trim(),
    'true',
    'started again',
  );
  assert.ok(
    r2.results.some((x) => x.node?.id === id && x.phase === 'configure' && x.ok),
    'and configured',
  );
  await converge([[g, 0]], { compute: compute(), user: admin });
});

test("projects are scoped by label: same service and group names, never each other's nodes", async () => {
  const a = dockerService({ name: SERVICE, socketPath: SOCK, project: 'proj-a' });
  const b = dockerService({ name: SERVICE, socketPath: SOCK, project: 'proj-b' });
  const g = spec('shared');
  const ra = await converge([[g, 1]], { compute: a, user: admin });
  const rb = await converge([[g, 1]], { compute: b, user: admin });
  assert.equal(ra.ok && rb.ok, true);
  assert.deepEqual(
    (await a.nodes({ groups: ['shared'] })).map((n) => n.id),
    [ra.newNodes[0]!.id],
  );
  // Destroying a's group leaves b's node alone; destroyNode refuses b's node from a.
  await assert.rejects(
    a.destroyNode(rb.newNodes[0]!),
    /refusing to remove .*not a node of service 'pallet-test-docker' and project 'proj-a' .*project 'proj-b'/,
  );
  await converge([[g, 0]], { compute: a, user: admin });
  assert.equal(count('shared'), 1);
  assert.deepEqual(
    (await b.nodes({ groups: ['shared'] })).map((n) => n.id),
    [rb.newNodes[0]!.id],
  );
  await converge([[g, 0]], { compute: b, user: admin });
  assert.equal(count('shared'), 0);
});

test('a group name the engine cannot use is refused before anything is created', async () => {
  await assert.rejects(
    converge([[spec('bad name!'), 1]], { compute: compute(), user: admin }),
    /group name 'bad name!' cannot be part of a container name/,
  );
  assert.equal(count('bad name!'), 0);
});
