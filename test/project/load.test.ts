/**
 * Loading a TypeScript project file (project/load.ts): compiled with esbuild into one module for the moment
 * it is imported. Each file keeps its own import.meta.url, local imports and packages resolve as from the file,
 * `pallet` is the copy already loaded, nothing is left behind, and a compile error names the file and line.
 * The compiled module is cached and used again only when every input has the same bytes and every folder
 * holding one the same names.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { compileProject, loadProject } from '../../src/project/load.js';
import { linkPallet, tempDir } from '../helpers/nodes.js';

function project(files: Record<string, string>): string {
  const dir = tempDir('pallet-project-');
  linkPallet(dir);
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
  const missing = project({
    'pallet.config.ts': "import { x } from './nowhere/x';\nexport default x;\n",
  });
  await assert.rejects(
    loadProject(join(missing, 'pallet.config.ts')),
    /pallet\.config\.ts:1:\d+: Could not resolve "\.\/nowhere\/x"/,
    'an import of a folder that is not there is a compile error',
  );
  const none = project({ 'pallet.config.ts': 'export const x = 1;\n' });
  await assert.rejects(loadProject(join(none, 'pallet.config.ts')), /the default export must be defineProject/);
});

/** A PALLET_HOME of the test's own (the cache lives there), restored when the test ends. */
function ownHome(t: TestContext): string {
  const home = tempDir('pallet-home-');
  const before = process.env.PALLET_HOME;
  process.env.PALLET_HOME = home;
  t.after(() => {
    if (before === undefined) delete process.env.PALLET_HOME;
    else process.env.PALLET_HOME = before;
  });
  return home;
}

test('the compiled project is used again only while its files and folders are the same', async (t) => {
  const home = ownHome(t);
  const dir = project({
    'pallet.config.ts': [
      "import { defineProject, groupSpec } from 'pallet';",
      "import { value } from './lib';",
      "import data from './data.json';",
      "export default defineProject({ groups: [groupSpec('web')], environment: { value, data } });",
    ].join('\n'),
    'lib.ts': "export const value = 'aaa';\n",
    'data.json': '{ "n": 1 }\n',
  });
  const file = join(dir, 'pallet.config.ts');
  const env = async () => (await loadProject(file)).environment!;

  assert.equal((await compileProject(file)).cached, false, 'first compile');
  const again = await compileProject(file);
  assert.equal(again.cached, true, 'nothing changed: the cached module');
  const [entry] = readdirSync(join(home, 'cache', 'projects'));
  assert.equal(statSync(join(home, 'cache', 'projects', entry!)).mode & 0o777, 0o600, 'only its owner reads it');
  assert.deepEqual(await env(), { value: 'aaa', data: { n: 1 } });

  // The same size and the same modification time, other bytes: compiled again.
  const lib = join(dir, 'lib.ts');
  const { atime, mtime } = statSync(lib);
  writeFileSync(lib, "export const value = 'bbb';\n");
  utimesSync(lib, atime, mtime);
  assert.equal((await compileProject(file)).cached, false, 'an imported file changed');
  assert.deepEqual(await env(), { value: 'bbb', data: { n: 1 } });

  writeFileSync(join(dir, 'data.json'), '{ "n": 2 }\n');
  assert.deepEqual(await env(), { value: 'bbb', data: { n: 2 } }, 'a JSON file is an input too');

  // A new file that changes what './lib' means (esbuild tries .tsx before .ts), no input changed.
  writeFileSync(join(dir, 'lib.tsx'), "export const value = 'ccc';\n");
  assert.deepEqual(await env(), { value: 'ccc', data: { n: 2 } }, 'a new file in a folder of the inputs');
  assert.equal((await compileProject(file)).cached, true);

  // A damaged cache is compiled over, as is one that cannot be written.
  writeFileSync(join(home, 'cache', 'projects', entry!), '{"key": tru');
  assert.equal((await compileProject(file)).cached, false, 'a damaged cache entry is not used');
  assert.equal((await compileProject(file)).cached, true, 'and is written again');
  process.env.PALLET_HOME = join(file, 'not-a-folder');
  assert.deepEqual(await env(), { value: 'ccc', data: { n: 2 } }, 'no cache: the project still loads');
  assert.equal(readFileSync(file, 'utf8').includes('defineProject'), true);
});

test('a symbolic link pointed elsewhere is another project: a linked file, a linked folder, the project file', async (t) => {
  ownHome(t);
  const dir = project({
    'pallet.config.ts': [
      "import { defineProject, groupSpec } from 'pallet';",
      "import { stage } from './settings';",
      "import { where } from './lib/where';",
      "export default defineProject({ groups: [groupSpec('web')], environment: { stage, where } });",
    ].join('\n'),
    'settings.prod.ts': "export const stage = 'prod';\n",
    'settings.dev.ts': "export const stage = 'dev';\n",
    'lib-a/where.ts': "export const where = 'a';\n",
    'lib-b/where.ts': "export const where = 'b';\n",
  });
  const file = join(dir, 'pallet.config.ts');
  const relink = (target: string, link: string) => {
    rmSync(join(dir, link), { force: true });
    symlinkSync(target, join(dir, link));
  };
  relink('settings.prod.ts', 'settings.ts');
  relink('lib-a', 'lib');
  const env = async (f = file) => (await loadProject(f)).environment!;
  assert.deepEqual(await env(), { stage: 'prod', where: 'a' });
  assert.equal((await compileProject(file)).cached, true);
  relink('settings.dev.ts', 'settings.ts');
  assert.deepEqual(await env(), { stage: 'dev', where: 'a' }, 'a linked file pointed elsewhere');
  relink('lib-b', 'lib');
  assert.deepEqual(await env(), { stage: 'dev', where: 'b' }, 'a linked folder pointed elsewhere');
  // A folder outside the project, reached through a link in a folder that holds no file of the project.
  mkdirSync(join(dir, 'outside', 'shared-a'), { recursive: true });
  mkdirSync(join(dir, 'outside', 'shared-b'));
  writeFileSync(join(dir, 'outside', 'shared-a', 'team.ts'), "export const team = 'a';\n");
  writeFileSync(join(dir, 'outside', 'shared-b', 'team.ts'), "export const team = 'b';\n");
  relink('shared-a', 'outside/shared');
  mkdirSync(join(dir, 'sub'));
  const sub = join(dir, 'sub', 'pallet.config.ts');
  writeFileSync(
    sub,
    "import { defineProject, groupSpec } from 'pallet';\nimport { team } from '../outside/shared/team';\n" +
      "export default defineProject({ groups: [groupSpec('web')], environment: { team } });\n",
  );
  assert.deepEqual(await env(sub), { team: 'a' });
  relink('shared-b', 'outside/shared');
  assert.deepEqual(await env(sub), { team: 'b' }, 'a folder on the way pointed elsewhere');
  // The project file itself a link: pointed at another project file, it is that one.
  writeFileSync(join(dir, 'other.config.ts'), readFileSync(file, 'utf8').replace('web', 'api'));
  relink('pallet.config.ts', 'current.config.ts');
  const current = join(dir, 'current.config.ts');
  assert.deepEqual(
    (await loadProject(current)).groups.map((g) => g.groupName),
    ['web'],
  );
  relink('other.config.ts', 'current.config.ts');
  assert.deepEqual(
    (await loadProject(current)).groups.map((g) => g.groupName),
    ['api'],
  );
});
