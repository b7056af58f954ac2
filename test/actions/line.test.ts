/**
 * lineInFile and blockInFile: the scripts run on this machine against a copy
 * of a file (the real-node proof is in test/actions/line.node.test.ts), and
 * what is refused at plan time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blockInFile, lineInFile, type BlockInFileOptions, type LineInFileOptions } from '../../src/index.js';
import { compile, runOn } from '../helpers/compile.js';

const P = '/etc/pallet-line-test';

async function line(content: string | undefined, o: LineInFileOptions) {
  const [s] = await compile(() => void lineInFile(P, o));
  return runOn(s!.script, P, content);
}
async function block(content: string | undefined, o: BlockInFileOptions) {
  const [s] = await compile(() => void blockInFile(P, o));
  return runOn(s!.script, P, content);
}

/** Apply twice: the second run must change nothing. */
async function twice(
  run: (c: string | undefined) => Promise<{ content: string; reported: string[]; status: number; stderr: string }>,
  content: string | undefined,
) {
  const first = await run(content);
  assert.equal(first.status, 0, first.stderr);
  const second = await run(first.content);
  assert.deepEqual(
    [second.status, second.reported, second.content],
    [0, [], first.content],
    'the second run changes nothing',
  );
  return first;
}

test('lineInFile: replace the last match, append when missing, insert after/before, remove', async () => {
  const conf = '#PermitRootLogin yes\nPermitRootLogin yes\nPort 22\n';
  const r = await twice((c) => line(c, { regexp: '^#?PermitRootLogin', line: 'PermitRootLogin no' }), conf);
  assert.equal(r.content, '#PermitRootLogin yes\nPermitRootLogin no\nPort 22\n', 'the last match is replaced');
  assert.deepEqual(r.reported, ['changed']);
  assert.equal((await twice((c) => line(c, { line: 'UseDNS no' }), conf)).content, `${conf}UseDNS no\n`);
  assert.equal(
    (await twice((c) => line(c, { line: 'X 1', insertAfter: '^#' }), conf)).content,
    '#PermitRootLogin yes\nX 1\nPermitRootLogin yes\nPort 22\n',
  );
  assert.equal(
    (await twice((c) => line(c, { line: 'X 1', insertBefore: '^(Permit|Port)' }), conf)).content,
    '#PermitRootLogin yes\nX 1\nPermitRootLogin yes\nPort 22\n',
    'before the first match',
  );
  assert.equal((await twice((c) => line(c, { line: 'X 1', insertBefore: 'BOF' }), conf)).content, `X 1\n${conf}`);
  assert.equal(
    (await twice((c) => line(c, { line: 'X 1', insertAfter: '^nomatch' }), conf)).content,
    `${conf}X 1\n`,
    'no insertAfter match: at the end',
  );
  assert.equal(
    (await twice((c) => line(c, { regexp: 'PermitRootLogin', state: 'absent' }), conf)).content,
    'Port 22\n',
    'absent: every match removed',
  );
  // A present line in a file without a final newline: nothing to do, the file is not rewritten.
  const noNl = await line('a\nb', { line: 'b' });
  assert.deepEqual([noNl.reported, noNl.content], [[], 'a\nb']);
});

test('lineInFile: backrefs, create, a missing file, validate', async () => {
  const r = await twice((c) => line(c, { regexp: '^(Port) [0-9]+$', line: '\\1 2222', backrefs: true }), 'Port 22\n');
  assert.equal(r.content, 'Port 2222\n');
  const none = await line('x\n', { regexp: '^(Port) [0-9]+$', line: '\\1 2222', backrefs: true });
  assert.deepEqual([none.reported, none.content], [[], 'x\n'], 'backrefs without a match changes nothing');
  assert.equal((await twice((c) => line(c, { line: 'new', create: true }), undefined)).content, 'new\n');
  const missing = await line(undefined, { line: 'new' });
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /does not exist \(give create: true/);
  assert.deepEqual(
    (await line(undefined, { line: 'x', state: 'absent' })).reported,
    [],
    'absent on a missing file: nothing',
  );
  const refused = await line('a\n', { line: 'b', validate: 'grep -q nothing %s' });
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /validation failed \(grep -q nothing %s\); the file is unchanged/);
  assert.equal(refused.content, 'a\n');
  assert.deepEqual((await line('a\n', { line: 'b', validate: 'grep -qx b %s' })).content, 'a\nb\n');
});

test('lineInFile: refused at plan time where Ansible is never idempotent', async () => {
  await assert.rejects(
    compile(() => void lineInFile(P, { regexp: '^Port', line: 'port 22' })),
    /does not match its own line/,
  );
  await assert.rejects(
    compile(() => void lineInFile(P, { line: 'a\nb' })),
    /a single line/,
  );
  await assert.rejects(
    compile(() => void lineInFile(P, { line: 'a', insertAfter: 'x', insertBefore: 'y' })),
    /not both/,
  );
  await assert.rejects(
    compile(() => void lineInFile(P, { line: 'a', validate: 'visudo -c' })),
    /'%s'/,
  );
  await assert.rejects(
    compile(() => void lineInFile(P, {})),
    /give the line/,
  );
  // What the node's awk and the plan-time check would read differently is refused, naming the fix.
  await assert.rejects(
    compile(() => void lineInFile(P, { regexp: '^%sudo\\s', line: '%sudo ALL' })),
    /uses \\s, which is not POSIX ERE.*\[ \\t\]/,
  );
  await assert.rejects(
    compile(() => void lineInFile(P, { regexp: '^Port[[:space:]]', line: 'Port 22' })),
    /\[\[:class:\]\]/,
  );
  await assert.rejects(
    compile(() => void lineInFile(P, { line: 'x', insertAfter: '^\\d' })),
    /uses \\d/,
  );
  // An escaped backslash before an s is a backslash and an s: allowed.
  const [ok] = await compile(() => void lineInFile(P, { regexp: '^a\\\\s', line: 'a\\s' }));
  assert.ok(ok);
});

test('blockInFile: insert, replace, remove; markers; a last line without newline', async () => {
  const r = await twice((c) => block(c, { block: 'a 1\nb 2\n', name: 'net' }), 'top\n');
  assert.equal(r.content, 'top\n# BEGIN pallet net\na 1\nb 2\n# END pallet net\n');
  const replaced = await twice((c) => block(c, { block: 'c 3', name: 'net' }), `${r.content}tail\n`);
  assert.equal(replaced.content, 'top\n# BEGIN pallet net\nc 3\n# END pallet net\ntail\n');
  assert.equal(
    (await twice((c) => block(c, { name: 'net', state: 'absent' }), replaced.content)).content,
    'top\ntail\n',
  );
  const noNl = await block('# BEGIN pallet net\nx\n# END pallet net', { block: 'x', name: 'net' });
  assert.deepEqual(noNl.reported, [], 'the end marker without a newline is recognised: nothing to change');
  const custom = await twice(
    (c) =>
      block(c, {
        block: 'k=v',
        marker: ';; {mark} managed',
        markerBegin: 'START',
        markerEnd: 'STOP',
        insertBefore: 'BOF',
      }),
    'x\n',
  );
  assert.equal(custom.content, ';; START managed\nk=v\n;; STOP managed\nx\n');
  assert.deepEqual(
    (await block(undefined, { name: 'n', state: 'absent' })).reported,
    [],
    'absent on a missing file: nothing (Ansible fails)',
  );
});
