/**
 * berth's public TypeScript API.
 *
 * ```ts
 * import { Workspace } from 'berth';
 *
 * const workspace = await Workspace.init(); // ./.berth, or $BERTH_WORKSPACE
 * const model = await workspace.models.register({
 *   name: 'linear',
 *   path: 'examples/models/linear.onnx',
 *   tags: { team: 'demo' },
 * });
 * console.log(`${model.name}:${model.version}`, model.signature?.inputs);
 * await workspace.close();
 * ```
 */
export { Workspace } from './sdk/workspace.js';
export type { WorkspaceOptions } from './sdk/workspace.js';
export { ModelOperations } from './registry/model-operations.js';
export type { RegisterModelOptions } from './registry/model-operations.js';
export type { ProgressCallback } from './core/progress.js';
export { BatchOperations } from './sdk/batch.js';
export type {
  BatchRunOptions,
  BatchResumeOptions,
  BatchJobStatus,
  BatchJobState,
  BatchProgress,
  LogLine,
} from './sdk/batch.js';

export { JobOperations } from './sdk/jobs.js';
export type { CreateJobOptions, JobView } from './sdk/jobs.js';
export { run, createJobRun } from './jobs/run-log.js';
export type { JobRun } from './jobs/run-log.js';
export type { MetricSeries, MetricPoint, RunMetrics } from './jobs/metrics.js';

export { EndpointOperations } from './sdk/endpoints.js';
export type {
  EndpointOperationsOptions,
  CreateEndpointOptions,
  CreateDeploymentOptions,
  UpdateDeploymentOptions,
  EndpointChanges,
  InvokeOptions,
  InvokeResult,
} from './sdk/endpoints.js';
export { listTargets, recommend, showTarget } from './sdk/targets.js';
export type { Recommendation, TargetRow, Workload } from './sdk/targets.js';

export { BerthError, errorCatalogue, hasErrorCode } from './core/errors.js';
export type { ErrorCode, SerializedError } from './core/errors.js';
export type { ArtifactRef, Framework, ManifestEntry, ModelVersion } from './core/model.js';
export type { Dimension, ModelSignature, TensorDatatype, TensorSpec } from './core/tensor.js';
