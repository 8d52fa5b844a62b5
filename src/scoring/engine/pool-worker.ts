/**
 * One worker thread as the pool sees it: its state, the calls it holds, how busy it is, the memory
 * it last reported, and (when the pool ends it on purpose) why. The pool owns every field; the
 * memory watch and the probe only read them.
 */
import type { Worker } from 'node:worker_threads';
import { BerthError } from '../../core/errors.js';
import type { FromWorker } from './messages.js';

/** starting → ready → (stopping | dead). */
export type WorkerState = 'starting' | 'ready' | 'stopping' | 'dead';

/** Why a worker was replaced: what /berth/status and the metrics count. */
export type ReplacementCause = 'timeout' | 'crash' | 'memory' | 'exit';

export interface PendingCall {
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
  /** performance.now() when it last went from idle to busy; 0 while idle. */
  busySince = 0;
  /** performance.now() of its latest memory report (its start until the first). */
  reportedAt: number;
  /** Heap + external bytes: when it became ready, and in its latest report (asked for only while memory is over the limit). */
  memory: { baseline: number; current: number } | undefined;
  /** A probe is out (a request on it passed its deadline): picked only when no other worker is ready. */
  suspect = false;
  /** Set when the pool ends the thread on purpose: the cause, why (logged), and what its requests get. */
  ending: { cause: ReplacementCause; reason: string; error: BerthError } | undefined;

  constructor(
    readonly id: number,
    readonly slot: number,
    readonly thread: Worker,
  ) {
    this.reportedAt = performance.now();
  }

  /** Bytes of heap and external memory gained since it became ready (0 before its first report). */
  get growth(): number {
    return this.memory === undefined ? 0 : this.memory.current - this.memory.baseline;
  }
}

/** "request <id>: <the deadline's message>", for the line that says why a worker was ended. */
export function requestText(requestId: string | undefined, reason: Error): string {
  return `request ${requestId ?? '(no id)'}: ${reason.message}`;
}

/** Why a worker the pool did not end itself has died, and what its requests are answered. */
export function fateOf(
  worker: PoolWorker,
  code: number,
  limitMb: number,
): { cause: ReplacementCause; reason: string; error: BerthError } {
  const error: (Error & { code?: string }) | undefined = worker.lastError;
  const [cause, errorCode, reason]: [ReplacementCause, 'MEMORY_LIMIT' | 'WORKER_CRASHED', string] =
    error?.code === 'ERR_WORKER_OUT_OF_MEMORY'
      ? [
          'memory',
          'MEMORY_LIMIT',
          `it ran out of memory (limit ${limitMb} MB of heap per worker, workerMaxOldGenerationMb)`,
        ]
      : error !== undefined
        ? ['crash', 'WORKER_CRASHED', `uncaught ${error.name}: ${error.message}`]
        : ['exit', 'WORKER_CRASHED', `it exited with code ${code} (process.exit in the scoring script?)`];
  return {
    cause,
    reason,
    error: new BerthError(errorCode, `worker ${worker.id} stopped while handling this request: ${reason}`),
  };
}
