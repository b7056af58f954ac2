/**
 * dist/load.js: runs the image (dist/pallet.cjs, the library and the CLI) once per process, through V8's code
 * cache in `$PALLET_HOME/cache/code/` (see ./image.ts). Every entry of the built package (dist/index.js, the
 * subpath entries, the `pallet` command) takes its exports from here, so a project's `import 'pallet'` and the
 * running CLI share one copy of every module: one secrets registry, one provider table.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { palletHome } from '../config/home.js';
import type * as Image from './contents.js';
import { loadImage } from './image.js';

const image = loadImage<typeof Image>(fileURLToPath(new URL('./pallet.cjs', import.meta.url)), {
  ...(process.env.PALLET_CODE_CACHE === 'off' ? {} : { cacheDir: join(palletHome(), 'cache', 'code') }),
  importer: (specifier) => import(specifier),
});
process.once('exit', () => image.save());

export const lib = image.exports;
