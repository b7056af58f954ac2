import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { buildBatch, FrameParser, parseControl, type BatchEntry, type Frame } from '../../src/operation/batch.js';
import { renderDiffs } from '../../src/operation/check.js';

const run = (script: string) => spawnSync('/bin/sh', ['-s'], { input: script });

function frames(stdout: Buffer, nonce: string, chunk = 0): { frames: Frame[]; garbage: string } {
  const out: Frame[] = [];
  const p = new FrameParser(nonce, (f) => out.push(f));
  if (chunk) for (let i = 0; i < stdout.length; i += chunk) p.push(stdout.subarray(i, i + chunk));
  else p.push(stdout);
  p.finish();
  return { frames: out, garbage: p.garbage };
}

test('a batch runs every action in its own shell and frames each result', () => {
  const nonce = 'abc123';
  const script = buildBatch(
    [
      { kind: 'action', key: 'a0', script: 'echo one; echo err >&2', options: {} },
      { kind: 'action', key: 'a1', script: "printf 'no newline'; exit 0", options: {} },
      {
        kind: 'test',
        key: 't2',
        cond: '[ -d / ]',
        negate: false,
        options: {},
        then: [{ kind: 'action', key: 'a3', script: 'pallet_changed; echo taken', options: {} }],
      },
      {
        kind: 'test',
        key: 't4',
        cond: '[ -d /nonexistent ]',
        negate: false,
        options: {},
        then: [{ kind: 'action', key: 'a5', script: 'echo never', options: {} }],
      },
      { kind: 'action', key: 'a6', script: 'echo failing; exit 3', options: {} },
      { kind: 'action', key: 'a7', script: 'echo after failure', options: {} },
    ],
    nonce,
  );
  const r = run(script);
  assert.equal(r.status, 0);
  // Fed byte by byte: framing must not depend on chunk boundaries.
  const { frames: f, garbage } = frames(r.stdout, nonce, 1);
  assert.equal(garbage, '');
  assert.deepEqual(
    f.map((x) => [x.key, x.exit]),
    [
      ['a0', 0],
      ['a1', 0],
      ['t2', 0],
      ['a3', 0],
      ['t4', 1],
      ['a6', 3],
    ],
  );
  assert.equal(f[0]!.out.toString(), 'one\n');
  assert.equal(f[0]!.err.toString(), 'err\n');
  assert.equal(f[1]!.out.toString(), 'no newline');
  assert.equal(parseControl(f[3]!.ctl).changed, true);
  assert.equal(f[3]!.out.toString(), 'taken\n');
  assert.equal(parseControl(f[0]!.ctl).changed, false);
});

test('a syntax error in one action does not break the batch', () => {
  const nonce = 'n1';
  const r = run(buildBatch([{ kind: 'action', key: 'a0', script: 'if then fi (', options: {} }], nonce));
  const { frames: f } = frames(r.stdout, nonce);
  assert.equal(f.length, 1);
  assert.notEqual(f[0]!.exit, 0);
});

test('action output of any bytes survives framing', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 1, max: 64 }), (bytes, chunk) => {
      const nonce = 'p';
      const b64 = Buffer.from(bytes).toString('base64');
      const r = run(
        buildBatch([{ kind: 'action', key: 'a0', script: `printf '%s' '${b64}' | base64 -d`, options: {} }], nonce),
      );
      const { frames: f } = frames(r.stdout, nonce, chunk);
      assert.deepEqual([...f[0]!.out], [...bytes]);
    }),
    { numRuns: 50 },
  );
});

test('control data travels out of band: output cannot set a flag, a value or a change', () => {
  const nonce = 'c0';
  const forged = 'SETFLAG: x :SETFLAG\nSETVALUE: v 1 :SETVALUE\nPALLET-CHANGED:c0\nC\0F\0x\0';
  const r = run(
    buildBatch(
      [
        {
          kind: 'action',
          key: 'a0',
          script: `printf '%s' '${Buffer.from(forged).toString('base64')}' | base64 -d`,
          options: {},
        },
        // Helpers reach programs the script runs (PALLET_CONTROL is exported), values keep newlines.
        {
          kind: 'action',
          key: 'a1',
          script: `pallet_set_flag restart\nsh -c 'printf "F\\000child\\000" >> "$PALLET_CONTROL"'\npallet_set_value ver "$(printf 'two\\nlines')"\npallet_changed`,
          options: {},
        },
      ],
      nonce,
    ),
  );
  const { frames: f } = frames(r.stdout, nonce);
  assert.equal(f[0]!.out.toString(), forged);
  assert.deepEqual(parseControl(f[0]!.ctl), { changed: false, flags: [], flagValues: {} });
  assert.deepEqual(parseControl(f[1]!.ctl), {
    changed: true,
    flags: ['restart', 'child'],
    flagValues: { ver: 'two\nlines' },
  });
});

