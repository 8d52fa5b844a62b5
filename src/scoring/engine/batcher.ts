/**
 * The dynamic batcher: one queue per model version, turned into runs on the worker pool.
 *
 * Policy. A request never waits for company while a worker has nothing to do: when a worker is
 * idle the queue is flushed at the end of the current event-loop turn (`setImmediate`), so requests
 * that arrived together (one poll phase of the HTTP server) still share a run, at a cost of
 * microseconds. While every worker is busy, requests gather; a batch leaves when
 *   - a worker becomes free (it takes what has gathered: the batch grows with the load),
 *   - the queue holds `maxBatchSize` rows (a full batch goes to the least-loaded worker), or
 *   - the oldest request has waited `maxQueueDelayMs` (the bound on added latency).
 * Models that cannot batch (no dynamic first dimension, or batching off) use the same queue with
 * a batch of one request, which therefore leaves at once.
 *
 * A model that runs inline (on the main thread, see placement.ts) never waits for a worker: its
 * queue behaves as if a worker were always idle, so a batch is what arrived in one event-loop
 * turn, and a request that cannot batch runs at once.
 *
 * Only requests with the same stacking key (datatypes and sizes past dimension 0) share a run; a
 * request larger than `maxBatchSize` rows runs alone. Rows count toward the limit, not requests.
 */
import { BerthError } from '../../core/errors.js';
import type { BatchEvent, EngineOptions, InferResponse, TensorValue } from '../engine.js';
import type { Logger } from '../runtimes/logger.js';
import { abortReason, isDeadlineReason, type CancelSignal } from '../cancel.js';
import { InFlight } from './in-flight.js';
import type { InlineSessions } from './inline.js';
import { requestText, type PoolWorker, type WorkerPool } from './pool.js';
import { splitOutputs, stackInputs } from './stacking.js';
import type { StatisticsRecorder } from './statistics.js';
import { prepareTensors } from './transfer.js';
import { modelKey } from './versions.js';

export interface BatchRequest {
  name: string;
  version: string;
  /** False for models without a dynamic first dimension; they run one request at a time. */
  batchable: boolean;
  inputs: Record<string, TensorValue>;
  outputs: string[] | undefined;
  rows: number;
  stackKey: string | undefined;
  signal: CancelSignal | undefined;
  /** True when the model runs on the main thread (InlineSessions) instead of a worker. */
  inline: boolean;
  /** The request's id, for the log line when its deadline ends a stuck worker. */
  id: string | undefined;
}

interface Item extends BatchRequest {
  /** The worker its run went to; undefined while queued or running inline. */
  worker: PoolWorker | undefined;
  enqueuedNs: bigint;
  settled: boolean;
  resolve: (response: InferResponse) => void;
  reject: (error: unknown) => void;
  detach: () => void;
}

interface Queue {
  name: string;
  version: string;
  /** Turned off for good when a model's outputs turn out not to split by rows. */
  batchable: boolean;
  inline: boolean;
  items: Item[];
  timer: NodeJS.Timeout | undefined;
}

export class Batcher {
  private readonly queues = new Map<string, Queue>();
  private readonly running = new InFlight();
  private immediate: NodeJS.Immediate | undefined;
  private draining = false;

  constructor(
    private readonly pool: WorkerPool,
    private readonly inline: InlineSessions,
    private readonly stats: StatisticsRecorder,
    private readonly config: EngineOptions['batching'],
    private readonly logger: Logger,
    private readonly hooks: {
      onBatch: (event: BatchEvent) => void;
      /** The model's outputs did not split by rows; the engine stops listing it as batching. */
      onNotBatchable: (name: string, version: string) => void;
    },
  ) {
    pool.onCapacity(() => this.flushAll());
  }

  queueDepth(): number {
    let depth = 0;
    for (const queue of this.queues.values()) depth += queue.items.length;
    return depth;
  }

  get inFlight(): number {
    return this.running.size;
  }

  submit(request: BatchRequest): Promise<InferResponse> {
    const signal = request.signal;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    const queue = this.queueFor(request);
    return new Promise<InferResponse>((resolve, reject) => {
      // Listed field by field, not spread: every item then shares one object shape.
      const item: Item = {
        name: request.name,
        version: request.version,
        batchable: request.batchable,
        inputs: request.inputs,
        outputs: request.outputs,
        rows: request.rows,
        stackKey: request.stackKey,
        signal,
        inline: request.inline,
        id: request.id,
        worker: undefined,
        enqueuedNs: process.hrtime.bigint(),
        settled: false,
        resolve,
        reject,
        detach: () => {},
      };
      if (signal !== undefined) {
        const onAbort = (): void => this.abort(queue, item, abortReason(signal));
        signal.addEventListener('abort', onAbort, { once: true });
        item.detach = () => signal.removeEventListener('abort', onAbort);
      }
      queue.items.push(item);
      this.schedule(queue);
    });
  }

