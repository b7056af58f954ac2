/**
 * Operations: `lift` applies phases to the nodes a compute service already
 * has; `converge` first creates or destroys nodes to reach each group's count.
 *
 * Order of work (Pallet 0.8):
 * 1. converge only: run `destroyServer` on nodes to remove, remove them
 *    (`destroyGroup` when a group goes to zero), run `createGroup` for groups
 *    that were empty, create the missing nodes;
 * 2. OS detection (`pallet/os`) and `settings` on every target and the nodes of
 *    `considerGroups`;
 * 3. converge only: `bootstrap` on every target not yet flagged bootstrapped;
 * 4. the asked phases, or the merged default phases (usually `configure`).
 *
 * Each phase is a barrier: it is planned for every target, then run on all
 * targets at once (bounded by `concurrency`); a target stops at its first
 * failed action; if any target failed, later phases do not run. A node that
 * cannot be reached at all (connection refused, authentication, host key) is
 * reported and left out, and the other nodes carry on. Failed actions are
 * reported in the result, never thrown.
 */
import { z } from 'zod';
import { PlanError, SpecError } from '../errors.js';
import { execScript } from '../actions/exec.js';
import { shapeScope } from '../plan/plan-fn.js';
import {
  assocSettings,
  emptyPlanState,
  mergePlanStates,
  runInSession,
  withActionValues,
  type PlanState,
  type Session,
} from '../plan/session.js';
import type { ActionOptions, PlanItem } from '../plan/types.js';
import { detectOsScript, packagerForOs, parseDetectedOs, type DetectedOs } from '../script/os.js';
import { deepMerge, isPlainObject, totalOrderMerge } from '../spec/merge.js';
import {
  mergeGroupSpecs,
  nodeInGroup,
  validate,
  withCount,
  type ClusterSpec,
  type GroupSpec,
  type Phase,
  type PhaseFn,
  type PhaseMeta,
  type PostPhaseInfo,
  type Target,
} from '../spec/spec.js';
import type { ComputeService, NodeState } from '../compute/types.js';
import { parseNodeState, readNodeStateScript, writeNodeStateScript } from '../compute/node-state.js';
import type { Transport } from '../transport/types.js';
import type { Node } from '../types.js';
import { defaultAdminUser, imageCredentials, redactUser, type User } from '../user.js';
import { configuredAdminUser } from '../config/config.js';
import { executePlan } from './execute.js';
import { Secrets } from '../secrets.js';
import type { ActionResult, OperationResult, PhaseResult } from './result.js';

/** A phase to run: a name, a plan function, a name with arguments, or a list of these. */
export type PhaseRef = string | PhaseFn | { name: string; args?: unknown[] };

/** Events emitted while an operation runs (for progress displays and JSON output). */
export type OperationEvent =
  | { type: 'operation-start'; operation: 'lift' | 'converge'; phases: string[] }
  | { type: 'node-created'; node: Node; groupName: string }
  | { type: 'node-destroyed'; node: Node; groupName: string }
  | { type: 'phase-start'; phase: string; targets: string[] }
  | { type: 'target-start'; phase: string; target: string }
  /** A batch of actions is being sent to the target (in order); the first not yet reported is running. */
  | { type: 'batch'; phase: string; target: string; actions: string[] }
  | { type: 'action'; phase: string; target: string; result: ActionResult }
  | { type: 'target-end'; phase: string; target: string; result: PhaseResult }
  | { type: 'phase-end'; phase: string; ok: boolean }
  | { type: 'operation-end'; ok: boolean };

