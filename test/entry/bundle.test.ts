/**
 * The built package (scripts/build.ts): one image (dist/pallet.cjs) holding the library and the CLI, run once per
 * process by dist/load.js through V8's code cache; every entry takes its exports from there, so a project's
 * `import 'pallet'` and the running CLI share one copy of every module (one secrets registry, one provider table),
 * and a start-up loads no package the command does not use. Needs `npm run build` (npm test builds first).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { linkPallet, tempDir } from '../helpers/nodes.js';

const sources = (map: string) => (JSON.parse(readFileSync(map, 'utf8')) as { sources: string[] }).sources;

test('every source module is in the image once; the loader holds only itself and the home folder', () => {
  const image = sources('dist/pallet.cjs.map');
  const ours = image.filter((s) => s.includes('/src/'));
  assert.ok(ours.length > 100, `the image holds pallet's modules (${ours.length})`);
  assert.equal(new Set(image).size, image.length, 'no module is in the image twice');
  for (const pkg of ['zod', 'commander'])
    assert.ok(
      image.some((s) => s.includes(`node_modules/${pkg}/`)),
      `${pkg} is in the image`,
    );
  assert.deepEqual(
    sources('dist/load.js.map')
      .map((s) => s.replace(/^(\.\.\/)+/, ''))
      .sort(),
    ['src/boot/image.ts', 'src/boot/load.ts', 'src/config/home.ts'],
    'the loader bundles nothing else (a module in both would be two copies)',
  );
  const maps = readdirSync('dist', { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.map'));
  assert.deepEqual(maps.sort(), ['load.js.map', 'pallet.cjs.map'], 'no other built file holds code');
  assert.ok(
    readFileSync('dist/pallet.cjs').every((b) => b < 0x80),
    'the image is ASCII (one-byte text in V8)',
  );
});

test('a start-up loads only what the command uses: no SSH, Docker, diff or compiler for a cached project', () => {
  const dir = tempDir('pallet-bundle-');
  const home = join(dir, 'home');
  const project = join(dir, 'project');
  linkPallet(project);
  writeFileSync(
    join(project, 'pallet.config.ts'),
    "import { defineProject, groupSpec, planFn, remoteFile } from 'pallet';\n" +
      "const web = groupSpec('web', { phases: { configure: planFn(() => { remoteFile('/tmp/x', { content: 'x' }); }) } });\n" +
      'export default defineProject({ groups: [web] });\n',
  );
  // Prints the CommonJS packages loaded (ESM imports of CommonJS packages land there too) when the process ends.
  const hook = join(dir, 'loaded.cjs');
  writeFileSync(
    hook,
    "process.on('exit', () => require('node:fs').writeSync(2, '\\nLOADED ' + JSON.stringify(Object.keys(require.cache)) + '\\n'));\n",
  );
  const run = (...args: string[]) => {
    const r = spawnSync(process.execPath, ['--require', hook, resolve('dist/cli/main.js'), ...args], {
      cwd: project,
      env: { ...process.env, PALLET_HOME: home, NO_COLOR: '1' },
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, `pallet ${args.join(' ')}: ${r.stdout}${r.stderr}`);
    const line = r.stderr.split('\n').find((l) => l.startsWith('LOADED '))!;
    const packages = (JSON.parse(line.slice(7)) as string[])
      .map((p) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(p)?.[1])
      .filter((p): p is string => p !== undefined);
    return { out: r.stdout, packages: [...new Set(packages)].sort() };
  };
  const lazy = ['ssh2', 'dockerode', 'diff', 'ssh-config', 'nunjucks', 'tsx', 'yaml', 'esbuild'];

  const version = run('--version');
  assert.match(version.out, /^\d+\.\d+\.\d+/);
  assert.deepEqual(version.packages, [], '--version loads no package from node_modules');

  const first = run('lift', '--dry-run');
  assert.match(first.out, /web/);
  assert.ok(first.packages.includes('esbuild'), 'the first run compiles the project (and the test sees a load)');
  const second = run('lift', '--dry-run');
  assert.deepEqual(
    second.packages.filter((p) => lazy.includes(p)),
    [],
    'the second run uses the compiled project: no esbuild, and no package this command does not need',
  );
});

test('the command keeps its compiled image in $PALLET_HOME/cache/code and starts from it the next time', () => {
  const dir = tempDir('pallet-bundle-');
  const pallet = (home: string, extra: Record<string, string> = {}) => {
    const r = spawnSync(process.execPath, [resolve('dist/cli/main.js'), '--version'], {
      env: { ...process.env, PALLET_HOME: home, ...extra },
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
  };
  const home = join(dir, 'home');
  const code = join(home, 'cache', 'code');
  pallet(home);
  const [name, ...more] = readdirSync(code);
  assert.ok(name?.startsWith('image-') && more.length === 0, `one cache file (${readdirSync(code).join(', ')})`);
  const file = join(code, name!);
  const written = statSync(file);
  assert.equal(written.mode & 0o777, 0o600);
  assert.equal(statSync(code).mode & 0o777, 0o700);
  pallet(home);
  const used = statSync(file);
  assert.deepEqual([used.ino, used.mtimeMs], [written.ino, written.mtimeMs], 'used, not written again');

  writeFileSync(file, Buffer.alloc(written.size, 1), { mode: 0o600 });
  pallet(home);
  assert.notEqual(statSync(file).ino, written.ino, 'a damaged cache is replaced (the command still ran)');

  const off = join(dir, 'off');
  pallet(off, { PALLET_CODE_CACHE: 'off' });
  assert.throws(() => statSync(join(off, 'cache', 'code')), /ENOENT/, 'PALLET_CODE_CACHE=off keeps nothing');
});
