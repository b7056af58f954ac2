/**
 * The engine shared by lift and converge: plans and runs phases, one barrier
 * each, and assembles results.
 *
 * Each phase is planned for every target, then run on all targets at once
 * (bounded by `concurrency`); a target stops at its first failed action; if any
 * target failed, later phases do not run. A node that cannot be reached is
 * reported (`reason: 'unreachable'`) and left out while the others carry on; a
 * plan function that throws is a failed result for its target (`reason:
 * 'plan-error'`, the exception kept as `cause`). Phase metadata (run-once
 * flags, image credentials, partitioning, post-phase hooks) is taken from each
 * target's own group. Callbacks that throw never stop the engine mid-phase:
 * an `onEvent` failure is reported once in `warnings`, a `postPhase` failure
 * fails the phase.
 *
 * Why this file is long: the phase loop (plan, facts on demand, barrier, node flags, partitions, post-phase hooks, results)
 * is one state machine shared by lift and converge; its helpers live beside it (connections, node-flags, targets).
 */
import { PlanError, SpecError } from '../core/errors.js';
import { execScript } from '../actions/exec.js';
import { recordPlan } from '../plan/plan-fn.js';
import { assocSettings, factsFacility, updateSettings } from '../plan/settings.js';
import {
  emptyPlanState,
  FactsNeeded,
  mergePlanStates,
  newCheckTrack,
  withActionValues,
  type CheckTrack,
  type PlanState,
  type Session,
  newSession,
} from '../plan/session.js';
import { target as currentTarget } from '../plan/accessors.js';
import type { ActionOptions, PlanItem } from '../plan/types.js';
import { detectedOs, factsProbeScript, parseFacts, type Facts } from '../script/facts.js';
import { packagerForOs, type DetectedOs } from '../script/os.js';
import { deepMerge } from '../core/merge.js';
import type { GroupSpec, Phase, PhaseFn, PhaseMeta, PostPhaseInfo, Target } from '../model/specs.js';
import type { Transport } from '../transport/types.js';
import type { Node } from '../core/types.js';
import { defaultAdminUser, redactUser, type User } from '../core/user.js';
import { Secrets } from '../core/secrets.js';
import { Connections } from './connections.js';
import { executePlan, redactResult } from './execute.js';
import { nodeStateRoot } from '../compute/node-state.js';
import { NodeFlags } from './node-flags.js';
import { mapLimit, type OperationEvent, type OperationOptions, type PhaseCall } from './options.js';
import { failedAction, type CheckedCounts, type OperationResult, type PhaseResult } from './result.js';
import { isGroupTarget, matchTargets } from './targets.js';

/** Reject a phase that groups partition with different functions: which one applies would depend on node order. */
export function checkPartitioning(
  groups: ReadonlyArray<GroupSpec>,
  phases: ReadonlyArray<string>,
  global?: unknown,
): void {
  if (global) return;
  for (const phase of phases) {
    const fns = new Map<unknown, string[]>();
    for (const g of groups) {
      const fn = g.phases[phase]?.meta.partitionBy;
      if (fn) fns.set(fn, [...(fns.get(fn) ?? []), g.groupName]);
    }
    if (fns.size > 1) {
      throw new SpecError(
        `phase '${phase}': groups ${[...fns.values()].map((gs) => gs.join('+')).join(' and ')} partition it with different partitionBy functions; ` +
          'give one partitionBy in the operation options, or the same function in each group.',
        [...fns.values()].flat().join(', '),
        'partitionBy',
      );
    }
  }
}

/** The target's image or compute service gives its OS family and version (no detection needed). */
const osGiven = (t: Target): boolean =>
  Boolean((t.spec.image?.osFamily ?? t.node.osFamily) && (t.spec.image?.osVersion ?? t.node.osVersion));

/** A target's plan for a phase: built, failed, or waiting for the facts of a node (`needs`). */
type Planned = { t: Target; plan?: { session: Session; items: PlanItem[] }; failed?: PhaseResult; needs?: string };

