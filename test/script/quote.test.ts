import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { checkedBlock, heredoc, shArgs, shQuote, writeBytes } from '../../src/script/quote.js';

const sh = (script: string, input?: string) => spawnSync('/bin/sh', ['-c', script], { input, encoding: 'buffer' });

// Strings with every kind of troublesome character, but no NUL.
const nasty = fc
  .oneof(
    fc.string({ unit: 'binary' }),
    fc.string({
      unit: fc.constantFrom(
        "'",
        '"',
        '$',
        '`',
        '\\',
        '\n',
        '!',
        '*',
        '?',
        ' ',
        ';',
        '&',
        '|',
        '(',
        ')',
        '{',
        '}',
        '<',
        '>',
        '#',
        '~',
        '%',
        'é',
        '日',
        '\t',
        '-',
      ),
    }),
  )
  .filter((s) => !s.includes('\0'));

test('shQuote: the shell sees exactly the original string', () => {
  fc.assert(
    fc.property(nasty, (s) => {
      const r = sh(`printf '%s' ${shQuote(s)}`);
      assert.equal(r.status, 0);
      assert.equal(r.stdout.toString('utf8'), s);
    }),
    { numRuns: 300 },
  );
});

test('shArgs: each value stays one argument', () => {
  fc.assert(
    fc.property(fc.array(nasty, { maxLength: 5 }), (args) => {
      const r = sh(`for a in ${shArgs(args)}; do printf '%s\\0' "$a"; done`);
      const got = r.stdout.toString('utf8').split('\0').slice(0, -1);
      assert.deepEqual(got, args);
    }),
    { numRuns: 100 },
  );
});

test('shQuote rejects NUL and quotes numbers', () => {
  assert.throws(() => shQuote('a\0b'), /NUL/);
  assert.equal(shQuote(42), "'42'");
  assert.equal(shQuote("it's"), "'it'\\''s'");
});

test('heredoc: content cannot end the document early', () => {
  fc.assert(
    fc.property(nasty, (body) => {
      const d = heredoc(body);
      const r = sh(`cat ${d.open}\n${d.text}\n`);
      const expected = body === '' || body.endsWith('\n') ? body : `${body}\n`;
      assert.equal(r.stdout.toString('utf8'), expected);
    }),
    { numRuns: 150 },
  );
  // Content that contains a line equal to a would-be delimiter prefix.
  const d = heredoc('PALLET_EOF\nPALLET_EOF_x\n');
  assert.equal(sh(`cat ${d.open}\n${d.text}\n`).stdout.toString(), 'PALLET_EOF\nPALLET_EOF_x\n');
});

test('writeBytes: any bytes arrive exactly, including no trailing newline', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const r = sh(`t=$(mktemp); ${writeBytes(Buffer.from(bytes), '"$t"')}\ncat "$t"; rm -f "$t"`);
      assert.equal(r.status, 0);
      assert.deepEqual([...r.stdout], [...bytes]);
    }),
    { numRuns: 100 },
  );
});

test('checkedBlock stops at the first failure and names the step', () => {
  const script = checkedBlock('demo', [
    { label: 'first', script: 'echo one' },
    { label: 'second', script: 'false' },
    { label: 'third', script: 'echo three' },
  ]);
  const r = sh(script);
  assert.equal(r.status, 1);
  assert.match(r.stdout.toString(), /one/);
  assert.doesNotMatch(r.stdout.toString(), /three/);
  assert.match(r.stderr.toString(), /#> demo : FAIL \(second\)/);
  const ok = sh(checkedBlock('fine', ['true', 'echo done']));
  assert.equal(ok.status, 0);
  assert.match(ok.stdout.toString(), /#> fine : SUCCESS/);
});
