/**
 * Plan functions and the ordering of recorded actions.
 */
import { PlanError } from '../core/errors.js';
import { phaseItems, runInSession, withContext, type Session } from './session.js';
import type { ActionCall, PlanItem } from './types.js';
import type { PhaseFn, PlanFunction } from '../model/specs.js';

/**
 * A plan function. With a name, the name is added to the context of every
 * action it records (it appears in logs and results). Plan functions may be
 * async; they run on the controller once per target and only record actions.
 */
export function planFn<A extends unknown[]>(fn: (...args: A) => void | Promise<void>): PlanFunction<A>;
export function planFn<A extends unknown[]>(name: string, fn: (...args: A) => void | Promise<void>): PlanFunction<A>;
export function planFn<A extends unknown[]>(
  nameOrFn: string | ((...args: A) => void | Promise<void>),
  maybeFn?: (...args: A) => void | Promise<void>,
): PlanFunction<A> {
  if (typeof nameOrFn === 'function') return nameOrFn;
  const name = nameOrFn;
  const fn = maybeFn;
  if (typeof fn !== 'function') throw new TypeError(`planFn('${name}', fn): fn must be a function`);
  const wrapped = (...args: A) => withContext(name, () => fn(...args));
  Object.defineProperty(wrapped, 'planName', { value: name, enumerable: true });
  return wrapped;
}

/**
 * Run a phase's plan functions in `session`, in order, with the phase's arguments, and return what they
 * recorded in the order it runs (pre-phase actions, the phase's own shaped by `shapeScope`, post-phase
 * actions, handlers). The one way a plan is built: by the engine, by `explainPlan` and by tests.
 */
export async function recordPlan(
  session: Session,
  fns: ReadonlyArray<PhaseFn>,
  args: ReadonlyArray<unknown> = [],
): Promise<PlanItem[]> {
  await runInSession(session, async () => {
    for (const fn of fns) await (fn as (...a: unknown[]) => unknown)(...args);
  });
  return phaseItems(session, shapeScope);
}

/**
 * Order one scope as Pallet does: aggregated actions first (calls of the same
 * action merged into one, at the position of its first call), then in-sequence
 * actions and blocks, then collected actions (merged likewise); then
 * `alwaysBefore` / `alwaysAfter` constraints are enforced with a stable
 * topological sort. Nested scopes are ordered recursively; in its parent scope
 * a conditional block is ordered by the rules of the actions it contains (a
 * block that must be both before and after another item is a PlanError).
 */
export function shapeScope(items: ReadonlyArray<PlanItem>): PlanItem[] {
  const aggregated: ActionCall[] = [];
  const sequence: PlanItem[] = [];
  const collected: ActionCall[] = [];
  // Calls merge only when they would run the same way: same sudo user, environment, directory, trace, flag.
  const keyOf = (c: ActionCall) => {
    const o = c.options;
    return JSON.stringify([
      c.def.name,
      o.actionId ?? '',
      o.sudoUser ?? '',
      o.scriptDir ?? '',
      o.scriptTrace ?? false,
      Object.entries(o.scriptEnv ?? {}).sort(),
      o.flagOnChanged ?? '',
    ]);
  };
  const mergeInto = (list: ActionCall[], call: ActionCall) => {
    const key = keyOf(call);
    const prev = list.find((c) => keyOf(c) === key);
    if (prev) {
      prev.args.push(...call.args);
      prev.ids.push(...call.ids);
    } else {
      list.push({ ...call, args: [...call.args], ids: [...call.ids] });
    }
  };
  for (const item of items) {
    if (item.type === 'when') sequence.push({ ...item, then: shapeScope(item.then) });
    else if (item.def.execution === 'aggregated') mergeInto(aggregated, item);
    else if (item.def.execution === 'collected') mergeInto(collected, item);
    else sequence.push(item);
  }
  return enforceConstraints([...aggregated, ...sequence, ...collected]);
}

