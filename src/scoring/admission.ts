/**
 * Admission control shared by the HTTP and gRPC front ends: at most `maxConcurrent` requests run
 * and at most `maxQueued` wait, first come first served. A request past the queue is refused at
 * once with TOO_MANY_REQUESTS (memory never grows without bound); a queued request whose signal
 * aborts leaves the queue with the signal's reason.
 */
import { BerthError } from '../core/errors.js';
import { abortReason, type CancelSignal } from './cancel.js';
import type { Admission } from './engine.js';

export interface AdmissionOptions {
  maxConcurrent: number;
  maxQueued: number;
}

interface Waiter {
  resolve: (release: () => void) => void;
  reject: (reason: Error) => void;
  signal: CancelSignal | undefined;
  onAbort: (() => void) | undefined;
  /** Left the queue when its signal aborted; skipped when its turn comes. */
  cancelled: boolean;
}

export interface AdmissionControl extends Admission {
  readonly maxConcurrent: number;
  readonly maxQueued: number;
}

export function createAdmission(options: AdmissionOptions): AdmissionControl {
  let running = 0;
  // A plain array with a moving head: O(1) dequeue without a linked list.
  let queue: (Waiter | undefined)[] = [];
  let head = 0;
  let waiting = 0;
  let arrived = 0;

  const release = (): void => {
    // Hand the slot straight to the next waiter, so `running` never dips and lets a newcomer jump the queue.
    while (head < queue.length) {
      const next = queue[head];
      queue[head++] = undefined;
      if (next === undefined || next.cancelled) continue;
      waiting--;
      if (next.onAbort !== undefined) next.signal?.removeEventListener('abort', next.onAbort);
      compact();
      next.resolve(once());
      return;
    }
    running--;
    compact();
  };

  const compact = (): void => {
    if (head > 1024 && head * 2 > queue.length) {
      queue = queue.slice(head);
      head = 0;
    }
  };

  const once = (): (() => void) => {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      release();
    };
  };

  return {
    maxConcurrent: options.maxConcurrent,
    maxQueued: options.maxQueued,
    get inFlight() {
      return running;
    },
    get queued() {
      return waiting;
    },
    get arrived() {
      return arrived;
    },
    tryAcquire() {
      // A free slot means no one waits: release() hands a slot to the next waiter before freeing it.
      if (running >= options.maxConcurrent) return undefined;
      arrived++;
      running++;
      return once();
    },
    acquire(signal) {
      arrived++;
      if (signal?.aborted) return Promise.reject(abortReason(signal));
      if (running < options.maxConcurrent) {
        running++;
        return Promise.resolve(once());
      }
      if (waiting >= options.maxQueued) {
        return Promise.reject(
          new BerthError(
            'TOO_MANY_REQUESTS',
            `the server is busy: ${running} requests running and ${waiting} queued`,
          ),
        );
      }
      return new Promise((resolve, reject) => {
        const waiter: Waiter = { resolve, reject, signal, onAbort: undefined, cancelled: false };
        queue.push(waiter);
        waiting++;
        if (signal !== undefined) {
          waiter.onAbort = () => {
            if (waiter.cancelled) return;
            waiter.cancelled = true;
            waiting--;
            reject(abortReason(signal));
          };
          signal.addEventListener('abort', waiter.onAbort, { once: true });
        }
      });
    },
  };
}
