/**
 * The worker pool: a fixed number of worker threads, each holding every model. It sends typed
 * requests and matches replies by `requestId`; it replaces a worker that dies (uncaught error,
 * `process.exit`, out of memory) or that it ends itself (a request overran and the thread does not
 * answer; the memory watch blames it), and answers every request that worker held with an error
 * naming why, so no caller waits forever.
 *
 * Lifecycle of a worker: starting → ready → (stopping | dead). A dead worker's slot is refilled
 * at once; if the replacement cannot start (or does not start within `startTimeoutMs`), the slot
 * retries with a growing delay (capped at 30 s), and after FAILED_STARTS_BEFORE_DEAD failures in a
 * row with no worker ready the pool reports that it can no longer score (liveness answers 503).
 * The pool does not queue: the batcher above it decides when to send what.
 */
import { Worker } from 'node:worker_threads';
import { BerthError, deserializeError } from '../../core/errors.js';
import { abortReason, type CancelSignal } from '../cancel.js';
import type { ModelToServe } from '../engine.js';
import type { Logger } from '../runtimes/logger.js';
import type {
  CallOf,
  FromWorker,
  ReplyOf,
  ReplyTypes,
  ReportMemory,
  ToWorker,
  WorkerStartup,
} from './messages.js';
import { fateOf, PoolWorker, requestText, type PendingCall, type ReplacementCause } from './pool-worker.js';
import { probeOverdue, withTimeout } from './overdue.js';
import { FAILED_STARTS_BEFORE_DEAD, WorkerHistory } from './worker-history.js';

export { PoolWorker, requestText } from './pool-worker.js';

type ReadyMessage = Extract<FromWorker, { type: 'ready' }>;

export interface PoolConfig {
  size: number;
  onnx: WorkerStartup['onnx'];
  script: WorkerStartup['script'];
  /** The models a new worker must load: read at each (re)start, so replacements get loads made since. */
  models: () => ModelToServe[];
  maxOldGenerationMb: number;
  /** From a thread's creation to its `ready`; past it the start counts as failed. */
  startTimeoutMs: number;
  /** How long a worker suspected of being stuck has to answer a ping before it is ended. */
  probeMs: number;
  logger: Logger;
}

/** A caller that stops waiting: its signal, and the request's id for the log line. */
export interface CallWatch {
  signal: CancelSignal | undefined;
  requestId: string | undefined;
}

const workerUrl = new URL('./worker.js', import.meta.url);

export class WorkerPool {
  private readonly slots: (PoolWorker | undefined)[];
  private nextWorkerId = 0;
  private nextRequestId = 0;
  private closing = false;
  private readonly capacityListeners: (() => void)[] = [];
  readonly history = new WorkerHistory();

  private constructor(private readonly config: PoolConfig) {
    this.slots = Array.from({ length: config.size }, () => undefined);
  }

  /** Starts every worker; rejects (after stopping them all) if any fails to start. */
  static async create(config: PoolConfig): Promise<{ pool: WorkerPool; ready: ReadyMessage }> {
    const pool = new WorkerPool(config);
    const starts = pool.slots.map((_, slot) => pool.spawn(slot));
    const results = await Promise.allSettled(starts);
    const failure = results.find((result) => result.status === 'rejected');
    if (failure !== undefined) {
      await pool.close();
      throw failure.reason;
    }
    return { pool, ready: (results[0] as PromiseFulfilledResult<ReadyMessage>).value };
  }

  get size(): number {
    return this.config.size;
  }

  /** Workers replaced so far, whatever the cause. */
  get restarts(): number {
    return this.history.replacements;
  }

  workers(): PoolWorker[] {
    return this.slots.filter(
      (worker): worker is PoolWorker => worker !== undefined && worker.state !== 'dead',
    );
  }

  readyCount(): number {
    let count = 0;
    for (const worker of this.slots) if (worker?.state === 'ready') count++;
    return count;
  }

  /** False once no worker is ready and the last starts have all failed: the engine cannot score. */
  canScore(): boolean {
    return this.readyCount() > 0 || this.history.failedStarts < FAILED_STARTS_BEFORE_DEAD;
  }

  /** The ready worker with the fewest outstanding requests; a starting or suspect one only when none is. */
  pick(): PoolWorker | undefined {
    let best: PoolWorker | undefined;
    for (const worker of this.workers()) {
      if (worker.state === 'stopping') continue;
      if (best === undefined || rank(worker) < rank(best)) best = worker;
    }
    return best;
  }

  hasIdleWorker(): boolean {
    return this.workers().some(
      (worker) => worker.state === 'ready' && worker.outstanding === 0 && !worker.suspect,
    );
  }

  /** Called whenever a worker may take more work: a reply arrived, or a worker became ready. */
  onCapacity(listener: () => void): void {
    this.capacityListeners.push(listener);
  }

