/**
 * Defining actions. An action is a function users call inside plan functions;
 * it records a call and returns a node value.
 *
 * Any argument may be given as a function: it is evaluated at execution time
 * (so it may read node values), and the action's arguments are validated then.
 */
import { isPlainObject } from '../core/merge.js';
export { checkFlagName } from './session.js';
import { checkFlagName, recordAction, withActionOptions, type NodeValue, type ScriptValue } from './session.js';
import type { ActionDef, ActionOptions } from './types.js';

/**
 * For actions made of other actions: run `body` so that each action it records sets `flag` when it
 * changes (the composite "changed" when any part did).
 */
export function withChangeFlag<T>(what: string, flag: string | undefined, body: () => T): T {
  if (flag === undefined) return body();
  const name = checkFlagName(flag, what);
  return withActionOptions({ flagOnChanged: name }, body);
}

/**
 * Take `flagOnChanged` (which every built-in action accepts) out of the options parameter at
 * `at`: it is the engine's business, not the action's.
 */
function takeChangeOptions(
  name: string,
  params: unknown[],
  at: number | undefined,
): { params: unknown[]; options: Partial<ActionOptions> } {
  const p = at === undefined ? undefined : params[at];
  if (!isPlainObject(p) || !('flagOnChanged' in p)) return { params, options: {} };
  const { flagOnChanged, ...rest } = p;
  const out = [...params];
  out[at!] = rest;
  return {
    params: out,
    options: flagOnChanged === undefined ? {} : { flagOnChanged: checkFlagName(flagOnChanged, name) },
  };
}

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
 * with the given arguments (validated by `parse`) in the current scope. Every
 * recorded action is defined this way; `V` is the type of its node value (what
 * `run` returns for actions that run on the controller; a script's output otherwise).
 */
export function defineAction<P extends unknown[], A, V = ScriptValue>(
  def: ActionDef<A> & {
    parse: (...params: P) => A;
    /**
     * The index of the parameter that holds the action's options object: `flagOnChanged` given there
     * is taken out before `parse` sees it (include `ChangeOptions` in that parameter's type). Actions
     * with no options object name the index of an extra, optional `opts?: ChangeOptions` parameter.
     */
    optionsParam?: number;
  },
): (...params: P) => NodeValue<V> {
  const { parse, summary, preview, optionsParam, ...rest } = def;
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
    ...(preview
      ? { preview: (args, ctx) => (args.some((a) => DeferredArgs.is(a)) ? undefined : preview(args as A[], ctx)) }
      : {}),
  } as ActionDef<A | DeferredArgs>;
  return (...given: P) => {
    const { params, options } = takeChangeOptions(def.name, given, optionsParam);
    if (hasDeferred(params)) {
      // Validate what is known now (functions stand in as strings); the real check runs at execution time.
      anyParse(...(mapDeferred(params, () => '(deferred)') as unknown[]));
      return recordAction<A | DeferredArgs, V>(action, new DeferredArgs(params, anyParse), options);
    }
    return recordAction<A | DeferredArgs, V>(action, anyParse(...params), options);
  };
}
