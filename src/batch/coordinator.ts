/**
 * The coordinator runs a planned job to its end on one engine: it hands out mini-batches (at most
 * `instance_count × max_concurrency_per_instance` run at once, and as many more wait in the engine;
 * see `attemptsInFlight`), retries failed attempts up to `max_retries`, checks the failure limits
 * after every outcome, keeps the first successful result of each mini-batch, and finally merges
 * the output. It is the only writer of the job folder.
 *
 * It runs the mini-batches that have no result yet, so a first run and a `resume` are the same
 * code. State written to status.json: running → completed | failed | canceled. A coordinator
 * that dies leaves `running` with its pid; readers then report the job as interrupted.
 */
import { hostname } from 'node:os';
import type { BatchEngine, MiniBatchOutcome } from './engine.js';
import type { JobFolder } from './job/folder.js';
import type { JobError, JobRecord, ResultFile, StoredJobState, StoredStatus } from './job/records.js';
import { writeJobReport, writePredictions } from './output.js';
import { displayKey } from './plan.js';
import { exceededThreshold } from './thresholds.js';

export interface BatchProgress {
  jobId: string;
  miniBatches: { total: number; succeeded: number; failed: number; retried: number; running: number };
  items: { total: number; succeeded: number; failed: number };
  itemsPerSecond: number;
  /** Undefined until a rate is known. */
  etaSeconds: number | undefined;
}

export interface CoordinatorOptions {
  folder: JobFolder;
  record: JobRecord;
  engine: BatchEngine;
  /** Writes a line to `logs/<worker>.log`; the coordinator's own lines go to `job`. */
  log(worker: string, line: string): void;
  onProgress?: (progress: BatchProgress) => void;
  signal?: AbortSignal;
  /** How often status.json is refreshed and the cancel marker checked. Default 500 ms. */
  tickMs?: number;
}

/**
 * How many attempts the coordinator hands an engine at once: twice the slots that run them. The
 * engine holds the second attempt of a slot until the slot frees, then starts it at once, so a
 * worker goes from one mini-batch to the next without waiting for the coordinator to store an
 * outcome and send the next (a round trip, and for the cluster a trip through Redis). Held attempts
 * do not run: `max_concurrency_per_instance` still bounds what runs at once, and an attempt's
 * timeout starts when it runs.
 */
export function attemptsInFlight(deployment: {
  instanceCount: number;
  maxConcurrencyPerInstance: number;
}): number {
  return 2 * deployment.instanceCount * deployment.maxConcurrencyPerInstance;
}

export async function coordinate(options: CoordinatorOptions): Promise<StoredStatus> {
  const run = new CoordinatorRun(options);
  return run.run();
}

class CoordinatorRun {
  private readonly record: JobRecord;
  private readonly folder: JobFolder;
  private readonly controller = new AbortController();
  private readonly status: StoredStatus;
  private readonly queue: number[] = [];
  private readonly triesThisRun = new Map<number, number>();
  private readonly attemptsBefore = new Map<number, number>();
  private readonly failedMiniBatches: number[] = [];
  private readonly failedExamples: { key: string; error: string }[] = [];
  private stop: { state: StoredJobState; reason: string } | undefined;
  private initFailures = 0;
  private anySuccess = false;
  private itemsAtStart = 0;
  private readonly startedMs = Date.now();

  constructor(private readonly options: CoordinatorOptions) {
    this.record = options.record;
    this.folder = options.folder;
    const now = new Date().toISOString();
    this.status = {
      state: 'running',
      coordinator: { pid: process.pid, host: hostname() },
      startedAt: now,
      updatedAt: now,
      counts: {
        miniBatches: this.record.plan.miniBatches.length,
        succeeded: 0,
        failed: 0,
        retried: 0,
        running: 0,
        items: this.record.plan.totalItems,
        itemsSucceeded: 0,
        itemsFailed: 0,
      },
      itemsPerSecond: 0,
      workers: {},
    };
  }

