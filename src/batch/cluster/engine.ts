/**
 * The `cluster` batch engine: mini-batches become BullMQ jobs on Redis, and `berth worker`
 * processes on any number of machines run them.
 *
 * What `execute` does for one attempt:
 * 1. ships the model to Redis if it is not there yet (artifacts.ts; once per engine and model);
 * 2. enqueues the task on the shared queue `<prefix>:batch` under a deterministic BullMQ job id
 *    (`<jobId>.<index>.<attempt>`), so a retried enqueue after a dropped connection cannot
 *    duplicate it;
 * 3. waits for that job to finish (outcome-waiters.ts, fed by event-reader.ts) and resolves with
 *    the worker's outcome. The finished job stays in Redis a while, so that an outcome whose event
 *    was missed can still be read; BullMQ trims the oldest in the script that finishes a job.
 *
 * What it leaves out on purpose: retries, thresholds and output stay in the coordinator. BullMQ's
 * own retry is used for one thing only, a worker that died holding the job (stalled-job detection
 * runs it again on another worker, at most `maxStalledCount` times): the coordinator still sees
 * one outcome for the attempt. Infrastructure failures (Redis unreachable, a worker that keeps
 * dying) are failed outcomes with a retryable code, not rejections.
 *
 * The engine owns its Redis clients (queue, events, artifacts; see connection.ts) and closes them in
 * close(). The workers belong to whoever started them.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { BerthError, hasErrorCode, toBerthError } from '../../core/errors.js';
import {
  attemptAbortError,
  type BatchEngine,
  type ExecuteHooks,
  type MiniBatchOutcome,
  type MiniBatchTask,
  type WorkerLogLine,
} from '../engine.js';
import { shipModel } from './artifacts.js';
import { parseClusterAddress } from './config.js';
import { closeRedis, connectNow, createRedis } from './connection.js';
import { EventStreamReader, type QueueEvent } from './event-reader.js';
import { GatherDelay } from './gather-delay.js';
import { failedOutcome } from './messages.js';
import { bullJobId, clientName, defaultQueuePrefix, queueName } from './names.js';
import { OutcomeWaiters } from './outcome-waiters.js';

export interface ClusterEngineOptions {
  /** `redis://host:port[/db]`, with or without the `cluster:` prefix. */
  redisUrl: string;
  /** Prefix of every Redis key the engine and its workers use; must match the workers'. Default: `berth`. */
  queuePrefix?: string;
  /** How often pending mini-batches are re-read when their events were missed. Default: 1000 ms. */
  pollIntervalMs?: number;
  /** How long an enqueue keeps retrying while Redis is unreachable. Default: 60 s. */
  enqueueRetryMs?: number;
  /** Engine events (a mini-batch moved to another worker, a model shipped). Default: dropped. */
  log?: (line: WorkerLogLine) => void;
}

/**
 * How long, and how many, finished jobs BullMQ keeps (the newest, of every submitter together). The
 * outcome poll reads a job whose event was missed within a second or two, long before 1,000 others
 * finish; removing each job once read instead cost a Redis round trip per mini-batch.
 */
const keepFinished = { age: 24 * 60 * 60, count: 1000 };

function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

class ClusterEngine implements BatchEngine {
  readonly kind = 'cluster' as const;
  readonly #shipped = new Map<string, Promise<void>>();
  #closed = false;

  constructor(
    private readonly artifacts: Redis,
    private readonly prefix: string,
    private readonly options: Required<Pick<ClusterEngineOptions, 'enqueueRetryMs'>> &
      Pick<ClusterEngineOptions, 'log'>,
    private readonly queue: Queue,
    private readonly events: EventStreamReader,
    private readonly waiters: OutcomeWaiters,
    private readonly gather: GatherDelay,
    private readonly clients: { close(): Promise<void> },
  ) {}

  async execute(task: MiniBatchTask, signal?: AbortSignal, hooks?: ExecuteHooks): Promise<MiniBatchOutcome> {
    const started = performance.now();
    const failed = (error: unknown, phase?: 'init'): MiniBatchOutcome => {
      const berth = toBerthError(error);
      const elapsed = Math.round(performance.now() - started);
      return failedOutcome(task, 'cluster', elapsed, {
        code: berth.code,
        message: berth.message,
        ...(phase && { phase }),
      });
    };
    signal?.throwIfAborted();
    try {
      await this.#ship(task);
    } catch (error) {
      return failed(error, hasErrorCode(error) && !toBerthError(error).retryable ? 'init' : undefined);
    }

    const id = bullJobId(task.jobId, task.plan.index, task.attempt);
    const outcome = this.waiters.wait(id, task, hooks);
    try {
      await this.#enqueue(id, task, signal);
    } catch (error) {
      this.waiters.forget(id);
      if (signal?.aborted) throw attemptAbortError(signal);
      return failed(error);
    }
    // An attempt enqueued before (a resume after the submitter died) may have finished before the
    // event listener started: its `duplicated` event, or else the poll, reads the job.
    const result = await this.#untilSettled(id, outcome, signal);
    if (result.status === 'succeeded') this.gather.record(result.durationMs);
    return result;
  }

