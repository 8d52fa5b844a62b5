/**
 * The Python worker pool: a fixed number of processes, each running the scoring script, each
 * taking one request at a time; requests wait in arrival order for an idle one. A process that
 * dies is replaced at once; one still running a request past its deadline is killed and replaced
 * (Python cannot be interrupted safely from outside, so the process goes); a replacement that
 * cannot start is retried with a growing delay, and after FAILED_STARTS_BEFORE_DEAD failures in a
 * row with none ready the pool reports it can no longer score.
 *
 * Batching (`batchRuns`, for a script that defines run_batch): every `/score` body goes to
 * run_batch(), a lone one as a batch of one; a process that becomes idle takes every waiting body
 * up to the batch size in one call, so a batch is what gathered while every process was busy and
 * grows with the load; an idle pool waits only for the end of the current event-loop turn
 * (requests that arrived together still share a call). A request's deadline that ends its process
 * fails the other requests of that call too, with the same retryable error.
 *
 * Grouping (`groupRuns`, for a script without run_batch): waiting `/score` bodies still share one
 * message and one pipe round trip, but the worker calls run() for each in turn. A process that
 * becomes idle takes its share of the waiting requests (the queue divided among the processes, up
 * to the group size), so the others still get work; a lone request goes alone, at once. Under load
 * this saves two pipe wake-ups and one frame per request; with no queue it changes nothing.
 */
import { BerthError } from '../../../core/errors.js';
import { abortReason, isDeadlineReason, type CancelSignal } from '../../cancel.js';
import type { ReplacementCause } from '../../engine/pool-worker.js';
import { FAILED_STARTS_BEFORE_DEAD, WorkerHistory } from '../../engine/worker-history.js';
import type { Logger } from '../logger.js';
import type { PythonReady, PythonResult, PythonResults } from './messages.js';
import { PythonProcess, type PythonProcessOptions } from './process.js';

export type PythonCall = Parameters<PythonProcess['call']>[0];

/** One request's answer, with the size of the call it shared (1 when it ran alone). */
export type PooledResult = PythonResult & {
  batchSize: number;
  /** True for one request of each call: the one that reports the call's batch event. */
  leader: boolean;
};

export interface PythonPoolConfig {
  size: number;
  process: Omit<PythonProcessOptions, 'id'>;
  logger: Logger;
}

interface Waiting {
  message: PythonCall;
  resolve: (result: PooledResult) => void;
  reject: (error: Error) => void;
  signal: CancelSignal | undefined;
  requestId: string | undefined;
  onAbort: (() => void) | undefined;
}

export class PythonPool {
  private readonly slots: (PythonProcess | undefined)[];
  private readonly queue: Waiting[] = [];
  private nextId = 0;
  private closing = false;
  private maxBatch = 1;
  /** Grouped bodies go to run() one by one (no run_batch): see groupRuns. */
  private each = false;
  private dispatchScheduled = false;
  readonly history = new WorkerHistory();
  /** Messages sent to the processes and the requests they carried (more requests: grouped). */
  readonly traffic = { messages: 0, requests: 0 };

  private constructor(private readonly config: PythonPoolConfig) {
    this.slots = Array.from({ length: config.size }, () => undefined);
  }

  /** Starts every process; rejects (after stopping them all) if any fails to start. */
  static async create(config: PythonPoolConfig): Promise<{ pool: PythonPool; ready: PythonReady }> {
    const pool = new PythonPool(config);
    const results = await Promise.allSettled(pool.slots.map((_, slot) => pool.spawn(slot)));
    const failure = results.find((result) => result.status === 'rejected');
    if (failure !== undefined) {
      await pool.close();
      throw failure.reason;
    }
    return { pool, ready: (results[0] as PromiseFulfilledResult<PythonReady>).value };
  }

  get size(): number {
    return this.config.size;
  }

  get queued(): number {
    return this.queue.length;
  }

  processes(): PythonProcess[] {
    return this.slots.filter((process): process is PythonProcess => process !== undefined);
  }

  readyCount(): number {
    return this.processes().filter((process) => process.state === 'ready').length;
  }

  busyCount(): number {
    return this.processes().filter((process) => process.busy).length;
  }