export class Operation {
  planState: PlanState;
  readonly results: PhaseResult[] = [];
  readonly phasesRun: string[] = [];
  readonly warnings: string[] = [];
  readonly skipped: Array<{ node: Node; reason: string }> = [];
  /** Every secret of this operation: results, errors and events are redacted with them where they are made. */
  readonly secrets: Secrets;
  readonly connections: Connections;
  readonly flags: NodeFlags;
  ok = true;
  /** Check mode (converge): what would happen to the node counts. */
  check: CheckedCounts | undefined;
  private readonly user: User;
  private readonly environment: Record<string, unknown>;
  private readonly baseOptions: ActionOptions;
  private readonly overrides: Record<string, Phase> = {};
  private idCounter = 0;
  private serviceState: Target[] = [];
  /** Nodes whose OS was given: probed only when a plan first reads their facts (see `probe`). */
  private readonly probeLater = new Set<string>();
  /** Which targets the probe reaches with the image's login user (converge's new nodes). */
  private probeWithImage?: (t: Target) => boolean;
  /** Nodes that could not be reached: left out of later phases. */
  private readonly unreachable = new Set<string>();
  private ended = false;
  /** Check mode: what each target's check run knows, across its phases. */
  private readonly checkTracks = new Map<string, CheckTrack>();
  private eventFailed = false;

  constructor(
    readonly opts: OperationOptions,
    inline: Record<string, PhaseFn>,
  ) {
    for (const [name, fn] of Object.entries(inline)) this.overrides[name] = { fns: [fn], meta: {} };
    const compute = opts.compute;
    const envUser = (opts.environment?.user ?? compute?.environment?.user) as User | undefined;
    // Only the CLI reads ~/.pallet; a library caller gives the user or gets the default.
    this.user = opts.user ?? envUser ?? defaultAdminUser();
    this.environment = deepMerge(
      deepMerge({ user: this.user } as Record<string, unknown>, compute?.environment ?? {}),
      opts.environment ?? {},
    );
    if (opts.user) this.environment.user = opts.user;
    this.planState = opts.planState ?? emptyPlanState();
    this.secrets = Secrets.ofUser(this.user);
    this.connections = new Connections(compute, this.user, opts.connection);
    this.flags = new NodeFlags(compute, this.connections);
    this.baseOptions = {
      ...(opts.debug?.scriptTrace ? { scriptTrace: true } : {}),
      ...(opts.debug?.scriptComments ? { scriptComments: true } : {}),
    };
  }

  /** Send an event; a callback that throws is reported once and never stops the operation. */
  emit(e: OperationEvent): void {
    if (!this.opts.onEvent) return;
    try {
      this.opts.onEvent(e);
    } catch (err) {
      if (!this.eventFailed) {
        this.eventFailed = true;
        this.warnings.push(
          this.secrets.redact(
            `the onEvent callback threw (later failures not repeated): ${(err as Error)?.message ?? String(err)}`,
          ),
        );
      }
    }
  }

  start(operation: 'lift' | 'converge', phases: string[]): void {
    this.emit({ type: 'operation-start', operation, phases });
  }

  /** `operation-end`, exactly once, whatever happened. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.emit({ type: 'operation-end', ok: this.ok });
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

  private async plan(
    t: Target,
    phase: string,
    p: Phase,
    args: unknown[],
  ): Promise<{ session: Session; items: PlanItem[] }> {
    const user = this.connections.adminFor(t);
    const session = newSession({
      target: t,
      targets: this.serviceState,
      phase,
      environment: this.environment,
      user,
      stateRoot: nodeStateRoot(user, t.node),
      planState: this.planState,
      options: { ...this.baseOptions },
      nextId: () => `nv${++this.idCounter}`,
      os: this.resolveOs(t),
      ...(this.opts.check ? { check: this.checkTrack(t) } : {}),
      factsOnDemand: this.probeLater,
    });
    try {
      return { session, items: await recordPlan(session, p.fns, args) };
    } catch (e) {
      if (e instanceof FactsNeeded) throw e;
      const err = e as Error;
      throw new PlanError(
        `${t.node.id}: phase '${phase}': building the plan failed: ${err?.message ?? String(e)}`,
        { node: t.node.id, phase },
        { cause: e },
      );
    }
  }

  private checkTrack(t: Target): CheckTrack {
    let c = this.checkTracks.get(t.node.id);
    if (!c) this.checkTracks.set(t.node.id, (c = newCheckTrack()));
    return c;
  }

  private where(t: Target): string {
    return isGroupTarget(t) ? `group ${t.spec.groupName}` : t.node.id;
  }

  /** A failed result for a target that did not get to run its actions. */
  failedResult(
    t: Target,
    phase: string,
    reason: NonNullable<PhaseResult['reason']>,
    action: string,
    message: string,
    cause?: unknown,
  ): PhaseResult {
    const where = this.where(t);
    const a = failedAction({
      action,
      summary: action,
      err: message,
      error: {
        node: where,
        phase,
        action,
        message: message.startsWith(`${where}:`) ? message : `${where}: phase '${phase}': ${message}`,
        ...(cause === undefined ? {} : { cause }),
      },
    });
    return {
      ...(isGroupTarget(t) ? {} : { node: t.node }),
      targetType: isGroupTarget(t) ? 'group' : 'node',
      groupName: t.spec.groupName,
      phase,
      ok: false,
      reason,
      actions: [redactResult(a, this.secrets)],
      durationMs: 0,
    };
  }