  async run(): Promise<StoredStatus> {
    await this.restore();
    const onAbort = (): void => this.halt('canceled', 'canceled by the caller');
    this.options.signal?.addEventListener('abort', onAbort, { once: true });
    if (this.options.signal?.aborted) onAbort();
    const ticker = setInterval(() => void this.tick(), this.options.tickMs ?? 500);
    try {
      await this.folder.writeStatus(this.status);
      this.options.log(
        'job',
        `running ${this.queue.length} of ${this.record.plan.miniBatches.length} mini-batches on ${this.options.engine.kind}`,
      );
      await this.drain();
    } finally {
      clearInterval(ticker);
      this.options.signal?.removeEventListener('abort', onAbort);
    }
    return this.finish();
  }

  /** Counts what earlier runs of this job already achieved, and queues the rest. */
  private async restore(): Promise<void> {
    const done = await this.folder.resultIndexes();
    const reported = new Set<number>();
    for (const line of await this.folder.readReport()) {
      this.attemptsBefore.set(line.index, Math.max(this.attemptsBefore.get(line.index) ?? 0, line.attempt));
      if (line.attempt > 1) this.status.counts.retried += 1;
      if (line.kept === true) reported.add(line.index);
    }
    for (const plan of this.record.plan.miniBatches) {
      if (!done.has(plan.index)) {
        this.queue.push(plan.index);
        continue;
      }
      const result = await this.folder.readResult(plan.index);
      // A run that died between keeping a result and reporting it (or mid-append) left the report
      // without its line: it is written now, from the result, so the report has every mini-batch.
      if (result !== undefined && !reported.has(plan.index)) await this.reportRecovered(result);
      this.status.counts.succeeded += 1;
      this.status.counts.itemsSucceeded += result?.rows.length ?? 0;
      this.status.counts.itemsFailed += result?.failedItems.length ?? 0;
      for (const item of result?.failedItems ?? []) this.noteFailedItem(item);
    }
    this.anySuccess = done.size > 0;
    this.itemsAtStart = this.status.counts.itemsSucceeded + this.status.counts.itemsFailed;
  }

  private async reportRecovered(result: ResultFile): Promise<void> {
    await this.folder.appendReport({
      index: result.index,
      attempt: result.attempt,
      worker: result.worker,
      status: 'succeeded',
      durationMs: result.durationMs,
      items: this.record.plan.itemCounts[result.index] ?? 0,
      failedItems: result.failedItems.length,
      error: undefined,
      kept: true,
      at: new Date().toISOString(),
    });
  }

  private async drain(): Promise<void> {
    const concurrency = attemptsInFlight(this.record.deployment);
    const inflight = new Set<Promise<void>>();
    for (;;) {
      while (this.stop === undefined && inflight.size < concurrency && this.queue.length > 0) {
        const index = this.queue.shift() ?? 0;
        const attempt = this.attempt(index).finally(() => inflight.delete(attempt));
        inflight.add(attempt);
      }
      if (inflight.size === 0) return;
      await Promise.race(inflight);
    }
  }