test('FrameParser is linear: each byte of a 64 MB frame is copied at most once', () => {
  // Timing is the benchmark's job (bench/frame-parser.ts); this counts the work.
  const nonce = 'big';
  const body = Buffer.alloc(64 * 1024 * 1024, 0x61);
  const header = Buffer.from(`\n@@PALLET:${nonce} a0 0 ${body.length} 0 2\n`);
  const all = Buffer.concat([header, body, Buffer.from('C\0')]);
  const out: Frame[] = [];
  const p = new FrameParser(nonce, (f) => out.push(f));
  for (let i = 0; i < all.length; i += 64 * 1024) p.push(all.subarray(i, i + 64 * 1024));
  p.finish();
  assert.equal(out.length, 1);
  assert.equal(out[0]!.out.length, body.length);
  assert.equal(parseControl(out[0]!.ctl).changed, true);
  assert.ok(p.copied <= all.length + 1024, `copied ${p.copied} bytes for ${all.length}`);
});

test('garbage between frames is reported, bounded, and frames after it still parse', () => {
  const nonce = 'g';
  const junk = Buffer.alloc(1024 * 1024, 0x62);
  const frame = Buffer.from(`\n@@PALLET:${nonce} a0 0 2 0 0\nhi`);
  const { frames: f, garbage } = frames(Buffer.concat([junk, frame]), nonce, 1000);
  assert.equal(f.length, 1);
  assert.equal(f[0]!.out.toString(), 'hi');
  assert.ok(garbage.length > 0 && garbage.length <= 64 * 1024);
});

test('parseControl stops at a truncated record', () => {
  assert.deepEqual(parseControl(Buffer.from('F\0a\0V\0k')), { changed: false, flags: ['a'], flagValues: {} });
});

test('parseControl reads check-mode records: would-lines, may reasons, diffs (base64, any bytes)', () => {
  const ctl = Buffer.from('W\0start demo\0M\0not simulated\0C\0D\0/etc/x\0\0bmV3Cg==\0W\0two\nlines\0');
  assert.deepEqual(parseControl(ctl), {
    changed: true,
    flags: [],
    flagValues: {},
    would: ['start demo', 'two\nlines'],
    may: ['not simulated'],
    diffs: [{ label: '/etc/x', old: '', new: 'bmV3Cg==' }],
  });
});

test('renderDiffs: a unified diff old -> new; binary content is one line', () => {
  const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
  const d = renderDiffs([
    { label: '/etc/a', old: b64('x\ny\n'), new: b64('x\nz\n') },
    { label: '/etc/b', old: '', new: b64('new\n') },
    { label: '/bin/c', old: b64(Buffer.from([0, 1])), new: b64(Buffer.from([0, 2])) },
  ]);
  assert.equal(
    d.text,
    '--- /etc/a\tcurrent\n+++ /etc/a\tnew\n@@ -1,2 +1,2 @@\n x\n-y\n+z\n--- /etc/b\t(new file)\n+++ /etc/b\tnew\n@@ -0,0 +1,1 @@\n+new',
  );
  assert.deepEqual(d.lines, ['change /etc/a', 'create /etc/b', '/bin/c: binary content differs']);
});

test('flag tests are decided in the batch: flagOnChanged on a change, pallet_set_flag, flags known before; no value passes for a flag', () => {
  const nonce = 'f0';
  const t = (key: string, flags: string[], then: string, negate = false): BatchEntry => ({
    kind: 'test',
    key,
    cond: '',
    negate,
    options: {},
    flags,
    then: [{ kind: 'action', key: `${key}-then`, script: `echo ${then}`, options: {} }],
  });
  const script = buildBatch(
    [
      // Values that, read naively field by field, would look like a flag 'x', and a change.
      // Then real records: a parser that lost its place would miss them.
      {
        kind: 'action',
        key: 'a0',
        script: `pallet_set_value k F; pallet_set_value F x; pallet_set_value "$(printf 'C\\nF')" x; pallet_set_value D "$(printf 'x\\nF\\nx')"; pallet_set_flag real; pallet_changed`,
        options: { flagOnChanged: 'a0' },
      },
      t('t1', ['x'], 'x-set'),
      t('t1a', ['real'], 'real-set'),
      t('t1b', ['a0'], 'a0-set'),
      { kind: 'action', key: 'a2', script: 'pallet_changed', options: { flagOnChanged: 'changed' } },
      { kind: 'action', key: 'a3', script: 'pallet_set_flag own', options: {} },
      { kind: 'action', key: 'a4', script: 'echo no change', options: { flagOnChanged: 'quiet' } },
      t('t5', ['changed'], 'changed-set'),
      t('t6', ['own'], 'own-set'),
      t('t7', ['quiet'], 'quiet-set'),
      t('t8', ['before'], 'before-set'),
      t('t9', ['quiet', 'own'], 'any-set'),
      t('t10', ['x'], 'x-not-set', true),
    ],
    nonce,
    undefined,
    false,
    ['before'],
  );
  const r = run(script);
  assert.equal(r.status, 0, r.stderr.toString());
  const { frames: f, garbage } = frames(r.stdout, nonce);
  assert.equal(garbage, '');
  const taken = f.filter((x) => x.key.endsWith('-then')).map((x) => x.out.toString().trim());
  assert.deepEqual(taken, ['real-set', 'a0-set', 'changed-set', 'own-set', 'before-set', 'any-set', 'x-not-set']);
  assert.deepEqual(parseControl(f[0]!.ctl).flagValues, { k: 'F', F: 'x', 'C\nF': 'x', D: 'x\nF\nx' });
});

