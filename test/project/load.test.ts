/**
 * Loading a TypeScript project file (project/load.ts): compiled with esbuild into one module for the moment
 * it is imported. Each file keeps its own import.meta.url, local imports and packages resolve as from the file,
 * `pallet` is the copy already loaded, nothing is left behind, and a compile error names the file and line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadProject } from '../../src/project/load.js';
import { tempDir } from '../helpers/nodes.js';

function project(files: Record<string, string>): string {
  const dir = tempDir('pallet-project-');
  mkdirSync(join(dir, 'node_modules'));
  // `pallet` as a user's project has it: the package, its built files.
  symlinkSync(resolve('.'), join(dir, 'node_modules', 'pallet'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

test('a TypeScript project with local modules: its own import.meta.url per file, nothing left behind', async () => {
  const dir = project({
    'pallet.config.ts': [
      "import { defineProject, groupSpec } from 'pallet';",
      "import { where, templateDir } from './lib/where.js';",
      'const here: string = import.meta.url;',
      "export default defineProject({ groups: [groupSpec('web')], environment: { here, where, templateDir, dirname: import.meta.dirname } });",
    ].join('\n'),
    'lib/where.ts':
      "export const where: string = import.meta.url;\nexport const templateDir = new URL('../templates/', import.meta.url).pathname;\n",
  });
  const p = await loadProject(join(dir, 'pallet.config.ts'));
  assert.deepEqual(
    p.groups.map((g) => g.groupName),
    ['web'],
  );
  assert.equal(p.environment!.here, pathToFileURL(join(dir, 'pallet.config.ts')).href);
  assert.equal(p.environment!.where, pathToFileURL(join(dir, 'lib', 'where.ts')).href);
  assert.equal(p.environment!.templateDir, `${join(dir, 'templates')}/`);
  assert.equal(p.environment!.dirname, dir);
  assert.deepEqual(readdirSync(dir).sort(), ['lib', 'node_modules', 'pallet.config.ts'], 'no temporary file is left');
});

test('a compile error names the file, line and column; a missing default export is said', async () => {
  const bad = project({
    'pallet.config.ts':
      "import { defineProject } from 'pallet';\nconst x: number = ;\nexport default defineProject({ groups: [] });\n",
  });
  await assert.rejects(
    loadProject(join(bad, 'pallet.config.ts')),
    /cannot load the project file: .*pallet\.config\.ts:2:\d+: Unexpected ";"/,
  );
  assert.deepEqual(readdirSync(bad).sort(), ['node_modules', 'pallet.config.ts']);
  const none = project({ 'pallet.config.ts': 'export const x = 1;\n' });
  await assert.rejects(loadProject(join(none, 'pallet.config.ts')), /the default export must be defineProject/);
});
