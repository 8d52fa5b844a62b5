/**
 * The numbers a user gives `berth profile`, read and bounded: every one out of range is a
 * BAD_INPUT error (exit 2) that names the flag and its range.
 */
import { BerthError } from '../../core/errors.js';
import { hasDynamicBatchDimension, type ModelSignature } from '../../core/tensor.js';

export const sloPercentiles = ['p50', 'p90', 'p95', 'p99', 'p99.9'] as const;
export type SloPercentile = (typeof sloPercentiles)[number];

export interface LatencySlo {
  percentile: SloPercentile;
  ms: number;
}

export interface ProfileSettings {
  durationMs: number;
  maxConcurrency: number;
  slo: LatencySlo | null;
  targetRps: number | null;
  /** The load steps: 1, 2, 4, … up to maxConcurrency (which is always the last). */
  concurrencies: number[];
  /** Each step's share of the duration when batching is not tried (the plan divides it further). */
  stepMs: number;
  /** --batch-sizes: the max_batch_size settings to try, or 'auto' (1, 4, 16 as the model allows). */
  batchSizes: number[] | 'auto';
}

/** One trial replica's settings and the concurrency steps run against it. */
export interface ProfileRun {
  /** The replica's max_batch_size; 1 is batching off. */
  maxBatchSize: number;
  concurrencies: number[];
}

/** What a profile runs, in order, and each step's time. */
export interface ProfilePlan {
  runs: ProfileRun[];
  stepMs: number;
}

export const DURATION_BOUNDS_MS = { min: 1_000, max: 600_000 } as const;
export const MAX_CONCURRENCY_BOUNDS = { min: 1, max: 256 } as const;
export const SLO_BOUNDS_MS = { min: 0.1, max: 60_000 } as const;
export const TARGET_RPS_BOUNDS = { min: 0.001, max: 1_000_000 } as const;
/** A step shorter than this measures start-up more than load. */
export const MIN_STEP_MS = 250;
/** max_batch_size settings tried by default, where the model has a batch dimension. */
export const AUTO_BATCH_SIZES = [1, 4, 16] as const;
export const BATCH_SIZE_BOUNDS = { min: 1, max: 256 } as const;

const unitsMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };

/** "20s", "1500ms", "2m" or a bare number of seconds, in milliseconds. */
export function parseDuration(value: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  if (match === null) {
    throw new BerthError(
      'BAD_INPUT',
      `${flag} must be a duration such as 20s, 1500ms or 2m, got ${JSON.stringify(value)}`,
    );
  }
  return Number(match[1]) * (unitsMs[match[2] ?? 's'] ?? 1000);
}

function bounded(value: number, bounds: { min: number; max: number }, flag: string, unit: string): number {
  if (!Number.isFinite(value) || value < bounds.min || value > bounds.max) {
    throw new BerthError(
      'BAD_INPUT',
      `${flag} must be between ${bounds.min}${unit} and ${bounds.max}${unit}, got ${value}${unit}`,
    );
  }
  return value;
}

/** "p99=50ms" (or p50, p90, p95, p99.9; ms or s). */
export function parseSlo(value: string): LatencySlo {
  const match = /^(p50|p90|p95|p99|p99\.9)=(.+)$/.exec(value.trim());
  if (match === null) {
    throw new BerthError(
      'BAD_INPUT',
      `--latency-slo must look like p99=50ms (percentile one of ${sloPercentiles.join(', ')}), got ${JSON.stringify(value)}`,
    );
  }
  const ms = bounded(parseDuration(match[2] ?? '', '--latency-slo'), SLO_BOUNDS_MS, '--latency-slo', 'ms');
  return { percentile: match[1] as SloPercentile, ms };
}

export function concurrencySteps(max: number): number[] {
  const steps: number[] = [];
  for (let c = 1; c < max; c *= 2) steps.push(c);
  steps.push(max);
  return steps;
}

export interface ProfileFlags {
  duration: string;
  maxConcurrency: string;
  latencySlo?: string;
  targetRps?: string;
  /** "auto" (the default) or a list such as "1,8". */
  batchSizes?: string;
}

