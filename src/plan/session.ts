/**
 * The session: the implicit context of a plan function.
 *
 * Plan functions run on the controller, once per target, inside a session held
 * in AsyncLocalStorage (so they may be async). Calling an action records it in
 * the current scope; nothing touches the node. Controller-side code that must
 * see node results (node values, flags) runs later, at execution time, in a
 * session whose mode is 'execute'.
 *
 * Why this file is long: recording is one mechanism (the session store, scopes, conditional blocks, node values, pre- and
 * post-phase scheduling); its parts share the store and the Session type. Accessors, settings and flags
 * live in their own files.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { NodeValueError, PlanError } from '../core/errors.js';
import { deepMerge } from '../core/merge.js';
import type { Target } from '../model/specs.js';
import { defaultStateRoot, type User } from '../core/user.js';
import type { ActionCall, ActionDef, ActionOptions, PlanItem, ScriptContext, WhenBlock } from './types.js';

/** Per-node state carried across phases and returned in the result. */
export interface HostState {
  /** `settings[facility][instanceId]` */
  settings: Record<string, Record<string, Record<string, unknown>>>;
  /** Flags set by actions on the node (e.g. `flagOnChanged`). */
  flags: string[];
  /** Values set by actions with `pallet_set_value`. */
  flagValues: Record<string, string>;
}

export interface PlanState {
  host: Record<string, HostState>;
}

export function emptyPlanState(): PlanState {
  return { host: {} };
}

export function emptyHost(): HostState {
  return { settings: {}, flags: [], flagValues: {} };
}

/** Merge `b` into a copy of `a`: settings deep-merge, flags union. */
export function mergePlanStates(a: PlanState, b: PlanState): PlanState {
  const out: PlanState = { host: { ...a.host } };
  for (const [id, h] of Object.entries(b.host)) {
    const prev = out.host[id] ?? emptyHost();
    out.host[id] = {
      settings: deepMerge(prev.settings, h.settings),
      flags: [...new Set([...prev.flags, ...h.flags])],
      flagValues: { ...prev.flagValues, ...h.flagValues },
    };
  }
  return out;
}

/** The value of a script action's node value. */
export interface ScriptValue {
  exit: number;
  out: string;
  err: string;
  changed: boolean;
  flags: string[];
  flagValues: Record<string, string>;
}

export interface Session {
  mode: 'plan' | 'execute';
  target: Target;
  /** Every target of the operation (the service state). */
  targets: ReadonlyArray<Target>;
  phase: string;
  environment: Record<string, unknown>;
  /** The admin user. */
  user: User;
  /**
   * Where pallet keeps its files on this node (master copies, archives, state): decided by the operation
   * from the admin user and the node, passed to every script (a script never asks the controller).
   */
  stateRoot: string;
  /** The plan state as it was when the phase started. */
  planState: PlanState;
  /** What this target wrote in this phase; merged into the plan state after the phase barrier. */
  delta: PlanState;
  /** Where recorded actions go. */
  scope: PlanItem[];
  context: string[];
  options: ActionOptions;
  /** Values of node values, at execution time. */
  values: Map<string, unknown>;
  nextId: () => string;
  /** OS family and version resolved for the target (image, detected, node). */
  os: { osFamily?: string; osVersion?: string; packager?: string };
  /** Check mode: what this target's check run knows (one per target and operation). */
  check?: CheckTrack;
  /** Handlers declared in this phase (`handler`): they run at its end. Shared by every scope of the phase. */
  handlers?: WhenBlock[];
  /** Actions scheduled before and after the phase's own (`scheduleInPrePhase`, `scheduleInPostPhase`). */
  prePhase?: PlanItem[];
  postPhase?: PlanItem[];
  /** Nodes whose facts the operation gathers when a plan first reads them (their OS was given, so no probe ran yet). */
  factsOnDemand?: ReadonlySet<string>;
}

