/**
 * Pure parts of node safety: modes, ordering cycles, heredoc delimiters,
 * stable explain output, rsync's command line.
 */
import { test } from 'node:test';
import { testSession } from '../helpers/compile.js';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { defineAction, explainPlan, file, PlanError, remoteFile, withActionOptions } from '../../src/index.js';
import { rsyncArgv } from '../../src/actions/rsync.js';
import { shapeScope } from '../../src/plan/plan-fn.js';
import { runInSession, type Session } from '../../src/plan/session.js';
import { normaliseMode } from '../../src/script/fs.js';
import { heredoc, safeDelimiter } from '../../src/script/quote.js';

test('modes: strings and 0o literals work; numbers that are octal typed as decimal are refused', () => {
  assert.equal(normaliseMode('0644'), '644');
  assert.equal(normaliseMode('755'), '755');
  assert.equal(normaliseMode(0o644), '644');
  assert.equal(normaliseMode(0o755), '755');
  assert.equal(normaliseMode(0o600), '600');
  assert.equal(normaliseMode(0o2755), '2755');
  assert.equal(normaliseMode(0o1777), '1777');
  for (const typo of [644, 755, 600, 700, 640, 750, 400, 440, 1777]) {
    assert.throws(
      () => normaliseMode(typo),
      (e: Error) => e.message.includes(`'${String(typo).padStart(4, '0')}'`) && e.message.includes(`0o${typo}`),
      String(typo),
    );
  }
  assert.throws(() => void file('/x', { mode: 644 }), /mode/);
  assert.throws(() => normaliseMode(-1), /invalid mode/);
  assert.throws(() => normaliseMode(0o17777), /invalid mode/);
  assert.throws(() => normaliseMode('u+x'), /symbolic/);
});

const session = (): Session => testSession();

test('a cycle in alwaysBefore / alwaysAfter is a PlanError that names it', async () => {
  const step = defineAction<[name: string], string>({
    name: 'step',
    execution: 'in-sequence',
    parse: (n) => n,
    summary: (a) => `step ${a[0]}`,
    script: () => ({ script: ':', changes: 'never' }),
  });
  const s = session();
  await runInSession(s, () => {
    withActionOptions({ actionId: 'a', alwaysBefore: ['b'] }, () => step('1'));
    withActionOptions({ actionId: 'b', alwaysBefore: ['c'] }, () => step('2'));
    withActionOptions({ actionId: 'c', alwaysBefore: ['a'] }, () => step('3'));
    step('free');
  });
  assert.throws(
    () => shapeScope(s.scope),
    (e: Error) =>
      e instanceof PlanError &&
      /cycle: step \(actionId a\) -> step \(actionId b\) -> step \(actionId c\) -> step \(actionId a\)/.test(e.message),
  );
});

