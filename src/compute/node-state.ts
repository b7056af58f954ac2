/**
 * Node state kept on the node itself: one flag name per line in
 * `<state root>/.node-state` (default `/var/lib/pallet/.node-state`). Used by
 * providers that cannot store state (Docker: labels are fixed at creation) and
 * by the operation for services with `stateOnNode`.
 */
import { shQuote } from '../script/quote.js';
import type { NodeState } from './types.js';
import { defaultStateRoot, type User } from '../core/user.js';
import type { Node } from '../core/types.js';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Where pallet keeps its files on `node` for `user` (state flags, master copies, archives): the user's
 * `stateRoot`; on this machine as a user other than root, ~/.local/state/pallet (it cannot write
 * /var/lib); else /var/lib/pallet. Decided here, once, and passed to plans and scripts.
 */
export function nodeStateRoot(user: Pick<User, 'stateRoot'>, node: Pick<Node, 'transport'>): string {
  if (user.stateRoot) return user.stateRoot;
  if (node.transport === 'local' && process.getuid && process.getuid() !== 0)
    return join(homedir(), '.local', 'state', 'pallet');
  return defaultStateRoot;
}

export function nodeStateFile(root: string = defaultStateRoot): string {
  return `${root}/.node-state`;
}

/** Prints the flags (nothing when there is no state yet); always succeeds. */
export function readNodeStateScript(root?: string): string {
  return `cat ${shQuote(nodeStateFile(root))} 2>/dev/null; exit 0`;
}

export function parseNodeState(out: string): NodeState {
  const state: NodeState = {};
  for (const line of out.split('\n').map((l) => l.trim())) if (/^[A-Za-z0-9_.-]+$/.test(line)) state[line] = true;
  return state;
}

/**
 * Sets the true flags of `patch` and clears the false ones, keeping the others.
 * Fails (non-zero exit, the reason on stderr) when the file cannot be written.
 */
export function writeNodeStateScript(patch: NodeState, root: string = defaultStateRoot): string {
  const file = shQuote(nodeStateFile(root));
  const steps = Object.entries(patch).map(([flag, on]) =>
    on
      ? `{ grep -qx ${shQuote(flag)} ${file} || echo ${shQuote(flag)} >> ${file}; }`
      : `sed -i ${shQuote(`/^${flag.replace(/\./g, '\\.')}$/d`)} ${file}`,
  );
  // State files are private, as every file under the state root: 0600 in 0700 directories.
  return [`umask 077 && mkdir -p ${shQuote(root)} && touch ${file}`, ...steps].join(' && ');
}
