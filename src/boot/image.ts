/**
 * The built package is one script, dist/pallet.cjs (the library and the CLI: "the image"), run through V8's
 * code cache: the bytecode V8 compiled on an earlier run is kept and handed back, so a start-up does not parse
 * and compile about 800 KB of JavaScript again (about 20 ms of a 120 ms `pallet --version` on a 2-core Xeon;
 * bench/RESULTS.md, "Start-up"). Node 20 has no module compile cache (`module.enableCompileCache` came in
 * 22.1), but `vm.Script` takes and makes V8's cached data on every Node pallet supports.
 *
 * What can go wrong, and what happens (the cache can make a start-up faster, never different):
 * - The cache belongs to one exact image and one Node: its name is the SHA-256 of the image's bytes, the Node,
 *   V8 and CPU architecture, and the V8 options of this process. V8 itself checks only the source's length, its
 *   own version and its options; two builds of the same length are told apart by the name.
 * - A damaged or foreign cache file: V8 rejects it (`cachedDataRejected`), the image is compiled from source,
 *   and a fresh cache is written when the process ends.
 * - The cache is code: it is read only from a folder that is the user's own and not writable by others, from a
 *   file that is the user's own and not writable by others; it is written 0600 in a 0700 folder, whole or not at
 *   all (a temporary file renamed over). Anything else, or a folder that cannot be made: no cache, nothing else
 *   changes.
 * - `PALLET_CODE_CACHE=off` turns it off.
 *
 * The image is a CommonJS-shaped script in strict mode (ES modules are strict), wrapped in a function that is
 * given `require` and `module` as Node gives them, the image's own file URL (what `import.meta.url` is in the
 * image; the build defines it) and an `import` of the caller's (see src/core/import-module.ts).
 */
import { isAscii } from 'node:buffer';
import { createHash } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Script } from 'node:vm';

export interface ImageOptions {
  /** Where the compiled image is kept; none: compiled from source on every run. */
  cacheDir?: string;
  /** What the image's `import()` is (src/core/import-module.ts). */
  importer: (specifier: string) => Promise<unknown>;
}

/** How the cache served this start-up: 'used'; 'missing' or 'rejected' (compiled; `save` writes it); 'off'. */
export type CacheUse = 'used' | 'missing' | 'rejected' | 'off';

export interface LoadedImage<T> {
  exports: T;
  cache: CacheUse;
  /** Where the cache is (or would be) kept. */
  cacheFile?: string;
  /** Writes the cache when this start-up did not use one. Call it late (at exit): V8 then includes every
   * function compiled so far, not only the top level. Never throws. */
  save(): void;
}

const PREFIX = 'image-';
/** Caches of other images (older builds, other Nodes) are removed once they are this old. */
const KEEP_MS = 30 * 24 * 3600 * 1000;

export function loadImage<T>(file: string, options: ImageOptions): LoadedImage<T> {
  const bytes = readFileSync(file);
  const cacheFile = options.cacheDir === undefined ? undefined : join(options.cacheDir, cacheName(bytes));
  const cachedData = cacheFile === undefined ? undefined : readOwn(cacheFile);
  const script = new Script(
    `(function (exports, require, module, __filename, __dirname, __palletUrl, __palletImport) {"use strict";${text(bytes)}\n})`,
    { filename: file, ...(cachedData ? { cachedData } : {}) },
  );
  const cache: CacheUse =
    cacheFile === undefined ? 'off' : !cachedData ? 'missing' : script.cachedDataRejected ? 'rejected' : 'used';
  const module = { exports: {} as T };
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  run(module.exports, createRequire(file), module, file, dirname(file), pathToFileURL(file).href, options.importer);
  let saved = false;
  const save = () => {
    if (saved || cacheFile === undefined || cache === 'used') return;
    saved = true;
    writeOwn(cacheFile, script);
  };
  return { exports: module.exports, cache, ...(cacheFile ? { cacheFile } : {}), save };
}

/** UTF-8; ASCII (what the build writes) is read as one-byte text, which V8 keeps in half the memory. */
const text = (bytes: Buffer) => bytes.toString(isAscii(bytes) ? 'latin1' : 'utf8');

function cacheName(bytes: Buffer): string {
  const { node, v8 } = process.versions;
  const flags = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join('\0');
  const h = createHash('sha256').update(bytes).update(`\0${node}\0${v8}\0${process.arch}\0${flags}`);
  return `${PREFIX}${h.digest('hex').slice(0, 40)}.bin`;
}

/** Ours and not writable by others (the folder and the file), else nothing. */
function ownedSafely(mode: number, uid: number): boolean {
  const me = process.getuid?.();
  return (me === undefined || uid === me) && (mode & 0o022) === 0;
}

function readOwn(path: string): Buffer | undefined {
  let fd: number | undefined;
  try {
    const d = statSync(dirname(path));
    if (!ownedSafely(d.mode, d.uid)) return undefined;
    fd = openSync(path, 'r');
    const f = fstatSync(fd);
    if (!f.isFile() || !ownedSafely(f.mode, f.uid)) return undefined;
    return readFileSync(fd);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function writeOwn(path: string, script: Script): void {
  const dir = dirname(path);
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const d = statSync(dir);
    if (!ownedSafely(d.mode, d.uid)) return;
    writeFileSync(tmp, script.createCachedData(), { mode: 0o600, flag: 'wx' });
    renameSync(tmp, path);
    prune(dir, path);
  } catch {
    // A cache that cannot be written costs the next start-up a compile, nothing else.
    try {
      rmSync(tmp, { force: true });
    } catch {
      // nothing more to do
    }
  }
}

function prune(dir: string, keep: string): void {
  const now = Date.now();
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (!name.startsWith(PREFIX) || p === keep) continue;
    try {
      if (now - statSync(p).mtimeMs > KEEP_MS) rmSync(p, { force: true });
    } catch {
      // another process removed it
    }
  }
}
