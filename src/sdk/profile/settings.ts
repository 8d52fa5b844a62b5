/**
 * The numbers a user gives `berth profile`, read and bounded: every one out of range is a
 * BAD_INPUT error (exit 2) that names the flag and its range.
 */
import { BerthError } from '../../core/errors.js';

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
  /** Each step's share of the duration. */
  stepMs: number;
}

export const DURATION_BOUNDS_MS = { min: 1_000, max: 600_000 } as const;
export const MAX_CONCURRENCY_BOUNDS = { min: 1, max: 256 } as const;
export const SLO_BOUNDS_MS = { min: 0.1, max: 60_000 } as const;
export const TARGET_RPS_BOUNDS = { min: 0.001, max: 1_000_000 } as const;
/** A step shorter than this measures start-up more than load. */
export const MIN_STEP_MS = 250;

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
  };
}
