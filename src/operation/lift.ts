/**
 * `lift`: apply phases to the nodes a compute service already has (and to
 * explicit targets). Order of work (Pallet 0.8): OS detection (`pallet/os`)
 * and `settings` on every target and the nodes of `considerGroups`, then the
 * asked phases, or the merged default phases (usually `configure`).
 */
import { SpecError } from '../core/errors.js';
import { validate } from '../core/validate.js';
import { checkPartitioning, Operation } from './engine.js';
import {
  defaultPhases,
  optionsSchema,
  processPhases,
  unknownPhases,
  type OperationOptions,
  type PhaseArgsOf,
} from './options.js';
import type { OperationResult } from './result.js';
import type { Target } from '../model/specs.js';
import { considerGroupsOf, flattenNodeSet, sliceOf, type NodeSet } from './targets.js';
import type { Facts } from '../script/facts.js';

/**
 * Apply phases to the nodes the compute service already has (and to explicit
 * targets). Returns the full result; failed actions, unreachable nodes and plan
 * functions that throw are in it, not thrown. Bad input (options, specs, a
 * phase no group defines) throws a `SpecError` before anything runs.
 */
export async function lift<const N extends NodeSet>(
  nodeSet: N,
  opts: OperationOptions<PhaseArgsOf<N>> = {},
): Promise<OperationResult> {
  validate(optionsSchema, opts, 'lift options');
  const { groups, explicit } = flattenNodeSet(nodeSet);
  if (!opts.compute && explicit.length === 0) {
    throw new SpecError(
      'lift: give a compute service ({ compute: computeService() }) or explicit targets ({ group, nodes }).',
      'lift',
      'compute',
    );
  }
  const all = [...groups, ...explicit.map((e) => e.group)];
  const { calls, inline } = processPhases(opts.phase);
  const unknown = unknownPhases(calls, all);
  if (unknown) throw new SpecError(`lift: ${unknown}`, 'lift', 'phase');
  const phaseCalls = calls.length ? calls : defaultPhases(all).map((name) => ({ name, args: [] }));
  checkPartitioning(
    all,
    phaseCalls.map((c) => c.name),
    opts.partitionBy,
  );
  const op = new Operation(opts, inline);
  op.start(
    'lift',
    phaseCalls.map((c) => c.name),
  );
  try {
    const found = await op.findTargets(groups);
    let targets = found.running;
    let stopped = found.stopped;
    for (const e of explicit) {
      for (const node of Array.isArray(e.nodes) ? e.nodes : [e.nodes]) {
        if (!targets.some((t) => t.node.id === node.id))
          targets.push({ node, spec: e.group, groupNames: [e.group.groupName] });
      }
    }
    if (opts.slice) {
      const inSlice = (t: Target) => sliceOf(t.node.id, opts.slice!.count) === opts.slice!.index;
      targets = targets.filter(inSlice);
      stopped = stopped.filter(inSlice);
    }
    op.skipStopped(stopped, 'lift');
    const consider = (await op.findTargets(considerGroupsOf(opts.considerGroups))).running.filter(
      (c) => !targets.some((t) => t.node.id === c.node.id),
    );
    op.setServiceState([...targets, ...consider]);
    if (await op.detectAndSettings(targets, consider)) await op.runNamedPhases(phaseCalls, targets);
    return op.result(targets, [], []);
  } catch (e) {
    op.ok = false;
    throw e;
  } finally {
    op.end();
    await op.close();
  }
}

/** What `gatherFacts` returns: each reached node's facts (by node id) and the probe's full result. */
export interface GatheredFacts {
  facts: Record<string, Facts>;
  result: OperationResult;
}

/**
 * Run only the probe on the nodes of `nodeSet` (no settings, no phase) and return their facts: what `facts()`
 * would see in a lift now. A node that cannot be reached is in `result` with its error, not in `facts`.
 */
export async function gatherFacts(
  nodeSet: NodeSet,
  opts: Omit<OperationOptions, 'phase' | 'osDetect'> = {},
): Promise<GatheredFacts> {
  validate(optionsSchema, opts, 'gatherFacts options');
  const { groups, explicit } = flattenNodeSet(nodeSet);
  if (!opts.compute && explicit.length === 0)
    throw new SpecError('gatherFacts: give a compute service or explicit targets.', 'gatherFacts', 'compute');
  const op = new Operation({ ...opts, osDetect: 'auto', check: true }, {});
  op.start('lift', []);
  try {
    const found = await op.findTargets(groups);
    const targets = found.running;
    op.skipStopped(found.stopped, 'facts');
    for (const e of explicit) {
      for (const node of Array.isArray(e.nodes) ? e.nodes : [e.nodes]) {
        if (!targets.some((t) => t.node.id === node.id))
          targets.push({ node, spec: e.group, groupNames: [e.group.groupName] });
      }
    }
    op.setServiceState(targets);
    await op.probe(targets);
    return { facts: op.factsByNode(), result: op.result(targets, [], []) };
  } finally {
    op.end();
    await op.close();
  }
}
