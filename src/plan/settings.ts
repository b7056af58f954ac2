/**
 * Settings (per node, per facility, shared between phases and nodes), inventory variables, facts and
 * the operation's environment: what plan functions read and write besides actions.
 */

import { PlanError } from '../core/errors.js';
import { deepMerge, isPlainObject } from '../core/merge.js';
import type { Facts } from '../script/facts.js';
import type { Target } from '../model/specs.js';
import type { Node } from '../core/types.js';
import { currentSession, FactsNeeded, hostOf, writableHost, type Session } from './session.js';

export interface SettingsOptions {
  instanceId?: string;
}

/**
 * Merge `values` into the settings of `facility` for the current target.
 * Settings written in the `settings` phase are visible to every node's later
 * phases; other writes become visible to other nodes after the current phase.
 */
export function assocSettings(facility: string, values: Record<string, unknown>, opts: SettingsOptions = {}): void {
  const s = currentSession('assocSettings');
  const host = writableHost(s);
  const inst = opts.instanceId ?? 'default';
  const fac = (host.settings[facility] ??= {});
  fac[inst] = deepMerge(fac[inst] ?? {}, values);
}

function readSettings(s: Session, nodeId: string, facility: string, inst: string): Record<string, unknown> | undefined {
  const base = hostOf(s.planState, nodeId)?.settings[facility]?.[inst];
  const own = hostOf(s.delta, nodeId)?.settings[facility]?.[inst];
  if (base === undefined) return own;
  if (own === undefined) return base;
  return deepMerge(base, own);
}

/** The settings of `facility` for the current target, or `opts.default`. */
export function getSettings<T extends Record<string, unknown> = Record<string, unknown>>(
  facility: string,
  opts: SettingsOptions & { default?: T } = {},
): T | undefined {
  const s = currentSession('getSettings');
  return (readSettings(s, s.target.node.id, facility, opts.instanceId ?? 'default') as T | undefined) ?? opts.default;
}

/** The settings of `facility` for another node (e.g. a db node's, from an app node). */
export function getNodeSettings<T extends Record<string, unknown> = Record<string, unknown>>(
  node: Node | Target | string,
  facility: string,
  opts: SettingsOptions & { default?: T } = {},
): T | undefined {
  const s = currentSession('getNodeSettings');
  const id = typeof node === 'string' ? node : 'node' in node ? node.node.id : node.id;
  return (readSettings(s, id, facility, opts.instanceId ?? 'default') as T | undefined) ?? opts.default;
}

/** Replace the settings of `facility` with `f(current)`. */
export function updateSettings(
  facility: string,
  f: (current: Record<string, unknown>) => Record<string, unknown>,
  opts: SettingsOptions = {},
): void {
  const s = currentSession('updateSettings');
  const inst = opts.instanceId ?? 'default';
  const next = f(readSettings(s, s.target.node.id, facility, inst) ?? {});
  const host = writableHost(s);
  const fac = (host.settings[facility] ??= {});
  fac[inst] = next;
}

/** Every settings facility of the current node (its default instance), for template contexts. */
export function settingsSnapshot(): Record<string, Record<string, unknown>> {
  const s = currentSession('settingsSnapshot');
  const id = s.target.node.id;
  const names = new Set([
    ...Object.keys(hostOf(s.planState, id)?.settings ?? {}),
    ...Object.keys(hostOf(s.delta, id)?.settings ?? {}),
  ]);
  const out: Record<string, Record<string, unknown>> = {};
  for (const n of names) {
    if (n.startsWith('pallet/')) continue;
    const v = readSettings(s, id, n, 'default');
    if (v) out[n] = v;
  }
  return out;
}

/** The current node's variables from its inventory (an Ansible inventory's host and group vars; `{}` when none). */
export function nodeVars<T extends Record<string, unknown> = Record<string, unknown>>(): T {
  return (currentSession('nodeVars').target.node.vars ?? {}) as T;
}

/** Where the probe's facts are kept: the host settings facility of each node. */
export const factsFacility = 'pallet/facts';

function factsFor(s: Session, nodeId: string, what: string): Facts {
  const f = readSettings(s, nodeId, factsFacility, 'default');
  if (f) return f as unknown as Facts;
  if (s.factsOnDemand?.has(nodeId)) throw new FactsNeeded(nodeId);
  throw new PlanError(
    `${what}: no facts for node '${nodeId}': the operation did not run the probe (it ran with osDetect: false, ` +
      "or the node was not a target). Run with osDetect: true or 'auto' (the default), or give facts to explain with --facts.",
  );
}

/**
 * What the probe found on the current node, at plan time: OS, kernel, CPUs, memory, init system, network
 * interfaces and default addresses, mounts (see `Facts`). Unknown values are `undefined`. The probe runs at most
 * once per node per operation, with OS detection, in the same round trip: first, for a node whose OS is not given;
 * when a plan first reads its facts (this, `nodeFacts`, a Jinja template), for a node whose OS is given.
 * `osDetect: false` skips it, and then this throws.
 *
 * @example
 * const workers = facts().cpuCount ?? 1;
 * remoteFile('/etc/nginx/nginx.conf', { template: 'templates/nginx.conf.j2', values: { workers } });
 */
export function facts(): Facts {
  const s = currentSession('facts');
  return factsFor(s, s.target.node.id, 'facts()');
}

/** The facts of another target of the operation (for example a database node's default address). */
export function nodeFacts(node: Node | Target | string): Facts {
  const s = currentSession('nodeFacts');
  const id = typeof node === 'string' ? node : 'node' in node ? node.node.id : node.id;
  return factsFor(s, id, 'nodeFacts()');
}

/**
 * A value from the operation's environment, by a dotted path or a list of
 * keys. Without a default, a missing value throws.
 */
export function getEnvironment<T = unknown>(path: string | ReadonlyArray<string>, ...dflt: [] | [T]): T {
  const s = currentSession('getEnvironment');
  const keys = typeof path === 'string' ? path.split('.') : [...path];
  let v: unknown = s.environment;
  for (const k of keys) {
    if (isPlainObject(v) && k in v) v = v[k];
    else {
      if (dflt.length) return dflt[0] as T;
      throw new PlanError(
        `Could not find '${keys.join('.')}' in the environment. Pass it with lift/converge { environment: {...} } ` +
          'or give getEnvironment a default.',
        { node: s.target.node.id, phase: s.phase, action: 'getEnvironment' },
      );
    }
  }
  return v as T;
}
