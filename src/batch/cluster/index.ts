/**
 * The `cluster` batch engine (Redis + BullMQ): the submitting side (`createClusterEngine`, which the
 * target registry's cluster facet opens for `compute: NAME` of a cluster target or
 * `cluster:redis://…`), and the worker side, `startClusterWorker` (what `berth worker` runs).
 */
export { createClusterEngine, type ClusterEngineOptions } from './engine.js';
export { startClusterWorker, type ClusterWorker, type ClusterWorkerOptions } from './worker.js';
export {
  clusterTargetConfigSchema,
  isClusterTarget,
  parseClusterAddress,
  type ClusterTargetConfig,
  type RedisEndpoint,
} from './config.js';
