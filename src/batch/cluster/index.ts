/**
 * The `cluster` batch engine (Redis + BullMQ). Importing this module registers the engine for
 * `compute: cluster:redis://…` / `--target cluster:redis://…`; the worker side is
 * `startClusterWorker` (what `berth worker` runs).
 */
import { registerBatchEngine } from '../engines.js';
import { createClusterEngineForJob } from './engine.js';

registerBatchEngine('cluster', createClusterEngineForJob);

export { createClusterEngine, createClusterEngineForJob, type ClusterEngineOptions } from './engine.js';
export { startClusterWorker, type ClusterWorker, type ClusterWorkerOptions } from './worker.js';
export { isClusterTarget, parseClusterAddress, type RedisEndpoint } from './config.js';