test('an action runs in a subshell: its exit, variables and traps do not reach the batch or the next action', () => {
  const nonce = 'n1';
  const script = buildBatch(
    [
      {
        kind: 'action',
        key: 'a0',
        script: "pallet_d=/nonexistent; x=leaked; trap 'echo trapped' EXIT; exit 0",
        options: {},
      },
      {
        kind: 'action',
        key: 'a1',
        script: 'echo "x=${x:-unset} rc=${pallet_rc:-unset} k=${pallet_k:-unset}"; [ -d "$pallet_d" ] && echo dir-kept',
        options: {},
      },
      { kind: 'action', key: 'a2', script: 'sh -c \'printf "C\\000" >> "$PALLET_CONTROL"\'', options: {} },
    ],
    nonce,
  );
  for (const shell of ['dash', 'bash']) {
    const r = spawnSync(shell, ['-s'], { input: script });
    assert.equal(r.status, 0, shell);
    const { frames: f } = frames(r.stdout, nonce);
    assert.deepEqual(
      f.map((x) => [x.key, x.exit, x.out.toString()]),
      [
        ['a0', 0, 'trapped\n'],
        ['a1', 0, 'x=unset rc=unset k=unset\ndir-kept\n'],
        ['a2', 0, ''],
      ],
      shell,
    );
    // A program the action runs reports through the exported PALLET_CONTROL.
    assert.deepEqual([...f[2]!.ctl], [0x43, 0]);
  }
});

test('scripts reach the node byte for byte: ASCII by the builtin printf, anything else through base64', () => {
  const ascii = "printf '%s' 'it''s \\ $HOME `x` \"q\"'; printf '\\001\\037'";
  const other = "printf '%s' 'caf\u00e9 \u0081\u0088'";
  const script = buildBatch(
    [
      { kind: 'action', key: 'a0', script: ascii, options: {} },
      { kind: 'action', key: 'a1', script: other, options: {} },
    ],
    'n2',
  );
  // The ASCII script costs no process to write; the other one is decoded.
  assert.equal(script.split('\n').filter((l) => l.startsWith('base64 -d')).length, 1);
  assert.match(script, /^printf '%s' '/m);
  for (const shell of ['dash', 'bash']) {
    const r = spawnSync(shell, ['-s'], { input: script });
    const { frames: f } = frames(r.stdout, 'n2');
    assert.deepEqual(f[0]!.out, Buffer.from('its \\ $HOME `x` "q"\x01\x1f', 'latin1'), shell);
    assert.deepEqual(f[1]!.out, Buffer.from('caf\u00e9 \u0081\u0088'), shell);
  }
});

test('a quiet action costs the batch no process, even when it reports a change; its change still arrives', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pallet-shim-'));
  const log = `${dir}/log`;
  // Every program the batch may start is shimmed to log its name first.
  for (const p of ['wc', 'cat', 'base64', 'sh', 'tr', 'awk', 'mktemp']) {
    writeFileSync(`${dir}/${p}`, `#!/bin/sh\necho ${p} >> ${log}\nexec /usr/bin/${p} "$@"\n`);
    chmodSync(`${dir}/${p}`, 0o755);
  }
  const nonce = 'n3';
  const script = buildBatch(
    [
      { kind: 'action', key: 'a0', script: 'pallet_changed', options: { flagOnChanged: 'x' } },
      { kind: 'action', key: 'a1', script: ':', options: {} },
    ],
    nonce,
  );
  const r = spawnSync('/bin/sh', ['-s'], { input: script, env: { PATH: `${dir}:/usr/bin:/bin` } });
  assert.equal(r.status, 0, r.stderr.toString());
  const { frames: f } = frames(r.stdout, nonce);
  assert.deepEqual(
    f.map((x) => [x.key, parseControl(x.ctl).changed]),
    [
      ['a0', true],
      ['a1', false],
    ],
  );
  // mktemp makes the batch's directory, once; nothing else runs.
  assert.deepEqual(existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [], ['mktemp']);
});
