/**
 * The compute service interface: what lift and converge need from a provider.
 */
import type { GroupSpec } from '../model/specs.js';
import type { Transport } from '../transport/types.js';
import type { Node, NodeAdminUser } from '../core/types.js';
import type { User } from '../core/user.js';
import type { ConnectOverrides } from './connect.js';

/** Per-node state kept by the service between operations (e.g. `bootstrapped`). */
export type NodeState = Record<string, boolean>;

export interface RunNodesOptions {
  /** The admin user, whose public key new nodes should authorize. */
  user: User;
  /** Provider-specific options (lift/converge `providerOptions`). */
  providerOptions?: Record<string, unknown>;
}

export interface ComputeService {
  /** The service's name, for messages. */
  readonly name: string;
  /** The provider, e.g. `localhost`, `node-list`, `docker`. */
  readonly provider: string;
  /** An environment merged under the operation's environment. */
  readonly environment?: Record<string, unknown>;
  /** What the service's configuration holds that it does not use (an inventory's unsupported keys): shown once by the CLI. */
  readonly notices?: ReadonlyArray<string>;
  /**
   * The running nodes. `groups` scopes the listing: a provider should return
   * only nodes of those groups when it can tell (never act on nodes it did not
   * create).
   */
  nodes(query?: { groups?: ReadonlyArray<string> }): Promise<Node[]>;
  /** Create `count` nodes for `group`. */
  runNodes(group: GroupSpec, count: number, opts: RunNodesOptions): Promise<Node[]>;
  destroyNode(node: Node): Promise<void>;
  /** Destroy every node of the group, and only those. */
  destroyNodesInGroup(groupName: string): Promise<void>;
  /**
   * True when the service cannot keep node state between processes: the
   * operation then also keeps the flags on the node, in
   * `/var/lib/pallet/.node-state`, and reads them from there.
   */
  readonly stateOnNode?: boolean;
  /** The node's state flags (a provider that cannot store them may keep them on the node itself). */
  nodeState(node: Node): Promise<NodeState>;
  setNodeState(node: Node, patch: NodeState): Promise<void>;
  /** Open a transport to `node` authenticating as `user`. */
  connect(node: Node, user: User, overrides?: ConnectOverrides): Promise<Transport>;
  /** Refuse a group this provider cannot make nodes for (called by converge before anything changes). */
  checkGroup?(group: GroupSpec): void;
  /** Start a stopped node (providers that can); returns it as it now is (its SSH port may change). */
  startNode?(node: Node): Promise<Node>;
  close(): Promise<void>;
}

/** One existing server of a node-list service (its configuration, or a host of an Ansible inventory). */
export interface NodeListEntry {
  name: string;
  group: string;
  ip: string;
  osFamily?: string;
  osVersion?: string;
  sshPort?: number;
  id?: string;
  privateIp?: string;
  /** Host keys of the node (`type base64`), trusted like known_hosts entries. */
  hostKeys?: string[];
  /** `local` runs on this machine's shell; default: SSH, or local for 127.0.0.1 without an sshPort. */
  transport?: 'ssh' | 'local';
  /** The login user of a fresh node, used by `bootstrap` (default: the admin user). */
  loginUser?: string;
  /** False for a fresh server that `converge` should bootstrap (default true: existing servers count as bootstrapped). */
  bootstrapped?: boolean;
  /** More groups the node is in (an Ansible host's other groups and their parents): group specs of these names target it too. */
  groups?: string[];
  /** How this node is logged in to, over the admin user (username, key, sudo). */
  adminUser?: NodeAdminUser;
  /** The node's variables (`nodeVars()`, Jinja templates). */
  vars?: Record<string, unknown>;
}
