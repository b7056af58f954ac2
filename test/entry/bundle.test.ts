/**
 * The built package (scripts/build.ts): esbuild chunks shared by the CLI and the root export, so each module is
 * loaded once (a project's `import 'pallet'` and the running CLI see one secrets registry, one provider table),
 * and a start-up loads no package the command does not use. Needs `npm run build` (npm test builds first).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { linkPallet, tempDir } from '../helpers/nodes.js';

function outputs(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.js.map'))
    .map((f) => join(dir, f));
}

test('every source module is in exactly one built file', () => {
  const where = new Map<string, string[]>();
  for (const map of outputs('dist')) {
    const { sources } = JSON.parse(readFileSync(map, 'utf8')) as { sources: string[] };
    for (const s of sources) where.set(s, [...(where.get(s) ?? []), map]);
  }
  const ours = [...where].filter(([s]) => s.includes('/src/'));
  assert.ok(ours.length > 100, `the built files hold pallet's modules (${ours.length})`);
  assert.deepEqual(
    ours.filter(([, maps]) => maps.length > 1),
    [],
    'no module is copied into two built files',
  );
  for (const pkg of ['zod', 'commander']) {
    const copies = [...where].filter(([s]) => s.includes(`node_modules/${pkg}/`)).map(([, m]) => m);
    assert.ok(copies.length > 0 && copies.every((m) => m.length === 1), `${pkg} is bundled once`);
  }
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
