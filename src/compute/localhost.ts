/**
 * The localhost compute service: this machine as a single node, reached
 * through the local transport (no SSH).
 *
 * The node is a member of every group it is asked about, unless `groupName`
 * is given. `runNodes` adds a group to its membership (at most one node per
 * group: there is only one machine) and destroying removes the membership; the
 * machine itself is never touched. The node counts as bootstrapped (unless
 * `bootstrapped: false`), except for a group `runNodes` added it to: converge
 * then runs that group's `bootstrap` on it, once. State is kept in memory for
 * the life of the service.
 */
import { hostname } from 'node:os';
import { ComputeError } from '../core/errors.js';
import type { GroupSpec } from '../model/specs.js';
import { localTransport } from '../transport/local.js';
import type { Node } from '../core/types.js';
import type { ComputeService, NodeState } from './types.js';

export interface LocalhostServiceOptions {
  /** Only this group contains the node (default: every group). */
  groupName?: string;
  /** Working directory of scripts (default: the current directory). */
  cwd?: string;
  /** Command prefix for scripts, e.g. ['sudo', '-n'] (default: run as the current user). */
  prefix?: string[];
  environment?: Record<string, unknown>;
  /** Whether the node starts flagged bootstrapped (default true, as the original). */
  bootstrapped?: boolean;
}

export function localhostService(opts: LocalhostServiceOptions = {}): ComputeService {
  const all = opts.groupName === undefined;
  const include = new Set<string>(opts.groupName ? [opts.groupName] : []);
  const exclude = new Set<string>();
  const state: NodeState = { bootstrapped: opts.bootstrapped ?? true };
  /** State of the groups runNodes added: the machine is new to them, so they bootstrap it. */
  const groupState = new Map<string, NodeState>();
  const member = (g: string) => !exclude.has(g) && (all || include.has(g));
  const makeNode = (groups: string[]): Node => ({
    id: 'localhost',
    hostname: hostname(),
    groupName: groups[0] ?? opts.groupName ?? 'local',
    groupNames: groups,
    primaryIp: '127.0.0.1',
    sshPort: 22,
    running: true,
    transport: 'local',
    service: 'localhost',
  });
  return {
    name: 'localhost',
    provider: 'localhost',
    ...(opts.environment ? { environment: opts.environment } : {}),
    async nodes(query) {
      const asked = query?.groups ? [...query.groups] : [...include];
      const groups = asked.filter(member);
      if (groups.length === 0 && query?.groups) return [];
      return [makeNode(groups)];
    },
    async runNodes(group: GroupSpec, count: number) {
      if (count === 0) return [];
      if (count > 1 || member(group.groupName)) {
        throw new ComputeError(
          `localhost: group '${group.groupName}' asked for ${count} more node(s), but localhost is a single machine ` +
            'that can be in a group only once. Use count 1 with the localhost service.',
          'localhost',
        );
      }
      exclude.delete(group.groupName);
      include.add(group.groupName);
      groupState.set(group.groupName, { bootstrapped: false });
      return [makeNode([group.groupName])];
    },
    async destroyNode(node: Node) {
      for (const g of node.groupNames ?? [node.groupName]) await this.destroyNodesInGroup(g);
    },
    async destroyNodesInGroup(groupName: string) {
      include.delete(groupName);
      if (all) exclude.add(groupName);
    },
    async nodeState(node) {
      return { ...state, ...groupState.get(node.groupName) };
    },
    async setNodeState(node, patch) {
      const g = groupState.get(node.groupName);
      if (g) Object.assign(g, patch);
      else Object.assign(state, patch);
    },
    async connect() {
      return localTransport({
        ...(opts.cwd ? { cwd: opts.cwd } : {}),
        ...(opts.prefix ? { prefix: opts.prefix } : {}),
      });
    },
    async close() {},
  };
}
