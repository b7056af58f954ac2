/**
 * Pallet for TypeScript: describe servers in code and make real machines match.
 *
 * This module is what a project file needs: specs, operations, actions, crates, session accessors, results and
 * errors. For writing compute services and transports: `pallet/providers`; the command's renderers:
 * `pallet/report`; reading `~/.pallet` and project files as the command does: `pallet/config`.
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
} from './model/specs.js';
export type {
  Node,
  NodeSpecOptions,
  ImageSpec,
  HardwareSpec,
  NetworkSpec,
  QosSpec,
  LocationSpec,
} from './core/types.js';

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
  scheduleInPrePhase,
  scheduleInPostPhase,
  type ScriptValue,
  type PlanState,
  type HostState,
} from './plan/session.js';
export {
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
  onOneNode,
} from './plan/accessors.js';
export {
  facts,
  nodeFacts,
  nodeVars,
  assocSettings,
  getSettings,
  getNodeSettings,
  updateSettings,
  getEnvironment,
  type SettingsOptions,
} from './plan/settings.js';
export { targetFlag, anyTargetFlag, targetFlagValue, handler, type FlagCondition } from './plan/flags.js';
export type { Facts, NetworkInterface, DefaultAddress, MountFact } from './script/facts.js';
export type {
  ActionDef,
  ActionOptions,
  ChangeOptions,
  ScriptContext,
  CompiledScript,
  ChangeReport,
  Deferred,
} from './plan/types.js';

// Actions
export { execScript, execCheckedScript, exec, type ExecScriptOptions, type ExecOptions } from './actions/exec.js';
export { remoteFile, interpolate, type RemoteFileOptions } from './actions/remote-file.js';
export { TemplateError, type TemplateValue } from './template/jinja.js';
export {
  directory,
  directories,
  file,
  symbolicLink,
  fifo,
  sed,
  type DirectoryOptions,
  type FileOptions,
  type SymbolicLinkOptions,
  type SedOptions,
} from './actions/file.js';
export { lineInFile, blockInFile, type LineInFileOptions, type BlockInFileOptions } from './actions/line.js';
export {
  pkg,
  packages,
  packageManager,
  packageSource,
  packageSourceChangedFlag,
  debconfSetSelections,
  minimalPackages,
  installDeb,
  addRpm,
  type PackageOptions,
  type PackageAction,
  type PackagesByManager,
  type PackageManagerOptions,
  type PackageSourceOptions,
  type DebconfSelection,
  type ConffilePolicy,
  type PackageManagerAction,
  type AptSource,
  type YumSource,
} from './actions/package/index.js';
export { user, group, type UserOptions, type GroupOptions, type Shell } from './actions/user.js';
export {
  service,
  serviceScript,
  withServiceRestart,
  type ServiceOptions,
  type ServiceAction,
  type ServiceScriptOptions,
} from './actions/service.js';
export { waitForFile, retryUntil, type WaitOptions, type RetryOptions } from './actions/wait.js';
export { remoteFileContent, transferFile, transferFileToLocal, withRemoteFile } from './actions/transfer.js';
export { remoteDirectory, type RemoteDirectoryOptions } from './actions/remote-directory.js';
export { rsync, rsyncDirectory, rsyncToLocal, type RsyncOptions } from './actions/rsync.js';

// Shell building
export { shQuote, shArgs } from './script/quote.js';
export { dispatch, type Implementation, type Criteria, type DispatchKey } from './script/dispatch.js';

// Operations and results
export {
  lift,
  gatherFacts,
  type GatheredFacts,
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
export {
  explainSession,
  explainPlan,
  sessionSummary,
  type ExplainSessionOptions,
  type ExplainPlanOptions,
} from './report/explain.js';

// Compute services (writing one: pallet/providers)
export { computeService } from './compute/index.js';
export { configuredAdminUser } from './config/config.js';
export { localhostService, type LocalhostServiceOptions } from './compute/localhost.js';
export { dockerService, type DockerServiceOptions } from './compute/docker.js';
export {
  nodeListService,
  type NodeListEntry,
  type NodeListTuple,
  type NodeListServiceOptions,
} from './compute/node-list.js';
export type { ComputeService } from './compute/types.js';
export type { HostKeyPolicy } from './transport/ssh.js';

// Projects
export {
  defineProject,
  type Project,
  type ProjectOptions,
  type ProjectProvider,
  type ProjectVariant,
} from './project/load.js';

// Crates
export { automatedAdminUser, withAutomatedAdminUser, authorizeKeys } from './crates/admin-user.js';
export {
  sudoers,
  sudoersSettings,
  configureSudoers,
  sudoersServer,
  formatSudoers,
  mergeSudoers,
  type SudoersSpec,
  type SudoersSpecLine,
  type SudoersDefault,
  type SudoersOptions,
} from './crates/sudoers.js';
export {
  systemEnvironment,
  etcDefault,
  limitsConf,
  limitsConfSettings,
  ulimit,
  configureLimitsConf,
  limitsConfServer,
  type SystemEnvironmentOptions,
  type EtcDefaultOptions,
  type LimitEntry,
  type LimitsConfSettings,
} from './crates/system-files.js';
export {
  crontab,
  systemCrontab,
  crontabSettings,
  userCrontabSettings,
  systemCrontabSettings,
  configureCrontabs,
  crontabServer,
  type CrontabContent,
  type CrontabSettings,
} from './crates/crontab.js';
export {
  generateKey,
  installKey,
  publicKey,
  authorizeKeyForLocalhost,
  sshConfig,
  type GenerateKeyOptions,
  type SshConfigOptions,
} from './crates/ssh-key.js';
export { waitForPortListen, waitForHttpStatus, type WaitNetOptions } from './crates/network-service.js';
export { nohupService, serviceSupervisor, type NohupOptions, type SupervisorSettings } from './crates/supervisor.js';
export {
  unattendedUpgrades,
  unattendedUpgradesPolicy,
  type UnattendedUpgradesSettings,
} from './crates/unattended-upgrades.js';
export {
  fail2ban,
  fail2banJailLocal,
  fail2banChangedFlag,
  type Fail2banSettings,
  type Fail2banJail,
} from './crates/fail2ban.js';
export { sshdConfig, sshdChangedFlag, type SshdConfigOptions } from './crates/sshd.js';
export { makeFilesystem, mount, type MountOptions } from './crates/filesystem.js';
export { addDebianBackports, addEpel, type BackportsOptions } from './crates/repositories.js';
export {
  etcHosts,
  hostsForGroup,
  setHostname,
  type HostEntry,
  type EtcHostsOptions,
  type SetHostnameOptions,
} from './crates/etc-hosts.js';

// Users
export { makeUser, defaultAdminUser, type User, type MakeUserOptions } from './core/user.js';
export { secret } from './core/secrets.js';

// Errors
export {
  SpecError,
  PlanError,
  NodeValueError,
  ComputeError,
  TransportError,
  PhaseErrors,
  isPalletError,
} from './core/errors.js';
