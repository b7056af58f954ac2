/**
 * Specs: `nodeSpec`, `serverSpec`, `groupSpec`, `clusterSpec`.
 *
 * Specs are plain, validated objects. A server spec holds reusable phases and
 * can `extends` other server specs; a group spec is a server spec with a name
 * (and a count for `converge`); a cluster spec names a set of groups.
 *
 * Merge rules (Pallet 0.8, `merge-spec-algorithm`):
 * - a phase defined by several specs runs each definition in turn, with the
 *   same arguments: inherited ones first, in `extends` order, then the spec's own;
 * - roles are unioned;
 * - `defaultPhases` merge in an order consistent with every input;
 * - everything else deep-merges (later wins for non-objects).
 *
 * Why this file is long: the four spec builders share their zod schemas and Pallet's merge rules; apart, the merge rules
 * would be read without the shapes they merge.
 */
import * as z from 'zod';
import { SpecError } from '../core/errors.js';
import type { Node, NodeSpecOptions, PhaseResult } from '../core/types.js';
import { deepMerge, isPlainObject, totalOrderMerge } from '../core/merge.js';
import { validate } from '../core/validate.js';

/**
 * A plan function taking arguments `A` (a phase's arguments, given with `{ name, args }`). Plan functions
 * record actions; they never touch a node themselves.
 */
export type PlanFunction<A extends unknown[] = []> = ((...args: A) => void | Promise<void>) & {
  readonly planName?: string;
};

/** Any plan function, whatever its arguments: what a spec stores. */
export type PhaseFn = PlanFunction<never[]>;

/**
 * The argument list of each phase a spec defines, known to the type checker only: `lift` and `converge`
 * accept the phase names a spec defines (and the built-in ones), and `{ name, args }` with exactly the
 * arguments of that phase's plan function. A spec whose phases are not known (loaded from a project
 * file, or typed as plain `GroupSpec`) accepts any name and arguments.
 */
export type PhaseArgs = { readonly [phase: string]: unknown[] };

/** The arguments of each plan function of a `phases` table. */
export type ArgsOfPhases<P> = {
  [K in keyof P & string]: P[K] extends (...args: infer A) => unknown ? A : never;
};

/** The phases of an `extends` list (a phase several define must take arguments fitting all of them). */
export type InheritedPhases<E> = [E] extends [undefined]
  ? {}
  : E extends ReadonlyArray<infer S>
    ? UnionToIntersection<PhasesOf<S>>
    : PhasesOf<E>;

type PhasesOf<S> = [S] extends [never] ? {} : S extends { readonly '~phases'?: infer T } ? T : {};

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;

/** Phase tables combined: every phase of each; a phase in several takes arguments that fit all of them. */
export type WithPhases<A, B> = {
  [K in (keyof A | keyof B) & string]: Extract<
    K extends keyof A ? (K extends keyof B ? A[K] & B[K] : A[K]) : K extends keyof B ? B[K] : never,
    unknown[]
  >;
};

/** A target of an operation: a node together with the merged spec of its groups. */
export interface Target {
  node: Node;
  /** The merged spec of every group the node belongs to. */
  spec: GroupSpec;
  /** Every group the node matched. */
  groupNames: string[];
}

/** What a post-phase hook receives. */
export interface PostPhaseInfo {
  phase: string;
  targets: Target[];
  /** Results of this phase (and partition) so far, one per target that ran. */
  results: ReadonlyArray<PhaseResult>;
}

/** Metadata that changes how a phase is run. */
export interface PhaseMeta {
  /** Split the phase's targets into batches run one after another (rolling deploys). */
  partitionBy?: (targets: Target[]) => Target[][];
  /** Called after the phase (each partition), before its errors stop the operation. */
  postPhase?: (info: PostPhaseInfo) => void | Promise<void>;
  /** Authenticate with the image's login user instead of the admin user. */
  useImageCredentials?: boolean;
  /** Run only on nodes without this state flag, and set it when the phase succeeds. */
  runOnceFlag?: string;
}

/** A phase of a spec: its plan functions, run in order, and its metadata. */
export interface Phase {
  readonly fns: ReadonlyArray<PhaseFn>;
  readonly meta: PhaseMeta;
}

