/**
 * What an operation is asked to do: its options (validated at the boundary),
 * its events, and the phases to run.
 */
import * as z from 'zod';
import type { ComputeService } from '../compute/types.js';
import type { ConnectOverrides } from '../compute/connect.js';
import type { PlanState } from '../plan/session.js';
import { isPlainObject, totalOrderMerge } from '../core/merge.js';
import type { GroupSpec, PhaseArgs, PhaseFn, PlanFunction, PostPhaseInfo, Target } from '../model/specs.js';
import type { Node } from '../core/types.js';
import type { User } from '../core/user.js';
import type { ActionResult, PhaseResult } from './result.js';

/** Phases every group has, whether or not it defines them. */
export type BuiltInPhase = 'settings' | 'bootstrap' | 'configure' | 'destroyServer' | 'destroyGroup' | 'createGroup';

/**
 * A phase to run: the name of a phase the groups define (or a built-in one), `{ name, args }` with the
 * arguments that phase's plan function takes, or an inline plan function (it gets no arguments). With
 * groups whose phases are known to the type checker (`groupSpec(name, { phases })`), a misspelt phase
 * name or a wrong argument is a type error.
 */
export type PhaseRef<T extends PhaseArgs = PhaseArgs> =
  | BuiltInPhase
  | PlanFunction<[]>
  | (T extends unknown
      ? | { [K in keyof T & string]: [] extends T[K] ? K : never }[keyof T & string]
        | {
            [K in keyof T & string]: [] extends T[K] ? { name: K; args?: T[K] } : { name: K; args: T[K] };
          }[keyof T & string]
      : never);

/** The phase table of what an operation runs on: groups, clusters, explicit targets, or lists of them. */
export type PhaseArgsOf<N> = N extends number
  ? never
  : N extends GroupSpec<infer T>
    ? T
    : N extends { group: GroupSpec<infer T> }
      ? T
      : N extends ReadonlyMap<GroupSpec<infer T>, number>
        ? T
        : N extends ReadonlyArray<infer X>
          ? PhaseArgsOf<X>
          : PhaseArgs;

/** Events emitted while an operation runs (for progress displays and JSON output). */
export type OperationEvent =
  | { type: 'operation-start'; operation: 'lift' | 'converge'; phases: string[] }
  | { type: 'node-created'; node: Node; groupName: string }
  | { type: 'node-destroyed'; node: Node; groupName: string }
  /** A node of a selected group that lift (or facts) leaves out, and why (it is stopped). */
  | { type: 'node-skipped'; node: Node; groupName: string; reason: string }
  | { type: 'phase-start'; phase: string; targets: string[] }
  | { type: 'target-start'; phase: string; target: string }
  /** A batch of actions is being sent to the target (in order); the first not yet reported is running. */
  | { type: 'batch'; phase: string; target: string; actions: string[] }
  | { type: 'action'; phase: string; target: string; result: ActionResult }
  | { type: 'target-end'; phase: string; target: string; result: PhaseResult }
  | { type: 'phase-end'; phase: string; ok: boolean }
  | { type: 'operation-end'; ok: boolean };

export interface OperationOptions<T extends PhaseArgs = PhaseArgs> {
  /** The compute service (required by converge, and by lift unless explicit targets are given). */
  compute?: ComputeService;
  /** The phases to run (default: the groups' default phases). */
  phase?: PhaseRef<T> | ReadonlyArray<PhaseRef<T>>;
  /** Values plan functions read with `getEnvironment`. */
  environment?: Record<string, unknown>;
  /** The admin user (default: the current user with ~/.ssh keys; the library never reads ~/.pallet). */
  user?: User;
  /** Groups whose nodes take part in OS detection and `settings` only. */
  considerGroups?: GroupSpec[];
  /** Split each phase's targets into batches run one after another (rolling deploys). */
  partitionBy?: (targets: Target[]) => Target[][];
  /** Called after each phase (and partition), before its errors stop the operation. */
  postPhase?: (info: PostPhaseInfo) => void | Promise<void>;
  /**
   * The probe (one round trip, at most once per node per operation): it gathers the node's facts (`facts()`) and
   * detects its OS. `auto` (default): a node whose OS is not given by its image or compute service is probed
   * first; a node whose OS is given is probed only when a plan first reads its facts (`facts()`, `nodeFacts()`,
   * a Jinja template), and keeps the given OS. `true`: every node is probed first and the detected OS wins.
   * `false`: no probe (no facts: `facts()` throws).
   */
  osDetect?: boolean | 'auto';
  /** How many targets run at once (default 50). */
  concurrency?: number;
  /**
   * `lift` only: run on one slice of the nodes, for fleets split across several controllers (docs/scale.md).
   * A node is in slice `index` of `count` by a stable hash of its id, so the slices of one node list are
   * disjoint and cover it, whatever runs them and in what order.
   */
  slice?: { index: number; count: number };
  signal?: AbortSignal;
  /**
   * Check mode: change nothing, report what a real run would change. Every
   * action runs the test that decides `changed` and stops before any mutation;
   * results carry `wouldChange`, `mayChange` (with the reason), `would` and
   * `diff`. `converge` creates, destroys and starts no node (see `result.check`);
   * no node state flag (bootstrapped, run-once) is written.
   */
  check?: boolean;
  debug?: { scriptTrace?: boolean; scriptComments?: boolean };
  /** Initial plan state (e.g. settings carried from an earlier operation). */
  planState?: PlanState;
  /** Options passed to the provider when creating nodes. */
  providerOptions?: Record<string, unknown>;
  /** How connections are opened and watched (override the compute service's SSH options). */
  connection?: ConnectOverrides;
  /** Receives progress events. A callback that throws is reported once, never stops the operation. */
  onEvent?: (e: OperationEvent) => void;
}

