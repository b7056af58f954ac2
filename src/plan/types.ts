/**
 * The data that plan functions produce: recorded actions in nested scopes.
 */
import type { Target } from '../model/specs.js';
import type { User } from '../core/user.js';

/** A value, or a function that computes it at execution time (it may read node values). */
export type Deferred<T> = T | (() => T | Promise<T>);

/** Options that change how an action's script runs (`withActionOptions`). */
export interface ActionOptions {
  /** Run the action as this user (through sudo). */
  sudoUser?: string;
  /** `cd` into this directory (created if missing) before the action runs. */
  scriptDir?: string;
  /** Extra environment variables for the action. */
  scriptEnv?: Record<string, string>;
  /** `set -x` in the action's script. */
  scriptTrace?: boolean;
  /** Comments naming the action in the generated script. */
  scriptComments?: boolean;
  /** An id other actions can name in `alwaysBefore` / `alwaysAfter`. */
  actionId?: string;
  /** This action runs before the named actions (action names or action ids) of its scope. */
  alwaysBefore?: string[];
  /** This action runs after the named actions (action names or action ids) of its scope. */
  alwaysAfter?: string[];
  /**
   * Set this target flag when the action changed the node (see `ChangeOptions`). Given to
   * `withActionOptions`, every action of the body sets it when it changes.
   */
  flagOnChanged?: string;
}

/**
 * Options every action accepts in its options object (or as an extra last argument when it has none).
 *
 * `flagOnChanged`: when the action changes the node, the target flag of that name is set; a later
 * `planWhen(targetFlag(name), ...)` or `handler(name, ...)` in the same phase is decided on the node, in
 * the same round trip. Flag names are letters, digits, `_`, `.` and `-`.
 */
export interface ChangeOptions {
  flagOnChanged?: string;
}

/** What an action's script needs to know about the node it compiles for. */
export interface ScriptContext {
  osFamily?: string;
  osVersion?: string;
  packager?: string;
  options: ActionOptions;
  target: Target;
  /** The admin user (for defaults such as file owners with noSudo). */
  user: User;
  /** Where pallet keeps its files on this node (see `Session.stateRoot`). */
  stateRoot: string;
  /**
   * Check mode: the script must change nothing on the node. It runs the same
   * tests as a real run, calls `pallet_changed` where a real run would change
   * something, and describes the change instead of making it (`pallet_would`,
   * `pallet_diff`, `pallet_may`; see `src/script/check.ts`).
   */
  check?: boolean;
}

/** How an action says whether it changed the node. */
export type ChangeReport =
  /** The script calls `pallet_changed` when it changed something. */
  | 'reported'
  /** Running the script is a change (plain commands). */
  | 'always'
  /** The action never changes the node (reads, tests). */
  | 'never';

export interface CompiledScript {
  /**
   * POSIX shell. Runs with `sh`, helpers `pallet_changed`, `pallet_set_flag`, `pallet_set_value` defined;
   * they write to the file `$PALLET_CONTROL` (exported, so programs the script runs can report too).
   */
  script: string;
  changes: ChangeReport;
  /**
   * Secret values of this call (sensitive content, passwords): added to the operation's secrets before the
   * script runs, so every result, error, event and report shows `<sensitive>` instead of them, in any form.
   */
  sensitive?: string[];
  /**
   * Controller files the script reads on the node as `"$PALLET_UPLOADS/<md5>"`.
   * They are uploaded before the script runs, and skipped when the node already has them.
   */
  uploads?: Array<{ localPath: string; md5: string }>;
  /**
   * Check mode: the script honours `ScriptContext.check` (it changes nothing), so it runs.
   * A script without it (a user's own commands) is not run in check mode.
   */
  checked?: boolean;
  /**
   * Check mode: the script does not do its work (a user's script that is not known to only read):
   * node values from it are unknown, and what reads them "may change". Says why.
   */
  notRun?: string;
}

/**
 * An action: a named unit of work. Target actions compile to shell; origin
 * actions run a function on the controller at execution time.
 */
export interface ActionDef<A = unknown> {
  name: string;
  /** `aggregated`: every call in a scope merges into one action placed first; `collected`: merged, placed last. */
  execution: 'in-sequence' | 'aggregated' | 'collected';
  alwaysBefore?: string[];
  alwaysAfter?: string[];
  /** One-line description of a call, for logs and results. */
  summary: (args: ReadonlyArray<A>) => string;
  /** Target actions: the script for these calls' arguments (one entry per call; aggregated actions get several). */
  script?: (args: ReadonlyArray<A>, ctx: ScriptContext) => CompiledScript;
  /**
   * The content a call would write, decoded, for review (`explain --show-content`);
   * undefined when it is not known before the run (a download, a file on the node).
   */
  preview?: (args: ReadonlyArray<A>, ctx: ScriptContext) => string | undefined;
  /** Origin actions: run on the controller at execution time. */
  run?: (args: ReadonlyArray<A>, ctx: ScriptContext) => unknown;
  /** Origin actions: did the run change the node? (Default: no.) */
  changedBy?: (value: unknown) => boolean;
  /**
   * Origin actions: `run` honours `ScriptContext.check` (changes nothing then), so it runs in check mode
   * and its value says whether it would change (`changedBy`). Others are not run in check mode.
   * `'value'`: a pure computation on node values (withActionValues): it runs, and reads stay tracked.
   */
  checkRun?: true | 'value';
  /**
   * Target actions: the script's stdout is data for the controller (a file's bytes), not for people: node values
   * get it, results, logs and events show only its size.
   */
  privateOutput?: boolean;
}

/** One recorded call of an action. */
export interface ActionCall {
  type: 'action';
  id: string;
  def: ActionDef;
  /** Arguments of each merged call (one entry for in-sequence actions). */
  args: unknown[];
  /** Node-value ids that alias this action's result (merged calls). */
  ids: string[];
  options: ActionOptions;
  /** Names of the plan functions the call was made in, outermost first. */
  context: string[];
}

/** A conditional block (`planWhen` / `planWhenNot`). */
export interface WhenBlock {
  type: 'when';
  id: string;
  /** A shell condition run on the node, or a function evaluated on the controller at execution time. */
  cond: string | (() => boolean | Promise<boolean>);
  negate: boolean;
  then: PlanItem[];
  context: string[];
  options: ActionOptions;
}

export type PlanItem = ActionCall | WhenBlock;
