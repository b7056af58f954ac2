/**
 * The image loader (src/boot/image.ts) on real files: a small image stands in for dist/pallet.cjs, with a
 * function that reports which build it is, so a test sees which code ran, not only that something ran.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { transformSync } from 'esbuild';
import { loadImage, type CacheUse } from '../../src/boot/image.js';
import { tempDir } from '../helpers/nodes.js';

/** An image of build `tag` (the same length for every tag of the same length). */
function image(dir: string, tag: string): string {
  const file = join(dir, 'pallet.cjs');
  writeFileSync(
    file,
    `const os = require('node:os');\n` +
      `exports.build = () => ${JSON.stringify(tag)} + (typeof os.EOL === 'string' ? '' : '?');\n` +
      // The loader's import(): on Node 20 a script run from a code cache cannot call import() itself.
      `exports.later = async () => (await __palletImport('node:path')).sep + __palletUrl.slice(0, 8);\n` +
      // Enough functions for V8 to have something to cache.
      Array.from({ length: 200 }, (_, i) => `function f${i}(x) { return x * ${i} + ${i}; }\n`).join('') +
      `exports.sum = () => f1(1) + f199(2);\n`,
  );
  return file;
}

/**
 * Each start-up is a process of its own: within one process V8 keeps what it compiled, and a second Script of the
 * same source would never look at the cache. The loader is compiled from its TypeScript once (it imports only
 * Node's own modules).
 */
const driver = (() => {
  const dir = tempDir('pallet-image-driver-');
  const ts = readFileSync(resolve('src/boot/image.ts'), 'utf8');
  writeFileSync(join(dir, 'image.mjs'), transformSync(ts, { loader: 'ts', format: 'esm' }).code);
  writeFileSync(
    join(dir, 'run.mjs'),
    "import { loadImage } from './image.mjs';\n" +
      'const [file, cacheDir] = process.argv.slice(2);\n' +
      'const img = loadImage(file, { importer: (s) => import(s), ...(cacheDir ? { cacheDir } : {}) });\n' +
      'const out = { build: img.exports.build(), later: await img.exports.later(), cache: img.cache, cacheFile: img.cacheFile };\n' +
      'img.save();\n' +
      'process.stdout.write(JSON.stringify(out));\n',
  );
  return join(dir, 'run.mjs');
})();

interface Run {
  build: string;
  later: string;
  cache: CacheUse;
  cacheFile?: string;
}

function start(file: string, cacheDir?: string): Run {
  const r = spawnSync(process.execPath, [driver, file, ...(cacheDir ? [cacheDir] : [])], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Run;
}

function check(file: string, cacheDir: string, tag: string, cache: CacheUse): Run {
  const run = start(file, cacheDir);
  assert.equal(run.build, tag, 'the code of this build ran');
  assert.equal(run.later, '/file:///', 'import() and import.meta.url work from the cache');
  assert.equal(run.cache, cache);
  return run;
}

test('the first start-up compiles and writes the cache (0600 in 0700); the next one uses it', () => {
  const dir = tempDir('pallet-image-');
  const file = image(dir, 'one');
  const cacheDir = join(dir, 'home', 'cache', 'code');
  const first = check(file, cacheDir, 'one', 'missing');
  assert.equal(statSync(cacheDir).mode & 0o777, 0o700);
  assert.equal(statSync(first.cacheFile!).mode & 0o777, 0o600);
  const written = statSync(first.cacheFile!);
  check(file, cacheDir, 'one', 'used');
  const after = statSync(first.cacheFile!);
  assert.deepEqual([after.ino, after.mtimeMs], [written.ino, written.mtimeMs], 'a used cache is not written again');
});

test('another build of the same length is compiled from its own bytes, never run from the old cache', () => {
  const dir = tempDir('pallet-image-');
  const cacheDir = join(dir, 'cache');
  check(image(dir, 'one'), cacheDir, 'one', 'missing');
  check(image(dir, 'one'), cacheDir, 'one', 'used');
  // V8 checks only the source's length: the cache's name must tell the builds apart.
  check(image(dir, 'two'), cacheDir, 'two', 'missing');
  check(image(dir, 'two'), cacheDir, 'two', 'used');
  check(image(dir, 'one'), cacheDir, 'one', 'used');
});

test('a damaged cache is rejected by V8, the image runs from source and the cache is written again', () => {
  const dir = tempDir('pallet-image-');
  const cacheDir = join(dir, 'cache');
  const file = image(dir, 'one');
  const first = check(file, cacheDir, 'one', 'missing');
  writeFileSync(first.cacheFile!, Buffer.alloc(statSync(first.cacheFile!).size, 7), { mode: 0o600 });
  check(file, cacheDir, 'one', 'rejected');
  check(file, cacheDir, 'one', 'used');
});

test('a cache folder or file others can write is neither read nor written', () => {
  const dir = tempDir('pallet-image-');
  const file = image(dir, 'one');
  const open = join(dir, 'open');
  mkdirSync(open, { mode: 0o777 });
  chmodSync(open, 0o777);
  check(file, open, 'one', 'missing');
  assert.deepEqual(readdirSync(open), [], 'nothing written to a folder others can write');

  const cacheDir = join(dir, 'cache');
  const first = check(file, cacheDir, 'one', 'missing');
  chmodSync(first.cacheFile!, 0o622);
  check(file, cacheDir, 'one', 'missing');
});

test('no cache folder can be made: the image still runs, nothing is thrown', () => {
  const dir = tempDir('pallet-image-');
  const file = image(dir, 'one');
  writeFileSync(join(dir, 'blocked'), 'a file where the folder would be');
  check(file, join(dir, 'blocked', 'code'), 'one', 'missing');
  check(file, join(dir, 'blocked', 'code'), 'one', 'missing');
  assert.equal(start(file).cache, 'off', 'no folder given: no cache');
});

test('caches of other builds are removed once they are 30 days old; newer ones are kept', () => {
  const dir = tempDir('pallet-image-');
  const cacheDir = join(dir, 'cache');
  mkdirSync(cacheDir, { mode: 0o700 });
  const old = join(cacheDir, 'image-old.bin');
  const recent = join(cacheDir, 'image-recent.bin');
  const other = join(cacheDir, 'notes.txt');
  for (const p of [old, recent, other]) writeFileSync(p, 'x', { mode: 0o600 });
  const monthAgo = (Date.now() - 31 * 24 * 3600 * 1000) / 1000;
  utimesSync(old, monthAgo, monthAgo);
  utimesSync(other, monthAgo, monthAgo);
  const img = check(image(dir, 'one'), cacheDir, 'one', 'missing');
  assert.deepEqual(
    readdirSync(cacheDir).sort(),
    [img.cacheFile!.slice(cacheDir.length + 1), 'image-recent.bin', 'notes.txt'].sort(),
  );
});

test('the image runs in strict mode, as the ES modules it was built from', () => {
  const dir = tempDir('pallet-image-');
  const file = join(dir, 'pallet.cjs');
  writeFileSync(file, 'undeclared = 1;\n');
  assert.throws(() => loadImage(file, { importer: (s) => import(s) }), ReferenceError);
});
