/**
 * The scoring-server options a local replica runs with, written to a JSON file that
 * `main.js --config` reads. Auth is off: the endpoint gateway checks keys. The replica's own
 * concurrency is the deployment's per-instance limit with a queue of the same size, so the
 * gateway's admission bound (2 × max × instances) always fits; its timeout is a little longer
 * than the gateway's, so a client sees the gateway's 408 rather than a replica's 504.
 */
import { join } from 'node:path';
import type { ScoringOptions } from '../../scoring/options.js';
import type { ResolvedDeployment } from '../target.js';

/** How much later than the gateway a replica gives up on a request. */
export const replicaTimeoutGraceMs = 500;

export function scoringOptionsFor(spec: ResolvedDeployment, host: string, dataDir: string): ScoringOptions {
  const { requestSettings, batching, resources, model } = spec;
  return {
    port: 0,
    host,
    auth: null,
    maxConcurrentRequests: requestSettings.maxConcurrentRequestsPerInstance,
    maxQueueSize: requestSettings.maxConcurrentRequestsPerInstance,
    requestTimeoutMs: requestSettings.requestTimeoutMs + replicaTimeoutGraceMs,
    batching,
    // One worker per replica unless asked: replicas scale out, and a laptop has few cores.
    workers: resources.cpu === undefined ? 1 : Math.max(1, Math.floor(resources.cpu)),
    onnx: { executionProviders: resources.gpu > 0 ? ['cuda', 'cpu'] : ['cpu'] },
    models: [
      {
        name: model.name,
        version: model.version,
        framework: model.framework,
        modelDir: model.modelDir,
        modelFile: model.modelFile,
        signature: model.signature,
      },
    ],
    scoringScript: spec.scoringScript,
    dataCollection:
      spec.dataCollection?.enabled === true
        ? { dir: join(dataDir), samplingRate: spec.dataCollection.samplingRate }
        : undefined,
    logLevel: 'info',
  };
}

/** The replica's environment: berth's own, the deployment's variables, and Azure-compatible names. */
export function replicaEnvironment(
  spec: ResolvedDeployment,
  replicaId: string,
): Record<string, string | undefined> {
  return {
    ...process.env,
    AZUREML_MODEL_DIR: spec.model.modelDir,
    BERTH_MODEL_DIR: spec.model.modelDir,
    BERTH_ENDPOINT: spec.endpointName,
    BERTH_DEPLOYMENT: spec.deploymentName,
    BERTH_REPLICA: replicaId,
    ...spec.environmentVariables,
  };
}
