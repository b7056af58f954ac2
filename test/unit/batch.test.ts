import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { buildBatch, extractMarkers, FrameParser, type Frame } from '../../src/operation/batch.js';

const run = (script: string) => spawnSync('/bin/sh', ['-s'], { input: script });

test('a batch runs every action in its own shell and frames each result', () => {
  const nonce = 'abc123';
  const script = buildBatch(
    [
      { kind: 'action', key: 'a0', script: 'echo one; echo err >&2', options: {} },
      { kind: 'action', key: 'a1', script: "printf 'no newline'; exit 0", options: {} },
      { kind: 'test', key: 't2', cond: '[ -d / ]', negate: false, options: {}, then: [{ kind: 'action', key: 'a3', script: 'pallet_changed; echo taken', options: {} }] },
      { kind: 'test', key: 't4', cond: '[ -d /nonexistent ]', negate: false, options: {}, then: [{ kind: 'action', key: 'a5', script: 'echo never', options: {} }] },
      { kind: 'action', key: 'a6', script: 'echo failing; exit 3', options: {} },
      { kind: 'action', key: 'a7', script: 'echo after failure', options: {} },
    ],
    nonce,
  );
  const r = run(script);
  assert.equal(r.status, 0);
  const frames: Frame[] = [];
  const p = new FrameParser(nonce, (f) => frames.push(f));
  // Feed byte by byte: framing must not depend on chunk boundaries.
  for (const b of r.stdout) p.push(Buffer.from([b]));
  p.finish();
  assert.equal(p.garbage, '');
  assert.deepEqual(frames.map((f) => [f.key, f.exit]), [['a0', 0], ['a1', 0], ['t2', 0], ['a3', 0], ['t4', 1], ['a6', 3]]);
  assert.equal(frames[0]!.out.toString(), 'one\n');
  assert.equal(frames[0]!.err.toString(), 'err\n');
  assert.equal(frames[1]!.out.toString(), 'no newline');
  const m = extractMarkers(frames[3]!.out.toString(), nonce);
  assert.equal(m.changed, true);
  assert.equal(m.out, 'taken\n');
});

test('a syntax error in one action does not break the batch', () => {
  const nonce = 'n1';
  const r = run(buildBatch([
    { kind: 'action', key: 'a0', script: 'if then fi (', options: {} },
  ], nonce));
  const frames: Frame[] = [];
  const p = new FrameParser(nonce, (f) => frames.push(f));
  p.push(r.stdout);
  assert.equal(frames.length, 1);
  assert.notEqual(frames[0]!.exit, 0);
});

test('action output of any bytes survives framing', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const nonce = 'p';
      const b64 = Buffer.from(bytes).toString('base64');
      const r = run(buildBatch([{ kind: 'action', key: 'a0', script: `printf '%s' '${b64}' | base64 -d`, options: {} }], nonce));
      const frames: Frame[] = [];
      new FrameParser(nonce, (f) => frames.push(f)).push(r.stdout);
      assert.deepEqual([...frames[0]!.out], [...bytes]);
    }),
    { numRuns: 50 },
  );
});

test('markers: flags and values are extracted from output', () => {
  const m = extractMarkers('a\nSETFLAG: restart :SETFLAG\nSETVALUE: ver 1.2 3 :SETVALUE\nb\n', 'x');
  assert.deepEqual(m.flags, ['restart']);
  assert.deepEqual(m.flagValues, { ver: '1.2 3' });
  assert.equal(m.out, 'a\nb\n');
  assert.equal(m.changed, false);
});
