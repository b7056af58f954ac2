/**
 * The node-list compute service: servers that already exist.
 *
 * Nodes are given as objects or as the original's tuples
 * `[name, group, ip, osFamily, { id, sshPort, privateIp, osVersion }]`. They
 * count as bootstrapped; `runNodes` creates nothing and destroying only
 * forgets nodes.
 */
import { z } from 'zod';
import { ComputeError } from '../errors.js';
import { validate } from '../spec/spec.js';
import { localTransport } from '../transport/local.js';
import type { Transport } from '../transport/types.js';
import type { Node } from '../types.js';
import type { User } from '../user.js';
import type { ComputeService, NodeState } from './types.js';

export interface NodeListEntry {
  name: string;
  group: string;
  ip: string;
  osFamily?: string;
  osVersion?: string;
  sshPort?: number;
  id?: string;
  privateIp?: string;
}

export type NodeListTuple = [name: string, group: string, ip: string, osFamily?: string, extra?: Partial<NodeListEntry>];

/** How a node-list service reaches a node that is not this machine. */
export type Connector = (node: Node, user: User) => Promise<Transport>;

export interface NodeListServiceOptions {
  environment?: Record<string, unknown>;
  /** How to reach remote nodes (the SSH transport). Nodes at 127.0.0.1 without it run locally. */
  connector?: Connector;
  name?: string;
}

const entrySchema = z.strictObject({
  name: z.string().min(1),
  group: z.string().min(1),
  ip: z.string().min(1),
  osFamily: z.string().optional(),
  osVersion: z.string().optional(),
  sshPort: z.number().int().positive().optional(),
  id: z.string().optional(),
  privateIp: z.string().optional(),
});

function toEntry(n: NodeListEntry | NodeListTuple, i: number): NodeListEntry {
  if (Array.isArray(n)) {
    const [name, group, ip, osFamily, extra] = n;
    return validate(entrySchema, { name, group, ip, ...(osFamily ? { osFamily } : {}), ...(extra ?? {}) }, `nodeListService node ${i}`);
  }
  return validate(entrySchema, n, `nodeListService node ${i}`);
}

export function nodeListService(nodes: ReadonlyArray<NodeListEntry | NodeListTuple>, opts: NodeListServiceOptions = {}): ComputeService {
  const name = opts.name ?? 'node-list';
  let list: Node[] = nodes.map((n, i) => {
    const e = toEntry(n, i);
    return {
      id: e.id ?? `${e.name}-${e.ip.replace(/[.:]/g, '-')}`,
      hostname: e.name,
      groupName: e.group,
      primaryIp: e.ip,
      ...(e.privateIp ? { privateIp: e.privateIp } : {}),
      sshPort: e.sshPort ?? 22,
      ...(e.osFamily ? { osFamily: e.osFamily } : {}),
      ...(e.osVersion ? { osVersion: e.osVersion } : {}),
      running: true,
      service: name,
    };
  });
  const states = new Map<string, NodeState>();
  return {
    name,
    provider: 'node-list',
    ...(opts.environment ? { environment: opts.environment } : {}),
    async nodes(query) {
      if (!query?.groups) return [...list];
      return list.filter((n) => query.groups!.includes(n.groupName));
    },
    async runNodes(group, count) {
      if (count > 0) {
        throw new ComputeError(
          `${name}: cannot create ${count} node(s) for group '${group.groupName}': a node list only knows existing servers. ` +
            'Add them to the list, or use a provider that creates nodes (docker).',
          name,
        );
      }
      return [];
    },
    async destroyNode(node) {
      list = list.filter((n) => n.id !== node.id);
    },
    async destroyNodesInGroup(groupName) {
      list = list.filter((n) => n.groupName !== groupName);
    },
    async nodeState(node) {
      return { bootstrapped: true, ...(states.get(node.id) ?? {}) };
    },
    async setNodeState(node, patch) {
      states.set(node.id, { ...(states.get(node.id) ?? {}), ...patch });
    },
    async connect(node, user) {
      if (opts.connector) return opts.connector(node, user);
      if (node.primaryIp === '127.0.0.1' || node.primaryIp === 'localhost') return localTransport();
      throw new ComputeError(
        `${name}: no transport to reach ${node.hostname} (${node.primaryIp}); give nodeListService a connector (the SSH transport).`,
        name,
      );
    },
    async close() {},
  };
}
