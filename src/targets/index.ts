/**
 * Compute targets: the contract (target.ts), the capabilities table, the registry, deploy-time
 * validation and the advisor.
 */
export { targetKinds, deploymentStages, workKinds } from './target.js';
export type {
  ComputeTarget,
  DeploymentHandle,
  DeploymentStage,
  DeploymentState,
  DeploymentStatus,
  LogLine,
  LogOptions,
  ProbeSettings,
  Progress,
  ReplicaStatus,
  ResolvedDeployment,
  TargetCapabilities,
  TargetKind,
  WorkKind,
  WorkSupport,
} from './target.js';
export { formatBytes, targetCapabilities, workSupport } from './capabilities.js';
export { parseTargetConfig, targetConfigSchema } from './config.js';
export type { TargetConfig } from './config.js';
export { createTarget, openBatchTarget, realtimeTarget, targetProviders } from './registry.js';
export type {
  BatchFacet,
  BatchTarget,
  TargetConfigOf,
  TargetFactory,
  TargetProvider,
  TargetSettings,
} from './registry.js';
export { NotImplementedTarget } from './not-implemented.js';
export { validateForTarget } from './validate.js';
export { recommendTarget, startingMemory, whyNot } from './advisor.js';
export type { Recommendation, RecommendOptions, Sizing, TargetChoice, Workload } from './advisor.js';
export { createLocalTarget, LocalTarget } from './local/index.js';
export { deploymentId } from './shared/replica-set-target.js';
export type { LocalTargetConfig, ResolvedLocalTargetConfig } from './local/index.js';
export {
  ContainerTarget,
  createContainerTarget,
  packageImage,
  writeBuildContext,
} from './container/index.js';
export type {
  ContainerTargetConfig,
  PackageResult,
  ResolvedContainerTargetConfig,
} from './container/index.js';
