/**
 * The project file: `pallet.config.ts` (or `.mjs`, `.js`) at a project's
 * root, the counterpart of the original's `pallet.clj`.
 *
 *     import { defineProject, groupSpec, planFn, pkg } from 'pallet';
 *     export default defineProject({
 *       groups: [groupSpec('web', { count: 2, phases: { configure: planFn(() => { pkg('nginx'); }) } })],
 *       providers: { docker: { nodeSpec: nodeSpec({ image: { imageId: 'localhost/pallet-debian:12' } }) } },
 *     });
 *
 * Groups without a `bootstrap` phase get the automated admin user; groups
 * without a count get 1. `providers` gives per-provider node specs and phases,
 * and variants chosen with `--selector`.
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as z from 'zod';
import { automatedAdminUser } from '../crates/admin-user.js';
import { SpecError } from '../core/errors.js';
import { deepMerge, isPlainObject } from '../core/merge.js';
import { groupSpec, serverSpec, type GroupSpec, type NodeSpec, type PhaseFn } from '../model/specs.js';
import { validate } from '../core/validate.js';
import type { NodeSpecOptions } from '../core/types.js';
import { palletHome } from '../config/config.js';
import { importModule } from '../core/import-module.js';

export interface ProjectVariant {
  /** Selectors that choose this variant (default: ['default']). */
  selectors?: string[];
  nodeSpec?: NodeSpec;
  /** Phases added to every group (they run before the group's own). */
  phases?: Record<string, PhaseFn>;
  groupPrefix?: string;
  groupSuffix?: string;
  /** Per-group node specs. */
  groups?: Record<string, { nodeSpec?: NodeSpec }>;
}

export interface ProjectProvider extends Omit<ProjectVariant, 'selectors'> {
  selectors?: string[];
  variants?: ProjectVariant[];
}

export interface ProjectOptions {
  groups: GroupSpec[];
  /** Phases every group extends. */
  phases?: Record<string, PhaseFn>;
  environment?: Record<string, unknown>;
  /** Per-provider settings, keyed by provider name (`docker`, `node-list`, `localhost`, ...). */
  providers?: Record<string, ProjectProvider>;
}

export interface Project extends ProjectOptions {
  readonly kind: 'project';
}

const fn = z.custom<PhaseFn>((v) => typeof v === 'function', 'expected a function');
const variantShape = {
  selectors: z.array(z.string()).optional(),
  nodeSpec: z.looseObject({}).optional(),
  phases: z.record(z.string(), fn).optional(),
  groupPrefix: z.string().optional(),
  groupSuffix: z.string().optional(),
  groups: z.record(z.string(), z.strictObject({ nodeSpec: z.looseObject({}).optional() })).optional(),
};
const projectSchema = z.strictObject({
  groups: z
    .array(z.custom<GroupSpec>((v) => isPlainObject(v) && v.kind === 'group-spec', 'expected a groupSpec'))
    .min(1, 'a project needs at least one group'),
  phases: z.record(z.string(), fn).optional(),
  environment: z.record(z.string(), z.unknown()).optional(),
  providers: z
    .record(z.string(), z.strictObject({ ...variantShape, variants: z.array(z.strictObject(variantShape)).optional() }))
    .optional(),
});

/** Declare a project (validated). */
export function defineProject(opts: ProjectOptions): Project {
  validate(projectSchema, opts, 'defineProject');
  return { kind: 'project', ...opts };
}

export const projectFileNames = ['pallet.config.ts', 'pallet.config.mts', 'pallet.config.mjs', 'pallet.config.js'];

/** Find the project file in `dir`. */
export function findProjectFile(dir: string): string | undefined {
  return projectFileNames.map((f) => join(dir, f)).find((p) => existsSync(p));
}

