/**
 * `berth profile`: start a trial scoring server for one model on this machine, warm it, drive it at
 * rising concurrency, measure each step, and recommend resources. Writes profile.json and
 * latency.svg to the output folder.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ModelToServe } from '../../scoring/engine.js';
import { BerthError } from '../../core/errors.js';
import { driveLoad, warmUp } from './load.js';
import { latencyPlot } from './plot.js';
import { bestStep, recommend, withinSlo, type ProfileStep, type Recommendation } from './recommend.js';
import type { ProfileSamples } from './samples.js';
import type { LatencySlo, ProfileSettings } from './settings.js';
import { percentiles } from './stats.js';
import { startTrialServer, type ProcessSample } from './trial-server.js';

export { profileSettings, type ProfileFlags, type ProfileSettings } from './settings.js';
export { readSamples, samplesFromSignature } from './samples.js';

/** Requests sent one at a time before measuring; a failure here stops the profile. */
const WARMUP_REQUESTS = 20;
const SAMPLE_EVERY_MS = 100;

export interface ProfileResult {
  model: { name: string; version: string };
  durationMs: number;
  slo: LatencySlo | null;
  samples: { source: ProfileSamples['source']; count: number };
  steps: ProfileStep[];
  peakRssBytes: number | null;
  maxSustainedRps: number | null;
  recommendation: Recommendation;
  files: { json: string; svg: string };
}

async function measureStep(
  server: Awaited<ReturnType<typeof startTrialServer>>,
  samples: ProfileSamples,
  concurrency: number,
  settings: ProfileSettings,
): Promise<ProfileStep> {
  const before = await server.sample();
  let peak: number | null = before?.rssBytes ?? null;
  const watch = setInterval(() => {
    void server.sample().then((s) => {
      if (s !== undefined) peak = Math.max(peak ?? 0, s.rssBytes);
    });
  }, SAMPLE_EVERY_MS);
  let load;
  let after: ProcessSample | undefined;
  try {
    load = await driveLoad(server.url, samples.requests, concurrency, settings.stepMs);
    after = await server.sample();
  } finally {
    clearInterval(watch);
  }
  if (after !== undefined) peak = Math.max(peak ?? 0, after.rssBytes);
  const latencyMs = percentiles(load.latenciesMs) ?? null;
  const step = {
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

export async function runProfile(
  model: ModelToServe,
  samples: ProfileSamples,
  settings: ProfileSettings,
  outputDir: string,
  onStep: (step: ProfileStep) => void = () => undefined,
): Promise<ProfileResult> {
  const server = await startTrialServer(model, settings.maxConcurrency);
  const steps: ProfileStep[] = [];
  let last: ProcessSample | undefined;
  try {
    const failure = await warmUp(server.url, samples.requests, WARMUP_REQUESTS);
    if (failure !== null) throw new BerthError('BAD_INPUT', `a warm-up request failed: ${failure}`);
    for (const concurrency of settings.concurrencies) {
      const step = await measureStep(server, samples, concurrency, settings);
      steps.push(step);
      onStep(step);
    }
    last = await server.sample();
  } finally {
    await server.stop();
  }
  // VmHWM can miss a peak freed by madvise (V8 returns pages so), so the sampled RSS counts too.
  const peaks = [last?.peakRssBytes, ...steps.map((s) => s.peakRssBytes)].filter(
    (p): p is number => typeof p === 'number',
  );
  const peakRssBytes = peaks.length === 0 ? null : Math.max(...peaks);
  const best = bestStep(steps);
  const dir = resolve(outputDir);
  const files = { json: join(dir, 'profile.json'), svg: join(dir, 'latency.svg') };
  const result: ProfileResult = {
    model: { name: model.name, version: model.version },
    durationMs: settings.durationMs,
    slo: settings.slo,
    samples: { source: samples.source, count: samples.requests.length },
    steps,
    peakRssBytes,
    maxSustainedRps: best?.rps ?? null,
    recommendation: recommend(steps, peakRssBytes, settings.targetRps),
    files,
  };
  await mkdir(dir, { recursive: true });
  await writeFile(files.json, `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(
    files.svg,
    latencyPlot(`${model.name}:${model.version} latency against concurrency`, steps, settings.slo),
  );
  return result;
}
