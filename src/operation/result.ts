/**
 * The result of an operation. Failed actions are data, not exceptions: a
 * failing node never hides the results of the others.
 */
import { PhaseErrors } from '../errors.js';
import type { PlanState } from '../plan/session.js';
import type { Target } from '../spec/spec.js';
import type { Node } from '../types.js';

export interface ActionError {
  /** Node id (or group name for group phases). */
  node: string;
  phase: string;
  /** The action's summary, e.g. `remoteFile /etc/motd`. */
  action: string;
  message: string;
  exit?: number;
  /** The error that caused this one (a plan function's exception, a transport's failure). */
  cause?: unknown;
}

export interface ActionResult {
  /** The action's name, e.g. `remoteFile`. */
  action: string;
  /** One line describing the call, e.g. `remoteFile /etc/motd`. */
  summary: string;
  /** Plan-function names the action was called in, outermost first. */
  context: string[];
  /** Where it ran: on the node (a script) or on the controller. */
  location: 'target' | 'origin';
  /** The script that ran (target actions). */
  script?: string;
  exit?: number;
  out: string;
  err: string;
  /** Did the action change the node? */
  changed: boolean;
  flags: string[];
  flagValues: Record<string, string>;
  durationMs: number;
  /** The value of an origin action. */
  value?: unknown;
  error?: ActionError;
  /** Check mode: a real run would change the node here (`changed` is always false in check mode). */
  wouldChange?: boolean;
  /** Check mode: a real run may change the node here; why check mode cannot tell. */
  mayChange?: string;
  /** Check mode: one line per change ("install hello 2.0", "start fail2ban", "mode of /etc/x: 644 -> 600"). */
  would?: string[];
  /** Check mode: unified diffs of the files' content (a sensitive file: "content differs", no diff). */
  diff?: string;
}

export interface PhaseResult {
  /** The node this entry is about (absent for group phases). */
  node?: Node;
  targetType: 'node' | 'group';
  /** The group (for node targets: the node's group). */
  groupName: string;
  phase: string;
  ok: boolean;
  /**
   * Why the target failed (absent when ok): an action failed on the node; the
   * node could not be reached (or is stopped); its plan function threw.
   */
  reason?: 'failed' | 'unreachable' | 'plan-error';
  actions: ActionResult[];
  durationMs: number;
}

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
