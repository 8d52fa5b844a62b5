/** Latency percentiles by the nearest-rank method. */
import type { SloPercentile } from './settings.js';

export type LatencyPercentiles = Record<'p50' | 'p90' | 'p95' | 'p99' | 'p99.9', number>;

const ranks: Record<SloPercentile, number> = { p50: 0.5, p90: 0.9, p95: 0.95, p99: 0.99, 'p99.9': 0.999 };

/** undefined for no samples. */
export function percentiles(values: number[]): LatencyPercentiles | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => {
    const value = sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
    return Math.round(value * 1000) / 1000;
  };
  return {
    p50: at(ranks.p50),
    p90: at(ranks.p90),
    p95: at(ranks.p95),
    p99: at(ranks.p99),
    'p99.9': at(ranks['p99.9']),
  };
}
