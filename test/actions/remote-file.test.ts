/**
 * `remoteFile`: template names (Pallet's variants and this project's older ones), and the fast path for
 * content the controller knows (its SHA-256, never for a sensitive file).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { remoteFile } from '../../src/index.js';
import { compile } from '../helpers/compile.js';

test("remoteFile templates: Pallet's variant names (base_<variant>.ext, also under resources/), then this project's older path_<variant>", async () => {
  const { templateCandidates } = await import('../../src/actions/remote-file.js');
  assert.deepEqual(templateCandidates('templates/app.ini', ['web', 'debian', undefined]), [
    'templates/app_web.ini',
    'resources/templates/app_web.ini',
    'templates/app.ini_web',
    'templates/app_debian.ini',
    'resources/templates/app_debian.ini',
    'templates/app.ini_debian',
    'templates/app.ini',
    'resources/templates/app.ini',
  ]);
  assert.deepEqual(templateCandidates('/etc/tpl/motd', ['web']), ['/etc/tpl/motd_web', '/etc/tpl/motd']);
  // A Pallet template tree is found: resources/<dir>/<base>_<group>.<ext> wins over the plain file.
  const { mkdtempSync, mkdirSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'pallet-tpl-'));
  const cwd = process.cwd();
  try {
    process.chdir(dir);
    mkdirSync('resources/t', { recursive: true });
    mkdirSync('t');
    writeFileSync('t/app.conf', 'plain ~{x}\n');
    writeFileSync('resources/t/app_g.conf', 'for group g: ~{x}\n');
    const [s] = await compile(() => void remoteFile('/etc/app.conf', { template: 't/app.conf', values: { x: 1 } }));
    // The rendered variant is what the script writes (plain ASCII: as itself, by printf).
    assert.ok(s!.script.includes("printf '%s' 'for group g: 1\n' >"), s!.script);
  } finally {
    process.chdir(cwd);
  }
});

test('content the controller knows is compared by its SHA-256: an unchanged file stages no copy; a secret never has its hash shown', async () => {
  const content = 'setting=1\n';
  const sha = createHash('sha256').update(content).digest('hex');
  const [plain] = await compile(() => void remoteFile('/etc/a', { content, noVersioning: true }));
  assert.ok(plain!.script.includes(`'${sha}  -'`));
  const [secret] = await compile(() => void remoteFile('/etc/a', { content, sensitive: true, noVersioning: true }));
  assert.ok(!secret!.script.includes(sha));
  // Run for real on this machine: the same bytes are left alone (no temporary file is made), others replaced.
  const dir = mkdtempSync(join(tmpdir(), 'pallet-rf-'));
  const target = join(dir, 'a');
  const [s] = await compile(() => void remoteFile(target, { content, noVersioning: true }));
  const run = () => {
    const r = spawnSync(
      'sh',
      ['-c', `pallet_changed() { echo CHANGED; }\nmktemp() { echo STAGED >&2; command mktemp "$@"; }\n${s!.script}`],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(r.status, 0, r.stderr);
    return r.stdout + r.stderr;
  };
  writeFileSync(target, content);
  assert.equal(run(), '');
  writeFileSync(target, 'setting=2\n');
  assert.equal(run(), 'CHANGED\nSTAGED\n');
  assert.equal(readFileSync(target, 'utf8'), content);
  assert.deepEqual(readdirSync(dir), ['a']);
});
