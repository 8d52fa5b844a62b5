/**
 * Prometheus metrics in the text exposition format 0.0.4, written by hand (the scoring server
 * ships inside containers, functions and edge bundles, so it carries no metrics library). Hot
 * paths touch a Map entry and a few numbers; all formatting happens when /metrics is scraped.
 */
import type { EngineHealth } from './engine.js';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelText(names: readonly string[], values: readonly string[], extra = ''): string {
  const parts = names.map((name, i) => `${name}="${escapeLabel(values[i] ?? '')}"`);
  if (extra !== '') parts.push(extra);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

export class Counter {
  private readonly values = new Map<string, { labels: string[]; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[] = [],
  ) {}

  inc(labels: readonly string[] = [], by = 1): void {
    this.entry(labels).value += by;
  }

  /** The live entry for one label set, for a hot path to keep and bump directly. */
  entry(labels: readonly string[] = []): { value: number } {
    const key = labels.join('\u0000');
    let entry = this.values.get(key);
    if (entry === undefined) this.values.set(key, (entry = { labels: [...labels], value: 0 }));
    return entry;
  }

  get(labels: readonly string[] = []): number {
    return this.values.get(labels.join('\u0000'))?.value ?? 0;
  }

  render(): string {
    let text = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} counter\n`;
    if (this.values.size === 0 && this.labelNames.length === 0) text += `${this.name} 0\n`;
    for (const { labels, value } of this.values.values()) {
      text += `${this.name}${labelText(this.labelNames, labels)} ${formatNumber(value)}\n`;
    }
    return text;
  }
}

/** A gauge read when scraped. */
export class Gauge {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => number | undefined,
    /** 'counter' for a total that another part keeps (the engine's restarts). */
    private readonly type: 'gauge' | 'counter' = 'gauge',
  ) {}

  render(): string {
    const value = this.read();
    if (value === undefined) return '';
    return `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} ${this.type}\n${this.name} ${formatNumber(value)}\n`;
  }
}

/** A set of totals that another part keeps, read when scraped: one series per key of `label`. */
export class LabeledReading {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly label: string,
    private readonly read: () => Record<string, number> | undefined,
    private readonly type: 'gauge' | 'counter' = 'counter',
  ) {}

  render(): string {
    const values = this.read();
    if (values === undefined) return '';
    let text = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} ${this.type}\n`;
    for (const [key, value] of Object.entries(values)) {
      text += `${this.name}{${this.label}="${escapeLabel(key)}"} ${formatNumber(value)}\n`;
    }
    return text;
  }
}

export interface Series {
  labels: string[];
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram {
  private readonly series = new Map<string, Series>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
    readonly labelNames: readonly string[] = [],
  ) {}

  observe(value: number, labels: readonly string[] = []): void {
    this.observeIn(this.seriesFor(labels), value);
  }

  /** The live series for one label set, for a hot path to keep and pass to observeIn. */
  seriesFor(labels: readonly string[] = []): Series {
    const key = labels.join('\u0000');
    let series = this.series.get(key);
    if (series === undefined) {
      series = {
        labels: [...labels],
        counts: new Array<number>(this.buckets.length).fill(0),
        sum: 0,
        count: 0,
      };
      this.series.set(key, series);
    }
    return series;
  }

  observeIn(series: Series, value: number): void {
    // Counts are per bucket here and made cumulative when rendered.
    let i = 0;
    while (i < this.buckets.length && value > this.buckets[i]!) i++;
    if (i < this.buckets.length) series.counts[i]!++;
    series.sum += value;
    series.count++;
  }

  count(labels: readonly string[] = []): number {
    return this.series.get(labels.join('\u0000'))?.count ?? 0;
  }

