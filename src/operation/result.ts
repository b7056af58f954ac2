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
}

/** A failed action that did not run a script on the node (connect, plan, upload, node state, ...). */
export function failedAction(a: { action: string; summary: string; context?: string[]; err: string; error: ActionError }): ActionResult {
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
