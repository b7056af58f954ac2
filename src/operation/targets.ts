/**
 * Which targets an operation runs on: node sets and group counts as users give
 * them, group targets (phases that run once per group, on the controller), and
 * matching the compute service's nodes to groups.
 */
import { SpecError } from '../core/errors.js';
import { isPlainObject } from '../core/merge.js';
import {
  mergeGroupSpecs,
  nodeInGroup,
  withCount,
  type ClusterSpec,
  type GroupSpec,
  type Target,
} from '../model/specs.js';
import type { Node } from '../core/types.js';

/** Explicit targets for lift: nodes given directly, with the group spec they run as. */
export interface ExplicitTargets {
  group: GroupSpec;
  nodes: Node | Node[];
}

export type NodeSet =
  GroupSpec | ClusterSpec | ExplicitTargets | ReadonlyArray<GroupSpec | ClusterSpec | ExplicitTargets>;

export type GroupCounts =
  | GroupSpec
  | ClusterSpec
  | ReadonlyArray<GroupSpec | ClusterSpec | readonly [GroupSpec, number]>
  | ReadonlyMap<GroupSpec, number>;

function isExplicit(x: unknown): x is ExplicitTargets {
  return isPlainObject(x) && 'group' in x && 'nodes' in x;
}

export function flattenNodeSet(ns: NodeSet): { groups: GroupSpec[]; explicit: ExplicitTargets[] } {
  const list = (Array.isArray(ns) ? ns : [ns]) as Array<GroupSpec | ClusterSpec | ExplicitTargets>;
  const groups: GroupSpec[] = [];
  const explicit: ExplicitTargets[] = [];
  for (const x of list) {
    if (isExplicit(x)) explicit.push(x);
    else if (x.kind === 'cluster-spec') groups.push(...x.groups);
    else if (x.kind === 'group-spec') groups.push(x);
    else
      throw new SpecError(
        'lift: every entry of the node set must be a groupSpec, a clusterSpec or { group, nodes }.',
        'lift',
      );
  }
  return { groups, explicit };
}

export function flattenCounts(gc: GroupCounts): GroupSpec[] {
  if (gc instanceof Map) return [...gc.entries()].map(([g, n]) => withCount(g, n));
  const list = (Array.isArray(gc) ? gc : [gc]) as Array<GroupSpec | ClusterSpec | readonly [GroupSpec, number]>;
  const out: GroupSpec[] = [];
  for (const x of list) {
    if (Array.isArray(x)) {
      const [g, n] = x as readonly [GroupSpec, number];
      if (!Number.isInteger(n) || n < 0)
        throw new SpecError(
          `converge: the count of group '${g.groupName}' must be a whole number >= 0.`,
          g.groupName,
          'count',
        );
      out.push(withCount(g, n));
    } else if ((x as ClusterSpec).kind === 'cluster-spec') out.push(...(x as ClusterSpec).groups);
    else if ((x as GroupSpec).kind === 'group-spec') out.push(x as GroupSpec);
    else
      throw new SpecError(
        'converge: give [[groupSpec, count], ...], a Map, group specs with counts, or a clusterSpec.',
        'converge',
      );
  }
  for (const g of out) {
    if (g.count === undefined) {
      throw new SpecError(
        `Node count not specified for group '${g.groupName}': give it a count (groupSpec(name, { count })) or pass [[group, count]].`,
        g.groupName,
        'count',
      );
    }
  }
  return out;
}

export function considerGroupsOf(considerGroups: ReadonlyArray<unknown> | undefined): GroupSpec[] {
  return (considerGroups ?? []).map((g) => {
    if (!isPlainObject(g) || (g as unknown as GroupSpec).kind !== 'group-spec')
      throw new SpecError('considerGroups: every entry must be a groupSpec.', 'lift', 'considerGroups');
    return g as unknown as GroupSpec;
  });
}

const groupNodeIdPrefix = 'group:';

/** A target for phases that run once per group on the controller (createGroup, destroyGroup). */
export function groupTarget(g: GroupSpec, service: string): Target {
  return {
    node: {
      id: `${groupNodeIdPrefix}${g.groupName}`,
      hostname: g.groupName,
      groupName: g.groupName,
      primaryIp: '',
      sshPort: 0,
      running: false,
      service,
    },
    spec: g,
    groupNames: [g.groupName],
  };
}

export function isGroupTarget(t: Target): boolean {
  return t.node.id.startsWith(groupNodeIdPrefix) && !t.node.running && t.node.primaryIp === '';
}

/**
 * Targets for `groups` among `nodes`: a node in several groups runs as their
 * merged spec. Stopped nodes are returned apart (they count toward their
 * groups in converge, and are never silently replaced).
 */
export function matchTargets(
  nodes: ReadonlyArray<Node>,
  groups: GroupSpec[],
): { running: Target[]; stopped: Target[] } {
  const running: Target[] = [];
  const stopped: Target[] = [];
  for (const node of nodes) {
    const matching = groups.filter((g) => nodeInGroup(node, g));
    if (matching.length === 0) continue;
    const t = { node, spec: mergeGroupSpecs(matching), groupNames: matching.map((g) => g.groupName) };
    (node.running ? running : stopped).push(t);
  }
  return { running, stopped };
}

/** The slice (of `count`) a node id belongs to: FNV-1a of its UTF-8 bytes, modulo the count. Stable across runs and machines. */
export function sliceOf(nodeId: string, count: number): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(nodeId, 'utf8')) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % count;
}