export interface NodeSpec extends NodeSpecOptions {
  readonly kind: 'node-spec';
}

export interface ServerSpecOptions extends NodeSpecOptions {
  phases?: Record<string, PhaseFn>;
  phasesMeta?: Record<string, PhaseMeta>;
  defaultPhases?: string[];
  packager?: string;
  nodeSpec?: NodeSpec | NodeSpecOptions;
  extends?: ServerSpec | ReadonlyArray<ServerSpec>;
  roles?: string | ReadonlyArray<string>;
}

export interface GroupSpecOptions extends ServerSpecOptions {
  /** How many nodes `converge` keeps in the group. */
  count?: number;
  /** Membership test; by default a node belongs to the group with its name. */
  nodeFilter?: (node: Node) => boolean;
}

export interface ServerSpec<T extends PhaseArgs = PhaseArgs> extends NodeSpecOptions {
  readonly kind: 'server-spec' | 'group-spec';
  /** Types only (never set): the arguments of each phase, so `lift` can check phase names and arguments. */
  readonly '~phases'?: T;
  readonly phases: Readonly<Record<string, Phase>>;
  readonly roles: ReadonlyArray<string>;
  readonly defaultPhases: ReadonlyArray<string>;
  readonly packager?: string;
}

export interface GroupSpec<T extends PhaseArgs = PhaseArgs> extends ServerSpec<T> {
  readonly kind: 'group-spec';
  readonly groupName: string;
  readonly count?: number;
  readonly nodeFilter?: (node: Node) => boolean;
}

export interface ClusterSpecOptions {
  extends?: ServerSpec | ReadonlyArray<ServerSpec>;
  groups: ReadonlyArray<GroupSpec | ClusterSpec | [GroupSpec, number]>;
  phases?: Record<string, PhaseFn>;
  nodeSpec?: NodeSpec | NodeSpecOptions;
  roles?: string | ReadonlyArray<string>;
  /** Multiplies every group's count (default 1). */
  count?: number;
}

export interface ClusterSpec {
  readonly kind: 'cluster-spec';
  readonly clusterName: string;
  readonly groups: ReadonlyArray<GroupSpec>;
}

/** Default metadata of built-in phases: `bootstrap` runs once per node with the image's credentials. */
export const defaultPhaseMeta: Readonly<Record<string, PhaseMeta>> = {
  bootstrap: { useImageCredentials: true, runOnceFlag: 'bootstrapped' },
};

// ---------------------------------------------------------------------------
// Validation

const fn = z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', 'expected a function');
// Strict: a misspelt key (`imageID`) is an error naming the spec and the key, not a silent no-op. Options a
// provider reads that are not here go in `provider: { <name>: { ... } }`.
const imageSchema = z.strictObject({
  imageId: z.string().optional(),
  osFamily: z.string().optional(),
  osVersion: z.string().optional(),
  loginUser: z.string().optional(),
  os64Bit: z.boolean().optional(),
  init: z.union([z.string(), z.array(z.string())]).optional(),
});
const hardwareSchema = z.strictObject({
  hardwareId: z.string().optional(),
  minRam: z.number().optional(),
  minCores: z.number().optional(),
  minDisk: z.number().optional(),
});
const nodeSpecShape = {
  image: imageSchema.optional(),
  hardware: hardwareSchema.optional(),
  location: z.strictObject({ locationId: z.string().optional() }).optional(),
  network: z
    .strictObject({
      inboundPorts: z
        .array(
          z.union([
            z.number().int(),
            z.strictObject({ startPort: z.number().int(), endPort: z.number().int(), protocol: z.string().optional() }),
          ]),
        )
        .optional(),
    })
    .optional(),
  qos: z.strictObject({ spotPrice: z.number().optional(), enableMonitoring: z.boolean().optional() }).optional(),
  provider: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
};
const phaseMetaSchema = z.strictObject({
  partitionBy: fn.optional(),
  postPhase: fn.optional(),
  useImageCredentials: z.boolean().optional(),
  runOnceFlag: z.string().optional(),
});
const specRef = z.custom<ServerSpec>(
  (v) => isPlainObject(v) && (v.kind === 'server-spec' || v.kind === 'group-spec'),
  'expected a spec made by serverSpec or groupSpec',
);
const serverShape = {
  ...nodeSpecShape,
  phases: z.record(z.string(), fn).optional(),
  phasesMeta: z.record(z.string(), phaseMetaSchema).optional(),
  defaultPhases: z.array(z.string()).optional(),
  packager: z.string().optional(),
  nodeSpec: z.looseObject({}).optional(),
  extends: z.union([specRef, z.array(specRef)]).optional(),
  roles: z.union([z.string(), z.array(z.string())]).optional(),
};
const nodeSpecSchema = z.strictObject(nodeSpecShape);
const serverSpecSchema = z.strictObject(serverShape);
const groupSpecSchema = z.strictObject({
  ...serverShape,
  count: z.number().int().nonnegative().optional(),
  nodeFilter: fn.optional(),
});
const clusterSpecSchema = z.strictObject({
  extends: z.union([specRef, z.array(specRef)]).optional(),
  groups: z.array(z.unknown()),
  phases: z.record(z.string(), fn).optional(),
  nodeSpec: z.looseObject({}).optional(),
  roles: z.union([z.string(), z.array(z.string())]).optional(),
  count: z.number().int().nonnegative().optional(),
});

