/**
 * One error class per kind of failure, each carrying the context a person needs
 * to act on it. Failed *actions* are not thrown: they are reported in the
 * operation result (see `phaseErrors`). These classes are for bad input, misuse
 * of the API and failures of the machinery around the actions.
 */

const brand = Symbol.for('pallet.error');

/**
 * Is `e` one of pallet's errors (SpecError, PlanError, ComputeError,
 * TransportError, PhaseErrors)? Works across copies of this module.
 */
export function isPalletError(e: unknown): e is Error & { readonly [brand]: true } {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[brand] === true;
}

/** The base of pallet's errors: branded, and keeping the error that caused it (`cause`). */
export class PalletError extends Error {
  readonly [brand] = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A spec (node, server, group or cluster) or an operation option is invalid. */
export class SpecError extends PalletError {
  override name = 'SpecError';
  constructor(
    message: string,
    readonly spec?: string,
    readonly key?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** An API was used where it cannot work (e.g. an action outside a phase). */
export class PlanError extends PalletError {
  override name = 'PlanError';
  constructor(
    message: string,
    readonly context: { node?: string; phase?: string; action?: string } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A node value was read before the action that produces it has run. */
export class NodeValueError extends PlanError {
  override name = 'NodeValueError';
}

/** A compute service could not do what it was asked. */
export class ComputeError extends PalletError {
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
export class TransportError extends PalletError {
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
export class PhaseErrors extends PalletError {
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
