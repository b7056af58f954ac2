/**
 * `pallet/providers`: for writing compute services and transports (what `pallet` itself uses to reach nodes).
 * A project file does not need this module: it uses `computeService()`, `nodeListService()`, `dockerService()`
 * and `localhostService()` from `pallet`.
 */
export { registerProvider, supportedProviders, type ProviderFactory } from '../compute/index.js';
export type { ComputeService, NodeState, RunNodesOptions } from '../compute/types.js';
export type { Transport, RunOptions, RunResult } from '../transport/types.js';
export { sshTransport, type SshOptions, type HostKeyPolicy } from '../transport/ssh.js';
export type { SshConnectorOptions, Connector } from '../compute/connect.js';
export { readAnsibleInventory, type AnsibleInventory } from '../compute/ansible-inventory.js';
export type { Node, NodeAdminUser } from '../core/types.js';