  canScore(): boolean {
    return this.readyCount() > 0 || this.history.failedStarts < FAILED_STARTS_BEFORE_DEAD;
  }

  /** Lets up to `maxBatch` waiting `/score` bodies share one run_batch() call (1: one at a time). */
  batchRuns(maxBatch: number): void {
    this.maxBatch = Math.max(1, maxBatch);
    this.each = false;
  }

  /** Lets up to `maxGroup` waiting `/score` bodies travel in one message, each to its own run() call. */
  groupRuns(maxGroup: number): void {
    this.maxBatch = Math.max(1, maxGroup);
    this.each = true;
  }

  /**
   * Runs one request on the next idle process. An aborted request is answered at once with the
   * signal's reason; when the reason is a deadline and the request is running, its process is
   * killed and replaced.
   */
  run(
    message: PythonCall,
    signal: CancelSignal | undefined,
    requestId: string | undefined,
  ): Promise<PooledResult> {
    if (this.closing)
      return Promise.reject(new BerthError('SHUTTING_DOWN', 'the scoring engine is shutting down'));
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise<PooledResult>((resolve, reject) => {
      const waiting: Waiting = { message, resolve, reject, signal, requestId, onAbort: undefined };
      if (signal !== undefined) {
        waiting.onAbort = () => {
          const at = this.queue.indexOf(waiting);
          if (at !== -1) this.queue.splice(at, 1);
          reject(abortReason(signal));
        };
        signal.addEventListener('abort', waiting.onAbort, { once: true });
      }
      this.queue.push(waiting);
      // Grouped run() calls gain nothing from waiting: only run_batch() waits for the turn to end.
      if (this.maxBatch === 1 || this.each) this.dispatch();
      else if (!this.dispatchScheduled) {
        this.dispatchScheduled = true;
        setImmediate(() => {
          this.dispatchScheduled = false;
          this.dispatch();
        });
      }
    });
  }

