/**
 * Holds the scoring server and its Python workers under the memory limit together: sampled once a
 * second, the server's RSS plus every worker's; past the limit, the largest worker is killed (its
 * request answered MEMORY_LIMIT) and replaced.
 */
import { BerthError } from '../../../core/errors.js';
import type { Logger } from '../logger.js';
import type { PythonPool } from './pool.js';

const SAMPLE_MS = 1_000;

export class PythonMemoryWatch {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pool: PythonPool,
    readonly limitBytes: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  totalRss(): number {
    let total = process.memoryUsage.rss();
    for (const worker of this.pool.processes()) total += worker.rssBytes() ?? 0;
    return total;
  }

  sample(): void {
    const workers = this.pool.processes().filter((worker) => worker.state === 'ready');
    const sizes = workers.map((worker) => worker.rssBytes() ?? 0);
    const total = process.memoryUsage.rss() + sizes.reduce((sum, size) => sum + size, 0);
    if (total <= this.limitBytes || workers.length === 0) return;
    const largest = sizes.indexOf(Math.max(...sizes));
    const worker = workers[largest]!;
    const reason = `held ${mib(sizes[largest]!)} when the server and its Python workers used ${mib(total)}, over the memory limit of ${mib(this.limitBytes)}`;
    this.logger.error(`Python worker ${worker.options.id} ${reason}: ending it`);
    this.pool.end(worker, 'memory', reason, (message) => new BerthError('MEMORY_LIMIT', message));
  }
}

function mib(bytes: number): string {
  return `${Math.round(bytes / 1024 / 1024)} MiB`;
}
