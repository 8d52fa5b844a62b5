/**
 * Abort handling shared by the batcher and script calls: a request aborted through its signal is
 * answered with the signal's reason (a TimeoutError from `AbortSignal.timeout`, the caller's own
 * error), so the front end can tell a timeout from a disconnect.
 */
import { BerthError } from '../../core/errors.js';
import type { CancelSignal } from '../cancel.js';

export function abortReason(signal: CancelSignal): Error {
  const reason: unknown = signal.reason;
  // DOMException (AbortError, TimeoutError) is an Error in Node; anything else gets wrapped.
  return reason instanceof Error
    ? reason
    : new BerthError('REQUEST_TIMEOUT', `request aborted: ${String(reason)}`);
}

/** Settles with `work`, or rejects with the signal's reason as soon as it aborts. */
export function untilAborted<T>(work: Promise<T>, signal: CancelSignal | undefined): Promise<T> {
  if (signal === undefined) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
