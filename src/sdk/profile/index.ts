/**
 * `berth profile`: start a trial replica for one model on a target (this machine, or a container
 * on a Docker Engine), warm it, drive it at rising concurrency, once per max_batch_size tried,
 * measure each step, and recommend resources. Writes profile.json and latency.svg to the output
 * folder.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { BerthError } from '../../core/errors.js';
import { driveLoad, warmUp } from './load.js';
import { latencyPlot } from './plot.js';
import { fixedRate } from './fixed-rate.js';
import {
  bestConfirmation,
  bestStep,
  confirmed,
  nextRate,
  recommend,
  withinSlo,
  type Confirmation,
  type ProfileStep,
  type Recommendation,
} from './recommend.js';
import type { ProfileSamples } from './samples.js';
import type { LatencySlo, ProfilePlan, ProfileSettings } from './settings.js';
import { percentiles } from './stats.js';
import type { ResourceSample, TrialReplica, TrialSite } from './trial.js';

export {
  profilePlan,
  profileSettings,
  type ProfileFlags,
  type ProfilePlan,
  type ProfileSettings,
} from './settings.js';
export { localSite } from './trial-server.js';
export { containerSite } from './trial-container.js';
export type { TrialSite } from './trial.js';
export { readSamples, samplesFromSignature } from './samples.js';
export { profileSummary } from './summary.js';

/** Requests sent one at a time before measuring; a failure here stops the profile. */
const WARMUP_REQUESTS = 20;
const SAMPLE_EVERY_MS = 100;
/** Fixed-rate checks per run: the best step's rate, then lower ones until one is sustained. */
const CONFIRM_TRIES = 3;

export interface ProfileResult {
  model: { name: string; version: string };
  /** The target the trial replicas ran on, and its cores. */
  target: { name: string; cores: number };
  durationMs: number;
  /** The max_batch_size settings tried, in order. */
  batchSizes: number[];
  slo: LatencySlo | null;
  samples: { source: ProfileSamples['source']; count: number };
  steps: ProfileStep[];
  /** Per run, fixed-rate runs at its best step's rate, then lower ones until one is sustained. */
  confirmations: Confirmation[];
  peakRssBytes: number | null;
  maxSustainedRps: number | null;
  recommendation: Recommendation;
  files: { json: string; svg: string };
}

async function measureStep(
  server: TrialReplica,
  samples: ProfileSamples,
  concurrency: number,
  maxBatchSize: number,
  settings: ProfileSettings,
  stepMs: number,
): Promise<ProfileStep> {
  const before = await server.sample();
  let peak: number | null = before?.memoryBytes ?? null;
  // One reading at a time: a slow engine answer must not pile up readings.
  let reading = false;
  const watch = setInterval(() => {
    if (reading) return;
    reading = true;
    void server.sample().then((s) => {
      reading = false;
      if (s !== undefined) peak = Math.max(peak ?? 0, s.memoryBytes);
    });
  }, SAMPLE_EVERY_MS);
  let load;
  let after: ResourceSample | undefined;
  try {
    load = await driveLoad(server.url, samples.requests, concurrency, stepMs, server.headers);
    after = await server.sample();
  } finally {
    clearInterval(watch);
  }
  if (after !== undefined) peak = Math.max(peak ?? 0, after.memoryBytes);
  const latencyMs = percentiles(load.latenciesMs) ?? null;
  const step = {
    maxBatchSize,
    concurrency,
    durationMs: Math.round(load.elapsedMs),
    requests: load.latenciesMs.length,
    errors: load.errors,
    firstError: load.firstError,
    rps: Math.round((load.latenciesMs.length / (load.elapsedMs / 1000)) * 10) / 10,
    latencyMs,
    cpuCores:
      before === undefined || after === undefined
        ? null
        : Math.round(((after.cpuSeconds - before.cpuSeconds) / (load.elapsedMs / 1000)) * 100) / 100,
    peakRssBytes: peak,
  };
  return { ...step, withinSlo: withinSlo(step, settings.slo) };
}

/**
 * Closed-loop steps bound the queue by their concurrency; a user's traffic does not wait for
 * answers. So the run's best rate is offered at a fixed rate for one step's time, and while the
 * replica does not sustain it within the SLO, a lower one (nextRate): what counts is the rate
 * sustained.
 */
