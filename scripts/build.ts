/**
 * `npm run build`: the package's JavaScript is one esbuild bundle with shared chunks, its types come from tsc.
 *
 * Why a bundle: Node's ESM loader resolves, reads and compiles each module on its own, and pallet with zod and
 * commander is about 230 of them; as chunks it starts in about two thirds of the time (bench/RESULTS.md,
 * "Start-up"). Why shared chunks, not one file per entry: a project file imports `pallet` (dist/index.js) while
 * the CLI (dist/cli/main.js) runs it, and both must see one copy of every module (the secrets a project
 * registers are redacted by the CLI's renderer; a second copy would not know them). esbuild puts every module
 * two entries use into a chunk both import, so each is loaded once (test/entry/bundle.test.ts proves it on the
 * built package).
 *
 * Left as imports, loaded at run time from node_modules: packages with native parts or loaded only by a few
 * commands (ssh2, dockerode, esbuild, tsx, nunjucks, ssh-config; the lazy ones are loaded through
 * `createRequire`, which esbuild does not follow). zod and commander are bundled. (Tried and measured: yaml
 * bundled into one CommonJS file of its own loaded about 10 ms slower than from its own forty files.)
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, rmSync } from 'node:fs';
import * as esbuild from 'esbuild';

const external = ['ssh2', 'dockerode', 'esbuild', 'tsx', 'tsx/*', 'nunjucks', 'yaml', 'diff', 'ssh-config'];

rmSync('dist', { recursive: true, force: true });
execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json', '--emitDeclarationOnly'], { stdio: 'inherit' });
await esbuild.build({
  entryPoints: {
    index: 'src/index.ts',
    'entry/providers': 'src/entry/providers.ts',
    'entry/report': 'src/entry/report.ts',
    'entry/config': 'src/entry/config.ts',
    'cli/main': 'src/cli/main.ts',
  },
  outdir: 'dist',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  sourcemap: true,
  logLevel: 'warning',
  // commander is CommonJS: its require() of Node's own modules needs a require in an ES module.
  banner: {
    js: "import { createRequire as __palletRequire } from 'node:module';\nconst require = __palletRequire(import.meta.url);",
  },
});
chmodSync('dist/cli/main.js', 0o755);
