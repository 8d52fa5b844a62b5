/**
 * The replica's state as `GET /berth/status` answers it (the shared contract the targets read to
 * give a replica's state a reason), and the liveness every front end's probe answers from it:
 *
 * `{ live, ready, workers: { configured, alive }, replaced: { timeout, crash, memory, exit },
 *    lastFailure: { cause, message, at } | null, memory: { limitBytes, rssBytes } }`
 *
 * `live` is false when the replica can no longer score by itself (no worker can start, or memory
 * is over the limit and no worker holds it): a supervisor should replace it. `ready` is live and
 * every model loaded. `alive` counts workers started and serving now.
 */
import type { EngineHealth, InferenceEngine } from './engine.js';

export interface ReplicaStatus extends Omit<EngineHealth, 'reason'> {
  ready: boolean;
}

/** For an engine that does not report health (a test double): live, with what is known. */
function assumedHealth(memoryLimitBytes: number): EngineHealth {
  return {
    live: true,
    reason: undefined,
    workers: { configured: 0, alive: 0 },
    replaced: { timeout: 0, crash: 0, memory: 0, exit: 0 },
    lastFailure: null,
    memory: { limitBytes: memoryLimitBytes, rssBytes: process.memoryUsage.rss() },
  };
}

export function engineHealth(engine: InferenceEngine, memoryLimitBytes: number): EngineHealth {
  return engine.health?.() ?? assumedHealth(memoryLimitBytes);
}

export function replicaStatus(engine: InferenceEngine, memoryLimitBytes: number): ReplicaStatus {
  const health = engineHealth(engine, memoryLimitBytes);
  return {
    live: health.live,
    ready: health.live && engine.isReady(),
    workers: health.workers,
    replaced: health.replaced,
    lastFailure: health.lastFailure,
    memory: health.memory,
  };
}