  private async attempt(index: number): Promise<void> {
    const plan = this.record.plan.miniBatches[index];
    if (plan === undefined) return;
    const tries = (this.triesThisRun.get(index) ?? 0) + 1;
    this.triesThisRun.set(index, tries);
    const attempt = (this.attemptsBefore.get(index) ?? 0) + tries;
    // Counted from the moment a worker takes it: an attempt the engine still holds is not running.
    let started = false;
    let outcome: MiniBatchOutcome;
    try {
      outcome = await this.options.engine.execute(
        {
          jobId: this.record.id,
          attempt,
          plan,
          program: this.record.program,
          timeoutMs: this.record.deployment.timeoutMs,
        },
        this.controller.signal,
        {
          onStarted: (worker) => {
            if (!started) this.status.counts.running += 1;
            started = true;
            if (worker === undefined) return;
            this.status.workers[worker.name] = {
              pid: worker.pid,
              host: worker.host,
              miniBatch: index,
              since: new Date().toISOString(),
            };
          },
        },
      );
    } catch (error) {
      if (this.stop === undefined) {
        // An engine that rejects broke its contract; the attempt still counts as failed.
        outcome = this.engineFailure(index, attempt, error);
      } else return;
    } finally {
      if (started) this.status.counts.running -= 1;
    }
    if (this.stop !== undefined) return;
    const worker = this.status.workers[outcome.worker];
    // The worker may already be on its next mini-batch (it was waiting in the engine).
    if (worker?.miniBatch === index)
      this.status.workers[outcome.worker] = { ...worker, miniBatch: undefined };
    // A worker whose attempts all ended before the engine named it (short cluster mini-batches)
    // is still one of the job's workers. (A failed outcome may name no real worker.)
    else if (worker === undefined && outcome.status === 'succeeded')
      this.status.workers[outcome.worker] = { since: new Date().toISOString() };
    await this.handleOutcome(outcome, tries);
  }

  private engineFailure(index: number, attempt: number, error: unknown): MiniBatchOutcome {
    const message = error instanceof Error ? error.message : String(error);
    return {
      index,
      attempt,
      worker: 'engine',
      durationMs: 0,
      status: 'failed',
      rows: [],
      failedItems: [],
      error: { code: 'INTERNAL', message, phase: 'run' },
    };
  }

  private async handleOutcome(outcome: MiniBatchOutcome, tries: number): Promise<void> {
    const root = this.record.plan.root;
    const items = this.record.plan.itemCounts[outcome.index] ?? 0;
    const failedItems = outcome.failedItems.map((item) => ({
      key: displayKey(item.key, root),
      error: item.error,
    }));
    let kept = false;
    if (outcome.status === 'succeeded') {
      kept = await this.folder.writeResultOnce({
        index: outcome.index,
        attempt: outcome.attempt,
        worker: outcome.worker,
        durationMs: outcome.durationMs,
        rows: outcome.rows.map((row) => ({ key: displayKey(row.key, root), value: row.value })),
        failedItems,
      });
    }
    await this.folder.appendReport({
      index: outcome.index,
      attempt: outcome.attempt,
      worker: outcome.worker,
      status: outcome.status,
      durationMs: outcome.durationMs,
      items,
      failedItems: failedItems.length,
      error:
        outcome.error === undefined
          ? undefined
          : { code: outcome.error.code, message: outcome.error.message },
      kept: outcome.status === 'succeeded' ? kept : undefined,
      at: new Date().toISOString(),
    });
    const counts = this.status.counts;
    if (outcome.status === 'succeeded') {
      this.anySuccess = true;
      if (kept) {
        counts.succeeded += 1;
        counts.itemsSucceeded += outcome.rows.length;
        counts.itemsFailed += failedItems.length;
        for (const item of failedItems) this.noteFailedItem(item, outcome);
      }
      this.options.log(
        'job',
        `mini-batch ${outcome.index} succeeded on ${outcome.worker} (attempt ${outcome.attempt}, ${outcome.durationMs} ms, ${failedItems.length} failed items)`,
      );
    } else {
      const error = outcome.error ?? { code: 'INTERNAL', message: 'failed without a reason' };
      this.options.log(
        'job',
        `mini-batch ${outcome.index} attempt ${outcome.attempt} failed on ${outcome.worker}: ${error.code}: ${error.message}`,
      );
      this.noteError({
        miniBatch: outcome.index,
        attempt: outcome.attempt,
        worker: outcome.worker,
        code: error.code,
        message: error.message,
      });
      if (error.phase === 'init') this.initFailures += 1;
      if (
        error.phase === 'init' &&
        !this.anySuccess &&
        this.initFailures > this.record.deployment.maxRetries
      ) {
        this.halt('failed', `the workers could not start ${this.initFailures} times: ${error.message}`);
        return;
      }
      if (tries <= this.record.deployment.maxRetries) {
        counts.retried += 1;
        this.queue.push(outcome.index);
      } else {
        counts.failed += 1;
        counts.itemsFailed += items;
        this.failedMiniBatches.push(outcome.index);
        if (this.failedExamples.length < 5)
          this.failedExamples.push({ key: `mini-batch ${outcome.index}`, error: error.message });
      }
    }
    const exceeded = exceededThreshold(this.record.deployment, {
      totalMiniBatches: counts.miniBatches,
      failedMiniBatches: this.failedMiniBatches,
      failedItems: counts.itemsFailed,
      examples: this.failedExamples,
    });
    if (exceeded !== undefined) this.halt('failed', exceeded);
    await this.writeStatus();
  }

