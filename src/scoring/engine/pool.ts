/**
 * The worker pool: a fixed number of worker threads, each holding every model. It sends typed
 * requests and matches replies by `requestId`; it replaces a worker that dies (uncaught error,
 * `process.exit`, out of memory) and answers every request that worker held with WORKER_CRASHED,
 * so no caller waits forever.
 *
 * Lifecycle of a worker: starting → ready → (stopping | dead). A dead worker's slot is refilled
 * at once; if the replacement cannot start, the slot retries with a growing delay (capped at 30 s).
 * The pool does not queue: the batcher above it decides when to send what.
 */
import { Worker } from 'node:worker_threads';
import { BerthError, deserializeError } from '../../core/errors.js';
import type { ModelToServe } from '../engine.js';
import type { Logger } from '../runtimes/logger.js';
import type { CallOf, FromWorker, ReplyOf, ReplyTypes, ToWorker, WorkerStartup } from './messages.js';

type ReadyMessage = Extract<FromWorker, { type: 'ready' }>;
type WorkerState = 'starting' | 'ready' | 'stopping' | 'dead';

export interface PoolConfig {
  size: number;
  onnx: WorkerStartup['onnx'];
  script: WorkerStartup['script'];
  /** The models a new worker must load: read at each (re)start, so replacements get loads made since. */
  models: () => ModelToServe[];
  maxOldGenerationMb: number;
  logger: Logger;
}

interface PendingCall {
  expected: FromWorker['type'];
  resolve: (reply: FromWorker) => void;
  reject: (error: BerthError) => void;
}

export class PoolWorker {
  state: WorkerState = 'starting';
  /** Requests sent and not yet answered. */
  outstanding = 0;
  readonly pending = new Map<number, PendingCall>();
  lastError: Error | undefined;

  constructor(
    readonly id: number,
    readonly slot: number,
    readonly thread: Worker,
  ) {}
}

const workerUrl = new URL('./worker.js', import.meta.url);

export class WorkerPool {
  private readonly slots: (PoolWorker | undefined)[];
  private nextWorkerId = 0;
  private nextRequestId = 0;
  private closing = false;
  private readonly capacityListeners: (() => void)[] = [];
  restarts = 0;

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

  workers(): PoolWorker[] {
    return this.slots.filter(
      (worker): worker is PoolWorker => worker !== undefined && worker.state !== 'dead',
    );
  }

  /** The ready worker with the fewest outstanding requests; a starting one only when none is ready. */
  pick(): PoolWorker | undefined {
    let best: PoolWorker | undefined;
    for (const worker of this.workers()) {
      if (worker.state === 'stopping') continue;
      if (best === undefined || rank(worker) < rank(best)) best = worker;
    }
    return best;
  }

  hasIdleWorker(): boolean {
    return this.workers().some((worker) => worker.state === 'ready' && worker.outstanding === 0);
  }

  /** Called whenever a worker may take more work: a reply arrived, or a worker became ready. */
  onCapacity(listener: () => void): void {
    this.capacityListeners.push(listener);
  }

  call<K extends ToWorker['type']>(
    worker: PoolWorker,
    call: CallOf<K> & { type: K },
    transfer: ArrayBuffer[] = [],
  ): Promise<ReplyOf<K>> {
    if (worker.state === 'dead') {
      return Promise.reject(new BerthError('WORKER_CRASHED', `worker ${worker.id} has stopped`));
    }
    const requestId = ++this.nextRequestId;
    const message = { ...call, requestId } as ToWorker;
    return new Promise<ReplyOf<K>>((resolve, reject) => {
      worker.pending.set(requestId, {
        expected: replyTypes[call.type],
        resolve: resolve as (reply: FromWorker) => void,
        reject,
      });
      worker.outstanding += 1;
      try {
        worker.thread.postMessage(message, transfer);
      } catch (error) {
        this.settle(worker, requestId);
        reject(
          new BerthError('BAD_INPUT', `cannot send the request to a worker: ${(error as Error).message}`),
        );
      }
    });
  }

  /** Sends the same request to every live worker (starting ones included) and waits for all. */
  broadcast<K extends ToWorker['type']>(call: CallOf<K> & { type: K }): Promise<ReplyOf<K>[]> {
    return Promise.all(this.workers().map((worker) => this.call<K>(worker, call)));
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
      thread.on('message', (message: FromWorker) => {
        if (message.type === 'ready') {
          worker.state = 'ready';
          resolve(message);
          this.notifyCapacity();
        } else if (message.type === 'startup-failed') {
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
        const wasStarting = worker.state === 'starting';
        const expected = worker.state === 'stopping' || this.closing;
        worker.state = 'dead';
        const reason = deathReason(worker, code, this.config.maxOldGenerationMb);
        for (const [requestId, pending] of worker.pending) {
          worker.pending.delete(requestId);
          pending.reject(
            new BerthError(
              'WORKER_CRASHED',
              `worker ${worker.id} stopped while handling this request: ${reason}`,
            ),
          );
        }
        worker.outstanding = 0;
        if (wasStarting)
          reject(new BerthError('WORKER_CRASHED', `worker ${worker.id} stopped while starting: ${reason}`));
        if (!expected && !wasStarting) this.replace(worker, reason);
      });
    });
  }

  private replace(dead: PoolWorker, reason: string): void {
    this.restarts += 1;
    this.config.logger.error(`worker ${dead.id} stopped (${reason}); starting a replacement`, {
      restarts: this.restarts,
    });
    this.refill(dead.slot, 1_000);
  }

  private refill(slot: number, retryDelayMs: number): void {
    if (this.closing) return;
    this.spawn(slot).catch((error: unknown) => {
      if (this.closing) return;
      this.slots[slot] = undefined;
      this.config.logger.error(`a replacement worker failed to start; retrying in ${retryDelayMs} ms`, {
        error,
      });
      setTimeout(() => this.refill(slot, Math.min(retryDelayMs * 2, 30_000)), retryDelayMs).unref();
    });
  }

  private reply(
    worker: PoolWorker,
    message: Exclude<FromWorker, { type: 'ready' | 'startup-failed' }>,
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
};

/** Starting workers sort after every ready one, whatever their load. */
function rank(worker: PoolWorker): number {
  return worker.state === 'ready' ? worker.outstanding : 1e9 + worker.outstanding;
}

function deathReason(worker: PoolWorker, code: number, limitMb: number): string {
  const error: (Error & { code?: string }) | undefined = worker.lastError;
  if (error?.code === 'ERR_WORKER_OUT_OF_MEMORY')
    return `it ran out of memory (limit ${limitMb} MB of heap per worker)`;
  if (error !== undefined) return `uncaught ${error.name}: ${error.message}`;
  return `it exited with code ${code} (process.exit in the scoring script?)`;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
