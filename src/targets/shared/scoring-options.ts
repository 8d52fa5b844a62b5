/**
 * The scoring-server options every replica runs with, whatever runs it (a child process reads them
 * from a JSON file, a container image bakes them in). Auth is off: the endpoint gateway checks
 * keys. The replica's own concurrency is the deployment's per-instance limit with a queue of the
 * same size, so the gateway's admission bound (2 × max × instances) always fits; its timeout is a
 * little longer than the gateway's, so a client sees the gateway's 408 rather than a replica's 504.
 */
import { join } from 'node:path';
import type { ScoringOptions } from '../../scoring/options.js';
import type { ResolvedDeployment } from '../target.js';

/** How much later than the gateway a replica gives up on a request. */
export const replicaTimeoutGraceMs = 500;

/**
 * How long a stopping replica may take before it is killed: the server waits requestTimeout (+ its
 * grace) for in-flight requests, and gets a margin on top.
 */
export function replicaStopGraceMs(spec: ResolvedDeployment): number {
  return spec.requestSettings.requestTimeoutMs + replicaTimeoutGraceMs + 3000;
}

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
