/**
 * `npm run build`: the package's JavaScript is one esbuild bundle, the image, run through V8's code cache; its
 * types come from tsc.
 *
 * - dist/pallet.cjs, the image: the library and the CLI (src/boot/contents.ts) in one CommonJS-shaped script.
 *   Why one script: Node's ESM loader resolves, reads and compiles each module on its own, and pallet with zod
 *   and commander is about 230 of them; and a script, unlike an ES module on Node 20, can be run from V8's code
 *   cache (src/boot/image.ts), which saves compiling it on every start-up (bench/RESULTS.md, "Start-up").
 * - dist/load.js (src/boot/load.ts) runs the image once per process. dist/index.js, dist/entry/*.js and
 *   dist/cli/main.js are written here: each takes its exports from load.js, so a project's `import 'pallet'` and
 *   the running CLI see one copy of every module (the secrets a project registers are redacted by the CLI's
 *   renderer; a second copy would not know them). test/entry/bundle.test.ts checks the built package.
 *
 * Left as imports, loaded at run time from node_modules: packages with native parts or loaded only by a few
 * commands (ssh2, dockerode, esbuild, tsx, nunjucks, ssh-config, yaml, diff). zod and commander are in the
 * image. (Tried and measured: yaml bundled into one CommonJS file of its own loaded about 10 ms slower than from
 * its own forty files.)
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import * as esbuild from 'esbuild';
import { loadImage } from '../src/boot/image.js';

const external = ['ssh2', 'dockerode', 'esbuild', 'tsx', 'tsx/*', 'nunjucks', 'yaml', 'diff', 'ssh-config'];
const common = { bundle: true, platform: 'node', target: 'node20', sourcemap: true, logLevel: 'warning' } as const;

rmSync('dist', { recursive: true, force: true });
execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json', '--emitDeclarationOnly'], { stdio: 'inherit' });

await esbuild.build({
  ...common,
  entryPoints: ['src/boot/contents.ts'],
  outfile: 'dist/pallet.cjs',
  format: 'cjs',
  external,
  // What src/boot/image.ts passes the image: its own URL, and the loader's import().
  define: { 'import.meta.url': '__palletUrl' },
  plugins: [
    {
      name: 'pallet-import',
      setup(b) {
        b.onLoad({ filter: /[/\\]src[/\\]core[/\\]import-module\.ts$/ }, () => ({
          contents: 'export const importModule = (specifier) => __palletImport(specifier);',
          loader: 'js',
        }));
      },
    },
  ],
});
// esbuild writes every string, template and identifier in ASCII (escaped); what is left is a comment of a package's
// (zod has an em dash). Made ASCII too, a character for a character (the source map's columns stay right): the
// loader then reads the image as one-byte text, half the memory of a string with one wide character in it.
const image = readFileSync('dist/pallet.cjs', 'utf8').replace(/[^\x00-\x7f]/g, '?');
writeFileSync('dist/pallet.cjs', image);
const stray = /(?<![\w$.])import\s*\(/.exec(image);
if (stray) {
  const line = image.slice(0, stray.index).split('\n').length;
  throw new Error(`dist/pallet.cjs:${line}: import() outside src/core/import-module.ts (see its comment)`);
}

await esbuild.build({ ...common, entryPoints: ['src/boot/load.ts'], outfile: 'dist/load.js', format: 'esm' });

// The entries: each names what it exports (ES modules need the names when they are loaded), read from the image.
const lib = loadImage<Record<string, Record<string, unknown>>>(resolve('dist/pallet.cjs'), {
  importer: (s) => import(s),
}).exports;
// Each entry: its file in dist/, the source it stands for, and what it does with the image's exports `lib`.
const entries: Array<[file: string, source: string, body: string]> = [
  ['index.js', 'src/index.ts', exportsOf('index')],
  ...['providers', 'report', 'config'].map((e): [string, string, string] => [
    `entry/${e}.js`,
    `src/entry/${e}.ts`,
    exportsOf(e),
  ]),
  ['cli/main.js', 'src/cli/main.ts (the `pallet` command)', 'lib.run();\n'],
];
function exportsOf(from: string): string {
  const names = Object.keys(lib[from]!).sort();
  return `export const {\n${names.map((n) => `  ${n},\n`).join('')}} = lib.${from};\n`;
}
for (const [file, source, body] of entries) {
  const path = `dist/${file}`;
  mkdirSync(dirname(path), { recursive: true });
  const load = relative(dirname(path), 'dist/load.js');
  writeFileSync(
    path,
    `${file === 'cli/main.js' ? '#!/usr/bin/env node\n' : ''}// Written by scripts/build.ts: ${source}, from the ` +
      `image (dist/pallet.cjs, run by dist/load.js).\nimport { lib } from '${load.startsWith('.') ? load : `./${load}`}';\n${body}`,
  );
}
chmodSync('dist/cli/main.js', 0o755);
