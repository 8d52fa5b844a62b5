/** Endpoint and deployment specs (Azure ML CLI v2 shaped YAML), their resolution and API views. */
export {
  endpointSpecSchema,
  specAuthModes,
  type AuthMode,
  type EndpointSpec,
  type SpecAuthMode,
} from './endpoint.js';
export { deploymentSpecSchema, modelFieldSchema, type DeploymentSpec, type ProbeSpec } from './deployment.js';
export { percentMapSchema, type PercentMap } from './common.js';
export { parseCpu, parseMemory } from './quantities.js';
export {
  applySpecEdits,
  defaultTargetName,
  deploymentTargetWarnings,
  parseDeploymentYaml,
  parseEndpointYaml,
  readDeploymentYaml,
  resolveAuthMode,
  type NameOverrides,
  type ParsedSpec,
  type ReadDeploymentSpec,
} from './parse.js';
export type { FieldUse, TargetRef } from './applicability.js';
export {
  batchingDefaults,
  probeDefaults,
  requestDefaults,
  resolveDeploymentSettings,
  type DeploymentSettings,
  type ResolvedProbe,
} from './settings.js';
export {
  initialInstances,
  maxInstances,
  resolveScaleSettings,
  scaleDefaults,
  type ResolvedScaleSettings,
  type TargetUtilization,
} from './scale-settings.js';
export {
  deploymentStates,
  deploymentViewSchema,
  endpointKeysSchema,
  endpointViewSchema,
  replicaViewSchema,
  scalingViewSchema,
  serverStatusSchema,
  type DeploymentStateName,
  type DeploymentView,
  type EndpointKeys,
  type EndpointView,
  type ScalingView,
  type ServerStatus,
} from './views.js';
export {
  kubernetesDetailsSchema,
  type KubernetesAutoscaler,
  type KubernetesCondition,
  type KubernetesDetails,
  type KubernetesEvent,
  type KubernetesPod,
} from './kubernetes-view.js';