/**
 * A TypeScript project file and the local files it imports, compiled by esbuild into one ES module (packages
 * stay imports). Each file keeps its own `import.meta.url`; stack traces point into the TypeScript (inline
 * source maps). About 40 ms, esbuild's start included; so the compiled module is kept in
 * `$PALLET_HOME/cache/projects/` and used again only when it is certainly the same: every file it was compiled
 * from has the same bytes (SHA-256 of the bytes esbuild was given, not a modification time), every folder
 * holding one has the same names in it (a new `lib/index.ts` beside `lib.ts` could change what an import
 * means), every symbolic link on the way leads where it led, and esbuild and this compiler are the same
 * versions. Anything else, or a cache that cannot be read or written, compiles again: the cache can make a run
 * faster, never different.
 */
export async function compileProject(path: string): Promise<{ code: string; cached: boolean }> {
  const cacheFile = join(palletHome(), 'cache', 'projects', `${sha256(path).slice(0, 32)}.json`);
  const key = `${COMPILER}|esbuild ${esbuildVersion()}|node ${process.versions.node.split('.')[0]}|${path}`;
  const hit = readCache(cacheFile, key);
  if (hit !== undefined) return { code: hit, cached: true };
  const esbuild = await importModule<typeof import('esbuild')>('esbuild');
  const files: Record<string, string> = {};
  // What a path in the source leads to, recorded before esbuild follows it: the real path of the project file and
  // of every folder a relative import goes through (a symbolic link pointed elsewhere changes it), and the names
  // in those folders and in the folders of the files read.
  const links: Record<string, string> = { [path]: realPath(path) };
  const dirs: Record<string, string> = { [dirname(path)]: listing(dirname(path)) };
  const remember = (p: string, bytes: Buffer) => {
    files[p] = sha256(bytes);
    dirs[dirname(p)] ??= listing(dirname(p));
  };
  const built = await esbuild.build({
    entryPoints: [path],
    bundle: true,
    packages: 'external',
    format: 'esm',
    platform: 'node',
    target: `node${process.versions.node.split('.')[0]}`,
    write: false,
    logLevel: 'silent',
    sourcemap: 'inline',
    metafile: true,
    // The project's own tsconfig paths are not applied: `pallet` is the installed package, as at run time.
    tsconfigRaw: '{}',
    plugins: [
      {
        name: 'pallet-project',
        setup(b) {
          b.onResolve({ filter: /^(\.{1,2}(\/|$)|\/)/ }, (r) => {
            const via = dirname(resolve(r.resolveDir, r.path));
            links[via] ??= realPath(via);
            dirs[via] ??= listing(via);
            return undefined;
          });
          b.onLoad({ filter: /\.([cm]?[jt]sx?|json)$/ }, (a) => {
            const bytes = readFileSync(a.path);
            remember(a.path, bytes);
            const ext = extname(a.path);
            if (ext === '.json') return { contents: bytes, loader: 'json' };
            const loader = ext.includes('t') ? (ext.endsWith('x') ? 'tsx' : 'ts') : ext.endsWith('x') ? 'jsx' : 'js';
            return { contents: withImportMeta(a.path, bytes.toString('utf8')), loader };
          });
        },
      },
    ],
  });
  const code = built.outputFiles[0]!.text;
  // Every input came through the plugin (its bytes are known), or the result is not kept.
  const inputs = Object.keys(built.metafile.inputs).map((p) => resolve(p));
  if (inputs.every((p) => p in files)) writeCache(cacheFile, { key, files, dirs, links, code });
  return { code, cached: false };
}

/** Bump when the compiled output changes for the same inputs (the plugin, the options above). */
const COMPILER = 'pallet-project-2';

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

/**
 * A folder's names, as one hash, each symbolic link with the real path it leads to (pallet's own temporary
 * modules left out: another run may be importing one); 'none' for a folder that is not there.
 */