/**
 * The names an item answers to in ordering rules. A conditional block answers
 * to its own actionId and to every action it contains: it is ordered as a
 * unit by the rules of what it contains.
 */
function names(item: PlanItem): string[] {
  if (item.type === 'when')
    return [...(item.options.actionId ? [item.options.actionId] : []), ...item.then.flatMap(names)];
  return item.options.actionId ? [item.def.name, item.options.actionId] : [item.def.name];
}

/** An item's ordering rules; a block has its own and those of everything it contains. */
function constraints(item: PlanItem): { before: string[]; after: string[] } {
  const before = [...(item.options.alwaysBefore ?? [])];
  const after = [...(item.options.alwaysAfter ?? [])];
  if (item.type === 'action') {
    before.push(...(item.def.alwaysBefore ?? []));
    after.push(...(item.def.alwaysAfter ?? []));
  } else {
    for (const inner of item.then) {
      const c = constraints(inner);
      before.push(...c.before);
      after.push(...c.after);
    }
  }
  return { before, after };
}

function enforceConstraints(items: PlanItem[]): PlanItem[] {
  const n = items.length;
  const edges: Array<Set<number>> = items.map(() => new Set());
  const indeg = new Array<number>(n).fill(0);
  const addEdge = (a: number, b: number) => {
    if (a === b || edges[a]!.has(b)) return;
    edges[a]!.add(b);
    indeg[b]!++;
  };
  items.forEach((item, i) => {
    const { before, after } = constraints(item);
    items.forEach((other, j) => {
      const on = names(other);
      if (before.some((x) => on.includes(x))) addEdge(i, j);
      if (after.some((x) => on.includes(x))) addEdge(j, i);
    });
  });
  // An item that must run before an earlier one moves up to just before it (rather than the
  // earlier one moving down): each item ranks by the earliest position among itself and all it must precede.
  const rank = items.map((_, i) => i);
  const seen = new Array<boolean>(n).fill(false);
  const rankOf = (i: number): number => {
    if (seen[i]) return rank[i]!;
    seen[i] = true;
    for (const j of edges[i]!) rank[i] = Math.min(rank[i]!, rankOf(j));
    return rank[i]!;
  };
  items.forEach((_, i) => rankOf(i));
  const done = new Array<boolean>(n).fill(false);
  const out: PlanItem[] = [];
  while (out.length < n) {
    let i = -1;
    for (let k = 0; k < n; k++) if (indeg[k] === 0 && !done[k] && (i < 0 || rank[k]! < rank[i]!)) i = k;
    if (i < 0)
      throw new PlanError(
        `alwaysBefore/alwaysAfter rules form a cycle: ${findCycle(items, edges, done)}. Remove one of the rules.`,
      );
    done[i] = true;
    out.push(items[i]!);
    for (const j of edges[i]!) indeg[j]!--;
  }
  return out;
}

function label(item: PlanItem): string {
  const id = item.options.actionId ? ` (actionId ${item.options.actionId})` : '';
  return item.type === 'when' ? `planWhen${id}` : `${item.def.name}${id}`;
}

/** A cycle among the items not yet ordered, as `a -> b -> a`. */
function findCycle(items: PlanItem[], edges: Array<Set<number>>, done: boolean[]): string {
  const state = new Array<number>(items.length).fill(0); // 0 new, 1 on the path, 2 finished
  const path: number[] = [];
  const visit = (i: number): number[] | undefined => {
    state[i] = 1;
    path.push(i);
    for (const j of edges[i]!) {
      if (done[j]) continue;
      if (state[j] === 1) return [...path.slice(path.indexOf(j)), j];
      if (state[j] === 0) {
        const c = visit(j);
        if (c) return c;
      }
    }
    state[i] = 2;
    path.pop();
    return undefined;
  };
  for (let i = 0; i < items.length; i++) {
    if (done[i] || state[i] !== 0) continue;
    const c = visit(i);
    if (c) return c.map((k) => label(items[k]!)).join(' -> ');
  }
  return 'unknown';
}
