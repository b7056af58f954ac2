/**
 * Defining actions. An action is a function users call inside plan functions;
 * it records a call and returns a node value.
 *
 * Any argument may be given as a function: it is evaluated at execution time
 * (so it may read node values), and the action's arguments are validated then.
 */
import { isPlainObject } from '../spec/merge.js';
import { recordAction, type NodeValue, type ScriptValue } from './session.js';
import type { ActionDef } from './types.js';

/** Does `v` contain a function (an argument evaluated at execution time)? */
export function hasDeferred(v: unknown): boolean {
  if (typeof v === 'function') return true;
  if (DeferredArgs.is(v)) return true;
  if (Array.isArray(v)) return v.some(hasDeferred);
  if (isPlainObject(v)) return Object.values(v).some(hasDeferred);
  return false;
}

/** Replace every function in `v` with `fn(f)`. */
export function mapDeferred(v: unknown, fn: (f: () => unknown) => unknown): unknown {
  if (typeof v === 'function') return fn(v as () => unknown);
  if (Array.isArray(v)) return v.map((x) => mapDeferred(x, fn));
  if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mapDeferred(x, fn)]));
  return v;
}

const deferredBrand = Symbol.for('pallet.DeferredArgs');

/** The raw parameters of a call that has arguments evaluated at execution time. */
export class DeferredArgs {
  readonly [deferredBrand] = true;
  constructor(
    readonly params: unknown[],
    readonly parse: (...params: unknown[]) => unknown,
  ) {}

  /** Recognised across copies of this module (a project file may load its own copy of pallet). */
  static is(v: unknown): v is DeferredArgs {
    return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[deferredBrand] === true;
  }
}

/**
 * Define an action from its description. The returned function records a call
 * with the given arguments (validated by `parse`) in the current scope.
 */
export function defineAction<P extends unknown[], A>(
  def: ActionDef<A> & { parse: (...params: P) => A },
): (...params: P) => NodeValue<ScriptValue> {
  const { parse, summary, preview, ...rest } = def;
  const anyParse = parse as unknown as (...params: unknown[]) => A;
  const action: ActionDef<A | DeferredArgs> = {
    ...(rest as Omit<ActionDef<A>, 'summary'>),
    summary: (args) => {
      const concrete = args.map((a) => {
        if (!DeferredArgs.is(a)) return a;
        try {
          return anyParse(...(mapDeferred(a.params, () => '(deferred)') as unknown[]));
        } catch {
          return undefined;
        }
      });
      if (concrete.some((c) => c === undefined)) return `${def.name} (arguments evaluated at execution time)`;
      return summary(concrete as A[]);
    },
    ...(preview ? { preview: (args, ctx) => (args.some((a) => DeferredArgs.is(a)) ? undefined : preview(args as A[], ctx)) } : {}),
  } as ActionDef<A | DeferredArgs>;
  return (...params: P) => {
    if (hasDeferred(params)) {
      // Validate what is known now (functions stand in as strings); the real check runs at execution time.
      anyParse(...(mapDeferred(params, () => '(deferred)') as unknown[]));
      return recordAction<A | DeferredArgs>(action, new DeferredArgs(params, anyParse));
    }
    return recordAction<A | DeferredArgs>(action, parse(...params));
  };
}
