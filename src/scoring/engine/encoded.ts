/**
 * Requests whose raw body a worker decodes (`inferEncoded`). Parsing a large JSON body costs the
 * main thread more than the model's run costs a worker; handing the bytes over lets every core
 * decode. Models on workers come here whether or not they batch: such a request runs alone on the
 * worker that decoded it (its tensors never reach the main thread to be stacked with others),
 * which costs little, as decoding a body this large takes longer than the model's run.
 *
 * Kept equal to the batcher's path: the least-loaded worker, the signal's reason on abort (a late
 * result is dropped), WORKER_CRASHED from the pool, the same statistics and batch events, and
 * counted in flight until answered, so drain waits for it. Bad input found by the worker counts
 * in no statistic, as the main-thread path rejects it before the engine.
 */
import { BerthError, deserializeError } from '../../core/errors.js';
import type { ModelSignature } from '../../core/tensor.js';
import type { BatchEvent, EncodedInferRequest, EncodedInferResponse } from '../engine.js';
import { abortReason } from '../cancel.js';
import { InFlight } from './in-flight.js';
import type { WorkerPool } from './pool.js';
import type { StatisticsRecorder } from './statistics.js';
import { prepareBytes } from './transfer.js';

export interface EncodedTarget {
  name: string;
  version: string;
  signature: ModelSignature;
  hasBatchDimension: boolean;
}

export class EncodedRunner {
  private readonly running = new InFlight();
  /** Requests sent to a worker so far. */
  sent = 0;

  constructor(
    private readonly pool: WorkerPool,
    private readonly stats: StatisticsRecorder,
    private readonly onBatch: (event: BatchEvent) => void,
  ) {}

  get inFlight(): number {
    return this.running.size;
  }

  idle(): Promise<void> {
    return this.running.idle();
  }

  run(target: EncodedTarget, request: EncodedInferRequest): Promise<EncodedInferResponse> {
    const { signal } = request;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    const startedNs = process.hrtime.bigint();
    const elapsedNs = (): number => Number(process.hrtime.bigint() - startedNs);
    const worker = this.pool.pick();
    if (worker === undefined) {
      this.stats.failure(target.name, target.version, elapsedNs());
      return Promise.reject(
        new BerthError('NOT_READY', 'no worker is running: the pool is restarting its workers'),
      );
    }
    const bytes = prepareBytes(request.body);
    const call = {
      type: 'infer-encoded' as const,
      model: target.name,
      version: target.version,
      format: request.format,
      body: bytes.bytes,
      signature: target.signature,
      hasBatchDimension: target.hasBatchDimension,
    };
    this.sent += 1;
    const done = this.running.begin();
    return new Promise<EncodedInferResponse>((resolve, reject) => {
      let settled = false;
      const settle = (): boolean => {
        if (settled) return false;
        settled = true;
        return true;
      };
      const fail = (error: unknown): void => {
        if (!settle()) return;
        this.stats.failure(target.name, target.version, elapsedNs());
        reject(error instanceof Error ? error : new Error(String(error)));
      };
      // The pool answers an aborted call with the signal's reason at once (and probes the worker
      // on a deadline); the worker's late result is dropped.
      this.pool.call(worker, call, bytes.transfer, { signal, requestId: request.id }).then(
        ({ outcome }) => {
          // Stops counting before answering, so a caller that sees its answer sees the run finished.
          done();
          if (outcome.kind === 'refused') {
            if (settle()) reject(deserializeError(outcome.error));
            return;
          }
          this.stats.execution(target.name, target.version, outcome.rows);
          const computeMs = outcome.computeNs / 1e6;
          this.onBatch({
            model: target.name,
            version: target.version,
            requests: 1,
            rows: outcome.rows,
            computeMs,
          });
          if (!settle()) return;
          const totalNs = elapsedNs();
          const queueNs = Math.max(0, totalNs - outcome.computeNs);
          this.stats.success(target.name, target.version, totalNs, queueNs, outcome.computeNs);
          resolve({
            model: target.name,
            version: target.version,
            outputs: outcome.outputs,
            batchSize: 1,
            queueMs: queueNs / 1e6,
            computeMs,
            request: outcome.request,
          });
        },
        (error: unknown) => {
          done();
          fail(error);
        },
      );
    });
  }
}