test('heredoc delimiters: derived from the content, safe from the dash byte-drop quirk', () => {
  const a = heredoc('same body\n');
  assert.deepEqual(heredoc('same body\n'), a, 'the same body gives the same text');
  // Lines that start like the first delimiter and go on with a byte >= 0x80.
  const body = 'Pé\nPALLET_EOF_ü\nPALLET_EOF\u00ff\n';
  const d = heredoc(body);
  const delimiter = d.open.slice(3, -1);
  assert.ok(safeDelimiter(body.split('\n'), delimiter));
  assert.ok(!delimiter.startsWith('P'), delimiter);
  assert.equal(spawnSync('dash', ['-c', `cat ${d.open}\n${d.text}\n`]).stdout.toString(), body);
  assert.equal(safeDelimiter(['E\u00e9'], 'EOF'), false);
  assert.equal(safeDelimiter(['EOF'], 'EOF'), false);
  assert.equal(safeDelimiter(['EX\u00e9', 'F\u00e9'], 'EOF'), true);
  // Any body, through real dash, quoted and expanded.
  const unit = fc.oneof(
    fc.constantFrom('P', 'PA', 'PALLET_EOF_', '\n', 'é', 'ÿ', '\u0080', 'x', "'"),
    fc.integer({ min: 1, max: 255 }).map((c) => String.fromCharCode(c)),
  );
  fc.assert(
    fc.property(fc.array(unit, { maxLength: 30 }), (parts) => {
      const text = parts.join('').replace(/[$`\\]/g, '');
      const q = heredoc(text);
      const u = heredoc(text, { quoted: false });
      const want = text === '' || text.endsWith('\n') ? text : `${text}\n`;
      assert.equal(spawnSync('dash', ['-c', `cat ${q.open}\n${q.text}\n`]).stdout.toString(), want);
      assert.equal(spawnSync('dash', ['-c', `cat ${u.open}\n${u.text}\n`]).stdout.toString(), want);
    }),
    { numRuns: 300, seed: 7 },
  );
});

test('explainPlan gives byte-identical output for the same plan', async () => {
  const plan = () => {
    remoteFile('/etc/a', { content: 'Pélican $HOME\n', literal: false });
    remoteFile('/etc/b', { content: 'bytes\n' });
    withActionOptions({ scriptEnv: { A: 'x y' }, sudoUser: 'deploy' }, () => file('/etc/c'));
  };
  assert.equal(await explainPlan(plan), await explainPlan(plan));
});

test('rsync command line: IPv6 in brackets, protected remote path, quoted sudo user, -- before paths', () => {
  const argv = rsyncArgv({
    base: ['-rlptD'],
    from: '-evil/',
    to: "/srv/a b/$(x)'",
    node: { primaryIp: 'fd00::12', sshPort: 2222 },
    user: { username: 'admin', privateKeyPath: '/k', sudoUser: "o'k" },
    knownHosts: '/kh',
  });
  assert.deepEqual(argv.slice(-3), ['--', '-evil/', "admin@[fd00::12]:/srv/a b/$(x)'"]);
  assert.ok(argv.includes('-s'));
  assert.equal(argv[argv.indexOf('--rsync-path') + 1], "sudo -n -u 'o'\\''k' rsync");
  assert.equal(
    rsyncArgv({
      base: [],
      from: 'a',
      to: 'b',
      node: { primaryIp: '10.0.0.1', sshPort: 22 },
      user: { username: 'root' },
      knownHosts: '/kh',
    }).at(-1),
    'root@10.0.0.1:b',
  );
});

test('Secrets: every form of a secret is redacted, longest first; short values are refused by secret()', async () => {
  const { Secrets, secret } = await import('../../src/core/secrets.js');
  const s = new Secrets(["pa$$ w0rd'x", 'line one of a key\nline two of a key\n']);
  const b64 = Buffer.from("pa$$ w0rd'x").toString('base64');
  const text = [
    "pa$$ w0rd'x",
    b64,
    encodeURIComponent("pa$$ w0rd'x"),
    "'pa$$ w0rd'\\''x'",
    JSON.stringify({ v: "pa$$ w0rd'x" }),
    '+line two of a key',
  ].join('\n');
  const out = s.redact(text);
  assert.ok(!out.includes('w0rd') && !out.includes(b64) && !out.includes('line two'), out);
  assert.equal(s.redact('nothing here'), 'nothing here');
  assert.throws(() => secret('abc'), /at least 4/);
  const marked = secret('registered-canary');
  assert.equal(marked, 'registered-canary');
  assert.equal(new Secrets().redact('x registered-canary y'), 'x <sensitive> y');
  assert.deepEqual(s.redactDeep({ a: ["pa$$ w0rd'x"], n: 1 }), { a: ['<sensitive>'], n: 1 });
});

test('convergePlan: counts with stopped nodes, stopped ones go first, group creation and removal', async () => {
  const { convergePlan } = await import('../../src/operation/converge-plan.js');
  const { groupSpec: gs } = await import('../../src/model/specs.js');
  const web = gs('web', { count: 2 });
  const db = gs('db', { count: 0 });
  const cache = gs('cache', { count: 1 });
  const t = (id: string, group: string, running = true) => ({
    node: { id, hostname: id, groupName: group, primaryIp: '10.0.0.1', sshPort: 22, running, service: 's' },
    spec: gs(group),
    groupNames: [group],
  });
  // web has 3 (one stopped): the stopped one goes. db goes to 0. cache is new.
  const p = convergePlan([web, db, cache], [t('w1', 'web'), t('w2', 'web', false), t('w3', 'web'), t('d1', 'db')]);
  assert.deepEqual(
    p.destroy.map((x) => x.node.id),
    ['w2', 'd1'],
  );
  assert.deepEqual(
    p.destroyGroups.map((g) => g.groupName),
    ['db'],
  );
  assert.deepEqual(
    p.create.map((c) => [c.group.groupName, c.count]),
    [['cache', 1]],
  );
  assert.deepEqual(
    p.createGroups.map((g) => g.groupName),
    ['cache'],
  );
  // A stopped node counts: no replacement.
  const q = convergePlan([gs('web', { count: 1 })], [t('w2', 'web', false)]);
  assert.deepEqual([q.destroy.length, q.create.length], [0, 0]);
});

test('aggregated calls merge only when they would run the same way', async () => {
  const { shapeScope } = await import('../../src/plan/plan-fn.js');
  const { pkg } = await import('../../src/index.js');
  const s = session();
  await runInSession(s, () => {
    pkg('curl');
    withActionOptions({ sudoUser: 'deploy', scriptEnv: { HTTPS_PROXY: 'http://proxy:3128' } }, () => void pkg('git'));
    pkg('less');
  });
  const items = shapeScope(s.scope);
  const shaped = items.map((i) =>
    i.type === 'action' ? [i.args.length, i.options.sudoUser ?? '', i.options.scriptEnv?.HTTPS_PROXY ?? ''] : [],
  );
  assert.deepEqual(shaped, [
    [2, '', ''],
    [1, 'deploy', 'http://proxy:3128'],
  ]);
});