  private partition(phase: string, having: Target[], metaOf: (t: Target) => PhaseMeta): Target[][] {
    if (this.opts.partitionBy) return this.opts.partitionBy(having);
    const fns = [...new Set(having.map((t) => metaOf(t).partitionBy).filter((f) => f !== undefined))];
    if (fns.length === 0) return [having];
    if (fns.length > 1)
      checkPartitioning(
        having.map((t) => t.spec),
        [phase],
      );
    // Targets of groups without partitioning run with the first partition.
    const parts = fns[0]!(having.filter((t) => metaOf(t).partitionBy));
    const rest = having.filter((t) => !metaOf(t).partitionBy);
    if (rest.length) parts[0] = [...rest, ...(parts[0] ?? [])];
    return parts;
  }

  /**
   * Run one phase on `targets` (those that define it): partitions one after
   * another, each a barrier. Returns false when any target failed.
   */
  async runPhase(
    phase: string,
    args: unknown[],
    targets: Target[],
    extra: { onlyWithout?: string } = {},
  ): Promise<boolean> {
    let having = targets.filter((t) => this.phaseOf(t, phase) && !this.unreachable.has(t.node.id));
    if (having.length === 0) return true;
    const metaOf = (t: Target): PhaseMeta => this.phaseOf(t, phase)!.meta;
    const flagOf = (t: Target) => extra.onlyWithout ?? metaOf(t).runOnceFlag;
    if (this.opts.compute) {
      const keep = await Promise.all(
        having.map(async (t) =>
          isGroupTarget(t) || !flagOf(t) ? true : !(await this.flags.get(t, flagOf(t)!))[flagOf(t)!],
        ),
      );
      having = having.filter((_t, i) => keep[i]);
      if (having.length === 0) return true;
    }
    if (!this.phasesRun.includes(phase)) this.phasesRun.push(phase);
    for (const part of this.partition(phase, having, metaOf)) {
      if (this.opts.signal?.aborted) {
        this.ok = false;
        return false;
      }
      // Plan every target first (nothing touches a node, every plan sees the same state), then run them all at once.
      const planOne = async (t: Target): Promise<Planned> => {
        try {
          return { t, plan: await this.plan(t, phase, this.phaseOf(t, phase)!, args) };
        } catch (e) {
          if (e instanceof FactsNeeded) return { t, needs: e.nodeId };
          return {
            t,
            failed: this.failedResult(
              t,
              phase,
              'plan-error',
              'plan',
              (e as Error).message,
              (e as PlanError).cause ?? e,
            ),
          };
        }
      };
      let planned: Planned[] = [];
      for (const t of part) planned.push(await planOne(t));
      // Plans that read facts of nodes not probed yet: probe those nodes (once each, together), then plan those
      // targets again; again while a plan reads the facts of another such node (each round probes new nodes).
      for (;;) {
        const ids = new Set(planned.flatMap((p) => (p.needs ? [p.needs] : [])));
        if (ids.size === 0) break;
        const probeOn = this.serviceState.filter(
          (t) => ids.has(t.node.id) && this.probeLater.has(t.node.id) && !isGroupTarget(t),
        );
        if (probeOn.length === 0) {
          // A node the probe cannot reach for this operation (not one of its targets).
          planned = planned.map((p) =>
            p.needs
              ? {
                  t: p.t,
                  failed: this.failedResult(
                    p.t,
                    phase,
                    'plan-error',
                    'plan',
                    `the facts of node '${p.needs}' could not be gathered`,
                  ),
                }
              : p,
          );
          break;
        }
        for (const t of probeOn) this.probeLater.delete(t.node.id);
        if (!(await this.runProbe(probeOn))) return false;
        planned = planned.filter((p) => !this.unreachable.has(p.t.node.id));
        for (const [k, p] of planned.entries()) if (p.needs) planned[k] = await planOne(p.t);
      }
      if (planned.length === 0) continue;
      this.emit({ type: 'phase-start', phase, targets: planned.map((p) => p.t.node.id) });
      const results = await mapLimit(planned, this.opts.concurrency ?? 50, async ({ t, plan, failed }) => {
        if (!plan) {
          this.emit({ type: 'target-start', phase, target: this.where(t) });
          this.emit({ type: 'target-end', phase, target: this.where(t), result: failed! });
          return { t, r: failed! };
        }
        const r = await this.runTarget(t, phase, plan.session, plan.items, metaOf(t));
        return { t, r: await this.recordFlag(t, r, flagOf(t), metaOf(t)) };
      });
      for (const p of planned) if (p.plan) this.planState = mergePlanStates(this.planState, p.plan.session.delta);
      const phaseResults = results.map((x) => x.r);
      this.results.push(...phaseResults);
      for (const { t, r } of results) {
        if (r.reason === 'unreachable') {
          this.unreachable.add(t.node.id);
          this.ok = false;
        }
      }
      let ok = phaseResults.every((r) => r.ok || r.reason === 'unreachable');
      if (
        !(await this.postPhases(
          phase,
          planned.map((p) => p.t),
          phaseResults,
          metaOf,
        ))
      )
        ok = false;
      this.emit({ type: 'phase-end', phase, ok });
      if (!ok) {
        this.ok = false;
        return false;
      }
    }
    return true;
  }