export function parseBatchSizes(value: string | undefined): number[] | 'auto' {
  if (value === undefined || value.trim() === 'auto') return 'auto';
  const parts = value.split(',').map((part) => part.trim());
  if (parts.length === 0 || parts.some((part) => !/^\d+$/.test(part))) {
    throw new BerthError(
      'BAD_INPUT',
      `--batch-sizes must be auto or whole numbers separated by commas (e.g. 1,4,16), got ${JSON.stringify(value)}`,
    );
  }
  const sizes = parts.map((part) => bounded(Number(part), BATCH_SIZE_BOUNDS, '--batch-sizes', ''));
  return [...new Set(sizes)].sort((a, b) => a - b);
}

/**
 * The runs of a profile: max_batch_size 1 over every concurrency step, then each larger batch size
 * over the steps from 2 clients up (one request at a time never fills a batch), each run followed
 * by a fixed-rate check of its best rate, one step long. Batching is tried
 * only where every input and output has a dynamic first dimension; `auto` also leaves out sizes above
 * --max-concurrency, which the load could never fill. The duration is shared by all steps and
 * checks; a check that misses is tried again at 85% of the rate, one step more.
 */
export function profilePlan(settings: ProfileSettings, signature: ModelSignature | null): ProfilePlan {
  const batchable = signature !== null && hasDynamicBatchDimension(signature);
  const explicit = settings.batchSizes === 'auto' ? undefined : settings.batchSizes;
  if (explicit !== undefined && !batchable && explicit.some((size) => size > 1)) {
    throw new BerthError(
      'BAD_INPUT',
      '--batch-sizes above 1 need a model whose inputs and outputs all have a dynamic first (batch) dimension; this one has none',
    );
  }
  const sizes =
    explicit ?? (batchable ? AUTO_BATCH_SIZES.filter((size) => size <= settings.maxConcurrency) : [1]);
  const runs = (sizes as readonly number[]).flatMap((maxBatchSize): ProfileRun[] => {
    const concurrencies =
      maxBatchSize === 1 ? settings.concurrencies : settings.concurrencies.filter((c) => c >= 2);
    return concurrencies.length === 0 ? [] : [{ maxBatchSize, concurrencies }];
  });
  const steps = runs.reduce((sum, run) => sum + run.concurrencies.length, 0);
  if (steps === 0) {
    throw new BerthError('BAD_INPUT', '--batch-sizes above 1 need --max-concurrency 2 or more');
  }
  // Each run ends with a fixed-rate check of its best rate, one step long.
  const slots = steps + runs.length;
  const stepMs = Math.floor(settings.durationMs / slots);
  if (stepMs < MIN_STEP_MS) {
    throw new BerthError(
      'BAD_INPUT',
      `--duration ${settings.durationMs}ms is too short for ${steps} load steps and ${runs.length} fixed-rate checks (max_batch_size ${runs.map((run) => run.maxBatchSize).join(', ')}, up to --max-concurrency ${settings.maxConcurrency}): give at least ${MIN_STEP_MS * slots}ms, or fewer --batch-sizes`,
    );
  }
  return { runs, stepMs };
}

export function profileSettings(flags: ProfileFlags): ProfileSettings {
  const durationMs = bounded(
    parseDuration(flags.duration, '--duration'),
    DURATION_BOUNDS_MS,
    '--duration',
    'ms',
  );
  if (!/^\d+$/.test(flags.maxConcurrency.trim())) {
    throw new BerthError(
      'BAD_INPUT',
      `--max-concurrency must be a whole number, got ${JSON.stringify(flags.maxConcurrency)}`,
    );
  }
  const maxConcurrency = bounded(
    Number(flags.maxConcurrency),
    MAX_CONCURRENCY_BOUNDS,
    '--max-concurrency',
    '',
  );
  const targetRps =
    flags.targetRps === undefined
      ? null
      : bounded(Number(flags.targetRps), TARGET_RPS_BOUNDS, '--target-rps', '');
  const concurrencies = concurrencySteps(maxConcurrency);
  const stepMs = Math.floor(durationMs / concurrencies.length);
  if (stepMs < MIN_STEP_MS) {
    throw new BerthError(
      'BAD_INPUT',
      `--duration ${durationMs}ms is too short for ${concurrencies.length} load steps (up to --max-concurrency ${maxConcurrency}): give at least ${MIN_STEP_MS * concurrencies.length}ms`,
    );
  }
  return {
    durationMs,
    maxConcurrency,
    slo: flags.latencySlo === undefined ? null : parseSlo(flags.latencySlo),
    targetRps,
    concurrencies,
    stepMs,
    batchSizes: parseBatchSizes(flags.batchSizes),
  };
}