function listing(dir: string): string {
  if (!existsSync(dir)) return 'none';
  return sha256(
    readdirSync(dir, { withFileTypes: true })
      .filter((d) => !d.name.startsWith(TMP_PREFIX))
      .map((d) => (d.isSymbolicLink() ? `${d.name} -> ${realPath(join(dir, d.name))}` : d.name))
      .sort()
      .join('\0'),
  );
}

/** The path with every symbolic link resolved; '' when it leads nowhere. */
function realPath(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return '';
  }
}

function esbuildVersion(): string {
  const req = createRequire(import.meta.url);
  return (JSON.parse(readFileSync(req.resolve('esbuild/package.json'), 'utf8')) as { version: string }).version;
}

interface CacheEntry {
  key: string;
  /** Each input file's SHA-256. */
  files: Record<string, string>;
  /** Each folder's names (see `listing`). */
  dirs: Record<string, string>;
  /** Paths as the source names them, and the real paths they led to. */
  links: Record<string, string>;
  code: string;
}

function readCache(file: string, key: string): string | undefined {
  try {
    const e = JSON.parse(readFileSync(file, 'utf8')) as CacheEntry;
    if (e.key !== key || typeof e.code !== 'string') return undefined;
    for (const [p, h] of Object.entries(e.files)) if (sha256(readFileSync(p)) !== h) return undefined;
    for (const [d, h] of Object.entries(e.dirs)) if (listing(d) !== h) return undefined;
    for (const [p, real] of Object.entries(e.links)) if (realPath(p) !== real) return undefined;
    return e.code;
  } catch {
    return undefined;
  }
}

/** Written whole or not at all (a temporary file renamed over), readable only by its owner: it holds the source. */
function writeCache(file: string, entry: CacheEntry): void {
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(entry), { mode: 0o600 });
    renameSync(tmp, file);
  } catch {
    // A cache that cannot be written costs the next run a compile, nothing else.
  }
}

/** `import.meta.url`, `.filename` and `.dirname` of the file itself, not of the compiled module. */
function withImportMeta(p: string, src: string): string {
  const url = JSON.stringify(pathToFileURL(p).href);
  return src
    .replace(/\bimport\.meta\.url\b/g, url)
    .replace(/\bimport\.meta\.filename\b/g, JSON.stringify(p))
    .replace(/\bimport\.meta\.dirname\b/g, JSON.stringify(dirname(p)));
}

const TMP_PREFIX = '.pallet-tmp-';

/**
 * The compiled project is imported from a file written beside the project file for that moment, then removed:
 * bare imports (`pallet`, `yaml`) resolve from the project's folder as they would from the file itself, and
 * `pallet` is the copy the command already loaded.
 */
async function importTypeScript(path: string): Promise<{ default?: unknown }> {
  const { code } = await compileProject(path);
  // Named by its content too: Node keeps every module it imported by URL, and an edited project is another module.
  const name = `${basename(path).replace(/\.[^.]+$/, '')}-${process.pid}-${sha256(code).slice(0, 12)}`;
  const out = join(dirname(path), `${TMP_PREFIX}${name}.mjs`);
  writeFileSync(out, code, { mode: 0o600 });
  try {
    process.setSourceMapsEnabled(true);
    return await importModule<{ default?: unknown }>(pathToFileURL(out).href);
  } finally {
    rmSync(out, { force: true });
  }
}

/** esbuild's first error as `file:line:column: text`. */
function esbuildMessage(e: unknown): string {
  const first = (
    e as { errors: Array<{ text: string; location?: { file: string; line: number; column: number } | null }> }
  ).errors[0]!;
  const at = first.location ? `${first.location.file}:${first.location.line}:${first.location.column + 1}: ` : '';
  return `${at}${first.text}`;
}