const fnSchema = z.custom<(...a: never[]) => unknown>((v) => typeof v === 'function', 'expected a function');
const phaseRefSchema = z.union([
  z.string().min(1),
  fnSchema,
  z.strictObject({ name: z.string().min(1), args: z.array(z.unknown()).optional() }),
]);
export const optionsSchema = z.strictObject({
  compute: z
    .custom<ComputeService>(
      (v) => isPlainObject(v) || (typeof v === 'object' && v !== null),
      'expected a compute service',
    )
    .optional(),
  phase: z.union([phaseRefSchema, z.array(phaseRefSchema)]).optional(),
  environment: z.record(z.string(), z.unknown()).optional(),
  user: z.looseObject({ username: z.string().min(1) }).optional(),
  considerGroups: z.array(z.unknown()).optional(),
  partitionBy: fnSchema.optional(),
  postPhase: fnSchema.optional(),
  osDetect: z.union([z.boolean(), z.literal('auto')]).optional(),
  concurrency: z.number().int().positive().optional(),
  slice: z
    .strictObject({ index: z.number().int().min(0), count: z.number().int().positive() })
    .refine((x) => x.index < x.count, 'slice index must be below the count (slices are 0 to count - 1)')
    .optional(),
  signal: z.instanceof(AbortSignal).optional(),
  check: z.boolean().optional(),
  debug: z.strictObject({ scriptTrace: z.boolean().optional(), scriptComments: z.boolean().optional() }).optional(),
  planState: z.looseObject({ host: z.record(z.string(), z.unknown()) }).optional(),
  providerOptions: z.record(z.string(), z.unknown()).optional(),
  connection: z
    .strictObject({
      connectTimeoutMs: z.number().int().positive().optional(),
      keepaliveIntervalMs: z.number().int().positive().optional(),
      keepaliveCountMax: z.number().int().positive().optional(),
    })
    .optional(),
  onEvent: fnSchema.optional(),
});

export interface PhaseCall {
  name: string;
  args: unknown[];
  /** Given as a plan function (not a name a group must define). */
  inline?: boolean;
}

export function processPhases(phase: OperationOptions['phase']): {
  calls: PhaseCall[];
  inline: Record<string, PhaseFn>;
} {
  if (phase === undefined) return { calls: [], inline: {} };
  const list = Array.isArray(phase) ? phase : [phase];
  const calls: PhaseCall[] = [];
  const inline: Record<string, PhaseFn> = {};
  let n = 0;
  for (const p of list as PhaseRef[]) {
    if (typeof p === 'string') calls.push({ name: p, args: [] });
    else if (typeof p === 'function') {
      n++;
      const name = p.planName ?? (list.length === 1 ? 'inline' : `inline-${n}`);
      inline[name] = p;
      calls.push({ name, args: [], inline: true });
    } else calls.push({ name: p.name, args: p.args ?? [] });
  }
  return { calls, inline };
}

export function defaultPhases(groups: GroupSpec[]): string[] {
  if (groups.length === 0) return ['configure'];
  return totalOrderMerge(
    groups.map((g) => g.defaultPhases),
    'defaultPhases of the groups',
  );
}

/** Phases the operation runs itself, whether or not a group defines them. */
const builtIn = new Set(['settings', 'bootstrap', 'configure', 'destroyServer', 'destroyGroup', 'createGroup']);

/**
 * Phases asked by name that no group defines: a typo would otherwise run
 * nothing and report success. Returns the message, or undefined.
 */
export function unknownPhases(calls: PhaseCall[], groups: GroupSpec[]): string | undefined {
  const defined = new Set(groups.flatMap((g) => Object.keys(g.phases)));
  const unknown = calls.filter((c) => !c.inline && !builtIn.has(c.name) && !defined.has(c.name)).map((c) => c.name);
  if (unknown.length === 0) return undefined;
  const list = [...defined].filter((p) => !p.startsWith('pallet/')).sort();
  return `no group defines the phase${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `'${u}'`).join(', ')}; the groups define: ${list.join(', ') || '(none)'}`;
}

/** A tiny concurrency limiter: at most `n` tasks at once, results in input order. */
export async function mapLimit<T, R>(items: readonly T[], n: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}