export interface OperationOptions {
  /** The compute service (required by converge, and by lift unless explicit targets are given). */
  compute?: ComputeService;
  /** The phases to run (default: the groups' default phases). */
  phase?: PhaseRef | PhaseRef[];
  /** Values plan functions read with `getEnvironment`. */
  environment?: Record<string, unknown>;
  /** The admin user (default: the current user with ~/.ssh keys). */
  user?: User;
  /** Groups whose nodes take part in OS detection and `settings` only. */
  considerGroups?: GroupSpec[];
  /** Split each phase's targets into batches run one after another (rolling deploys). */
  partitionBy?: (targets: Target[]) => Target[][];
  /** Called after each phase (and partition), before its errors stop the operation. */
  postPhase?: (info: PostPhaseInfo) => void | Promise<void>;
  /**
   * Detect each node's OS first: `auto` (default) detects the nodes whose OS
   * family or version is not given by their image or their compute service;
   * `true` detects every node; `false` none. Detection costs one round trip
   * per node per operation.
   */
  osDetect?: boolean | 'auto';
  /** How many targets run at once (default 50). */
  concurrency?: number;
  signal?: AbortSignal;
  debug?: { scriptTrace?: boolean; scriptComments?: boolean };
  /** Initial plan state (e.g. settings carried from an earlier operation). */
  planState?: PlanState;
  /** Options passed to the provider when creating nodes. */
  providerOptions?: Record<string, unknown>;
  /** Receives progress events. */
  onEvent?: (e: OperationEvent) => void;
}

const fnSchema = z.custom<(...a: never[]) => unknown>((v) => typeof v === 'function', 'expected a function');
const phaseRefSchema = z.union([
  z.string().min(1),
  fnSchema,
  z.strictObject({ name: z.string().min(1), args: z.array(z.unknown()).optional() }),
]);
const optionsSchema = z.strictObject({
  compute: z.custom<ComputeService>((v) => isPlainObject(v) || (typeof v === 'object' && v !== null), 'expected a compute service').optional(),
  phase: z.union([phaseRefSchema, z.array(phaseRefSchema)]).optional(),
  environment: z.record(z.string(), z.unknown()).optional(),
  user: z.looseObject({ username: z.string().min(1) }).optional(),
  considerGroups: z.array(z.unknown()).optional(),
  partitionBy: fnSchema.optional(),
  postPhase: fnSchema.optional(),
  osDetect: z.union([z.boolean(), z.literal('auto')]).optional(),
  concurrency: z.number().int().positive().optional(),
  signal: z.instanceof(AbortSignal).optional(),
  debug: z.strictObject({ scriptTrace: z.boolean().optional(), scriptComments: z.boolean().optional() }).optional(),
  planState: z.looseObject({ host: z.record(z.string(), z.unknown()) }).optional(),
  providerOptions: z.record(z.string(), z.unknown()).optional(),
  onEvent: fnSchema.optional(),
});

/** Explicit targets for lift: nodes given directly, with the group spec they run as. */
export interface ExplicitTargets {
  group: GroupSpec;
  nodes: Node | Node[];
}

export type NodeSet = GroupSpec | ClusterSpec | ExplicitTargets | ReadonlyArray<GroupSpec | ClusterSpec | ExplicitTargets>;

export type GroupCounts =
  | GroupSpec
  | ClusterSpec
  | ReadonlyArray<GroupSpec | ClusterSpec | readonly [GroupSpec, number]>
  | ReadonlyMap<GroupSpec, number>;

interface PhaseCall {
  name: string;
  args: unknown[];
}

