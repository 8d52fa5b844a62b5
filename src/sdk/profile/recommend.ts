/**
 * From measured steps to advice. Closed-loop steps find each run's best step (the highest RPS
 * within the SLO, without errors); a fixed-rate run at that RPS then confirms it (a confirmation).
 * The highest confirmed rate is the max sustained RPS; its step gives the CPU (cores the replica
 * used), max_concurrent_requests_per_instance (the step's concurrency) and max_batch_size (1:
 * batching off); memory is the measured peak × 1.5; instances = target RPS ÷ the sustained rate.
 */
import type { LatencyPercentiles } from './stats.js';
import type { LatencySlo } from './settings.js';

export const MEMORY_HEADROOM = 1.5;

export interface ProfileStep {
  /** The trial replica's max_batch_size; 1 is batching off. */
  maxBatchSize: number;
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

/** A fixed-rate run at a step's rate, on the same trial replica: what it sustained. */
export interface Confirmation {
  maxBatchSize: number;
  /** The concurrency of the step whose rate is confirmed. */
  concurrency: number;
  /** The rate offered. */
  rps: number;
  /** Answers (2xx) per second. */
  achievedRps: number;
  /** Failed or refused requests, and sends past the load generator's bound. */
  errors: number;
  latencyMs: LatencyPercentiles | null;
  /** No error, the SLO met, and at least 95% of the rate answered. */
  withinSlo: boolean;
}

/** A confirmation counts when the answers kept up with at least this share of the rate. */
export const CONFIRMED_SHARE = 0.95;

export function confirmed(
  run: Pick<Confirmation, 'rps' | 'achievedRps' | 'errors' | 'latencyMs'>,
  slo: LatencySlo | null,
): boolean {
  return withinSlo(run, slo) && run.achievedRps >= run.rps * CONFIRMED_SHARE;
}

/**
 * The rate to try after a fixed-rate run that was not sustained: 85% of it, or 90% of what was
 * answered when that is lower (a replica that answered 40/s of 200 is tried at 36, not 170).
 */
export function nextRate(run: Pick<Confirmation, 'rps' | 'achievedRps'>): number {
  return Math.round(Math.min(run.rps * 0.85, run.achievedRps * 0.9) * 10) / 10;
}

/** The confirmation with the highest rate within the SLO; undefined when none is. */
export function bestConfirmation(confirmations: Confirmation[]): Confirmation | undefined {
  let best: Confirmation | undefined;
  for (const run of confirmations)
    if (run.withinSlo && (best === undefined || run.rps > best.rps)) best = run;
  return best;
}

export interface Recommendation {
  memoryBytes: number | null;
  memory: string | null;
  memoryRule: string;
  cpu: number | null;
  cpuRule: string;
  maxConcurrentRequestsPerInstance: number | null;
  /** max_batch_size of the best step; 1 means leave batching off. */
  maxBatchSize: number | null;
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
  confirmations: Confirmation[],
  peakRssBytes: number | null,
  targetRps: number | null,
  memorySource = 'peak RSS of the server process',
): Recommendation {
  const sustained = bestConfirmation(confirmations);
  const best = steps.find(
    (step) =>
      sustained !== undefined &&
      step.maxBatchSize === sustained.maxBatchSize &&
      step.concurrency === sustained.concurrency,
  );
  const memoryBytes = peakRssBytes === null ? null : Math.ceil(peakRssBytes * MEMORY_HEADROOM);
  const cpu = best?.cpuCores == null ? null : Math.max(0.1, Math.ceil(best.cpuCores * 10) / 10);
  return {
    memoryBytes,
    memory: memoryBytes === null ? null : `${Math.ceil(memoryBytes / 2 ** 20)}Mi`,
    memoryRule: `measured ${memorySource} x ${MEMORY_HEADROOM}`,
    cpu,
    cpuRule: 'cores the replica used at the step whose rate was sustained, rounded up to 0.1',
    maxConcurrentRequestsPerInstance: best?.concurrency ?? null,
    maxBatchSize: best?.maxBatchSize ?? null,
    targetRps,
    instances:
      targetRps === null || sustained === undefined || sustained.rps <= 0
        ? null
        : Math.ceil(targetRps / sustained.rps),
  };
}