async function confirm(
  server: TrialReplica,
  samples: ProfileSamples,
  settings: ProfileSettings,
  best: ProfileStep | undefined,
  stepMs: number,
): Promise<Confirmation[]> {
  const runs: Confirmation[] = [];
  if (best === undefined || best.rps <= 0) return runs;
  let rps = best.rps;
  for (let attempt = 0; attempt < CONFIRM_TRIES && rps > 0; attempt += 1) {
    const fixed = await fixedRate(server.url, samples.requests, server.headers, rps, stepMs);
    const run = {
      maxBatchSize: best.maxBatchSize,
      concurrency: best.concurrency,
      rps,
      achievedRps: fixed.achievedRps,
      errors: fixed.errors + fixed.dropped,
      latencyMs: fixed.latencyMs ?? null,
    };
    const within = confirmed(run, settings.slo);
    runs.push({ ...run, withinSlo: within });
    if (within) break;
    rps = nextRate(run);
  }
  return runs;
}

/** One trial replica: started, warmed, measured at each of the run's steps, stopped. */
async function runTrial(
  site: TrialSite,
  samples: ProfileSamples,
  settings: ProfileSettings,
  run: ProfilePlan['runs'][number],
  stepMs: number,
  onStep: (step: ProfileStep) => void,
): Promise<{ steps: ProfileStep[]; confirmations: Confirmation[]; last: ResourceSample | undefined }> {
  const server = await site.start({
    maxConcurrency: settings.maxConcurrency,
    maxBatchSize: run.maxBatchSize,
  });
  const steps: ProfileStep[] = [];
  try {
    const failure = await warmUp(server.url, samples.requests, WARMUP_REQUESTS, server.headers);
    if (failure !== null) throw new BerthError('BAD_INPUT', `a warm-up request failed: ${failure}`);
    for (const concurrency of run.concurrencies) {
      const step = await measureStep(server, samples, concurrency, run.maxBatchSize, settings, stepMs);
      steps.push(step);
      onStep(step);
    }
    const confirmations = await confirm(server, samples, settings, bestStep(steps), stepMs);
    return { steps, confirmations, last: await server.sample() };
  } finally {
    await server.stop();
  }
}

export async function runProfile(
  site: TrialSite,
  model: { name: string; version: string },
  samples: ProfileSamples,
  settings: ProfileSettings,
  plan: ProfilePlan,
  outputDir: string,
  onStep: (step: ProfileStep) => void = () => undefined,
): Promise<ProfileResult> {
  const steps: ProfileStep[] = [];
  const confirmations: Confirmation[] = [];
  const peaks: number[] = [];
  for (const run of plan.runs) {
    const trial = await runTrial(site, samples, settings, run, plan.stepMs, onStep);
    steps.push(...trial.steps);
    confirmations.push(...trial.confirmations);
    if (trial.last?.peakMemoryBytes !== undefined) peaks.push(trial.last.peakMemoryBytes);
  }
  // VmHWM can miss a peak freed by madvise (V8 returns pages so), so the sampled memory counts too.
  for (const step of steps) if (step.peakRssBytes !== null) peaks.push(step.peakRssBytes);
  const peakRssBytes = peaks.length === 0 ? null : Math.max(...peaks);
  const best = bestConfirmation(confirmations);
  const dir = resolve(outputDir);
  const files = { json: join(dir, 'profile.json'), svg: join(dir, 'latency.svg') };
  const result: ProfileResult = {
    model: { name: model.name, version: model.version },
    target: { name: site.target, cores: site.cores },
    durationMs: settings.durationMs,
    batchSizes: plan.runs.map((run) => run.maxBatchSize),
    slo: settings.slo,
    samples: { source: samples.source, count: samples.requests.length },
    steps,
    confirmations,
    peakRssBytes,
    maxSustainedRps: best?.rps ?? null,
    recommendation: recommend(steps, confirmations, peakRssBytes, settings.targetRps, site.memorySource),
    files,
  };
  // The plot follows the recommended max_batch_size (batching off when no step was within the SLO).
  const plotted = best?.maxBatchSize ?? 1;
  await mkdir(dir, { recursive: true });
  await writeFile(files.json, `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(
    files.svg,
    latencyPlot(
      `${model.name}:${model.version} on ${site.target}, max_batch_size ${plotted}: latency against concurrency`,
      steps.filter((step) => step.maxBatchSize === plotted),
      settings.slo,
    ),
  );
  return result;
}
