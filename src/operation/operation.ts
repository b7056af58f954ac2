/**
 * Operations: `lift` applies phases to the nodes a compute service already
 * has; `converge` first creates or destroys nodes to reach each group's count.
 * One job per module: options.ts (what is asked), targets.ts (which nodes),
 * connections.ts (one transport per node), node-flags.ts (state flags),
 * engine.ts (phases, barriers, results), execute.ts (one target's phase),
 * batch.ts (one round trip), lift.ts, converge.ts and converge-plan.ts (the
 * count arithmetic, pure).
 */
export { lift, gatherFacts, type GatheredFacts } from './lift.js';
export { converge } from './converge.js';
export { convergePlan, type ConvergePlan } from './converge-plan.js';
export type { OperationOptions, OperationEvent, PhaseRef } from './options.js';
export type { NodeSet, GroupCounts, ExplicitTargets } from './targets.js';
