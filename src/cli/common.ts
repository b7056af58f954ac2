/**
 * What every command of the CLI shares: exit codes, the usage error, option
 * types and parsers. Nothing here holds state.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PhaseRef } from '../operation/operation.js';
import { yaml } from '../core/lazy.js';

/** Exit codes (the table is in the README). */
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
/** `--check`: the run changed nothing, and a real run would (or may) change something (so CI can gate on drift). */
export const EXIT_WOULD_CHANGE = 3;
/** An internal error of pallet itself (a bug): not the same as a phase that failed. */
export const EXIT_INTERNAL = 70;

/** A mistake in how pallet was called or configured: exit 2 with the message. */
export class UsageError extends Error {}

export interface GlobalOpts {
  service?: string;
  project?: string;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  concurrency?: number;
  connectTimeout?: number;
  color?: boolean;
}

export interface SelectOpts {
  selector?: string[];
  group?: string[];
  role?: string[];
  phase?: string[];
  dryRun?: boolean;
  yes?: boolean;
  /** Check mode: change nothing, show what would change (exit 3 when something would). */
  check?: boolean;
  /** With --check: show diffs of files (default: on a terminal). */
  diff?: boolean;
}

export function version(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const p of [join(here, '..', '..', 'package.json'), join(here, '..', 'package.json')]) {
    if (existsSync(p)) return (JSON.parse(readFileSync(p, 'utf8')) as { version: string }).version;
  }
  return 'unknown';
}

/** For repeatable options. */
export const collect = (v: string, prev: string[] = []) => [...prev, v];

/** 128 + the signal's number, as shells report it. */
export function exitForSignal(sig: NodeJS.Signals): number {
  return sig === 'SIGINT' ? 130 : 143;
}

/** A project's identity for node labels: its directory's name and a hash of its path. */
export function projectId(file: string): string {
  const abs = resolve(file);
  const base =
    basename(dirname(abs))
      .replace(/[^A-Za-z0-9_.-]/g, '_')
      .slice(0, 40) || 'project';
  return `${base}-${createHash('sha256').update(abs).digest('hex').slice(0, 8)}`;
}

export function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--concurrency must be a whole number above 0, not '${v}'`);
  return n;
}

export function seconds(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0)
    throw new UsageError(`--connect-timeout must be a number of seconds above 0, not '${v}'`);
  return n;
}

/** `name` or `name:arg1,arg2` (arguments parsed as YAML scalars: numbers, booleans, strings). */
export function parsePhase(p: string): PhaseRef {
  const i = p.indexOf(':');
  if (i < 0) return p;
  const args = p
    .slice(i + 1)
    .split(',')
    .map((a) => {
      try {
        return yaml().parse(a) as unknown;
      } catch {
        return a;
      }
    });
  return { name: p.slice(0, i), args };
}

/** The name a phase reference runs under. */
export function phaseName(p: PhaseRef): string {
  return typeof p === 'string' ? p : typeof p === 'function' ? 'inline' : p.name;
}
