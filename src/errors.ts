/**
 * One error class per kind of failure, each carrying the context a person needs
 * to act on it. Failed *actions* are not thrown: they are reported in the
 * operation result (see `phaseErrors`). These classes are for bad input, misuse
 * of the API and failures of the machinery around the actions.
 */

/** A spec (node, server, group or cluster) or an operation option is invalid. */
export class SpecError extends Error {
  override name = 'SpecError';
  constructor(
    message: string,
    readonly spec?: string,
    readonly key?: string,
  ) {
    super(message);
  }
}

/** An API was used where it cannot work (e.g. an action outside a phase). */
export class PlanError extends Error {
  override name = 'PlanError';
  constructor(
    message: string,
    readonly context: { node?: string; phase?: string; action?: string } = {},
  ) {
    super(message);
  }
}

/** A node value was read before the action that produces it has run. */
export class NodeValueError extends PlanError {
  override name = 'NodeValueError';
}

/** A compute service could not do what it was asked. */
export class ComputeError extends Error {
  override name = 'ComputeError';
  constructor(
    message: string,
    readonly service: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A transport (local shell, SSH) could not run a script at all. */
export class TransportError extends Error {
  override name = 'TransportError';
  constructor(
    message: string,
    readonly node: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Thrown by `throwPhaseErrors`: carries every failed action's details. */
export class PhaseErrors extends Error {
  override name = 'PhaseErrors';
  constructor(
    message: string,
    readonly errors: ReadonlyArray<{
      node: string;
      phase: string;
      action: string;
      message: string;
    }>,
  ) {
    super(message);
  }
}
