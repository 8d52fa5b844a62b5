/**
 * The Python worker pool: a fixed number of processes, each running the scoring script, each
 * taking one request at a time; requests wait in arrival order for an idle one. A process that
 * dies is replaced at once; one still running a request past its deadline is killed and replaced
 * (Python cannot be interrupted safely from outside, so the process goes); a replacement that
 * cannot start is retried with a growing delay, and after FAILED_STARTS_BEFORE_DEAD failures in a
 * row with none ready the pool reports it can no longer score.
 */
import { BerthError } from '../../../core/errors.js';
import { abortReason, isDeadlineReason, type CancelSignal } from '../../cancel.js';
import type { ReplacementCause } from '../../engine/pool-worker.js';
import { FAILED_STARTS_BEFORE_DEAD, WorkerHistory } from '../../engine/worker-history.js';
import type { Logger } from '../logger.js';
import type { PythonReady, PythonResult } from './messages.js';
import { PythonProcess, type PythonProcessOptions } from './process.js';

export type PythonCall = Parameters<PythonProcess['call']>[0];

export interface PythonPoolConfig {
  size: number;
  process: Omit<PythonProcessOptions, 'id'>;
  logger: Logger;
}

interface Waiting {
  message: PythonCall;
  resolve: (result: PythonResult) => void;
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
  readonly history = new WorkerHistory();

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

  /**
   * Runs one request on the next idle process. An aborted request is answered at once with the
   * signal's reason; when the reason is a deadline and the request is running, its process is
   * killed and replaced.
   */
  run(
    message: PythonCall,
    signal: CancelSignal | undefined,
    requestId: string | undefined,
  ): Promise<PythonResult> {
    if (this.closing)
      return Promise.reject(new BerthError('SHUTTING_DOWN', 'the scoring engine is shutting down'));
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise<PythonResult>((resolve, reject) => {
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
      this.dispatch();
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
      this.start(process, waiting);
    }
  }

  private start(process: PythonProcess, waiting: Waiting): void {
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
    process.call(waiting.message).then(
      (result) => {
        signal?.removeEventListener('abort', onAbort);
        if (!answered) waiting.resolve(result);
        answered = true;
        this.dispatch();
      },
      (error: unknown) => {
        signal?.removeEventListener('abort', onAbort);
        if (!answered) waiting.reject(error instanceof Error ? error : new Error(String(error)));
        answered = true;
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
