/**
 * The engine's health, as /berth/status, /metrics and the liveness routes read it: whether it can
 * still score (a worker is ready or may yet start, and no memory over the limit is left unowned),
 * its workers, their replacements by cause and the latest failure, and its memory.
 */
import type { EngineHealth } from '../engine.js';
import type { MemoryWatch } from './memory-watch.js';
import type { WorkerPool } from './pool.js';

export function engineHealth(pool: WorkerPool, memory: MemoryWatch): EngineHealth {
  const memoryProblem = memory.problem();
  const canScore = pool.canScore();
  const { history } = pool;
  return {
    live: canScore && memoryProblem === undefined,
    reason: !canScore
      ? `no worker can start: ${history.failedStarts} starts in a row failed (${history.lastFailure?.message ?? 'no reason given'})`
      : memoryProblem,
    workers: { configured: pool.size, alive: pool.readyCount() },
    replaced: { ...history.replaced },
    lastFailure: history.lastFailure ?? null,
    memory: { limitBytes: memory.limitBytes, rssBytes: process.memoryUsage.rss() },
  };
}