  /** After a target's phase succeeded: its run-once flag, which must be written. */
  private async recordFlag(t: Target, r: PhaseResult, flag: string | undefined, meta: PhaseMeta): Promise<PhaseResult> {
    // Check mode writes no node state.
    if (!r.ok || !flag || !this.opts.compute || isGroupTarget(t) || this.opts.check) return r;
    try {
      await this.flags.set(t, flag, meta.useImageCredentials ?? false);
      return r;
    } catch (e) {
      const failed = this.failedResult(t, r.phase, 'failed', 'node-state', (e as Error).message, e);
      return { ...r, ok: false, reason: 'failed', actions: [...r.actions, ...failed.actions] };
    }
  }

  /** The operation's postPhase, then each group's own (with its own targets and results). A hook that throws fails the phase. */
  private async postPhases(
    phase: string,
    part: Target[],
    results: PhaseResult[],
    metaOf: (t: Target) => PhaseMeta,
  ): Promise<boolean> {
    const hooks: Array<{ fn: (info: PostPhaseInfo) => void | Promise<void>; targets: Target[] }> = [];
    if (this.opts.postPhase) hooks.push({ fn: this.opts.postPhase, targets: part });
    for (const t of part) {
      const fn = metaOf(t).postPhase;
      if (!fn || fn === this.opts.postPhase) continue;
      const h = hooks.find((x) => x.fn === fn);
      if (h) h.targets.push(t);
      else hooks.push({ fn, targets: [t] });
    }
    let ok = true;
    for (const h of hooks) {
      const ids = new Set(h.targets.map((t) => t.node.id));
      const info: PostPhaseInfo = {
        phase,
        targets: h.targets,
        results: results.filter((r, i) => ids.has(part[i]!.node.id) && r !== undefined),
      };
      try {
        await h.fn(info);
      } catch (e) {
        ok = false;
        const t = h.targets[0]!;
        this.results.push({
          ...this.failedResult(
            t,
            phase,
            'failed',
            'postPhase',
            `the postPhase hook threw: ${(e as Error)?.message ?? String(e)}`,
            e,
          ),
          targetType: 'group',
          node: undefined,
        } as PhaseResult);
      }
    }
    return ok;
  }

