/** The printed table and the ratios the benchmark exists to show. */
import type { LoadResult } from './http-load.js';
import type { RawResult } from './raw-ort.js';
import { round } from './stats.js';

export interface Series {
  label: string;
  model: string;
  results: LoadResult[];
}

export interface Ratios {
  [name: string]: number | null;
}

export function at(series: Series | undefined, concurrency: number): LoadResult | undefined {
  return series?.results.find((result) => result.concurrency === concurrency);
}

export function ratio(a: number | undefined, b: number | undefined): number | null {
  return a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0
    ? null
    : round(a / b, 3);
}

function pad(text: string | number, width: number, left = false): string {
  const value = String(text);
  return left ? value.padEnd(width) : value.padStart(width);
}

export function printRaw(raw: RawResult): void {
  console.log(
    `\nraw onnxruntime-node, ${raw.model} (in process; sessions > 1 run at once on worker threads)`,
  );
  console.log(`${pad('threads', 12)} ${pad('batch', 6)} ${pad('items/s', 10)} ${pad('ms/run', 9)}`);
  const rows = [
    { ...raw.default, label: 'default' },
    ...raw.points.map((p) => ({
      ...p,
      label: p.sessions > 1 ? `${p.sessions} x ${p.threads}` : String(p.threads),
    })),
  ];
  for (const row of rows) {
    console.log(
      `${pad(row.label, 12)} ${pad(row.batch, 6)} ${pad(round(row.itemsPerSecond, 0), 10)} ${pad(round(row.runMs, 3), 9)}`,
    );
  }
  console.log(
    `best: ${raw.best.sessions > 1 ? `${raw.best.sessions} sessions x ` : ''}threads ${raw.best.threads ?? 'default'} batch ${raw.best.batch} = ${round(raw.best.itemsPerSecond, 0)} items/s, ` +
      `${round(raw.bestOverDefault, 2)}x the default (batch 1, default threads)`,
  );
}

export function printSeries(title: string, series: Series[]): void {
  console.log(`\n${title}`);
  console.log(
    `${pad('server', 26, true)} ${pad('conc', 5)} ${pad('items/s', 10)} ${pad('req/s', 10)} ${pad('p50 ms', 9)} ${pad('p99 ms', 9)} ${pad('errors', 7)} ${pad('gen %', 6)} ${pad('main µs/req', 12)}`,
  );
  for (const entry of series) {
    for (const r of entry.results) {
      console.log(
        `${pad(entry.label, 26, true)} ${pad(r.concurrency, 5)} ${pad(round(r.itemsPerSecond, 0), 10)} ${pad(round(r.requestsPerSecond, 0), 10)} ` +
          `${pad(round(r.p50Ms, 2), 9)} ${pad(round(r.p99Ms, 2), 9)} ${pad(r.errors, 7)} ` +
          `${pad(r.generatorShare === undefined ? '' : round(r.generatorShare * 100, 1), 6)} ` +
          pad(r.serverMainMicrosPerRequest === undefined ? '' : round(r.serverMainMicrosPerRequest, 1), 12),
      );
    }
  }
}

export function printRatios(ratios: Ratios): void {
  console.log('\nratios');
  for (const [name, value] of Object.entries(ratios))
    console.log(`  ${pad(name, 76, true)} ${value ?? 'n/a'}`);
}
