/**
 * Reaching a node: the SSH transport with the provider's SSH options.
 */
import { sshTransport, type SshOptions } from '../transport/ssh.js';
import type { Transport } from '../transport/types.js';
import type { Node } from '../core/types.js';
import type { User } from '../core/user.js';

/** Connection settings an operation may override (`OperationOptions.connection`, `pallet --connect-timeout`). */
export interface ConnectOverrides {
  /** How long to wait for the SSH handshake (default 20 s). */
  connectTimeoutMs?: number;
  /** How often to check that a connection is alive while scripts run (default 15 s). */
  keepaliveIntervalMs?: number;
  /** Unanswered keepalives before the connection counts as lost (default 3). */
  keepaliveCountMax?: number;
}

/** How a compute service reaches a node as a user. */
export type Connector = (node: Node, user: User, overrides?: ConnectOverrides) => Promise<Transport>;

export type SshConnectorOptions = Omit<SshOptions, 'host' | 'port' | 'user' | 'nodeName'>;

export function isLoopback(ip: string): boolean {
  return ip === 'localhost' || ip === '::1' || /^127\./.test(ip);
}

/** Connect over SSH to the node's primary IP and SSH port, trusting the host keys its provider learned. */
export function sshConnector(opts: SshConnectorOptions): Connector {
  return (node, user, overrides) =>
    sshTransport({
      ...opts,
      ...overrides,
      host: node.primaryIp,
      port: node.sshPort,
      user,
      nodeName: node.id,
      hostKeys: [...(opts.hostKeys ?? []), ...(node.hostKeys ?? [])],
    });
}