  private async runTarget(
    t: Target,
    phase: string,
    session: Session,
    items: PlanItem[],
    meta: PhaseMeta,
  ): Promise<PhaseResult> {
    const started = Date.now();
    const group = isGroupTarget(t);
    const where = this.where(t);
    this.emit({ type: 'target-start', phase, target: where });
    let transport: Transport | undefined;
    if (!group && items.length > 0) {
      try {
        transport = await this.connections.transportFor(
          t,
          this.connections.credentialsFor(t, meta.useImageCredentials ?? false),
        );
      } catch (e) {
        const r = {
          ...this.failedResult(t, phase, 'unreachable', 'connect', `cannot connect: ${(e as Error).message}`, e),
          durationMs: Date.now() - started,
        };
        r.actions[0]!.err = this.secrets.redact((e as Error).message);
        this.emit({ type: 'target-end', phase, target: where, result: r });
        return r;
      }
    }
    const { ok, actions } = await executePlan(items, {
      session,
      transport,
      where,
      secrets: this.secrets,
      ...(this.opts.check ? { check: true } : {}),
      ...(this.opts.signal ? { signal: this.opts.signal } : {}),
      events: {
        onAction: (result) => this.emit({ type: 'action', phase, target: where, result }),
        onBatch: (summaries) =>
          this.emit({ type: 'batch', phase, target: where, actions: summaries.map((a) => this.secrets.redact(a)) }),
      },
    });
    const r: PhaseResult = {
      ...(group ? {} : { node: t.node }),
      targetType: group ? 'group' : 'node',
      groupName: t.spec.groupName,
      phase,
      ok,
      ...(ok ? {} : { reason: 'failed' as const }),
      actions,
      durationMs: Date.now() - started,
    };
    this.emit({ type: 'target-end', phase, target: where, result: r });
    return r;
  }

  /** Running targets for `groups` among the compute service's nodes; stopped ones apart. */
  async findTargets(groups: GroupSpec[]): Promise<{ running: Target[]; stopped: Target[] }> {
    const compute = this.opts.compute;
    if (!compute || groups.length === 0) return { running: [], stopped: [] };
    return matchTargets(await compute.nodes({ groups: groups.map((g) => g.groupName) }), groups);
  }

  /**
   * Stopped nodes of the selected groups, which lift and facts leave out (they do not start nodes; converge does):
   * said in the result and as an event, so a run that configured some of a group's nodes never looks like one
   * that configured all of them.
   */
  skipStopped(stopped: Target[], what: 'lift' | 'facts'): void {
    const does = what === 'lift' ? 'lift runs its phases' : 'facts are gathered';
    for (const t of stopped) {
      const reason = `stopped: ${does} on running nodes only; start it (pallet up, or converge) to include it`;
      this.skipped.push({ node: t.node, reason });
      this.emit({ type: 'node-skipped', node: t.node, groupName: t.spec.groupName, reason });
    }
  }

  /** A stopped node that could not be started: reported, left out, never replaced. */
  reportStopped(t: Target, why: string): void {
    const r = this.failedResult(t, 'converge', 'unreachable', 'start', why);
    this.results.push(r);
    this.unreachable.add(t.node.id);
    this.ok = false;
    this.emit({ type: 'target-end', phase: 'converge', target: t.node.id, result: r });
  }

  /** A failure of the machinery around the phases (a compute service error after nodes changed). */
  reportFailure(phase: string, groupName: string, e: unknown): void {
    const t: Target = {
      node: {
        id: `group:${groupName}`,
        hostname: groupName,
        groupName,
        primaryIp: '',
        sshPort: 0,
        running: false,
        service: '',
      },
      spec: { groupName } as GroupSpec,
      groupNames: [groupName],
    };
    this.results.push(this.failedResult(t, phase, 'failed', phase, (e as Error)?.message ?? String(e), e));
    this.ok = false;
  }

  async runNamedPhases(calls: PhaseCall[], targets: Target[]): Promise<boolean> {
    for (const c of calls) {
      if (c.name === 'settings') continue;
      if (!(await this.runPhase(c.name, c.args, targets))) return false;
    }
    return true;
  }