  async #ship(task: MiniBatchTask): Promise<void> {
    const model = task.program.model;
    if (model === undefined) return;
    let shipping = this.#shipped.get(model.sha256);
    if (shipping === undefined) {
      shipping = (async () => {
        if (model.local === undefined) {
          throw new BerthError(
            'INVALID_SPEC',
            `model ${model.name}:${model.version} has no local files to ship to the cluster's workers`,
          );
        }
        const bytes = await shipModel(this.artifacts, this.prefix, model, model.local);
        if (bytes > 0) this.#log(`model ${model.name}:${model.version} shipped to Redis (${bytes} bytes)`);
      })();
      this.#shipped.set(model.sha256, shipping);
      // A failed upload is forgotten, so the next attempt tries again.
      shipping.catch(() => this.#shipped.delete(model.sha256));
    }
    await shipping;
  }

  async #enqueue(id: string, task: MiniBatchTask, signal: AbortSignal | undefined): Promise<void> {
    const deadline = performance.now() + this.options.enqueueRetryMs;
    for (;;) {
      try {
        await this.queue.add('mini-batch', task, {
          jobId: id,
          attempts: 1,
          removeOnComplete: keepFinished,
          removeOnFail: keepFinished,
        });
        return;
      } catch (error) {
        // The same job id makes a repeated add harmless, so a dropped connection is simply retried.
        if (this.#closed || signal?.aborted || performance.now() > deadline) {
          throw toBerthError(error, 'NOT_READY');
        }
        await delay(500, signal);
      }
    }
  }

  async #untilSettled(
    id: string,
    outcome: Promise<MiniBatchOutcome>,
    signal: AbortSignal | undefined,
  ): Promise<MiniBatchOutcome> {
    if (signal === undefined) return outcome;
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_resolve, reject) => {
      onAbort = () => reject(attemptAbortError(signal));
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([outcome, aborted]);
    } catch (error) {
      this.waiters.forget(id);
      // A job no worker took yet is withdrawn; one in progress finishes and is dropped (its lock
      // forbids removal), then expires with the other finished jobs.
      await this.queue.remove(id).catch(() => undefined);
      throw error;
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }

  #log(line: string): void {
    this.options.log?.({ worker: 'cluster', stream: 'berth', line });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.waiters.close();
    await this.events.close();
    await this.queue.close().catch(() => undefined);
    await this.clients.close();
  }
}

/** Hands the events of the jobs being waited for to the waiters; the rest of the stream is skipped. */
function dispatchEvents(waiters: OutcomeWaiters, events: QueueEvent[]): void {
  for (const { event, fields } of events) {
    const jobId = fields.jobId;
    if (jobId === undefined || !waiters.has(jobId)) continue;
    if (event === 'completed') waiters.completed(jobId, fields.returnvalue);
    else if (event === 'active') waiters.taken(jobId);
    else if (event === 'progress') waiters.started(jobId, fields.data);
    // A failure, or an enqueue that found the attempt already there (enqueued by an earlier run of
    // this job): the job itself says how it ended.
    else if (event === 'failed' || event === 'duplicated') waiters.check(jobId);
  }
}

/** Connects to Redis (failing fast when it is unreachable) and returns the engine. */
export async function createClusterEngine(options: ClusterEngineOptions): Promise<BatchEngine> {
  const endpoint = parseClusterAddress(options.redisUrl);
  const prefix = options.queuePrefix ?? defaultQueuePrefix;
  const queueClient = createRedis(endpoint, clientName(prefix, 'submitter'), 'producer');
  // The event reader's blocking XREAD holds this connection while it waits.
  const eventsClient = createRedis(endpoint, clientName(prefix, 'submitter-events'), 'blocking');
  // Connects on the first upload.
  const artifacts = createRedis(endpoint, clientName(prefix, 'submitter-artifacts'), 'plain');
  const clients = {
    async close() {
      for (const client of [queueClient, eventsClient, artifacts]) await closeRedis(client);
    },
  };
  try {
    // Before any BullMQ object exists: BullMQ would wait for an unreachable Redis forever.
    await connectNow(queueClient);
    await connectNow(eventsClient);
  } catch (error) {
    await clients.close();
    throw toBerthError(error, 'NOT_READY');
  }
  const queue = new Queue(queueName, { connection: queueClient, prefix });
  // A dropped connection is reported as an error event: enqueues are retried and the poll covers
  // missed events. Listening from the start keeps an early one from becoming an uncaught exception.
  queue.on('error', () => undefined);
  const log = (line: string): void => options.log?.({ worker: 'cluster', stream: 'berth', line });
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const waiters = new OutcomeWaiters(queue, pollIntervalMs, log);
  const gather = new GatherDelay();
  const events = new EventStreamReader(
    eventsClient,
    `${prefix}:${queueName}:events`,
    (batch) => dispatchEvents(waiters, batch),
    { gatherMs: () => gather.ms, blockMs: 10_000, retryMs: 500 },
  );
  try {
    await queue.waitUntilReady();
    // Before the first enqueue, so no event of this engine's jobs comes before the reader's start.
    await events.start();
  } catch (error) {
    waiters.close();
    await events.close();
    await queue.close().catch(() => undefined);
    await clients.close();
    throw toBerthError(error, 'NOT_READY');
  }
  return new ClusterEngine(
    artifacts,
    prefix,
    { enqueueRetryMs: options.enqueueRetryMs ?? 60_000, log: options.log },
    queue,
    events,
    waiters,
    gather,
    clients,
  );
}
