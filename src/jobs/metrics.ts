/**
 * The metrics a run logged (`metrics.jsonl`, one JSON line per value), as series, and the small
 * terminal chart `berth job show` prints for each. A line that is not a metric (a script that
 * wrote garbage, a line cut by a kill) is skipped and counted, never fatal.
 */
import { readFile } from 'node:fs/promises';
import { metricLineSchema } from './records.js';
import type { RunFolder } from './run-folder.js';

export interface MetricPoint {
  step: number;
  value: number;
  /** Milliseconds since the epoch, when the writer gave one. */
  timestamp: number | undefined;
}

export interface MetricSeries {
  /** The key as logged; a rank above 0 is shown as `key[rank]`. */
  key: string;
  points: MetricPoint[];
  last: number;
  min: number;
  max: number;
}

export interface RunMetrics {
  series: MetricSeries[];
  /** Lines that were not metrics. */
  skipped: number;
}

export async function readMetrics(folder: RunFolder): Promise<RunMetrics> {
  const text = await readFile(folder.metricsFile, 'utf8').catch(() => '');
  const byKey = new Map<string, MetricPoint[]>();
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let parsed;
    try {
      parsed = metricLineSchema.safeParse(JSON.parse(line));
    } catch {
      skipped += 1;
      continue;
    }
    if (!parsed.success) {
      skipped += 1;
      continue;
    }
    const metric = parsed.data;
    const key = metric.rank === undefined || metric.rank === 0 ? metric.key : `${metric.key}[${metric.rank}]`;
    const points = byKey.get(key) ?? [];
    const point = { step: metric.step ?? points.length, value: metric.value, timestamp: metric.timestamp };
    // A retried run that resumes from a checkpoint logs some steps again: the later value wins,
    // so no step is reported twice.
    const same = metric.step === undefined ? -1 : points.findIndex((p) => p.step === metric.step);
    if (same >= 0) points[same] = point;
    else points.push(point);
    byKey.set(key, points);
  }
  const series = [...byKey.entries()].map(([key, points]) => {
    const values = points.map((point) => point.value);
    return { key, points, last: values.at(-1) ?? 0, min: Math.min(...values), max: Math.max(...values) };
  });
  return { series, skipped };
}

const bars = '▁▂▃▄▅▆▇█';

/** A one-line chart of the values, at most `width` characters (averaging neighbours when longer). */
export function sparkline(values: readonly number[], width = 40): string {
  if (values.length === 0) return '';
  const buckets = Math.min(width, values.length);
  const points: number[] = [];
  for (let i = 0; i < buckets; i += 1) {
    const from = Math.floor((i * values.length) / buckets);
    const to = Math.max(from + 1, Math.floor(((i + 1) * values.length) / buckets));
    const slice = values.slice(from, to);
    points.push(slice.reduce((sum, v) => sum + v, 0) / slice.length);
  }
  const min = Math.min(...points);
  const max = Math.max(...points);
  return points
    .map(
      (value) => bars[max === min ? 3 : Math.round(((value - min) / (max - min)) * (bars.length - 1))] ?? '',
    )
    .join('');
}