/** Load a project file (TypeScript is compiled on the fly, no build step). */
export async function loadProject(file: string): Promise<Project> {
  const path = resolve(file);
  let mod: { default?: unknown };
  try {
    if (/\.m?ts$/.test(path)) {
      try {
        mod = await importTypeScript(path);
      } catch (e) {
        // A compile error is the user's to fix; anything else (a read-only folder): tsx's loader instead.
        if ((e as { errors?: unknown[] }).errors?.length) throw new Error(esbuildMessage(e));
        const { tsImport } = await importModule<typeof import('tsx/esm/api')>('tsx/esm/api');
        mod = (await tsImport(pathToFileURL(path).href, import.meta.url)) as { default?: unknown };
      }
    } else {
      mod = await importModule<{ default?: unknown }>(pathToFileURL(path).href);
    }
  } catch (e) {
    throw new SpecError(`${file}: cannot load the project file: ${(e as Error).message}`, file);
  }
  const p = (mod.default as { default?: unknown } | undefined)?.default ?? mod.default;
  if (!isPlainObject(p) || p.kind !== 'project') {
    throw new SpecError(`${file}: the default export must be defineProject({ ... }).`, file);
  }
  return p as unknown as Project;
}

export interface ProjectSelection {
  /** The provider of the service in use (selects `providers[provider]`). */
  provider: string;
  /** Variant selectors (default ['default']). */
  selectors?: string[];
  /** Only these groups (by name). */
  groups?: string[];
  /** Only groups with one of these roles. */
  roles?: string[];
}

/**
 * The group specs a project asks for with this provider and these selectors:
 * defaults added (automated-admin-user bootstrap, count 1), variants applied,
 * and filters by group name and role.
 */
export function projectGroups(project: Project, sel: ProjectSelection): GroupSpec[] {
  const prov = project.providers?.[sel.provider];
  const selectors = sel.selectors?.length ? sel.selectors : ['default'];
  const variants: ProjectVariant[] = prov?.variants?.length
    ? prov.variants.filter((v) => (v.selectors ?? ['default']).some((s) => selectors.includes(s)))
    : prov
      ? [prov]
      : [{}];
  const bootstrap = serverSpec({ phases: { bootstrap: automatedAdminUser } });
  const projectPhases = project.phases ? serverSpec({ phases: project.phases }) : undefined;
  let groups = project.groups;
  if (sel.groups?.length) {
    const unknown = sel.groups.filter((g) => !groups.some((x) => x.groupName === g));
    if (unknown.length)
      throw new SpecError(
        `No group named ${unknown.join(', ')} in the project. Groups: ${groups.map((g) => g.groupName).join(', ')}.`,
        'project',
        'groups',
      );
    groups = groups.filter((g) => sel.groups!.includes(g.groupName));
  }
  if (sel.roles?.length) groups = groups.filter((g) => g.roles.some((r) => sel.roles!.includes(r)));
  const out: GroupSpec[] = [];
  for (const v of variants) {
    for (const g of groups) {
      const base = { ...(prov?.nodeSpec ?? {}), ...(v !== prov ? (v.nodeSpec ?? {}) : {}) } as Record<string, unknown>;
      const perGroup = (v.groups?.[g.groupName]?.nodeSpec ?? prov?.groups?.[g.groupName]?.nodeSpec ?? {}) as Record<
        string,
        unknown
      >;
      const { kind: _k1, ...baseNs } = deepMerge(base, perGroup) as Record<string, unknown>;
      const exts = [
        ...(g.phases.bootstrap ? [] : [bootstrap]),
        ...(projectPhases ? [projectPhases] : []),
        ...(v.phases ? [serverSpec({ phases: v.phases })] : []),
      ];
      const name = `${v.groupPrefix ?? ''}${g.groupName}${v.groupSuffix ?? ''}`;
      // The provider's node spec goes under the group: the group's own settings win.
      const merged = groupSpec(name, {
        extends: [serverSpec(baseNs as NodeSpecOptions), ...exts, g],
        count: g.count ?? 1,
        ...(g.nodeFilter ? { nodeFilter: g.nodeFilter } : {}),
      });
      out.push(merged);
    }
  }
  return out;
}
