/**
 * From measured steps to advice: the best RPS among steps within the SLO (and without errors),
 * memory from the measured peak RSS × 1.5, CPU from the cores the server used at that step, the
 * step's concurrency as max_concurrent_requests_per_instance, and instances for a target RPS.
 */
import type { LatencyPercentiles } from './stats.js';
import type { LatencySlo } from './settings.js';

export const MEMORY_HEADROOM = 1.5;

export interface ProfileStep {
  concurrency: number;
  durationMs: number;
  requests: number;
  errors: number;
  firstError: string | null;
  rps: number;
  latencyMs: LatencyPercentiles | null;
  /** Cores the server process used on average during the step; null where unmeasured. */
  cpuCores: number | null;
  peakRssBytes: number | null;
  withinSlo: boolean;
}

export interface Recommendation {
  memoryBytes: number | null;
  memory: string | null;
  memoryRule: string;
  cpu: number | null;
  cpuRule: string;
  maxConcurrentRequestsPerInstance: number | null;
  targetRps: number | null;
  instances: number | null;
}

export function withinSlo(step: Pick<ProfileStep, 'errors' | 'latencyMs'>, slo: LatencySlo | null): boolean {
  if (step.errors > 0 || step.latencyMs === null) return false;
  return slo === null || step.latencyMs[slo.percentile] <= slo.ms;
}

/** The step with the highest RPS within the SLO; undefined when none is. */
export function bestStep(steps: ProfileStep[]): ProfileStep | undefined {
  let best: ProfileStep | undefined;
  for (const step of steps) if (step.withinSlo && (best === undefined || step.rps > best.rps)) best = step;
  return best;
}

export function recommend(
  steps: ProfileStep[],
  peakRssBytes: number | null,
  targetRps: number | null,
): Recommendation {
  const best = bestStep(steps);
  const memoryBytes = peakRssBytes === null ? null : Math.ceil(peakRssBytes * MEMORY_HEADROOM);
  const cpu = best?.cpuCores == null ? null : Math.max(0.1, Math.ceil(best.cpuCores * 10) / 10);
  return {
    memoryBytes,
    memory: memoryBytes === null ? null : `${Math.ceil(memoryBytes / 2 ** 20)}Mi`,
    memoryRule: `measured peak RSS of the server process x ${MEMORY_HEADROOM}`,
    cpu,
    cpuRule: 'cores the server process used at the best step within the SLO, rounded up to 0.1',
    maxConcurrentRequestsPerInstance: best?.concurrency ?? null,
    targetRps,
    instances:
      targetRps === null || best === undefined || best.rps <= 0 ? null : Math.ceil(targetRps / best.rps),
  };
}
