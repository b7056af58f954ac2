/**
 * The merge rules of specs, as in Pallet 0.8 (`merge-spec-algorithm`):
 * - phases: same-named phases pipeline (inherited first, same arguments);
 * - roles: set union;
 * - defaultPhases: an order consistent with every input (total-order merge);
 * - everything else: deep merge (maps recursively; otherwise the later value
 *   wins unless it is undefined).
 */
import { SpecError } from './errors.js';

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Deep merge: plain objects merge key by key; for anything else `b` wins unless undefined. */
export function deepMerge<T>(a: T, b: T): T {
  if (b === undefined) return a;
  if (isPlainObject(a) && isPlainObject(b)) {
    const out: Record<string, unknown> = { ...a };
    for (const [k, v] of Object.entries(b)) {
      out[k] = k in out ? deepMerge(out[k], v) : v;
    }
    return out as T;
  }
  return b;
}

/**
 * An order consistent with every input sequence: each sequence's relative
 * order is kept. Ties go to the element seen first. Throws when the inputs
 * contradict each other.
 */
export function totalOrderMerge(seqs: ReadonlyArray<ReadonlyArray<string>>, where = 'defaultPhases'): string[] {
  const firstSeen: string[] = [];
  const after = new Map<string, Set<string>>(); // x -> things that must come after x
  const indegree = new Map<string, number>();
  for (const seq of seqs) {
    for (const x of seq) {
      if (!indegree.has(x)) {
        indegree.set(x, 0);
        after.set(x, new Set());
        firstSeen.push(x);
      }
    }
    for (let i = 0; i + 1 < seq.length; i++) {
      const a = seq[i]!;
      const b = seq[i + 1]!;
      if (a === b) continue;
      const set = after.get(a)!;
      if (!set.has(b)) {
        set.add(b);
        indegree.set(b, indegree.get(b)! + 1);
      }
    }
  }
  const out: string[] = [];
  const ready = () => firstSeen.filter((x) => indegree.get(x) === 0 && !out.includes(x));
  for (;;) {
    const r = ready();
    if (r.length === 0) break;
    const x = r[0]!;
    out.push(x);
    for (const y of after.get(x)!) indegree.set(y, indegree.get(y)! - 1);
  }
  if (out.length !== firstSeen.length) {
    throw new SpecError(
      `No total ordering available for ${where}: the inputs ${JSON.stringify(seqs)} contradict each other. ` +
        'Give the spec an explicit defaultPhases.',
      undefined,
      where,
    );
  }
  return out;
}
