/**
 * The result of an operation. Failed actions are data, not exceptions: a
 * failing node never hides the results of the others.
 */
import { PhaseErrors } from '../core/errors.js';
import type { PlanState } from '../plan/session.js';
import type { Target } from '../model/specs.js';

// The results of actions and phases are plain data, shared with the specs (a postPhase hook reads them).
export type { ActionError, ActionResult, PhaseResult } from '../core/types.js';
import type { ActionError, ActionResult, Node, PhaseResult } from '../core/types.js';

export interface OperationResult {
  /** True when every action of every phase on every target succeeded. */
  ok: boolean;
  results: PhaseResult[];
  targets: Target[];
  /** Nodes created by converge. */
  newNodes: Node[];
  /** Nodes destroyed by converge. */
  oldNodes: Node[];
  planState: PlanState;
  environment: Record<string, unknown>;
  /** The phases that ran, in order. */
  phases: string[];
  /** Problems outside the phases' actions, each reported once (an `onEvent` callback that threw). */
  warnings: string[];
  /** Nodes of the selected groups that were left out, and why: lift runs on running nodes only. */
  skipped: Array<{ node: Node; reason: string }>;
  /** Check mode: what converge would do to the node counts (nothing was created, destroyed or started). */
  check?: CheckedCounts;
}

/** Check mode: the nodes converge would create, destroy and start. */
export interface CheckedCounts {
  create: Array<{ groupName: string; count: number }>;
  destroy: Node[];
  start: Node[];
}

/** Check mode: how many actions would change and may change. */
export function checkCounts(actions: ReadonlyArray<ActionResult>): { would: number; may: number } {
  return {
    would: actions.filter((a) => a.wouldChange && !a.mayChange).length,
    may: actions.filter((a) => a.mayChange).length,
  };
}

/** Check mode: does anything in the result say a real run would (or may) change a node? */
export function wouldChangeAnything(result: OperationResult): boolean {
  const c = result.check;
  if (c && (c.create.length || c.destroy.length || c.start.length)) return true;
  return result.results.some((r) => r.actions.some((a) => a.wouldChange || a.mayChange));
}

/** A failed action that did not run a script on the node (connect, plan, upload, node state, ...). */
export function failedAction(a: {
  action: string;
  summary: string;
  context?: string[];
  err: string;
  error: ActionError;
}): ActionResult {
  return {
    action: a.action,
    summary: a.summary,
    context: a.context ?? [],
    location: 'origin',
    out: '',
    err: a.err,
    changed: false,
    flags: [],
    flagValues: {},
    durationMs: 0,
    error: a.error,
  };
}

/** Every failed action of the operation, with its node, phase and action. */
export function phaseErrors(result: OperationResult): ActionError[] {
  const errs: ActionError[] = [];
  for (const r of result.results) for (const a of r.actions) if (a.error) errs.push(a.error);
  return errs;
}

/** Throw a `PhaseErrors` naming every failed action, if any failed. */
export function throwPhaseErrors(result: OperationResult): void {
  const errs = phaseErrors(result);
  if (errs.length === 0) return;
  throw new PhaseErrors(`Phase errors: ${errs.map((e) => e.message).join('; ')}`, errs);
}