// ---------------------------------------------------------------------------
// Building and merging

interface Parts extends NodeSpecOptions {
  phases: Record<string, Phase>;
  roles: string[];
  defaultPhases?: string[];
  packager?: string;
}

function toRoles(roles: string | ReadonlyArray<string> | undefined): string[] {
  if (roles === undefined) return [];
  return typeof roles === 'string' ? [roles] : [...new Set(roles)];
}

function union(a: ReadonlyArray<string>, b: ReadonlyArray<string>): string[] {
  return [...new Set([...a, ...b])];
}

function pipelinePhase(a: Phase, b: Phase): Phase {
  return { fns: [...a.fns, ...b.fns], meta: deepMerge(a.meta, b.meta) };
}

function mergeParts(a: Parts, b: Parts): Parts {
  const out: Parts = { ...a, phases: { ...a.phases }, roles: union(a.roles, b.roles) };
  for (const [k, v] of Object.entries(b) as Array<[keyof Parts, unknown]>) {
    if (k === 'phases' || k === 'roles') continue;
    if (k === 'defaultPhases') {
      const da = a.defaultPhases;
      const db = b.defaultPhases;
      out.defaultPhases = da && db ? totalOrderMerge([da, db]) : (db ?? da);
      continue;
    }
    (out as unknown as Record<string, unknown>)[k] = deepMerge((a as unknown as Record<string, unknown>)[k], v);
  }
  for (const [name, phase] of Object.entries(b.phases)) {
    const prev = out.phases[name];
    out.phases[name] = prev ? pipelinePhase(prev, phase) : phase;
  }
  return out;
}

function partsOf(spec: ServerSpec): Parts {
  const { kind: _k, ...rest } = spec as ServerSpec & { groupName?: string; count?: number; nodeFilter?: unknown };
  const r = rest as Record<string, unknown>;
  delete r.groupName;
  delete r.count;
  delete r.nodeFilter;
  return {
    ...(r as unknown as Parts),
    phases: { ...spec.phases },
    roles: [...spec.roles],
    defaultPhases: [...spec.defaultPhases],
  };
}

/** `merge-specs(inherited, own)`: the extended specs fold left, then the own spec merges over them. */
function extendParts(own: Parts, ext: ServerSpec | ReadonlyArray<ServerSpec> | undefined): Parts {
  if (ext === undefined) return own;
  const list = Array.isArray(ext) ? (ext as ReadonlyArray<ServerSpec>) : [ext as ServerSpec];
  const empty: Parts = { phases: {}, roles: [] };
  const inherited = list.map(partsOf).reduce(mergeParts, empty);
  // Only an explicit own defaultPhases overrides the inherited merge.
  const merged = mergeParts(inherited, { ...own, defaultPhases: undefined });
  if (own.defaultPhases) merged.defaultPhases = own.defaultPhases;
  return merged;
}