  /** Sends every queued request of one model version now (before it is unloaded). */
  flushModel(name: string, version: string): void {
    const queue = this.queues.get(modelKey(name, version));
    if (queue !== undefined) this.flush(queue, true);
  }

  /** Sends everything queued at once and waits until every run has answered. */
  async drain(): Promise<void> {
    this.draining = true;
    for (const queue of this.queues.values()) this.flush(queue, true);
    await this.running.idle();
  }

  private queueFor(request: BatchRequest): Queue {
    const key = modelKey(request.name, request.version);
    let queue = this.queues.get(key);
    if (queue === undefined) {
      queue = {
        name: request.name,
        version: request.version,
        batchable: request.batchable,
        inline: request.inline,
        items: [],
        timer: undefined,
      };
      this.queues.set(key, queue);
    }
    // A reload of the same version may move it between the main thread and the workers.
    queue.inline = request.inline;
    return queue;
  }

  private schedule(queue: Queue): void {
    if (this.draining || this.isFull(queue)) {
      this.flush(queue, false);
    } else if (queue.inline || this.pool.hasIdleWorker()) {
      this.immediate ??= setImmediate(() => {
        this.immediate = undefined;
        this.flushAll();
      });
    } else {
      this.armTimer(queue);
    }
  }

  private flushAll(): void {
    if (this.queues.size === 1) {
      for (const queue of this.queues.values()) this.flush(queue, false);
      return;
    }
    const waiting = [...this.queues.values()].filter((queue) => queue.items.length > 0);
    // The queue whose oldest request has waited longest goes first.
    waiting.sort((a, b) => Number((a.items[0]?.enqueuedNs ?? 0n) - (b.items[0]?.enqueuedNs ?? 0n)));
    for (const queue of waiting) this.flush(queue, false);
  }

  private flush(queue: Queue, force: boolean): void {
    while (queue.items.length > 0) {
      const go =
        force ||
        this.draining ||
        queue.inline ||
        this.isFull(queue) ||
        this.pool.hasIdleWorker() ||
        this.hasExpired(queue);
      if (!go) break;
      this.dispatch(queue, this.take(queue));
    }
    if (queue.timer !== undefined) {
      clearTimeout(queue.timer);
      queue.timer = undefined;
    }
    if (queue.items.length > 0) this.armTimer(queue);
  }

  private isFull(queue: Queue): boolean {
    if (!queue.batchable) return queue.items.length > 0;
    let rows = 0;
    for (const item of queue.items) rows += item.rows;
    return rows >= this.config.maxBatchSize;
  }

  private hasExpired(queue: Queue): boolean {
    const oldest = queue.items[0];
    if (oldest === undefined) return false;
    return Number(process.hrtime.bigint() - oldest.enqueuedNs) / 1e6 >= this.config.maxQueueDelayMs;
  }

  private armTimer(queue: Queue): void {
    const oldest = queue.items[0];
    if (queue.timer !== undefined || oldest === undefined) return;
    const waitedMs = Number(process.hrtime.bigint() - oldest.enqueuedNs) / 1e6;
    queue.timer = setTimeout(
      () => {
        queue.timer = undefined;
        this.flush(queue, false);
      },
      Math.max(0, this.config.maxQueueDelayMs - waitedMs),
    );
  }

  /** The oldest request, plus later ones that stack with it, up to maxBatchSize rows. */
  private take(queue: Queue): Item[] {
    const head = queue.items.shift() as Item;
    if (!queue.batchable || head.stackKey === undefined) return [head];
    const batch = [head];
    let rows = head.rows;
    queue.items = queue.items.filter((item) => {
      if (item.stackKey !== head.stackKey || rows + item.rows > this.config.maxBatchSize) return true;
      batch.push(item);
      rows += item.rows;
      return false;
    });
    return batch;
  }

  private abort(queue: Queue, item: Item, reason: Error): void {
    const index = queue.items.indexOf(item);
    if (index >= 0) queue.items.splice(index, 1);
    this.fail(item, reason);
    // A run past its deadline may be one that never ends: the pool asks whether its worker turns.
    if (item.worker !== undefined && isDeadlineReason(reason))
      this.pool.overdue(item.worker, requestText(item.id, reason));
  }