  render(): string {
    let text = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} histogram\n`;
    for (const series of this.series.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.buckets.length; i++) {
        cumulative += series.counts[i]!;
        text += `${this.name}_bucket${labelText(this.labelNames, series.labels, `le="${formatNumber(this.buckets[i]!)}"`)} ${cumulative}\n`;
      }
      text += `${this.name}_bucket${labelText(this.labelNames, series.labels, 'le="+Inf"')} ${series.count}\n`;
      text += `${this.name}_sum${labelText(this.labelNames, series.labels)} ${formatNumber(series.sum)}\n`;
      text += `${this.name}_count${labelText(this.labelNames, series.labels)} ${series.count}\n`;
    }
    return text;
  }
}

const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const batchBuckets = [1, 2, 4, 8, 16, 32, 64, 128];

export interface MetricsSources {
  queueDepth: () => number;
  inFlight: () => number;
  /** Worker restarts, when the engine exposes them. */
  workerRestarts: () => number | undefined;
  /** The engine's health (replacements by cause, workers, memory), when it reports one. */
  health?: () => EngineHealth | undefined;
}

/** The scoring server's metrics. Route labels are route templates, never raw paths. */
export class ScoringMetrics {
  readonly requests = new Counter('berth_http_requests_total', 'HTTP requests by route and status.', [
    'route',
    'status',
  ]);
  readonly requestSeconds = new Histogram(
    'berth_http_request_duration_seconds',
    'HTTP request latency.',
    latencyBuckets,
    ['route'],
  );
  readonly inferenceSeconds = new Histogram(
    'berth_inference_duration_seconds',
    'Engine compute time per request.',
    latencyBuckets,
    ['model'],
  );
  readonly queueSeconds = new Histogram(
    'berth_inference_queue_duration_seconds',
    'Engine queue time per request.',
    latencyBuckets,
    ['model'],
  );
  readonly batchSize = new Histogram(
    'berth_batch_size',
    'Rows per model run (requests per run when the engine does not report runs).',
    batchBuckets,
  );
  readonly rejected = new Counter(
    'berth_admission_rejected_total',
    'Requests refused because the queue was full.',
  );
  readonly timeouts = new Counter('berth_request_timeouts_total', 'Requests that ran past requestTimeoutMs.');
  readonly collected = new Counter(
    'berth_data_collection_records_total',
    'Records written by data collection.',
  );
  readonly collectionDropped = new Counter(
    'berth_data_collection_dropped_total',
    'Records data collection dropped because writing fell behind.',
  );
  private readonly gauges: (Gauge | LabeledReading)[];

  constructor(sources: MetricsSources) {
    // Read once per scrape: every health gauge below comes from the same reading.
    let scrape: EngineHealth | undefined;
    const health = (): EngineHealth | undefined => scrape;
    this.readHealth = () => {
      scrape = sources.health?.();
    };
    this.gauges = [
      new Gauge('berth_queue_depth', 'Requests waiting for an admission slot.', sources.queueDepth),
      new Gauge('berth_requests_in_flight', 'Requests holding an admission slot.', sources.inFlight),
      new Gauge(
        'berth_worker_restarts_total',
        'Engine worker threads replaced, whatever the cause.',
        sources.workerRestarts,
        'counter',
      ),
      new LabeledReading(
        'berth_worker_replacements_total',
        'Engine worker threads replaced, by cause: timeout (a request overran and the thread did not answer), crash, memory, exit.',
        'cause',
        () => health()?.replaced,
      ),
      new Gauge('berth_workers_alive', 'Worker threads started and serving.', () => health()?.workers.alive),
      new Gauge('berth_live', '1 while the server can score; 0 when it cannot recover by itself.', () =>
        health() === undefined ? undefined : health()?.live ? 1 : 0,
      ),
      new Gauge(
        'berth_memory_rss_bytes',
        'Resident memory of the whole process.',
        () => health()?.memory.rssBytes,
      ),
      new Gauge(
        'berth_memory_limit_bytes',
        'The memory limit the server enforces (memoryLimitBytes).',
        () => health()?.memory.limitBytes,
      ),
    ];
  }

  private readonly readHealth: () => void;

  /**
   * Series by route (and status), looked up once each: a request then costs two map reads and no
   * label strings. Routes and models are few, so these maps stay small.
   */
  private readonly routeSeries = new Map<
    string,
    { seconds: Series; statuses: Map<number, { value: number }> }
  >();
  private readonly modelSeries = new Map<string, { queue: Series; compute: Series }>();

  recordRequest(route: string, status: number, seconds: number): void {
    let series = this.routeSeries.get(route);
    if (series === undefined) {
      series = { seconds: this.requestSeconds.seriesFor([route]), statuses: new Map() };
      this.routeSeries.set(route, series);
    }
    let count = series.statuses.get(status);
    if (count === undefined) {
      count = this.requests.entry([route, statusText(status)]);
      series.statuses.set(status, count);
    }
    count.value++;
    this.requestSeconds.observeIn(series.seconds, seconds);
  }

  /** True once the engine reports every run itself (onBatch); then requests do not feed the batch histogram. */
  batchesFromEngine = false;

  recordInference(model: string, batchSize: number, queueMs: number, computeMs: number): void {
    if (!this.batchesFromEngine) this.batchSize.observe(batchSize);
    let series = this.modelSeries.get(model);
    if (series === undefined) {
      series = {
        queue: this.queueSeconds.seriesFor([model]),
        compute: this.inferenceSeconds.seriesFor([model]),
      };
      this.modelSeries.set(model, series);
    }
    this.queueSeconds.observeIn(series.queue, queueMs / 1000);
    this.inferenceSeconds.observeIn(series.compute, computeMs / 1000);
  }

  render(): string {
    this.readHealth();
    return [
      this.requests,
      this.requestSeconds,
      this.inferenceSeconds,
      this.queueSeconds,
      this.batchSize,
      this.rejected,
      this.timeouts,
      this.collected,
      this.collectionDropped,
      ...this.gauges,
    ]
      .map((metric) => metric.render())
      .join('');
  }
}

const statusTexts = new Map<number, string>();
function statusText(status: number): string {
  let text = statusTexts.get(status);
  if (text === undefined) statusTexts.set(status, (text = String(status)));
  return text;
}
