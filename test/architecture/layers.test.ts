/**
 * The shape of `src/`, checked: each folder has one job, written first in its README.md; folders form
 * layers and import only from their own layer or those below it; no module imports itself through a
 * cycle; a source file over 400 lines says at its top why it is long.
 *
 * A new folder fails here until it is given a place in `layers` and a README.md.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const src = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

/** Bottom to top: a folder may import from its own folder and the folders before it. */
const layers = [
  'core',
  'script',
  'template',
  'transport',
  'config',
  'model',
  'plan',
  'actions',
  'crates',
  'compute',
  'operation',
  'project',
  'report',
  'cli',
  'entry',
  '.', // src/index.ts, the package's root export
  'boot', // the built package's loader (dist/load.js)
];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) return sources(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

const files = sources(src);
const folderOf = (file: string) => relative(src, file).split('/').slice(0, -1)[0] ?? '.';

/** Relative imports and re-exports of a file (type-only ones too: they shape the design as much). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s+'(\.[^']+)'/g))
    out.push(resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts')));
  for (const m of text.matchAll(/import\(\s*'(\.[^']+)'\s*\)/g))
    out.push(resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts')));
  return out;
}

test('every folder of src/ is in a layer and says its one job first in its README.md', () => {
  const folders = readdirSync(src).filter((e) => statSync(join(src, e)).isDirectory());
  assert.deepEqual(
    folders.filter((f) => !layers.includes(f)),
    [],
    'a folder with no place in the layers',
  );
  for (const f of folders) {
    const readme = join(src, f, 'README.md');
    assert.ok(existsSync(readme), `src/${f}/README.md is missing`);
    const first = readFileSync(readme, 'utf8').split('\n')[0]!;
    assert.match(first, new RegExp(`^# ${f}/: \\S.{10,}`), `src/${f}/README.md must start with '# ${f}/: <its job>'`);
  }
});

test('folders import only from their own layer or the layers below it', () => {
  const wrong: string[] = [];
  for (const file of files) {
    const from = layers.indexOf(folderOf(file));
    for (const target of importsOf(file)) {
      const to = layers.indexOf(folderOf(target));
      if (to > from) wrong.push(`${relative(src, file)} -> ${relative(src, target)}`);
    }
  }
  assert.deepEqual(wrong, [], 'upward imports');
});

test('no import cycle between modules', () => {
  const graph = new Map(files.map((f) => [f, importsOf(f).filter((t) => files.includes(t))]));
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (f: string, path: string[]) => {
    if (state.get(f) === 'done') return;
    if (state.get(f) === 'open') {
      cycles.push([...path.slice(path.indexOf(f)), f].map((p) => relative(src, p)).join(' -> '));
      return;
    }
    state.set(f, 'open');
    for (const t of graph.get(f)!) visit(t, [...path, f]);
    state.set(f, 'done');
  };
  for (const f of files) visit(f, []);
  assert.deepEqual(cycles, []);
});

test('a source file over 400 lines says at its top why it is long', () => {
  const unexplained = files.filter((f) => {
    const text = readFileSync(f, 'utf8');
    if (text.split('\n').length <= 400) return false;
    const header = /^\/\*\*[\s\S]*?\*\//.exec(text)?.[0] ?? '';
    return !/Why this file is long:/.test(header);
  });
  assert.deepEqual(
    unexplained.map((f) => relative(src, f)),
    [],
    "split it, or add 'Why this file is long: ...' to its first comment",
  );
});
