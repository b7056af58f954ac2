/**
 * `remoteFile` templates: Pallet's variant names and this project's older ones.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
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
    assert.match(s!.script, new RegExp(Buffer.from('for group g: 1\n').toString('base64').slice(0, 16)));
  } finally {
    process.chdir(cwd);
  }
});
