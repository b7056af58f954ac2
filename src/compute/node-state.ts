/**
 * Node state kept on the node itself: one flag name per line in
 * `/var/lib/pallet/.node-state`. Used by providers that cannot store state
 * (Docker: labels are fixed at creation) and by the operation for services
 * with `stateOnNode`.
 */
import { shQuote } from '../script/quote.js';
import type { NodeState } from './types.js';

export const nodeStateFile = '/var/lib/pallet/.node-state';

/** Prints the flags (nothing when there is no state yet); always succeeds. */
export const readNodeStateScript = `cat ${nodeStateFile} 2>/dev/null; exit 0`;

export function parseNodeState(out: string): NodeState {
  const state: NodeState = {};
  for (const line of out.split('\n').map((l) => l.trim())) if (/^[A-Za-z0-9_.-]+$/.test(line)) state[line] = true;
  return state;
}

/** Sets the true flags of `patch` and clears the false ones, keeping the others. */
export function writeNodeStateScript(patch: NodeState): string {
  const steps = Object.entries(patch).map(([flag, on]) =>
    on
      ? `{ grep -qx ${shQuote(flag)} ${nodeStateFile} || echo ${shQuote(flag)} >> ${nodeStateFile}; }`
      : `sed -i ${shQuote(`/^${flag.replace(/\./g, '\\.')}$/d`)} ${nodeStateFile}`,
  );
  // State files are private, as every file under the state root: 0600 in 0700 directories.
  return [`umask 077 && mkdir -p /var/lib/pallet && touch ${nodeStateFile}`, ...steps].join(' && ');
}
