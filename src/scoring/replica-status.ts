/**
 * The replica's state as `GET /berth/status` answers it (the shared contract the targets read to
 * give a replica's state a reason), and the liveness every front end's probe answers from it:
 *
 * `{ live, ready, workers: { configured, alive }, replaced: { timeout, crash, memory, exit },
 *    lastFailure: { cause, message, at } | null, memory: { limitBytes, rssBytes },
 *    load: { inFlight, queued, maxConcurrent, arrived, cpuMicros } }`
 *
 * `live` is false when the replica can no longer score by itself (no worker can start, or memory
 * is over the limit and no worker holds it): a supervisor should replace it. `ready` is live and
 * every model loaded. `alive` counts workers started and serving now. `load` is what an autoscaler
 * reads: requests holding and waiting for an admission slot, the slots, requests arrived since the
 * start (refused ones included) and the process's CPU time (all threads) since the start.
 */
import type { Admission, EngineHealth, InferenceEngine } from './engine.js';

export interface ReplicaLoad {
  inFlight: number;
  queued: number;
  maxConcurrent: number;
  arrived: number;
  cpuMicros: number;
}

export interface ReplicaStatus extends Omit<EngineHealth, 'reason'> {
  ready: boolean;
  load?: ReplicaLoad;
}

/** The admission's counts and the process's CPU time, for `load`. */
export function replicaLoad(admission: Admission, maxConcurrent: number): ReplicaLoad {
  const cpu = process.cpuUsage();
  return {
    inFlight: admission.inFlight,
    queued: admission.queued,
    maxConcurrent,
    arrived: admission.arrived ?? 0,
    cpuMicros: cpu.user + cpu.system,
  };
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

export function replicaStatus(
  engine: InferenceEngine,
  memoryLimitBytes: number,
  admission?: { admission: Admission; maxConcurrent: number },
): ReplicaStatus {
  const health = engineHealth(engine, memoryLimitBytes);
  return {
    ...(admission === undefined ? {} : { load: replicaLoad(admission.admission, admission.maxConcurrent) }),
    live: health.live,
    ready: health.live && engine.isReady(),
    workers: health.workers,
    replaced: health.replaced,
    lastFailure: health.lastFailure,
    memory: health.memory,
  };
}