/** What a new session must be given; everything else starts empty. */
export type NewSession = Pick<Session, 'target' | 'phase' | 'user' | 'os'> &
  Partial<
    Pick<
      Session,
      'targets' | 'environment' | 'planState' | 'options' | 'check' | 'factsOnDemand' | 'nextId' | 'stateRoot'
    >
  >;

/**
 * A session in which plan functions record a plan for `target` (the engine, `explainPlan` and tests make
 * theirs here, so a session's shape is known in one place).
 */
export function newSession(o: NewSession): Session {
  let n = 0;
  return {
    mode: 'plan',
    targets: [o.target],
    environment: {},
    planState: emptyPlanState(),
    options: {},
    nextId: () => `nv${++n}`,
    stateRoot: o.user.stateRoot ?? defaultStateRoot,
    ...o,
    delta: emptyPlanState(),
    scope: [],
    handlers: [],
    prePhase: [],
    postPhase: [],
    context: [],
    values: new Map(),
  };
}

/** The context an action's script is compiled with, in session `s`. */
export function scriptContext(s: Session, options: ActionOptions, check?: boolean): ScriptContext {
  return {
    ...s.os,
    options,
    target: s.target,
    user: s.user,
    stateRoot: s.stateRoot,
    ...(check ? { check: true } : {}),
  };
}

/**
 * Thrown while a plan is built when it reads the facts of a node that the operation probes on demand: the
 * engine probes that node (once) and builds the plan again. Never seen by users.
 */
export class FactsNeeded extends Error {
  constructor(readonly nodeId: string) {
    super(`the facts of node '${nodeId}' are gathered first (internal: this error is caught by the engine)`);
  }
}

/**
 * Check mode, per target: which node values and flags come from actions that
 * would (or may) change the node, so what depends on them is "may change".
 */
export interface CheckTrack {
  /** Node-value ids whose action would or may change, or did not run: why a reader may change. */
  tainted: Map<string, string>;
  /** Flags set by actions in check mode (they would be set): by which action. */
  flagFrom: Map<string, string>;
  /** Flags (`flagOnChanged`) of actions that may change, or were not run: they may be set, by which action. */
  flagMay: Map<string, string>;
  /** The first action of this target that would or may change: a later check that fails is excused by it. */
  firstChange?: string;
  /** Reasons collected while a controller function runs (reads of tainted values and flags). */
  touched: string[];
}

export function newCheckTrack(): CheckTrack {
  return { tainted: new Map(), flagFrom: new Map(), flagMay: new Map(), touched: [] };
}

// One store per process, even when several copies of this module are loaded (a project file
// loaded through another module system gets its own copy of pallet): they must share the session.
const storeKey = Symbol.for('pallet.session.store');
const store: AsyncLocalStorage<Session> = ((globalThis as Record<symbol, unknown>)[storeKey] ??=
  new AsyncLocalStorage<Session>()) as AsyncLocalStorage<Session>;

export function runInSession<T>(session: Session, fn: () => T): T {
  return store.run(session, fn);
}

/** The current session, or a clear error naming what was called outside a phase. */
export function currentSession(what: string): Session {
  const s = store.getStore();
  if (!s) {
    throw new PlanError(
      `${what} was called outside a phase. It can only be used inside a plan function ` +
        'run by lift, converge or explainPlan (for example lift(group, { phase: planFn(() => { ... }) })).',
      { action: what },
    );
  }
  return s;
}

export function maybeSession(): Session | undefined {
  return store.getStore();
}

// ---------------------------------------------------------------------------
// Node values

/**
 * A handle on the result of an action. Its value exists only once the action
 * has run on the node: read it in a `planWhen` predicate, in
 * `withActionValues`, in an `asAction` body, or in an action argument given as a
 * function. Reading it while the plan is being built throws.
 */
export class NodeValue<T = ScriptValue> {
  constructor(
    readonly id: string,
    readonly description: string,
  ) {}