  private fail(item: Item, error: unknown): void {
    if (this.settle(item)) {
      this.stats.failure(item.name, item.version, Number(process.hrtime.bigint() - item.enqueuedNs));
      item.reject(error);
    }
  }

  /** True the first time only: an aborted request's late result must not answer it twice. */
  private settle(item: Item): boolean {
    if (item.settled) return false;
    item.settled = true;
    item.detach();
    return true;
  }

  private dispatch(queue: Queue, batch: Item[]): void {
    const live = batch.filter((item) => !item.settled);
    if (live.length === 0) return;
    // run() answers every item itself, success or failure, so nothing is left to await here. It
    // stops counting the run before it answers, so a caller that sees its answer sees the run
    // finished (inFlight, drain).
    const done = this.running.begin();
    void this.run(queue, live, done).finally(done);
  }

  private async run(queue: Queue, batch: Item[], done: () => void): Promise<void> {
    const wanted = wantedOutputs(batch);
    const inputs =
      batch.length === 1 ? (batch[0] as Item).inputs : stackInputs(batch.map((item) => item.inputs));
    let reply: { outputs: Record<string, TensorValue>; computeNs: number };
    try {
      // The session is looked up now, not at submit: a reload may have moved the model meanwhile.
      reply = this.inline.has(queue.name, queue.version)
        ? await this.inline.run(queue.name, queue.version, inputs, wanted)
        : await this.runOnWorker(queue, batch, inputs, wanted);
    } catch (error) {
      done();
      for (const item of batch) this.fail(item, error);
      return;
    }
    const rows = batch.map((item) => item.rows);
    const parts = batch.length === 1 ? [reply.outputs] : splitOutputs(reply.outputs, rows);
    if (parts === undefined) {
      // The requests go out again as runs of their own, counted from the start, before this ends.
      this.unbatch(queue, batch);
      done();
      return;
    }
    const total = rows.reduce((sum, count) => sum + count, 0);
    this.stats.execution(queue.name, queue.version, total);
    const doneNs = process.hrtime.bigint();
    this.hooks.onBatch({
      model: queue.name,
      version: queue.version,
      requests: batch.length,
      rows: total,
      computeMs: reply.computeNs / 1e6,
    });
    done();
    batch.forEach((item, index) => {
      const totalNs = Number(doneNs - item.enqueuedNs);
      const queueNs = Math.max(0, totalNs - reply.computeNs);
      if (!this.settle(item)) return;
      this.stats.success(item.name, item.version, totalNs, queueNs, reply.computeNs);
      item.resolve({
        model: item.name,
        version: item.version,
        outputs: pick(parts[index] ?? {}, item.outputs),
        batchSize: batch.length,
        queueMs: queueNs / 1e6,
        computeMs: reply.computeNs / 1e6,
      });
    });
  }

  private async runOnWorker(
    queue: Queue,
    batch: Item[],
    inputs: Record<string, TensorValue>,
    wanted: string[] | undefined,
  ): Promise<{ outputs: Record<string, TensorValue>; computeNs: number }> {
    const worker = this.pool.pick();
    if (worker === undefined) {
      throw new BerthError('NOT_READY', 'no worker is running: the pool is restarting its workers');
    }
    for (const item of batch) item.worker = worker;
    const prepared = prepareTensors(inputs);
    const call = {
      type: 'infer' as const,
      model: queue.name,
      version: queue.version,
      inputs: prepared.tensors,
      outputs: wanted,
    };
    return this.pool.call(worker, call, prepared.transfer);
  }

  /** The model's outputs did not split by rows: stop batching it and run these one by one. */
  private unbatch(queue: Queue, batch: Item[]): void {
    queue.batchable = false;
    this.hooks.onNotBatchable(queue.name, queue.version);
    this.logger.warn(
      `model "${queue.name}" version ${queue.version}: outputs do not follow the batch's first dimension; batching turned off for it`,
    );
    for (const item of batch) this.dispatch(queue, [item]);
  }
}

/** The union of the outputs the batch's requests name; undefined when any wants them all. */
function wantedOutputs(batch: readonly Item[]): string[] | undefined {
  if (batch.length === 1) return (batch[0] as Item).outputs;
  if (batch.some((item) => item.outputs === undefined)) return undefined;
  return [...new Set(batch.flatMap((item) => item.outputs ?? []))];
}

function pick(
  outputs: Record<string, TensorValue>,
  names: string[] | undefined,
): Record<string, TensorValue> {
  if (names === undefined) return outputs;
  const picked: Record<string, TensorValue> = {};
  for (const name of names) {
    const value = outputs[name];
    if (value !== undefined) picked[name] = value;
  }
  return picked;
}