/** A tiny concurrency limiter: at most `n` tasks at once, results in input order. */
async function mapLimit<T, R>(items: readonly T[], n: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

function isExplicit(x: unknown): x is ExplicitTargets {
  return isPlainObject(x) && 'group' in x && 'nodes' in x;
}

function flattenNodeSet(ns: NodeSet): { groups: GroupSpec[]; explicit: ExplicitTargets[] } {
  const list = (Array.isArray(ns) ? ns : [ns]) as Array<GroupSpec | ClusterSpec | ExplicitTargets>;
  const groups: GroupSpec[] = [];
  const explicit: ExplicitTargets[] = [];
  for (const x of list) {
    if (isExplicit(x)) explicit.push(x);
    else if (x.kind === 'cluster-spec') groups.push(...x.groups);
    else if (x.kind === 'group-spec') groups.push(x);
    else throw new SpecError('lift: every entry of the node set must be a groupSpec, a clusterSpec or { group, nodes }.', 'lift');
  }
  return { groups, explicit };
}

function flattenCounts(gc: GroupCounts): GroupSpec[] {
  if (gc instanceof Map) return [...gc.entries()].map(([g, n]) => withCount(g, n));
  const list = (Array.isArray(gc) ? gc : [gc]) as Array<GroupSpec | ClusterSpec | readonly [GroupSpec, number]>;
  const out: GroupSpec[] = [];
  for (const x of list) {
    if (Array.isArray(x)) {
      const [g, n] = x as readonly [GroupSpec, number];
      if (!Number.isInteger(n) || n < 0) throw new SpecError(`converge: the count of group '${g.groupName}' must be a whole number >= 0.`, g.groupName, 'count');
      out.push(withCount(g, n));
    } else if ((x as ClusterSpec).kind === 'cluster-spec') out.push(...(x as ClusterSpec).groups);
    else if ((x as GroupSpec).kind === 'group-spec') out.push(x as GroupSpec);
    else throw new SpecError('converge: give [[groupSpec, count], ...], a Map, group specs with counts, or a clusterSpec.', 'converge');
  }
  for (const g of out) {
    if (g.count === undefined) {
      throw new SpecError(`Node count not specified for group '${g.groupName}': give it a count (groupSpec(name, { count })) or pass [[group, count]].`, g.groupName, 'count');
    }
  }
  return out;
}

function processPhases(phase: OperationOptions['phase']): { calls: PhaseCall[]; inline: Record<string, PhaseFn> } {
  if (phase === undefined) return { calls: [], inline: {} };
  const list = Array.isArray(phase) ? phase : [phase];
  const calls: PhaseCall[] = [];
  const inline: Record<string, PhaseFn> = {};
  let n = 0;
  for (const p of list as PhaseRef[]) {
    if (typeof p === 'string') calls.push({ name: p, args: [] });
    else if (typeof p === 'function') {
      n++;
      const name = p.planName ?? (list.length === 1 ? 'inline' : `inline-${n}`);
      inline[name] = p;
      calls.push({ name, args: [] });
    } else calls.push({ name: p.name, args: p.args ?? [] });
  }
  return { calls, inline };
}

const groupNodeIdPrefix = 'group:';

function groupTarget(g: GroupSpec, service: string): Target {
  return {
    node: { id: `${groupNodeIdPrefix}${g.groupName}`, hostname: g.groupName, groupName: g.groupName, primaryIp: '', sshPort: 0, running: false, service },
    spec: g,
    groupNames: [g.groupName],
  };
}

function isGroupTarget(t: Target): boolean {
  return t.node.id.startsWith(groupNodeIdPrefix) && !t.node.running && t.node.primaryIp === '';
}

/** The engine shared by lift and converge. */
class Operation {
  planState: PlanState;
  readonly results: PhaseResult[] = [];
  readonly phasesRun: string[] = [];
  private readonly transports = new Map<string, Promise<Transport>>();
  private readonly user: User;
  private readonly environment: Record<string, unknown>;
  private readonly baseOptions: ActionOptions;
  private idCounter = 0;
  private serviceState: Target[] = [];
  /** State flags of each node, read once per operation. */
  private readonly nodeStates = new Map<string, NodeState>();
  /** Nodes whose on-node state was read already (services with `stateOnNode`). */
  private readonly readFromNode = new Set<string>();
  /** Nodes that could not be reached: left out of later phases. */
  private readonly unreachable = new Set<string>();
  ok = true;

  private readonly overrides: Record<string, Phase> = {};
  /** Every secret of this operation: results, errors and events are redacted with them where they are made. */
  readonly secrets: Secrets;

  constructor(
    private readonly opts: OperationOptions,
    inline: Record<string, PhaseFn>,
  ) {
    for (const [name, fn] of Object.entries(inline)) this.overrides[name] = { fns: [fn], meta: {} };
    const compute = opts.compute;
    const envUser = (opts.environment?.user ?? compute?.environment?.user) as User | undefined;
    this.user = opts.user ?? envUser ?? configuredAdminUser() ?? defaultAdminUser();
    this.environment = deepMerge(deepMerge({ user: this.user } as Record<string, unknown>, compute?.environment ?? {}), opts.environment ?? {});
    if (opts.user) this.environment.user = opts.user;
    this.planState = opts.planState ?? emptyPlanState();
    this.secrets = Secrets.ofUser(this.user);
    this.baseOptions = {
      ...(opts.debug?.scriptTrace ? { scriptTrace: true } : {}),
      ...(opts.debug?.scriptComments ? { scriptComments: true } : {}),
    };
  }

  emit(e: OperationEvent) {
    this.opts.onEvent?.(e);
  }

  get env() {
    return this.environment;
  }

  setServiceState(t: Target[]) {
    this.serviceState = t;
  }

  phaseOf(t: Target, name: string): Phase | undefined {
    return this.overrides[name] ?? t.spec.phases[name];
  }

  private resolveOs(t: Target): Session['os'] {
    const detected = this.planState.host[t.node.id]?.settings['pallet/os']?.default as DetectedOs | undefined;
    const osFamily = t.spec.image?.osFamily ?? detected?.osFamily ?? t.node.osFamily;
    const osVersion = t.spec.image?.osVersion ?? detected?.osVersion ?? t.node.osVersion;
    const packager = t.spec.packager ?? t.node.packager ?? packagerForOs(osFamily, osVersion);
    return {
      ...(osFamily ? { osFamily } : {}),
      ...(osVersion ? { osVersion } : {}),
      ...(packager ? { packager } : {}),
    };
  }

  private async plan(t: Target, phase: string, p: Phase, args: unknown[]): Promise<{ session: Session; items: PlanItem[] }> {
    const session: Session = {
      mode: 'plan',
      target: t,
      targets: this.serviceState,
      phase,
      environment: this.environment,
      user: this.user,
      planState: this.planState,
      delta: emptyPlanState(),
      scope: [],
      context: [],
      options: { ...this.baseOptions },
      values: new Map(),
      nextId: () => `nv${++this.idCounter}`,
      os: this.resolveOs(t),
    };
    try {
      await runInSession(session, async () => {
        for (const fn of p.fns) await (fn as (...a: unknown[]) => unknown)(...args);
      });
    } catch (e) {
      const err = e as Error;
      throw new PlanError(`${t.node.id}: phase '${phase}': building the plan failed: ${err.message}`, { node: t.node.id, phase });
    }
    return { session, items: shapeScope(session.scope) };
  }

  private credentialsFor(t: Target, useImage: boolean): User {
    if (!useImage || !t.node.imageUser) return this.user;
    return imageCredentials(this.user, t.node.imageUser);
  }

  private transportFor(t: Target, user: User): Promise<Transport> {
    const key = `${t.node.id}\0${user.username}`;
    let tr = this.transports.get(key);
    if (!tr) {
      const compute = this.opts.compute;
      tr = compute ? compute.connect(t.node, user) : Promise.reject(new Error('no compute service to connect with'));
      tr.catch(() => {});
      this.transports.set(key, tr);
    }
    return tr;
  }

  /**
   * The node's state flags, asked once per node and operation: from the
   * compute service and, for services that keep them on the node, from the
   * node when the service does not have `flag`.
   */
  async nodeState(t: Target, flag: string): Promise<NodeState> {
    const compute = this.opts.compute;
    if (!compute) return {};
    let st = this.nodeStates.get(t.node.id);
    if (!st) {
      st = await compute.nodeState(t.node);
      this.nodeStates.set(t.node.id, st);
    }
    if (st[flag] || !compute.stateOnNode || this.readFromNode.has(t.node.id)) return st;
    this.readFromNode.add(t.node.id);
    try {
      // The admin user can only log in once the node was bootstrapped; a refusal means "not yet".
      const tr = await this.transportFor(t, this.user);
      Object.assign(st, parseNodeState((await tr.run(`${readNodeStateScript}\n`)).stdout.toString('utf8')));
    } catch {
      this.transports.delete(`${t.node.id}\0${this.user.username}`);
    }
    return st;
  }

  /** Set a state flag in the compute service and, where it keeps state on nodes, on the node. */
  async setNodeFlag(t: Target, flag: string, useImage: boolean): Promise<void> {
    const compute = this.opts.compute;
    if (!compute) return;
    await compute.setNodeState(t.node, { [flag]: true });
    this.nodeStates.set(t.node.id, { ...(this.nodeStates.get(t.node.id) ?? {}), [flag]: true });
    if (!compute.stateOnNode) return;
    const tr = await this.transportFor(t, this.credentialsFor(t, useImage));
    await tr.run(`${writeNodeStateScript({ [flag]: true })}\n`);
  }

  async close(): Promise<void> {
    await Promise.all(
      [...this.transports.values()].map(async (p) => {
        try {
          await (await p).close();
        } catch {
          /* already failed */
        }
      }),
    );
  }

  /**
   * Run one phase on `targets` (those that define it): partitions one after
   * another, each a barrier. Returns false when any target failed.
   */
  async runPhase(phase: string, args: unknown[], targets: Target[], extra: { onlyWithout?: string } = {}): Promise<boolean> {
    let having = targets.filter((t) => this.phaseOf(t, phase) && !this.unreachable.has(t.node.id));
    if (having.length === 0) return true;
    const meta: PhaseMeta = this.phaseOf(having[0]!, phase)!.meta;
    const flag = extra.onlyWithout ?? meta.runOnceFlag;
    if (flag && this.opts.compute) {
      const states = await Promise.all(having.map((t) => (isGroupTarget(t) ? Promise.resolve<NodeState>({}) : this.nodeState(t, flag))));
      having = having.filter((_t, i) => !states[i]![flag]);
      if (having.length === 0) return true;
    }
    if (!this.phasesRun.includes(phase)) this.phasesRun.push(phase);
    const partition = this.opts.partitionBy ?? meta.partitionBy ?? ((ts: Target[]) => [ts]);
    for (const part of partition(having)) {
      if (this.opts.signal?.aborted) {
        this.ok = false;
        return false;
      }
      this.emit({ type: 'phase-start', phase, targets: part.map((t) => t.node.id) });
      // Plan every target first (nothing touches a node), then run them all at once.
      const planned: Array<{ t: Target; session: Session; items: PlanItem[] }> = [];
      for (const t of part) planned.push({ t, ...(await this.plan(t, phase, this.phaseOf(t, phase)!, args)) });
      const phaseResults = await mapLimit(planned, this.opts.concurrency ?? 50, (p) => this.runTarget(p.t, phase, p.session, p.items, meta));
      for (const p of planned) this.planState = mergePlanStates(this.planState, p.session.delta);
      this.results.push(...phaseResults);
      // A node that cannot be reached is left out of the rest of the operation (the result says so);
      // an action that fails on a reachable node stops the operation after this phase.
      phaseResults.forEach((r, i) => {
        if (!r.ok && r.actions.length === 1 && r.actions[0]!.action === 'connect') {
          this.unreachable.add(planned[i]!.t.node.id);
          this.ok = false;
        }
      });
      const ok = phaseResults.every((r, i) => r.ok || this.unreachable.has(planned[i]!.t.node.id));
      if (flag && this.opts.compute) {
        await Promise.all(
          phaseResults.map((r, i) => (r.ok && !isGroupTarget(planned[i]!.t) ? this.setNodeFlag(planned[i]!.t, flag, meta.useImageCredentials ?? false) : undefined)),
        );
      }
      const info: PostPhaseInfo = { phase, targets: part, results: phaseResults };
      if (this.opts.postPhase) await this.opts.postPhase(info);
      if (meta.postPhase && meta.postPhase !== this.opts.postPhase) await meta.postPhase(info);
      this.emit({ type: 'phase-end', phase, ok });
      if (!ok) {
        this.ok = false;
        return false;
      }
    }
    return true;
  }

  private async runTarget(t: Target, phase: string, session: Session, items: PlanItem[], meta: PhaseMeta): Promise<PhaseResult> {
    const started = Date.now();
    const group = isGroupTarget(t);
    const where = group ? `group ${t.spec.groupName}` : t.node.id;
    this.emit({ type: 'target-start', phase, target: where });
    const base = {
      ...(group ? {} : { node: t.node }),
      targetType: group ? ('group' as const) : ('node' as const),
      groupName: t.spec.groupName,
      phase,
    };
    let transport: Transport | undefined;
    const needsNode = !group && items.length > 0;
    if (needsNode) {
      try {
        transport = await this.transportFor(t, this.credentialsFor(t, meta.useImageCredentials ?? false));
      } catch (e) {
        const message = `${where}: phase '${phase}': cannot connect: ${(e as Error).message}`;
        const r: PhaseResult = {
          ...base,
          ok: false,
          durationMs: Date.now() - started,
          actions: [
            {
              action: 'connect',
              summary: 'connect',
              context: [],
              location: 'origin',
              out: '',
              err: (e as Error).message,
              changed: false,
              flags: [],
              flagValues: {},
              durationMs: Date.now() - started,
              error: { node: where, phase, action: 'connect', message },
            },
          ],
        };
        this.emit({ type: 'target-end', phase, target: where, result: r });
        return r;
      }
    }
    const { ok, actions } = await executePlan(items, {
      session,
      transport,
      where,
      secrets: this.secrets,
      ...(this.opts.signal ? { signal: this.opts.signal } : {}),
      events: {
        onAction: (result) => this.emit({ type: 'action', phase, target: where, result }),
        onBatch: (actions) => this.emit({ type: 'batch', phase, target: where, actions: actions.map((a) => this.secrets.redact(a)) }),
      },
    });
    const r: PhaseResult = { ...base, ok, actions, durationMs: Date.now() - started };
    this.emit({ type: 'target-end', phase, target: where, result: r });
    return r;
  }

  /** Targets for `groups` among the compute service's nodes. */
  async findTargets(groups: GroupSpec[]): Promise<Target[]> {
    const compute = this.opts.compute;
    if (!compute || groups.length === 0) return [];
    const nodes = await compute.nodes({ groups: groups.map((g) => g.groupName) });
    const out: Target[] = [];
    for (const node of nodes) {
      if (!node.running) continue;
      const matching = groups.filter((g) => nodeInGroup(node, g));
      if (matching.length === 0) continue;
      out.push({ node, spec: mergeGroupSpecs(matching), groupNames: matching.map((g) => g.groupName) });
    }
    return out;
  }

  async runNamedPhases(calls: PhaseCall[], targets: Target[]): Promise<boolean> {
    for (const c of calls) {
      if (c.name === 'settings') continue;
      if (!(await this.runPhase(c.name, c.args, targets))) return false;
    }
    return true;
  }

  /** OS detection and settings on targets plus the consider set. */
  async detectAndSettings(targets: Target[], consider: Target[], useImageFor?: (t: Target) => boolean): Promise<boolean> {
    const all = [...targets, ...consider.filter((c) => !targets.some((t) => t.node.id === c.node.id))].filter((t) => !isGroupTarget(t));
    const mode = this.opts.osDetect ?? 'auto';
    if (mode !== false) {
      const detect: PhaseFn = () => {
        const v = execScript(detectOsScript, { changes: 'never' });
        withActionValues([v], (r) => {
          assocSettings('pallet/os', parseDetectedOs(r.out) as Record<string, unknown>);
          return parseDetectedOs(r.out);
        });
      };
      const known = (t: Target) => Boolean((t.spec.image?.osFamily ?? t.node.osFamily) && (t.spec.image?.osVersion ?? t.node.osVersion));
      const detectOn = mode === 'auto' ? all.filter((t) => !known(t)) : all;
      const withImage = useImageFor ? detectOn.filter(useImageFor) : [];
      const withAdmin = detectOn.filter((t) => !withImage.includes(t));
      const runDetect = async (ts: Target[], meta: PhaseMeta) => {
        this.overrides['pallet/os'] = { fns: [detect], meta };
        try {
          return await this.runPhase('pallet/os', [], ts);
        } finally {
          delete this.overrides['pallet/os'];
        }
      };
      if (withAdmin.length && !(await runDetect(withAdmin, {}))) return false;
      if (withImage.length && !(await runDetect(withImage, { useImageCredentials: true }))) return false;
    }
    return this.runPhase('settings', [], all);
  }

  result(targets: Target[], newNodes: Node[], oldNodes: Node[]): OperationResult {
    return {
      ok: this.ok,
      results: this.results,
      targets,
      newNodes,
      oldNodes,
      planState: this.planState,
      // Secrets of the admin user never leave in a result.
      environment: { ...this.environment, user: redactUser(this.user) },
      phases: this.phasesRun,
    };
  }
}

function defaultPhases(groups: GroupSpec[]): string[] {
  if (groups.length === 0) return ['configure'];
  return totalOrderMerge(groups.map((g) => g.defaultPhases), 'defaultPhases of the groups');
}

function considerGroupsOf(opts: OperationOptions): GroupSpec[] {
  return (opts.considerGroups ?? []).map((g) => {
    if (!isPlainObject(g) || (g as GroupSpec).kind !== 'group-spec') throw new SpecError('considerGroups: every entry must be a groupSpec.', 'lift', 'considerGroups');
    return g;
  });
}

/**
 * Apply phases to the nodes the compute service already has (and to explicit
 * targets). Returns the full result; failed actions are in it, not thrown.
 */
export async function lift(nodeSet: NodeSet, opts: OperationOptions = {}): Promise<OperationResult> {
  validate(optionsSchema, opts, 'lift options');
  const { groups, explicit } = flattenNodeSet(nodeSet);
  if (!opts.compute && explicit.length === 0) {
    throw new SpecError('lift: give a compute service ({ compute: computeService() }) or explicit targets ({ group, nodes }).', 'lift', 'compute');
  }
  const { calls, inline } = processPhases(opts.phase);
  const op = new Operation(opts, inline);
  const phaseCalls = calls.length ? calls : defaultPhases([...groups, ...explicit.map((e) => e.group)]).map((name) => ({ name, args: [] }));
  op.emit({ type: 'operation-start', operation: 'lift', phases: phaseCalls.map((c) => c.name) });
  try {
    const targets = await op.findTargets(groups);
    for (const e of explicit) {
      for (const node of Array.isArray(e.nodes) ? e.nodes : [e.nodes]) {
        if (!targets.some((t) => t.node.id === node.id)) targets.push({ node, spec: e.group, groupNames: [e.group.groupName] });
      }
    }
    const consider = (await op.findTargets(considerGroupsOf(opts))).filter((c) => !targets.some((t) => t.node.id === c.node.id));
    op.setServiceState([...targets, ...consider]);
    if (await op.detectAndSettings(targets, consider)) await op.runNamedPhases(phaseCalls, targets);
    op.emit({ type: 'operation-end', ok: op.ok });
    return op.result(targets, [], []);
  } finally {
    await op.close();
  }
}

/**
 * Make the number of nodes in each group match its count, then bootstrap the
 * new nodes and apply the phases (default: the groups' default phases) to all.
 */
export async function converge(groupCounts: GroupCounts, opts: OperationOptions = {}): Promise<OperationResult> {
  validate(optionsSchema, opts, 'converge options');
  const compute = opts.compute;
  if (!compute) throw new SpecError('converge: a compute service is required ({ compute: computeService() }).', 'converge', 'compute');
  const groups = flattenCounts(groupCounts);
  const { calls, inline } = processPhases(opts.phase);
  const op = new Operation(opts, inline);
  const phaseCalls = calls.length ? calls : defaultPhases(groups).map((name) => ({ name, args: [] }));
  op.emit({ type: 'operation-start', operation: 'converge', phases: ['bootstrap', ...phaseCalls.map((c) => c.name)] });
  const newNodes: Node[] = [];
  const oldNodes: Node[] = [];
  try {
    let targets = await op.findTargets(groups);
    op.setServiceState(targets);
    // -- adjust node counts ---------------------------------------------------
    const remove: Target[] = [];
    const destroyAll: GroupSpec[] = [];
    const add: Array<{ group: GroupSpec; n: number }> = [];
    const created: GroupSpec[] = [];
    for (const g of groups) {
      const inGroup = targets.filter((t) => t.groupNames.includes(g.groupName));
      const delta = g.count! - inGroup.length;
      if (delta < 0) {
        remove.push(...inGroup.slice(0, -delta).map((t) => ({ ...t, spec: g })));
        if (g.count === 0) destroyAll.push(g);
      } else if (delta > 0) {
        add.push({ group: g, n: delta });
        if (inGroup.length === 0) created.push(g);
      }
    }
    if (remove.length) {
      if (!(await op.runPhase('destroyServer', [], remove))) {
        op.emit({ type: 'operation-end', ok: false });
        return op.result(targets, newNodes, oldNodes);
      }
      await Promise.all(
        remove.map(async (t) => {
          if (!destroyAll.some((g) => g.groupName === t.spec.groupName)) await compute.destroyNode(t.node);
          oldNodes.push(t.node);
          op.emit({ type: 'node-destroyed', node: t.node, groupName: t.spec.groupName });
        }),
      );
      await Promise.all(destroyAll.map((g) => compute.destroyNodesInGroup(g.groupName)));
      targets = targets.filter((t) => !remove.some((r) => r.node.id === t.node.id));
      if (destroyAll.length && !(await op.runPhase('destroyGroup', [], destroyAll.map((g) => groupTarget(g, compute.name))))) {
        op.emit({ type: 'operation-end', ok: false });
        return op.result(targets, newNodes, oldNodes);
      }
    }
    if (created.length && !(await op.runPhase('createGroup', [], created.map((g) => groupTarget(g, compute.name))))) {
      op.emit({ type: 'operation-end', ok: false });
      return op.result(targets, newNodes, oldNodes);
    }
    const made = await Promise.all(
      add.map(async ({ group, n }) => {
        const nodes = await compute.runNodes(group, n, { user: op.env.user as User, ...(opts.providerOptions ? { providerOptions: opts.providerOptions } : {}) });
        for (const node of nodes) op.emit({ type: 'node-created', node, groupName: group.groupName });
        return nodes.map((node) => ({ node, group }));
      }),
    );
    for (const { node } of made.flat()) newNodes.push(node);
    // Re-match new nodes against every group (a node may belong to several).
    for (const { node, group } of made.flat()) {
      const matching = groups.filter((g) => nodeInGroup(node, g));
      const specs = matching.length ? matching : [group];
      targets.push({ node, spec: mergeGroupSpecs(specs), groupNames: specs.map((g) => g.groupName) });
    }
    op.setServiceState(targets);
    // -- OS, settings, bootstrap, phases --------------------------------------
    const consider = (await op.findTargets(considerGroupsOf(opts))).filter((c) => !targets.some((t) => t.node.id === c.node.id));
    const states = new Map<string, boolean>();
    await Promise.all(targets.map(async (t) => states.set(t.node.id, Boolean((await op.nodeState(t, 'bootstrapped')).bootstrapped))));
    // Each step runs only if the previous one succeeded everywhere (phase barriers).
    (await op.detectAndSettings(targets, consider, (t) => states.get(t.node.id) === false)) &&
      (await op.runPhase('bootstrap', [], targets, { onlyWithout: 'bootstrapped' })) &&
      (await op.runNamedPhases(phaseCalls, targets));
    op.emit({ type: 'operation-end', ok: op.ok });
    return op.result(targets, newNodes, oldNodes);
  } finally {
    await op.close();
  }
}
