/**
 * Node state flags (`bootstrapped`, run-once flags): read once per node and
 * operation from the compute service and, for services that keep them on the
 * node, from the node itself; written to both. A flag that cannot be written is
 * an error naming the node and the flag, never ignored (it would make
 * `bootstrap` run again on every converge).
 */
import { ComputeError } from '../core/errors.js';
import { nodeStateRoot, parseNodeState, readNodeStateScript, writeNodeStateScript } from '../compute/node-state.js';
import type { ComputeService, NodeState } from '../compute/types.js';
import type { Target } from '../model/specs.js';
import type { Connections } from './connections.js';

export class NodeFlags {
  private readonly states = new Map<string, NodeState>();
  /** Nodes whose on-node state was read already. */
  private readonly readFromNode = new Set<string>();

  constructor(
    private readonly compute: ComputeService | undefined,
    private readonly connections: Connections,
  ) {}

  private root(t: Target): string {
    return nodeStateRoot(this.connections.adminFor(t), t.node);
  }

  async get(t: Target, flag: string): Promise<NodeState> {
    const compute = this.compute;
    if (!compute) return {};
    let st = this.states.get(t.node.id);
    if (!st) {
      st = await compute.nodeState(t.node);
      this.states.set(t.node.id, st);
    }
    if (st[flag] || !compute.stateOnNode || this.readFromNode.has(t.node.id)) return st;
    this.readFromNode.add(t.node.id);
    const user = this.connections.adminFor(t);
    try {
      // The admin user can only log in once the node was bootstrapped; a refusal means "not yet".
      const tr = await this.connections.transportFor(t, user);
      Object.assign(
        st,
        parseNodeState((await tr.run(`${readNodeStateScript(this.root(t))}\n`)).stdout.toString('utf8')),
      );
    } catch {
      this.connections.forget(t, user);
    }
    return st;
  }

  /** Set `flag` in the compute service and, where it keeps state on nodes, on the node. Throws a ComputeError when it cannot. */
  async set(t: Target, flag: string, useImage: boolean): Promise<void> {
    const compute = this.compute;
    if (!compute) return;
    await compute.setNodeState(t.node, { [flag]: true });
    this.states.set(t.node.id, { ...(this.states.get(t.node.id) ?? {}), [flag]: true });
    if (!compute.stateOnNode) return;
    const tr = await this.connections.transportFor(t, this.connections.credentialsFor(t, useImage));
    const r = await tr.run(`${writeNodeStateScript({ [flag]: true }, this.root(t))}\n`);
    if (r.exit !== 0) {
      throw new ComputeError(
        `${t.node.id}: cannot record the flag '${flag}' in ${this.root(t)}/.node-state on the node (exit ${r.exit}): ${r.stderr.toString('utf8').trim() || 'no message'}. ` +
          'Give the admin user a writable stateRoot, or log in with sudo rights.',
        t.node.id,
      );
    }
  }
}
