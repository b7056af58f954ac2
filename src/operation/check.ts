/**
 * Check mode on the controller: what a check result says, and the diffs of
 * files rendered from the contents the node sent (`pallet_diff`).
 */
import type { CheckTrack } from '../plan/session.js';
import type { ActionResult } from './result.js';
import { jsdiff } from '../core/lazy.js';

/**
 * Complete a check-mode result: inside a block whose condition depended on a
 * change (`mayContext`), "would change" becomes "may change"; the first action
 * that would or may change is remembered (later checks that fail are excused by it).
 */
export function checkedResult(r: ActionResult, track: CheckTrack, mayContext: string | undefined): void {
  if (mayContext && (r.wouldChange || r.mayChange))
    r.mayChange = r.mayChange ? `${mayContext}; ${r.mayChange}` : mayContext;
  if ((r.wouldChange || r.mayChange) && !track.firstChange) track.firstChange = `'${r.summary}'`;
}

const isBinary = (b: Buffer) => b.includes(0);

/**
 * Unified diffs (old → new) of the contents in `diffs` (base64, as the node
 * sent them). Binary content is one line, "binary content differs".
 */
export function renderDiffs(diffs: ReadonlyArray<{ label: string; old: string; new: string }>): {
  text: string;
  lines: string[];
} {
  const parts: string[] = [];
  const lines: string[] = [];
  for (const d of diffs) {
    const before = Buffer.from(d.old, 'base64');
    const after = Buffer.from(d.new, 'base64');
    if (isBinary(before) || isBinary(after)) {
      lines.push(`${d.label}: binary content differs`);
      continue;
    }
    const patch = jsdiff().createTwoFilesPatch(
      d.label,
      d.label,
      before.toString('utf8'),
      after.toString('utf8'),
      d.old ? 'current' : '(new file)',
      'new',
    );
    // Without the "Index:" and "====" lines that open every patch.
    parts.push(patch.split('\n').slice(2).join('\n').trimEnd());
    lines.push(d.old ? `change ${d.label}` : `create ${d.label}`);
  }
  return { text: parts.join('\n'), lines };
}
