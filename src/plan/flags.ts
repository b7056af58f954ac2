/**
 * Flags: conditions on what earlier actions changed (`targetFlag`, `anyTargetFlag`), handlers that run
 * once after a phase when a flag was set, and the flags and values actions report back.
 */

import { PlanError } from '../core/errors.js';
import { checkFlagName, currentSession, hostOf, runInSession, writableHost, type Session } from './session.js';
import type { WhenBlock } from './types.js';

/** A condition on target flags: the executor decides it on the node, in the batch, when it can. */
export type FlagCondition = (() => boolean) & { conditionName: string; flags: string[] };

/**
 * A predicate, evaluated at execution time, that is true when `flag` has been
 * set on the current target (by `flagOnChanged`, `pallet_set_flag`, ...) in this
 * operation. Use it as a `planWhen` condition: when the flag is set in the same
 * phase, the condition is decided on the node, in the same round trip.
 */
export function targetFlag(flag: string): FlagCondition {
  return anyTargetFlag([flag], 'targetFlag');
}

/** True when any of `flags` is set on the current target (see `targetFlag`). */
export function anyTargetFlag(flags: string[], what = 'anyTargetFlag'): FlagCondition {
  currentSession(what);
  if (flags.length === 0) throw new PlanError(`${what}: give at least one flag name`, { action: what });
  const test = () => {
    const s = currentSession(what);
    const have = hostFlags(s);
    const set = flags.filter((flag) => have.includes(flag));
    // Check mode: a flag set by a check run would be set by a real one.
    for (const flag of set) {
      const from = s.check?.flagFrom.get(flag);
      if (from) s.check!.touched.push(`flag '${flag}' would be set by ${from}`);
    }
    // Check mode: a flag that is not set, but may be by an action check mode could not decide.
    if (!set.length)
      for (const flag of flags) {
        const may = s.check?.flagMay.get(flag);
        if (may) s.check!.touched.push(`flag '${flag}' may be set by ${may}`);
      }
    return set.length > 0;
  };
  const name =
    flags.length === 1
      ? `targetFlag(${JSON.stringify(flags[0])})`
      : `anyTargetFlag(${flags.map((f) => JSON.stringify(f)).join(', ')})`;
  return Object.assign(test, { conditionName: name, flags: [...flags] });
}

/** The flags a condition tests, when it is a flag condition (`targetFlag`, `anyTargetFlag`). */
export function conditionFlags(cond: unknown): string[] | undefined {
  const f = (cond as { flags?: unknown } | undefined)?.flags;
  return typeof cond === 'function' && Array.isArray(f) && f.every((x) => typeof x === 'string')
    ? (f as string[])
    : undefined;
}

/**
 * Declare a handler: `body` runs once, at the end of the phase, only if one of
 * `flags` was set (typically by actions given `flagOnChanged: <flag>`). It is
 * decided on the node in the phase's last round trip, like
 * `planWhen(targetFlag(flag), body)` placed last. Declaring the same flags again
 * in the phase (a crate used twice) keeps the first declaration. Returns the
 * first flag, to pass as `flagOnChanged`.
 *
 *     const restartSsh = handler('restart-ssh', () => service('ssh', { action: 'restart' }));
 *     lineInFile('/etc/ssh/sshd_config', { regexp: '^#?PermitRootLogin', line: 'PermitRootLogin no', flagOnChanged: restartSsh });
 */
export function handler(flags: string | string[], body: () => void): string {
  const s = currentSession('handler');
  const list = typeof flags === 'string' ? [flags] : [...flags];
  const names = list.map((f) => checkFlagName(f, 'handler'));
  if (!s.handlers) {
    throw new PlanError('handler can only be declared in a phase run by lift, converge or explainPlan.', {
      node: s.target.node.id,
      phase: s.phase,
      action: 'handler',
    });
  }
  const cond = anyTargetFlag(names, 'handler');
  if (!s.handlers.some((h) => conditionName(h.cond) === cond.conditionName)) {
    const block: WhenBlock = {
      type: 'when',
      id: s.nextId(),
      cond,
      negate: false,
      then: [],
      context: [...s.context, `handler ${names.join(', ')}`],
      options: { ...s.options },
    };
    s.handlers.push(block);
    runInSession({ ...s, scope: block.then, context: block.context }, body);
  }
  return names[0]!;
}

/** The flags set on the session's target so far in this operation (earlier phases and this one). */
export function hostFlags(s: Session): string[] {
  const id = s.target.node.id;
  return [...new Set([...(hostOf(s.planState, id)?.flags ?? []), ...(hostOf(s.delta, id)?.flags ?? [])])];
}

/** The name a condition function carries (`targetFlag` names its flag), if any. */
export function conditionName(cond: unknown): string | undefined {
  const n = (cond as { conditionName?: unknown } | undefined)?.conditionName;
  return typeof n === 'string' ? n : undefined;
}

/** The value set for `flag` on the current target by an earlier phase (`pallet_set_value`). */
export function targetFlagValue(flag: string): string | undefined {
  const s = currentSession('targetFlagValue');
  const id = s.target.node.id;
  return hostOf(s.delta, id)?.flagValues[flag] ?? hostOf(s.planState, id)?.flagValues[flag];
}

/** Record flags and values reported by an action (called by the executor). */
export function recordFlags(s: Session, flags: string[], values: Record<string, string>): void {
  const host = writableHost(s);
  for (const f of flags) if (!host.flags.includes(f)) host.flags.push(f);
  Object.assign(host.flagValues, values);
}
