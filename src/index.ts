/**
 * Pallet for TypeScript: describe servers in code and make real machines match.
 *
 * This module is the whole public API.
 */

// Specs
export {
  nodeSpec,
  serverSpec,
  groupSpec,
  clusterSpec,
  type NodeSpec,
  type ServerSpec,
  type ServerSpecOptions,
  type GroupSpec,
  type GroupSpecOptions,
  type ClusterSpec,
  type ClusterSpecOptions,
  type Phase,
  type PhaseFn,
  type PhaseMeta,
  type PostPhaseInfo,
  type Target,
} from './spec/spec.js';
export type { Node, NodeSpecOptions, ImageSpec, HardwareSpec, NetworkSpec, QosSpec, LocationSpec } from './types.js';

// Plan functions, the session and its accessors
export { planFn } from './plan/plan-fn.js';
export { defineAction } from './plan/action.js';
export {
  NodeValue,
  planWhen,
  planWhenNot,
  withActionOptions,
  withActionValues,
  asAction,
  target,
  targetNode,
  targetName,
  targetId,
  targetIp,
  groupName,
  osFamily,
  osVersion,
  packager,
  adminUser,
  targets,
  targetsInGroup,
  nodesInGroup,
  targetsWithRole,
  nodesWithRole,
  assocSettings,
  getSettings,
  getNodeSettings,
  updateSettings,
  getEnvironment,
  targetFlag,
  targetFlagValue,
  type ScriptValue,
  type PlanState,
  type HostState,
  type SettingsOptions,
} from './plan/session.js';
export type { ActionDef, ActionOptions, ScriptContext, CompiledScript, ChangeReport, Deferred } from './plan/types.js';

// Actions
export { execScript, execCheckedScript, type ExecScriptOptions } from './actions/exec.js';
export { remoteFile, directory, file, type RemoteFileOptions, type DirectoryOptions, type FileOptions } from './actions/file.js';

// Shell building
export { shQuote, shArgs } from './script/quote.js';

// Operations and results
export {
  lift,
  converge,
  type OperationOptions,
  type OperationEvent,
  type PhaseRef,
  type NodeSet,
  type GroupCounts,
  type ExplicitTargets,
} from './operation/operation.js';
export {
  phaseErrors,
  throwPhaseErrors,
  type OperationResult,
  type PhaseResult,
  type ActionResult,
  type ActionError,
} from './operation/result.js';
export { explainSession, explainPlan, sessionSummary, type ExplainSessionOptions, type ExplainPlanOptions } from './report/explain.js';

// Compute services
export { computeService } from './compute/index.js';
export { localhostService, type LocalhostServiceOptions } from './compute/localhost.js';
export { nodeListService, type NodeListEntry, type NodeListTuple, type NodeListServiceOptions } from './compute/node-list.js';
export type { ComputeService, NodeState, RunNodesOptions } from './compute/types.js';
export type { Transport, RunOptions, RunResult } from './transport/types.js';

// Users
export { makeUser, defaultAdminUser, type User, type MakeUserOptions } from './user.js';

// Errors
export { SpecError, PlanError, NodeValueError, ComputeError, TransportError, PhaseErrors } from './errors.js';
