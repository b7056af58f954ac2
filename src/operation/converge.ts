/**
 * `converge`: make the number of nodes in each group match its count, then
 * bootstrap the new nodes and apply the phases to all. Order of work (Pallet
 * 0.8): `destroyServer` on nodes to remove, remove them (`destroyGroup` when a
 * group goes to zero), `createGroup` for groups that were empty, create the
 * missing nodes; OS detection and `settings`; `bootstrap` on every target not
 * yet flagged bootstrapped; the asked (or default) phases.
 *
 * Stopped nodes count toward their group: they are started when the compute
 * service can (`startNode`), otherwise reported as unreachable; converge never
 * silently creates replacements. It throws only while it has changed nothing;
 * once a node was created or destroyed, failures are in the result, with the
 * nodes created so far in `newNodes`.
 */
import { SpecError } from '../core/errors.js';
import { mergeGroupSpecs, nodeInGroup, type Target } from '../model/specs.js';
import { validate } from '../core/validate.js';
import type { Node } from '../core/types.js';
import type { User } from '../core/user.js';
import { convergePlan } from './converge-plan.js';
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
import { considerGroupsOf, flattenCounts, groupTarget, type GroupCounts } from './targets.js';

export async function converge<const N extends GroupCounts>(
  groupCounts: N,
  opts: OperationOptions<PhaseArgsOf<N>> = {},
): Promise<OperationResult> {
  validate(optionsSchema, opts, 'converge options');
  if (opts.slice)
    throw new SpecError(
      'converge: slice is for lift (a slice of the nodes cannot decide how many a group needs); converge from one controller, then lift in slices.',
      'converge',
      'slice',
    );
  const compute = opts.compute;
  if (!compute)
    throw new SpecError(
      'converge: a compute service is required ({ compute: computeService() }).',
      'converge',
      'compute',
    );
  const groups = flattenCounts(groupCounts);
  const { calls, inline } = processPhases(opts.phase);
  const unknown = unknownPhases(calls, groups);
  if (unknown) throw new SpecError(`converge: ${unknown}`, 'converge', 'phase');
  const phaseCalls = calls.length ? calls : defaultPhases(groups).map((name) => ({ name, args: [] }));
  checkPartitioning(groups, ['bootstrap', ...phaseCalls.map((c) => c.name)], opts.partitionBy);
  // Before anything changes: groups the provider cannot make nodes for.
  for (const g of groups) compute.checkGroup?.(g);
  const op = new Operation(opts, inline);
  op.start('converge', ['bootstrap', ...phaseCalls.map((c) => c.name)]);
  const newNodes: Node[] = [];
  const oldNodes: Node[] = [];
  let targets: Target[] = [];
  const changed = () => newNodes.length > 0 || oldNodes.length > 0;
  try {
    const found = await op.findTargets(groups);
    targets = found.running;
    op.setServiceState(targets);
    // -- OS, settings, bootstrap, phases (after the counts are adjusted) ------
    const phases = async () => {
      const consider = (await op.findTargets(considerGroupsOf(opts.considerGroups))).running.filter(
        (c) => !targets.some((t) => t.node.id === c.node.id),
      );
      const states = new Map<string, boolean>();
      await Promise.all(
        targets.map(async (t) => states.set(t.node.id, Boolean((await op.flags.get(t, 'bootstrapped')).bootstrapped))),
      );
      // Each step runs only if the previous one succeeded everywhere (phase barriers).
      (await op.detectAndSettings(targets, consider, (t) => states.get(t.node.id) === false)) &&
        (await op.runPhase('bootstrap', [], targets, { onlyWithout: 'bootstrapped' })) &&
        (await op.runNamedPhases(phaseCalls, targets));
      return op.result(targets, newNodes, oldNodes);
    };
    // -- adjust node counts (stopped nodes count) -----------------------------
    const plan = convergePlan(groups, [...found.running, ...found.stopped]);
    if (opts.check) {
      // Check mode: no node is created, destroyed or started; the existing running ones are checked.
      const leaving = (t: Target) => plan.destroy.some((d) => d.node.id === t.node.id);
      op.check = {
        create: plan.create.map(({ group, count }) => ({ groupName: group.groupName, count })),
        destroy: plan.destroy.map((t) => t.node),
        start: found.stopped.filter((t) => !leaving(t)).map((t) => t.node),
      };
      targets = targets.filter((t) => !leaving(t));
      op.setServiceState(targets);
      return await phases();
    }
    if (plan.destroy.length) {
      const running = plan.destroy.filter((t) => t.node.running);
      if (!(await op.runPhase('destroyServer', [], running))) return op.result(targets, newNodes, oldNodes);
      await Promise.all(
        plan.destroy.map(async (t) => {
          if (!plan.destroyGroups.some((g) => g.groupName === t.spec.groupName)) await compute.destroyNode(t.node);
          oldNodes.push(t.node);
          op.emit({ type: 'node-destroyed', node: t.node, groupName: t.spec.groupName });
        }),
      );
      await Promise.all(plan.destroyGroups.map((g) => compute.destroyNodesInGroup(g.groupName)));
      targets = targets.filter((t) => !plan.destroy.some((r) => r.node.id === t.node.id));
      if (
        plan.destroyGroups.length &&
        !(await op.runPhase(
          'destroyGroup',
          [],
          plan.destroyGroups.map((g) => groupTarget(g, compute.name)),
        ))
      ) {
        return op.result(targets, newNodes, oldNodes);
      }
    }
    // -- stopped nodes that stay: started, or reported ---------------------------
    const stopped = found.stopped.filter((t) => !plan.destroy.some((d) => d.node.id === t.node.id));
    for (const t of stopped) {
      if (!compute.startNode) {
        op.reportStopped(
          t,
          `node ${t.node.id} is stopped; it counts toward group '${t.spec.groupName}' and is not replaced. Start it, or destroy it to get a new one.`,
        );
        continue;
      }
      try {
        targets.push({ ...t, node: await compute.startNode(t.node) });
      } catch (e) {
        op.reportStopped(t, `node ${t.node.id} is stopped and could not be started: ${(e as Error).message}`);
      }
    }
    if (
      plan.createGroups.length &&
      !(await op.runPhase(
        'createGroup',
        [],
        plan.createGroups.map((g) => groupTarget(g, compute.name)),
      ))
    ) {
      return op.result(targets, newNodes, oldNodes);
    }
    const made = await Promise.allSettled(
      plan.create.map(async ({ group, count }) => {
        const nodes = await compute.runNodes(group, count, {
          user: op.env.user as User,
          ...(opts.providerOptions ? { providerOptions: opts.providerOptions } : {}),
        });
        for (const node of nodes) {
          newNodes.push(node);
          op.emit({ type: 'node-created', node, groupName: group.groupName });
        }
        return nodes.map((node) => ({ node, group }));
      }),
    );
    const failed = made.map((m, i) => ({ m, i })).filter((x) => x.m.status === 'rejected');
    if (failed.length) {
      const first = failed[0]!.m as PromiseRejectedResult;
      if (!changed()) throw first.reason;
      for (const f of failed)
        op.reportFailure('create-nodes', plan.create[f.i]!.group.groupName, (f.m as PromiseRejectedResult).reason);
      return op.result(targets, newNodes, oldNodes);
    }
    // Re-match new nodes against every group (a node may belong to several).
    for (const m of made) {
      if (m.status !== 'fulfilled') continue;
      for (const { node, group } of m.value) {
        const matching = groups.filter((g) => nodeInGroup(node, g));
        const specs = matching.length ? matching : [group];
        targets.push({ node, spec: mergeGroupSpecs(specs), groupNames: specs.map((g) => g.groupName) });
      }
    }
    op.setServiceState(targets);
    return await phases();
  } catch (e) {
    op.ok = false;
    if (!changed()) throw e;
    // Nodes were created or destroyed: the result must say which.
    op.reportFailure('converge', groups.map((g) => g.groupName).join(','), e);
    return op.result(targets, newNodes, oldNodes);
  } finally {
    op.end();
    await op.close();
  }
}