function phasesWithMeta(
  fns: Record<string, PhaseFn> | undefined,
  meta: Record<string, PhaseMeta> | undefined,
): Record<string, Phase> {
  const out: Record<string, Phase> = {};
  for (const [name, f] of Object.entries(fns ?? {})) {
    out[name] = { fns: [f], meta: { ...(defaultPhaseMeta[name] ?? {}), ...(meta?.[name] ?? {}) } };
  }
  // phasesMeta for phases defined only by an extended spec still applies.
  for (const [name, m] of Object.entries(meta ?? {})) {
    if (!out[name]) out[name] = { fns: [], meta: m };
  }
  return out;
}

function buildParts(opts: ServerSpecOptions): Parts {
  const { phases, phasesMeta, defaultPhases, nodeSpec: ns, extends: ext, roles, packager, ...nodeOpts } = opts;
  const base: Record<string, unknown> = {};
  if (ns) {
    const { kind: _k, ...nsRest } = ns as NodeSpec;
    Object.assign(base, nsRest);
  }
  for (const [k, v] of Object.entries(nodeOpts)) base[k] = deepMerge(base[k], v);
  const own: Parts = {
    ...(base as NodeSpecOptions),
    phases: phasesWithMeta(phases, phasesMeta),
    roles: toRoles(roles),
    ...(defaultPhases ? { defaultPhases: [...defaultPhases] } : {}),
    ...(packager ? { packager } : {}),
  };
  const merged = extendParts(own, ext);
  // A phasesMeta entry without its own function only decorates inherited phases.
  for (const [name, phase] of Object.entries(merged.phases)) {
    if (phasesMeta?.[name]) merged.phases[name] = { fns: phase.fns, meta: { ...phase.meta, ...phasesMeta[name] } };
  }
  return merged;
}

function stripUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as Array<keyof T>) if (o[k] === undefined) delete o[k];
  return o;
}

/** Image, hardware, location, network and QoS options of the nodes of a group. */
export function nodeSpec(opts: NodeSpecOptions = {}): NodeSpec {
  const v = validate(nodeSpecSchema, opts, 'nodeSpec');
  return Object.freeze({ kind: 'node-spec' as const, ...(v as NodeSpecOptions) });
}

/** A reusable set of phases (and node options) that group specs extend. */
export function serverSpec<
  const P extends Record<string, PhaseFn> = {},
  const E extends ServerSpec | ReadonlyArray<ServerSpec> | undefined = undefined,
>(
  opts: ServerSpecOptions & { phases?: P; extends?: E } = {},
): ServerSpec<WithPhases<InheritedPhases<E>, ArgsOfPhases<P>>> {
  validate(serverSpecSchema, opts, 'serverSpec');
  const p = buildParts(opts);
  return Object.freeze(
    stripUndefined({ ...p, kind: 'server-spec' as const, defaultPhases: p.defaultPhases ?? ['configure'] }),
  );
}

/** A named group of nodes: a server spec plus a group name and a count. */
export function groupSpec<
  const P extends Record<string, PhaseFn> = {},
  const E extends ServerSpec | ReadonlyArray<ServerSpec> | undefined = undefined,
>(
  name: string,
  opts: GroupSpecOptions & { phases?: P; extends?: E } = {},
): GroupSpec<WithPhases<InheritedPhases<E>, ArgsOfPhases<P>>> {
  if (typeof name !== 'string' || name.trim() === '') {
    throw new SpecError('groupSpec: the group name must be a non-empty string.', 'groupSpec', 'name');
  }
  const what = `groupSpec '${name}'`;
  validate(groupSpecSchema, opts, what);
  const { count, nodeFilter, ...server } = opts;
  // '~phases' exists for the type checker only: the phase table is what `phases` and `extends` declared.
  return groupFromParts(name, buildParts(server), count, nodeFilter) as GroupSpec<
    WithPhases<InheritedPhases<E>, ArgsOfPhases<P>>
  >;
}

