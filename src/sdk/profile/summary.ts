/**
 * The part of a profile kept with the model version (core/model-profile.ts): what sizing needs,
 * and where and when it was measured. profile.json keeps the whole result.
 */
import type { ModelProfile } from '../../core/model-profile.js';
import type { ProfileStep, Recommendation } from './recommend.js';
import type { LatencySlo } from './settings.js';

/** The parts of a profile result (index.ts) the summary reads. */
export interface ProfileOutcome {
  target: { name: string; cores: number };
  slo: LatencySlo | null;
  steps: ProfileStep[];
  peakRssBytes: number | null;
  maxSustainedRps: number | null;
  recommendation: Recommendation;
}

export function profileSummary(result: ProfileOutcome, measuredAt: Date = new Date()): ModelProfile {
  return {
    measuredAt: measuredAt.toISOString(),
    target: result.target.name,
    machineCores: result.target.cores,
    slo: result.slo,
    peakRssBytes: result.peakRssBytes,
    maxSustainedRps: result.maxSustainedRps,
    recommendation: {
      memoryBytes: result.recommendation.memoryBytes,
      cpu: result.recommendation.cpu,
      maxConcurrentRequestsPerInstance: result.recommendation.maxConcurrentRequestsPerInstance,
      maxBatchSize: result.recommendation.maxBatchSize,
    },
    steps: result.steps.map((step) => ({
      maxBatchSize: step.maxBatchSize,
      concurrency: step.concurrency,
      rps: step.rps,
      latencyMs: step.latencyMs === null ? null : { p50: step.latencyMs.p50, p99: step.latencyMs.p99 },
      errors: step.errors,
      withinSlo: step.withinSlo,
    })),
  };
}
