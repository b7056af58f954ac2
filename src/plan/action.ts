/**
 * Defining actions. An action is a function users call inside plan functions;
 * it records a call and returns a node value.
 */
import { recordAction, type NodeValue, type ScriptValue } from './session.js';
import type { ActionDef } from './types.js';

/**
 * Define an action from its description. The returned function records a call
 * with the given arguments (validated by `parse`, if given) in the current
 * scope.
 */
export function defineAction<P extends unknown[], A>(
  def: ActionDef<A> & { parse: (...params: P) => A },
): (...params: P) => NodeValue<ScriptValue> {
  const { parse, ...rest } = def;
  const action = rest as ActionDef<A>;
  return (...params: P) => recordAction<A>(action, parse(...params));
}
