/**
 * The node-list compute service: servers that already exist.
 *
 * Nodes are given as objects or as the original's tuples
 * `[name, group, ip, osFamily, { id, sshPort, privateIp, osVersion }]`. They
 * count as bootstrapped unless an entry says `bootstrapped: false` (kept in
 * memory for the life of the service); `runNodes` creates nothing and
 * destroying only forgets nodes.
 *
 * A node's id is its name (what every line, event and summary shows); two entries with the same name get
 * `name-ip` ids instead, so ids stay unique. An Ansible inventory (`inventory: path`, or the service name
 * `ansible:path`) gives entries too (see ansible-inventory.ts).
 */
import * as z from 'zod';
import { ComputeError } from '../core/errors.js';
import { validate } from '../core/validate.js';
import { localTransport } from '../transport/local.js';
import type { Node } from '../core/types.js';
import { readAnsibleInventory } from './ansible-inventory.js';
import { isLoopback, sshConnector, type Connector, type SshConnectorOptions } from './connect.js';
import type { ComputeService, NodeListEntry, NodeState } from './types.js';
export type { NodeListEntry } from './types.js';

export type NodeListTuple = [
  name: string,
  group: string,
  ip: string,
  osFamily?: string,
  extra?: Partial<NodeListEntry>,
];

export interface NodeListServiceOptions {
  environment?: Record<string, unknown>;
  /** SSH options for every node: host-key policy, known_hosts path, timeouts. */
  ssh?: SshConnectorOptions;
  /** Replace how nodes are reached (default: SSH, or the local shell for `transport: 'local'`). */
  connector?: Connector;
  name?: string;
  /** An Ansible inventory (INI or YAML) whose hosts are added to `nodes`. */
  inventory?: string;
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
  hostKeys: z.array(z.string()).optional(),
  transport: z.enum(['ssh', 'local']).optional(),
  loginUser: z.string().min(1).optional(),
  bootstrapped: z.boolean().optional(),
  groups: z.array(z.string().min(1)).optional(),
  adminUser: z
    .strictObject({
      username: z.string().min(1).optional(),
      privateKeyPath: z.string().min(1).optional(),
      noSudo: z.boolean().optional(),
      sudoUser: z.string().min(1).optional(),
    })
    .optional(),
  vars: z.record(z.string(), z.unknown()).optional(),
});

function toEntry(n: NodeListEntry | NodeListTuple, i: number): NodeListEntry {
  if (Array.isArray(n)) {
    const [name, group, ip, osFamily, extra] = n;
    return validate(
      entrySchema,
      { name, group, ip, ...(osFamily ? { osFamily } : {}), ...(extra ?? {}) },
      `nodeListService node ${i}`,
    );
  }
  return validate(entrySchema, n, `nodeListService node ${i}`);
}

export function nodeListService(
  nodes: ReadonlyArray<NodeListEntry | NodeListTuple>,
  opts: NodeListServiceOptions = {},
): ComputeService {
  const name = opts.name ?? 'node-list';
  const states = new Map<string, NodeState>();
  const inventory = opts.inventory ? readAnsibleInventory(opts.inventory) : undefined;
  const entries = [...nodes.map(toEntry), ...(inventory?.entries ?? [])];
  const names = new Map<string, number>();
  for (const e of entries) names.set(e.name, (names.get(e.name) ?? 0) + 1);
  let list: Node[] = entries.map((e) => {
    const id = e.id ?? (names.get(e.name) === 1 ? e.name : `${e.name}-${e.ip.replace(/[.:]/g, '-')}`);
    const groups = (e.groups ?? []).filter((g) => g !== e.group);
    states.set(id, { bootstrapped: e.bootstrapped ?? true });
    return {
      ...(e.loginUser ? { imageUser: { username: e.loginUser } } : {}),
      id,
      hostname: e.name,
      groupName: e.group,
      ...(groups.length ? { groupNames: [e.group, ...groups] } : {}),
      primaryIp: e.ip,
      ...(e.privateIp ? { privateIp: e.privateIp } : {}),
      sshPort: e.sshPort ?? 22,
      ...(e.hostKeys ? { hostKeys: e.hostKeys } : {}),
      ...(opts.ssh?.knownHostsPath ? { knownHostsPath: opts.ssh.knownHostsPath } : {}),
      transport: e.transport ?? (isLoopback(e.ip) && e.sshPort === undefined ? 'local' : 'ssh'),
      ...(e.osFamily ? { osFamily: e.osFamily } : {}),
      ...(e.osVersion ? { osVersion: e.osVersion } : {}),
      ...(e.adminUser ? { adminUser: e.adminUser } : {}),
      ...(e.vars ? { vars: e.vars } : {}),
      running: true,
      service: name,
    };
  });
  const ids = new Set<string>();
  for (const n of list) {
    if (ids.has(n.id))
      throw new ComputeError(`${name}: two nodes have the id '${n.id}': give each entry its own name or id.`, name);
    ids.add(n.id);
  }
  const ssh = sshConnector(opts.ssh ?? {});
  return {
    name,
    provider: 'node-list',
    // Fresh servers (bootstrapped: false) keep their flags on the node, so another process sees them.
    stateOnNode: true,
    ...(opts.environment ? { environment: opts.environment } : {}),
    ...(inventory?.warnings.length ? { notices: inventory.warnings } : {}),
    async nodes(query) {
      if (!query?.groups) return [...list];
      return list.filter((n) => (n.groupNames ?? [n.groupName]).some((g) => query.groups!.includes(g)));
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
      return { ...(states.get(node.id) ?? { bootstrapped: true }) };
    },
    async setNodeState(node, patch) {
      states.set(node.id, { ...(states.get(node.id) ?? {}), ...patch });
    },
    async connect(node, user, overrides) {
      if (opts.connector) return opts.connector(node, user, overrides);
      if (node.transport === 'local') return localTransport();
      return ssh(node, user, overrides);
    },
    async close() {},
  };
}