  /** Ends `process` on purpose (memory, deadline) and lets the exit handler replace it. */
  end(
    process: PythonProcess,
    cause: ReplacementCause,
    reason: string,
    errorFor: (message: string) => BerthError,
  ): void {
    if (this.closing) return;
    process.end(cause, reason, errorFor);
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const waiting of this.queue.splice(0)) {
      waiting.reject(new BerthError('SHUTTING_DOWN', 'the scoring engine is shutting down'));
    }
    await Promise.all(this.processes().map((process) => process.shutdown(2_000)));
  }

  private dispatch(): void {
    for (const process of this.slots) {
      if (this.queue.length === 0) return;
      if (process === undefined || process.state !== 'ready' || process.busy) continue;
      const waiting = this.queue.shift()!;
      if (this.maxBatch === 1 || waiting.message.type !== 'run') {
        this.start(process, waiting);
        continue;
      }
      const limit = this.each
        ? Math.min(this.maxBatch, Math.ceil((this.queue.length + 1) / this.slots.length))
        : this.maxBatch;
      const group = [waiting];
      for (let at = 0; at < this.queue.length && group.length < limit;) {
        if (this.queue[at]!.message.type === 'run') group.push(...this.queue.splice(at, 1));
        else at += 1;
      }
      if (this.each && group.length === 1) this.start(process, waiting);
      else this.startRuns(process, group);
    }
  }

  /** Several waiting `/score` bodies in one message (run_batch(), or run() each); each is answered from its place. */
  private startRuns(process: PythonProcess, group: Waiting[]): void {
    const settle = group.map((waiting) => this.watch(process, waiting));
    const bodies = group.map((waiting) => ({
      requestId: waiting.requestId ?? null,
      body: (waiting.message as { body: Buffer | string }).body,
    }));
    const each = this.each;
    const ids = group.map((waiting) => waiting.requestId).filter((id) => id !== undefined);
    const requestId = ids.length === 0 ? null : ids.join(',');
    this.traffic.messages += 1;
    this.traffic.requests += group.length;
    process.callRuns({ type: 'runs', requestId, bodies, each }).then(
      (reply: PythonResults) => {
        if (reply.results.length !== group.length) {
          const error = new BerthError(
            'RUN_FAILED',
            each
              ? `Python worker answered ${reply.results.length} of ${group.length} requests`
              : `run_batch() returned ${reply.results.length} answers for ${group.length} requests: it must return one per request, in order`,
          );
          settle.forEach((one) => one.fail(error));
        } else {
          reply.results.forEach((item, index) => {
            if ('code' in item) settle[index]!.fail(new BerthError(item.code, item.message));
            else
              settle[index]!.succeed({
                type: 'result',
                id: reply.id,
                ...item,
                // Grouped run() calls are separate executions; a run_batch() call is one of N items.
                batchSize: each ? 1 : group.length,
                leader: each || index === 0,
              });
          });
        }
        this.dispatch();
      },
      (error: unknown) => {
        const reason = error instanceof Error ? error : new Error(String(error));
        settle.forEach((one) => one.fail(reason));
        this.dispatch();
      },
    );
  }

  /** Hooks a started request's signal: an abort answers it, and a deadline ends its process. */
  private watch(
    process: PythonProcess,
    waiting: Waiting,
  ): { succeed: (result: PooledResult) => void; fail: (error: Error) => void } {
    const { signal } = waiting;
    if (signal !== undefined && waiting.onAbort !== undefined) {
      signal.removeEventListener('abort', waiting.onAbort);
    }
    let answered = false;
    const onAbort = (): void => {
      if (answered) return;
      answered = true;
      const reason = abortReason(signal!);
      waiting.reject(reason);
      if (isDeadlineReason(reason) && process.busy) {
        const request = waiting.requestId === undefined ? 'a request' : `request ${waiting.requestId}`;
        this.end(
          process,
          'timeout',
          `was still running ${request} at its deadline (${reason.message})`,
          (message) => new BerthError('UPSTREAM_TIMEOUT', message),
        );
      }
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = (): boolean => {
      signal?.removeEventListener('abort', onAbort);
      const first = !answered;
      answered = true;
      return first;
    };
    return {
      succeed: (result) => {
        if (done()) waiting.resolve(result);
      },
      fail: (error) => {
        if (done()) waiting.reject(error);
      },
    };
  }

  private start(process: PythonProcess, waiting: Waiting): void {
    const settle = this.watch(process, waiting);
    this.traffic.messages += 1;
    this.traffic.requests += 1;
    process.call(waiting.message).then(
      (result) => {
        settle.succeed({ ...result, batchSize: 1, leader: true });
        this.dispatch();
      },
      (error: unknown) => {
        settle.fail(error instanceof Error ? error : new Error(String(error)));
        this.dispatch();
      },
    );
  }

  private spawn(slot: number): Promise<PythonReady> {
    const process = new PythonProcess({ ...this.config.process, id: ++this.nextId });
    this.slots[slot] = process;
    void process.exited.then(({ ending, description }) => this.onExit(slot, process, ending, description));
    return process.ready.then((ready) => {
      this.history.started();
      this.dispatch();
      return ready;
    });
  }

  private onExit(
    slot: number,
    process: PythonProcess,
    ending: Awaited<PythonProcess['exited']>['ending'],
    description: string,
  ): void {
    if (this.closing || this.slots[slot] !== process) return;
    // A start that failed is the refill's business (or create's); only a process that served is replaced here.
    if (!process.servedOnce) return;
    const cause: ReplacementCause = ending?.cause ?? (description.includes('killed by') ? 'crash' : 'exit');
    const reason = ending?.reason ?? description;
    this.history.replacedFor(cause, `Python worker ${process.options.id}: ${reason}`);
    this.refill(slot, 1_000);
    this.config.logger.error(
      `Python worker ${process.options.id} stopped (${cause}): ${reason}; Python worker ${this.nextId} replaces it`,
      { cause, restarts: this.history.replacements },
    );
  }

  private refill(slot: number, retryDelayMs: number): void {
    if (this.closing) return;
    this.spawn(slot).catch((error: unknown) => {
      if (this.closing) return;
      const message = error instanceof Error ? error.message : String(error);
      this.history.startFailed(`a replacement Python worker could not start: ${message}`);
      this.config.logger.error(
        `a replacement Python worker failed to start (${this.history.failedStarts} in a row); retrying in ${retryDelayMs} ms`,
        { error: message, canScore: this.canScore() },
      );
      setTimeout(() => this.refill(slot, Math.min(retryDelayMs * 2, 30_000)), retryDelayMs).unref();
    });
  }
}