  get(): T {
    const s = store.getStore();
    if (!s || s.mode !== 'execute') {
      throw new NodeValueError(
        `Invalid access of the node value of '${this.description}' while the plan is being built: ` +
          'it has no value until the action has run on the node. Read it at execution time instead: ' +
          'in planWhen(() => ...), withActionValues([value], (v) => ...), asAction(() => ...), ' +
          'or an action argument given as a function (e.g. { content: () => ... }).',
        { node: s?.target.node.id, phase: s?.phase, action: this.description },
      );
    }
    // Check mode: a value from an action that would change (or did not run) is not what a real run would read.
    const why = s.check?.tainted.get(this.id);
    if (why) s.check!.touched.push(why);
    if (!s.values.has(this.id)) {
      throw new NodeValueError(
        `The node value of '${this.description}' has no value: its action has not run ` +
          '(it may be in a branch that was not taken, or in another phase).',
        { node: s.target.node.id, phase: s.phase, action: this.description },
      );
    }
    return s.values.get(this.id) as T;
  }

  /** Same as `get()`. */
  get value(): T {
    return this.get();
  }
}

// ---------------------------------------------------------------------------
// Recording

/** Record a call of `def` in the current scope and return its node value. */
export function recordAction<A, T = ScriptValue>(
  def: ActionDef<A>,
  args: A,
  options: Partial<ActionOptions> = {},
): NodeValue<T> {
  const s = currentSession(def.name);
  if (s.mode !== 'plan') {
    throw new PlanError(
      `${def.name} was called at execution time (inside asAction, withActionValues or a deferred argument). ` +
        'Actions can only be recorded while the plan is built; use planWhen to choose actions by node results.',
      { node: s.target.node.id, phase: s.phase, action: def.name },
    );
  }
  const id = s.nextId();
  const call: ActionCall = {
    type: 'action',
    id,
    def: def as ActionDef,
    args: [args],
    ids: [id],
    options: { ...s.options, ...options },
    context: [...s.context],
  };
  s.scope.push(call);
  return new NodeValue<T>(id, def.summary([args]));
}

/** Run `body` with extra plan-function context names (a named plan function). */
export function withContext<T>(name: string, body: () => T): T {
  const s = currentSession('planFn');
  return store.run({ ...s, context: [...s.context, name] }, body);
}

/**
 * Run `body` with action options merged into the current ones; every action
 * called inside captures them.
 */
export function withActionOptions<T>(options: ActionOptions, body: () => T): T {
  const s = currentSession('withActionOptions');
  if (options.flagOnChanged !== undefined) checkFlagName(options.flagOnChanged, 'withActionOptions');
  return store.run({ ...s, options: { ...s.options, ...options } }, body);
}

function when<T>(cond: WhenBlock['cond'], negate: boolean, body: () => T, what: string): T {
  const s = currentSession(what);
  if (typeof cond !== 'string' && typeof cond !== 'function') {
    throw new PlanError(
      `${what}: the condition must be a shell test string (run on the node) or a function evaluated at execution time. ` +
        'For a decision made while planning, use an ordinary if statement.',
      { node: s.target.node.id, phase: s.phase, action: what },
    );
  }
  const block: WhenBlock = {
    type: 'when',
    id: s.nextId(),
    cond,
    negate,
    then: [],
    context: [...s.context],
    options: { ...s.options },
  };
  s.scope.push(block);
  return store.run({ ...s, scope: block.then }, body);
}

/**
 * Run the actions of `body` only when `cond` holds on the node at execution
 * time. `cond` is a shell condition evaluated on the node (e.g.
 * `'[ -f /etc/motd ]'`), or a function evaluated on the controller at
 * execution time (it may read node values and `targetFlag`s).
 */
export function planWhen<T>(cond: string | (() => boolean | Promise<boolean>), body: () => T): T {
  return when(cond, false, body, 'planWhen');
}

/** The opposite of `planWhen`. */
export function planWhenNot<T>(cond: string | (() => boolean | Promise<boolean>), body: () => T): T {
  return when(cond, true, body, 'planWhenNot');
}

