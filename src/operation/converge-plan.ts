/**
 * The count arithmetic of `converge`, pure: which nodes to destroy and how many
 * to create so that every group has its count. Stopped nodes count toward their
 * group (a rebooted host must not get replacements that pile up), and are the
 * first to go when a group shrinks.
 */
import type { GroupSpec, Target } from '../model/specs.js';

export interface ConvergePlan {
  /** Nodes to destroy, each with the spec of the group it leaves. */
  destroy: Target[];
  /** Groups whose count is 0 and that have nodes: destroyed as a whole (`destroyGroup`). */
  destroyGroups: GroupSpec[];
  /** How many nodes to create in each group. */
  create: Array<{ group: GroupSpec; count: number }>;
  /** Groups that have no node yet and get some (`createGroup`). */
  createGroups: GroupSpec[];
}

/** `nodes` are the service's nodes in the groups, running or stopped (`node.running`). */
export function convergePlan(groups: ReadonlyArray<GroupSpec>, nodes: ReadonlyArray<Target>): ConvergePlan {
  const plan: ConvergePlan = { destroy: [], destroyGroups: [], create: [], createGroups: [] };
  const leaving = new Set<string>();
  for (const g of groups) {
    const count = g.count ?? 0;
    const inGroup = nodes.filter((t) => t.groupNames.includes(g.groupName) && !leaving.has(t.node.id));
    const delta = count - inGroup.length;
    if (delta < 0) {
      const byStopped = [...inGroup.filter((t) => !t.node.running), ...inGroup.filter((t) => t.node.running)];
      for (const t of byStopped.slice(0, -delta)) {
        leaving.add(t.node.id);
        plan.destroy.push({ ...t, spec: g });
      }
      if (count === 0) plan.destroyGroups.push(g);
    } else if (delta > 0) {
      plan.create.push({ group: g, count: delta });
      if (inGroup.length === 0) plan.createGroups.push(g);
    }
  }
  return plan;
}