  /** The probe (OS detection and facts) and settings on targets plus the consider set. */
  async detectAndSettings(
    targets: Target[],
    consider: Target[],
    useImageFor?: (t: Target) => boolean,
  ): Promise<boolean> {
    const all = this.withConsidered(targets, consider);
    if (!(await this.probe(all, useImageFor, true))) return false;
    return this.runPhase('settings', [], all);
  }

  private withConsidered(targets: Target[], consider: Target[]): Target[] {
    return [...targets, ...consider.filter((c) => !targets.some((t) => t.node.id === c.node.id))].filter(
      (t) => !isGroupTarget(t),
    );
  }

  /**
   * The one probe per node per operation (`pallet/os`): facts for `facts()`, and the OS for nodes whose OS is
   * not given (`osDetect: 'auto'`, the default) or for every node (`osDetect: true`). `osDetect: false` skips it.
   */
  async probe(all: Target[], useImageFor?: (t: Target) => boolean, lazy = false): Promise<boolean> {
    const mode = this.opts.osDetect ?? 'auto';
    if (mode === false || all.length === 0) return true;
    this.probeWithImage = useImageFor;
    if (lazy && mode === 'auto') {
      // A node whose OS is given is probed only if a plan reads its facts: an operation that reads none costs no round trip.
      for (const t of all.filter(osGiven)) this.probeLater.add(t.node.id);
      return this.runProbe(all.filter((t) => !osGiven(t)));
    }
    return this.runProbe(all);
  }

  /** Run the probe phase (`pallet/os`) on these targets: facts for each, and the OS where it is not given (or `osDetect: true`). */
  private async runProbe(all: Target[]): Promise<boolean> {
    if (all.length === 0) return true;
    const mode = this.opts.osDetect ?? 'auto';
    const useImageFor = this.probeWithImage;
    const detect: PhaseFn = () => {
      const given = mode === 'auto' && osGiven(currentTarget());
      const v = execScript(factsProbeScript, { changes: 'never', runInCheck: true });
      withActionValues([v], (r) => {
        const facts = parseFacts(r.out);
        updateSettings(factsFacility, () => facts as unknown as Record<string, unknown>);
        // An OS the image or the compute service gives is kept in `auto` mode; the facts still say what the node runs.
        if (!given) assocSettings('pallet/os', detectedOs(facts) as Record<string, unknown>);
        return facts;
      });
    };
    const withImage = useImageFor ? all.filter(useImageFor) : [];
    const withAdmin = all.filter((t) => !withImage.includes(t));
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
    return true;
  }

  /** The facts the probe gathered, by node id (check mode included). */
  factsByNode(): Record<string, Facts> {
    const out: Record<string, Facts> = {};
    for (const [id, h] of Object.entries(this.planState.host)) {
      const f = h.settings[factsFacility]?.default;
      if (f) out[id] = f as unknown as Facts;
    }
    return out;
  }

  result(targets: Target[], newNodes: Node[], oldNodes: Node[]): OperationResult {
    return {
      ok: this.ok,
      results: this.results,
      targets,
      newNodes,
      oldNodes,
      planState: this.opts.check ? this.checkedPlanState() : this.planState,
      // Secrets of the admin user never leave in a result.
      environment: { ...this.environment, user: redactUser(this.user) },
      phases: this.phasesRun,
      warnings: this.warnings,
      skipped: this.skipped,
      ...(this.check ? { check: this.check } : {}),
    };
  }

  /**
   * Check mode: the plan state without the flags the check set (a real run would set them; carried into a
   * later operation, they would make it act on changes that never happened). Settings stay.
   */
  private checkedPlanState(): PlanState {
    const initial = this.opts.planState ?? emptyPlanState();
    const host = Object.fromEntries(
      Object.entries(this.planState.host).map(([id, h]) => [
        id,
        { ...h, flags: [...(initial.host[id]?.flags ?? [])], flagValues: { ...(initial.host[id]?.flagValues ?? {}) } },
      ]),
    );
    return { host };
  }

  close(): Promise<void> {
    return this.connections.close();
  }
}