/** Build a group spec from merged parts (used for multi-group nodes and clusters). */
function groupFromParts(name: string, p: Parts, count?: number, nodeFilter?: (node: Node) => boolean): GroupSpec {
  return Object.freeze(
    stripUndefined({
      ...p,
      kind: 'group-spec' as const,
      groupName: name,
      defaultPhases: p.defaultPhases ?? ['configure'],
      count,
      nodeFilter,
    }),
  );
}

/**
 * Merge the specs of every group a node belongs to (a node matching several
 * groups gets all of their phases and roles).
 */
export function mergeGroupSpecs(groups: ReadonlyArray<GroupSpec>): GroupSpec {
  if (groups.length === 1) return groups[0]!;
  const merged = groups.map(partsOf).reduce(mergeParts, { phases: {}, roles: [] });
  return groupFromParts(groups[0]!.groupName, merged, groups[0]!.count);
}

/** A copy of `group` whose count is `count`. */
export function withCount(group: GroupSpec, count: number): GroupSpec {
  return Object.freeze({ ...group, count });
}

/**
 * A named set of groups. Group names are prefixed `<cluster>-` (no prefix when
 * the name is empty); roles are unioned with the cluster's; a phase runs the
 * group's own definition, then the cluster's `phases`, then the cluster's
 * `extends` (the original's order). Counts multiply by the cluster's `count`.
 */
export function clusterSpec(name: string, opts: ClusterSpecOptions): ClusterSpec {
  const what = `clusterSpec '${name}'`;
  validate(clusterSpecSchema, opts, what);
  const prefix = name.trim() === '' ? '' : `${name}-`;
  const factor = opts.count ?? 1;
  const nodeBase: Record<string, unknown> = {};
  if (opts.nodeSpec) {
    const { kind: _k, ...rest } = opts.nodeSpec as NodeSpec;
    Object.assign(nodeBase, rest);
  }
  const clusterRoles = toRoles(opts.roles);
  const expanded: Array<{ group: GroupSpec; count: number | undefined }> = [];
  for (const g of opts.groups) {
    if (Array.isArray(g)) {
      const [spec, n] = g as [GroupSpec, number];
      expanded.push({ group: spec, count: n });
    } else if ((g as ClusterSpec).kind === 'cluster-spec') {
      for (const inner of (g as ClusterSpec).groups) expanded.push({ group: inner, count: inner.count });
    } else if ((g as GroupSpec).kind === 'group-spec') {
      expanded.push({ group: g as GroupSpec, count: (g as GroupSpec).count });
    } else {
      throw new SpecError(
        `${what}: every entry of 'groups' must be a groupSpec, a clusterSpec or [groupSpec, count].`,
        what,
        'groups',
      );
    }
  }
  const groups = expanded.map(({ group, count }) => {
    const own = partsOf(group);
    const ownPhases = own.phases;
    let p: Parts = {
      ...(deepMerge<Record<string, unknown>>(nodeBase, { ...own, phases: undefined }) as unknown as Parts),
      phases: {},
      roles: union(own.roles, clusterRoles),
    };
    p.defaultPhases = own.defaultPhases;
    p = extendParts(p, opts.extends);
    p = mergeParts(
      { phases: phasesWithMeta(opts.phases, undefined), roles: [] },
      { ...p, defaultPhases: undefined, roles: p.roles },
    );
    p.defaultPhases = own.defaultPhases;
    p = mergeParts({ phases: ownPhases, roles: [] }, { ...p, defaultPhases: undefined });
    p.defaultPhases = own.defaultPhases;
    return groupFromParts(
      prefix + group.groupName,
      p,
      count === undefined ? undefined : count * factor,
      group.nodeFilter,
    );
  });
  return Object.freeze({ kind: 'cluster-spec' as const, clusterName: name, groups });
}

/** Is `node` a member of `group`? (`nodeFilter`, else the node's group name.) */
export function nodeInGroup(node: Node, group: GroupSpec): boolean {
  if (group.nodeFilter) return group.nodeFilter(node);
  return node.groupName === group.groupName || (node.groupNames?.includes(group.groupName) ?? false);
}
