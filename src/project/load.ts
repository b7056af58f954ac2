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
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { automatedAdminUser } from '../crates/admin-user.js';
import { SpecError } from '../core/errors.js';
import { deepMerge, isPlainObject } from '../core/merge.js';
import { groupSpec, serverSpec, type GroupSpec, type NodeSpec, type PhaseFn } from '../model/specs.js';
import { validate } from '../core/validate.js';
import type { NodeSpecOptions } from '../core/types.js';

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
 * Compile a TypeScript project file and the local files it imports into one ES module with esbuild (packages
 * stay imports), written beside the project file for the moment it is imported, then removed: bare imports
 * (`pallet`, `yaml`) resolve from the project's folder as they would from the file itself, and `pallet` is the
 * copy the command already loaded. Each file keeps its own `import.meta.url`; stack traces point into the
 * TypeScript (inline source maps). About 40 ms, against about 0.3-0.6 s through a loader hook.
 */
async function importTypeScript(path: string): Promise<{ default?: unknown }> {
  const esbuild = await import('esbuild');
  const fileMeta = (p: string) => {
    const url = JSON.stringify(pathToFileURL(p).href);
    return (src: string) =>
      src
        .replace(/\bimport\.meta\.url\b/g, url)
        .replace(/\bimport\.meta\.filename\b/g, JSON.stringify(p))
        .replace(/\bimport\.meta\.dirname\b/g, JSON.stringify(dirname(p)));
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
    // The project's own tsconfig paths are not applied: `pallet` is the installed package, as at run time.
    tsconfigRaw: '{}',
    plugins: [
      {
        name: 'pallet-import-meta',
        setup(b) {
          b.onLoad({ filter: /\.[cm]?[jt]sx?$/ }, (a) => ({
            contents: fileMeta(a.path)(readFileSync(a.path, 'utf8')),
            loader: /\.[cm]?tsx?$/.test(a.path)
              ? a.path.endsWith('x')
                ? 'tsx'
                : 'ts'
              : a.path.endsWith('x')
                ? 'jsx'
                : 'js',
          }));
        },
      },
    ],
  });
  const out = join(dirname(path), `.pallet-tmp-${basename(path).replace(/\.[^.]+$/, '')}-${process.pid}.mjs`);
  writeFileSync(out, built.outputFiles[0]!.text, { mode: 0o600 });
  try {
    process.setSourceMapsEnabled(true);
    return (await import(pathToFileURL(out).href)) as { default?: unknown };
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
        const { tsImport } = await import('tsx/esm/api');
        mod = (await tsImport(pathToFileURL(path).href, import.meta.url)) as { default?: unknown };
      }
    } else {
      mod = (await import(pathToFileURL(path).href)) as { default?: unknown };
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
