/**
 * What the pool does when a request on a worker passes its deadline. The request itself has
 * already been answered (504); the question is whether the worker is stuck. A thread whose event
 * loop turns answers a ping at once and keeps its other requests (a `run` awaiting something slow
 * holds no thread). One that does not answer within `probeMs` is held by a task that ignores the
 * deadline (a loop, a synchronous run far longer than the deadline): it is ended and replaced, so
 * its slot serves again, and the requests it held are told to retry (WORKER_REPLACED).
 */
import { BerthError } from '../../core/errors.js';
import type { PoolWorker, ReplacementCause } from './pool-worker.js';

/** What the probe needs of the pool: a ping, and ending a worker with a cause. */
export interface OverdueActions {
  ping(worker: PoolWorker): Promise<unknown>;
  end(
    worker: PoolWorker,
    cause: ReplacementCause,
    message: string,
    errorFor: (message: string) => BerthError,
  ): void;
}

export function probeOverdue(pool: OverdueActions, worker: PoolWorker, what: string, probeMs: number): void {
  if (worker.state !== 'ready' || worker.suspect || worker.ending !== undefined) return;
  worker.suspect = true;
  withTimeout(pool.ping(worker), probeMs).then(
    () => {
      worker.suspect = false;
    },
    () => {
      pool.end(
        worker,
        'timeout',
        `${what}, and the worker did not answer for ${probeMs} ms`,
        (message) =>
          new BerthError(
            'WORKER_REPLACED',
            `worker ${worker.id} was ended and replaced while it held this request (${message}); retry the request`,
          ),
      );
    },
  );
}

export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