  private noteFailedItem(item: { key: string; error: string }, outcome?: MiniBatchOutcome): void {
    if (this.failedExamples.length < 5) this.failedExamples.push(item);
    this.noteError({
      miniBatch: outcome?.index,
      attempt: outcome?.attempt,
      worker: outcome?.worker,
      key: item.key,
      code: 'BAD_INPUT',
      message: item.error,
    });
  }

  /** The first error is kept, never replaced: it is the one a user fixes first. */
  private noteError(error: JobError): void {
    this.status.firstError ??= error;
  }

  private halt(state: StoredJobState, reason: string): void {
    if (this.stop !== undefined) return;
    this.stop = { state, reason };
    this.options.log('job', `stopping: ${reason}`);
    this.controller.abort(new Error(reason));
  }

  private async tick(): Promise<void> {
    try {
      if (this.stop === undefined && (await this.folder.cancelRequested()))
        this.halt('canceled', 'canceled (berth batch cancel)');
      await this.writeStatus();
    } catch (error) {
      this.options.log('job', `status refresh failed: ${(error as Error).message}`);
    }
  }

  private async writeStatus(): Promise<void> {
    const counts = this.status.counts;
    const seconds = (Date.now() - this.startedMs) / 1000;
    const doneThisRun = counts.itemsSucceeded + counts.itemsFailed - this.itemsAtStart;
    this.status.itemsPerSecond = seconds > 0 ? doneThisRun / seconds : 0;
    this.status.updatedAt = new Date().toISOString();
    await this.folder.writeStatus(this.status);
    const remaining = counts.items - counts.itemsSucceeded - counts.itemsFailed;
    this.options.onProgress?.({
      jobId: this.record.id,
      miniBatches: {
        total: counts.miniBatches,
        succeeded: counts.succeeded,
        failed: counts.failed,
        retried: counts.retried,
        running: counts.running,
      },
      items: { total: counts.items, succeeded: counts.itemsSucceeded, failed: counts.itemsFailed },
      itemsPerSecond: this.status.itemsPerSecond,
      etaSeconds: this.status.itemsPerSecond > 0 ? remaining / this.status.itemsPerSecond : undefined,
    });
  }

  private async finish(): Promise<StoredStatus> {
    const status = this.status;
    status.state = this.stop?.state ?? 'completed';
    status.reason = this.stop?.reason;
    status.counts.running = 0;
    for (const name of Object.keys(status.workers)) {
      const worker = status.workers[name];
      if (worker !== undefined) status.workers[name] = { ...worker, miniBatch: undefined };
    }
    if (status.state === 'completed' && this.record.deployment.outputAction === 'append_row') {
      const predictions = await writePredictions(this.folder, this.record);
      status.output = { predictions, report: '' };
    }
    status.finishedAt = new Date().toISOString();
    const report = await writeJobReport(this.folder, this.record, status);
    status.output = { predictions: status.output?.predictions, report };
    delete status.coordinator;
    await this.writeStatus();
    if (status.state === 'canceled') await this.folder.clearCancel();
    this.options.log('job', `${status.state}${status.reason ? `: ${status.reason}` : ''}`);
    return status;
  }
}