function originAction<T>(
  name: string,
  summary: string,
  run: () => T | Promise<T>,
  checkRun?: 'value',
): NodeValue<Awaited<T>> {
  const def: ActionDef<null> = {
    name,
    execution: 'in-sequence',
    summary: () => summary,
    run: () => run(),
    ...(checkRun ? { checkRun } : {}),
  };
  return recordAction<null, Awaited<T>>(def, null);
}

/**
 * An action that runs `fn` on the controller at execution time, in order with
 * the node's other actions. Its node value is `fn`'s return value.
 */
export function asAction<T>(fn: () => T | Promise<T>, summary = 'asAction'): NodeValue<Awaited<T>> {
  return originAction('asAction', summary, fn);
}

type ValuesOf<V extends ReadonlyArray<NodeValue<unknown>>> = {
  [K in keyof V]: V[K] extends NodeValue<infer T> ? T : never;
};

/**
 * Run `fn` at execution time with the values of `values`; its return value is
 * the node value of the new action.
 */
export function withActionValues<const V extends ReadonlyArray<NodeValue<unknown>>, T>(
  values: V,
  fn: (...vals: ValuesOf<V>) => T | Promise<T>,
): NodeValue<Awaited<T>> {
  const names = values.map((v) => v.description).join(', ');
  return originAction(
    'withActionValues',
    `withActionValues [${names}]`,
    () => fn(...(values.map((v) => v.get()) as unknown as ValuesOf<V>)),
    'value',
  );
}

/** The items of a phase as they run: the pre-phase actions, its own in order, the post-phase actions, then its handlers. */
export function phaseItems(s: Session, shape: (items: ReadonlyArray<PlanItem>) => PlanItem[]): PlanItem[] {
  return [
    ...shape(s.prePhase ?? []),
    ...shape(s.scope),
    ...shape(s.postPhase ?? []),
    ...(s.handlers ?? []).map((h) => ({ ...h, then: shape(h.then) })),
  ];
}

function schedule<T>(where: 'prePhase' | 'postPhase', what: string, body: () => T): T {
  const s = currentSession(what);
  const list = s[where];
  if (!list)
    throw new PlanError(`${what} can only be used in a phase run by lift, converge or explainPlan.`, {
      node: s.target.node.id,
      phase: s.phase,
      action: what,
    });
  return store.run({ ...s, scope: list, context: [...s.context, what] }, body);
}

/**
 * Record the actions of `body` in the pre-phase of the current phase (Pallet's `schedule-in-pre-phase`): they
 * run before every other action of the phase on this target, in the same round trip. A crate uses it for what
 * must come first whatever plan function calls it (a repository before the packages from it).
 */
export function scheduleInPrePhase<T>(body: () => T): T {
  return schedule('prePhase', 'scheduleInPrePhase', body);
}

/** Like `scheduleInPrePhase`, after the phase's own actions (before its handlers). */
export function scheduleInPostPhase<T>(body: () => T): T {
  return schedule('postPhase', 'scheduleInPostPhase', body);
}

/** A plan-time error for a flag name that is not allowed (flag names travel through shell and files). */
export function checkFlagName(flag: unknown, what: string): string {
  if (typeof flag === 'string' && /^[A-Za-z0-9_.-]+$/.test(flag) && flag !== '.' && flag !== '..') return flag;
  const s = currentSession(what);
  throw new PlanError(
    `${what}: the flag name ${JSON.stringify(flag)} is not allowed: give a literal string of letters, digits, _ . - (for example 'restart-ssh').`,
    { node: s.target.node.id, phase: s.phase, action: what },
  );
}

/** The plan state of one node, if any. */
export function hostOf(ps: PlanState, nodeId: string): HostState | undefined {
  return ps.host[nodeId];
}

/** The current target's part of this phase's new plan state. */
export function writableHost(s: Session): HostState {
  const id = s.target.node.id;
  return (s.delta.host[id] ??= emptyHost());
}