  /**
   * Sends one request. With `watch`, the caller stops waiting when its signal aborts: the call is
   * answered with the signal's reason at once (a late reply is dropped), and when the reason is a
   * deadline the worker is probed (see overdue).
   */
  call<K extends ToWorker['type']>(
    worker: PoolWorker,
    call: CallOf<K> & { type: K },
    transfer: ArrayBuffer[] = [],
    watch?: CallWatch,
  ): Promise<ReplyOf<K>> {
    if (worker.state === 'dead') {
      return Promise.reject(new BerthError('WORKER_CRASHED', `worker ${worker.id} has stopped`));
    }
    const requestId = ++this.nextRequestId;
    const message = { ...call, requestId } as ToWorker;
    return new Promise<ReplyOf<K>>((resolve, reject) => {
      const pending: PendingCall = {
        expected: replyTypes[call.type],
        resolve: resolve as (reply: FromWorker) => void,
        reject,
      };
      const signal = watch?.signal;
      if (signal !== undefined) {
        const onAbort = (): void => {
          const reason = abortReason(signal);
          if (this.settle(worker, requestId) !== undefined) reject(reason);
          // A call given up for any reason asks whether its worker still turns: a client that left
          // (the gateway, at its own deadline, before this one) must not leave a stuck worker behind.
          this.overdue(worker, requestText(watch?.requestId, reason));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        const detach = (): void => signal.removeEventListener('abort', onAbort);
        pending.resolve = (reply) => {
          detach();
          resolve(reply as ReplyOf<K>);
        };
        pending.reject = (error) => {
          detach();
          reject(error);
        };
      }
      worker.pending.set(requestId, pending);
      if (worker.outstanding++ === 0) worker.busySince = performance.now();
      try {
        worker.thread.postMessage(message, transfer);
      } catch (error) {
        this.settle(worker, requestId);
        pending.reject(
          new BerthError('BAD_INPUT', `cannot send the request to a worker: ${(error as Error).message}`),
        );
      }
    });
  }

  /**
   * Sends the same request to every live worker (starting ones included, stopping ones not: they
   * are about to be replaced by one that loads from the table) and waits for all.
   */
  broadcast<K extends ToWorker['type']>(call: CallOf<K> & { type: K }): Promise<ReplyOf<K>[]> {
    const live = this.workers().filter((worker) => worker.state !== 'stopping');
    return Promise.all(live.map((worker) => this.call<K>(worker, call)));
  }

  /** A request on `worker` passed its deadline (`what` says which): see probeOverdue. */
  overdue(worker: PoolWorker, what: string): void {
    const actions = {
      ping: (target: PoolWorker) => this.call(target, { type: 'ping' }),
      end: this.end.bind(this),
    };
    probeOverdue(actions, worker, what, this.config.probeMs);
  }

  /**
   * Ends a worker on purpose and replaces it: `message` says why (it is logged and counted under
   * `cause`), and `errorFor` builds what each request it held is answered.
   */
  end(
    worker: PoolWorker,
    cause: ReplacementCause,
    message: string,
    errorFor: (message: string) => BerthError,
  ): void {
    if (worker.state === 'dead' || worker.state === 'stopping' || this.closing) return;
    worker.ending = { cause, reason: message, error: errorFor(message) };
    worker.state = 'stopping';
    void worker.thread.terminate();
  }

  /**
   * Asks every ready worker for its memory; the answers update `memory` and `reportedAt` as they
   * come. A worker held by a task answers only when the task ends.
   */
  askMemory(): void {
    const ask: ReportMemory = { type: 'report-memory' };
    for (const worker of this.workers()) if (worker.state === 'ready') worker.thread.postMessage(ask);
  }

  /** Stops every worker: asks each to release its sessions, then ends the thread. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(
      this.workers().map(async (worker) => {
        if (worker.state === 'ready') {
          await withTimeout(this.call(worker, { type: 'shutdown' }), 2_000).catch(() => undefined);
        }
        worker.state = 'stopping';
        await worker.thread.terminate();
      }),
    );
  }

  private spawn(slot: number): Promise<ReadyMessage> {
    const startup: WorkerStartup = {
      workerId: ++this.nextWorkerId,
      onnx: this.config.onnx,
      models: this.config.models(),
      script: this.config.script,
    };
    const thread = new Worker(workerUrl, {
      workerData: startup,
      resourceLimits: { maxOldGenerationSizeMb: this.config.maxOldGenerationMb },
    });
    const worker = new PoolWorker(startup.workerId, slot, thread);
    this.slots[slot] = worker;
    return new Promise<ReadyMessage>((resolve, reject) => {
      const startTimer = setTimeout(() => {
        if (worker.state !== 'starting') return;
        reject(
          new BerthError(
            'NOT_READY',
            `worker ${worker.id} did not start within ${this.config.startTimeoutMs} ms (loading the models or the scoring script's init() took longer)`,
          ),
        );
        worker.state = 'stopping';
        void thread.terminate();
      }, this.config.startTimeoutMs);
      startTimer.unref();
      thread.on('message', (message: FromWorker) => {
        if (message.type === 'memory') {
          worker.reportedAt = performance.now();
          if (worker.memory !== undefined) worker.memory.current = footprint(message.memory);
        } else if (message.type === 'ready') {
          clearTimeout(startTimer);
          worker.state = 'ready';
          worker.reportedAt = performance.now();
          const bytes = footprint(message.memory);
          worker.memory = { baseline: bytes, current: bytes };
          this.history.started();
          resolve(message);
          this.notifyCapacity();
        } else if (message.type === 'startup-failed') {
          clearTimeout(startTimer);
          reject(deserializeError(message.error));
          worker.state = 'stopping';
          void thread.terminate();
        } else {
          this.reply(worker, message);
        }
      });
      thread.on('error', (error) => {
        worker.lastError = error;
      });
      thread.on('exit', (code) => {
        clearTimeout(startTimer);
        this.onExit(worker, code, reject);
      });
    });
  }

  private onExit(worker: PoolWorker, code: number, rejectStart: (error: BerthError) => void): void {
    const wasStarting = worker.state === 'starting';
    const ending = worker.ending;
    const expected = (worker.state === 'stopping' && ending === undefined) || this.closing;
    worker.state = 'dead';
    const fate = ending ?? fateOf(worker, code, this.config.maxOldGenerationMb);
    for (const [requestId, pending] of worker.pending) {
      worker.pending.delete(requestId);
      pending.reject(fate.error);
    }
    worker.outstanding = 0;
    worker.busySince = 0;
    if (wasStarting)
      rejectStart(
        new BerthError('WORKER_CRASHED', `worker ${worker.id} stopped while starting: ${fate.reason}`),
      );
    if (!expected && !wasStarting) this.replace(worker, fate.cause, fate.reason);
  }

  private replace(dead: PoolWorker, cause: ReplacementCause, message: string): void {
    this.history.replacedFor(cause, `worker ${dead.id}: ${message}`);
    this.refill(dead.slot, 1_000);
    this.config.logger.error(
      `worker ${dead.id} stopped (${cause}): ${message}; worker ${this.slots[dead.slot]?.id ?? '?'} replaces it`,
      { cause, restarts: this.restarts },
    );
  }

  private refill(slot: number, retryDelayMs: number): void {
    if (this.closing) return;
    this.spawn(slot).catch((error: unknown) => {
      if (this.closing) return;
      this.slots[slot] = undefined;
      const message = error instanceof Error ? error.message : String(error);
      this.history.startFailed(`a replacement worker could not start: ${message}`);
      this.config.logger.error(
        `a replacement worker failed to start (${this.history.failedStarts} in a row); retrying in ${retryDelayMs} ms`,
        { error, canScore: this.canScore() },
      );
      setTimeout(() => this.refill(slot, Math.min(retryDelayMs * 2, 30_000)), retryDelayMs).unref();
    });
  }

  private reply(
    worker: PoolWorker,
    message: Exclude<FromWorker, { type: 'ready' | 'startup-failed' | 'memory' }>,
  ): void {
    const pending = this.settle(worker, message.requestId);
    if (pending === undefined) return;
    if (message.type === 'failed') pending.reject(deserializeError(message.error));
    else if (message.type !== pending.expected) {
      pending.reject(
        new BerthError('INTERNAL', `worker answered ${message.type} where ${pending.expected} was expected`),
      );
    } else pending.resolve(message);
    this.notifyCapacity();
  }

  private settle(worker: PoolWorker, requestId: number): PendingCall | undefined {
    const pending = worker.pending.get(requestId);
    if (pending === undefined) return undefined;
    worker.pending.delete(requestId);
    worker.outstanding = Math.max(0, worker.outstanding - 1);
    if (worker.outstanding === 0) worker.busySince = 0;
    return pending;
  }

  private notifyCapacity(): void {
    for (const listener of this.capacityListeners) listener();
  }
}

const replyTypes: { [K in keyof ReplyTypes]: ReplyTypes[K] } = {
  infer: 'inferred',
  'infer-encoded': 'inferred-encoded',
  script: 'scripted',
  load: 'loaded',
  unload: 'done',
  shutdown: 'done',
  ping: 'pong',
};

/** Ready workers sort by load; starting and suspect ones after every ready one. */
function rank(worker: PoolWorker): number {
  return worker.state === 'ready' && !worker.suspect ? worker.outstanding : 1e9 + worker.outstanding;
}

function footprint(memory: { heapUsed: number; external: number }): number {
  return memory.heapUsed + memory.external;
}
