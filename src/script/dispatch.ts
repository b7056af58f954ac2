/**
 * Choosing an implementation by OS family, package manager and OS version:
 * the most specific match wins (the one that names the most criteria); ties go
 * to the earlier entry; no match is a clear error.
 */

export interface DispatchKey {
  osFamily?: string;
  osVersion?: string;
  packager?: string;
}

export interface Criteria {
  osFamily?: string | ReadonlyArray<string>;
  packager?: string | ReadonlyArray<string>;
  /** Inclusive version range on the OS version's leading number(s), e.g. { min: '8' } or { max: '7.9' }. */
  osVersion?: { min?: string; max?: string };
}

export interface Implementation<T> {
  when: Criteria | 'default';
  impl: T;
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

const oneOf = (v: string | ReadonlyArray<string>, x: string | undefined) =>
  x !== undefined && (typeof v === 'string' ? v === x : v.includes(x));

function score(c: Criteria, key: DispatchKey): number {
  let n = 0;
  if (c.osFamily !== undefined) {
    if (!oneOf(c.osFamily, key.osFamily)) return -1;
    n++;
  }
  if (c.packager !== undefined) {
    if (!oneOf(c.packager, key.packager)) return -1;
    n++;
  }
  if (c.osVersion !== undefined) {
    if (!key.osVersion) return -1;
    if (c.osVersion.min && compareVersions(key.osVersion, c.osVersion.min) < 0) return -1;
    if (c.osVersion.max && compareVersions(key.osVersion, c.osVersion.max) > 0) return -1;
    n++;
  }
  return n;
}

/** The best implementation for `key`, or an error naming what was asked and what exists. */
export function dispatch<T>(what: string, impls: ReadonlyArray<Implementation<T>>, key: DispatchKey): T {
  let best: { impl: T; score: number } | undefined;
  for (const i of impls) {
    const s = i.when === 'default' ? 0 : score(i.when, key);
    if (s < 0) continue;
    if (!best || s > best.score) best = { impl: i.impl, score: s };
  }
  if (!best) {
    const known = impls
      .filter((i) => i.when !== 'default')
      .map((i) => JSON.stringify(i.when))
      .join(', ');
    throw new Error(
      `${what} has no implementation for os family ${key.osFamily ?? '(unknown)'} ${key.osVersion ?? ''} ` +
        `with package manager ${key.packager ?? '(unknown)'}. Implementations exist for: ${known}. ` +
        "Set the group's image osFamily or packager if detection was wrong.",
    );
  }
  return best.impl;
}
