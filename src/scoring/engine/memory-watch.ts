/**
 * The whole process's memory limit, enforced from inside: every MEMORY_SAMPLE_MS the watch reads
 * the process's RSS (heaps, Buffers and ArrayBuffers, native memory: what the kernel counts). While
 * it is over the limit, the watch asks every worker for its own heap and external memory, and at
 * the next sample ends the worker holding the excess (memory-blame.ts): a worker that has not
 * answered is held by one task, and owns what no answer accounts for. Its requests are answered
 * MEMORY_LIMIT naming the limit, and the pool replaces it. Excess that no worker holds makes the
 * engine not live; if it lasts FATAL_AFTER_MS the fatal listeners run (the server exits with a
 * failure line, so its supervisor starts a fresh process).
 *
 * The cost while under the limit is one RSS read per sample on a timer; workers are asked nothing.
 * Nothing runs on a request's path.
 */
import { BerthError } from '../../core/errors.js';
import type { EngineFailure } from '../engine.js';
import type { Logger } from '../runtimes/logger.js';
import { chooseCulprit, megabytes, type WorkerMemoryView } from './memory-blame.js';
import type { PoolWorker, WorkerPool } from './pool.js';

/** How often RSS is read; while over the limit, also how long workers have to answer. */
export const MEMORY_SAMPLE_MS = 100;
/** How long memory may stay over the limit with no worker to blame before the engine gives up. */
export const FATAL_AFTER_MS = 2_000;

/** A limit the idle server is already over would end every worker it starts: refused at once. */
export function checkMemoryAtStart(limitBytes: number): void {
  const rss = process.memoryUsage.rss();
  if (rss > limitBytes) {
    throw new BerthError(
      'INVALID_SPEC',
      `the server uses ${megabytes(rss)} with its models loaded, over its memory limit of ${megabytes(limitBytes)} (memoryLimitBytes ${limitBytes}): raise the limit`,
    );
  }
}

export class MemoryWatch {
  private timer: NodeJS.Timeout | undefined;
  private baselineRss = 0;
  private baselineMain = 0;
  /** The latest RSS read. */
  rssBytes = 0;
  /** performance.now() since when memory has been over the limit with no worker to blame. */
  private unblamedSince: number | undefined;
  /** A worker ended for memory and not yet gone: its memory is still counted, so nothing is judged. */
  private ending: { worker: PoolWorker; since: number } | undefined;
  /** performance.now() when workers were last asked for their memory; undefined while under the limit. */
  private askedAt: number | undefined;
  private fatalSent = false;
  private readonly fatalListeners = new Set<(failure: EngineFailure) => void>();

  constructor(
    private readonly pool: WorkerPool,
    readonly limitBytes: number,
    private readonly logger: Logger,
  ) {}

  /** Takes the baseline (engine ready) and starts sampling. */
  start(): void {
    const usage = process.memoryUsage();
    this.baselineRss = usage.rss;
    this.baselineMain = usage.heapUsed + usage.external;
    this.rssBytes = usage.rss;
    this.timer = setInterval(() => this.sample(), MEMORY_SAMPLE_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Why the engine is not live for memory's sake, or undefined. */
  problem(): string | undefined {
    return this.unblamedSince === undefined ? undefined : this.unownedExcess();
  }

  private unownedExcess(): string {
    return `the process uses ${megabytes(this.rssBytes)}, over its memory limit of ${megabytes(this.limitBytes)}, and no worker holds the excess`;
  }

  onFatal(listener: (failure: EngineFailure) => void): () => void {
    this.fatalListeners.add(listener);
    return () => this.fatalListeners.delete(listener);
  }

  sample(): void {
    const rss = process.memoryUsage.rss();
    this.rssBytes = rss;
    if (rss <= this.limitBytes) {
      this.unblamedSince = undefined;
      this.askedAt = undefined;
      this.fatalSent = false;
      return;
    }
    const now = performance.now();
    // A worker being ended still holds its memory until its thread is gone; one whose thread does
    // not end (a native call that never returns to JavaScript) is waited for no longer than this.
    if (this.ending !== undefined && this.ending.worker.state !== 'dead') {
      if (now - this.ending.since < FATAL_AFTER_MS) return;
    }
    this.ending = undefined;
    const askedAt = this.askedAt;
    // Every sample over the limit asks again, so the next one judges on answers this fresh.
    this.askedAt = now;
    this.pool.askMemory();
    if (askedAt === undefined) return;
    const usage = process.memoryUsage();
    const workers = this.pool.workers().filter((worker) => worker.state === 'ready');
    const blame = chooseCulprit({
      rssBytes: usage.rss,
      baselineRss: this.baselineRss,
      mainGrowthBytes: usage.heapUsed + usage.external - this.baselineMain,
      workers: workers.map((worker) => view(worker, askedAt, now)),
      minimumBytes: Math.max(8 * 1024 * 1024, this.limitBytes / 32),
    });
    const culprit = blame && workers.find((worker) => worker.id === blame.workerId);
    if (blame === undefined || culprit === undefined) {
      this.unblamed(now);
      return;
    }
    this.unblamedSince = undefined;
    this.askedAt = undefined;
    this.ending = { worker: culprit, since: now };
    const over = `the process used ${megabytes(usage.rss)}, over its memory limit of ${megabytes(this.limitBytes)} (memoryLimitBytes ${this.limitBytes})`;
    this.pool.end(
      culprit,
      'memory',
      `${over}: ${blame.why}`,
      () =>
        new BerthError(
          'MEMORY_LIMIT',
          `worker ${culprit.id} was ended while it held this request: ${over}, and the worker held the excess; a fresh worker serves a retry`,
        ),
    );
  }

  private unblamed(now: number): void {
    const message = this.unownedExcess();
    if (this.unblamedSince === undefined) {
      this.unblamedSince = now;
      this.logger.error(`${message}; the engine reports itself not live`);
      this.pool.history.failed('memory', message);
      return;
    }
    if (this.fatalSent || now - this.unblamedSince < FATAL_AFTER_MS) return;
    this.fatalSent = true;
    const failure: EngineFailure = {
      cause: 'memory',
      message: `${message} for ${FATAL_AFTER_MS} ms: the process must be replaced`,
      at: new Date().toISOString(),
    };
    this.pool.history.failed('memory', failure.message);
    for (const listener of this.fatalListeners) listener(failure);
  }
}

/**
 * Silent: busy with work it had when it was asked for its memory, and no answer since: a task has
 * held its thread for a whole sample interval.
 */
function view(worker: PoolWorker, askedAt: number, now: number): WorkerMemoryView {
  const busy = worker.busySince !== 0;
  return {
    id: worker.id,
    growthBytes: worker.growth,
    silent: busy && worker.busySince <= askedAt && worker.reportedAt < askedAt,
    busyMs: busy ? now - worker.busySince : 0,
  };
}
